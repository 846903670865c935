//! The items each user already has, as a fitted model filters them: the training matrix,
//! with the rows a partial fit gave in place of (or after) its rows. Kept in Rust beside the
//! model, so recommending and saving read one source.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::topk::SeenItems;

#[derive(Clone, Debug)]
pub struct SeenRows {
    base: Arc<Csr>,
    /// Rows given since, by user; they replace the base's row (or extend past its end).
    replaced: BTreeMap<u32, (Vec<u32>, Vec<f32>)>,
    n_rows: usize,
    n_cols: usize,
}

impl SeenRows {
    pub fn new(base: Arc<Csr>) -> Self {
        SeenRows {
            n_rows: base.n_rows,
            n_cols: base.n_cols,
            base,
            replaced: BTreeMap::new(),
        }
    }

    /// The base matrix when nothing was replaced and the shape is still the base's.
    pub fn unchanged(&self) -> Option<&Arc<Csr>> {
        (self.replaced.is_empty()
            && self.n_rows == self.base.n_rows
            && self.n_cols == self.base.n_cols)
            .then_some(&self.base)
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Row j of `rows` becomes the row of user `ids[j]` (ids already checked by the model's
    /// partial fit: each once, new ones consecutive). Widens to `n_cols` columns.
    pub fn replace(&mut self, ids: &[u32], rows: &Csr, n_cols: usize) -> Result<()> {
        if rows.n_rows != ids.len() || rows.n_cols > n_cols {
            return Err(Error::param(
                "rows",
                format!(
                    "is {} x {} for {} users of a model with {n_cols} items",
                    rows.n_rows,
                    rows.n_cols,
                    ids.len()
                ),
            ));
        }
        for (j, &u) in ids.iter().enumerate() {
            let (c, v) = rows.row(j);
            self.replaced.insert(u, (c.to_vec(), v.to_vec()));
            self.n_rows = self.n_rows.max(u as usize + 1);
        }
        self.n_cols = self.n_cols.max(n_cols);
        Ok(())
    }

    /// Widen to a model that grew (new items from a partial fit of items).
    pub fn widen(&mut self, n_rows: usize, n_cols: usize) {
        self.n_rows = self.n_rows.max(n_rows);
        self.n_cols = self.n_cols.max(n_cols);
    }

    fn row(&self, u: usize) -> (&[u32], &[f32]) {
        match self.replaced.get(&(u as u32)) {
            Some((c, v)) => (c, v),
            None if u < self.base.n_rows => self.base.row(u),
            None => (&[], &[]),
        }
    }

    /// One matrix, shaped like the model: what a saved model stores as its training data.
    pub fn to_csr(&self) -> Arc<Csr> {
        if let Some(b) = self.unchanged() {
            return b.clone();
        }
        let mut indptr = Vec::with_capacity(self.n_rows + 1);
        indptr.push(0usize);
        let (mut indices, mut values) = (Vec::new(), Vec::new());
        for u in 0..self.n_rows {
            let (c, v) = self.row(u);
            indices.extend_from_slice(c);
            values.extend_from_slice(v);
            indptr.push(indices.len());
        }
        Arc::new(Csr {
            n_rows: self.n_rows,
            n_cols: self.n_cols,
            indptr,
            indices,
            values,
        })
    }
}

impl SeenItems for SeenRows {
    fn seen(&self, user: usize) -> &[u32] {
        self.row(user).0
    }
    fn n_cols(&self) -> usize {
        self.n_cols
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaced_rows_win_and_new_rows_extend() {
        let base = Arc::new(Csr::from_coo(2, 3, &[0, 0, 1], &[0, 2, 1], &[1.0, 2.0, 3.0]).unwrap());
        let mut s = SeenRows::new(base.clone());
        assert!(Arc::ptr_eq(&s.to_csr(), &base));
        let rows = Csr::from_coo(2, 4, &[0, 1], &[3, 0], &[5.0, 6.0]).unwrap();
        s.replace(&[1, 2], &rows, 4).unwrap();
        assert_eq!(s.seen(0), &[0, 2]);
        assert_eq!(s.seen(1), &[3]);
        assert_eq!(s.seen(2), &[0]);
        assert!(s.seen(9).is_empty());
        let m = s.to_csr();
        assert_eq!((m.n_rows, m.n_cols), (3, 4));
        assert_eq!(m.indptr, vec![0, 2, 3, 4]);
        assert_eq!(m.indices, vec![0, 2, 3, 0]);
        assert_eq!(m.values, vec![1.0, 2.0, 5.0, 6.0]);
        m.validate().unwrap();
        assert!(s.replace(&[0], &rows, 4).is_err());
    }
}
