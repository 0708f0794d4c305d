//! Vector values: pgvector-compatible text format, validation, f16 conversion
//! and the distance kernels.
//!
//! The kernels keep 16 independent accumulators so the compiler turns the loop
//! into SIMD code; on x86_64 an AVX2 build of the same loop is chosen at run time
//! when the CPU has it (see `benches/distance.rs` via `cargo bench`-free timing in
//! `memory_core`'s unit test `kernels_agree_with_naive`).

use crate::error::{Error, Kind, Result};
use half::f16;

/// Largest number of dimensions a vector may have (as in pgvector).
pub const MAX_DIM: usize = 16000;

/// Largest finite value a 16-bit float holds.
pub const HALF_MAX: f32 = 65504.0;

/// Parse pgvector's text form `[1,2.5,-3e-2]` (whitespace allowed around
/// elements). `type_name` is used in messages ("vector" or "halfvec").
pub fn parse(text: &str, type_name: &str) -> Result<Vec<f32>> {
    let malformed = || {
        Error::new(
            Kind::InvalidText,
            format!(
                "invalid input syntax for type {type_name}: \"{}\"",
                truncate(text, 80)
            ),
        )
    };
    let trimmed = text.trim_matches(is_space);
    let inner = trimmed
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| {
            malformed().detail("Vector contents must start with \"[\" and end with \"]\".")
        })?;
    if inner.trim_matches(is_space).is_empty() {
        return Err(Error::new(
            Kind::DataException,
            format!("{type_name} must have at least 1 dimension"),
        ));
    }
    let mut out = Vec::with_capacity(inner.len() / 4 + 1);
    for part in inner.split(',') {
        let token = part.trim_matches(is_space);
        if token.is_empty() {
            return Err(malformed().detail("Every element must be a number."));
        }
        if out.len() == MAX_DIM {
            return Err(too_many_dims(type_name));
        }
        let value: f32 = token.parse().map_err(|_| {
            malformed().detail(format!("\"{}\" is not a number.", truncate(token, 40)))
        })?;
        if value.is_infinite() && !is_infinity_word(token) {
            return Err(Error::new(
                Kind::OutOfRange,
                format!(
                    "\"{}\" is out of range for type {type_name}",
                    truncate(token, 40)
                ),
            ));
        }
        out.push(value);
    }
    check_finite(&out, type_name)?;
    Ok(out)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

fn is_infinity_word(token: &str) -> bool {
    let t = token.trim_start_matches(['+', '-']).to_ascii_lowercase();
    t == "inf" || t == "infinity"
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max_chars).collect();
        t.push('…');
        t
    }
}

fn too_many_dims(type_name: &str) -> Error {
    Error::new(
        Kind::LimitExceeded,
        format!("{type_name} cannot have more than {MAX_DIM} dimensions"),
    )
}

/// Reject NaN and infinite elements, empty vectors and vectors over `MAX_DIM`.
pub fn check_finite(values: &[f32], type_name: &str) -> Result<()> {
    if values.is_empty() {
        return Err(Error::new(
            Kind::DataException,
            format!("{type_name} must have at least 1 dimension"),
        ));
    }
    if values.len() > MAX_DIM {
        return Err(too_many_dims(type_name));
    }
    for (i, v) in values.iter().enumerate() {
        if v.is_nan() {
            return Err(Error::new(
                Kind::DataException,
                format!("NaN not allowed in {type_name}"),
            )
            .detail(format!("Element {} is NaN.", i + 1)));
        }
        if v.is_infinite() {
            return Err(Error::new(
                Kind::DataException,
                format!("infinite value not allowed in {type_name}"),
            )
            .detail(format!("Element {} is infinite.", i + 1)));
        }
    }
    Ok(())
}

/// Check that two vectors have the same number of dimensions.
pub fn check_same_dims(a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(Error::new(
            Kind::DataException,
            format!("different vector dimensions {a} and {b}"),
        )
        .hint("Both sides of a vector operator must have the same number of dimensions."));
    }
    Ok(())
}

