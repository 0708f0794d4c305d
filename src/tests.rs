//! In-database tests (`cargo pgrx test`).

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn vector_round_trip() {
        let out = Spi::get_one::<String>("SELECT '[1,2.5,-3]'::memory.vector::text").unwrap();
        assert_eq!(out.as_deref(), Some("[1,2.5,-3]"));
    }
}
