//! `amvalidate`: an operator class of memory_hnsw needs an ORDER BY
//! operator (strategy 1) and the matching distance function (support 1).

use pgrx::prelude::*;

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amvalidate(opclass: pg_sys::Oid) -> bool {
    let counts = Spi::get_two_with_args::<i64, i64>(
        "SELECT (SELECT count(*) FROM pg_amop o JOIN pg_opclass c ON c.opcfamily = o.amopfamily
                  WHERE c.oid = $1 AND o.amopstrategy = 1 AND o.amoppurpose = 'o'),
                (SELECT count(*) FROM pg_amproc p JOIN pg_opclass c ON c.opcfamily = p.amprocfamily
                  WHERE c.oid = $1 AND p.amprocnum = 1)",
        &[opclass.into()],
    );
    match counts {
        Ok((Some(ops), Some(procs))) if ops >= 1 && procs >= 1 => true,
        Ok((ops, procs)) => {
            pgrx::info!(
                "memory_hnsw operator class {} needs an ORDER BY operator 1 and support function 1 (found {} and {})",
                u32::from(opclass),
                ops.unwrap_or(0),
                procs.unwrap_or(0)
            );
            false
        }
        Err(_) => false,
    }
}
