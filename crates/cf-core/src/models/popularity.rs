//! The baseline every model must beat: items ranked by how many users interacted with them.

use crate::data::csr::Csr;

#[derive(Clone, Debug, PartialEq)]
pub struct Popularity {
    /// Per item: number of users with an entry.
    pub counts: Vec<f32>,
}

impl Popularity {
    pub fn fit(user_items: &Csr) -> Self {
        Popularity {
            counts: user_items
                .col_counts()
                .into_iter()
                .map(|c| c as f32)
                .collect(),
        }
    }
}
