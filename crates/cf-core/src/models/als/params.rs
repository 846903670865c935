use crate::error::Result;
use crate::params::{Default as D, Kind, ParamSpec, Params, Value, Values};
use crate::pool::MAX_THREADS;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Solver {
    /// Conjugate gradient, warm-started from the previous iteration (Takács et al. 2011).
    Cg { steps: usize },
    /// Exact solve of each k x k system.
    Cholesky,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Confidence {
    /// c = 1 + alpha * r (Hu, Koren & Volinsky 2008).
    Linear,
    /// c = 1 + alpha * ln(1 + r / epsilon), for heavy-tailed counts.
    Log { epsilon: f32 },
}

/// How CG reads the other side's factors (the exact solver always reads float32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// A float16 copy of the other side, rounded to nearest once per half-step, is what CG
    /// reads (row by row and in lockstep); YᵀY and all arithmetic stay float32, and so do
    /// the stored factors. Gathering those rows is most of CG's memory traffic: half the
    /// bytes took ML-20M at 128 factors from ~1.11 to ~0.99 s per iteration (2 threads, 6
    /// interleaved dev-loop rounds). Scores move by ~1e-4 relative; held-out NDCG@10 on the
    /// shared datasets did not move beyond 0.1 %. Costs n_other x k x 2 bytes while a
    /// half-step runs. Tables outside float16's useful range read float32 (`half_copy`).
    Mixed,
    /// CG reads the float32 factors.
    Single,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AlsParams {
    pub factors: usize,
    pub regularization: f32,
    /// Scale regularization by each row's number of entries (ALS-WR, as Spark does).
    pub scale_regularization: bool,
    pub alpha: f32,
    pub confidence: Confidence,
    pub iterations: usize,
    pub solver: Solver,
    /// What CG reads (see `Precision`).
    pub precision: Precision,
    pub seed: u64,
    /// 0 = all cores.
    pub threads: usize,
    pub compute_loss: bool,
}

/// The one list of ALS's parameters: names, bounds, defaults and docs. The defaults were
/// chosen by a validation grid on ml-100k, ml-latest-small and lastfm-2k (binary positives,
/// bench/defaults): within 0.7-3.5 % of each dataset's tuned test NDCG@10, where implicit's
/// own defaults (reg 0.01, confidence 1) lose 40-53 %. Regularization is not scaled by row
/// count, so very large datasets want it re-tuned.
pub static SPEC: &[ParamSpec] = &[
    ParamSpec {
        name: "factors",
        kind: Kind::Int { min: 1, max: 4096 },
        default: D::Num(64.0),
        doc: "Latent factors per user and item.",
    },
    ParamSpec {
        name: "regularization",
        kind: Kind::Float { min: 0.0, min_exclusive: false, max: 1e9 },
        default: D::Num(50.0),
        doc: "L2 penalty on every factor (lambda); at most 1e9, beyond which float32 solves lose every data term.",
    },
    ParamSpec {
        name: "scale_regularization",
        kind: Kind::Bool,
        default: D::Bool(false),
        doc: "Multiply regularization by each row's number of entries (ALS-WR).",
    },
    ParamSpec {
        name: "alpha",
        kind: Kind::Float { min: 0.0, min_exclusive: false, max: 1e6 },
        default: D::Num(10.0),
        doc: "Confidence slope: c = 1 + alpha * r (or the log form); at most 1e6, so confidences stay finite in float32.",
    },
    ParamSpec {
        name: "confidence",
        kind: Kind::Choice(&["linear", "log"]),
        default: D::Str("linear"),
        doc: "linear: c = 1 + alpha * r; log: c = 1 + alpha * ln(1 + r / epsilon), for heavy-tailed counts.",
    },
    ParamSpec {
        name: "epsilon",
        kind: Kind::Float { min: 1e-6, min_exclusive: false, max: 1e9 },
        default: D::Num(1.0),
        doc: "Scale of r in the log confidence (1e-6 to 1e9).",
    },
    ParamSpec {
        name: "iterations",
        kind: Kind::Int { min: 1, max: 100_000 },
        default: D::Num(15.0),
        doc: "Alternating sweeps (users, then items).",
    },
    ParamSpec {
        name: "solver",
        kind: Kind::Choice(&["cg", "cholesky"]),
        default: D::Str("cg"),
        doc: "cg: conjugate gradient warm-started from the last sweep; cholesky: exact solve of each row.",
    },
    ParamSpec {
        name: "cg_steps",
        kind: Kind::Int { min: 1, max: 100 },
        default: D::Num(3.0),
        doc: "Conjugate-gradient steps per row and sweep.",
    },
    ParamSpec {
        name: "cg_precision",
        kind: Kind::Choice(&["mixed", "single"]),
        default: D::Str("mixed"),
        doc: "What CG reads of the other side: mixed, a float16 copy with float32 arithmetic (faster); single, the float32 factors.",
    },
    ParamSpec {
        name: "seed",
        kind: Kind::Int { min: 0, max: u32::MAX as i64 },
        default: D::Num(42.0),
        doc: "Seed of the initial factors; the same seed gives the same model on any thread count.",
    },
    ParamSpec {
        name: "threads",
        kind: Kind::Int { min: 0, max: MAX_THREADS as i64 },
        default: D::Num(0.0),
        doc: "Worker threads; 0 = all cores (or CF_NATIVE_NUM_THREADS). More than 4 x the cores run as 4 x the cores.",
    },
    ParamSpec {
        name: "compute_loss",
        kind: Kind::Bool,
        default: D::Bool(false),
        doc: "Compute the training loss after each iteration (one extra pass over the data).",
    },
];

impl Params for AlsParams {
    fn spec() -> &'static [ParamSpec] {
        SPEC
    }

    fn from_values(v: &Values) -> Self {
        AlsParams {
            factors: v.int("factors") as usize,
            regularization: v.float("regularization") as f32,
            scale_regularization: v.bool("scale_regularization"),
            alpha: v.float("alpha") as f32,
            confidence: match v.choice("confidence") {
                "log" => Confidence::Log {
                    epsilon: v.float("epsilon") as f32,
                },
                _ => Confidence::Linear,
            },
            iterations: v.int("iterations") as usize,
            solver: match v.choice("solver") {
                "cholesky" => Solver::Cholesky,
                _ => Solver::Cg {
                    steps: v.int("cg_steps") as usize,
                },
            },
            precision: match v.choice("cg_precision") {
                "single" => Precision::Single,
                _ => Precision::Mixed,
            },
            seed: v.int("seed") as u64,
            threads: v.int("threads") as usize,
            compute_loss: v.bool("compute_loss"),
        }
    }

    fn to_values(&self) -> Vec<(&'static str, Value)> {
        let d = Self::defaults_raw();
        let num = |x: f64| Value::Num(x);
        let s = |x: &'static str| Value::Str(x.into());
        let (confidence, epsilon) = match self.confidence {
            Confidence::Linear => ("linear", d.1),
            Confidence::Log { epsilon } => ("log", epsilon as f64),
        };
        let (solver, steps) = match self.solver {
            Solver::Cg { steps } => ("cg", steps as f64),
            Solver::Cholesky => ("cholesky", d.0),
        };
        vec![
            ("factors", num(self.factors as f64)),
            ("regularization", num(self.regularization as f64)),
            (
                "scale_regularization",
                Value::Bool(self.scale_regularization),
            ),
            ("alpha", num(self.alpha as f64)),
            ("confidence", s(confidence)),
            ("epsilon", num(epsilon)),
            ("iterations", num(self.iterations as f64)),
            ("solver", s(solver)),
            ("cg_steps", num(steps)),
            (
                "cg_precision",
                s(match self.precision {
                    Precision::Mixed => "mixed",
                    Precision::Single => "single",
                }),
            ),
            ("seed", num(self.seed as f64)),
            ("threads", num(self.threads as f64)),
            ("compute_loss", Value::Bool(self.compute_loss)),
        ]
    }
}

