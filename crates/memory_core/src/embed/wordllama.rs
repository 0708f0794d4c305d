//! WordLlama-256 (l2_supercat): static token embeddings from Llama-2's
//! vocabulary, f16, average-pooled over the tokens (no special tokens) and
//! L2-normalised, as the `wordllama` package does.

use super::weights::{add_f16_row, Weights};
use crate::error::{Error, Kind, Result};
use std::path::Path;
use tokenizers::Tokenizer;

pub const DIMS: usize = 256;
const TENSOR: &str = "embedding.weight";
/// Longest input in tokens (the rest is ignored).
pub const MAX_TOKENS: usize = 2048;

pub struct WordLlama {
    weights: Weights,
    vocab: usize,
    tokenizer: Tokenizer,
}

impl WordLlama {
    /// Load `l2_supercat_256.safetensors` and `l2_supercat_tokenizer_config.json` from `dir`.
    pub fn load(dir: &Path) -> Result<WordLlama> {
        let weights = Weights::open(&dir.join("l2_supercat_256.safetensors"))?;
        let vocab = match weights.shape(TENSOR) {
            Some([v, d]) if *d == DIMS => *v,
            other => {
                return Err(
                    Error::new(Kind::InvalidParameter, "unexpected WordLlama weights").detail(
                        format!("{TENSOR} has shape {other:?}, expected [vocab, {DIMS}]"),
                    ),
                )
            }
        };
        weights.f16_bytes(TENSOR, &[vocab, DIMS])?;
        let tpath = dir.join("l2_supercat_tokenizer_config.json");
        let mut tokenizer = Tokenizer::from_file(&tpath).map_err(|e| {
            Error::new(
                Kind::InvalidParameter,
                format!("cannot load tokenizer {}", tpath.display()),
            )
            .detail(e.to_string())
        })?;
        tokenizer.with_padding(None);
        Ok(WordLlama {
            weights,
            vocab,
            tokenizer,
        })
    }

    pub fn embed(&self, texts: &[&str], interrupt: &mut dyn FnMut()) -> Result<Vec<Vec<f32>>> {
        let table = self.weights.f16_bytes(TENSOR, &[self.vocab, DIMS])?;
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if i % 64 == 63 {
                    interrupt();
                }
                let enc = self.tokenizer.encode(*t, false).map_err(|e| {
                    Error::new(Kind::InvalidText, format!("cannot tokenize text: {e}"))
                })?;
                let ids = enc.get_ids();
                let mut acc = vec![0f32; DIMS];
                let used = ids.len().min(MAX_TOKENS);
                for &id in &ids[..used] {
                    add_f16_row(table, (id as usize).min(self.vocab - 1), DIMS, &mut acc);
                }
                let count = used.max(1) as f32;
                for a in acc.iter_mut() {
                    *a /= count;
                }
                Ok(crate::vector::normalize(&acc))
            })
            .collect()
    }
}
