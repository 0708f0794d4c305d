//! Dense kernels of the encoder's forward pass, specialised for the short
//! sequences of queries and chat messages (a handful to a few hundred
//! tokens):
//! - `dense`: `out (n × m) = x (n × k) · Wᵀ + b` with W in PyTorch's (m × k)
//!   row-major layout. On x86-64 with AVX2, FMA and F16C (detected at run
//!   time) W is kept as f16 (`Half`: a short query is bound by the memory
//!   traffic of the weights, and half the bytes stay in the last-level cache
//!   between queries) and a register-blocked kernel computes 2 output
//!   columns for 6 tokens at a time as dot products along k, so W is never
//!   repacked (the general SGEMM repacks all of it on every call, which
//!   dominated a short query). Elsewhere `matrixmultiply` runs.
//! - `gelu`: the exact (erf) GELU with a rational erf approximation
//!   (absolute error below 2e-7) and its own e^x, so the loop vectorises
//!   (compiled for AVX2 where present), instead of libm's erff.

/// A weight matrix (m × k, row-major) converted to f16 once, for `dense`
/// on CPUs with AVX2, FMA and F16C; None elsewhere.
pub struct Half {
    data: Vec<half::f16>,
}

impl Half {
    pub fn new(w: &[f32]) -> Option<Half> {
        #[cfg(target_arch = "x86_64")]
        if avx2::available_f16() {
            return Some(Half {
                data: w.iter().map(|v| half::f16::from_f32(*v)).collect(),
            });
        }
        let _ = w;
        None
    }
}

/// Which kernel a dense layer runs on.
#[derive(Clone, Copy)]
pub enum Kernel<'a> {
    /// `portable_linear` in f32: the reference.
    Reference,
    /// f16 weights when given (built by `Half::new`, so the CPU has the
    /// instructions), else `portable_linear` over the f32 ones.
    Fast(Option<&'a Half>),
}

/// `out (n × m) = x (n × k) · Wᵀ + b` on `kernel`.
#[allow(clippy::too_many_arguments)]
pub fn dense(
    kernel: Kernel<'_>,
    x: &[f32],
    n: usize,
    k: usize,
    w: &[f32],
    b: &[f32],
    m: usize,
    out: &mut [f32],
) {
    let half = match kernel {
        Kernel::Reference => return portable_linear(x, n, k, w, b, m, out),
        Kernel::Fast(h) => h,
    };
    #[cfg(target_arch = "x86_64")]
    if let Some(h) = half {
        if k.is_multiple_of(8) {
            assert!(
                x.len() >= n * k && h.data.len() >= m * k && b.len() >= m && out.len() >= n * m
            );
            // SAFETY: a Half exists only where AVX2, FMA and F16C were
            // detected; lengths asserted above; k is a multiple of 8.
            #[allow(unsafe_code)]
            unsafe {
                avx2::linear(x, n, k, &h.data, b, m, out)
            };
            return;
        }
    }
    let _ = half;
    portable_linear(x, n, k, w, b, m, out);
}

/// `dense` through `matrixmultiply`'s SGEMM in f32 (its own run-time kernel
/// selection): the fallback and the reference.
pub fn portable_linear(
    x: &[f32],
    n: usize,
    k: usize,
    w: &[f32],
    b: &[f32],
    m: usize,
    out: &mut [f32],
) {
    assert!(x.len() >= n * k && w.len() >= m * k && b.len() >= m && out.len() >= n * m);
    for row in out.chunks_exact_mut(m).take(n) {
        row.copy_from_slice(&b[..m]);
    }
    // SAFETY: the slices hold n×k, m×k and n×m elements (asserted above)
    // laid out with the strides given; matrixmultiply reads and writes only
    // inside them.
    #[allow(unsafe_code)]
    unsafe {
        matrixmultiply::sgemm(
            n,
            k,
            m,
            1.0,
            x.as_ptr(),
            k as isize,
            1,
            w.as_ptr(),
            1,
            k as isize,
            1.0,
            out.as_mut_ptr(),
            m as isize,
            1,
        );
    }
}

/// e^x for x <= 0 (the argument erf needs), without a libm call so that a
/// loop over it vectorises: x = n·ln 2 + r with |r| <= ln 2 / 2, a degree-6
/// Taylor polynomial for e^r (relative error below 2e-7 there) and 2^n put
/// into the exponent bits. Below -87 the result is 0.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // n is in [-126, 0]: a normal power of two
    p * f32::from_bits((((n as i32) + 127) as u32) << 23)
}

