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

/// The result of a read-only statement run through its kept plan, read row
/// by row with each row deformed once (`heap_deform_tuple`), instead of
/// column by column through pgrx's per-value accessors (each walks the
/// tuple up to its column and guards its own call). For statements that
/// return many rows: a small scope read whole.
pub struct Rows<'conn> {
    table: Option<&'conn pg_sys::SPITupleTable>,
    values: Vec<pg_sys::Datum>,
    nulls: Vec<bool>,
}

/// Run a read-only statement through its kept plan; its rows stay readable
/// while the SPI connection `c` lasts.
pub fn rows<'conn>(c: &SpiClient<'conn>, sql: &str, args: &[DatumWithOid<'_>]) -> Rows<'conn> {
    let _result = select(c, sql, args);
    // SAFETY: `select` just ran the statement on this connection, which
    // left its result in SPI_tuptable (pgrx keeps it there); the table
    // lives until the connection ends, which 'conn bounds.
    let table = unsafe { pg_sys::SPI_tuptable.as_ref() };
    let natts = table
        // SAFETY: a result table always has its tuple descriptor.
        .map(|t| unsafe { (*t.tupdesc).natts } as usize)
        .unwrap_or(0);
    Rows {
        table,
        values: vec![pg_sys::Datum::from(0usize); natts],
        nulls: vec![true; natts],
    }
}

impl Rows<'_> {
    pub fn len(&self) -> usize {
        self.table.map_or(0, |t| t.numvals as usize)
    }

    /// Row `i` (from 0), deformed.
    pub fn row(&mut self, i: usize) -> Row<'_> {
        let Some(t) = self.table.filter(|_| i < self.len()) else {
            crate::error::report(
                pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("row {i} of {} read", self.len()),
                None,
                None,
            );
        };
        // SAFETY: `vals` holds `numvals` tuples of descriptor `tupdesc`
        // (i is below it); values and nulls have one slot per attribute of
        // that descriptor.
        unsafe {
            let tuple = *t.vals.add(i);
            pg_sys::heap_deform_tuple(
                tuple,
                t.tupdesc,
                self.values.as_mut_ptr(),
                self.nulls.as_mut_ptr(),
            );
        }
        Row {
            tupdesc: t.tupdesc,
            values: &self.values,
            nulls: &self.nulls,
        }
    }
}

/// One deformed row of `Rows`.
pub struct Row<'a> {
    tupdesc: pg_sys::TupleDesc,
    values: &'a [pg_sys::Datum],
    nulls: &'a [bool],
}

impl<'a> Row<'a> {
    /// Column `col` (from 1, as in SPI) as `T`: None when NULL; an error
    /// when the column's type is not one `T` reads.
    pub fn get<T: pgrx::FromDatum + pgrx::IntoDatum + 'a>(&self, col: usize) -> Option<T> {
        let Some(k) = col.checked_sub(1).filter(|k| *k < self.values.len()) else {
            crate::error::report(
                pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("column {col} of {} read", self.values.len()),
                None,
                None,
            );
        };
        // SAFETY: k is within the descriptor's attributes (values has one
        // slot per attribute).
        let oid = unsafe { (*(*self.tupdesc).attrs.as_ptr().add(k)).atttypid };
        if !T::is_compatible_with(oid) {
            crate::error::report(
                pgrx::PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                format!(
                    "column {col} of type {} read as {}",
                    oid.to_u32(),
                    std::any::type_name::<T>()
                ),
                None,
                None,
            );
        }
        // SAFETY: the datum and null flag come from heap_deform_tuple of
        // this row, its type is one T reads (checked above); by-reference
        // values point into the result table or are detoasted into the
        // current memory context, both outliving this row's use.
        unsafe { T::from_polymorphic_datum(self.values[k], self.nulls[k], oid) }
    }
}
