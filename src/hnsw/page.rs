//! How the graph lives on pages, and the guards that keep buffer pins,
//! buffer locks and WAL records balanced.
//!
//! Block 0 is the meta page. Every other block holds element tuples:
//!
//! ```text
//! 0  kind u8 (1)   1 level u8   2 flags u8 (1 = deleted)   3 unused
//! 4  heap block u32            8 heap offset u16           10 unused
//! 12 per level 0..=level: count u16, then capacity × (block u32, offset u16)
//!    (capacity 2m on level 0, m above)
//! .. the vector, dims × f16
//! ```
//!
//! An element is addressed by its index TID packed into a u64
//! (`block << 16 | offset`). Neighbour lists have a fixed capacity, so they
//! are rewritten in place. Every change goes through GenericXLog.

use half::f16;
use memory_core::hnsw::{Graph, Metric};
use pgrx::pg_sys;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

pub const META_BLOCK: pg_sys::BlockNumber = 0;
const MAGIC: u32 = 0x4d48_4e57; // "MHNW"
const VERSION: u32 = 1;
const HEADER: usize = 12;
const KIND_ELEMENT: u8 = 1;
const FLAG_DELETED: u8 = 1;

/// Contents of the meta page.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    magic: u32,
    version: u32,
    pub dims: u32,
    pub m: u32,
    pub ef_construction: u32,
    pub entry_block: u32,
    pub entry_offset: u16,
    pub entry_level: u16,
    /// The first block that may hold tombstones an insert can reuse (set by
    /// VACUUM, moved on by inserts); 0 when none. Meta pages written before
    /// this field existed read 0 here (the page's unused space is zero).
    pub reuse_block: u32,
}

impl Meta {
    pub fn new(dims: usize, m: usize, ef_construction: usize) -> Meta {
        Meta {
            magic: MAGIC,
            version: VERSION,
            dims: dims as u32,
            m: m as u32,
            ef_construction: ef_construction as u32,
            entry_block: pg_sys::InvalidBlockNumber,
            entry_offset: 0,
            entry_level: 0,
            reuse_block: 0,
        }
    }

    pub fn entry(&self) -> Option<(u64, usize)> {
        (self.entry_block != pg_sys::InvalidBlockNumber).then(|| {
            (
                pack(self.entry_block, self.entry_offset),
                self.entry_level as usize,
            )
        })
    }

    pub fn set_entry(&mut self, entry: Option<(u64, usize)>) {
        match entry {
            Some((id, level)) => {
                (self.entry_block, self.entry_offset) = unpack(id);
                self.entry_level = level as u16;
            }
            None => {
                self.entry_block = pg_sys::InvalidBlockNumber;
                self.entry_offset = 0;
                self.entry_level = 0;
            }
        }
    }
}

pub fn pack(block: pg_sys::BlockNumber, offset: pg_sys::OffsetNumber) -> u64 {
    (block as u64) << 16 | offset as u64
}

pub fn unpack(id: u64) -> (pg_sys::BlockNumber, pg_sys::OffsetNumber) {
    ((id >> 16) as u32, (id & 0xffff) as u16)
}

pub fn item_pointer(block: u32, offset: u16) -> pg_sys::ItemPointerData {
    pg_sys::ItemPointerData {
        ip_blkid: pg_sys::BlockIdData {
            bi_hi: (block >> 16) as u16,
            bi_lo: (block & 0xffff) as u16,
        },
        ip_posid: offset,
    }
}

pub fn tid_parts(t: &pg_sys::ItemPointerData) -> (u32, u16) {
    (
        (t.ip_blkid.bi_hi as u32) << 16 | t.ip_blkid.bi_lo as u32,
        t.ip_posid,
    )
}

/// Layout of an element tuple of a given index shape.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub m: usize,
    pub dims: usize,
}

impl Shape {
    pub fn cap(&self, level: usize) -> usize {
        if level == 0 {
            2 * self.m
        } else {
            self.m
        }
    }

