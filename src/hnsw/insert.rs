//! INSERT: the graph is searched without locks beyond one page at a time,
//! the new element takes the slot of a tombstone VACUUM left (see `reuse`)
//! or is added to the last page (or a new one), then each chosen
//! neighbour's list is updated under its page's exclusive lock.
//!
//! A heavyweight lock on the meta block orders inserts that may change the
//! entry point: normal inserts take it shared, an insert whose element
//! becomes the new top (or the first) takes it exclusively, so no element is
//! ever left unreachable by two racing entry-point changes.

use super::page::{self, Buf, Element, Meta, PageGraph, Shape, Xlog, META_BLOCK};
use super::{info, Info};
use memory_core::hnsw::{plan_insert, relink, Params, Scored};
use pgrx::pg_sys;
use std::cell::Cell;

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0) };
}

fn random() -> u64 {
    RNG.with(|r| {
        let mut s = r.get();
        if s == 0 {
            // SAFETY: reading the backend's pid.
            let pid = unsafe { pg_sys::MyProcPid } as u64;
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1);
            s = t ^ pid.rotate_left(32) | 1;
        }
        let v = memory_core::hnsw::next_random(&mut s);
        r.set(s);
        v
    })
}

/// A heavyweight (lock-manager) lock on one block number of the index,
/// released on drop. Two tags are used: the meta block (`UpdateLock`, see
/// the module comment) and `REUSE_TAG` (see `reuse`).
pub struct PageLock {
    index: pg_sys::Relation,
    block: pg_sys::BlockNumber,
    mode: i32,
}

/// The entry-point lock on the meta block.
pub struct UpdateLock;

impl UpdateLock {
    pub fn take(index: pg_sys::Relation, mode: u32) -> PageLock {
        PageLock::take(index, META_BLOCK, mode)
    }
}

/// The tag of the lock that keeps inserts off tombstones while VACUUM runs
/// (a lock-manager tag only: no buffer lock is ever taken through it).
pub const REUSE_TAG: pg_sys::BlockNumber = 1;

impl PageLock {
    pub fn take(index: pg_sys::Relation, block: pg_sys::BlockNumber, mode: u32) -> PageLock {
        // SAFETY: page locks are ordinary lock-manager locks on the index.
        unsafe { pg_sys::LockPage(index, block, mode as i32) };
        PageLock {
            index,
            block,
            mode: mode as i32,
        }
    }

    /// The lock if it is free now, else None (never waits).
    pub fn try_take(
        index: pg_sys::Relation,
        block: pg_sys::BlockNumber,
        mode: u32,
    ) -> Option<PageLock> {
        // SAFETY: as in `take`.
        unsafe { pg_sys::ConditionalLockPage(index, block, mode as i32) }.then_some(PageLock {
            index,
            block,
            mode: mode as i32,
        })
    }
}

impl Drop for PageLock {
    fn drop(&mut self) {
        // SAFETY: taken by `take` or `try_take` with the same tag and mode.
        unsafe { pg_sys::UnlockPage(self.index, self.block, self.mode) };
    }
}

#[pgrx::pg_guard]
#[allow(clippy::too_many_arguments)] // PostgreSQL's signature
pub unsafe extern "C-unwind" fn aminsert(
    index: pg_sys::Relation,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    heap_tid: pg_sys::ItemPointer,
    _heap: pg_sys::Relation,
    _check_unique: pg_sys::IndexUniqueCheck::Type,
    _index_unchanged: bool,
    _index_info: *mut pg_sys::IndexInfo,
) -> bool {
    // SAFETY: one key column; values/isnull/heap_tid are valid for the call.
    let (datum, null, tid) = unsafe { (*values, *isnull, *heap_tid) };
    if null {
        return false;
    }
    let info = info(index);
    // SAFETY: a non-null datum of the indexed column's type.
    let v = unsafe { crate::types::varvec::datum_to_f32(datum, info.half) };
    insert_vector(index, &info, &v, page::tid_parts(&tid));
    false
}

fn becomes_entry(meta: &Meta, level: usize) -> bool {
    meta.entry().is_none_or(|(_, l)| level > l)
}

