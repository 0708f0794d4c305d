//! The SQL functions users call (design §5): Mem0's add / get / get_all /
//! update / delete / delete_all / history / reset, and tenant isolation.
//! Every statement is fixed text with `$n` parameters; the only dynamic SQL is
//! the compiled filter, whose text comes from a whitelist (memory_core::filter).

pub mod add;
pub mod crud;
pub mod graph;
pub mod infer;
pub mod jobs;
pub mod lifecycle;
pub mod search;
pub mod tenant;

use crate::error::{raise, report, OrRaise};
use memory_core::filter::{self, Param};
use memory_core::messages::Scope;
use memory_core::Error;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};

/// Mem0's memory item, built from a row aliased `m`. Scope keys are always
/// present (null when unset); optional attributes only when set (`tier`
/// only for the cold tier).
pub const MEMORY_JSON: &str = "(jsonb_build_object(
        'id', m.id, 'memory', m.memory, 'hash', m.hash, 'metadata', m.metadata,
        'categories', to_jsonb(m.categories), 'created_at', m.created_at,
        'updated_at', m.updated_at, 'user_id', m.user_id, 'agent_id', m.agent_id,
        'run_id', m.run_id, 'memory_type', m.memory_type, 'immutable', m.immutable)
    || jsonb_strip_nulls(jsonb_build_object(
        'app_id', m.app_id, 'actor_id', m.actor_id, 'role', m.role,
        'expiration_date', m.expires_at, 'valid_to', m.valid_to,
        'tier', nullif(m.tier, 'hot'))))";

/// Rows a search or listing may return: current and not expired.
pub const CURRENT: &str =
    "m.valid_to IS NULL AND (m.expires_at IS NULL OR m.expires_at > statement_timestamp())";

/// Scope arguments as `$n` parameters: `(m.user_id = $k OR $k IS NULL) ...`
/// would defeat the index, so only the given columns are compared.
pub fn scope_sql(alias: &str, scope: &Scope, args: &mut Vec<DatumWithOid<'static>>) -> String {
    let mut parts = Vec::new();
    for (col, value) in [
        ("user_id", &scope.user_id),
        ("agent_id", &scope.agent_id),
        ("run_id", &scope.run_id),
    ] {
        if let Some(v) = value {
            args.push(DatumWithOid::from(v.clone()));
            parts.push(format!("{alias}.{col} = ${}::text", args.len()));
        }
    }
    if parts.is_empty() {
        "true".to_string()
    } else {
        parts.join(" AND ")
    }
}

/// The oid of `memory.vector`, from the system cache (no statement).
pub fn vector_oid() -> pg_sys::Oid {
    // SAFETY: both lookups read the catalog caches with NUL-terminated
    // names; a missing schema gives InvalidOid, which matches no type.
    unsafe {
        let nsp = pg_sys::get_namespace_oid(c"memory".as_ptr(), true);
        pg_sys::GetSysCacheOid(
            pg_sys::SysCacheIdentifier::TYPENAMENSP as i32,
            pg_sys::Anum_pg_type_oid as pg_sys::AttrNumber,
            pg_sys::Datum::from(c"vector".as_ptr()),
            pg_sys::Datum::from(nsp),
            pg_sys::Datum::from(0),
            pg_sys::Datum::from(0),
        )
    }
}

/// A vector as a `memory.vector` parameter (binary: no text to format and
/// parse).
pub fn vector_arg(values: &[f32]) -> DatumWithOid<'static> {
    let v = crate::types::varvec::VecOut(values.to_vec());
    // SAFETY: the datum is a freshly built memory.vector value of the type
    // whose oid is passed with it.
    unsafe { DatumWithOid::new(v as crate::types::varvec::VectorOut, vector_oid()) }
}

/// Whether a `memory_hnsw` index covers memories.embedding (then the
/// vector channel orders by the column, so the planner can walk it).
pub fn has_vector_index() -> bool {
    crate::plans::one::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                        JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
                        JOIN pg_catalog.pg_am a ON a.oid = c.relam
                        WHERE i.indrelid = 'memory.memories'::regclass
                          AND a.amname = 'memory_hnsw')",
        &[],
    )
    .unwrap_or(false)
}

