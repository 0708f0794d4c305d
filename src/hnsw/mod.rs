//! `memory_hnsw`: the HNSW index access method. The graph algorithms live in
//! `memory_core::hnsw`; this module maps them onto PostgreSQL pages, one file
//! per callback group (build, insert, scan, vacuum, cost, validate).

mod build;
mod cost;
mod insert;
mod page;
mod scan;
mod vacuum;
mod validate;

use memory_core::hnsw::Metric;
use pgrx::{pg_sys, PgBox, PgSqlErrorCode};
use std::ffi::CStr;

pub const DEFAULT_M: i32 = 16;
pub const DEFAULT_EF_CONSTRUCTION: i32 = 64;

/// What an index is: metric, element type and build options.
#[derive(Clone, Copy, Debug)]
pub struct Info {
    pub metric: Metric,
    /// The column is `memory.halfvec` (else `memory.vector`).
    pub half: bool,
    pub m: usize,
    pub ef_construction: usize,
    /// Dimensions from the column's typmod, 0 when unconstrained.
    pub typmod_dims: usize,
}

/// Reads the index's opclass, column type and options.
pub fn info(index: pg_sys::Relation) -> Info {
    // SAFETY: `index` is an open index relation with one key column; the
    // catalog lookups return palloc'd strings or InvalidOid.
    unsafe {
        let proc = pg_sys::index_getprocid(index, 1, 1);
        let name = pg_sys::get_func_name(proc);
        let name = if name.is_null() {
            String::new()
        } else {
            CStr::from_ptr(name).to_string_lossy().into_owned()
        };
        let metric = match name.as_str() {
            "l2_distance" => Metric::L2,
            "cosine_distance" => Metric::Cosine,
            "vector_negative_inner_product" | "halfvec_negative_inner_product" => {
                Metric::InnerProduct
            }
            other => crate::error::report(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("memory_hnsw does not support distance function \"{other}\""),
                None,
                Some(
                    "Use one of the memory.vector_*_ops or memory.halfvec_*_ops operator classes."
                        .into(),
                ),
            ),
        };
        let attr = (*(*index).rd_att).attrs.as_slice(1)[0];
        let ty = pg_sys::format_type_be_qualified(attr.atttypid);
        let half = !ty.is_null() && CStr::from_ptr(ty).to_bytes() == b"memory.halfvec";
        let (m, ef_construction) = options(index);
        Info {
            metric,
            half,
            m: m as usize,
            ef_construction: ef_construction as usize,
            typmod_dims: attr.atttypmod.max(0) as usize,
        }
    }
}

// ---------------------------------------------------------------------------
// Options: WITH (m = 16, ef_construction = 64).

#[repr(C)]
struct Options {
    vl_len_: i32,
    m: i32,
    ef_construction: i32,
}

static mut RELOPT_KIND: pg_sys::relopt_kind::Type = 0;