/// erf(x) by Abramowitz & Stegun 7.1.26 refined: a rational approximation
/// in t = 1 / (1 + p|x|) times exp(-x²).
#[inline(always)]
fn erf(x: f32) -> f32 {
    // A&S 7.1.28-style coefficients of 7.1.26 (max abs error 1.5e-7).
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [
        0.254_829_6,
        -0.284_496_74,
        1.421_413_7,
        -1.453_152_1,
        1.061_405_4,
    ];
    let s = if x < 0.0 { -1.0 } else { 1.0 };
    let a = x.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    s * (1.0 - poly * exp_nonpositive(-a * a))
}

#[inline(always)]
fn gelu_portable(xs: &mut [f32]) {
    for v in xs.iter_mut() {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// GELU (erf form) in place: 8 lanes at a time where the CPU has AVX2 and
/// FMA (the same arithmetic, compiled for them).
pub fn gelu(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: AVX2 and FMA were detected at run time.
        #[allow(unsafe_code)]
        unsafe {
            avx2::gelu(xs)
        };
        return;
    }
    gelu_portable(xs);
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    pub fn available() -> bool {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }

    /// # Safety
    /// AVX2 and FMA present.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn gelu(xs: &mut [f32]) {
        super::gelu_portable(xs)
    }

    pub fn available_f16() -> bool {
        std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c")
    }

    /// Elements of k per pass (a multiple of 8).
    const K_TILE: usize = 512;

    /// 8 f16 weights as f32 lanes.
    ///
    /// # Safety
    /// `p` points at 8 readable elements; the CPU has F16C.
    #[inline(always)]
    unsafe fn load8(p: *const half::f16) -> __m256 {
        _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
    }

    /// Up to 6 tokens (rows of x from `x0`) × 2 columns (rows of W from
    /// `w0`): out[t][j] += x[t] · W[j] over the elements `span` of k. 12
    /// accumulators, 2 weight vectors and one token vector fill the 16
    /// registers without a spill.
    ///
    /// # Safety
    /// AVX2, FMA (and F16C for f16) present; x holds (x0 + T) × k, w holds
    /// (w0 + 2) × k, out (x0 + T) × m with w0 + 2 <= m; span within k, its
    /// ends multiples of 8.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block<const T: usize>(
        x: &[f32],
        x0: usize,
        k: usize,
        span: (usize, usize),
        w: &[half::f16],
        w0: usize,
        m: usize,
        out: &mut [f32],
    ) {
        let mut acc = [[_mm256_setzero_ps(); 2]; T];
        let xp = x.as_ptr().add(x0 * k);
        let wp = w.as_ptr().add(w0 * k);
        let mut i = span.0;
        while i < span.1 {
            if i.is_multiple_of(32) {
                // the rows two column pairs ahead, one line of each per
                // line of this pair: short rows (768 bytes at k = 384)
                // end before the hardware prefetcher ramps up
                _mm_prefetch::<_MM_HINT_T0>(wp.wrapping_add(4 * k + i) as *const i8);
                _mm_prefetch::<_MM_HINT_T0>(wp.wrapping_add(5 * k + i) as *const i8);
            }
            let w_0 = load8(wp.add(i));
            let w_1 = load8(wp.add(k + i));
            for (t, a) in acc.iter_mut().enumerate() {
                let xv = _mm256_loadu_ps(xp.add(t * k + i));
                a[0] = _mm256_fmadd_ps(xv, w_0, a[0]);
                a[1] = _mm256_fmadd_ps(xv, w_1, a[1]);
            }
            i += 8;
        }
        for (t, a) in acc.iter().enumerate() {
            // [r0 lanes 0+1, 2+3, r1 0+1, 2+3 | 4+5, 6+7, ...], then halves
            let h = _mm256_hadd_ps(a[0], a[1]);
            let q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
            let mut lanes = [0f32; 4];
            _mm_storeu_ps(lanes.as_mut_ptr(), q);
            let row = (x0 + t) * m + w0;
            out[row] += lanes[0] + lanes[1];
            out[row + 1] += lanes[2] + lanes[3];
        }
    }

    /// # Safety
    /// AVX2, FMA (and F16C for f16) present; x holds n × k, w m × k, b m,
    /// out n × m; k.is_multiple_of(8).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn linear(
        x: &[f32],
        n: usize,
        k: usize,
        w: &[half::f16],
        b: &[f32],
        m: usize,
        out: &mut [f32],
    ) {
        for row in out.chunks_exact_mut(m).take(n) {
            row.copy_from_slice(&b[..m]);
        }
        let cols = m - m % 2;
        // k in tiles of at most K_TILE, so six tokens' slices of x stay in
        // L1; within a tile, column pairs (their two rows of W stay in L1
        // while every token passes over them), tokens in blocks of 6.
        let mut k0 = 0;
        while k0 < k {
            let span = (k0, (k0 + K_TILE).min(k));
            let mut j = 0;
            while j < cols {
                let mut t = 0;
                while t < n {
                    // Blocks of 6, except that 7 and 8 remaining tokens go
                    // as 4 + 3 and 4 + 4: a block of 1 or 2 tokens loads
                    // as many vectors as it multiplies.
                    let rows = match n - t {
                        r @ 0..=6 => r,
                        7 | 8 => 4,
                        _ => 6,
                    };
                    match rows {
                        6 => block::<6>(x, t, k, span, w, j, m, out),
                        5 => block::<5>(x, t, k, span, w, j, m, out),
                        4 => block::<4>(x, t, k, span, w, j, m, out),
                        3 => block::<3>(x, t, k, span, w, j, m, out),
                        2 => block::<2>(x, t, k, span, w, j, m, out),
                        _ => block::<1>(x, t, k, span, w, j, m, out),
                    }
                    t += rows;
                }
                j += 2;
            }
            k0 = span.1;
        }
        // A last odd column: plain dot products.
        for j in cols..m {
            let wr = &w[j * k..(j + 1) * k];
            for t in 0..n {
                let xr = &x[t * k..(t + 1) * k];
                out[t * m + j] += xr.iter().zip(wr).map(|(a, c)| a * c.to_f32()).sum::<f32>();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 1000.0 - 1.0)
            .collect()
    }

    #[test]
    fn half_kernel_matches_the_reference_for_every_shape() {
        // Token blocks of 6 and their remainders, k past one tile, an odd
        // last column; the reference gets the same f16-rounded weights.
        for (n, k, m) in [
            (1, 8, 4),
            (2, 16, 8),
            (3, 384, 384),
            (7, 384, 1536),
            (12, 1536, 384),
            (5, 24, 7),
        ] {
            let x = data(n * k, 1);
            let w: Vec<f32> = data(m * k, 2)
                .iter()
                .map(|v| half::f16::from_f32(*v).to_f32())
                .collect();
            let b = data(m, 3);
            let Some(h) = Half::new(&w) else {
                return; // no AVX2/FMA/F16C here: nothing but the reference runs
            };
            let mut fast = vec![0.0; n * m];
            let mut slow = vec![0.0; n * m];
            dense(Kernel::Fast(Some(&h)), &x, n, k, &w, &b, m, &mut fast);
            portable_linear(&x, n, k, &w, &b, m, &mut slow);
            for (i, (f, s)) in fast.iter().zip(&slow).enumerate() {
                assert!(
                    (f - s).abs() <= 1e-3 * (1.0 + s.abs()),
                    "n{n} k{k} m{m} at {i}: {f} vs {s}"
                );
            }
        }
    }

    #[test]
    fn half_weights_stay_close() {
        for (n, k, m) in [(1, 8, 4), (4, 384, 384), (13, 384, 1536), (5, 24, 6)] {
            let x = data(n * k, 4);
            let w = data(m * k, 5);
            let b = data(m, 6);
            let half = Half::new(&w);
            let mut fast = vec![0.0; n * m];
            let mut slow = vec![0.0; n * m];
            dense(Kernel::Fast(half.as_ref()), &x, n, k, &w, &b, m, &mut fast);
            portable_linear(&x, n, k, &w, &b, m, &mut slow);
            for (f, s) in fast.iter().zip(&slow) {
                // f16 keeps 11 significant bits of each weight
                assert!(
                    (f - s).abs() <= 2e-3 * (1.0 + s.abs()) * (k as f32).sqrt(),
                    "{f} vs {s}"
                );
            }
        }
    }

    #[test]
    fn exp_matches_libm() {
        for i in 0..=20_000 {
            let x = -(i as f32) / 200.0;
            let (got, want) = (exp_nonpositive(x), x.exp());
            assert!(
                (got - want).abs() <= 4e-7 * want + 1e-37,
                "{x}: {got} vs {want}"
            );
        }
        assert!(exp_nonpositive(-200.0) < 1e-37);
    }

    #[test]
    fn gelu_matches_erf_form() {
        let mut xs: Vec<f32> = (-800..=800).map(|i| i as f32 / 100.0).collect();
        let want: Vec<f32> = xs
            .iter()
            .map(|&x| 0.5 * x * (1.0 + libm::erff(x / std::f32::consts::SQRT_2)))
            .collect();
        let mut portable = xs.clone();
        gelu(&mut xs);
        gelu_portable(&mut portable);
        for ((g, p), w) in xs.iter().zip(&portable).zip(&want) {
            assert!((g - w).abs() < 2e-6, "{g} vs {w}");
            assert!((p - w).abs() < 2e-6, "{p} vs {w}");
        }
    }
}
