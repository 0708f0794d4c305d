//! Time decay of search scores (design §7, issue #9).
//!
//! A memory's relevance (the fused score in [0, 1]) is multiplied by a
//! freshness factor in [floor, 1]:
//!
//! ```text
//!   age    = now − max(valid_from, updated_at, last_accessed_at)
//!   h_eff  = half_life · (1 + ln(1 + access_count))
//!   factor = floor + (1 − floor) · 2^(−age / h_eff)
//!   score  = relevance · factor
//! ```
//!
//! A fact told or used today keeps its relevance; one untouched for a
//! half-life keeps `floor + (1 − floor) / 2` of it. Use slows the decay: a
//! memory returned 10 times decays 3.4× slower than one never returned. The
//! floor keeps a strongly relevant old fact above a weakly relevant new one
//! (with the default 0.5, relevance 0.9 never falls below 0.45).

/// Decay settings of one search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decay {
    /// Seconds after which an unused memory keeps half its decayable part.
    pub half_life_s: f64,
    /// The part of the relevance that never decays, in [0, 1].
    pub floor: f64,
}

/// How one memory's score was made, for `explain`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parts {
    pub relevance: f64,
    pub age_days: f64,
    pub access_count: i64,
    pub recency: f64,
    pub factor: f64,
    pub score: f64,
}

impl Decay {
    /// None when the half-life is not a positive finite number or the floor
    /// is outside [0, 1].
    pub fn new(half_life_s: f64, floor: f64) -> Option<Decay> {
        (half_life_s.is_finite()
            && half_life_s > 0.0
            && floor.is_finite()
            && (0.0..=1.0).contains(&floor))
        .then_some(Decay { half_life_s, floor })
    }

    /// 2^(−age / h_eff): 1 for a fresh memory, towards 0 for an old one. A
    /// negative age (a timestamp in the future) counts as fresh.
    pub fn recency(&self, age_s: f64, access_count: i64) -> f64 {
        let uses = access_count.max(0) as f64;
        let h = self.half_life_s * (1.0 + uses.ln_1p());
        let age = if age_s.is_finite() {
            age_s.max(0.0)
        } else {
            0.0
        };
        (-age / h).exp2()
    }

    pub fn apply(&self, relevance: f64, age_s: f64, access_count: i64) -> Parts {
        let recency = self.recency(age_s, access_count);
        let factor = self.floor + (1.0 - self.floor) * recency;
        Parts {
            relevance,
            age_days: age_s / 86_400.0,
            access_count,
            recency,
            factor,
            score: relevance * factor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: f64 = 86_400.0;

    #[test]
    fn rejects_bad_settings() {
        assert!(Decay::new(0.0, 0.5).is_none());
        assert!(Decay::new(-DAY, 0.5).is_none());
        assert!(Decay::new(f64::NAN, 0.5).is_none());
        assert!(Decay::new(DAY, 1.5).is_none());
        assert!(Decay::new(DAY, -0.1).is_none());
        assert!(Decay::new(DAY, 0.0).is_some());
    }

    #[test]
    fn half_life_halves_the_decayable_part() {
        let d = Decay::new(30.0 * DAY, 0.5).unwrap();
        assert!((d.apply(1.0, 0.0, 0).factor - 1.0).abs() < 1e-12);
        assert!((d.apply(1.0, 30.0 * DAY, 0).factor - 0.75).abs() < 1e-12);
        assert!((d.apply(1.0, 60.0 * DAY, 0).factor - 0.625).abs() < 1e-12);
        // Far in the past the factor tends to the floor, never below.
        let old = d.apply(0.8, 1e4 * DAY, 0);
        assert!(old.factor >= 0.5 && old.factor < 0.5001);
        assert!((old.score - 0.4).abs() < 1e-3);
    }

    #[test]
    fn use_slows_decay() {
        let d = Decay::new(10.0 * DAY, 0.0).unwrap();
        let unused = d.recency(10.0 * DAY, 0);
        let used = d.recency(10.0 * DAY, 10);
        assert!((unused - 0.5).abs() < 1e-12);
        // h_eff = 10 days · (1 + ln 11) ≈ 33.98 days.
        let expect = (-10.0 / (10.0 * (1.0 + 11f64.ln()))).exp2();
        assert!((used - expect).abs() < 1e-12);
        assert!(used > unused);
    }

    #[test]
    fn future_and_odd_ages_count_as_fresh() {
        let d = Decay::new(DAY, 0.2).unwrap();
        assert_eq!(d.recency(-5.0 * DAY, 0), 1.0);
        assert_eq!(d.recency(f64::NAN, 0), 1.0);
        assert_eq!(d.recency(DAY, -3), 0.5);
    }

    #[test]
    fn decay_reorders_close_relevance_only() {
        let d = Decay::new(30.0 * DAY, 0.5).unwrap();
        // Close relevance: the fresh memory wins.
        let old = d.apply(0.80, 120.0 * DAY, 0).score;
        let new = d.apply(0.70, 0.0, 0).score;
        assert!(new > old);
        // Far apart: the relevant old memory still wins.
        let old = d.apply(0.95, 120.0 * DAY, 0).score;
        let new = d.apply(0.30, 0.0, 0).score;
        assert!(old > new);
    }
}
