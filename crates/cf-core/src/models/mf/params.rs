use crate::params::{Default as D, Kind, ParamSpec, Params, Value, Values};
use crate::pool::MAX_THREADS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Solver {
    /// Alternating least squares: every user row (bias and factors) solved exactly with the
    /// items fixed, then every item row; rows are independent, so no schedule is needed.
    Als,
    /// Stochastic gradient descent over the ratings (Funk 2006, Koren 2009, as Surprise's SVD),
    /// block-scheduled so the result does not depend on the thread count.
    Sgd,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MfParams {
    pub factors: usize,
    pub solver: Solver,
    pub epochs: usize,
    pub regularization: f32,
    pub bias_regularization: f32,
    pub learning_rate: f32,
    pub lr_decay: f32,
    pub init_std: f32,
    pub blocks: usize,
    pub patience: usize,
    pub seed: u64,
    pub threads: usize,
}

const NON_NEG: Kind = Kind::Float {
    min: 0.0,
    min_exclusive: false,
    max: f64::INFINITY,
};

/// The one list of mf's parameters. The defaults are ALS's: no step size to tune, and more
/// epochs do not overfit at this penalty, so they hold without a validation matrix (ml-100k
/// u1-u5: about 0.915 mean RMSE). The lowest RMSE measured comes from SGD with many factors, a
/// tiny init and early stopping on validation (bench/RESULTS-ratings.md).
pub static SPEC: &[ParamSpec] = &[
    ParamSpec {
        name: "factors",
        kind: Kind::Int { min: 1, max: 4096 },
        default: D::Num(32.0),
        doc: "Latent factors per user and item (the item bias is one more column of an item row; users hold 1.0 there).",
    },
    ParamSpec {
        name: "solver",
        kind: Kind::Choice(&["als", "sgd"]),
        default: D::Str("als"),
        doc: "als: each user's bias and factors solved exactly with the items fixed, then each item's (deterministic); sgd: block-scheduled SGD over the ratings (deterministic for a seed and blocks, at any thread count).",
    },
    ParamSpec {
        name: "epochs",
        kind: Kind::Int { min: 1, max: 100_000 },
        default: D::Num(20.0),
        doc: "ALS sweeps (users then items) or SGD passes over the ratings; with validation the best epoch is kept.",
    },
    ParamSpec {
        name: "regularization",
        kind: NON_NEG,
        default: D::Num(0.12),
        doc: "L2 penalty on the factors per rating (lambda): the objective charges lambda (p_u.p_u + q_i.q_i) for every rating, so a row with n ratings pays n lambda (ALS-WR; what SGD's per-step penalty minimises).",
    },
    ParamSpec {
        name: "bias_regularization",
        kind: NON_NEG,
        default: D::Num(0.1),
        doc: "L2 penalty on the user and item biases per rating.",
    },
    ParamSpec {
        name: "learning_rate",
        kind: Kind::Float {
            min: 0.0,
            min_exclusive: true,
            max: f64::INFINITY,
        },
        default: D::Num(0.005),
        doc: "SGD step size of the first epoch (ignored by als).",
    },
    ParamSpec {
        name: "lr_decay",
        kind: Kind::Float {
            min: 0.0,
            min_exclusive: true,
            max: 1.0,
        },
        default: D::Num(1.0),
        doc: "SGD: the step size is learning_rate x lr_decay^epoch (1 = constant; ignored by als).",
    },
    ParamSpec {
        name: "init_std",
        kind: NON_NEG,
        default: D::Num(0.1),
        doc: "Standard deviation of the seeded normal initial factors (biases start at 0).",
    },
    ParamSpec {
        name: "blocks",
        kind: Kind::Int { min: 1, max: 1024 },
        default: D::Num(16.0),
        doc: "SGD: users and items are cut into this many blocks per epoch; cells sharing no rows run in parallel. Part of the result's identity (the thread count is not). Ignored by als.",
    },
    ParamSpec {
        name: "patience",
        kind: Kind::Int { min: 0, max: 100_000 },
        default: D::Num(0.0),
        doc: "Stop after this many epochs without a better validation RMSE (0 = run every epoch; the best is kept either way); needs a validation matrix.",
    },
    ParamSpec {
        name: "seed",
        kind: Kind::Int {
            min: 0,
            max: u32::MAX as i64,
        },
        default: D::Num(42.0),
        doc: "Seed of the initial factors and of SGD's order; the same seed gives the same model on any thread count.",
    },
    ParamSpec {
        name: "threads",
        kind: Kind::Int {
            min: 0,
            max: MAX_THREADS as i64,
        },
        default: D::Num(0.0),
        doc: "Worker threads; 0 = all cores (or CF_NATIVE_NUM_THREADS).",
    },
];

impl Params for MfParams {
    fn spec() -> &'static [ParamSpec] {
        SPEC
    }

    fn from_values(v: &Values) -> Self {
        let n = |name: &str| v.int(name) as usize;
        let f = |name: &str| v.float(name) as f32;
        MfParams {
            factors: n("factors"),
            solver: match v.choice("solver") {
                "sgd" => Solver::Sgd,
                _ => Solver::Als,
            },
            epochs: n("epochs"),
            regularization: f("regularization"),
            bias_regularization: f("bias_regularization"),
            learning_rate: f("learning_rate"),
            lr_decay: f("lr_decay"),
            init_std: f("init_std"),
            blocks: n("blocks"),
            patience: n("patience"),
            seed: v.int("seed") as u64,
            threads: n("threads"),
        }
    }

    fn to_values(&self) -> Vec<(&'static str, Value)> {
        let num = |x: f64| Value::Num(x);
        let n = |x: usize| Value::Num(x as f64);
        vec![
            ("factors", n(self.factors)),
            (
                "solver",
                Value::Str(
                    match self.solver {
                        Solver::Als => "als",
                        Solver::Sgd => "sgd",
                    }
                    .into(),
                ),
            ),
            ("epochs", n(self.epochs)),
            ("regularization", num(self.regularization as f64)),
            ("bias_regularization", num(self.bias_regularization as f64)),
            ("learning_rate", num(self.learning_rate as f64)),
            ("lr_decay", num(self.lr_decay as f64)),
            ("init_std", num(self.init_std as f64)),
            ("blocks", n(self.blocks)),
            ("patience", n(self.patience)),
            ("seed", n(self.seed as usize)),
            ("threads", n(self.threads)),
        ]
    }
}

impl Default for MfParams {
    fn default() -> Self {
        Self::defaults()
    }
}

impl MfParams {
    /// Columns of a factor row: the factors and the item-bias column.
    pub fn width(&self) -> usize {
        self.factors + 1
    }

    /// SGD's step size in (0-based) `epoch`.
    pub fn lr_at(&self, epoch: usize) -> f32 {
        (self.learning_rate as f64
            * (self.lr_decay as f64).powi(epoch.min(i32::MAX as usize) as i32)) as f32
    }
}
