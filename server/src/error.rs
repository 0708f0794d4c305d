//! Errors as Mem0's clients expect them: a status code and a JSON body
//! `{"detail": "..."}`. Database errors are mapped by SQLSTATE (design §5a).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: String,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unavailable; retry shortly",
        )
    }
}

/// The HTTP status for a SQLSTATE raised by the extension or the server.
pub fn status_for_sqlstate(code: &str) -> StatusCode {
    match code {
        "P0002" => StatusCode::NOT_FOUND,
        "54000" | "54001" => StatusCode::PAYLOAD_TOO_LARGE,
        "42501" => StatusCode::FORBIDDEN,
        "55000" | "23505" => StatusCode::CONFLICT,
        "57014" => StatusCode::GATEWAY_TIMEOUT,
        // A function this installation lacks (memory.add_async before the
        // background worker is installed).
        "42883" => StatusCode::NOT_IMPLEMENTED,
        "58000" => StatusCode::BAD_GATEWAY,
        "40001" | "40P01" | "55P03" => StatusCode::CONFLICT,
        c if c.starts_with("22") || c.starts_with("23") => StatusCode::BAD_REQUEST,
        // Provider unreachable or dropped (raised by the extension's
        // embedding/LLM calls).
        c if c.starts_with("08") => StatusCode::BAD_GATEWAY,
        // Server shutting down, out of resources or connections.
        c if c.starts_with("57P") || c.starts_with("53") => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => {
                let code = db.code().code();
                let status = status_for_sqlstate(code);
                if status.is_server_error() {
                    tracing::warn!(sqlstate = code, status = status.as_u16(), "database error");
                } else {
                    tracing::debug!(sqlstate = code, status = status.as_u16(), "database error");
                }
                let detail = if status == StatusCode::INTERNAL_SERVER_ERROR {
                    tracing::warn!(sqlstate = code, message = db.message(), "internal error");
                    format!("internal error (SQLSTATE {code})")
                } else if code == "42883" {
                    "this operation needs a newer memory_ext (a function is missing: \
                     ALTER EXTENSION memory_ext UPDATE or reinstall)"
                        .to_string()
                } else {
                    match db.hint() {
                        Some(h) => format!("{} ({})", db.message(), h),
                        None => db.message().to_string(),
                    }
                };
                ApiError::new(status, detail)
            }
            None => {
                // No server error: the connection is gone (restart, network).
                tracing::warn!(error = %e, "database connection error");
                ApiError::unavailable()
            }
        }
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        tracing::warn!(error = %e, "no database connection");
        ApiError::unavailable()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "detail": self.detail }))).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
