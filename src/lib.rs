//! memory_ext: long-term memory for AI agents inside PostgreSQL.
//! This file only wires the modules together.

mod api;
mod embed;
mod error;
mod gucs;
mod hnsw;
mod http;
mod llm;
mod plans;
mod timing;
mod types;
mod worker;
mod xact;

::pgrx::pg_module_magic!(name, version);

pgrx::extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);
pgrx::extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);
pgrx::extension_sql_file!(
    "../sql/service.sql",
    name = "service",
    requires = ["finalize"]
);

#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    gucs::init();
    hnsw::init();
    worker::register();
}

#[cfg(any(test, feature = "pg_test"))]
mod tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
