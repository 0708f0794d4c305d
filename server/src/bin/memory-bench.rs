//! Loopback load against memory-server and the same SQL calls made directly,
//! to show what the REST layer costs (benches/http.sh runs it).
//!
//! Each phase runs `--concurrency` clients, each issuing requests back to
//! back until `--requests` are done, and prints requests/s, p50 and p95.
//! The SQL phases run what the service runs per request (a transaction,
//! the role and user settings, the function call) over as many direct
//! connections, so the difference is HTTP, JSON, the key lookup and pooling.
//! Timings are printed, never asserted.

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug, Clone)]
struct Args {
    /// Base URL of memory-server.
    #[arg(long, default_value = "http://127.0.0.1:28816")]
    url: String,
    /// API key bound to --user.
    #[arg(long, env = "MEMORY_BENCH_KEY")]
    key: String,
    /// Direct connection for the SQL phases (a superuser, which switches to --role).
    #[arg(long)]
    database_url: String,
    /// Role of the key (the SQL phases act as it too).
    #[arg(long)]
    role: String,
    /// The key's user.
    #[arg(long)]
    user: String,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Requests per search phase.
    #[arg(long, default_value_t = 800)]
    searches: usize,
    /// Requests per add phase (infer = false: storage and embedding, no extraction).
    #[arg(long, default_value_t = 320)]
    adds: usize,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[path = "../load_topics.rs"]
mod topics;
use topics::TOPICS;

fn query(i: usize) -> String {
    format!("what about {}?", TOPICS[i % TOPICS.len()])
}

fn fact(i: usize) -> String {
    format!(
        "Note {i}: I keep thinking about {}",
        TOPICS[i % TOPICS.len()]
    )
}

struct Stats {
    name: String,
    secs: f64,
    lat: Vec<Duration>,
}

impl Stats {
    fn pct(&self, p: f64) -> f64 {
        if self.lat.is_empty() {
            return 0.0;
        }
        let i = ((self.lat.len() as f64 - 1.0) * p).round() as usize;
        self.lat[i].as_secs_f64() * 1000.0
    }
    fn rps(&self) -> f64 {
        self.lat.len() as f64 / self.secs
    }
}

/// Run `total` calls of `op(i)` on `conc` workers.
async fn phase<F, Fut>(name: &str, total: usize, conc: usize, op: F) -> Result<Stats, BoxError>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), BoxError>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..conc {
        let op = op.clone();
        let next = next.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                op(i).await?;
                lat.push(t.elapsed());
            }
            Ok::<_, BoxError>(lat)
        }));
    }
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.await??);
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    Ok(Stats {
        name: name.to_string(),
        secs,
        lat,
    })
}

type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn post(http: &Http, url: &str, key: &str, body: &serde_json::Value) -> Result<(), BoxError> {
    let req = hyper::Request::post(url)
        .header("Authorization", format!("Token {key}"))
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(body)?)))?;
    let resp = http.request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok(())
}

