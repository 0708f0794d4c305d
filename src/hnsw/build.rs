//! CREATE INDEX: the graph is built in memory (within maintenance_work_mem),
//! then written out page by page and WAL-logged in bulk. When it outgrows
//! the memory budget, what was built is written out and the remaining rows
//! are inserted on disk, one by one (slower, with a NOTICE).

use super::page::{self, Buf, Meta, Shape};
use super::{info, insert, Info};
use memory_core::hnsw::{MemGraph, Params, MAX_LEVEL};
use pgrx::{pg_sys, PgSqlErrorCode};

const PHASE_LOAD: i64 = 2;
const PHASE_WRITE: i64 = 3;

struct State {
    index: pg_sys::Relation,
    info: Info,
    dims: usize,
    graph: Option<MemGraph>,
    heap: Vec<(u32, u16)>,
    limit: usize,
    /// The graph was written out; later rows go through the insert path.
    spilled: bool,
    indexed: f64,
}

fn progress(param: u32, value: i64) {
    // SAFETY: plain backend-local progress reporting.
    unsafe { pg_sys::pgstat_progress_update_param(param as i32, value) };
}

/// The largest level whose element tuple fits a page, or an error when not
/// even level 0 does.
pub fn max_level(shape: &Shape) -> usize {
    let room = pg_sys::BLCKSZ as usize - 24 - 8 - 4;
    if shape.size(0) > room {
        let per_dim = 2;
        let max_dims = (room - (shape.size(0) - per_dim * shape.dims)) / per_dim;
        crate::error::report(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!(
                "memory_hnsw cannot index {}-dimensional vectors with m = {}",
                shape.dims, shape.m
            ),
            Some(format!(
                "At most {max_dims} dimensions fit a page with this m."
            )),
            Some("Lower m, or reduce the dimensions.".into()),
        );
    }
    (0..=MAX_LEVEL)
        .take_while(|&l| shape.size(l) <= room)
        .last()
        .unwrap_or(0)
}

pub fn check_options(info: &Info) {
    if info.ef_construction < 2 * info.m {
        crate::error::report(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "ef_construction must be greater than or equal to 2 * m",
            Some(format!(
                "m = {}, ef_construction = {}",
                info.m, info.ef_construction
            )),
            None,
        );
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn ambuild(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
) -> *mut pg_sys::IndexBuildResult {
    if page::nblocks(index) != 0 {
        crate::error::report(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "index already contains data",
            None,
            None,
        );
    }
    let info = info(index);
    check_options(&info);
    // SAFETY: maintenance_work_mem is a plain GUC variable (kB).
    let limit = unsafe { pg_sys::maintenance_work_mem } as usize * 1024;
    let mut state = State {
        index,
        info,
        dims: info.typmod_dims,
        graph: None,
        heap: Vec::new(),
        limit,
        spilled: false,
        indexed: 0.0,
    };
    // SAFETY: an open heap relation has its table AM routine.
    let Some(build_scan) = (unsafe { (*(*heap).rd_tableam).index_build_range_scan }) else {
        crate::error::report(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "the table's access method cannot feed an index build",
            None,
            None,
        );
    };
    progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_LOAD);
    // SAFETY: table_index_build_scan, spelled out (it is an inline
    // function): the table AM calls `callback` for every live row with the
    // index expression's values; `state` outlives the call.
    let reltuples = unsafe {
        build_scan(
            heap,
            index,
            index_info,
            true,
            false,
            true,
            0,
            pg_sys::InvalidBlockNumber,
            Some(callback),
            (&mut state as *mut State).cast(),
            std::ptr::null_mut(),
        )
    };
    if !state.spilled {
        progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_WRITE);
        write(&mut state);
        log_all(index);
    }
    // SAFETY: palloc0 of the result struct PostgreSQL expects.
    unsafe {
        let r = pg_sys::palloc0(std::mem::size_of::<pg_sys::IndexBuildResult>())
            .cast::<pg_sys::IndexBuildResult>();
        (*r).heap_tuples = reltuples;
        (*r).index_tuples = state.indexed;
        r
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn callback(
    _index: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    _alive: bool,
    state: *mut std::ffi::c_void,
) {
    // SAFETY: `state` is the State passed to the scan; one key column.
    let (state, datum, null, tid) =
        unsafe { (&mut *state.cast::<State>(), *values, *isnull, *tid) };
    if null {
        return;
    }
    // SAFETY: a non-null datum of the indexed column's type.
    let v = unsafe { crate::types::varvec::datum_to_f32(datum, state.info.half) };
    if state.dims == 0 {
        state.dims = v.len();
    }
    if v.len() != state.dims {
        super::dims_mismatch(state.dims, v.len());
    }
    let heap = page::tid_parts(&tid);
    if state.spilled {
        if insert::insert_vector(state.index, &state.info, &v, heap) {
            state.indexed += 1.0;
        }
        progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, state.indexed as i64);
        return;
    }
    let Some(prepared) = state.info.metric.prepare(&v) else {
        return;
    };
    super::check_storable(&prepared);
    let info = state.info;
    let dims = state.dims;
    let g = state.graph.get_or_insert_with(|| {
        max_level(&Shape { m: info.m, dims });
        MemGraph::new(
            info.metric,
            dims,
            Params::new(info.m, info.ef_construction),
            0x6d65_6d6f_7279,
        )
    });
    if g.memory_bytes() + g.element_bytes(0) > state.limit {
        pgrx::notice!(
            "memory_hnsw graph no longer fits into maintenance_work_mem after {} tuples; continuing on disk, more slowly. Increase maintenance_work_mem to build faster.",
            g.len()
        );
        progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_WRITE);
        write(state);
        log_all(state.index);
        state.spilled = true;
        state.graph = None;
        state.heap = Vec::new();
        if insert::insert_vector(state.index, &state.info, &v, heap) {
            state.indexed += 1.0;
        }
        return;
    }
    g.insert(&prepared);
    state.heap.push(heap);
    state.indexed += 1.0;
    progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, state.indexed as i64);
}