/// Check a value against a column's declared dimensions (`typmod`, -1 = any).
pub fn check_typmod(dims: usize, typmod: i32) -> Result<()> {
    if typmod >= 1 && dims != typmod as usize {
        return Err(Error::new(
            Kind::DataException,
            format!("expected {typmod} dimensions, not {dims}"),
        ));
    }
    Ok(())
}

/// Validate the modifier of `vector(n)` / `halfvec(n)`.
pub fn typmod_in(mods: &[i32], type_name: &str) -> Result<i32> {
    if mods.len() != 1 {
        return Err(Error::invalid_parameter(format!(
            "invalid type modifier: {type_name} takes exactly one modifier, the number of dimensions"
        )));
    }
    let n = mods[0];
    if n < 1 {
        return Err(Error::invalid_parameter(format!(
            "dimensions for type {type_name} must be at least 1"
        )));
    }
    if n as usize > MAX_DIM {
        return Err(Error::invalid_parameter(format!(
            "dimensions for type {type_name} cannot exceed {MAX_DIM}"
        )));
    }
    Ok(n)
}

/// Format like pgvector (and PostgreSQL's `real` output): shortest text that
/// reads back to the same float, exponent form outside [1e-4, 1e6).
pub fn format(values: &[f32]) -> String {
    let mut out = String::with_capacity(values.len() * 10 + 2);
    out.push('[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_f32(&mut out, *v);
    }
    out.push(']');
    out
}

fn push_f32(out: &mut String, v: f32) {
    use std::fmt::Write;
    if v == 0.0 || !v.is_finite() {
        let _ = write!(out, "{v}");
        return;
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        let _ = write!(out, "{v}");
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "{mantissa}e{sign}{:02}", exp.abs());
    }
}

/// Convert to 16-bit floats, rejecting values a halfvec cannot hold.
pub fn to_f16(values: &[f32]) -> Result<Vec<f16>> {
    values
        .iter()
        .map(|&v| {
            if v.is_finite() && v.abs() > HALF_MAX {
                Err(Error::new(
                    Kind::OutOfRange,
                    format!("\"{v}\" is out of range for type halfvec"),
                )
                .hint(format!("halfvec elements must lie within ±{HALF_MAX}.")))
            } else {
                Ok(f16::from_f32(v))
            }
        })
        .collect()
}

/// Convert 16-bit floats to 32-bit floats (exact).
pub fn from_f16(values: &[f16]) -> Vec<f32> {
    let mut out = Vec::with_capacity(values.len());
    extend_from_f16(&mut out, values);
    out
}

/// Appends `values` widened to f32 to `out`, 8 at a time where the CPU
/// converts in hardware (F16C).
pub fn extend_from_f16(out: &mut Vec<f32>, values: &[f16]) {
    use half::slice::HalfFloatSliceExt;
    let start = out.len();
    out.resize(start + values.len(), 0.0);
    values.convert_to_f32_slice(&mut out[start..]);
}

const LANES: usize = 16;

#[inline(always)]
fn dot_kernel(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    s
}

#[inline(always)]
fn l2_squared_kernel(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..LANES {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        let d = x - y;
        s += d * d;
    }
    s
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    #[target_feature(enable = "avx2")]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        super::dot_kernel(a, b)
    }
    #[target_feature(enable = "avx2")]
    pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        super::l2_squared_kernel(a, b)
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// Inner product a·b (over the common prefix; callers check dimensions).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { avx2::dot(a, b) };
    }
    dot_kernel(a, b)
}

/// Squared Euclidean distance.
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { avx2::l2_squared(a, b) };
    }
    l2_squared_kernel(a, b)
}

/// Inner product of an f32 query with an f16 vector (over the common prefix).
pub fn dot_f16(q: &[f32], x: &[f16]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if has_f16c() {
        // SAFETY: the CPU supports AVX2, FMA and F16C, checked just above.
        return unsafe { f16c::dot(q, x) };
    }
    f16_chunks(q, x, dot_kernel)
}

/// Squared Euclidean distance between an f32 query and an f16 vector.
pub fn l2_squared_f16(q: &[f32], x: &[f16]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if has_f16c() {
        // SAFETY: the CPU supports AVX2, FMA and F16C, checked just above.
        return unsafe { f16c::l2_squared(q, x) };
    }
    f16_chunks(q, x, l2_squared_kernel)
}

