use crate::error::{Error, Result};
use crate::params::{Default as D, Kind, ParamSpec, Params, Value, Values};
use crate::pool::MAX_THREADS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Optimizer {
    /// Plain SGD with L2 in the gradient (Rendle et al. 2009, as implicit and Cornac run it).
    Sgd,
    /// Adam with decoupled weight decay (Loshchilov & Hutter 2019), moments per factor row.
    AdamW,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    Constant,
    /// learning_rate x lr_gamma ^ floor(epoch / lr_step_epochs).
    Step,
    /// Cosine from learning_rate to 0 over `epochs`.
    Cosine,
    /// Linear from learning_rate / warmup_epochs up to learning_rate, then constant.
    Warmup,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampler {
    /// Uniform over the items the user has not interacted with (checked against the row).
    Uniform,
    /// Unseen items drawn with probability proportional to popularity ^ popularity_beta.
    Popularity,
    /// Dynamic negative sampling (Zhang et al. 2013): the best-scored of dns_candidates
    /// unseen uniform candidates.
    Dns,
    /// A hard_fraction of negatives from the hard pool (the hard_top_n most popular items
    /// the user has not seen, and the user's explicitly disliked items when given), the rest
    /// uniform.
    Mixed,
}

impl Sampler {
    /// The name a config gives it.
    pub fn name(self) -> &'static str {
        match self {
            Sampler::Uniform => "uniform",
            Sampler::Popularity => "popularity",
            Sampler::Dns => "dns",
            Sampler::Mixed => "mixed",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct BprParams {
    pub factors: usize,
    pub learning_rate: f32,
    pub regularization: f32,
    pub item_bias: bool,
    pub epochs: usize,
    pub optimizer: Optimizer,
    pub weight_decay: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub lr_schedule: Schedule,
    pub lr_step_epochs: usize,
    pub lr_gamma: f32,
    pub warmup_epochs: usize,
    /// 0 = as many as training positives.
    pub samples_per_epoch: usize,
    pub sampler: Sampler,
    pub dns_candidates: usize,
    pub hard_fraction: f32,
    pub hard_top_n: usize,
    pub popularity_beta: f32,
    pub blocks: usize,
    pub seed: u64,
    pub threads: usize,
    pub eval_every: usize,
    pub patience: usize,
    pub k: usize,
}

const NON_NEG: Kind = Kind::Float {
    min: 0.0,
    min_exclusive: false,
    max: f64::INFINITY,
};
const POSITIVE: Kind = Kind::Float {
    min: 0.0,
    min_exclusive: true,
    max: f64::INFINITY,
};
const BETA: Kind = Kind::Float {
    min: 0.0,
    min_exclusive: false,
    max: 0.9999,
};

/// The one list of BPR's parameters. Defaults (dns with 3 candidates, learning rate 0.05,
/// regularization 0.05, 100 epochs) from a validation grid on ml-100k, ml-latest-small and
/// lastfm-2k (bench/bpr_tune.mjs, 64 factors): that config averaged 0.947 of each dataset's
/// best validation NDCG@10 (200 epochs: 0.972); dns beat uniform by 8-14 % on test after tuning,
/// popularity and mixed lost 30-50 % at equal settings (bench/RESULTS-bpr.md).
pub static SPEC: &[ParamSpec] = &[
    ParamSpec {
        name: "factors",
        kind: Kind::Int { min: 1, max: 4096 },
        default: D::Num(64.0),
        doc: "Latent factors per user and item (an item bias, when on, is one more column).",
    },
    ParamSpec {
        name: "learning_rate",
        kind: POSITIVE,
        default: D::Num(0.05),
        doc: "Step size (the peak of the schedule).",
    },
    ParamSpec {
        name: "regularization",
        kind: NON_NEG,
        default: D::Num(0.05),
        doc: "L2 penalty in the gradient of every updated row (lambda).",
    },
    ParamSpec {
        name: "item_bias",
        kind: Kind::Bool,
        default: D::Bool(true),
        doc: "Learn an item bias, stored as an extra factor column (users hold 1.0 there), so scoring stays one dot product.",
    },
    ParamSpec {
        name: "epochs",
        kind: Kind::Int { min: 1, max: 100_000 },
        default: D::Num(100.0),
        doc: "Passes of samples_per_epoch samples each (at most; early stopping may end sooner).",
    },
    ParamSpec {
        name: "optimizer",
        kind: Kind::Choice(&["sgd", "adamw"]),
        default: D::Str("sgd"),
        doc: "sgd: plain SGD; adamw: Adam with decoupled weight decay, moments per factor row.",
    },
    ParamSpec {
        name: "weight_decay",
        kind: NON_NEG,
        default: D::Num(0.0),
        doc: "AdamW's decoupled weight decay (ignored by sgd).",
    },
    ParamSpec {
        name: "beta1",
        kind: BETA,
        default: D::Num(0.9),
        doc: "AdamW's first-moment decay.",
    },
    ParamSpec {
        name: "beta2",
        kind: BETA,
        default: D::Num(0.999),
        doc: "AdamW's second-moment decay.",
    },
    ParamSpec {
        name: "lr_schedule",
        kind: Kind::Choice(&["constant", "step", "cosine", "warmup"]),
        default: D::Str("constant"),
        doc: "Learning rate per epoch: constant; step (x lr_gamma every lr_step_epochs); cosine (to 0 at the last epoch); warmup (linear over warmup_epochs, then constant).",
    },
    ParamSpec {
        name: "lr_step_epochs",
        kind: Kind::Int { min: 1, max: 100_000 },
        default: D::Num(10.0),
        doc: "Epochs between decays of the step schedule.",
    },
    ParamSpec {
        name: "lr_gamma",
        kind: Kind::Float { min: 0.0, min_exclusive: true, max: 1.0 },
        default: D::Num(0.5),
        doc: "Factor of each decay of the step schedule.",
    },
    ParamSpec {
        name: "warmup_epochs",
        kind: Kind::Int { min: 1, max: 100_000 },
        default: D::Num(5.0),
        doc: "Epochs of the linear warm-up.",
    },
    ParamSpec {
        name: "samples_per_epoch",
        kind: Kind::Int { min: 0, max: 1 << 40 },
        default: D::Num(0.0),
        doc: "(user, positive, negative) triples per epoch; 0 = as many as training positives.",
    },
    ParamSpec {
        name: "sampler",
        kind: Kind::Choice(&["uniform", "popularity", "dns", "mixed"]),
        default: D::Str("dns"),
        doc: "Negatives (always items the user has not seen): uniform; popularity (^popularity_beta); dns (best-scored of dns_candidates uniform ones); mixed (hard_fraction from a hard pool: the hard_top_n most popular and the user's explicit dislikes when the data keeps them, data.negative_threshold; the rest uniform).",
    },
    ParamSpec {
        name: "dns_candidates",
        kind: Kind::Int { min: 1, max: 1000 },
        default: D::Num(3.0),
        doc: "Uniform candidates scored per negative by the dns sampler.",
    },
    ParamSpec {
        name: "hard_fraction",
        kind: Kind::Float { min: 0.0, min_exclusive: false, max: 1.0 },
        default: D::Num(0.3),
        doc: "Share of the mixed sampler's negatives drawn from the hard pool.",
    },
    ParamSpec {
        name: "hard_top_n",
        kind: Kind::Int { min: 0, max: 1 << 31 },
        default: D::Num(100.0),
        doc: "The most popular items in the mixed sampler's hard pool (beside the user's dislikes; 0: dislikes only).",
    },
    ParamSpec {
        name: "popularity_beta",
        kind: NON_NEG,
        default: D::Num(1.0),
        doc: "Exponent of popularity in the popularity sampler (0 = uniform).",
    },
    ParamSpec {
        name: "blocks",
        kind: Kind::Int { min: 1, max: 1024 },
        default: D::Num(32.0),
        doc: "Users and items are cut into this many blocks per epoch (at most one per 16 items: a cell's negatives come from its item block); cells sharing no rows run in parallel. Part of the result's identity (the thread count is not).",
    },
    ParamSpec {
        name: "seed",
        kind: Kind::Int { min: 0, max: u32::MAX as i64 },
        default: D::Num(42.0),
        doc: "Seed of the factors and every sample; the same seed gives the same model on any thread count.",
    },
    ParamSpec {
        name: "threads",
        kind: Kind::Int { min: 0, max: MAX_THREADS as i64 },
        default: D::Num(0.0),
        doc: "Worker threads; 0 = all cores (or CF_NATIVE_NUM_THREADS).",
    },
    ParamSpec {
        name: "eval_every",
        kind: Kind::Int { min: 1, max: 100_000 },
        default: D::Num(1.0),
        doc: "With a validation matrix: epochs between evaluations (the best evaluated epoch is kept).",
    },
    ParamSpec {
        name: "patience",
        kind: Kind::Int { min: 0, max: 100_000 },
        default: D::Num(0.0),
        doc: "Stop after this many evaluations without a better validation NDCG@k (0 = never stop early); needs a validation matrix.",
    },
    ParamSpec {
        name: "k",
        kind: Kind::Int { min: 1, max: 100_000 },
        default: D::Num(10.0),
        doc: "Cut-off of the validation NDCG.",
    },
];

impl Params for BprParams {
    fn spec() -> &'static [ParamSpec] {
        SPEC
    }

    fn from_values(v: &Values) -> Self {
        let n = |name: &str| v.int(name) as usize;
        let f = |name: &str| v.float(name) as f32;
        BprParams {
            factors: n("factors"),
            learning_rate: f("learning_rate"),
            regularization: f("regularization"),
            item_bias: v.bool("item_bias"),
            epochs: n("epochs"),
            optimizer: match v.choice("optimizer") {
                "adamw" => Optimizer::AdamW,
                _ => Optimizer::Sgd,
            },
            weight_decay: f("weight_decay"),
            beta1: f("beta1"),
            beta2: f("beta2"),
            lr_schedule: match v.choice("lr_schedule") {
                "step" => Schedule::Step,
                "cosine" => Schedule::Cosine,
                "warmup" => Schedule::Warmup,
                _ => Schedule::Constant,
            },
            lr_step_epochs: n("lr_step_epochs"),
            lr_gamma: f("lr_gamma"),
            warmup_epochs: n("warmup_epochs"),
            samples_per_epoch: n("samples_per_epoch"),
            sampler: match v.choice("sampler") {
                "popularity" => Sampler::Popularity,
                "dns" => Sampler::Dns,
                "mixed" => Sampler::Mixed,
                _ => Sampler::Uniform,
            },
            dns_candidates: n("dns_candidates"),
            hard_fraction: f("hard_fraction"),
            hard_top_n: n("hard_top_n"),
            popularity_beta: f("popularity_beta"),
            blocks: n("blocks"),
            seed: v.int("seed") as u64,
            threads: n("threads"),
            eval_every: n("eval_every"),
            patience: n("patience"),
            k: n("k"),
        }
    }

    fn to_values(&self) -> Vec<(&'static str, Value)> {
        let num = |x: f64| Value::Num(x);
        let n = |x: usize| Value::Num(x as f64);
        let s = |x: &'static str| Value::Str(x.into());
        vec![
            ("factors", n(self.factors)),
            ("learning_rate", num(self.learning_rate as f64)),
            ("regularization", num(self.regularization as f64)),
            ("item_bias", Value::Bool(self.item_bias)),
            ("epochs", n(self.epochs)),
            (
                "optimizer",
                s(match self.optimizer {
                    Optimizer::Sgd => "sgd",
                    Optimizer::AdamW => "adamw",
                }),
            ),
            ("weight_decay", num(self.weight_decay as f64)),
            ("beta1", num(self.beta1 as f64)),
            ("beta2", num(self.beta2 as f64)),
            (
                "lr_schedule",
                s(match self.lr_schedule {
                    Schedule::Constant => "constant",
                    Schedule::Step => "step",
                    Schedule::Cosine => "cosine",
                    Schedule::Warmup => "warmup",
                }),
            ),
            ("lr_step_epochs", n(self.lr_step_epochs)),
            ("lr_gamma", num(self.lr_gamma as f64)),
            ("warmup_epochs", n(self.warmup_epochs)),
            ("samples_per_epoch", n(self.samples_per_epoch)),
            ("sampler", s(self.sampler.name())),
            ("dns_candidates", n(self.dns_candidates)),
            ("hard_fraction", num(self.hard_fraction as f64)),
            ("hard_top_n", n(self.hard_top_n)),
            ("popularity_beta", num(self.popularity_beta as f64)),
            ("blocks", n(self.blocks)),
            ("seed", n(self.seed as usize)),
            ("threads", n(self.threads)),
            ("eval_every", n(self.eval_every)),
            ("patience", n(self.patience)),
            ("k", n(self.k)),
        ]
    }

    fn check_across(&self) -> Result<()> {
        // f32 rounding of a value the spec accepted can only reach 1.0 from below 0.9999...;
        // AdamW's bias correction divides by 1 - beta^t, which must stay > 0.
        if self.beta1 >= 1.0 || self.beta2 >= 1.0 {
            return Err(Error::param("beta1", "must be < 1"));
        }
        Ok(())
    }
}

impl Default for BprParams {
    fn default() -> Self {
        Self::defaults()
    }
}

impl BprParams {
    /// Columns of a factor row: the factors, plus the item-bias column when on.
    pub fn width(&self) -> usize {
        self.factors + usize::from(self.item_bias)
    }

    /// The learning rate of (0-based) `epoch`.
    pub fn lr_at(&self, epoch: usize) -> f32 {
        let lr = self.learning_rate;
        match self.lr_schedule {
            Schedule::Constant => lr,
            Schedule::Step => lr * self.lr_gamma.powi((epoch / self.lr_step_epochs) as i32),
            Schedule::Cosine => {
                let t = epoch as f64 / self.epochs.max(1) as f64;
                (lr as f64 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())) as f32
            }
            Schedule::Warmup => {
                let w = self.warmup_epochs;
                if epoch < w {
                    lr * (epoch + 1) as f32 / w as f32
                } else {
                    lr
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::resolve;

    #[test]
    fn every_parameter_round_trips_through_the_spec() {
        let p = BprParams {
            factors: 8,
            learning_rate: 0.1,
            item_bias: false,
            optimizer: Optimizer::AdamW,
            lr_schedule: Schedule::Cosine,
            sampler: Sampler::Mixed,
            hard_fraction: 0.5,
            blocks: 4,
            patience: 3,
            ..BprParams::default()
        };
        let values = p.to_values();
        let names: Vec<&str> = values.iter().map(|(k, _)| *k).collect();
        let spec: Vec<&str> = SPEC.iter().map(|s| s.name).collect();
        assert_eq!(names, spec);
        let back = BprParams::from_values(
            &resolve(SPEC, values.iter().map(|(k, v)| (*k, v.clone()))).unwrap(),
        );
        assert_eq!(back, p);
    }

    #[test]
    fn bad_values_name_the_option() {
        let bad = |p: BprParams| p.check().unwrap_err().to_string();
        let d = BprParams::default;
        assert!(bad(BprParams {
            learning_rate: 0.0,
            ..d()
        })
        .starts_with("learning_rate"));
        assert!(bad(BprParams {
            learning_rate: -1.0,
            ..d()
        })
        .starts_with("learning_rate"));
        assert!(bad(BprParams {
            learning_rate: f32::NAN,
            ..d()
        })
        .starts_with("learning_rate"));
        assert!(bad(BprParams {
            hard_fraction: 1.5,
            ..d()
        })
        .starts_with("hard_fraction"));
        assert!(bad(BprParams {
            hard_fraction: -0.1,
            ..d()
        })
        .starts_with("hard_fraction"));
        assert!(bad(BprParams {
            dns_candidates: 0,
            ..d()
        })
        .starts_with("dns_candidates"));
        assert!(bad(BprParams { blocks: 0, ..d() }).starts_with("blocks"));
    }

    #[test]
    fn schedules() {
        let p = |s| BprParams {
            learning_rate: 1.0,
            lr_schedule: s,
            epochs: 10,
            lr_step_epochs: 3,
            warmup_epochs: 4,
            ..BprParams::default()
        };
        assert_eq!(p(Schedule::Constant).lr_at(7), 1.0);
        assert_eq!(p(Schedule::Step).lr_at(2), 1.0);
        assert_eq!(p(Schedule::Step).lr_at(3), 0.5);
        assert_eq!(p(Schedule::Step).lr_at(6), 0.25);
        assert_eq!(p(Schedule::Cosine).lr_at(0), 1.0);
        assert!((p(Schedule::Cosine).lr_at(5) - 0.5).abs() < 1e-6);
        assert_eq!(p(Schedule::Warmup).lr_at(0), 0.25);
        assert_eq!(p(Schedule::Warmup).lr_at(3), 1.0);
        assert_eq!(p(Schedule::Warmup).lr_at(9), 1.0);
    }
}
