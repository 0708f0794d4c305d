//! A minimal reader of the safetensors format over a memory map: the file is
//! mapped once, shared through the page cache by every backend, and f32
//! tensors are borrowed in place when aligned (they are, in the files we ship).

use crate::error::{Error, Kind, Result};
use half::f16;
use memmap2::Mmap;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

#[derive(Debug, Clone)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

pub struct Weights {
    map: Mmap,
    data_start: usize,
    entries: HashMap<String, Entry>,
    path: String,
}

fn model_error(path: &str, what: impl Into<String>) -> Error {
    Error::new(
        Kind::InvalidParameter,
        format!("cannot load model file {path}"),
    )
    .detail(what.into())
    .hint("Reinstall the models with `make install` (scripts/models.sh).")
}

impl Weights {
    pub fn open(path: &Path) -> Result<Weights> {
        let p = path.display().to_string();
        let file = File::open(path).map_err(|e| model_error(&p, e.to_string()))?;
        // SAFETY: a map is only unsound if the file changes while mapped;
        // model files are installed once, read-only, and never edited.
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(&file) }.map_err(|e| model_error(&p, e.to_string()))?;
        if map.len() < 8 {
            return Err(model_error(&p, "file is too short"));
        }
        let header_len = u64::from_le_bytes(map[..8].try_into().unwrap_or([0; 8])) as usize;
        let data_start = 8usize.saturating_add(header_len);
        if data_start > map.len() {
            return Err(model_error(&p, "header is longer than the file"));
        }
        let header: Value = serde_json::from_slice(&map[8..data_start])
            .map_err(|e| model_error(&p, format!("bad header: {e}")))?;
        let mut entries = HashMap::new();
        for (name, v) in header.as_object().into_iter().flatten() {
            if name == "__metadata__" {
                continue;
            }
            let dtype = v["dtype"].as_str().unwrap_or_default().to_string();
            let shape: Vec<usize> = v["shape"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_u64().map(|n| n as usize))
                        .collect()
                })
                .unwrap_or_default();
            let offs = v["data_offsets"].as_array().cloned().unwrap_or_default();
            let (start, end) = match (
                offs.first().and_then(Value::as_u64),
                offs.get(1).and_then(Value::as_u64),
            ) {
                (Some(s), Some(e)) if s <= e => (s as usize, e as usize),
                _ => return Err(model_error(&p, format!("bad offsets for {name}"))),
            };
            if data_start + end > map.len() {
                return Err(model_error(&p, format!("tensor {name} runs past the end")));
            }
            entries.insert(
                name.clone(),
                Entry {
                    dtype,
                    shape,
                    start,
                    end,
                },
            );
        }
        Ok(Weights {
            map,
            data_start,
            entries,
            path: p,
        })
    }

    fn entry(&self, name: &str, dtype: &str, shape: &[usize]) -> Result<&Entry> {
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| model_error(&self.path, format!("tensor {name} is missing")))?;
        let width = match dtype {
            "F32" => 4,
            "F16" => 2,
            _ => 0,
        };
        if e.dtype != dtype
            || e.shape != shape
            || e.end - e.start != shape.iter().product::<usize>() * width
        {
            return Err(model_error(
                &self.path,
                format!(
                    "tensor {name} is {} {:?}, expected {dtype} {shape:?}",
                    e.dtype, e.shape
                ),
            ));
        }
        Ok(e)
    }

    /// An f32 tensor of the given shape, borrowed from the map when aligned.
    pub fn f32(&self, name: &str, shape: &[usize]) -> Result<Cow<'_, [f32]>> {
        let e = self.entry(name, "F32", shape)?;
        let bytes = &self.map[self.data_start + e.start..self.data_start + e.end];
        // SAFETY: f32 has no invalid bit patterns; align_to only yields the
        // middle part when the pointer is 4-byte aligned.
        #[allow(unsafe_code)]
        let (pre, mid, post) = unsafe { bytes.align_to::<f32>() };
        if pre.is_empty() && post.is_empty() && cfg!(target_endian = "little") {
            Ok(Cow::Borrowed(mid))
        } else {
            Ok(Cow::Owned(
                bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ))
        }
    }

    /// The raw bytes of an f16 tensor of the given shape.
    pub fn f16_bytes(&self, name: &str, shape: &[usize]) -> Result<&[u8]> {
        let e = self.entry(name, "F16", shape)?;
        Ok(&self.map[self.data_start + e.start..self.data_start + e.end])
    }

    /// Shape of a tensor, if present.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.entries.get(name).map(|e| e.shape.as_slice())
    }
}

/// Add row `row` of a little-endian f16 matrix with `cols` columns to `acc`.
pub fn add_f16_row(bytes: &[u8], row: usize, cols: usize, acc: &mut [f32]) {
    let start = row * cols * 2;
    for (a, c) in acc
        .iter_mut()
        .zip(bytes[start..start + cols * 2].chunks_exact(2))
    {
        *a += f16::from_le_bytes([c[0], c[1]]).to_f32();
    }
}
