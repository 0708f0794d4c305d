//! memory-server: Mem0's platform REST API over memory_ext (design §7a).
//!
//! Every request runs in one transaction on a pooled connection, as the
//! database role of its API key (see session.rs), and calls the extension's
//! SQL functions; the service itself keeps no memory state.

mod error;
mod mcp;
mod request;
mod routes;
mod session;
mod ui;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use clap::Parser;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use error::ApiError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "memory-server",
    version,
    about = "Mem0-compatible REST service for memory_ext"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "MEMORY_SERVER_LISTEN", default_value = "127.0.0.1:28816")]
    listen: SocketAddr,
    /// PostgreSQL connection string (key=value or postgresql:// URL) of the
    /// service's login role; it must be a member of the keys' roles.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Most database connections.
    #[arg(long, env = "MEMORY_SERVER_POOL_SIZE", default_value_t = 16)]
    pool_size: usize,
    /// Largest request body in bytes (413 above).
    #[arg(long, env = "MEMORY_SERVER_BODY_LIMIT", default_value_t = 1024 * 1024)]
    body_limit: usize,
    /// statement_timeout of each request's transaction, in ms (0 = none).
    #[arg(
        long,
        env = "MEMORY_SERVER_STATEMENT_TIMEOUT_MS",
        default_value_t = 60_000
    )]
    statement_timeout_ms: u64,
    /// org_id reported by /v1/ping/ (the client requires a non-empty one).
    #[arg(long, env = "MEMORY_SERVER_ORG_ID", default_value = "memory_ext")]
    org_id: String,
    /// Log lines as JSON objects instead of text.
    #[arg(long, env = "MEMORY_SERVER_LOG_JSON")]
    log_json: bool,
}

pub struct AppState {
    pub pool: Pool,
    pub body_limit: usize,
    pub statement_timeout_ms: u64,
    pub org_id: String,
}

fn app(state: Arc<AppState>) -> Router {
    let limit = state.body_limit;
    Router::new()
        .route("/v1/ping/", get(routes::ping))
        .route("/healthz", get(routes::health))
        .route("/v3/memories/add/", post(routes::add))
        .route(
            "/v1/memories/",
            post(routes::add)
                .get(routes::get_all_query)
                .delete(routes::delete_all),
        )
        .route("/v3/memories/search/", post(routes::search))
        .route("/v2/memories/search/", post(routes::search))
        .route("/v1/memories/search/", post(routes::search))
        .route("/v3/memories/", post(routes::get_all_body))
        .route("/v2/memories/", post(routes::get_all_body))
        .route(
            "/v1/memories/{id}/",
            get(routes::get_memory)
                .put(routes::update_memory)
                .delete(routes::delete_memory),
        )
        .route("/v1/memories/{id}/history/", get(routes::history))
        .route("/v1/entities/", get(routes::entities))
        .route("/v2/entities/{kind}/{name}/", delete(routes::delete_entity))
        .route("/v1/entities/{kind}/{name}/", delete(routes::delete_entity))
        .route(
            "/v1/batch/",
            put(routes::batch_update).delete(routes::batch_delete),
        )
        .route("/v1/graph/", get(routes::graph))
        .route("/ui", get(ui::redirect))
        .route("/ui/", get(ui::index))
        .route("/ui/{file}", get(ui::asset))
        .route(
            "/mcp",
            post(mcp::post)
                .get(mcp::not_allowed)
                .delete(mcp::not_allowed),
        )
        .fallback(|| async { ApiError::not_found("Not found.") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.")
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(log_and_jsonify))
        .with_state(state)
}

/// One log line per request (method, path, status, time; never the key, the
/// query string or the body), and a JSON `{"detail"}` body for any error
/// that some layer answered in plain text.
async fn log_and_jsonify(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let start = Instant::now();
    let mut resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let text = match axum::body::to_bytes(std::mem::take(resp.body_mut()), 64 * 1024).await {
            Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).into_owned(),
            _ => status.canonical_reason().unwrap_or("error").to_string(),
        };
        resp = ApiError::new(status, text).into_response();
    }
    tracing::info!(
        method = %method,
        path = %path,
        status = status.as_u16(),
        ms = start.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    resp
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if args.log_json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }

    let mut pg: tokio_postgres::Config = args.database_url.parse()?;
    pg.application_name("memory-server");
    // Timestamps in replies in UTC, whatever the server's TimeZone (unless
    // the connection string sets options itself).
    if pg.get_options().is_none() {
        pg.options("-c TimeZone=UTC");
    }
    pg.connect_timeout(Duration::from_secs(5));
    let manager = Manager::from_config(
        pg,
        tokio_postgres::NoTls,
        ManagerConfig {
            // is_closed() on checkout: connections the server dropped (a
            // restart) are replaced, with no extra round trip per request.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(args.pool_size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .build()?;
    match pool.get().await {
        Ok(_) => tracing::info!("database reachable"),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable yet; requests get 503 until it is")
        }
    }
    let state = Arc::new(AppState {
        pool,
        body_limit: args.body_limit,
        statement_timeout_ms: args.statement_timeout_ms,
        org_id: args.org_id,
    });
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(listen = %args.listen, pool_size = args.pool_size, body_limit = args.body_limit, "memory-server listening");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}
