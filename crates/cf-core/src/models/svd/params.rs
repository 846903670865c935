use crate::linalg::svd::{Centering, Method, SvdOptions, MAX_K};
use crate::params::{Default as D, Kind, ParamSpec, Params, Value, Values};
use crate::pool::MAX_THREADS;

/// The mean of a rated-entries centring (see [`SvdCentering::Rated`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RatedMean {
    /// μ, the mean rating.
    Global,
    /// The user's mean rating (μ for a user without ratings).
    User,
    /// The item's mean rating (μ for an item without ratings).
    Item,
    /// μ + b_u + b_i: b_i the item's mean of r - μ, then b_u the user's mean of r - μ - b_i
    /// (each 0 without ratings); unregularised, the two-way version of the two above.
    Baseline,
}

/// What is subtracted before the SVD: the one `centering` option, two families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SvdCentering {
    /// A mean over every cell (missing counted as 0), as a rank-one term inside the operator;
    /// `Cells(Centering::None)` is PureSVD. For ranking.
    Cells(Centering),
    /// A mean over the rated entries only, subtracted from them while missing cells stay 0
    /// (mean imputation): the truncated SVD of the residuals predicts ratings.
    Rated(RatedMean),
}

/// The `centering` choices, in the spec's order, with what each means.
const CENTERINGS: &[(&str, SvdCentering)] = &[
    ("none", SvdCentering::Cells(Centering::None)),
    ("global", SvdCentering::Cells(Centering::Global)),
    ("user", SvdCentering::Cells(Centering::Rows)),
    ("item", SvdCentering::Cells(Centering::Columns)),
    ("rated_global", SvdCentering::Rated(RatedMean::Global)),
    ("rated_user", SvdCentering::Rated(RatedMean::User)),
    ("rated_item", SvdCentering::Rated(RatedMean::Item)),
    ("rated_baseline", SvdCentering::Rated(RatedMean::Baseline)),
];

