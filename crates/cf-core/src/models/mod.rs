pub mod als;
pub mod popularity;

use crate::linalg::dot;
use crate::linalg::simd::{Isa, LANES};

/// Anything that scores every item for a known user.
pub trait Scorer: Sync {
    fn n_items(&self) -> usize;
    fn score_user(&self, user: usize, out: &mut [f32]);
}

impl Scorer for als::AlsModel {
    fn n_items(&self) -> usize {
        self.n_items
    }
    fn score_user(&self, user: usize, out: &mut [f32]) {
        score_vector(self, self.user_vector(user), out)
    }
}

/// Scores of every item for a free-standing user vector (e.g. from fold-in).
pub fn score_vector(m: &als::AlsModel, x: &[f32], out: &mut [f32]) {
    let k = m.factors();
    if k % LANES == 0 {
        // Item rows are already 8-aligned in length: score them as one block with the
        // vector kernel (four rows per reduction).
        Isa::detect().dots(&m.item_factors, k, x, out);
    } else {
        for (i, o) in out.iter_mut().enumerate() {
            *o = dot(x, m.item_vector(i));
        }
    }
}

impl Scorer for popularity::Popularity {
    fn n_items(&self) -> usize {
        self.counts.len()
    }
    fn score_user(&self, _user: usize, out: &mut [f32]) {
        out.copy_from_slice(&self.counts)
    }
}
