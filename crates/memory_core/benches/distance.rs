//! Micro-benchmark of the distance kernels against a plain one-accumulator
//! loop (which the compiler cannot vectorize: float addition is not
//! associative). Prints nanoseconds per call and the speed-up ratio.
//! Run with `cargo bench -p memory_core --bench distance` (or `make bench`).

use memory_core::vector::{cosine_distance, dot, l2_squared};
use std::hint::black_box;
use std::time::Instant;

fn naive_dot(a: &[f32], b: &[f32]) -> f32 {
    let mut s = 0.0f32;
    for i in 0..a.len() {
        s += a[i] * b[i];
    }
    s
}

fn naive_l2(a: &[f32], b: &[f32]) -> f32 {
    let mut s = 0.0f32;
    for i in 0..a.len() {
        let d = a[i] - b[i];
        s += d * d;
    }
    s
}

fn naive_cos(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for i in 0..a.len() {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    1.0 - ab as f64 / ((aa as f64) * (bb as f64)).sqrt()
}

fn time<R>(iters: u32, mut f: impl FnMut() -> R) -> f64 {
    for _ in 0..iters / 10 {
        black_box(f());
    }
    let t = Instant::now();
    for _ in 0..iters {
        black_box(f());
    }
    t.elapsed().as_nanos() as f64 / iters as f64
}

fn main() {
    println!(
        "{:>6} {:>8} {:>12} {:>12} {:>8}",
        "dims", "kernel", "naive ns", "simd ns", "ratio"
    );
    for dims in [256usize, 384, 1536] {
        let a: Vec<f32> = (0..dims)
            .map(|i| ((i * 31 % 97) as f32 - 48.0) / 50.0)
            .collect();
        let b: Vec<f32> = (0..dims)
            .map(|i| ((i * 17 % 89) as f32 - 44.0) / 45.0)
            .collect();
        let iters = 2_000_000 / dims as u32 * 100;
        let rows: [(&str, f64, f64); 3] = [
            (
                "dot",
                time(iters, || naive_dot(black_box(&a), black_box(&b))),
                time(iters, || dot(black_box(&a), black_box(&b))),
            ),
            (
                "l2",
                time(iters, || naive_l2(black_box(&a), black_box(&b))),
                time(iters, || l2_squared(black_box(&a), black_box(&b))),
            ),
            (
                "cosine",
                time(iters, || naive_cos(black_box(&a), black_box(&b))),
                time(iters, || cosine_distance(black_box(&a), black_box(&b))),
            ),
        ];
        for (name, naive, simd) in rows {
            println!(
                "{dims:>6} {name:>8} {naive:>12.1} {simd:>12.1} {:>7.1}x",
                naive / simd
            );
        }
    }
}
