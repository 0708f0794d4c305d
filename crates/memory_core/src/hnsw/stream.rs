//! Layer-0 search that keeps going: an index scan hands out results in
//! batches of `ef`, and when the executor asks for more (because a filter
//! rejected rows), the search resumes from where it stopped instead of
//! starting over. Nothing discovered is forgotten, so a scan that is asked
//! for everything eventually returns every reachable element once.

use super::{Graph, Scored};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

pub struct Stream<I> {
    ef: usize,
    /// Discovered elements whose neighbours are not yet examined.
    cand: BinaryHeap<Reverse<Scored<I>>>,
    /// Discovered live elements not yet returned nor in `ready`.
    pending: BinaryHeap<Reverse<Scored<I>>>,
    /// The current batch, farthest first (pop gives the nearest).
    ready: Vec<Scored<I>>,
    discovered: usize,
    /// A batch has run since `start`.
    searched: bool,
}

impl<I: Copy + Ord> Stream<I> {
    pub fn new(ef: usize) -> Stream<I> {
        Stream {
            ef: ef.max(1),
            cand: BinaryHeap::new(),
            pending: BinaryHeap::new(),
            ready: Vec::new(),
            discovered: 0,
            searched: false,
        }
    }

    /// Starts at layer 0 from `entry` (found by descending the upper layers).
    pub fn start<G: Graph<Id = I>>(&mut self, g: &mut G, entry: Scored<I>) {
        g.reset_visited();
        self.cand.clear();
        self.pending.clear();
        self.ready.clear();
        g.visit(entry.id);
        self.discovered = 1;
        self.searched = false;
        self.cand.push(Reverse(entry));
        if g.is_live(entry.id) {
            self.pending.push(Reverse(entry));
        }
    }

    /// Elements whose distance was computed so far.
    pub fn discovered(&self) -> usize {
        self.discovered
    }

    /// The next element, nearest first within each batch of `ef`.
    ///
    /// Between batches, a pending element no farther than every unexpanded
    /// candidate is handed out without searching: the search stops by the
    /// same rule (nothing it would expand next is nearer). An executor that
    /// asks for one element past a batch, only to bound the reordering of
    /// what it already has (`LIMIT k` with `ef = k`), then costs no second
    /// search.
    pub fn next<G: Graph<Id = I>>(&mut self, g: &mut G, query: &[f32]) -> Option<Scored<I>> {
        if self.ready.is_empty() {
            if self.searched {
                if let Some(&Reverse(p)) = self.pending.peek() {
                    if self.cand.peek().is_none_or(|&Reverse(c)| p.dist <= c.dist) {
                        self.pending.pop();
                        return Some(p);
                    }
                }
            }
            self.batch(g, query);
            self.searched = true;
        }
        self.ready.pop()
    }

    /// Standard bounded search over what is left: seeded with the best
    /// `ef` pending elements, expanding candidates nearer than the current
    /// ef-th best. Elements pushed out of the batch stay pending.
    fn batch<G: Graph<Id = I>>(&mut self, g: &mut G, query: &[f32]) {
        let mut best: BinaryHeap<Scored<I>> = BinaryHeap::new();
        while best.len() < self.ef {
            match self.pending.pop() {
                Some(Reverse(s)) => best.push(s),
                None => break,
            }
        }
        let mut nb = Vec::new();
        while let Some(&Reverse(c)) = self.cand.peek() {
            if best.len() >= self.ef && best.peek().is_some_and(|w| c.dist > w.dist) {
                break;
            }
            self.cand.pop();
            nb.clear();
            g.neighbors(c.id, 0, &mut nb);
            for &n in &nb {
                if !g.visit(n) {
                    continue;
                }
                self.discovered += 1;
                let s = Scored {
                    dist: g.distance(query, n),
                    id: n,
                };
                self.cand.push(Reverse(s));
                if !g.is_live(n) {
                    continue;
                }
                if best.len() < self.ef {
                    best.push(s);
                } else if best.peek().is_some_and(|w| s.dist < w.dist) {
                    best.push(s);
                    if let Some(out) = best.pop() {
                        self.pending.push(Reverse(out));
                    }
                } else {
                    self.pending.push(Reverse(s));
                }
            }
        }
        self.ready = best.into_sorted_vec();
        self.ready.reverse();
    }
}