impl SvdCentering {
    /// The option value naming this centring.
    pub fn name(self) -> &'static str {
        CENTERINGS
            .iter()
            .find(|(_, c)| *c == self)
            .map_or("none", |(n, _)| n)
    }

    /// The centring the solver's operator applies (none for a rated mode: its residual
    /// matrix is built before the solve).
    pub fn operator(self) -> Centering {
        match self {
            SvdCentering::Cells(c) => c,
            SvdCentering::Rated(_) => Centering::None,
        }
    }

    pub fn rated(self) -> Option<RatedMean> {
        match self {
            SvdCentering::Rated(r) => Some(r),
            SvdCentering::Cells(_) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SvdParams {
    pub factors: usize,
    pub centering: SvdCentering,
    pub method: Method,
    pub tolerance: f64,
    pub block: usize,
    pub max_restarts: usize,
    pub oversampling: usize,
    pub power_iterations: usize,
    pub seed: u64,
    pub threads: usize,
}

/// The one list of the svd model's parameters. PureSVD (Cremonesi et al. 2010) leaves the
/// matrix uncentred: missing entries are zeros, which is what makes it rank well. 16 factors:
/// the best validation NDCG@10 on ml-100k, ml-latest-small and lastfm-2k came at 8, 32 and 16
/// of 8..256 (bench/linear_tune.mjs); more factors fit the observed entries closer and rank
/// worse. The rated_* centrings are a separate use, rating prediction (RMSE/MAE), chosen by
/// name so that no combination of two options can be meaningless; bench/ratings.mjs picks
/// factors and the mean on validation slices.
pub static SPEC: &[ParamSpec] = &[
    ParamSpec {
        name: "factors",
        kind: Kind::Int { min: 1, max: MAX_K as i64 },
        default: D::Num(16.0),
        doc: "Singular triplets kept (k); must be below min(users, items).",
    },
    ParamSpec {
        name: "centering",
        kind: Kind::Choice(&[
            "none",
            "global",
            "user",
            "item",
            "rated_global",
            "rated_user",
            "rated_item",
            "rated_baseline",
        ]),
        default: D::Str("none"),
        doc: "Subtract a mean before the SVD. For ranking: none (PureSVD); global, user or item mean over every cell (missing counted as 0), inside the operator (never densified). For rating prediction (RMSE/MAE): rated_global, rated_user, rated_item or rated_baseline (mu + b_u + b_i) mean over the rated entries only, subtracted from them while missing cells stay 0; needs explicit ratings. The mean is added back in scores and predictions.",
    },
    ParamSpec {
        name: "method",
        kind: Kind::Choice(&["lanczos", "randomized"]),
        default: D::Str("lanczos"),
        doc: "lanczos: exact, restarted block Lanczos to `tolerance`; randomized: approximate (Halko et al.), oversampling + power_iterations.",
    },
    ParamSpec {
        name: "tolerance",
        kind: Kind::Float { min: 0.0, min_exclusive: true, max: 0.1 },
        default: D::Num(1e-10),
        doc: "lanczos: stop when every residual ‖AᵀA v - σ² v‖ is below tolerance x σ₁².",
    },
    ParamSpec {
        name: "block",
        kind: Kind::Int { min: 0, max: 256 },
        default: D::Num(0.0),
        doc: "lanczos: vectors per block; 0 = factors / 8, between 4 and 32.",
    },
    ParamSpec {
        name: "max_restarts",
        kind: Kind::Int { min: 1, max: 1_000_000 },
        default: D::Num(1000.0),
        doc: "lanczos: restarts before giving up with an error.",
    },
    ParamSpec {
        name: "oversampling",
        kind: Kind::Int { min: 0, max: 10_000 },
        default: D::Num(10.0),
        doc: "randomized: sketch columns beyond factors.",
    },
    ParamSpec {
        name: "power_iterations",
        kind: Kind::Int { min: 0, max: 100 },
        default: D::Num(4.0),
        doc: "randomized: passes of AᵀA over the sketch (more: slower, closer to exact).",
    },
    ParamSpec {
        name: "seed",
        kind: Kind::Int { min: 0, max: u32::MAX as i64 },
        default: D::Num(42.0),
        doc: "Seed of the random start; the same seed gives the same model on any thread count.",
    },
    ParamSpec {
        name: "threads",
        kind: Kind::Int { min: 0, max: MAX_THREADS as i64 },
        default: D::Num(0.0),
        doc: "Worker threads; 0 = all cores (or CF_NATIVE_NUM_THREADS).",
    },
];

impl Params for SvdParams {
    fn spec() -> &'static [ParamSpec] {
        SPEC
    }

    fn from_values(v: &Values) -> Self {
        let n = |name: &str| v.int(name) as usize;
        SvdParams {
            factors: n("factors"),
            centering: CENTERINGS
                .iter()
                .find(|(n, _)| *n == v.choice("centering"))
                .map_or(SvdCentering::Cells(Centering::None), |(_, c)| *c),
            method: match v.choice("method") {
                "randomized" => Method::Randomized,
                _ => Method::Lanczos,
            },
            tolerance: v.float("tolerance"),
            block: n("block"),
            max_restarts: n("max_restarts"),
            oversampling: n("oversampling"),
            power_iterations: n("power_iterations"),
            seed: v.int("seed") as u64,
            threads: n("threads"),
        }
    }

    fn to_values(&self) -> Vec<(&'static str, Value)> {
        let n = |x: usize| Value::Num(x as f64);
        let s = |x: &'static str| Value::Str(x.into());
        vec![
            ("factors", n(self.factors)),
            ("centering", s(self.centering.name())),
            (
                "method",
                s(match self.method {
                    Method::Lanczos => "lanczos",
                    Method::Randomized => "randomized",
                }),
            ),
            ("tolerance", Value::Num(self.tolerance)),
            ("block", n(self.block)),
            ("max_restarts", n(self.max_restarts)),
            ("oversampling", n(self.oversampling)),
            ("power_iterations", n(self.power_iterations)),
            ("seed", n(self.seed as usize)),
            ("threads", n(self.threads)),
        ]
    }
}

impl Default for SvdParams {
    fn default() -> Self {
        Self::defaults()
    }
}

impl SvdParams {
    pub fn options(&self) -> SvdOptions {
        SvdOptions {
            k: self.factors,
            centering: self.centering.operator(),
            method: self.method,
            tolerance: self.tolerance,
            block: self.block,
            max_restarts: self.max_restarts,
            oversampling: self.oversampling,
            power_iterations: self.power_iterations,
            seed: self.seed,
            threads: self.threads,
        }
    }

    /// Factor rows carry one more column, the mean, when the matrix is centred over every
    /// cell, and two in a rated mode (user [UΣ, 1, c_u], item [V, b_i, 1]).
    pub fn width(&self) -> usize {
        self.factors
            + match self.centering {
                SvdCentering::Cells(Centering::None) => 0,
                SvdCentering::Cells(_) => 1,
                SvdCentering::Rated(_) => 2,
            }
    }
}
