//! Load with a fault: `--clients` clients mix adds and searches against
//! memory-server for `--seconds`, each acting for its own user through one
//! project key; at `--fault-at` seconds `--fault-cmd` runs (a database
//! restart) and the time it took is the outage window.
//!
//! Prints requests, p50/p99 per operation and errors by status, each error
//! as inside or outside the outage window (with `--grace` seconds after it
//! for the pool to reconnect), and how many requests hit the client timeout
//! (a hang). Writes the id of every memory whose add was answered 200 to
//! `--acked` (one per line), so the caller can check that each is in the
//! database. Exits non-zero with `--check` when a request hung, an error
//! fell outside the window, or a reply was not JSON.

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser, Debug, Clone)]
struct Args {
    /// Base URL of memory-server.
    #[arg(long, default_value = "http://127.0.0.1:28816")]
    url: String,
    /// A project key (bound to no user): client i acts for user `load-<i>`.
    #[arg(long, env = "MEMORY_LOAD_KEY")]
    key: String,
    #[arg(long, default_value_t = 64)]
    clients: usize,
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// One add in this many requests; the rest are searches.
    #[arg(long, default_value_t = 4)]
    add_every: usize,
    /// Client-side timeout of one request, in seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// When to run --fault-cmd, in seconds from the start.
    #[arg(long)]
    fault_at: Option<u64>,
    /// Shell command of the fault (e.g. a database restart).
    #[arg(long)]
    fault_cmd: Option<String>,
    /// Seconds after the fault ends in which errors still count as the
    /// outage's (the pool replaces its dead connections).
    #[arg(long, default_value_t = 3.0)]
    grace: f64,
    /// File for the ids of acknowledged adds.
    #[arg(long)]
    acked: Option<String>,
    /// Fail on a hang, an error outside the outage or a non-JSON reply.
    #[arg(long)]
    check: bool,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

#[path = "../load_topics.rs"]
mod topics;
use topics::TOPICS;

#[derive(Default)]
struct Record {
    /// (operation, latency) of every answered request.
    lat: Vec<(&'static str, Duration)>,
    /// (status, seconds from start, at the request's start) of every error.
    errors: Vec<(u16, f64, f64)>,
    hung: usize,
    not_json: usize,
    acked: Vec<String>,
}

/// One request: (status, parsed body) or None when it timed out; a
/// connection error is status 0.
async fn request(
    http: &Http,
    args: &Args,
    path: &str,
    body: &Value,
) -> Option<(u16, Option<Value>)> {
    let req = hyper::Request::post(format!("{}{path}", args.url))
        .header("Authorization", format!("Token {}", args.key))
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(body).ok()?)))
        .ok()?;
    let call = async {
        match http.request(req).await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let bytes = resp.into_body().collect().await.ok().map(|b| b.to_bytes());
                let parsed = bytes.and_then(|b| serde_json::from_slice::<Value>(&b).ok());
                (status, parsed)
            }
            Err(_) => (0, Some(Value::Null)),
        }
    };
    tokio::time::timeout(Duration::from_secs(args.timeout), call)
        .await
        .ok()
}

