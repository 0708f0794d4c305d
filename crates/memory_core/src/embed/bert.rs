//! all-MiniLM-L6-v2: a 6-layer BERT encoder (hidden 384, 12 heads, FFN 1536),
//! mean-pooled over tokens and L2-normalised, as sentence-transformers does.
//!
//! A short forward pass over our own kernels (`super::kernels`: f16 weights
//! and a register-blocked AVX2/FMA kernel for short sequences, detected at
//! run time; `matrixmultiply`'s SGEMM elsewhere) rather than a tensor
//! framework: it builds in seconds, adds no thread pool to the Postgres
//! backend, and lets the caller check for cancellation between layers. The
//! f16 copies of the dense weights (21 MB) are made once per backend when
//! the model is first used.

use super::kernels::{dense, gelu, Half, Kernel};
use super::weights::Weights;
use crate::error::{Error, Kind, Result};
use std::borrow::Cow;
use std::path::Path;
use tokenizers::{Tokenizer, TruncationParams};

pub const DIMS: usize = 384;
const HEADS: usize = 12;
const HEAD_DIM: usize = DIMS / HEADS;
const FFN: usize = 1536;
const LAYERS: usize = 6;
const VOCAB: usize = 30522;
const MAX_POSITIONS: usize = 512;
/// sentence-transformers' max_seq_length for this model.
pub const MAX_TOKENS: usize = 256;
const EPS: f32 = 1e-12;

struct Layer<'a> {
    q_w: Cow<'a, [f32]>,
    q_b: Cow<'a, [f32]>,
    k_w: Cow<'a, [f32]>,
    k_b: Cow<'a, [f32]>,
    v_w: Cow<'a, [f32]>,
    v_b: Cow<'a, [f32]>,
    o_w: Cow<'a, [f32]>,
    o_b: Cow<'a, [f32]>,
    ln1_g: Cow<'a, [f32]>,
    ln1_b: Cow<'a, [f32]>,
    i_w: Cow<'a, [f32]>,
    i_b: Cow<'a, [f32]>,
    f_w: Cow<'a, [f32]>,
    f_b: Cow<'a, [f32]>,
    ln2_g: Cow<'a, [f32]>,
    ln2_b: Cow<'a, [f32]>,
}

/// Borrowed views of the weights, checked for shape once.
struct Model<'a> {
    word: Cow<'a, [f32]>,
    position: Cow<'a, [f32]>,
    token_type: Cow<'a, [f32]>,
    ln_g: Cow<'a, [f32]>,
    ln_b: Cow<'a, [f32]>,
    layers: Vec<Layer<'a>>,
}

impl<'a> Model<'a> {
    fn new(w: &'a Weights) -> Result<Model<'a>> {
        let mut layers = Vec::with_capacity(LAYERS);
        for l in 0..LAYERS {
            let p = format!("encoder.layer.{l}.");
            let t = |n: &str, shape: &[usize]| w.f32(&format!("{p}{n}"), shape);
            layers.push(Layer {
                q_w: t("attention.self.query.weight", &[DIMS, DIMS])?,
                q_b: t("attention.self.query.bias", &[DIMS])?,
                k_w: t("attention.self.key.weight", &[DIMS, DIMS])?,
                k_b: t("attention.self.key.bias", &[DIMS])?,
                v_w: t("attention.self.value.weight", &[DIMS, DIMS])?,
                v_b: t("attention.self.value.bias", &[DIMS])?,
                o_w: t("attention.output.dense.weight", &[DIMS, DIMS])?,
                o_b: t("attention.output.dense.bias", &[DIMS])?,
                ln1_g: t("attention.output.LayerNorm.weight", &[DIMS])?,
                ln1_b: t("attention.output.LayerNorm.bias", &[DIMS])?,
                i_w: t("intermediate.dense.weight", &[FFN, DIMS])?,
                i_b: t("intermediate.dense.bias", &[FFN])?,
                f_w: t("output.dense.weight", &[DIMS, FFN])?,
                f_b: t("output.dense.bias", &[DIMS])?,
                ln2_g: t("output.LayerNorm.weight", &[DIMS])?,
                ln2_b: t("output.LayerNorm.bias", &[DIMS])?,
            });
        }
        Ok(Model {
            word: w.f32("embeddings.word_embeddings.weight", &[VOCAB, DIMS])?,
            position: w.f32(
                "embeddings.position_embeddings.weight",
                &[MAX_POSITIONS, DIMS],
            )?,
            token_type: w.f32("embeddings.token_type_embeddings.weight", &[2, DIMS])?,
            ln_g: w.f32("embeddings.LayerNorm.weight", &[DIMS])?,
            ln_b: w.f32("embeddings.LayerNorm.bias", &[DIMS])?,
            layers,
        })
    }
}

fn layer_norm(x: &mut [f32], g: &[f32], b: &[f32]) {
    for row in x.chunks_exact_mut(DIMS) {
        let mean = row.iter().sum::<f32>() / DIMS as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / DIMS as f32;
        let inv = 1.0 / (var + EPS).sqrt();
        for ((v, gi), bi) in row.iter_mut().zip(g).zip(b) {
            *v = (*v - mean) * inv * gi + bi;
        }
    }
}

/// f16 copies of one layer's dense weights (q, k, v, attention output,
/// intermediate, output), where the CPU runs the f16 kernel.
struct LayerHalf([Option<Half>; 6]);

pub struct MiniLm {
    weights: Weights,
    tokenizer: Tokenizer,
    halves: Vec<LayerHalf>,
    /// Every product through `matrixmultiply` in f32 (the reference path
    /// the benchmark and tests compare with).
    portable: bool,
}

fn tokenizer_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(
        Kind::InvalidParameter,
        format!("cannot load tokenizer {}", path.display()),
    )
    .detail(e.to_string())
    .hint("Reinstall the models with `make install` (scripts/models.sh).")
}