    fn level_offset(&self, level: usize) -> usize {
        HEADER + (0..level).map(|l| 2 + 6 * self.cap(l)).sum::<usize>()
    }

    pub fn vector_offset(&self, level: usize) -> usize {
        self.level_offset(level + 1)
    }

    pub fn size(&self, level: usize) -> usize {
        self.vector_offset(level) + 2 * self.dims
    }

    /// A new element tuple.
    pub fn encode(
        &self,
        level: usize,
        heap: (u32, u16),
        links: &[Vec<u64>],
        vector: &[f32],
    ) -> Vec<u8> {
        let mut t = vec![0u8; self.size(level)];
        t[0] = KIND_ELEMENT;
        t[1] = level as u8;
        t[4..8].copy_from_slice(&heap.0.to_le_bytes());
        t[8..10].copy_from_slice(&heap.1.to_le_bytes());
        for (l, ids) in links.iter().enumerate().take(level + 1) {
            self.write_links(&mut t, l, ids);
        }
        let off = self.vector_offset(level);
        for (i, &x) in vector.iter().enumerate() {
            let h = f16::from_f32(x).to_bits().to_le_bytes();
            t[off + 2 * i..off + 2 * i + 2].copy_from_slice(&h);
        }
        t
    }

    /// Overwrites the neighbour list of `level` in an element tuple.
    pub fn write_links(&self, t: &mut [u8], level: usize, ids: &[u64]) {
        let off = self.level_offset(level);
        let n = ids.len().min(self.cap(level));
        t[off..off + 2].copy_from_slice(&(n as u16).to_le_bytes());
        for (i, &id) in ids.iter().take(n).enumerate() {
            let (b, o) = unpack(id);
            let p = off + 2 + 6 * i;
            t[p..p + 4].copy_from_slice(&b.to_le_bytes());
            t[p + 4..p + 6].copy_from_slice(&o.to_le_bytes());
        }
    }
}

/// A read-only view of an element tuple on a page.
pub struct Element<'a> {
    bytes: &'a [u8],
    shape: Shape,
}

impl<'a> Element<'a> {
    /// None when the bytes are not an element of this shape.
    pub fn parse(bytes: &'a [u8], shape: Shape) -> Option<Element<'a>> {
        if bytes.len() < HEADER || bytes[0] != KIND_ELEMENT {
            return None;
        }
        let e = Element { bytes, shape };
        (bytes.len() >= shape.size(e.level())).then_some(e)
    }

    pub fn level(&self) -> usize {
        self.bytes[1] as usize
    }

    pub fn deleted(&self) -> bool {
        self.bytes[2] & FLAG_DELETED != 0
    }

    pub fn heap(&self) -> (u32, u16) {
        let b = &self.bytes;
        (
            u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            u16::from_le_bytes([b[8], b[9]]),
        )
    }

    pub fn links(&self, level: usize, out: &mut Vec<u64>) {
        if level > self.level() {
            return;
        }
        let off = self.shape.level_offset(level);
        let b = &self.bytes;
        let n = (u16::from_le_bytes([b[off], b[off + 1]]) as usize).min(self.shape.cap(level));
        for i in 0..n {
            let p = off + 2 + 6 * i;
            let blk = u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]);
            let o = u16::from_le_bytes([b[p + 4], b[p + 5]]);
            out.push(pack(blk, o));
        }
    }

    /// The stored vector. Tuples are MAXALIGNed on the page and the vector
    /// starts at an even offset, so the f16 view is aligned; a misaligned
    /// buffer (never produced by PostgreSQL) is copied instead.
    pub fn with_vector<R>(&self, f: impl FnOnce(&[f16]) -> R) -> R {
        let off = self.shape.vector_offset(self.level());
        let raw = &self.bytes[off..off + 2 * self.shape.dims];
        if (raw.as_ptr() as usize).is_multiple_of(std::mem::align_of::<f16>()) {
            // SAFETY: `raw` is in bounds, 2-byte aligned (checked) and holds
            // `dims` little-endian f16 values; every bit pattern is an f16.
            let v =
                unsafe { std::slice::from_raw_parts(raw.as_ptr().cast::<f16>(), self.shape.dims) };
            f(v)
        } else {
            let v: Vec<f16> = raw
                .chunks_exact(2)
                .map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]])))
                .collect();
            f(&v)
        }
    }
}

