//! Statements prepared once per backend and kept (SPI_keepplan) across
//! calls, keyed by their text and argument types. The texts on the hot paths
//! vary only with the shape of a call (which scope columns, which filters),
//! never with its values, which are always `$n` parameters, so a few dozen
//! plans serve every call. PostgreSQL's plan cache revalidates a kept plan
//! when a table, index or type it uses changes (or is dropped and created
//! again), so the cache needs no invalidation of its own; the least recently
//! used plans are freed past `CAPACITY`.

use crate::error::OrRaise;
use memory_core::lru::Lru;
use pgrx::datum::DatumWithOid;
use pgrx::pg_sys;
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiTupleTable};
use pgrx::PgOid;
use std::cell::RefCell;
use std::rc::Rc;

/// Plans kept per backend.
const CAPACITY: usize = 256;

/// Statement text, argument type oids, and whether it writes.
type Key = (String, Vec<u32>, bool);

thread_local! {
    static PLANS: RefCell<Lru<Key, Rc<OwnedPreparedStatement>>> = RefCell::new(Lru::new(CAPACITY));
}

fn plan(
    c: &SpiClient<'_>,
    sql: &str,
    args: &[DatumWithOid<'_>],
    writes: bool,
) -> Rc<OwnedPreparedStatement> {
    let oids: Vec<pg_sys::Oid> = args.iter().map(|a| a.oid()).collect();
    let key: Key = (
        sql.to_string(),
        oids.iter().map(|o| o.to_u32()).collect(),
        writes,
    );
    if let Some(p) = PLANS.with(|p| p.borrow_mut().get(&key)) {
        return p;
    }
    let types: Vec<PgOid> = oids.into_iter().map(PgOid::from).collect();
    let prepared = if writes {
        c.prepare_mut(sql, &types)
    } else {
        c.prepare(sql, &types)
    }
    .or_raise();
    let kept = Rc::new(prepared.keep());
    PLANS.with(|p| p.borrow_mut().put(key, kept.clone()));
    kept
}

/// Run a read-only statement through its kept plan.
pub fn select<'conn>(
    c: &SpiClient<'conn>,
    sql: &str,
    args: &[DatumWithOid<'_>],
) -> SpiTupleTable<'conn> {
    let p = plan(c, sql, args, false);
    c.select(&*p, None, args).or_raise()
}

/// Run a statement that writes through its kept plan.
pub fn update<'conn>(
    c: &mut SpiClient<'conn>,
    sql: &str,
    args: &[DatumWithOid<'_>],
) -> SpiTupleTable<'conn> {
    let p = plan(c, sql, args, true);
    c.update(&*p, None, args).or_raise()
}

/// The first column of the first row of a read-only statement, through its
/// kept plan.
pub fn one<T: pgrx::FromDatum + pgrx::IntoDatum>(
    sql: &str,
    args: &[DatumWithOid<'_>],
) -> Option<T> {
    pgrx::spi::Spi::connect(|c| {
        let table = select(c, sql, args);
        if table.is_empty() {
            return None;
        }
        table.first().get_one::<T>().or_raise()
    })
}

/// The first column of the first row of a statement that writes, through
/// its kept plan.
pub fn one_written<T: pgrx::FromDatum + pgrx::IntoDatum>(
    sql: &str,
    args: &[DatumWithOid<'_>],
) -> Option<T> {
    pgrx::spi::Spi::connect_mut(|c| {
        let table = update(c, sql, args);
        if table.is_empty() {
            return None;
        }
        table.first().get_one::<T>().or_raise()
    })
}

/// A statement that writes, through its kept plan; its rows are dropped.
pub fn run(sql: &str, args: &[DatumWithOid<'_>]) {
    pgrx::spi::Spi::connect_mut(|c| {
        update(c, sql, args);
    })
}