impl Default for AlsParams {
    fn default() -> Self {
        Self::defaults()
    }
}

impl AlsParams {
    /// The spec's defaults of the two parameters that live inside enums here (cg_steps,
    /// epsilon), for `to_values` when the enum holds the other variant.
    fn defaults_raw() -> (f64, f64) {
        let default_of = |name: &str| match SPEC.iter().find(|p| p.name == name).map(|p| p.default)
        {
            Some(D::Num(v)) => v,
            _ => unreachable!("{name} has a numeric default"),
        };
        (default_of("cg_steps"), default_of("epsilon"))
    }

    /// Kept for callers that check without converting; the bounds are the spec's.
    pub fn validate(&self) -> Result<()> {
        self.clone().check().map(|_| ())
    }

    #[inline]
    pub fn confidence(&self, r: f32) -> f32 {
        match self.confidence {
            Confidence::Linear => 1.0 + self.alpha * r,
            Confidence::Log { epsilon } => 1.0 + self.alpha * (r / epsilon).ln_1p(),
        }
    }

    #[inline]
    pub fn reg_for(&self, row_len: usize) -> f32 {
        if self.scale_regularization {
            self.regularization * row_len as f32
        } else {
            self.regularization
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::resolve;

    #[test]
    fn every_parameter_round_trips_through_the_spec() {
        let p = AlsParams {
            factors: 8,
            regularization: 0.5,
            scale_regularization: true,
            alpha: 3.0,
            confidence: Confidence::Log { epsilon: 2.0 },
            iterations: 4,
            solver: Solver::Cholesky,
            precision: Precision::Single,
            seed: 7,
            threads: 1,
            compute_loss: true,
        };
        let values = p.to_values();
        let names: Vec<&str> = values.iter().map(|(k, _)| *k).collect();
        let spec: Vec<&str> = SPEC.iter().map(|s| s.name).collect();
        assert_eq!(names, spec);
        let back = AlsParams::from_values(
            &resolve(SPEC, values.iter().map(|(k, v)| (*k, v.clone()))).unwrap(),
        );
        assert_eq!(back, p);
        assert_eq!(*p.clone().check().unwrap(), p);
    }

    #[test]
    fn struct_params_are_checked_against_the_spec_bounds() {
        let bad = |p: AlsParams| p.check().unwrap_err().to_string();
        let d = AlsParams::default;
        assert!(bad(AlsParams { factors: 0, ..d() })
            .starts_with("factors: must be an integer in 1..=4096"));
        assert!(bad(AlsParams {
            factors: 5000,
            ..d()
        })
        .contains("got 5000"));
        assert!(bad(AlsParams {
            regularization: f32::NAN,
            ..d()
        })
        .starts_with("regularization"));
        assert!(bad(AlsParams {
            iterations: 0,
            ..d()
        })
        .starts_with("iterations"));
        assert!(bad(AlsParams {
            solver: Solver::Cg { steps: 0 },
            ..d()
        })
        .starts_with("cg_steps"));
        assert!(bad(AlsParams {
            confidence: Confidence::Log { epsilon: 0.0 },
            ..d()
        })
        .starts_with("epsilon"));
        assert!(bad(AlsParams {
            threads: 5000,
            ..d()
        })
        .starts_with("threads"));
        assert!(bad(AlsParams {
            seed: 1 << 40,
            ..d()
        })
        .starts_with("seed"));
    }
}