/// Whether an item is an element marked deleted (a tombstone, whose slot
/// an insert of an element of the same size may take over).
pub fn is_tombstone(t: &[u8]) -> bool {
    t.len() > HEADER && t[0] == KIND_ELEMENT && t[2] & FLAG_DELETED != 0
}

/// Marks an element tuple deleted (in a page image being modified).
pub fn mark_deleted(t: &mut [u8]) {
    t[2] |= FLAG_DELETED;
    t[4..10].fill(0);
}

// ---------------------------------------------------------------------------
// Buffers and WAL.

/// A pinned buffer, locked or not; released on drop, also when an ERROR
/// unwinds through the caller.
pub struct Buf {
    pub buf: pg_sys::Buffer,
    locked: bool,
}

impl Buf {
    /// Pins `block` of the main fork and locks it (`SHARE` or `EXCLUSIVE`).
    pub fn read(index: pg_sys::Relation, block: pg_sys::BlockNumber, mode: u32) -> Buf {
        // SAFETY: `index` is an open relation; a block past the end raises
        // a PostgreSQL ERROR rather than returning garbage.
        let buf = unsafe {
            pg_sys::ReadBufferExtended(
                index,
                pg_sys::ForkNumber::MAIN_FORKNUM,
                block,
                pg_sys::ReadBufferMode::RBM_NORMAL,
                std::ptr::null_mut(),
            )
        };
        let mut b = Buf { buf, locked: false };
        b.lock(mode);
        b
    }

    /// Adds a new block to the index and returns it pinned and exclusively
    /// locked (not yet initialized). RBM_ZERO_AND_LOCK takes the content
    /// lock before the new buffer becomes valid, so a backend that finds the
    /// block through the relation size (inserts append to the last block)
    /// waits until it is initialized instead of initializing it too.
    pub fn extend(index: pg_sys::Relation, fork: pg_sys::ForkNumber::Type) -> Buf {
        // SAFETY: the relation extension lock serializes extenders; P_NEW
        // with RBM_ZERO_AND_LOCK returns a new, pinned, zeroed buffer whose
        // content lock we hold.
        let buf = unsafe {
            pg_sys::LockRelationForExtension(index, pg_sys::ExclusiveLock as i32);
            let buf = pg_sys::ReadBufferExtended(
                index,
                fork,
                pg_sys::InvalidBlockNumber, // P_NEW
                pg_sys::ReadBufferMode::RBM_ZERO_AND_LOCK,
                std::ptr::null_mut(),
            );
            pg_sys::UnlockRelationForExtension(index, pg_sys::ExclusiveLock as i32);
            buf
        };
        Buf { buf, locked: true }
    }

    pub fn lock(&mut self, mode: u32) {
        // SAFETY: the buffer is pinned by this guard.
        unsafe { pg_sys::LockBuffer(self.buf, mode as i32) };
        self.locked = true;
    }

    pub fn page(&self) -> pg_sys::Page {
        // SAFETY: the buffer is pinned.
        unsafe { pg_sys::BufferGetPage(self.buf) }
    }

    pub fn block(&self) -> pg_sys::BlockNumber {
        // SAFETY: the buffer is pinned.
        unsafe { pg_sys::BufferGetBlockNumber(self.buf) }
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        // SAFETY: this guard holds the pin (and the lock when `locked`).
        unsafe {
            if self.locked {
                pg_sys::UnlockReleaseBuffer(self.buf);
            } else {
                pg_sys::ReleaseBuffer(self.buf);
            }
        }
    }
}

