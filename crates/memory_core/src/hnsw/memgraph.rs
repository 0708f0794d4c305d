//! An HNSW graph held in memory: what `CREATE INDEX` builds before writing
//! pages, and what the unit tests exercise.

use super::{
    descend, next_random, plan_insert, relink, search_layer, Graph, Metric, Params, Scored,
};

/// Graph of prepared f32 vectors with dense `u32` ids in insertion order.
pub struct MemGraph {
    metric: Metric,
    dims: usize,
    params: Params,
    data: Vec<f32>,
    levels: Vec<u8>,
    /// Per element, per level: `[count, ids...]` blocks (capacity 2m on
    /// level 0, m above).
    links: Vec<Box<[u32]>>,
    entry: Option<(u32, usize)>,
    stamps: Vec<u32>,
    stamp: u32,
    rng: u64,
    bytes: usize,
}

impl MemGraph {
    pub fn new(metric: Metric, dims: usize, params: Params, seed: u64) -> MemGraph {
        MemGraph {
            metric,
            dims,
            params,
            data: Vec::new(),
            levels: Vec::new(),
            links: Vec::new(),
            entry: None,
            stamps: Vec::new(),
            stamp: 1,
            rng: seed,
            bytes: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Entry point and its layer.
    pub fn entry(&self) -> Option<(u32, usize)> {
        self.entry
    }

    pub fn level_of(&self, id: u32) -> usize {
        self.levels[id as usize] as usize
    }

    pub fn vector(&self, id: u32) -> &[f32] {
        let s = id as usize * self.dims;
        &self.data[s..s + self.dims]
    }

    /// Neighbours of `id` on `level`.
    pub fn links(&self, id: u32, level: usize) -> &[u32] {
        let block = &self.links[id as usize][self.offset(level)..];
        &block[1..1 + block[0] as usize]
    }

    /// Approximate heap memory held, for maintenance_work_mem accounting.
    pub fn memory_bytes(&self) -> usize {
        self.bytes
    }

    /// Bytes one more element of `level` will take.
    pub fn element_bytes(&self, level: usize) -> usize {
        self.dims * 4 + self.offset(level + 1) * 4 + 24 + 1 + 4
    }

    fn offset(&self, level: usize) -> usize {
        if level == 0 {
            0
        } else {
            1 + self.params.max_links(0) + (level - 1) * (1 + self.params.m)
        }
    }

    fn set_links(&mut self, id: u32, level: usize, ids: &[u32]) {
        let off = self.offset(level);
        let block = &mut self.links[id as usize][off..];
        block[0] = ids.len() as u32;
        block[1..1 + ids.len()].copy_from_slice(ids);
    }

    /// Inserts a prepared vector (see [`Metric::prepare`]); returns its id.
    pub fn insert(&mut self, v: &[f32]) -> u32 {
        assert_eq!(v.len(), self.dims, "dimension checked by the caller");
        let level = self.params.level(next_random(&mut self.rng));
        let id = self.levels.len() as u32;
        self.bytes += self.element_bytes(level);
        self.data.extend_from_slice(v);
        self.levels.push(level as u8);
        self.links
            .push(vec![0u32; self.offset(level + 1)].into_boxed_slice());
        self.stamps.push(0);
        let Some((entry, entry_level)) = self.entry else {
            self.entry = Some((id, level));
            return id;
        };
        let plan = plan_insert(self, v, entry, entry_level, level, &self.params.clone());
        for (lc, chosen) in plan.iter().enumerate() {
            let ids: Vec<u32> = chosen.iter().map(|s| s.id).collect();
            self.set_links(id, lc, &ids);
            let cap = self.params.max_links(lc);
            for s in chosen {
                let current = self.links(s.id, lc).to_vec();
                let next = relink(self, s.id, &current, id, s.dist, cap);
                self.set_links(s.id, lc, &next);
            }
        }
        if level > entry_level {
            self.entry = Some((id, level));
        }
        id
    }

    /// The `k` nearest elements to a prepared query, searching with `ef`.
    pub fn search(&mut self, q: &[f32], k: usize, ef: usize) -> Vec<Scored<u32>> {
        let Some((entry, entry_level)) = self.entry else {
            return Vec::new();
        };
        let ep = descend(self, q, entry, entry_level, 0);
        let mut found = search_layer(self, q, &[ep], ef.max(k), 0);
        found.truncate(k);
        found
    }
}

impl Graph for MemGraph {
    type Id = u32;

    #[inline]
    fn distance(&mut self, query: &[f32], id: u32) -> f32 {
        self.metric.distance(query, self.vector(id))
    }

    #[inline]
    fn between(&mut self, a: u32, b: u32) -> f32 {
        self.metric.distance(self.vector(a), self.vector(b))
    }

    #[inline]
    fn neighbors(&mut self, id: u32, level: usize, out: &mut Vec<u32>) {
        out.extend_from_slice(self.links(id, level));
    }

    #[inline]
    fn visit(&mut self, id: u32) -> bool {
        let s = &mut self.stamps[id as usize];
        if *s == self.stamp {
            false
        } else {
            *s = self.stamp;
            true
        }
    }

    fn reset_visited(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.stamp = 1;
        }
    }

    #[inline]
    fn is_live(&mut self, _id: u32) -> bool {
        true
    }
}
