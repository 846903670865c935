//! The hybrid's parameters: how parts' scores are put on one scale and combined. Which parts
//! and their weights are data of the model (the `weights` array and the parts' names), not
//! parameters: a config names them in its `blend:` block.

use crate::params::{Default as D, Kind, ParamSpec, Params, Value, Values};
use crate::pool::MAX_THREADS;

#[derive(Clone, Debug, PartialEq)]
pub struct HybridParams {
    pub method: Method,
    pub normalization: Normalization,
    pub rrf_k: f64,
    pub tune_weights: bool,
    pub tune_users: usize,
    pub threads: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Σ weight x normalised score.
    Weighted,
    /// Reciprocal rank fusion: Σ weight / (rrf_k + rank).
    Rrf,
    /// Borda count: Σ weight x (items ranked below) / items ranked.
    Borda,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalization {
    /// Per user: (s - min) / (max - min) over the items the part ranks.
    MinMax,
    /// Per user: (s - mean) / standard deviation over the items the part ranks.
    ZScore,
    /// (s - p01) / (p99 - p01) of the part's top-K scores over a sample of users (the saved
    /// score range), the same for every user.
    ScoreRange,
}

const METHODS: &[&str] = &["weighted", "rrf", "borda"];
const NORMALIZATIONS: &[&str] = &["minmax", "zscore", "score_range"];

/// `method` weighted with per-user min-max, left one dataset out (`npm run bench -- hybrid`,
/// bench/RESULTS-hybrid.md, ALS + kNN + EASE, validation NDCG@10 with the weights chosen on
/// validation): chosen on ml-100k and ml-latest-small (weighted 0.2315 and 0.1744 against rrf's
/// 0.2304 and 0.1743), it is within 0.4 % of rrf on lastfm-2k (0.1893 against 0.1900); two of
/// the three leave-one-out folds pick it. rrf_k = 60 is Cormack et al.'s constant.
pub static SPEC: &[ParamSpec] = &[
    ParamSpec {
        name: "method",
        kind: Kind::Choice(METHODS),
        default: D::Str("weighted"),
        doc: "How parts' scores are combined: weighted (Σ weight x normalised score), rrf (reciprocal rank fusion, Σ weight / (rrf_k + rank)) or borda (Σ weight x share of items ranked below).",
    },
    ParamSpec {
        name: "normalization",
        kind: Kind::Choice(NORMALIZATIONS),
        default: D::Str("minmax"),
        doc: "weighted only: per-user min-max, per-user z-score, or score_range ((s - p01) / (p99 - p01) of the part's top-K scores over a sample of users).",
    },
    ParamSpec {
        name: "rrf_k",
        kind: Kind::Float { min: 0.0, min_exclusive: false, max: 1e9 },
        default: D::Num(60.0),
        doc: "rrf only: the constant added to every rank (larger flattens the head's advantage).",
    },
    ParamSpec {
        name: "tune_weights",
        kind: Kind::Bool,
        default: D::Bool(true),
        doc: "Choose the parts' weights on the validation split when one is given (a simplex grid, then a finer pass around the best), starting from the configured ones.",
    },
    ParamSpec {
        name: "tune_users",
        kind: Kind::Int { min: 1, max: 1_000_000_000 },
        default: D::Num(5000.0),
        doc: "Validation users the weight search scores (evenly spaced; all of them when fewer): the search scores every candidate for each, so this bounds its time on large data.",
    },
    ParamSpec {
        name: "threads",
        kind: Kind::Int { min: 0, max: MAX_THREADS as i64 },
        default: D::Num(0.0),
        doc: "Worker threads for the weight search; 0 = all cores (or CF_NATIVE_NUM_THREADS).",
    },
];

impl Params for HybridParams {
    fn spec() -> &'static [ParamSpec] {
        SPEC
    }
    fn from_values(v: &Values) -> Self {
        HybridParams {
            method: match v.choice("method") {
                "weighted" => Method::Weighted,
                "borda" => Method::Borda,
                _ => Method::Rrf,
            },
            normalization: match v.choice("normalization") {
                "zscore" => Normalization::ZScore,
                "score_range" => Normalization::ScoreRange,
                _ => Normalization::MinMax,
            },
            rrf_k: v.float("rrf_k"),
            tune_weights: v.bool("tune_weights"),
            tune_users: v.int("tune_users") as usize,
            threads: v.int("threads") as usize,
        }
    }
    fn to_values(&self) -> Vec<(&'static str, Value)> {
        let method = match self.method {
            Method::Weighted => "weighted",
            Method::Rrf => "rrf",
            Method::Borda => "borda",
        };
        let norm = match self.normalization {
            Normalization::MinMax => "minmax",
            Normalization::ZScore => "zscore",
            Normalization::ScoreRange => "score_range",
        };
        vec![
            ("method", Value::Str(method.into())),
            ("normalization", Value::Str(norm.into())),
            ("rrf_k", Value::Num(self.rrf_k)),
            ("tune_weights", Value::Bool(self.tune_weights)),
            ("tune_users", Value::Num(self.tune_users as f64)),
            ("threads", Value::Num(self.threads as f64)),
        ]
    }
}