/// Portable f16 kernels: widen 64 elements at a time, then the f32 kernel.
fn f16_chunks(q: &[f32], x: &[f16], kernel: fn(&[f32], &[f32]) -> f32) -> f32 {
    let n = q.len().min(x.len());
    let mut buf = [0f32; 64];
    let mut s = 0.0;
    for (qc, xc) in q[..n].chunks(64).zip(x[..n].chunks(64)) {
        for (b, v) in buf.iter_mut().zip(xc) {
            *b = v.to_f32();
        }
        s += kernel(qc, &buf[..xc.len()]);
    }
    s
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn has_f16c() -> bool {
    std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
        && std::is_x86_feature_detected!("f16c")
}

#[cfg(target_arch = "x86_64")]
mod f16c {
    use half::f16;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma,f16c")]
    fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// # Safety
    /// The CPU must support AVX2, FMA and F16C.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot(q: &[f32], x: &[f16]) -> f32 {
        let n = q.len().min(x.len());
        let (qp, xp) = (q.as_ptr(), x.as_ptr().cast::<u16>());
        let mut a0 = _mm256_setzero_ps();
        let mut a1 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: every load reads 8 or 16 elements below `n`, in bounds of
        // both slices; unaligned loads are used.
        unsafe {
            while i + 16 <= n {
                let h0 = _mm256_cvtph_ps(_mm_loadu_si128(xp.add(i).cast()));
                let h1 = _mm256_cvtph_ps(_mm_loadu_si128(xp.add(i + 8).cast()));
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i)), h0, a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i + 8)), h1, a1);
                i += 16;
            }
            if i + 8 <= n {
                let h0 = _mm256_cvtph_ps(_mm_loadu_si128(xp.add(i).cast()));
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i)), h0, a0);
                i += 8;
            }
        }
        let mut s = hsum(_mm256_add_ps(a0, a1));
        while i < n {
            s += q[i] * x[i].to_f32();
            i += 1;
        }
        s
    }

    /// # Safety
    /// The CPU must support AVX2, FMA and F16C.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn l2_squared(q: &[f32], x: &[f16]) -> f32 {
        let n = q.len().min(x.len());
        let (qp, xp) = (q.as_ptr(), x.as_ptr().cast::<u16>());
        let mut a0 = _mm256_setzero_ps();
        let mut a1 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: as in `dot`.
        unsafe {
            while i + 16 <= n {
                let d0 = _mm256_sub_ps(
                    _mm256_loadu_ps(qp.add(i)),
                    _mm256_cvtph_ps(_mm_loadu_si128(xp.add(i).cast())),
                );
                let d1 = _mm256_sub_ps(
                    _mm256_loadu_ps(qp.add(i + 8)),
                    _mm256_cvtph_ps(_mm_loadu_si128(xp.add(i + 8).cast())),
                );
                a0 = _mm256_fmadd_ps(d0, d0, a0);
                a1 = _mm256_fmadd_ps(d1, d1, a1);
                i += 16;
            }
            if i + 8 <= n {
                let d0 = _mm256_sub_ps(
                    _mm256_loadu_ps(qp.add(i)),
                    _mm256_cvtph_ps(_mm_loadu_si128(xp.add(i).cast())),
                );
                a0 = _mm256_fmadd_ps(d0, d0, a0);
                i += 8;
            }
        }
        let mut s = hsum(_mm256_add_ps(a0, a1));
        while i < n {
            let d = q[i] - x[i].to_f32();
            s += d * d;
            i += 1;
        }
        s
    }
}

/// (a·b, a·a, b·b) for cosine distance: three vectorized passes. A fused
/// one-pass loop defeats LLVM's vectorizer (measured 1.3x over scalar code,
/// against about 4x for three passes; see benches/distance.rs).
fn cosine_parts(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
    (dot(a, b), dot(a, a), dot(b, b))
}

/// Euclidean distance.
pub fn l2_distance(a: &[f32], b: &[f32]) -> f64 {
    (l2_squared(a, b) as f64).sqrt()
}

