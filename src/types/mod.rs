//! The vector types `memory.vector` and `memory.halfvec`.

pub mod varvec;
pub mod vector;