/// Inserts one vector; false when it cannot be indexed (zero vector under
/// cosine distance).
pub fn insert_vector(index: pg_sys::Relation, info: &Info, v: &[f32], heap: (u32, u16)) -> bool {
    let Some(prepared) = info.metric.prepare(v) else {
        return false;
    };
    super::check_storable(&prepared);
    let mut meta = page::read_meta(index);
    if meta.dims == 0 {
        page::update_meta(index, |m| {
            if m.dims == 0 {
                m.dims = v.len() as u32;
                true
            } else {
                false
            }
        });
        meta = page::read_meta(index);
    }
    if meta.dims as usize != v.len() {
        super::dims_mismatch(meta.dims as usize, v.len());
    }
    let shape = Shape {
        m: meta.m as usize,
        dims: meta.dims as usize,
    };
    let params = Params::new(shape.m, meta.ef_construction as usize);
    let level = params.level(random()).min(super::build::max_level(&shape));

    let mut mode = if becomes_entry(&meta, level) {
        pg_sys::ExclusiveLock
    } else {
        pg_sys::ShareLock
    };
    let mut lock = UpdateLock::take(index, mode);
    meta = page::read_meta(index);
    if mode == pg_sys::ShareLock && becomes_entry(&meta, level) {
        drop(lock);
        mode = pg_sys::ExclusiveLock;
        lock = UpdateLock::take(index, mode);
        meta = page::read_meta(index);
    }

    let mut g = PageGraph::new(index, info.metric, shape);
    let plan: Vec<Vec<Scored<u64>>> = match meta.entry() {
        Some((entry, entry_level)) => {
            plan_insert(&mut g, &prepared, entry, entry_level, level, &params)
        }
        None => Vec::new(),
    };
    let links: Vec<Vec<u64>> = (0..=level)
        .map(|l| {
            plan.get(l)
                .map(|c| c.iter().map(|s| s.id).collect())
                .unwrap_or_default()
        })
        .collect();
    let t = shape.encode(level, heap, &links, &prepared);
    // A tombstone's slot when VACUUM left some, else the last page; the
    // reuse lock (if a slot was reused) is held until the links are written.
    let (id, _reuse) = match reuse(index, &t, shape, meta.reuse_block, &links) {
        Some((id, held)) => (id, Some(held)),
        None => (place(index, &t), None),
    };

    for (lc, chosen) in plan.iter().enumerate() {
        for s in chosen {
            link(&mut g, s.id, lc, id, s.dist);
        }
    }
    if becomes_entry(&meta, level) {
        page::update_meta(index, |m| {
            if becomes_entry(m, level) {
                m.set_entry(Some((id, level)));
                true
            } else {
                false
            }
        });
    }
    drop(lock);
    true
}

/// Pages an insert looks at for a tombstone to reuse.
const REUSE_PAGES: u32 = 4;

/// Writes the element tuple `t` over a tombstone of the same size, looking
/// at a few pages from the meta page's `reuse_block` on; the new element's
/// id and the shared reuse lock, or None (append instead). VACUUM holds the
/// reuse lock exclusively while it runs (its passes read tombstones as
/// dead), so an insert then appends rather than wait. Slots among the
/// insert's own planned neighbours are passed over (they were live when the
/// plan read them, and the links to them are about to be written).
///
/// The hint moves past pages left without a level-0 tombstone (the common
/// size: about 15 of 16 elements): a tombstone of an upper level on such a
/// page stays unused, which costs little space and keeps each insert's
/// search short. A stale link to a reused slot (from an insert that raced
/// the VACUUM which made the tombstone) now leads to the new element: a
/// detour for a scan, never a wrong result, since the element is valid.
fn reuse(
    index: pg_sys::Relation,
    t: &[u8],
    shape: Shape,
    hint: u32,
    planned: &[Vec<u64>],
) -> Option<(u64, PageLock)> {
    if hint == 0 {
        return None;
    }
    let held = PageLock::try_take(index, REUSE_TAG, pg_sys::ShareLock)?;
    let n = page::nblocks(index);
    let common = shape.size(0);
    let end = n.min(hint.saturating_add(REUSE_PAGES));
    // The first page looked at that keeps a level-0 tombstone.
    let mut keep: Option<u32> = None;
    let mut found = None;
    for block in hint..end {
        let b = Buf::read(index, block, pg_sys::BUFFER_LOCK_EXCLUSIVE);
        // SAFETY: the page is pinned and exclusively locked.
        let max = unsafe { pg_sys::PageGetMaxOffsetNumber(b.page()) };
        let (mut target, mut common_left) = (None, 0usize);
        for offset in 1..=max {
            // SAFETY: as above; the slice is read under the lock.
            if let Some(it) = unsafe { page::item(b.page(), offset) } {
                if page::is_tombstone(it) {
                    // Not a slot this insert planned to link to (it was
                    // live when the plan read it).
                    if target.is_none()
                        && it.len() == t.len()
                        && !planned
                            .iter()
                            .flatten()
                            .any(|&p| p == page::pack(block, offset))
                    {
                        target = Some(offset);
                    } else if it.len() == common {
                        common_left += 1;
                    }
                }
            }
        }
        if let Some(offset) = target {
            let mut x = Xlog::start(index);
            let p = x.register(&b, false);
            // SAFETY: the WAL-tracked image of the exclusively locked page;
            // the item was a tombstone of exactly this size under the lock.
            if let Some(slot) = unsafe { page::item(p, offset) } {
                slot.copy_from_slice(t);
                x.finish();
                found = Some(page::pack(block, offset));
            }
        }
        if keep.is_none() && common_left > 0 {
            keep = Some(block);
        }
        if found.is_some() {
            break;
        }
    }
    // Move the hint on (never back: VACUUM sets it lower when it makes
    // new tombstones); past the end there is nothing left to reuse.
    let next = match (keep, found) {
        (Some(b), _) => b,
        (None, Some(id)) => page::unpack(id).0 + 1,
        (None, None) => end,
    };
    let next = if next >= n { 0 } else { next };
    if next != hint {
        page::update_meta(index, |m| {
            if m.reuse_block == hint {
                m.reuse_block = next;
                true
            } else {
                false
            }
        });
    }
    found.map(|id| (id, held))
}