/// Writes the meta page and the in-memory graph (if any) to a new index.
fn write(state: &mut State) {
    let index = state.index;
    let shape = Shape {
        m: state.info.m,
        dims: state.dims,
    };
    let mut meta = Meta::new(state.dims, state.info.m, state.info.ef_construction);
    let empty = MemGraph::new(state.info.metric, 0, Params::new(state.info.m, 4), 0);
    let g = state.graph.as_ref().unwrap_or(&empty);
    let levels: Vec<usize> = (0..g.len() as u32).map(|i| g.level_of(i)).collect();
    let cap = if g.is_empty() { 0 } else { max_level(&shape) };

    // Where each element goes: the same arithmetic PageAddItem applies.
    let page_room = pg_sys::BLCKSZ as usize;
    let header = 24; // SizeOfPageHeaderData
    let mut positions = Vec::with_capacity(levels.len());
    let (mut block, mut lower, mut upper, mut offset) = (1u32, header, page_room, 0u16);
    for &level in &levels {
        let size = maxalign(shape.size(level.min(cap)));
        if lower + 4 > upper.saturating_sub(size) {
            block += 1;
            (lower, upper, offset) = (header, page_room, 0);
        }
        lower += 4;
        upper -= size;
        offset += 1;
        positions.push(page::pack(block, offset));
    }
    if let Some((entry, level)) = g.entry() {
        meta.set_entry(Some((positions[entry as usize], level.min(cap))));
    }

    let mb = Buf::extend(index, pg_sys::ForkNumber::MAIN_FORKNUM);
    // SAFETY: a new, exclusively locked page not yet visible to anyone.
    unsafe {
        page::write_meta(mb.page(), &meta, true);
        pg_sys::MarkBufferDirty(mb.buf);
    }
    drop(mb);

    let mut current: Option<Buf> = None;
    let mut links = Vec::new();
    for (i, &level) in levels.iter().enumerate() {
        let (block, offset) = page::unpack(positions[i]);
        let b = match current.take() {
            Some(b) if b.block() == block => b,
            full => {
                if let Some(b) = full {
                    // SAFETY: pinned and locked by `b`.
                    unsafe { pg_sys::MarkBufferDirty(b.buf) };
                }
                // No buffer lock held here, so a cancel is honoured.
                pgrx::check_for_interrupts!();
                let b = Buf::extend(index, pg_sys::ForkNumber::MAIN_FORKNUM);
                // SAFETY: a new page, exclusively locked.
                unsafe { page::init_page(b.page()) };
                b
            }
        };
        let level = level.min(cap);
        links.clear();
        for l in 0..=level {
            links.push(
                g.links(i as u32, l)
                    .iter()
                    .map(|&n| positions[n as usize])
                    .collect::<Vec<u64>>(),
            );
        }
        let t = shape.encode(level, state.heap[i], &links, g.vector(i as u32));
        // SAFETY: exclusively locked page being filled.
        let got = unsafe { page::add_item(b.page(), &t) };
        if got != Some(offset) || b.block() != block {
            crate::error::report(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "memory_hnsw build placed an element at an unexpected position",
                Some(format!(
                    "expected ({block},{offset}), got ({},{got:?})",
                    b.block()
                )),
                None,
            );
        }
        current = Some(b);
    }
    if let Some(b) = current.take() {
        // SAFETY: pinned and locked by `b`.
        unsafe { pg_sys::MarkBufferDirty(b.buf) };
    }
}

fn maxalign(n: usize) -> usize {
    (n + 7) & !7
}

/// WAL-logs every page of a freshly built index as full images.
fn log_all(index: pg_sys::Relation) {
    // SAFETY: the index is open and exclusively ours during the build.
    unsafe {
        if (*(*index).rd_rel).relpersistence == pg_sys::RELPERSISTENCE_PERMANENT as std::ffi::c_char
        {
            let n = page::nblocks(index);
            if n > 0 {
                pg_sys::log_newpage_range(index, pg_sys::ForkNumber::MAIN_FORKNUM, 0, n, true);
            }
        }
    }
}

/// An UNLOGGED index's init fork: just the meta page.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn ambuildempty(index: pg_sys::Relation) {
    let info = info(index);
    let meta = Meta::new(info.typmod_dims, info.m, info.ef_construction);
    let b = Buf::extend(index, pg_sys::ForkNumber::INIT_FORKNUM);
    // SAFETY: a new, exclusively locked page of the init fork.
    unsafe {
        page::write_meta(b.page(), &meta, true);
        pg_sys::MarkBufferDirty(b.buf);
    }
    drop(b);
    // The init fork is always WAL-logged (log_newpage_range takes its own
    // locks and critical section).
    // SAFETY: the index is open; block 0 of the init fork exists.
    unsafe { pg_sys::log_newpage_range(index, pg_sys::ForkNumber::INIT_FORKNUM, 0, 1, true) };
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn ambuildphasename(phase: i64) -> *mut std::ffi::c_char {
    let name: &std::ffi::CStr = match phase {
        1 => c"initializing",
        PHASE_LOAD => c"loading tuples",
        PHASE_WRITE => c"writing graph",
        _ => return std::ptr::null_mut(),
    };
    // SAFETY: PostgreSQL expects a palloc'd or static string; copy it.
    unsafe { pg_sys::pstrdup(name.as_ptr()) }
}
