use crate::error::{Error, Result};

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

impl Default for AlsParams {
    /// Chosen by a validation grid on ml-100k, ml-latest-small and lastfm-2k (binary positives,
    /// bench/defaults): within 0.7-3.5 % of each dataset's tuned test NDCG@10, where implicit's
    /// own defaults (reg 0.01, confidence 1) lose 40-53 %. Regularization is not scaled by row
    /// count, so very large datasets want it re-tuned.
    fn default() -> Self {
        AlsParams {
            factors: 64,
            regularization: 50.0,
            scale_regularization: false,
            alpha: 10.0,
            confidence: Confidence::Linear,
            iterations: 15,
            solver: Solver::Cg { steps: 3 },
            precision: Precision::Mixed,
            seed: 42,
            threads: 0,
            compute_loss: false,
        }
    }
}

impl AlsParams {
    pub fn validate(&self) -> Result<()> {
        if self.factors == 0 || self.factors > 4096 {
            return Err(Error::param(
                "factors",
                format!("must be in 1..=4096 (got {})", self.factors),
            ));
        }
        if !(self.regularization >= 0.0) || !self.regularization.is_finite() {
            return Err(Error::param(
                "regularization",
                format!("must be a finite number >= 0 (got {})", self.regularization),
            ));
        }
        if !(self.alpha >= 0.0) || !self.alpha.is_finite() {
            return Err(Error::param(
                "alpha",
                format!("must be a finite number >= 0 (got {})", self.alpha),
            ));
        }
        if let Confidence::Log { epsilon } = self.confidence {
            if !(epsilon > 0.0) || !epsilon.is_finite() {
                return Err(Error::param(
                    "epsilon",
                    format!("must be a finite number > 0 (got {epsilon})"),
                ));
            }
        }
        if self.iterations == 0 {
            return Err(Error::param("iterations", "must be >= 1 (got 0)"));
        }
        if let Solver::Cg { steps } = self.solver {
            if steps == 0 {
                return Err(Error::param("cg_steps", "must be >= 1 (got 0)"));
            }
        }
        Ok(())
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