/// One GenericXLog record over at most four buffers. Changes are made to
/// the page images it returns and applied atomically by `finish`; dropping
/// it unfinished abandons them.
pub struct Xlog {
    state: *mut pg_sys::GenericXLogState,
}

impl Xlog {
    pub fn start(index: pg_sys::Relation) -> Xlog {
        // SAFETY: `index` is open and locked by the caller's transaction.
        Xlog {
            state: unsafe { pg_sys::GenericXLogStart(index) },
        }
    }

    /// Registers a locked buffer; `full` for a freshly initialized page.
    pub fn register(&mut self, buf: &Buf, full: bool) -> pg_sys::Page {
        let flags = if full {
            pg_sys::GENERIC_XLOG_FULL_IMAGE as i32
        } else {
            0
        };
        // SAFETY: the buffer is pinned and exclusively locked by `buf`.
        unsafe { pg_sys::GenericXLogRegisterBuffer(self.state, buf.buf, flags) }
    }

    pub fn finish(mut self) {
        // SAFETY: the state came from GenericXLogStart and is finished once.
        unsafe { pg_sys::GenericXLogFinish(self.state) };
        self.state = std::ptr::null_mut();
    }
}

impl Drop for Xlog {
    fn drop(&mut self) {
        if !self.state.is_null() {
            // SAFETY: an unfinished state; abort frees it without logging.
            unsafe { pg_sys::GenericXLogAbort(self.state) };
        }
    }
}

/// The bytes of item `offset` on `page`, when it is a normal item.
///
/// # Safety
/// `page` must be a pinned, locked page of at least share mode, and the
/// returned slice must not outlive the lock.
pub unsafe fn item<'a>(page: pg_sys::Page, offset: pg_sys::OffsetNumber) -> Option<&'a mut [u8]> {
    // SAFETY: per the function's contract.
    unsafe {
        if offset == 0 || offset > pg_sys::PageGetMaxOffsetNumber(page) {
            return None;
        }
        let iid = pg_sys::PageGetItemId(page, offset);
        if (*iid).lp_flags() != pg_sys::LP_NORMAL {
            return None;
        }
        let len = (*iid).lp_len() as usize;
        let p = pg_sys::PageGetItem(page, iid).cast::<u8>();
        Some(std::slice::from_raw_parts_mut(p, len))
    }
}