async fn client(i: usize, args: Arc<Args>, http: Http, start: Instant, rec: Arc<Mutex<Record>>) {
    let user = format!("load-{i}");
    let deadline = start + Duration::from_secs(args.seconds);
    let mut n = 0usize;
    let mut local = Record::default();
    while Instant::now() < deadline {
        n += 1;
        let topic = TOPICS[(i + n) % TOPICS.len()];
        let (op, path, body) = if n % args.add_every.max(1) == 1 {
            (
                "add",
                "/v3/memories/add/",
                json!({"messages": format!("Client {i} note {n}: thinking about {topic}"),
                       "user_id": user, "infer": false}),
            )
        } else {
            (
                "search",
                "/v3/memories/search/",
                json!({"query": format!("what about {topic}?"), "user_id": user, "top_k": 5}),
            )
        };
        let t0 = Instant::now();
        let at = t0.duration_since(start).as_secs_f64();
        match request(&http, &args, path, &body).await {
            None => local.hung += 1,
            Some((status, parsed)) => {
                if status != 0 && parsed.is_none() {
                    local.not_json += 1;
                }
                if status == 200 {
                    local.lat.push((op, t0.elapsed()));
                    if op == "add" {
                        let ids = parsed
                            .as_ref()
                            .and_then(|v| v.get("results"))
                            .and_then(Value::as_array)
                            .map(|a| {
                                a.iter()
                                    .filter_map(|r| r.get("id").and_then(Value::as_str))
                                    .map(str::to_string)
                                    .collect::<Vec<_>>()
                            })
                            .unwrap_or_default();
                        local.acked.extend(ids);
                    }
                } else {
                    local.errors.push((status, at, t0.elapsed().as_secs_f64()));
                    // Do not spin on a dead database.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    let mut r = rec.lock().unwrap_or_else(|p| p.into_inner());
    r.lat.extend(local.lat);
    r.errors.extend(local.errors);
    r.hung += local.hung;
    r.not_json += local.not_json;
    r.acked.extend(local.acked);
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Arc::new(Args::parse());
    let http: Http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.clients)
        .build_http();
    let rec = Arc::new(Mutex::new(Record::default()));
    let start = Instant::now();
    let fault = match (args.fault_at, args.fault_cmd.clone()) {
        (Some(at), Some(cmd)) => Some(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(at)).await;
            let t0 = start.elapsed().as_secs_f64();
            let ok = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .status()
                .await
                .map(|s| s.success())
                .unwrap_or(false);
            (t0, start.elapsed().as_secs_f64(), ok)
        })),
        _ => None,
    };
    let mut handles = Vec::new();
    for i in 0..args.clients {
        handles.push(tokio::spawn(client(
            i,
            args.clone(),
            http.clone(),
            start,
            rec.clone(),
        )));
    }
    for h in handles {
        h.await?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let window = match fault {
        Some(h) => Some(h.await?),
        None => None,
    };
    let r = rec.lock().unwrap_or_else(|p| p.into_inner());

    println!(
        "load: {} clients, {:.0} s, one add in {} requests, project key (one user per client)",
        args.clients, elapsed, args.add_every
    );
    for op in ["search", "add"] {
        let mut l: Vec<f64> = r
            .lat
            .iter()
            .filter(|(o, _)| *o == op)
            .map(|(_, d)| d.as_secs_f64() * 1000.0)
            .collect();
        l.sort_by(f64::total_cmp);
        println!(
            "  {op:<6} {:>7} ok  {:>7.1}/s  p50 {:>7.2} ms  p99 {:>8.2} ms",
            l.len(),
            l.len() as f64 / elapsed,
            pct(&l, 0.50),
            pct(&l, 0.99)
        );
    }
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    let mut outside = 0usize;
    for (status, at, took) in &r.errors {
        *by_status.entry(*status).or_default() += 1;
        let inside = window.is_some_and(|(from, to, _)| {
            // The request overlapped the outage (plus the grace period).
            at + took >= from && *at <= to + args.grace
        });
        if !inside {
            outside += 1;
        }
    }
    let statuses: Vec<String> = by_status
        .iter()
        .map(|(s, n)| {
            format!(
                "{n} × {}",
                if *s == 0 {
                    "connection error".to_string()
                } else {
                    s.to_string()
                }
            )
        })
        .collect();
    println!(
        "  errors {} ({}), outside the outage window {outside}; hung past {} s: {}; replies not JSON: {}",
        r.errors.len(),
        if statuses.is_empty() { "none".to_string() } else { statuses.join(", ") },
        args.timeout,
        r.hung,
        r.not_json
    );
    if let Some((from, to, ok)) = window {
        println!(
            "  fault: {:?} from {from:.1} s to {to:.1} s ({}), errors counted as its own up to {:.1} s after",
            args.fault_cmd.as_deref().unwrap_or(""),
            if ok { "succeeded" } else { "FAILED" },
            args.grace
        );
    }
    println!("  adds acknowledged: {}", r.acked.len());
    if let Some(path) = &args.acked {
        let mut text = r.acked.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        std::fs::write(path, text)?;
    }
    if args.check {
        let fault_failed = window.is_some_and(|(_, _, ok)| !ok);
        if r.hung > 0 || outside > 0 || r.not_json > 0 || fault_failed || r.lat.is_empty() {
            eprintln!("load: FAIL (a hang, an error outside the outage, a non-JSON reply, a failed fault or no success)");
            std::process::exit(1);
        }
    }
    Ok(())
}
