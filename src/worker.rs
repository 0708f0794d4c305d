//! The background worker (issue #8): runs queued adds (`memory.add_async`)
//! and, every `memory.maintenance_interval` seconds, the lifecycle
//! maintenance of issue #9 (expiry purge, cold tiering) in short
//! transactions.
//!
//! One worker per database listed in `memory.worker_databases`, registered
//! when the library is in `shared_preload_libraries`. Each job runs in two
//! transactions: claiming it (RUNNING, attempt counted) and running it; the
//! second writes the memories and marks the job done together, so a crash
//! leaves a job either done or still to run. Jobs left RUNNING by a crash are
//! queued again when the worker starts.

use crate::gucs;
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::prelude::*;
use pgrx::Uuid;
use std::time::{Duration, Instant};

mod postgres {
    // PostgreSQL's SIGTERM handler for backends, by its C symbol (pgrx's
    // binding wraps it in a Rust function, which cannot be a signal handler).
    extern "C-unwind" {
        pub fn die(signal: std::ffi::c_int);
    }
}

/// Register the workers; only possible while the postmaster loads
/// `shared_preload_libraries`.
pub fn register() {
    // SAFETY: a postmaster global, read in _PG_init on the postmaster's thread.
    if !unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    let Some(list) = gucs::text(&gucs::WORKER_DATABASES) else {
        return;
    };
    for db in list.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        BackgroundWorkerBuilder::new(&format!("memory_ext worker {db}"))
            .set_type("memory_ext worker")
            .set_function("memory_worker_main")
            .set_library("memory_ext")
            .set_extra(db)
            .enable_spi_access()
            .set_restart_time(Some(Duration::from_secs(5)))
            .load();
    }
}

fn installed() -> bool {
    BackgroundWorker::transaction(|| {
        Spi::get_one::<bool>("SELECT to_regclass('memory.job_queue') IS NOT NULL")
            .ok()
            .flatten()
            .unwrap_or(false)
    })
}

/// Run up to `max` jobs; returns how many ran.
fn run_jobs(max: usize) -> usize {
    let mut ran = 0;
    while ran < max {
        check_for_interrupts!();
        let claimed = BackgroundWorker::transaction(|| {
            Spi::get_one::<Uuid>("SELECT memory.claim_job()")
                .ok()
                .flatten()
        });
        let Some(job) = claimed else {
            break;
        };
        let outcome = BackgroundWorker::transaction(|| {
            Spi::get_one_with_args::<String>("SELECT memory.run_job($1)", &[job.into()])
                .ok()
                .flatten()
        });
        if outcome.as_deref() != Some("SUCCEEDED") {
            log!(
                "memory_ext worker: job {job}: {}",
                outcome.as_deref().unwrap_or("vanished")
            );
        }
        ran += 1;
    }
    ran
}

/// Run `sql` (one batch, returning how many rows it handled) in its own
/// transaction until a batch comes back short; returns the total.
fn drain(sql: &str, batch: i64) -> i64 {
    let mut total = 0;
    loop {
        let n =
            BackgroundWorker::transaction(|| Spi::get_one::<i64>(sql).ok().flatten().unwrap_or(0));
        total += n;
        check_for_interrupts!();
        if n < batch {
            return total;
        }
    }
}

/// Expiry purge and cold tiering, one short transaction per batch.
fn maintain() {
    let batch = gucs::MAINTENANCE_BATCH.get().max(1) as i64;
    let purged = drain("SELECT memory.purge_expired()", batch);
    let jobs = drain("SELECT memory.purge_jobs()", batch);
    let due: Vec<Uuid> = BackgroundWorker::transaction(|| {
        Spi::get_one::<Vec<Uuid>>("SELECT memory.cold_candidates()")
            .ok()
            .flatten()
            .unwrap_or_default()
    });
    let mut moved = 0;
    for chunk in due.chunks(batch as usize) {
        check_for_interrupts!();
        moved += BackgroundWorker::transaction(|| {
            Spi::get_one_with_args::<i64>(
                "SELECT memory.move_to_cold($1)",
                &[chunk.to_vec().into()],
            )
            .ok()
            .flatten()
            .unwrap_or(0)
        });
    }
    if purged > 0 || moved > 0 || jobs > 0 {
        log!("memory_ext worker: maintenance purged {purged} expired memories and {jobs} finished jobs, moved {moved} to the cold tier");
    }
}

/// Entry point of a worker, named in `register`.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn memory_worker_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP);
    // SAFETY: installs PostgreSQL's own SIGTERM handler, as core background
    // workers do: it sets ProcDiePending and the latch, so a shutdown ends
    // the worker at the next interrupt check, even while it waits on an
    // LLM or embedding endpoint (whose wait loop checks for interrupts).
    unsafe {
        pg_sys::pqsignal(pg_sys::SIGTERM as i32, Some(postgres::die));
    }
    let db = BackgroundWorker::get_extra().to_string();
    BackgroundWorker::connect_worker_to_spi(Some(&db), None);
    let mut recovered = false;
    let mut last_maintenance = Instant::now();
    loop {
        let nap = Duration::from_millis(gucs::WORKER_NAPTIME_MS.get().max(10) as u64);
        if !BackgroundWorker::wait_latch(Some(nap)) {
            break;
        }
        check_for_interrupts!();
        if BackgroundWorker::sighup_received() {
            // SAFETY: the documented way for a background worker to reload
            // the configuration, called outside any transaction.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        if !installed() {
            continue;
        }
        if !recovered {
            let n = BackgroundWorker::transaction(|| {
                Spi::get_one::<i64>(
                    "WITH r AS (UPDATE memory.job_queue SET status = 'PENDING', next_attempt_at = clock_timestamp()
                                WHERE status = 'RUNNING' RETURNING 1)
                     SELECT count(*) FROM r",
                )
                .ok()
                .flatten()
                .unwrap_or(0)
            });
            if n > 0 {
                log!("memory_ext worker: {n} interrupted jobs queued again");
            }
            recovered = true;
        }
        run_jobs(100);
        let every = gucs::MAINTENANCE_INTERVAL_S.get();
        if every > 0 && last_maintenance.elapsed() >= Duration::from_secs(every as u64) {
            maintain();
            last_maintenance = Instant::now();
        }
    }
}