async fn sql_clients(args: &Args) -> Result<Vec<Arc<tokio_postgres::Client>>, BoxError> {
    let mut out = Vec::new();
    for _ in 0..args.concurrency {
        let (client, conn) =
            tokio_postgres::connect(&args.database_url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        out.push(Arc::new(client));
    }
    Ok(out)
}

const SQL_SEARCH: &str = "SELECT memory.search($1::text, user_id => $2::text, top_k => 10)";
const SQL_GET: &str = "SELECT memory.get($1::text::uuid, user_id => $2::text)";
const SQL_ADD: &str = "SELECT memory.add($1::jsonb, user_id => $2::text, infer => false)";

/// What the service does around each call: a transaction as the key's role
/// and user.
async fn sql_call(
    c: &tokio_postgres::Client,
    role: &str,
    user: &str,
    sql: &str,
    arg: &(dyn tokio_postgres::types::ToSql + Sync),
) -> Result<(), BoxError> {
    c.batch_execute("BEGIN").await?;
    c.execute(
        "SELECT set_config('role', $1::text, true), set_config('memory.current_user_id', $2::text, true)",
        &[&role, &user],
    )
    .await?;
    c.query(sql, &[arg, &user]).await?;
    c.batch_execute("COMMIT").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let http: Http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.concurrency)
        .build_http();
    let base = args.url.trim_end_matches('/').to_string();
    let conc = args.concurrency;

    // Seed: some memories to search (through the service).
    let seed = 200;
    let mut results = Vec::new();
    {
        let (http, base, key, user) = (
            http.clone(),
            base.clone(),
            args.key.clone(),
            args.user.clone(),
        );
        phase("seed", seed, conc, move |i| {
            let (http, base, key, user) = (http.clone(), base.clone(), key.clone(), user.clone());
            async move {
                let body = json!({"messages": fact(i), "user_id": user, "infer": false});
                post(&http, &format!("{base}/v3/memories/add/"), &key, &body).await
            }
        })
        .await?;
    }

    // Warm up both paths (connections, statement caches, model pages).
    for _ in 0..2 {
        let (http2, base2, key, user) = (
            http.clone(),
            base.clone(),
            args.key.clone(),
            args.user.clone(),
        );
        phase("warm-http", conc * 4, conc, move |i| {
            let (http, base, key, user) = (http2.clone(), base2.clone(), key.clone(), user.clone());
            async move {
                let body = json!({"query": query(i), "filters": {"user_id": user}});
                post(&http, &format!("{base}/v3/memories/search/"), &key, &body).await
            }
        })
        .await?;
    }
    let clients = sql_clients(&args).await?;

    // Reading one memory by id: no embedding, so this shows the per-request
    // cost of the service itself.
    let ids: Vec<String> = clients[0]
        .query(
            "SELECT id::text FROM memory.memories WHERE user_id = $1 ORDER BY id LIMIT 200",
            &[&args.user],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let ids = Arc::new(ids);
    if ids.is_empty() {
        return Err("no seeded memories".into());
    }
    let gets = args.searches * 4;
    {
        let (http, base, key, ids) = (http.clone(), base.clone(), args.key.clone(), ids.clone());
        results.push(
            phase("HTTP get by id", gets, conc, move |i| {
                let (http, base, key) = (http.clone(), base.clone(), key.clone());
                let id = ids[i % ids.len()].clone();
                async move {
                    let req = hyper::Request::get(format!("{base}/v1/memories/{id}/"))
                        .header("Authorization", format!("Token {key}"))
                        .body(Full::new(Bytes::new()))?;
                    let resp = http.request(req).await?;
                    let status = resp.status();
                    resp.into_body().collect().await?;
                    if !status.is_success() {
                        return Err(format!("HTTP {status}").into());
                    }
                    Ok(())
                }
            })
            .await?,
        );
    }
    {
        let (clients, role, user, ids) = (
            clients.clone(),
            args.role.clone(),
            args.user.clone(),
            ids.clone(),
        );
        let next = Arc::new(AtomicUsize::new(0));
        results.push(
            phase("SQL get by id", gets, conc, move |i| {
                let c = clients[next.fetch_add(1, Ordering::Relaxed) % clients.len()].clone();
                let (role, user) = (role.clone(), user.clone());
                let id = ids[i % ids.len()].clone();
                async move { sql_call(&c, &role, &user, SQL_GET, &id).await }
            })
            .await?,
        );
    }

    for round in 0..2 {
        let tag = if round == 0 { "" } else { " (again)" };
        {
            let (http, base, key, user) = (
                http.clone(),
                base.clone(),
                args.key.clone(),
                args.user.clone(),
            );
            results.push(
                phase(
                    &format!("HTTP search{tag}"),
                    args.searches,
                    conc,
                    move |i| {
                        let (http, base, key, user) =
                            (http.clone(), base.clone(), key.clone(), user.clone());
                        async move {
                            let body = json!({"query": query(i), "filters": {"user_id": user}});
                            post(&http, &format!("{base}/v3/memories/search/"), &key, &body).await
                        }
                    },
                )
                .await?,
            );
        }
        {
            let (clients, role, user) = (clients.clone(), args.role.clone(), args.user.clone());
            let next = Arc::new(AtomicUsize::new(0));
            results.push(
                phase(&format!("SQL search{tag}"), args.searches, conc, move |i| {
                    let c = clients[next.fetch_add(1, Ordering::Relaxed) % clients.len()].clone();
                    let (role, user) = (role.clone(), user.clone());
                    async move {
                        let q = query(i);
                        sql_call(&c, &role, &user, SQL_SEARCH, &q).await
                    }
                })
                .await?,
            );
        }
    }
    {
        let (http, base, key, user) = (
            http.clone(),
            base.clone(),
            args.key.clone(),
            args.user.clone(),
        );
        results.push(
            phase("HTTP add (infer=false)", args.adds, conc, move |i| {
                let (http, base, key, user) =
                    (http.clone(), base.clone(), key.clone(), user.clone());
                async move {
                    let body = json!({"messages": fact(1000 + i), "user_id": user, "infer": false});
                    post(&http, &format!("{base}/v3/memories/add/"), &key, &body).await
                }
            })
            .await?,
        );
    }
    {
        let (clients, role, user) = (clients.clone(), args.role.clone(), args.user.clone());
        let next = Arc::new(AtomicUsize::new(0));
        results.push(
            phase("SQL add (infer=false)", args.adds, conc, move |i| {
                let c = clients[next.fetch_add(1, Ordering::Relaxed) % clients.len()].clone();
                let (role, user) = (role.clone(), user.clone());
                async move {
                    let m = json!(fact(100_000 + i));
                    sql_call(&c, &role, &user, SQL_ADD, &m).await
                }
            })
            .await?,
        );
    }

    println!(
        "{:<26} {:>8} {:>10} {:>9} {:>9}",
        "phase", "requests", "req/s", "p50 ms", "p95 ms"
    );
    for s in &results {
        println!(
            "{:<26} {:>8} {:>10.1} {:>9.2} {:>9.2}",
            s.name,
            s.lat.len(),
            s.rps(),
            s.pct(0.50),
            s.pct(0.95)
        );
    }
    let by = |n: &str| results.iter().find(|s| s.name == n);
    for (h, q) in [
        ("HTTP get by id", "SQL get by id"),
        ("HTTP search (again)", "SQL search (again)"),
        ("HTTP add (infer=false)", "SQL add (infer=false)"),
    ] {
        if let (Some(h), Some(q)) = (by(h), by(q)) {
            println!(
                "overhead {:<28} p50 {:+.2} ms, throughput {:.0}% of direct SQL",
                h.name,
                h.pct(0.5) - q.pct(0.5),
                100.0 * h.rps() / q.rps()
            );
        }
    }
    Ok(())
}
