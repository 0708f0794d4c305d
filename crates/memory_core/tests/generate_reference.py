#!/usr/bin/env python3
"""Reference vectors for the built-in embedders (checked in as
reference_vectors.json; the Rust tests require cosine >= 0.999).

- wordllama: the `wordllama` package itself (pip install wordllama==0.4.0.post1),
  loaded from its own folder with downloads disabled.
- minilm: an independent numpy forward pass of all-MiniLM-L6-v2 (BERT, mean
  pooling, L2 norm) in float64 over the same safetensors file, checked against
  the published similarity of 0.7553 for the first sentence pair.

Usage: generate_reference.py <models dir> > reference_vectors.json
Needs: numpy, tokenizers, safetensors, wordllama.
"""
import json
import os
import sys
from math import erf, sqrt

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "I am vegetarian and allergic to peanuts.",
    "My sister Anna lives in Berlin.",
    "I got married last spring.",
    "Adam is John's father.",
    "Where should we take the kids this weekend?",
    "The projector stopped working again after the repair.",
    "Soy vegetariana y vivo en Madrid.",
    "Ich arbeite seit drei Jahren bei Siemens.",
    "Mon chat s'appelle Minou.",
    "我喜欢喝绿茶。",
    "亚当是约翰的父亲。",
    "私は東京に住んでいます。",
    "저는 커피를 좋아해요.",
    "Order #4521 was delivered on 2024-03-05.",
    "ok",
    "The quick brown fox jumps over the lazy dog, again and again and again.",
    "Allergic to penicillin; prefers morning appointments.",
    "I no longer have a dog.",
]


def minilm(models):
    w = {k: v.astype(np.float64) for k, v in load_file(os.path.join(models, "minilm", "model.safetensors")).items()}
    tok = Tokenizer.from_file(os.path.join(models, "minilm", "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(256)
    verf = np.vectorize(erf)

    def ln(x, g, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * g + b

    def lin(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    def embed(text):
        ids = tok.encode(text).ids
        n = len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = ln(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        for layer in range(6):
            p = f"encoder.layer.{layer}."
            heads = lambda t: t.reshape(n, 12, 32).transpose(1, 0, 2)  # noqa: E731
            q = heads(lin(x, p + "attention.self.query"))
            k = heads(lin(x, p + "attention.self.key"))
            v = heads(lin(x, p + "attention.self.value"))
            s = q @ k.transpose(0, 2, 1) / sqrt(32)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(1, 0, 2).reshape(n, 384)
            a = ln(lin(ctx, p + "attention.output.dense") + x,
                   w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            h = lin(a, p + "intermediate.dense")
            h = 0.5 * h * (1 + verf(h / sqrt(2)))
            x = ln(lin(h, p + "output.dense") + a, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        v = x.mean(0)
        return v / np.linalg.norm(v)

    vecs = [embed(s) for s in SENTENCES]
    published = float(vecs[0] @ vecs[1])
    assert abs(published - 0.7553) < 0.001, published
    return vecs


def wordllama(_models):
    import wordllama as wl
    pkg = os.path.dirname(wl.__file__)
    model = wl.WordLlama.load(config="l2_supercat", dim=256, cache_dir=pkg, disable_download=True)
    return [np.asarray(v, dtype=np.float64) for v in model.embed(SENTENCES, norm=True)]


def main():
    models = sys.argv[1]
    out = {}
    for name, fn in (("minilm", minilm), ("wordllama", wordllama)):
        out[name] = [{"text": s, "vector": [round(float(x), 7) for x in v]}
                     for s, v in zip(SENTENCES, fn(models))]
    json.dump(out, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
