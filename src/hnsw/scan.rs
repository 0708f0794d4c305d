//! Index scans: `ORDER BY col <op> query`. The upper layers are descended
//! greedily, then layer 0 is streamed in batches of `memory.hnsw_ef_search`.
//! When the executor keeps asking (a WHERE clause rejected rows), the stream
//! resumes where it stopped; once the graph is exhausted, the elements it
//! never reached are swept from the pages, so a scan asked for everything
//! returns every indexed row. `memory.hnsw_max_scan_tuples` bounds the work.

use super::page::{self, Buf, Element, PageGraph, Shape};
use super::{info, Info};
use crate::gucs;
use memory_core::hnsw::{descend, Graph, Metric, Scored, Stream};
use pgrx::{pg_sys, PgMemoryContexts};

enum Phase {
    /// Not started since the last rescan.
    Fresh,
    /// Streaming the graph.
    Graph,
    /// Returning the elements the graph walk did not reach.
    Sweep,
    Done,
}

struct ScanState {
    info: Info,
    phase: Phase,
    graph: Option<PageGraph>,
    stream: Stream<u64>,
    query: Option<Vec<f32>>,
    /// ‖query‖, for the rounding margin.
    query_norm: f64,
    /// Sweep results, farthest first.
    rest: Vec<Scored<u64>>,
    examined: u64,
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn ambeginscan(
    index: pg_sys::Relation,
    nkeys: i32,
    norderbys: i32,
) -> pg_sys::IndexScanDesc {
    // SAFETY: the standard allocation of a scan descriptor.
    let scan = unsafe { pg_sys::RelationGetIndexScan(index, nkeys, norderbys) };
    let state = ScanState {
        info: info(index),
        phase: Phase::Fresh,
        graph: None,
        stream: Stream::new(1),
        query: None,
        query_norm: 0.0,
        rest: Vec::new(),
        examined: 0,
    };
    // The state lives as long as the scan's memory context; dropped with it,
    // also when the query fails.
    let p = PgMemoryContexts::CurrentMemoryContext.leak_and_drop_on_delete(state);
    // SAFETY: `scan` was just allocated; the order-by value arrays are the
    // access method's to provide (as GiST does), one slot per ORDER BY.
    unsafe {
        (*scan).opaque = p.cast();
        let n = norderbys.max(1) as usize;
        (*scan).xs_orderbyvals = pg_sys::palloc0(n * std::mem::size_of::<pg_sys::Datum>()).cast();
        (*scan).xs_orderbynulls = pg_sys::palloc0(n).cast();
    }
    scan
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amrescan(
    scan: pg_sys::IndexScanDesc,
    _keys: pg_sys::ScanKey,
    _nkeys: i32,
    orderbys: pg_sys::ScanKey,
    norderbys: i32,
) {
    // SAFETY: `scan` comes from ambeginscan; `orderbys` has `norderbys`
    // entries and orderByData room for as many.
    unsafe {
        if !orderbys.is_null() && norderbys > 0 {
            std::ptr::copy(orderbys, (*scan).orderByData, norderbys as usize);
        }
        let state = &mut *(*scan).opaque.cast::<ScanState>();
        state.phase = Phase::Fresh;
        state.graph = None;
        state.query = None;
        state.rest = Vec::new();
        state.examined = 0;
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amgettuple(
    scan: pg_sys::IndexScanDesc,
    _direction: pg_sys::ScanDirection::Type,
) -> bool {
    // SAFETY: `scan` comes from ambeginscan with our state in `opaque`.
    let (state, index) = unsafe {
        (
            &mut *(*scan).opaque.cast::<ScanState>(),
            (*scan).indexRelation,
        )
    };
    if let Phase::Fresh = state.phase {
        // SAFETY: `scan` is valid; the snapshot is set by the executor.
        let mvcc = unsafe {
            let snap = (*scan).xs_snapshot;
            !snap.is_null()
                && matches!(
                    (*snap).snapshot_type,
                    pg_sys::SnapshotType::SNAPSHOT_MVCC
                        | pg_sys::SnapshotType::SNAPSHOT_HISTORIC_MVCC
                )
        };
        if !mvcc {
            // Elements do not pin heap pages: without an MVCC snapshot a
            // TID vacuumed and reused meanwhile could be returned.
            crate::error::report(
                pgrx::PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                "memory_hnsw scans require an MVCC-compliant snapshot",
                None,
                None,
            );
        }
        // SAFETY: as above; orderByData was filled by amrescan.
        unsafe { start(state, scan, index) };
    }
    let limit = gucs::HNSW_MAX_SCAN_TUPLES.get().max(0) as u64;
    loop {
        let Some(g) = state.graph.as_mut() else {
            return false;
        };
        let next = match state.phase {
            Phase::Graph => match state.query.as_deref() {
                Some(q) => {
                    let n = state.stream.next(g, q);
                    state.examined = state.stream.discovered() as u64;
                    match n {
                        Some(s) => Some(s),
                        None => {
                            if limit > 0 && state.examined >= limit {
                                state.phase = Phase::Done;
                                return false;
                            }
                            sweep(state);
                            continue;
                        }
                    }
                }
                None => None,
            },
            Phase::Sweep => state.rest.pop(),
            Phase::Fresh | Phase::Done => None,
        };
        let Some(s) = next else {
            state.phase = Phase::Done;
            return false;
        };
        if limit > 0 && state.examined > limit {
            state.phase = Phase::Done;
            return false;
        }
        let (deleted, heap, norm) = g.with(s.id, |e| {
            (
                e.deleted(),
                e.heap(),
                e.with_vector(memory_core::vector::l2_norm_f16),
            )
        });
        if deleted {
            continue;
        }
        // SAFETY: `scan` is valid; the order-by arrays have one slot each
        // (allocated in ambeginscan).
        unsafe {
            (*scan).xs_heaptid = page::item_pointer(heap.0, heap.1);
            (*scan).xs_recheck = false;
            match state.query.as_deref() {
                Some(q) => {
                    // The distance from the f16 copy, lowered by the most
                    // f16 rounding can move it: a lower bound of the exact
                    // distance. The executor recomputes the exact distance
                    // from the row and reorders within that margin, so
                    // near-ties are resolved exactly.
                    let exact_ish = state.info.metric.to_sql(s.dist);
                    let margin = rounding_margin(
                        state.info.metric,
                        q.len(),
                        state.query_norm,
                        norm,
                        exact_ish,
                    );
                    let mut value = exact_ish - margin;
                    if !value.is_finite() {
                        value = f64::NEG_INFINITY; // still a lower bound
                    }
                    *(*scan).xs_orderbyvals = pg_sys::Datum::from(value.to_bits() as usize);
                    *(*scan).xs_orderbynulls = false;
                    (*scan).xs_recheckorderby = true;
                }
                None => {
                    *(*scan).xs_orderbyvals = pg_sys::Datum::from(0usize);
                    *(*scan).xs_orderbynulls = true;
                    (*scan).xs_recheckorderby = false;
                }
            }
        }
        return true;
    }
}

/// How far the SQL distance of the original vector can be from the one
/// computed on its f16 copy (norm `norm`): rounding to f16 moves each
/// element by at most 2^-11 of itself, so the vector moves by at most
/// 2^-11 · ‖x‖ (plus subnormal and f32 arithmetic slack), and a distance or
/// inner product with the query by at most that times ‖q‖ (1 for cosine,
/// where both are unit vectors). Doubled for safety.
///
/// On top of that, f32 arithmetic (different summation orders in the index
/// and in the SQL function) moves a sum of n products by up to about
/// n·2^-23 of its magnitude: for L2 that bounds the squared distance's
/// error by e = n·2^-23·(‖q‖ + ‖x‖)², hence the distance's by e / d (or
/// √e near zero).
fn rounding_margin(metric: Metric, dims: usize, qn: f64, norm: f64, value: f64) -> f64 {
    let n = dims as f64 + 2.0;
    let eps = n * (1.0 / 8_388_608.0);
    let shift = norm * (1.0 / 2048.0) + n * 6e-8;
    let (scale, arith) = match metric {
        Metric::L2 => {
            let e = eps * (qn + norm) * (qn + norm);
            (
                1.0,
                if value * value > e {
                    e / value
                } else {
                    e.sqrt()
                },
            )
        }
        Metric::Cosine => (1.0, eps),
        Metric::InnerProduct => (qn, eps * qn * norm),
    };
    2.0 * (shift * scale + arith) + 1e-6
}

/// Reads the query and descends to layer 0.
///
/// # Safety
/// `scan` must be a valid scan of `index` after amrescan.
unsafe fn start(state: &mut ScanState, scan: pg_sys::IndexScanDesc, index: pg_sys::Relation) {
    let meta = page::read_meta(index);
    let shape = Shape {
        m: meta.m as usize,
        dims: meta.dims as usize,
    };
    let ef = gucs::HNSW_EF_SEARCH.get().max(1) as usize;
    let mut g = PageGraph::new(index, state.info.metric, shape);
    // SAFETY: per the function's contract.
    let key = unsafe { ((*scan).numberOfOrderBys > 0).then(|| *(*scan).orderByData) };
    let query = match key {
        Some(k) if k.sk_flags & pg_sys::SK_ISNULL as i32 == 0 => {
            // SAFETY: the order-by argument is a non-null datum of the
            // operator's right-hand type, which is the column's type.
            let v = unsafe { crate::types::varvec::datum_to_f32(k.sk_argument, state.info.half) };
            if meta.dims != 0 && v.len() != meta.dims as usize {
                super::dims_mismatch(meta.dims as usize, v.len());
            }
            state.info.metric.prepare(&v)
        }
        _ => None,
    };
    state.query_norm = query.as_deref().map_or(0.0, memory_core::vector::l2_norm);
    state.stream = Stream::new(ef);
    state.phase = Phase::Graph;
    match (meta.entry(), query.as_deref()) {
        (Some((entry, level)), Some(q)) => {
            let ep = descend(&mut g, q, entry, level, 0);
            state.stream.start(&mut g, ep);
        }
        _ => {
            // No query direction (NULL or zero vector) or an empty index:
            // every element, in page order.
            g.reset_visited();
            state.graph = Some(g);
            state.query = query;
            sweep(state);
            return;
        }
    }
    state.graph = Some(g);
    state.query = query;
}

/// Collects the live elements the graph walk never reached.
fn sweep(state: &mut ScanState) {
    state.phase = Phase::Sweep;
    let Some(g) = state.graph.as_mut() else {
        return;
    };
    let metric = state.info.metric;
    let mut rest = Vec::new();
    let n = page::nblocks(g.index);
    for block in 1..n {
        let b = Buf::read(g.index, block, pg_sys::BUFFER_LOCK_SHARE);
        // SAFETY: share-locked page; slices are used under the lock.
        let max = unsafe { pg_sys::PageGetMaxOffsetNumber(b.page()) };
        for offset in 1..=max {
            let id = page::pack(block, offset);
            if g.was_visited(id) {
                continue;
            }
            // SAFETY: as above.
            let Some(t) = (unsafe { page::item(b.page(), offset) }) else {
                continue;
            };
            let Some(e) = Element::parse(t, g.shape) else {
                continue;
            };
            if e.deleted() {
                continue;
            }
            let dist = match state.query.as_deref() {
                Some(q) => e.with_vector(|v| metric.distance_f16(q, v)),
                None => 0.0,
            };
            rest.push(Scored { dist, id });
        }
        drop(b);
        pgrx::check_for_interrupts!();
    }
    state.examined += rest.len() as u64;
    rest.sort_by(|a, b| b.cmp(a));
    state.rest = rest;
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amendscan(scan: pg_sys::IndexScanDesc) {
    // SAFETY: our state; its memory goes with the scan's context.
    unsafe {
        let state = &mut *(*scan).opaque.cast::<ScanState>();
        state.graph = None;
        state.rest = Vec::new();
        state.stream = Stream::new(1);
    }
}
