//! Ranking: BM25 for the keyword channel, and the fusion of channels.
//!
//! BM25 (Robertson/Sparck Jones, Lucene's non-negative IDF):
//!   idf(t)   = ln(1 + (N - df + 0.5) / (df + 0.5))
//!   score(d) = Σ_t idf(t) · tf·(k1 + 1) / (tf + k1·(1 - b + b·|d|/avgdl))
//! with k1 = 1.2, b = 0.5 (chat messages and facts are short and their
//! length says little; 0.5 beat 0.75 on LoCoMo and `benches/retrieval`); N, df and avgdl are taken over the searched set
//! (the scope after filters), so one tenant's vocabulary never weighs
//! another's.
//!
//! Fusion (`score`, the default) is calibrated: each channel's scores become
//! standard scores over the candidates that channel returned, z = (s − mean)
//! / sd, so a channel counts by how far a candidate stands out from the rest
//! of its list, not by its raw units (cosines crowd into a narrow band,
//! BM25 spreads wide). A candidate a channel did not return gets that
//! channel's lowest z; a channel whose scores are all equal counts as 1 for
//! its candidates and 0 for the others. The fused value is the weighted mean
//! of the z's, later raised by the time and neighbour boosts (`boosted`) and
//! mapped to (0, 1) by the logistic function (`unit`): 0.5 is an average
//! candidate.
//! `max` (the fusion before LoCoMo) scales each channel as (s − lo) / (hi −
//! lo), hi its best score, lo = min(0, its worst), and takes the weighted
//! mean in [0, 1]: on long real conversations it lets the keyword channel's
//! spread drown the vector channel. `rrf` is reciprocal rank fusion, Σ w /
//! (60 + rank), rescaled to [0, 1].
//!
//! Boosts after fusion (design §7): a memory whose time lies in a span the
//! query names ("on 3 June 2023", see `timeq`) gains `TIME_BOOST` × the
//! span's weight; then each memory gains `share` × (the best fused score of
//! its adjacent memories − the lowest score) and `share` / 2 × the same for
//! the memories two turns away, so evidence spread over adjacent turns
//! comes back together; last, a memory said by someone the query names
//! gains `SPEAKER_BOOST` (see `speaker`). Boosts are in z units; for `max` and
//! `rrf` they are scaled by `Fusion::unit_scale`.

pub const K1: f64 = 1.2;
pub const B: f64 = 0.5;
pub const RRF_K: f64 = 60.0;

/// Corpus statistics of the searched set.
#[derive(Debug, Clone, Copy)]
pub struct Corpus {
    pub docs: f64,
    pub avg_len: f64,
}

pub fn idf(corpus: Corpus, df: f64) -> f64 {
    (1.0 + (corpus.docs - df + 0.5) / (df + 0.5)).ln()
}

/// BM25 of one document: `tfs[i]` is the frequency of query term `i`,
/// `dfs[i]` its document frequency.
pub fn bm25(corpus: Corpus, dfs: &[f64], doc_len: f64, tfs: &[f64]) -> f64 {
    let avg = if corpus.avg_len > 0.0 {
        corpus.avg_len
    } else {
        1.0
    };
    let norm = K1 * (1.0 - B + B * doc_len / avg);
    dfs.iter()
        .zip(tfs)
        .filter(|(_, tf)| **tf > 0.0)
        .map(|(df, tf)| idf(corpus, *df) * tf * (K1 + 1.0) / (tf + norm))
        .sum()
}

/// What a memory in a span the query names gains, per unit of span weight.
pub const TIME_BOOST: f64 = 2.0;
/// What a memory said by someone the query names gains (see `speaker`).
pub const SPEAKER_BOOST: f64 = 1.0;
/// Share of the BM25 score of the message before it that a memory's
/// keyword score gains (its conversation context).
pub const CONTEXT_KEYWORD_SHARE: f64 = 0.3;
/// Weight of the context embedding (the message before, joined with this
/// one) in a memory's vector score, when it has one.
pub const CONTEXT_VECTOR_SHARE: f64 = 0.3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fusion {
    Score,
    Max,
    Rrf,
}