/// Hints the CPU to load `len` bytes of `t` from `from` into its caches.
#[inline]
fn prefetch(t: &[u8], from: usize, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let end = (from + len).min(t.len());
        let mut i = from;
        while i < end {
            // SAFETY: a prefetch hint reads nothing and cannot fault; the
            // address is inside `t`.
            unsafe {
                std::arch::x86_64::_mm_prefetch(
                    t.as_ptr().add(i).cast::<i8>(),
                    std::arch::x86_64::_MM_HINT_T0,
                )
            };
            i += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (t, from, len);
}

/// Initializes a page for element tuples.
///
/// # Safety
/// `page` must be an exclusively locked (or private) page image.
pub unsafe fn init_page(page: pg_sys::Page) {
    // SAFETY: per the function's contract.
    unsafe { pg_sys::PageInit(page, pg_sys::BLCKSZ as usize, 0) };
}

/// Adds a tuple to a page; the offset, or None when it does not fit.
///
/// # Safety
/// `page` must be an exclusively locked (or private) page image.
pub unsafe fn add_item(page: pg_sys::Page, t: &[u8]) -> Option<pg_sys::OffsetNumber> {
    // SAFETY: per the function's contract; PageAddItem copies `t` and
    // returns InvalidOffsetNumber when it does not fit.
    unsafe {
        let off = pg_sys::PageAddItemExtended(
            page,
            t.as_ptr() as pg_sys::Item,
            t.len(),
            pg_sys::InvalidOffsetNumber,
            0,
        );
        (off != pg_sys::InvalidOffsetNumber).then_some(off)
    }
}

/// Writes the meta page contents into a page image.
///
/// # Safety
/// `page` must be an exclusively locked (or private) page image.
pub unsafe fn write_meta(page: pg_sys::Page, meta: &Meta, init: bool) {
    // SAFETY: per the function's contract; the meta struct fits the page.
    unsafe {
        if init {
            pg_sys::PageInit(page, pg_sys::BLCKSZ as usize, 0);
        }
        let p = pg_sys::PageGetContents(page).cast::<Meta>();
        p.write_unaligned(*meta);
        // pd_lower past the contents, so full-page images keep them.
        let header = page.cast::<pg_sys::PageHeaderData>();
        (*header).pd_lower =
            (p.cast::<u8>().add(std::mem::size_of::<Meta>()) as usize - page as usize) as u16;
    }
}

/// The meta page's contents.
pub fn read_meta(index: pg_sys::Relation) -> Meta {
    let b = Buf::read(index, META_BLOCK, pg_sys::BUFFER_LOCK_SHARE);
    // SAFETY: share-locked meta page; the contents are copied out.
    let meta = unsafe {
        pg_sys::PageGetContents(b.page())
            .cast::<Meta>()
            .read_unaligned()
    };
    if meta.magic != MAGIC || meta.version != VERSION {
        crate::error::report(
            pgrx::PgSqlErrorCode::ERRCODE_INDEX_CORRUPTED,
            "memory_hnsw index has an unknown format",
            Some(format!("magic {:#x}, version {}", meta.magic, meta.version)),
            Some("REINDEX the index.".into()),
        );
    }
    meta
}

/// Updates the meta page under an exclusive lock: `f` gets the current
/// contents and returns whether it changed them.
pub fn update_meta(index: pg_sys::Relation, f: impl FnOnce(&mut Meta) -> bool) {
    let b = Buf::read(index, META_BLOCK, pg_sys::BUFFER_LOCK_EXCLUSIVE);
    // SAFETY: exclusively locked meta page.
    let mut meta = unsafe {
        pg_sys::PageGetContents(b.page())
            .cast::<Meta>()
            .read_unaligned()
    };
    if f(&mut meta) {
        let mut x = Xlog::start(index);
        let page = x.register(&b, false);
        // SAFETY: `page` is the WAL-tracked image of the locked meta page.
        unsafe { write_meta(page, &meta, false) };
        x.finish();
    }
}

pub fn nblocks(index: pg_sys::Relation) -> pg_sys::BlockNumber {
    // SAFETY: `index` is open.
    unsafe { pg_sys::RelationGetNumberOfBlocksInFork(index, pg_sys::ForkNumber::MAIN_FORKNUM) }
}

fn corrupted(id: u64) -> ! {
    let (b, o) = unpack(id);
    crate::error::report(
        pgrx::PgSqlErrorCode::ERRCODE_INDEX_CORRUPTED,
        "memory_hnsw index links to a missing element",
        Some(format!("element ({b},{o})")),
        Some("REINDEX the index.".into()),
    )
}

// ---------------------------------------------------------------------------
// The graph over pages.

/// Multiply-fold hasher for element ids (SipHash is 3x slower here and
/// ids are not attacker-chosen). The product's high half is folded into
/// the low one: hashbrown picks buckets by the low bits, which in a bare
/// product depend only on the id's low bits (its line pointer offset, the
/// same few values on every page), so most ids would share a bucket chain.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        let x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = x ^ (x >> 32);
    }
}

pub type IdSet = HashSet<u64, BuildHasherDefault<IdHasher>>;
pub type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// [`Graph`] over the index pages: each access pins, share-locks, reads and
/// releases one page.
pub struct PageGraph {
    pub index: pg_sys::Relation,
    pub metric: Metric,
    pub shape: Shape,
    visited: IdSet,
    dead: IdSet,
    /// Ids VACUUM treats as dead whatever their page says (`mark_dead`).
    forced: IdSet,
    /// Elements' stored vectors widened once per operation: the slot of
    /// each in `arena` (dims values per slot).
    slots: IdMap<u32>,
    arena: Vec<f32>,
    /// Pages read, for statistics.
    pub reads: u64,
}