/// Adds an element tuple to the last page, or to a new page; its id.
fn place(index: pg_sys::Relation, t: &[u8]) -> u64 {
    let n = page::nblocks(index);
    if n > 1 {
        let b = Buf::read(index, n - 1, pg_sys::BUFFER_LOCK_EXCLUSIVE);
        // A page left all-zero by a crash (or an error) right after the
        // relation was extended is initialized, not written into.
        // SAFETY: the page is pinned and exclusively locked.
        let fresh = unsafe { pg_sys::PageIsNew(b.page()) };
        let mut x = Xlog::start(index);
        let p = x.register(&b, fresh);
        if fresh {
            // SAFETY: `p` is the WAL-tracked image of the locked page.
            unsafe { page::init_page(p) };
        }
        // SAFETY: as above.
        if let Some(off) = unsafe { page::add_item(p, t) } {
            x.finish();
            return page::pack(n - 1, off);
        }
    }
    let b = Buf::extend(index, pg_sys::ForkNumber::MAIN_FORKNUM);
    let mut x = Xlog::start(index);
    let p = x.register(&b, true);
    // SAFETY: the WAL-tracked image of a new, exclusively locked page.
    let off = unsafe {
        page::init_page(p);
        page::add_item(p, t)
    };
    let Some(off) = off else {
        crate::error::report(
            pgrx::PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            "memory_hnsw element does not fit a page",
            Some(format!("{} bytes", t.len())),
            None,
        );
    };
    x.finish();
    page::pack(b.block(), off)
}

/// Adds `new` to the neighbour list of `node` on `level`, pruning with the
/// heuristic when full. The new list is computed from a snapshot of the old
/// one, then written only if the list did not change meanwhile (retried).
pub fn link(g: &mut PageGraph, node: u64, level: usize, new: u64, dist: f32) {
    let cap = g.shape.cap(level);
    for _ in 0..4 {
        let current = g.level_links(node, level);
        let next = relink(g, node, &current, new, dist, cap);
        if next == current {
            return;
        }
        if write_links(g, node, level, &current, &next) {
            return;
        }
    }
}

/// Replaces the neighbour list of `node` on `level` by `next` if it still
/// equals `expected`; false when another backend changed it first.
pub fn write_links(
    g: &mut PageGraph,
    node: u64,
    level: usize,
    expected: &[u64],
    next: &[u64],
) -> bool {
    let (block, offset) = page::unpack(node);
    let b = Buf::read(g.index, block, pg_sys::BUFFER_LOCK_EXCLUSIVE);
    let mut x = Xlog::start(g.index);
    let p = x.register(&b, false);
    // SAFETY: `p` is the WAL-tracked image of the exclusively locked page;
    // the slice is used only while the lock is held.
    let Some(t) = (unsafe { page::item(p, offset) }) else {
        return false;
    };
    let mut now = Vec::new();
    match Element::parse(t, g.shape) {
        Some(e) => e.links(level, &mut now),
        None => return false,
    }
    if now != expected {
        return false;
    }
    g.shape.write_links(t, level, next);
    x.finish();
    true
}