impl Fusion {
    pub fn parse(s: &str) -> Option<Fusion> {
        match s {
            "score" => Some(Fusion::Score),
            "max" => Some(Fusion::Max),
            "rrf" => Some(Fusion::Rrf),
            _ => None,
        }
    }
    /// Boosts are in z units (about one standard deviation of a channel);
    /// the [0, 1] fusions get them scaled to their own spread.
    pub fn unit_scale(self) -> f64 {
        match self {
            Fusion::Score => 1.0,
            Fusion::Max => 0.2,
            Fusion::Rrf => 0.1,
        }
    }
    /// The final score in [0, 1].
    pub fn unit(self, fused: f64) -> f64 {
        match self {
            Fusion::Score => 1.0 / (1.0 + (-fused).exp()),
            Fusion::Max | Fusion::Rrf => fused.clamp(0.0, 1.0),
        }
    }
}

/// A memory's vector score from its own similarity and, when it has a
/// conversation context, the similarity of the context embedding.
pub fn context_similarity(own: f64, context: Option<f64>) -> f64 {
    match context {
        Some(c) => (1.0 - CONTEXT_VECTOR_SHARE) * own + CONTEXT_VECTOR_SHARE * c,
        None => own,
    }
}

/// A memory's id, own similarity and context similarity to a query.
pub type Similarities<T> = (T, Option<f64>, Option<f64>);

/// Vector candidates with conversation context, from every memory's own and
/// context similarity (None: no such vector): the `depth` nearest by their
/// own embedding (a missing one counts as 0) joined with the `depth`
/// nearest by their context embedding, scored by `context_similarity`, best
/// first (ties by id), cut to `depth`.
pub fn context_candidates<T: Copy + Ord + std::hash::Hash>(
    rows: &[Similarities<T>],
    depth: usize,
) -> Vec<(T, f64, Option<f64>)> {
    let nearest = |by: &dyn Fn(&Similarities<T>) -> Option<f64>| {
        let mut v: Vec<(f64, T)> = rows
            .iter()
            .filter_map(|r| by(r).map(|s| (s, r.0)))
            .collect();
        v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        v.truncate(depth);
        v.into_iter()
            .map(|(_, id)| id)
            .collect::<std::collections::HashSet<T>>()
    };
    let mut picked = nearest(&|r| Some(r.1.unwrap_or(0.0)));
    picked.extend(nearest(&|r| r.2));
    let mut out: Vec<(T, f64, Option<f64>)> = rows
        .iter()
        .filter(|r| picked.contains(&r.0))
        .map(|&(id, own, ctx)| (id, context_similarity(own.unwrap_or(0.0), ctx), ctx))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out.truncate(depth);
    out
}

/// Neighbour lift of each candidate: it is pulled `share` of the way up to
/// the best fused score among its adjacent memories, and `share` / 2 of the
/// way up to the best two turns away (the two add, but never past the best
/// of them). A memory never gains from a weaker neighbour,
/// so a lifted memory stays below the one lending it the score, and a
/// strong hit keeps its place above the small talk around it. `near[i]` and
/// `far[i]` are indices into `fused`.
pub fn neighbour_lift(
    fused: &[f64],
    near: &[Vec<usize>],
    far: &[Vec<usize>],
    share: f64,
) -> Vec<f64> {
    let pull = |own: f64, ns: &Vec<usize>| {
        ns.iter()
            .filter_map(|&j| fused.get(j))
            .map(|s| s - own)
            .fold(0.0, f64::max)
    };
    fused
        .iter()
        .zip(near.iter().zip(far))
        .map(|(&own, (n, f))| {
            let (a, b) = (pull(own, n), pull(own, f));
            (share * a + share / 2.0 * b).min(a.max(b))
        })
        .collect()
}