/// Cosine distance 1 - cos(a, b), in [0, 2]. NaN when either vector is zero,
/// as in pgvector (a zero vector has no direction).
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f64 {
    let (ab, aa, bb) = cosine_parts(a, b);
    let denom = (aa as f64 * bb as f64).sqrt();
    if denom == 0.0 {
        return f64::NAN;
    }
    let sim = (ab as f64 / denom).clamp(-1.0, 1.0);
    1.0 - sim
}

/// Euclidean norm.
pub fn l2_norm(a: &[f32]) -> f64 {
    (dot(a, a) as f64).sqrt()
}

/// Euclidean norm of an f16 vector.
pub fn l2_norm_f16(a: &[f16]) -> f64 {
    let mut s = 0f64;
    for x in a {
        let v = x.to_f32() as f64;
        s += v * v;
    }
    s.sqrt()
}

/// Scale to unit length; the zero vector stays zero.
pub fn normalize(a: &[f32]) -> Vec<f32> {
    let n = l2_norm(a);
    if n == 0.0 {
        return a.to_vec();
    }
    a.iter().map(|&x| (x as f64 / n) as f32).collect()
}

/// The context vector of a message: the normalised sum of the embedding of
/// the message said before it and its own (both unit vectors from one
/// embedder), so its cosine to a query blends the two. None when the
/// dimensions differ or the sum vanishes.
pub fn context_vector(before: &[f32], own: &[f32]) -> Option<Vec<f32>> {
    if before.len() != own.len() || own.is_empty() {
        return None;
    }
    let sum: Vec<f32> = before.iter().zip(own).map(|(a, b)| a + b).collect();
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm > 1e-6 && norm.is_finite()).then(|| sum.iter().map(|x| x / norm).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pgvector_text() {
        assert_eq!(parse("[1,2,3]", "vector").unwrap(), vec![1.0, 2.0, 3.0]);
        assert_eq!(
            parse(" [ 1.5 , -2e-3,3 ] ", "vector").unwrap(),
            vec![1.5, -0.002, 3.0]
        );
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "", "1,2", "[1,2", "1,2]", "[1,,2]", "[1,a]", "[1 2]", "[,]", "[1;2]",
        ] {
            let e = parse(bad, "vector").unwrap_err();
            assert_eq!(e.kind, Kind::InvalidText, "{bad}");
        }
        assert_eq!(parse("[]", "vector").unwrap_err().kind, Kind::DataException);
        assert_eq!(
            parse("[ ]", "vector").unwrap_err().kind,
            Kind::DataException
        );
        assert_eq!(
            parse("[NaN]", "vector").unwrap_err().kind,
            Kind::DataException
        );
        assert_eq!(
            parse("[1,inf]", "vector").unwrap_err().kind,
            Kind::DataException
        );
        assert_eq!(
            parse("[-Infinity]", "vector").unwrap_err().kind,
            Kind::DataException
        );
        assert_eq!(
            parse("[1e50]", "vector").unwrap_err().kind,
            Kind::OutOfRange
        );
    }

    #[test]
    fn dimension_limit() {
        let ok = format!("[{}]", vec!["1"; MAX_DIM].join(","));
        assert_eq!(parse(&ok, "vector").unwrap().len(), MAX_DIM);
        let bad = format!("[{}]", vec!["1"; MAX_DIM + 1].join(","));
        assert_eq!(parse(&bad, "vector").unwrap_err().kind, Kind::LimitExceeded);
    }

    #[test]
    fn formats_like_postgres_real() {
        let v = [
            1e7, 1234567.0, 0.0001, 1e-5, 1e-7, 123456.7, 1e15, 3.4e38, -0.0, 0.1, 1.0, -2.5,
        ];
        assert_eq!(
            format(&v),
            "[1e+07,1.234567e+06,0.0001,1e-05,1e-07,123456.7,1e+15,3.4e+38,-0,0.1,1,-2.5]"
        );
    }

    #[test]
    fn text_round_trips() {
        let mut x = 0.123_456_79_f32;
        let mut v = Vec::new();
        for _ in 0..200 {
            x = (x * 7919.0).fract() - 0.5;
            v.push(x * 10f32.powi((v.len() % 13) as i32 - 6));
        }
        assert_eq!(parse(&format(&v), "vector").unwrap(), v);
    }

    #[test]
    fn typmods() {
        assert_eq!(typmod_in(&[3], "vector").unwrap(), 3);
        assert!(typmod_in(&[0], "vector").is_err());
        assert!(typmod_in(&[16001], "vector").is_err());
        assert!(typmod_in(&[1, 2], "vector").is_err());
        assert!(check_typmod(3, 3).is_ok());
        assert!(check_typmod(3, -1).is_ok());
        assert_eq!(check_typmod(2, 3).unwrap_err().kind, Kind::DataException);
    }

    #[test]
    fn half_conversion() {
        let h = to_f16(&[1.0, -0.5, 65504.0]).unwrap();
        assert_eq!(from_f16(&h), vec![1.0, -0.5, 65504.0]);
        assert_eq!(to_f16(&[70000.0]).unwrap_err().kind, Kind::OutOfRange);
    }

    fn naive(a: &[f32], b: &[f32]) -> (f64, f64, f64) {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
        let l2: f64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| ((*x - *y) as f64).powi(2))
            .sum();
        let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        (dot, l2.sqrt(), 1.0 - dot / (na * nb))
    }

    #[test]
    fn kernels_agree_with_naive() {
        for n in [1usize, 3, 15, 16, 17, 31, 100, 384, 1000] {
            let a: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                .collect();
            let b: Vec<f32> = (0..n)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 31.0)
                .collect();
            let (d, l2, cos) = naive(&a, &b);
            assert!(
                (dot(&a, &b) as f64 - d).abs() < 1e-3 * (1.0 + d.abs()),
                "dot n={n}"
            );
            assert!(
                (l2_distance(&a, &b) - l2).abs() < 1e-3 * (1.0 + l2),
                "l2 n={n}"
            );
            assert!((cosine_distance(&a, &b) - cos).abs() < 1e-4, "cos n={n}");
            assert!((dot_kernel(&a, &b) - dot(&a, &b)).abs() < 1e-3 * (1.0 + d.abs() as f32));
        }
    }

    #[test]
    fn f16_kernels_agree_with_widening() {
        for n in [1usize, 7, 8, 15, 16, 17, 100, 256, 1000] {
            let q: Vec<f32> = (0..n).map(|i| ((i * 7 % 13) as f32 - 6.0) / 5.0).collect();
            let x32: Vec<f32> = (0..n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 3.0).collect();
            let x: Vec<f16> = x32.iter().map(|&v| f16::from_f32(v)).collect();
            let wide = from_f16(&x);
            let (d, l) = (dot(&q, &wide), l2_squared(&q, &wide));
            assert!(
                (dot_f16(&q, &x) - d).abs() <= 1e-3 * d.abs().max(1.0),
                "dot n={n}"
            );
            assert!(
                (l2_squared_f16(&q, &x) - l).abs() <= 1e-3 * l.max(1.0),
                "l2 n={n}"
            );
            assert!((f16_chunks(&q, &x, dot_kernel) - d).abs() <= 1e-3 * d.abs().max(1.0));
        }
    }

    #[test]
    fn cosine_edge_cases() {
        assert!(cosine_distance(&[0.0, 0.0], &[1.0, 0.0]).is_nan());
        assert!(cosine_distance(&[1.0, 0.0], &[1.0, 0.0]).abs() < 1e-12);
        assert!((cosine_distance(&[1.0, 0.0], &[-1.0, 0.0]) - 2.0).abs() < 1e-12);
        assert_eq!(normalize(&[3.0, 4.0]), vec![0.6, 0.8]);
    }

    #[test]
    fn context_vectors_are_unit_blends() {
        let a = [1.0f32, 0.0];
        let b = [0.0f32, 1.0];
        let c = context_vector(&a, &b).unwrap();
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!((c[0] - h).abs() < 1e-6 && (c[1] - h).abs() < 1e-6);
        assert!(context_vector(&a, &[1.0, 0.0, 0.0]).is_none());
        assert!(context_vector(&a, &[-1.0, 0.0]).is_none());
    }
}