/// Registers the index options; called from `_PG_init`.
pub fn init() {
    // SAFETY: runs once per backend while the library loads, before any
    // index of this kind is opened; the strings are static.
    unsafe {
        RELOPT_KIND = pg_sys::add_reloption_kind();
        pg_sys::add_int_reloption(
            RELOPT_KIND as _,
            c"m".as_ptr(),
            c"Links per element on the upper layers (twice as many on layer 0)".as_ptr(),
            DEFAULT_M,
            2,
            100,
            pg_sys::AccessExclusiveLock as _,
        );
        pg_sys::add_int_reloption(
            RELOPT_KIND as _,
            c"ef_construction".as_ptr(),
            c"Size of the candidate list while building the graph".as_ptr(),
            DEFAULT_EF_CONSTRUCTION,
            4,
            1000,
            pg_sys::AccessExclusiveLock as _,
        );
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn amoptions(
    reloptions: pg_sys::Datum,
    validate: bool,
) -> *mut pg_sys::bytea {
    let tab = [
        pg_sys::relopt_parse_elt {
            optname: c"m".as_ptr(),
            opttype: pg_sys::relopt_type::RELOPT_TYPE_INT,
            offset: std::mem::offset_of!(Options, m) as i32,
        },
        pg_sys::relopt_parse_elt {
            optname: c"ef_construction".as_ptr(),
            opttype: pg_sys::relopt_type::RELOPT_TYPE_INT,
            offset: std::mem::offset_of!(Options, ef_construction) as i32,
        },
    ];
    // SAFETY: `tab` describes `Options`, whose layout is repr(C) with the
    // varlena header first; PostgreSQL copies what it needs.
    unsafe {
        pg_sys::build_reloptions(
            reloptions,
            validate,
            RELOPT_KIND,
            std::mem::size_of::<Options>(),
            tab.as_ptr(),
            tab.len() as i32,
        )
        .cast()
    }
}

/// (m, ef_construction) of an index, defaults when not set.
pub(super) fn options(index: pg_sys::Relation) -> (i32, i32) {
    // SAFETY: rd_options is null or the struct built by `amoptions`.
    unsafe {
        let o = (*index).rd_options.cast::<Options>();
        if o.is_null() {
            (DEFAULT_M, DEFAULT_EF_CONSTRUCTION)
        } else {
            ((*o).m, (*o).ef_construction)
        }
    }
}

// ---------------------------------------------------------------------------
// The handler.

#[pgrx::pg_extern(sql = "
CREATE FUNCTION memory.memory_hnsw_handler(internal) RETURNS index_am_handler
    LANGUAGE c STRICT AS '@MODULE_PATHNAME@', '@FUNCTION_NAME@';
")]
fn memory_hnsw_handler(_fcinfo: pg_sys::FunctionCallInfo) -> PgBox<pg_sys::IndexAmRoutine> {
    // SAFETY: allocates a zeroed node in the current memory context.
    let mut am =
        unsafe { PgBox::<pg_sys::IndexAmRoutine>::alloc_node(pg_sys::NodeTag::T_IndexAmRoutine) };
    am.amstrategies = 0;
    am.amsupport = 1;
    am.amoptsprocnum = 0;
    am.amcanorder = false;
    am.amcanorderbyop = true;
    am.amcanbackward = false;
    am.amcanunique = false;
    am.amcanmulticol = false;
    am.amoptionalkey = true;
    am.amsearcharray = false;
    am.amsearchnulls = false;
    am.amstorage = false;
    am.amclusterable = false;
    am.ampredlocks = false;
    am.amcanparallel = false;
    am.amcaninclude = false;
    am.amusemaintenanceworkmem = false;
    am.amparallelvacuumoptions = 0;
    am.amkeytype = pg_sys::InvalidOid;

    am.ambuild = Some(build::ambuild);
    am.ambuildempty = Some(build::ambuildempty);
    am.aminsert = Some(insert::aminsert);
    am.ambulkdelete = Some(vacuum::ambulkdelete);
    am.amvacuumcleanup = Some(vacuum::amvacuumcleanup);
    am.amcanreturn = None;
    am.amcostestimate = Some(cost::amcostestimate);
    am.amoptions = Some(amoptions);
    am.amproperty = None;
    am.ambuildphasename = Some(build::ambuildphasename);
    am.amvalidate = Some(validate::amvalidate);
    am.amadjustmembers = None;
    am.ambeginscan = Some(scan::ambeginscan);
    am.amrescan = Some(scan::amrescan);
    am.amgettuple = Some(scan::amgettuple);
    am.amgetbitmap = None;
    am.amendscan = Some(scan::amendscan);
    am.ammarkpos = None;
    am.amrestrpos = None;
    am.amestimateparallelscan = None;
    am.aminitparallelscan = None;
    am.amparallelrescan = None;
    am.into_pg_boxed()
}

/// The index stores vectors as f16: refuses elements it cannot hold
/// (SQLSTATE 22003) instead of storing infinities.
pub fn check_storable(prepared: &[f32]) {
    if let Some(x) = prepared.iter().find(|x| x.abs() > 65504.0) {
        crate::error::report(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("memory_hnsw cannot index the value {x}"),
            Some("The index stores vectors as 16-bit floats, which hold at most ±65504.".into()),
            Some("Scale the vectors down, or use a cosine index (it stores unit vectors).".into()),
        );
    }
}

/// Raises the dimension-mismatch error (SQLSTATE 22000).
pub fn dims_mismatch(index_dims: usize, got: usize) -> ! {
    crate::error::report(
        PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
        format!("different vector dimensions {index_dims} and {got}"),
        Some(format!(
            "The memory_hnsw index holds {index_dims}-dimensional vectors."
        )),
        Some("Index one dimension per index, e.g. a partial index WHERE embedder = '…'.".into()),
    )
}
