//! Pure-Rust algorithms of memory_ext. Nothing here touches PostgreSQL, so all
//! of it is unit-tested with plain `cargo test`.

pub mod categories;
pub mod conflict;
pub mod decay;
pub mod embed;
pub mod error;
pub mod extract;
pub mod filter;
pub mod graph;
pub mod hnsw;
pub mod llm;
pub mod lru;
pub mod messages;
pub mod paraphrase;
pub mod proposition;
pub mod rank;
pub mod speaker;
pub mod tenant;
pub mod text;
pub mod timeq;
pub mod vector;

pub use error::{Error, Kind, Result};
