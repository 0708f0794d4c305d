//! VACUUM: three passes over the pages.
//! 1. Find the elements whose heap rows are dead.
//! 2. Repair every live element that links to one: its dead neighbours are
//!    replaced by the best of their own neighbours (the heuristic decides),
//!    so the graph stays navigable without the dead elements.
//! 3. Mark the dead elements deleted (their heap TIDs cleared). Deleted
//!    elements stay on their page as tombstones: scans may still step
//!    through them but never return them. Later inserts write new elements
//!    of the same size over them (insert.rs, `reuse`): the meta page's
//!    `reuse_block` points at the first page holding tombstones. The entry
//!    point moves to a live element of the highest layer first.
//!
//! From the first pass to the last VACUUM holds the reuse lock exclusively,
//! so no insert takes over a tombstone that the passes still treat as dead
//! (its links would be cut by the repair).

use super::info;
use super::insert::{write_links, PageLock, UpdateLock, REUSE_TAG};
use super::page::{self, Buf, Element, PageGraph, Shape, Xlog};
use memory_core::hnsw::repair;
use pgrx::pg_sys;

type Callback = pg_sys::IndexBulkDeleteCallback;

fn stats_or_new(stats: *mut pg_sys::IndexBulkDeleteResult) -> *mut pg_sys::IndexBulkDeleteResult {
    if stats.is_null() {
        // SAFETY: zeroed result struct, as PostgreSQL expects.
        unsafe {
            pg_sys::palloc0(std::mem::size_of::<pg_sys::IndexBulkDeleteResult>())
                .cast::<pg_sys::IndexBulkDeleteResult>()
        }
    } else {
        stats
    }
}

fn delay() {
    // SAFETY: cost-based vacuum delay and interrupt check.
    unsafe { pg_sys::vacuum_delay_point() };
}