impl MiniLm {
    /// Load `model.safetensors` and `tokenizer.json` from `dir`.
    pub fn load(dir: &Path) -> Result<MiniLm> {
        Self::load_with(dir, false)
    }

    /// The same model computed only by the portable f32 path.
    pub fn load_portable(dir: &Path) -> Result<MiniLm> {
        Self::load_with(dir, true)
    }

    fn load_with(dir: &Path, portable: bool) -> Result<MiniLm> {
        let weights = Weights::open(&dir.join("model.safetensors"))?;
        let halves = Model::new(&weights)?
            .layers
            .iter()
            .filter(|_| !portable)
            .map(|l| {
                LayerHalf([&l.q_w, &l.k_w, &l.v_w, &l.o_w, &l.i_w, &l.f_w].map(|w| Half::new(w)))
            })
            .collect();
        let tpath = dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tpath).map_err(|e| tokenizer_error(&tpath, e))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| tokenizer_error(&tpath, e))?;
        Ok(MiniLm {
            weights,
            tokenizer,
            halves,
            portable,
        })
    }

    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| Error::new(Kind::InvalidText, format!("cannot tokenize text: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Embed each text; `interrupt` is called between layers so a query
    /// cancel can stop a long batch. Consecutive texts are packed into one
    /// forward pass up to `PACK_TOKENS` tokens.
    pub fn embed(&self, texts: &[&str], interrupt: &mut dyn FnMut()) -> Result<Vec<Vec<f32>>> {
        let model = Model::new(&self.weights)?;
        let ids = texts
            .iter()
            .map(|t| self.tokenize(t))
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(ids.len());
        let mut start = 0;
        while start < ids.len() {
            let mut end = start + 1;
            let mut tokens = seq_len(&ids[start]);
            while end < ids.len() && tokens + seq_len(&ids[end]) <= PACK_TOKENS {
                tokens += seq_len(&ids[end]);
                end += 1;
            }
            out.extend(forward(
                &model,
                &self.halves,
                self.portable,
                &ids[start..end],
                interrupt,
            ));
            start = end;
        }
        Ok(out)
    }
}

/// Tokens of the texts one forward pass takes at most. The dense layers run
/// over every token of the pack at once, so their weights (the memory
/// traffic that bounds a short text) are read once for all its texts;
/// attention and pooling stay per text, so each vector is the one its text
/// gets alone.
const PACK_TOKENS: usize = 256;

/// The positions a text's tokens take (at least one, at most the model's).
fn seq_len(ids: &[u32]) -> usize {
    ids.len().clamp(1, MAX_POSITIONS)
}

/// Below this many tokens attention runs as plain dot products (no SGEMM
/// call and packing per head); above it, as SGEMM per head.
const SHORT: usize = 48;

/// Multi-head self-attention: ctx = softmax(q kᵀ · scale) v per head.
fn head(m: &[f32], i: usize, off: usize) -> &[f32] {
    &m[i * DIMS + off..i * DIMS + off + HEAD_DIM]
}

fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    n: usize,
    scale: f32,
    scores: &mut [f32],
    ctx: &mut [f32],
) {
    for h in 0..HEADS {
        let off = h * HEAD_DIM;
        if n <= SHORT {
            for i in 0..n {
                for j in 0..n {
                    scores[i * n + j] =
                        crate::vector::dot(head(q, i, off), head(k, j, off)) * scale;
                }
            }
        } else {
            // SAFETY: every matrix below is a strided view inside q, k and
            // scores, whose lengths cover n×DIMS and n×n elements.
            #[allow(unsafe_code)]
            unsafe {
                matrixmultiply::sgemm(
                    n,
                    HEAD_DIM,
                    n,
                    scale,
                    q.as_ptr().add(off),
                    DIMS as isize,
                    1,
                    k.as_ptr().add(off),
                    1,
                    DIMS as isize,
                    0.0,
                    scores.as_mut_ptr(),
                    n as isize,
                    1,
                );
            }
        }
        for row in scores.chunks_exact_mut(n).take(n) {
            let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for s in row.iter_mut() {
                *s = super::kernels::exp_nonpositive(*s - max);
                sum += *s;
            }
            let inv = 1.0 / sum;
            for s in row.iter_mut() {
                *s *= inv;
            }
        }
        for i in 0..n {
            let out = &mut ctx[i * DIMS + off..i * DIMS + off + HEAD_DIM];
            out.fill(0.0);
            for j in 0..n {
                let p = scores[i * n + j];
                for (o, vv) in out.iter_mut().zip(head(v, j, off)) {
                    *o += p * vv;
                }
            }
        }
    }
}

