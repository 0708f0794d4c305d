//! Calls to OpenAI-compatible endpoints (embeddings now, chat later).
//!
//! The request runs on a helper thread that never touches Postgres; the
//! backend waits in 50 ms slices and checks for interrupts between them, so
//! a query cancel or `statement_timeout` stops the wait within ~50 ms (the
//! abandoned request finishes or times out on its own). HTTP 429/5xx, dropped
//! connections and unusable replies are retried once within the time budget;
//! a timeout is not retried. Error messages name the setting, never the URL
//! or the key.

use crate::error::report;
use pgrx::PgSqlErrorCode;
use serde_json::Value;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What one attempt produced.
enum Attempt {
    Ok(Value),
    /// Worth one retry: 429, 5xx, connection dropped, unusable body.
    Transient(PgSqlErrorCode, String),
    /// Not retried.
    Fatal(PgSqlErrorCode, String),
}

/// A JSON POST to `base_url` + `path` with a bearer key.
pub struct Request<'a> {
    /// Name of the URL setting, for messages (e.g. "memory.embedding_url").
    pub setting: &'a str,
    pub base_url: &'a str,
    pub path: &'a str,
    pub api_key: Option<&'a str>,
    pub body: Value,
    pub timeout: Duration,
}

fn attempt(url: &str, key: Option<&str>, body: &Value, timeout: Duration) -> Attempt {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build();
    let agent: ureq::Agent = config.into();
    let mut req = agent.post(url).header("Content-Type", "application/json");
    if let Some(k) = key.filter(|k| !k.is_empty()) {
        req = req.header("Authorization", format!("Bearer {k}"));
    }
    let payload = body.to_string();
    match req.send(payload.as_bytes()) {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let text = resp
                .body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_string()
                .unwrap_or_default();
            if status == 429 || status >= 500 {
                return Attempt::Transient(
                    PgSqlErrorCode::ERRCODE_SYSTEM_ERROR,
                    format!("HTTP {status}: {}", clip(&text)),
                );
            }
            if status >= 400 {
                return Attempt::Fatal(
                    PgSqlErrorCode::ERRCODE_SYSTEM_ERROR,
                    format!("HTTP {status}: {}", clip(&text)),
                );
            }
            match serde_json::from_str::<Value>(&text) {
                Ok(v) => Attempt::Ok(v),
                Err(e) => Attempt::Transient(
                    PgSqlErrorCode::ERRCODE_SYSTEM_ERROR,
                    format!("the reply is not JSON ({e})"),
                ),
            }
        }
        Err(ureq::Error::Timeout(_)) => Attempt::Fatal(
            PgSqlErrorCode::ERRCODE_CONNECTION_FAILURE,
            format!("no answer within {} ms", timeout.as_millis()),
        ),
        Err(ureq::Error::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
            ) =>
        {
            Attempt::Fatal(
                PgSqlErrorCode::ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
                format!("connection refused ({})", e.kind()),
            )
        }
        Err(ureq::Error::HostNotFound) | Err(ureq::Error::ConnectionFailed) => Attempt::Fatal(
            PgSqlErrorCode::ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
            "host not reachable".to_string(),
        ),
        Err(ureq::Error::BadUri(_)) | Err(ureq::Error::Http(_)) => Attempt::Fatal(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "the URL is not valid".to_string(),
        ),
        Err(e) => Attempt::Transient(
            PgSqlErrorCode::ERRCODE_CONNECTION_FAILURE,
            format!("connection lost ({})", error_kind(&e)),
        ),
    }
}

/// A short description of a transport error that cannot contain the URL.
fn error_kind(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::Io(_) => "I/O error",
        ureq::Error::Protocol(_) => "protocol error",
        ureq::Error::Tls(_) => "TLS error",
        _ => "transport error",
    }
}

fn clip(s: &str) -> String {
    let t: String = s.chars().take(200).collect();
    t.replace('\n', " ")
}

/// Run `work` on a helper thread, waiting with interrupt checks.
fn wait_interruptibly<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(v) => return v,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                pgrx::check_for_interrupts!();
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => report(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "the HTTP helper thread stopped unexpectedly",
                None,
                None,
            ),
        }
    }
}

impl Request<'_> {
    /// Send the request, retrying a transient failure once within the budget.
    /// `validate` checks the reply; its error also counts as transient.
    pub fn send(&self, validate: impl Fn(&Value) -> Result<(), String>) -> Value {
        if self.base_url.trim().is_empty() {
            report(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("{} is not set", self.setting),
                None,
                Some(format!(
                    "A superuser sets it, e.g. ALTER SYSTEM SET {} = 'http://host:port/v1'.",
                    self.setting
                )),
            );
        }
        let url = format!("{}{}", self.base_url.trim_end_matches('/'), self.path);
        let started = Instant::now();
        let mut last = None;
        for round in 0..2 {
            let left = self.timeout.saturating_sub(started.elapsed());
            if round > 0 && left < Duration::from_millis(10) {
                break;
            }
            let (u, k, b) = (
                url.clone(),
                self.api_key.map(str::to_string),
                self.body.clone(),
            );
            let outcome = wait_interruptibly(move || attempt(&u, k.as_deref(), &b, left));
            match outcome {
                Attempt::Ok(v) => match validate(&v) {
                    Ok(()) => return v,
                    Err(why) => {
                        last = Some((
                            PgSqlErrorCode::ERRCODE_SYSTEM_ERROR,
                            format!("unusable reply: {why}"),
                        ))
                    }
                },
                Attempt::Transient(code, why) => last = Some((code, why)),
                Attempt::Fatal(code, why) => self.fail(code, why, round),
            }
        }
        let (code, why) = last.unwrap_or((
            PgSqlErrorCode::ERRCODE_CONNECTION_FAILURE,
            "no time left for a retry".to_string(),
        ));
        self.fail(code, why, 1)
    }

    fn fail(&self, code: PgSqlErrorCode, why: String, round: usize) -> ! {
        let tries = if round == 0 { "" } else { " (after one retry)" };
        report(
            code,
            format!("the endpoint in {} failed{tries}", self.setting),
            Some(why),
            Some(format!(
                "Check that {} points at an OpenAI-compatible server and that it is up.",
                self.setting
            )),
        )
    }
}