thread_local! {
    /// Whether memory.scope_stats was seen in this backend's database.
    static STATS_TABLE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the schema keeps per-scope statistics (0.0.2 on): a newer
/// library may run on an older schema until `ALTER EXTENSION memory_ext
/// UPDATE`, and then counts what it needs. Once seen, the table is not
/// looked up again.
pub fn scope_stats_kept() -> bool {
    if STATS_TABLE.get() {
        return true;
    }
    let found =
        crate::plans::one::<bool>("SELECT to_regclass('memory.scope_stats') IS NOT NULL", &[])
            .unwrap_or(false);
    STATS_TABLE.set(found);
    found
}

/// The write version of the memories `scope` covers (the sum over its
/// memory.scope_stats rows: any write to them raises it), or None on an
/// older schema.
pub fn scope_version(scope: &Scope) -> Option<i64> {
    if !scope_stats_kept() {
        return None;
    }
    let mut args = Vec::new();
    let clause = scope_sql("s", scope, &mut args);
    crate::plans::one::<i64>(
        &format!(
            "SELECT coalesce(sum(s.version), 0)::int8 FROM memory.scope_stats s WHERE {clause}"
        ),
        &args,
    )
}

/// Convert compiled filter parameters to SPI arguments.
pub fn push_params(params: Vec<Param>, args: &mut Vec<DatumWithOid<'static>>) {
    for p in params {
        args.push(match p {
            Param::Text(s) => DatumWithOid::from(s),
            Param::TextArray(v) => DatumWithOid::from(v),
            Param::Json(j) => DatumWithOid::from(JsonB(j)),
            Param::Float(f) => DatumWithOid::from(f),
        });
    }
}

/// Parse `filters` and decide whether the call is fenced: either scope
/// arguments, or a filter that names its scopes (`Filter::names_scope`:
/// equalities or `in` on scope columns, also in every branch of an OR), or
/// (superuser only) any explicit filter.
pub fn filter_clause(
    scope: &Scope,
    filters: Option<&JsonB>,
    args: &mut Vec<DatumWithOid<'static>>,
    function: &str,
) -> String {
    let parsed = filters.map(|f| filter::parse(&f.0).or_raise());
    let fenced_by_filter = parsed.as_ref().is_some_and(|f| f.names_scope());
    if scope.is_empty() && !fenced_by_filter {
        // SAFETY: superuser() only reads the current role's attributes.
        let su = unsafe { pgrx::pg_sys::superuser() };
        if !(su && parsed.is_some()) {
            raise(
                Error::invalid_parameter(format!("{function} needs a scope"))
                    .detail("None of user_id, agent_id and run_id was given, and the filters name none (an equality or in, or an OR whose every branch names one).")
                    .hint("Pass user_id, agent_id or run_id, or filters => '{\"user_id\": \"alice\"}'."),
            );
        }
    }
    let mut clause = scope_sql("m", scope, args);
    if let Some(f) = parsed {
        let mut params = Vec::new();
        let sql = f.to_sql(args.len() + 1, &mut params);
        push_params(params, args);
        clause = format!("{clause} AND {sql}");
    }
    clause
}

pub fn check_top_k(top_k: i32) {
    if top_k < 1 {
        raise(
            Error::invalid_parameter(format!("top_k must be at least 1, not {top_k}"))
                .hint("Ask for one or more results."),
        );
    }
}

pub fn metadata_object(metadata: Option<JsonB>) -> Option<JsonB> {
    match metadata {
        Some(JsonB(serde_json::Value::Null)) | None => None,
        Some(JsonB(v)) if v.is_object() => Some(JsonB(v)),
        Some(_) => raise(
            Error::invalid_parameter("metadata must be a JSON object")
                .hint("Pass metadata like '{\"topic\": \"food\"}'."),
        ),
    }
}

pub fn not_found(id: &pgrx::Uuid) -> ! {
    report(
        PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
        format!("memory {id} does not exist"),
        Some("No memory with this id is visible in the given scope.".into()),
        Some("List ids with memory.get_all(user_id => ...).".into()),
    )
}

pub fn is_superuser() -> bool {
    // SAFETY: superuser() only reads the current role's attributes.
    unsafe { pgrx::pg_sys::superuser() }
}

/// Run a query that returns one jsonb value (or none).
pub fn query_json(sql: &str, args: &[DatumWithOid<'static>]) -> Option<JsonB> {
    Spi::connect_mut(|client| {
        let table = crate::plans::update(client, sql, args);
        if table.is_empty() {
            return None;
        }
        table.first().get_one::<JsonB>().or_raise()
    })
}