/// Calls `f(id, element)` for every element, one page share-locked at a time.
fn each_element(index: pg_sys::Relation, shape: Shape, mut f: impl FnMut(u64, &Element)) {
    let n = page::nblocks(index);
    for block in 1..n {
        delay();
        let b = Buf::read(index, block, pg_sys::BUFFER_LOCK_SHARE);
        // SAFETY: share-locked page; slices are used under the lock.
        let max = unsafe { pg_sys::PageGetMaxOffsetNumber(b.page()) };
        for offset in 1..=max {
            // SAFETY: as above.
            if let Some(e) =
                unsafe { page::item(b.page(), offset) }.and_then(|t| Element::parse(t, shape))
            {
                f(page::pack(block, offset), &e);
            }
        }
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn ambulkdelete(
    vinfo: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
    callback: Callback,
    callback_state: *mut std::ffi::c_void,
) -> *mut pg_sys::IndexBulkDeleteResult {
    let stats = stats_or_new(stats);
    // SAFETY: PostgreSQL passes a valid vacuum info with an open index.
    let index = unsafe { (*vinfo).index };
    let meta = page::read_meta(index);
    if meta.dims == 0 {
        return stats;
    }
    let shape = Shape {
        m: meta.m as usize,
        dims: meta.dims as usize,
    };
    let Some(cb) = callback else {
        return stats;
    };

    let _reuse = PageLock::take(index, REUSE_TAG, pg_sys::ExclusiveLock);

    // Pass 1: dead elements; the best live entry point candidate. Earlier
    // tombstones join the set of elements links must not point to (an
    // insert racing the previous VACUUM may have linked to one).
    let mut dead = page::IdSet::default();
    let mut gone = page::IdSet::default();
    let mut live = 0f64;
    let mut top: Option<(u64, usize)> = None;
    each_element(index, shape, |id, e| {
        if e.deleted() {
            gone.insert(id);
            return;
        }
        let (b, o) = e.heap();
        let mut tid = page::item_pointer(b, o);
        // SAFETY: the callback and its state come from VACUUM.
        if unsafe { cb(&mut tid, callback_state) } {
            dead.insert(id);
        } else {
            live += 1.0;
            if top.is_none_or(|(_, l)| e.level() > l) {
                top = Some((id, e.level()));
            }
        }
    });
    // SAFETY: `stats` is a valid result struct.
    unsafe {
        (*stats).num_pages = page::nblocks(index);
        (*stats).num_index_tuples = live;
        (*stats).tuples_removed += dead.len() as f64;
    }
    if dead.is_empty() {
        point_reuse_at(index, &gone);
        return stats;
    }
    // A barrier: wait for inserts in flight, which may be linking to the
    // elements found dead above; inserts starting later are repaired below
    // or by the next VACUUM (tombstones are repaired too).
    drop(UpdateLock::take(index, pg_sys::ExclusiveLock));
    gone.extend(dead.iter().copied());

    // Pass 2: repair the neighbour lists that point at dead elements or
    // tombstones.
    let i = info(index);
    let mut g = PageGraph::new(index, i.metric, shape);
    g.mark_dead(&gone);
    let mut todo: Vec<(u64, usize, Vec<u64>)> = Vec::new();
    each_element(index, shape, |id, e| {
        if e.deleted() || gone.contains(&id) {
            return;
        }
        for level in 0..=e.level() {
            let mut links = Vec::new();
            e.links(level, &mut links);
            if links.iter().any(|l| gone.contains(l)) {
                todo.push((id, level, links));
            }
        }
    });
    for (id, level, links) in todo {
        delay();
        let kept: Vec<u64> = links
            .iter()
            .copied()
            .filter(|l| !dead.contains(l))
            .collect();
        let mut via = Vec::new();
        for d in links.iter().filter(|l| dead.contains(l)) {
            via.extend(g.level_links(*d, level));
        }
        via.retain(|v| !dead.contains(v) && *v != id);
        let next = repair(&mut g, id, &kept, &via, shape.cap(level));
        // An insert that changed the list meanwhile wins; the next VACUUM
        // repairs what is left.
        write_links(&mut g, id, level, &links, &next);
    }

    // The entry point must stay live.
    if meta.entry().is_some_and(|(e, _)| dead.contains(&e)) {
        let _lock = UpdateLock::take(index, pg_sys::ExclusiveLock);
        page::update_meta(index, |m| {
            if m.entry().is_some_and(|(e, _)| dead.contains(&e)) {
                m.set_entry(top);
                true
            } else {
                false
            }
        });
    }

    // Pass 3: tombstones.
    let mut by_block: std::collections::BTreeMap<u32, Vec<u16>> = Default::default();
    for &id in &dead {
        let (b, o) = page::unpack(id);
        by_block.entry(b).or_default().push(o);
    }
    for (block, offsets) in by_block {
        delay();
        let b = Buf::read(index, block, pg_sys::BUFFER_LOCK_EXCLUSIVE);
        let mut x = Xlog::start(index);
        let p = x.register(&b, false);
        for o in offsets {
            // SAFETY: the WAL-tracked image of the exclusively locked page.
            if let Some(t) = unsafe { page::item(p, o) } {
                page::mark_deleted(t);
            }
        }
        x.finish();
    }
    point_reuse_at(index, &gone);
    stats
}

/// Points the meta page's reuse hint at the first page holding one of the
/// tombstones `tombs` (unless it already points lower).
fn point_reuse_at(index: pg_sys::Relation, tombs: &page::IdSet) {
    let Some(first) = tombs.iter().map(|&id| page::unpack(id).0).min() else {
        return;
    };
    page::update_meta(index, |m| {
        if m.reuse_block == 0 || m.reuse_block > first {
            m.reuse_block = first;
            true
        } else {
            false
        }
    });
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amvacuumcleanup(
    vinfo: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
) -> *mut pg_sys::IndexBulkDeleteResult {
    // SAFETY: PostgreSQL passes a valid vacuum info.
    let (index, analyze_only) = unsafe { ((*vinfo).index, (*vinfo).analyze_only) };
    if analyze_only {
        return stats;
    }
    if !stats.is_null() {
        return stats;
    }
    // No bulk delete ran: count for the statistics.
    let stats = stats_or_new(stats);
    let meta = page::read_meta(index);
    let shape = Shape {
        m: meta.m as usize,
        dims: meta.dims as usize,
    };
    let mut live = 0f64;
    if meta.dims != 0 {
        each_element(index, shape, |_, e| {
            if !e.deleted() {
                live += 1.0;
            }
        });
    }
    // SAFETY: a valid result struct.
    unsafe {
        (*stats).num_pages = page::nblocks(index);
        (*stats).num_index_tuples = live;
    }
    stats
}