fn forward(
    m: &Model<'_>,
    halves: &[LayerHalf],
    portable: bool,
    texts: &[Vec<u32>],
    interrupt: &mut dyn FnMut(),
) -> Vec<Vec<f32>> {
    let lens: Vec<usize> = texts.iter().map(|ids| seq_len(ids)).collect();
    let n: usize = lens.iter().sum();
    let longest = lens.iter().copied().max().unwrap_or(1);
    let mut x = vec![0f32; n * DIMS];
    let mut rows = x.chunks_exact_mut(DIMS);
    for (ids, &len) in texts.iter().zip(&lens) {
        for (i, row) in rows.by_ref().take(len).enumerate() {
            let id = ids.get(i).copied().unwrap_or(0) as usize % VOCAB;
            let w = &m.word[id * DIMS..(id + 1) * DIMS];
            let p = &m.position[i * DIMS..(i + 1) * DIMS];
            let t = &m.token_type[..DIMS];
            for d in 0..DIMS {
                row[d] = w[d] + p[d] + t[d];
            }
        }
    }
    layer_norm(&mut x, &m.ln_g, &m.ln_b);

    let mut q = vec![0f32; n * DIMS];
    let mut k = vec![0f32; n * DIMS];
    let mut v = vec![0f32; n * DIMS];
    let mut ctx = vec![0f32; n * DIMS];
    let mut scores = vec![0f32; longest * longest];
    let mut attn = vec![0f32; n * DIMS];
    let mut inter = vec![0f32; n * FFN];
    let mut ffn = vec![0f32; n * DIMS];
    let scale = 1.0 / (HEAD_DIM as f32).sqrt();

    for (li, l) in m.layers.iter().enumerate() {
        let path = |i: usize| {
            if portable {
                Kernel::Reference
            } else {
                Kernel::Fast(halves.get(li).and_then(|x| x.0[i].as_ref()))
            }
        };
        interrupt();
        dense(path(0), &x, n, DIMS, &l.q_w, &l.q_b, DIMS, &mut q);
        dense(path(1), &x, n, DIMS, &l.k_w, &l.k_b, DIMS, &mut k);
        dense(path(2), &x, n, DIMS, &l.v_w, &l.v_b, DIMS, &mut v);
        // Each text attends to its own tokens only.
        let mut at = 0;
        for &len in &lens {
            let r = at * DIMS..(at + len) * DIMS;
            attention(
                &q[r.clone()],
                &k[r.clone()],
                &v[r.clone()],
                len,
                scale,
                &mut scores,
                &mut ctx[r],
            );
            at += len;
        }
        dense(path(3), &ctx, n, DIMS, &l.o_w, &l.o_b, DIMS, &mut attn);
        for (a, xi) in attn.iter_mut().zip(&x) {
            *a += xi;
        }
        layer_norm(&mut attn, &l.ln1_g, &l.ln1_b);
        dense(path(4), &attn, n, DIMS, &l.i_w, &l.i_b, FFN, &mut inter);
        gelu(&mut inter);
        dense(path(5), &inter, n, FFN, &l.f_w, &l.f_b, DIMS, &mut ffn);
        for (f, a) in ffn.iter_mut().zip(&attn) {
            *f += a;
        }
        layer_norm(&mut ffn, &l.ln2_g, &l.ln2_b);
        std::mem::swap(&mut x, &mut ffn);
    }

    // Mean pooling per text.
    let mut rows = x.chunks_exact(DIMS);
    lens.iter()
        .map(|&len| {
            let mut pooled = vec![0f32; DIMS];
            for row in rows.by_ref().take(len) {
                for (p, v) in pooled.iter_mut().zip(row) {
                    *p += v;
                }
            }
            for p in pooled.iter_mut() {
                *p /= len as f32;
            }
            crate::vector::normalize(&pooled)
        })
        .collect()
}
