//! One request = one transaction on a pooled connection, acting as the API
//! key's role: the key is looked up (by its sha256, in the database) and, in
//! the same statement, the role is switched with `set_config('role', ..,
//! true)` (SET LOCAL ROLE) and a bound user is put in
//! `memory.current_user_id` (local too), so row-level security fences the
//! request inside the database. Everything is reset at COMMIT/ROLLBACK, so a
//! pooled connection never carries one request's role into the next.
//!
//! Three kinds of key (design §7b): a *user key* is bound to one user, whose
//! id goes into `memory.current_user_id` at authentication; a *project key*
//! is bound to no user and acts, per request, for exactly the users the
//! request names (`act_for` puts them there as a JSON array; a request
//! naming none is refused); an *admin key*'s role has BYPASSRLS and is not
//! fenced.

use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::http::HeaderMap;
use deadpool_postgres::Object;
use serde_json::Value;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// Who the key says the caller is.
#[derive(Debug, Clone)]
pub struct Principal {
    pub key_name: String,
    /// The user a user key is bound to.
    pub user_id: Option<String>,
    /// The key's role bypasses row-level security (an admin key).
    pub admin: bool,
}

impl Principal {
    /// user, project or admin (design §7b).
    pub fn kind(&self) -> &'static str {
        if self.user_id.is_some() {
            "user"
        } else if self.admin {
            "admin"
        } else {
            "project"
        }
    }
}

const AUTH_SQL: &str = "SELECT k.key_name, k.user_id,
        coalesce((SELECT r.rolbypassrls FROM pg_catalog.pg_roles r
                   WHERE r.rolname = k.role_name), false) AS admin,
        set_config('role', k.role_name::text, true) AS role,
        CASE WHEN k.user_id IS NOT NULL
             THEN set_config('memory.current_user_id', k.user_id, true) END AS fenced,
        set_config('statement_timeout', $2::text, true) AS timeout
   FROM memory.api_key_lookup($1::text) k";

pub struct Session {
    client: Option<Object>,
    pub principal: Principal,
}

/// The key from `Authorization: Token <key>` (Mem0's scheme; `Bearer` too).
pub fn api_key(headers: &HeaderMap) -> ApiResult<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("Authentication credentials were not provided."))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("Invalid API key."))?;
    let mut parts = value.trim().splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    let key = parts.next().unwrap_or_default().trim();
    if !(scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
        || key.is_empty()
    {
        return Err(ApiError::unauthorized(
            "Invalid authorization header: use 'Token <api key>'.",
        ));
    }
    Ok(key.to_string())
}

impl Session {
    /// Check out a connection, BEGIN, authenticate and switch role.
    pub async fn open(state: &AppState, headers: &HeaderMap) -> ApiResult<Session> {
        let key = api_key(headers)?;
        let client = state.pool.get().await?;
        client.batch_execute("BEGIN").await?;
        let mut session = Session {
            client: Some(client),
            principal: Principal {
                key_name: String::new(),
                user_id: None,
                admin: false,
            },
        };
        let timeout = state.statement_timeout_ms.to_string();
        let rows = session.query(AUTH_SQL, &[&key, &timeout]).await?;
        let Some(row) = rows.first() else {
            session.rollback().await;
            return Err(ApiError::unauthorized("Invalid API key."));
        };
        session.principal = Principal {
            key_name: row.try_get(0)?,
            user_id: row.try_get(1)?,
            admin: row.try_get(2)?,
        };
        Ok(session)
    }

    /// Fence this request to the users it names. A user key acts only for
    /// its own user (403 for another); an admin key for anyone. A project
    /// key needs at least one named user (400 otherwise) and row-level
    /// security then shows and accepts exactly those users' rows until the
    /// transaction ends.
    pub async fn act_for(&self, users: &[String]) -> ApiResult<()> {
        let p = &self.principal;
        if let Some(bound) = &p.user_id {
            if users.iter().any(|u| u != bound) {
                return Err(crate::request::other_user());
            }
            return Ok(());
        }
        if p.admin {
            return Ok(());
        }
        if users.is_empty() {
            return Err(ApiError::bad_request(
                "this is a project key: name the user(s) the request acts for with user_id",
            ));
        }
        let mut set: Vec<&String> = users.iter().collect();
        set.sort();
        set.dedup();
        let list = serde_json::to_string(&set)
            .map_err(|e| ApiError::bad_request(format!("user ids: {e}")))?;
        self.query(
            "SELECT set_config('memory.current_user_id', $1::text, true)",
            &[&list],
        )
        .await?;
        Ok(())
    }

    fn client(&self) -> ApiResult<&Object> {
        self.client.as_ref().ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "session closed",
            )
        })
    }

    pub async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> ApiResult<Vec<Row>> {
        let client = self.client()?;
        let stmt = client.prepare_cached(sql).await?;
        Ok(client.query(&stmt, params).await?)
    }

    /// A statement returning one jsonb value (NULL → None).
    pub async fn json(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> ApiResult<Option<Value>> {
        let rows = self.query(sql, params).await?;
        match rows.first() {
            Some(row) => Ok(row.try_get::<_, Option<Value>>(0)?),
            None => Ok(None),
        }
    }

    pub async fn commit(mut self) -> ApiResult<()> {
        if let Some(client) = self.client.take() {
            client.batch_execute("COMMIT").await?;
        }
        Ok(())
    }

    /// Roll back and return the connection to the pool (or drop it when the
    /// rollback fails: a broken connection must not be reused).
    pub async fn rollback(&mut self) {
        if let Some(client) = self.client.take() {
            if client.batch_execute("ROLLBACK").await.is_err() {
                drop(Object::take(client));
            }
        }
    }
}

impl Drop for Session {
    /// A request abandoned mid-transaction (an error, or the client went
    /// away): roll back in the background before the connection goes back to
    /// the pool; if that fails, the connection is discarded.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(async move {
                        if client.batch_execute("ROLLBACK").await.is_err() {
                            drop(Object::take(client));
                        }
                    });
                }
                Err(_) => drop(Object::take(client)),
            }
        }
    }
}