/// The memories two steps away in a graph of adjacent ones (not the memory
/// itself, not an adjacent one).
pub fn two_away(near: &[Vec<usize>]) -> Vec<Vec<usize>> {
    near.iter()
        .enumerate()
        .map(|(i, ns)| {
            let mut far: Vec<usize> = ns
                .iter()
                .flat_map(|&j| near.get(j).into_iter().flatten().copied())
                .filter(|&k| k != i && !ns.contains(&k))
                .collect();
            far.sort_unstable();
            far.dedup();
            far
        })
        .collect()
}

/// One candidate's standing in each channel (None: not returned by it).
#[derive(Debug, Clone, Default)]
pub struct Channels {
    /// Cosine similarity and 1-based rank in the vector channel.
    pub vector: Option<(f64, usize)>,
    /// BM25 score and 1-based rank in the keyword channel.
    pub keyword: Option<(f64, usize)>,
    /// Graph score (1 / hops from an entity the query mentions) and rank.
    pub graph: Option<(f64, usize)>,
}

impl Channels {
    fn parts(&self) -> [Option<(f64, usize)>; 3] {
        [self.vector, self.keyword, self.graph]
    }
}

/// Weights of the channels.
#[derive(Debug, Clone, Copy)]
pub struct Weights {
    pub vector: f64,
    pub keyword: f64,
    pub graph: f64,
}

/// Fused scores in [0, 1], in the order of `cands`. A channel that returned
/// no candidate at all (say, a query whose words are all stop words) drops
/// out of the weighting instead of capping every score.
pub fn fuse(cands: &[Channels], w: Weights, how: Fusion) -> Vec<f64> {
    let present = |k: usize| cands.iter().any(|c| c.parts()[k].is_some());
    let w: Vec<f64> = [w.vector, w.keyword, w.graph]
        .iter()
        .enumerate()
        .map(|(k, wk)| if present(k) { *wk } else { 0.0 })
        .collect();
    let total: f64 = w.iter().sum();
    if total <= 0.0 {
        return vec![0.0; cands.len()];
    }
    match how {
        Fusion::Rrf => {
            let best = total / (RRF_K + 1.0);
            cands
                .iter()
                .map(|c| {
                    let sum: f64 = c
                        .parts()
                        .iter()
                        .zip(&w)
                        .map(|(p, wk)| p.map_or(0.0, |(_, r)| wk / (RRF_K + r as f64)))
                        .sum();
                    sum / best
                })
                .collect()
        }
        Fusion::Score => {
            let stats: Vec<Option<(f64, f64, f64)>> = (0..3)
                .map(|k| standard(cands.iter().filter_map(|c| c.parts()[k].map(|(s, _)| s))))
                .collect();
            cands
                .iter()
                .map(|c| {
                    let sum: f64 = c
                        .parts()
                        .iter()
                        .zip(&w)
                        .zip(&stats)
                        .map(|((p, wk), st)| match (p, st) {
                            (_, None) => 0.0,
                            (Some((s, _)), Some((mean, sd, _))) if *sd > 0.0 => {
                                wk * (s - mean) / sd
                            }
                            (Some(_), Some(_)) => *wk,
                            (None, Some((_, _, low))) => wk * low,
                        })
                        .sum();
                    sum / total
                })
                .collect()
        }
        Fusion::Max => {
            let scales: Vec<(f64, f64)> = (0..3)
                .map(|k| scale(cands.iter().filter_map(|c| c.parts()[k].map(|(s, _)| s))))
                .collect();
            cands
                .iter()
                .map(|c| {
                    let sum: f64 = c
                        .parts()
                        .iter()
                        .zip(&w)
                        .zip(&scales)
                        .map(|((p, wk), sc)| p.map_or(0.0, |(s, _)| wk * normalise(s, *sc)))
                        .sum();
                    sum / total
                })
                .collect()
        }
    }
}

