//! Row-level security that fences tenants by `memory.current_user_id`
//! (design §8). An application role that sets the GUC per request then sees,
//! changes and deletes only that user's rows, even with raw SQL. The GUC
//! holds one user id, or a JSON array of user ids for a request that acts
//! for several users (a project key of the REST service, design §7b).

use crate::error::OrRaise;
use pgrx::prelude::*;

const TABLES: [&str; 6] = [
    "memory.memories",
    "memory.scope_stats",
    "memory.history",
    "memory.entities",
    "memory.relations",
    "memory.job_queue",
];

const POLICY: &str = "tenant_isolation";

/// The policies' test: the row's user is one of `memory.tenant_users()`.
/// The sub-select makes the set an init plan, computed once per statement
/// rather than once per row.
const FENCE: &str = "user_id = ANY ((SELECT memory.tenant_users())::text[])";

/// The users `memory.current_user_id` names: none when it is unset or
/// empty, the ids of a JSON array, or the one id it holds. Row-level
/// security's policies read it.
#[pg_extern(stable, parallel_safe)]
fn tenant_users() -> Vec<String> {
    let value = crate::gucs::CURRENT_USER_ID.get();
    let value = value.as_ref().map(|c| c.to_string_lossy());
    memory_core::tenant::parse_users(value.as_deref()).unwrap_or_else(|e| {
        crate::error::report(
            pgrx::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "memory.current_user_id is not a user id or a JSON array of user ids",
            Some(e),
            Some("Set it to one user id, or to a JSON array such as [\"alice\", \"bob\"].".into()),
        )
    })
}

/// The tables of `TABLES` this database's schema has: a newer library may
/// run before `ALTER EXTENSION memory_ext UPDATE` has created its tables.
fn tables() -> Vec<&'static str> {
    TABLES
        .into_iter()
        .filter(|t| {
            Spi::get_one_with_args::<bool>("SELECT to_regclass($1) IS NOT NULL", &[(*t).into()])
                .or_raise()
                .unwrap_or(false)
        })
        .collect()
}

fn has_policy(table: &str) -> bool {
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = $1::regclass AND polname = $2)",
        &[table.into(), POLICY.into()],
    )
    .or_raise()
    .unwrap_or(false)
}

/// The policies' test on a schema from before 0.0.4, which lacks
/// `memory.tenant_users()` (a newer library before `ALTER EXTENSION UPDATE`):
/// one user id only. The update rewrites it to `FENCE`.
const FENCE_ONE_USER: &str = "user_id = current_setting('memory.current_user_id', true)";

/// Turn on the tenant policies on every memory_ext table. Run by the tables'
/// owner (the role that created the extension). Idempotent.
#[pg_extern]
fn enable_tenant_isolation() {
    let fence =
        if Spi::get_one::<bool>("SELECT to_regprocedure('memory.tenant_users()') IS NOT NULL")
            .or_raise()
            .unwrap_or(false)
        {
            FENCE
        } else {
            FENCE_ONE_USER
        };
    for table in tables() {
        if has_policy(table) {
            Spi::run(&format!("DROP POLICY {POLICY} ON {table}")).or_raise();
        }
        Spi::run(&format!(
            "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
             ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
             CREATE POLICY {POLICY} ON {table}
                 USING ({fence}) WITH CHECK ({fence})"
        ))
        .or_raise();
    }
}

/// Remove the tenant policies again.
#[pg_extern]
fn disable_tenant_isolation() {
    for table in tables() {
        if has_policy(table) {
            Spi::run(&format!("DROP POLICY {POLICY} ON {table}")).or_raise();
        }
        Spi::run(&format!(
            "ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;
             ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"
        ))
        .or_raise();
    }
}

/// Grant an application role what it needs to use memory_ext: the schema,
/// read and write on the tables (fenced by tenant isolation when it is on),
/// the job queue of `memory.add_async`, the sequences, and the REST
/// service's project-key lookups. Run by the
/// tables' owner; the role must exist.
#[pg_extern]
fn grant_tenant_access(role: &str) {
    let quoted = Spi::get_one_with_args::<String>(
        "SELECT (SELECT quote_ident(rolname) FROM pg_roles WHERE rolname = $1)",
        &[role.into()],
    )
    .or_raise()
    .unwrap_or_else(|| {
        crate::error::report(
            pgrx::PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("role \"{role}\" does not exist"),
            None,
            Some("CREATE ROLE it first.".into()),
        )
    });
    // memory.scope_stats is written by triggers that run as its owner; the
    // role only reads it (searches).
    let (stats, written): (Vec<&str>, Vec<&str>) = tables()
        .into_iter()
        .partition(|t| *t == "memory.scope_stats");
    Spi::run(&format!(
        "GRANT USAGE ON SCHEMA memory TO {quoted};
         GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {quoted};
         GRANT SELECT ON memory.jobs TO {quoted};
         GRANT USAGE ON ALL SEQUENCES IN SCHEMA memory TO {quoted}",
        written.join(", ")
    ))
    .or_raise();
    for t in stats {
        Spi::run(&format!("GRANT SELECT ON {t} TO {quoted}")).or_raise();
    }
    // The REST service's lookups for a project key (sql/service.sql), where
    // this schema has them.
    for f in ["memory.memory_owners(uuid[])", "memory.project_entities()"] {
        let exists =
            Spi::get_one_with_args::<bool>("SELECT to_regprocedure($1) IS NOT NULL", &[f.into()])
                .or_raise()
                .unwrap_or(false);
        if exists {
            Spi::run(&format!("GRANT EXECUTE ON FUNCTION {f} TO {quoted}")).or_raise();
        }
    }
}