impl PageGraph {
    pub fn new(index: pg_sys::Relation, metric: Metric, shape: Shape) -> PageGraph {
        PageGraph {
            index,
            metric,
            shape,
            visited: IdSet::default(),
            dead: IdSet::default(),
            forced: IdSet::default(),
            slots: IdMap::default(),
            arena: Vec::new(),
            reads: 0,
        }
    }

    /// Runs `f` on element `id` under a share lock.
    pub fn with<R>(&mut self, id: u64, f: impl FnOnce(&Element) -> R) -> R {
        self.read(id, false, f)
    }

    /// `with`, first asking the CPU for the cache lines of the element's
    /// vector when `vector` is set: the vector of a bottom-layer element
    /// (most are) starts after its links, and its lines then arrive
    /// together instead of one after another in the distance computation.
    #[inline]
    fn read<R>(&mut self, id: u64, vector: bool, f: impl FnOnce(&Element) -> R) -> R {
        let (block, offset) = unpack(id);
        self.reads += 1;
        let b = Buf::read(self.index, block, pg_sys::BUFFER_LOCK_SHARE);
        // SAFETY: the page is pinned and share-locked by `b` for the whole
        // time the slice is used.
        let bytes = unsafe { item(b.page(), offset) };
        if vector {
            if let Some(t) = bytes.as_deref() {
                prefetch(t, self.shape.vector_offset(0), 2 * self.shape.dims);
            }
        }
        let Some(e) = bytes.and_then(|t| Element::parse(t, self.shape)) else {
            drop(b);
            corrupted(id)
        };
        if e.deleted() {
            self.dead.insert(id);
        } else if !self.dead.is_empty() {
            // A tombstone seen earlier in this operation may have been taken
            // over by an insert since: it is a live element again.
            self.dead.remove(&id);
        }
        f(&e)
    }

    /// The slot in `arena` of the element's stored vector, widened
    /// (once per operation).
    fn slot(&mut self, id: u64) -> usize {
        if let Some(&k) = self.slots.get(&id) {
            return k as usize;
        }
        let k = self.slots.len();
        let mut arena = std::mem::take(&mut self.arena);
        self.with(id, |e| {
            e.with_vector(|v| memory_core::vector::extend_from_f16(&mut arena, v))
        });
        self.arena = arena;
        self.slots.insert(id, k as u32);
        k
    }

    pub fn level_links(&mut self, id: u64, level: usize) -> Vec<u64> {
        let mut out = Vec::new();
        self.with(id, |e| e.links(level, &mut out));
        out
    }

    /// Treats these elements as deleted (VACUUM, before marking them).
    pub fn mark_dead(&mut self, ids: &IdSet) {
        self.forced.extend(ids.iter().copied());
    }

    pub fn was_visited(&self, id: u64) -> bool {
        self.visited.contains(&id)
    }
}

impl Graph for PageGraph {
    type Id = u64;

    fn distance(&mut self, query: &[f32], id: u64) -> f32 {
        let metric = self.metric;
        self.read(id, true, |e| {
            e.with_vector(|v| metric.distance_f16(query, v))
        })
    }

    fn between(&mut self, a: u64, b: u64) -> f32 {
        let d = self.shape.dims;
        let (ka, kb) = (self.slot(a), self.slot(b));
        self.metric.distance(
            &self.arena[ka * d..(ka + 1) * d],
            &self.arena[kb * d..(kb + 1) * d],
        )
    }

    fn neighbors(&mut self, id: u64, level: usize, out: &mut Vec<u64>) {
        self.with(id, |e| e.links(level, out));
    }

    fn visit(&mut self, id: u64) -> bool {
        self.visited.insert(id)
    }

    fn reset_visited(&mut self) {
        self.visited.clear();
    }

    fn is_live(&mut self, id: u64) -> bool {
        !self.dead.contains(&id) && !self.forced.contains(&id)
    }
}