/// (mean, sd, the z of an absent candidate) of a channel's scores; None
/// when it returned nothing. With sd 0 the absent get 0 (the present 1).
fn standard(scores: impl Iterator<Item = f64>) -> Option<(f64, f64, f64)> {
    let xs: Vec<f64> = scores.collect();
    if xs.is_empty() {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    if sd <= 1e-12 {
        return Some((mean, 0.0, 0.0));
    }
    let low = xs.iter().copied().fold(f64::INFINITY, f64::min);
    Some((mean, sd, (low - mean) / sd))
}

/// (lo, hi) of a channel: hi its best score, lo = min(0, its worst).
fn scale(scores: impl Iterator<Item = f64>) -> (f64, f64) {
    scores.fold((0.0, f64::NEG_INFINITY), |(lo, hi), s| {
        (lo.min(s), hi.max(s))
    })
}

fn normalise(s: f64, (lo, hi): (f64, f64)) -> f64 {
    if hi > lo {
        ((s - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_candidates_join_both_lists() {
        // id, own, context
        let rows = [
            (1, Some(0.9), None),
            (2, Some(0.8), Some(0.1)),
            (3, Some(0.1), Some(0.95)),
            (4, Some(0.2), Some(0.2)),
            (5, None, Some(0.5)),
        ];
        let got = context_candidates(&rows, 2);
        // own top 2: 1, 2; context top 2: 3, 5; 4 is in neither.
        let ids: Vec<i32> = got.iter().map(|c| c.0).collect();
        assert_eq!(ids, vec![1, 2], "cut to depth by the blended score");
        let all = context_candidates(&rows, 3);
        let ids: Vec<i32> = all.iter().map(|c| c.0).collect();
        // own top 3: 1, 2, 4; context top 3: 3, 5, 4 -> all five, best three
        assert_eq!(ids, vec![1, 2, 3]);
        assert!((all[2].1 - context_similarity(0.1, Some(0.95))).abs() < 1e-12);
        assert_eq!(all[2].2, Some(0.95));
        let wide = context_candidates(&rows, 10);
        assert_eq!(wide.len(), 5);
        assert!(context_candidates(&rows[..0], 3).is_empty());
    }

    #[test]
    fn idf_is_positive_and_decreasing() {
        let c = Corpus {
            docs: 100.0,
            avg_len: 10.0,
        };
        assert!(idf(c, 1.0) > idf(c, 10.0));
        assert!(idf(c, 100.0) > 0.0);
    }

    #[test]
    fn bm25_prefers_rare_terms_and_short_docs() {
        let c = Corpus {
            docs: 100.0,
            avg_len: 10.0,
        };
        let rare = bm25(c, &[1.0, 90.0], 10.0, &[1.0, 0.0]);
        let common = bm25(c, &[1.0, 90.0], 10.0, &[0.0, 1.0]);
        assert!(rare > common);
        let short = bm25(c, &[5.0], 5.0, &[1.0]);
        let long = bm25(c, &[5.0], 50.0, &[1.0]);
        assert!(short > long);
        let twice = bm25(c, &[5.0], 10.0, &[2.0]);
        let once = bm25(c, &[5.0], 10.0, &[1.0]);
        assert!(twice > once && twice < 2.0 * once, "tf saturates");
        assert_eq!(bm25(c, &[5.0], 10.0, &[0.0]), 0.0);
    }

    #[test]
    fn bm25_matches_hand_computation() {
        let c = Corpus {
            docs: 3.0,
            avg_len: 4.0,
        };
        let idf1 = (1.0f64 + (3.0 - 1.0 + 0.5) / 1.5).ln();
        let expected = idf1 * 2.2 / (1.0 + 1.2 * ((1.0 - B) + B * 2.0 / 4.0));
        assert!((bm25(c, &[1.0], 2.0, &[1.0]) - expected).abs() < 1e-12);
    }

    fn cand(v: Option<(f64, usize)>, k: Option<(f64, usize)>) -> Channels {
        Channels {
            vector: v,
            keyword: k,
            graph: None,
        }
    }

    #[test]
    fn score_fusion_is_bounded_and_ordered() {
        let w = Weights {
            vector: 0.5,
            keyword: 0.5,
            graph: 0.0,
        };
        let c = vec![
            cand(Some((0.9, 1)), Some((8.0, 1))),
            cand(Some((0.5, 2)), None),
            cand(None, Some((4.0, 2))),
        ];
        let s = fuse(&c, w, Fusion::Max);
        assert!((s[0] - 1.0).abs() < 1e-12);
        assert!(s.iter().all(|x| (0.0..=1.0).contains(x)));
        assert!(s[1] > 0.0 && s[2] > 0.0);
        assert!((s[1] - 0.5 * 0.5 / 0.9).abs() < 1e-9);
        assert!((s[2] - 0.5 * 0.5).abs() < 1e-9);
    }

    #[test]
    fn weak_vector_matches_stay_weak() {
        let w = Weights {
            vector: 1.0,
            keyword: 0.0,
            graph: 0.0,
        };
        let c = vec![cand(Some((0.2, 1)), None), cand(Some((0.1, 2)), None)];
        let s = fuse(&c, w, Fusion::Max);
        assert!((s[0] - 1.0).abs() < 1e-12, "the best still leads");
        assert!(
            (s[1] - 0.5).abs() < 1e-12,
            "scaled from 0, not stretched from 0.1"
        );
        let neg = vec![cand(Some((-0.3, 1)), None), cand(Some((0.6, 2)), None)];
        let s = fuse(&neg, w, Fusion::Max);
        assert!(s[0] < s[1]);
    }

    #[test]
    fn weights_steer_the_ranking() {
        let only_vector = fuse(
            &[cand(Some((0.4, 1)), None)],
            Weights {
                vector: 0.5,
                keyword: 0.5,
                graph: 0.0,
            },
            Fusion::Max,
        );
        assert_eq!(only_vector, vec![1.0], "an empty channel drops out");
        let c = vec![cand(Some((0.9, 1)), None), cand(None, Some((5.0, 1)))];
        let v = fuse(
            &c,
            Weights {
                vector: 0.9,
                keyword: 0.1,
                graph: 0.0,
            },
            Fusion::Max,
        );
        assert!(v[0] > v[1]);
        let k = fuse(
            &c,
            Weights {
                vector: 0.1,
                keyword: 0.9,
                graph: 0.0,
            },
            Fusion::Max,
        );
        assert!(k[1] > k[0]);
        assert_eq!(
            fuse(
                &c,
                Weights {
                    vector: 0.0,
                    keyword: 0.0,
                    graph: 0.0,
                },
                Fusion::Max
            ),
            vec![0.0, 0.0]
        );
    }

    #[test]
    fn graph_channel_joins_only_when_it_found_something() {
        let w = Weights {
            vector: 0.6,
            keyword: 0.2,
            graph: 0.2,
        };
        let mut linked = cand(Some((0.5, 2)), None);
        linked.graph = Some((1.0, 1));
        let c = vec![cand(Some((0.9, 1)), Some((3.0, 1))), linked];
        let s = fuse(&c, w, Fusion::Max);
        assert!((s[0] - 0.8).abs() < 1e-9, "{s:?}");
        assert!((s[1] - (0.6 * 0.5 / 0.9 + 0.2)).abs() < 1e-9, "{s:?}");
        // no graph hits: the weights of the other two are used alone
        let c = vec![cand(Some((0.9, 1)), Some((3.0, 1)))];
        assert!((fuse(&c, w, Fusion::Max)[0] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn rrf() {
        let w = Weights {
            vector: 1.0,
            keyword: 1.0,
            graph: 0.0,
        };
        let c = vec![
            cand(Some((0.9, 1)), Some((5.0, 1))),
            cand(Some((0.8, 2)), None),
        ];
        let s = fuse(&c, w, Fusion::Rrf);
        assert!((s[0] - 1.0).abs() < 1e-12);
        assert!((s[1] - (1.0 / 62.0) / (2.0 / 61.0)).abs() < 1e-12);
        assert_eq!(Fusion::parse("rrf"), Some(Fusion::Rrf));
        assert_eq!(Fusion::parse("x"), None);
    }

    #[test]
    fn calibrated_fusion_uses_standard_scores() {
        let w = Weights {
            vector: 0.5,
            keyword: 0.5,
            graph: 0.0,
        };
        // vector cosines crowd together, BM25 spreads: a candidate that
        // stands out in the vector list is not drowned by keyword units
        let c = vec![
            cand(Some((0.62, 1)), Some((2.0, 3))),
            cand(Some((0.50, 2)), Some((9.0, 1))),
            cand(Some((0.49, 3)), Some((8.0, 2))),
            cand(Some((0.48, 4)), None),
        ];
        let s = fuse(&c, w, Fusion::Score);
        let max = fuse(&c, w, Fusion::Max);
        assert!(s[0] > s[2], "{s:?}");
        assert!(
            max[0] < max[2],
            "the max-scaled fusion ranks by BM25: {max:?}"
        );
        // z of the vector channel: mean 0.5225, sd over the four
        let xs = [0.62f64, 0.50, 0.49, 0.48];
        let mean = xs.iter().sum::<f64>() / 4.0;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0).sqrt();
        let ks = [2.0f64, 9.0, 8.0];
        let kmean = ks.iter().sum::<f64>() / 3.0;
        let ksd = (ks.iter().map(|x| (x - kmean).powi(2)).sum::<f64>() / 3.0).sqrt();
        let low = (2.0 - kmean) / ksd;
        let want3 = 0.5 * (0.48 - mean) / sd + 0.5 * low;
        assert!(
            (s[3] - want3).abs() < 1e-9,
            "absent: the channel's lowest z"
        );
        // unit maps to (0, 1), increasing, 0.5 at the mean
        assert!((Fusion::Score.unit(0.0) - 0.5).abs() < 1e-12);
        assert!(Fusion::Score.unit(2.0) > Fusion::Score.unit(1.0));
        assert!(Fusion::Score.unit(-40.0) >= 0.0 && Fusion::Score.unit(40.0) <= 1.0);
        assert_eq!(Fusion::parse("max"), Some(Fusion::Max));
    }

    #[test]
    fn calibrated_fusion_with_equal_scores_counts_presence() {
        let w = Weights {
            vector: 0.0,
            keyword: 0.5,
            graph: 0.5,
        };
        let mut a = cand(None, Some((3.0, 1)));
        a.graph = Some((1.0, 1));
        let b = cand(None, Some((1.0, 2)));
        let s = fuse(&[a, b], w, Fusion::Score);
        assert!(s[0] > s[1]);
        assert!((s[0] - 0.5 * (1.0 + 1.0)).abs() < 1e-9, "{s:?}");
        assert!((s[1] + 0.5).abs() < 1e-9, "{s:?}");
        let one = fuse(&[cand(Some((0.3, 1)), None)], w, Fusion::Score);
        assert!(one[0].is_finite());
    }

    #[test]
    fn neighbours_lend_part_of_their_score() {
        // a chain 0 - 1 - 2, and 3 alone
        let fused = [2.0, 0.5, -1.0, 0.0];
        let near = vec![vec![1], vec![0, 2], vec![1], vec![]];
        let far = two_away(&near);
        assert_eq!(far, vec![vec![2], vec![], vec![0], vec![]]);
        let lift = neighbour_lift(&fused, &near, &far, 0.5);
        assert_eq!(lift[0], 0.0, "a weaker neighbour lends nothing");
        assert_eq!(
            lift[1],
            0.5 * (2.0 - 0.5),
            "pulled toward the best neighbour"
        );
        assert_eq!(
            lift[2],
            0.5 * (0.5 + 1.0) + 0.25 * (2.0 + 1.0),
            "two away, half"
        );
        assert_eq!(lift[3], 0.0, "no neighbour, no lift");
        for (i, l) in lift.iter().enumerate().take(3) {
            assert!(fused[i] + l <= 2.0, "never above the lender");
        }
        assert!(neighbour_lift(&fused, &near, &far, 0.0)
            .iter()
            .all(|x| *x == 0.0));
    }

    #[test]
    fn context_similarity_blends_when_there_is_context() {
        assert_eq!(context_similarity(0.4, None), 0.4);
        let s = context_similarity(0.2, Some(0.6));
        assert!(
            (s - (0.2 * (1.0 - CONTEXT_VECTOR_SHARE) + 0.6 * CONTEXT_VECTOR_SHARE)).abs() < 1e-12
        );
    }
}
