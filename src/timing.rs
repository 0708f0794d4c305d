//! Time spent waiting on models during one statement, for the DEBUG1 line
//! each inferred `memory.add` logs (and the LLM benchmark reads).

use std::cell::Cell;
use std::time::{Duration, Instant};

/// What the time was spent on.
#[derive(Clone, Copy)]
pub enum Wait {
    Llm,
    Embed,
}

/// Calls and time per kind of wait since the last `take`.
#[derive(Clone, Copy, Default)]
pub struct Spent {
    pub llm_calls: u32,
    pub llm: Duration,
    pub embed_calls: u32,
    pub embed: Duration,
}

thread_local! {
    static SPENT: Cell<Spent> = Cell::new(Spent::default());
}

/// Run `f`, adding its wall time to `what`.
pub fn measure<T>(what: Wait, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    SPENT.with(|s| {
        let mut v = s.get();
        match what {
            Wait::Llm => {
                v.llm_calls += 1;
                v.llm += took;
            }
            Wait::Embed => {
                v.embed_calls += 1;
                v.embed += took;
            }
        }
        s.set(v);
    });
    out
}

/// The counters so far, reset to zero.
pub fn take() -> Spent {
    SPENT.with(|s| s.replace(Spent::default()))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One line: total, LLM and embedding time and what is left (our own work).
pub fn summary(total: Duration, s: &Spent) -> String {
    let other = total.saturating_sub(s.llm + s.embed);
    format!(
        "total {:.3} ms; llm {} calls {:.3} ms; embed {} calls {:.3} ms; other {:.3} ms",
        ms(total),
        s.llm_calls,
        ms(s.llm),
        s.embed_calls,
        ms(s.embed),
        ms(other)
    )
}
