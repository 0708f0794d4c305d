//! Query-embedding latency of the built-in embedders on one core: p50/p95
//! over short queries (the search hot path) and one longer message.
//! Run with `cargo bench -p memory_core --bench embed` (or `make bench`);
//! needs the models from scripts/models.sh (MEMORY_EXT_MODELS or
//! target/models).

use memory_core::embed::bert::MiniLm;
use memory_core::embed::Builtin;
use std::path::PathBuf;
use std::time::Instant;

const QUERIES: [&str; 8] = [
    "Where does Maya work?",
    "What did she buy for her mother's birthday last May?",
    "Which brand of road bike did Ana pick?",
    "When is the Kafka migration due?",
    "How much is the rent?",
    "What musical instrument does she play and where is it now?",
    "Who is coming to visit from London?",
    "What food restrictions does she have?",
];

fn pct(mut xs: Vec<f64>, p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((xs.len() - 1) as f64 * p).round() as usize]
}

fn time(model: &dyn Fn(&str) -> Vec<f32>, texts: &[&str]) -> (f64, f64) {
    let mut ms = Vec::new();
    for round in 0..40 {
        for t in texts {
            let t0 = Instant::now();
            std::hint::black_box(model(t));
            if round >= 5 {
                ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    (pct(ms.clone(), 0.5), pct(ms, 0.95))
}

fn embed1(m: &MiniLm, t: &str) -> Vec<f32> {
    m.embed(&[t], &mut || {}).expect("embed").remove(0)
}

fn main() {
    let dir = std::env::var_os("MEMORY_EXT_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/models"));
    let long = "I finally went to the pottery class my sister recommended, and it was so much \
                fun that I signed up for the whole autumn term, every Tuesday evening after work.";
    let inputs: [(&str, Vec<&str>); 2] = [
        ("short queries", QUERIES.to_vec()),
        ("one long message", vec![long]),
    ];
    println!(
        "{:<28} {:<17} {:>7} {:>7} {:>16}",
        "embedder", "input", "p50 ms", "p95 ms", "p50 vs reference"
    );
    let (fast, reference) = match (
        MiniLm::load(&dir.join("minilm")),
        MiniLm::load_portable(&dir.join("minilm")),
    ) {
        (Ok(f), Ok(r)) => (f, r),
        (Err(e), _) | (_, Err(e)) => {
            println!("minilm skipped: {e}");
            return;
        }
    };
    for (label, texts) in &inputs {
        let (r50, r95) = time(&|t: &str| embed1(&reference, t), texts);
        let (f50, f95) = time(&|t: &str| embed1(&fast, t), texts);
        println!(
            "{:<28} {label:<17} {r50:>7.2} {r95:>7.2} {:>16}",
            "minilm, f32 SGEMM (before)", "1.00x"
        );
        println!(
            "{:<28} {label:<17} {f50:>7.2} {f95:>7.2} {:>15.2}x",
            "minilm, f16 AVX2 kernel",
            r50 / f50
        );
    }
    // An add embeds its facts in one call: the texts of a call share one
    // forward pass (their dense layers read the weights once).
    let mut apart = Vec::new();
    let mut packed = Vec::new();
    for round in 0..40 {
        for pair in QUERIES.chunks(2) {
            let t0 = Instant::now();
            for t in pair {
                std::hint::black_box(embed1(&fast, t));
            }
            let t1 = Instant::now();
            std::hint::black_box(fast.embed(pair, &mut || {}).expect("embed"));
            if round >= 5 {
                apart.push((t1 - t0).as_secs_f64() * 1000.0);
                packed.push(t1.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    let (a50, p50) = (pct(apart, 0.5), pct(packed, 0.5));
    println!(
        "{:<28} {:<17} {a50:>7.2} {:>7} {:>16}",
        "minilm, 2 texts one by one", "two queries", "", "1.00x"
    );
    println!(
        "{:<28} {:<17} {p50:>7.2} {:>7} {:>15.2}x",
        "minilm, 2 texts in one call",
        "two queries",
        "",
        a50 / p50
    );
    if let Ok(w) = Builtin::load("wordllama", &dir) {
        for (label, texts) in &inputs {
            let (p50, p95) = time(
                &|t: &str| w.embed(&[t], &mut || {}).expect("embed").remove(0),
                texts,
            );
            println!("{:<28} {label:<17} {p50:>7.2} {p95:>7.2}", "wordllama");
        }
    }
}
