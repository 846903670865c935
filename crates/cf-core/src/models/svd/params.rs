use crate::linalg::svd::{Centering, Method, SvdOptions, MAX_K};
use crate::params::{Default as D, Kind, ParamSpec, Params, Value, Values};
use crate::pool::MAX_THREADS;

#[derive(Clone, Debug, PartialEq)]
pub struct SvdParams {
    pub factors: usize,
    pub centering: Centering,
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
/// worse.
pub static SPEC: &[ParamSpec] = &[
    ParamSpec {
        name: "factors",
        kind: Kind::Int { min: 1, max: MAX_K as i64 },
        default: D::Num(16.0),
        doc: "Singular triplets kept (k); must be below min(users, items).",
    },
    ParamSpec {
        name: "centering",
        kind: Kind::Choice(&["none", "global", "user", "item"]),
        default: D::Str("none"),
        doc: "Subtract a mean before the SVD, inside the operator (never densified): none (PureSVD); global, user or item mean over every cell (missing counted as 0). The mean is added back in scores and predictions.",
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
            centering: match v.choice("centering") {
                "global" => Centering::Global,
                "user" => Centering::Rows,
                "item" => Centering::Columns,
                _ => Centering::None,
            },
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
            (
                "centering",
                s(match self.centering {
                    Centering::None => "none",
                    Centering::Global => "global",
                    Centering::Rows => "user",
                    Centering::Columns => "item",
                }),
            ),
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
            centering: self.centering,
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

    /// Factor rows carry one more column, the mean, when the matrix is centred.
    pub fn width(&self) -> usize {
        self.factors + usize::from(self.centering != Centering::None)
    }
}
