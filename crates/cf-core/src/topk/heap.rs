//! A bounded best-k collection: a binary heap whose root is the worst kept entry, so the
//! test a new score must pass (beat the root) is one comparison.
//!
//! Order: higher score first, and for equal scores the lower item index first, whatever the
//! order entries are offered in (index order, the norm-ordered scan's, or merging partial
//! results of items split across threads).

#[derive(Clone, Debug)]
pub struct Best {
    k: usize,
    /// (score, item); heap[0] is the worst.
    heap: Vec<(f32, u32)>,
}

/// `a` ranks below `b`: a lower score, or the same score and a higher index.
#[inline]
fn worse(a: (f32, u32), b: (f32, u32)) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 > b.1)
}

impl Best {
    pub fn new(k: usize) -> Self {
        Best {
            k,
            heap: Vec::with_capacity(k),
        }
    }

    /// Empty again, for the next query (keeps the allocation).
    pub fn reset(&mut self, k: usize) {
        self.k = k;
        self.heap.clear();
    }

    /// A score must reach this to enter (an equal one only with a lower index than the kept
    /// k-th): -inf until k entries are kept (+inf for k = 0).
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.k == 0 {
            f32::INFINITY
        } else if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap[0].0
        }
    }

    /// Offer an entry in full order (any index order); finite scores only.
    #[inline]
    pub fn offer(&mut self, score: f32, item: u32) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push((score, item));
            self.sift_up(self.heap.len() - 1);
        } else if worse(self.heap[0], (score, item)) {
            self.heap[0] = (score, item);
            self.sift_down(0);
        }
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let p = (i - 1) / 2;
            if worse(self.heap[i], self.heap[p]) {
                self.heap.swap(i, p);
                i = p;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let l = 2 * i + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let c = if r < n && worse(self.heap[r], self.heap[l]) {
                r
            } else {
                l
            };
            if worse(self.heap[c], self.heap[i]) {
                self.heap.swap(i, c);
                i = c;
            } else {
                break;
            }
        }
    }

    /// Fold another partial result in.
    pub fn merge(&mut self, other: &Best) {
        for &(s, i) in &other.heap {
            self.offer(s, i);
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Best first, written into `ids`/`scores` (as long as k); slots past what was found get
    /// (u32::MAX, NaN). Leaves the collection empty.
    pub fn drain_into(&mut self, ids: &mut [u32], scores: &mut [f32]) {
        self.heap
            .sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for j in 0..ids.len() {
            match self.heap.get(j) {
                Some(&(s, i)) => {
                    ids[j] = i;
                    scores[j] = s;
                }
                None => {
                    ids[j] = u32::MAX;
                    scores[j] = f32::NAN;
                }
            }
        }
        self.heap.clear();
    }

    /// Best first, as pairs.
    pub fn into_sorted(mut self) -> Vec<(u32, f32)> {
        self.heap
            .sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        self.heap.into_iter().map(|(s, i)| (i, s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_with_lower_index_on_ties() {
        let mut b = Best::new(3);
        for (i, s) in [0.5f32, 0.9, 0.9, 0.1, 0.7, 0.9].iter().enumerate() {
            b.offer(*s, i as u32);
        }
        assert_eq!(b.into_sorted(), vec![(1, 0.9), (2, 0.9), (5, 0.9)]);
        // Offered out of order, the same answer.
        let mut b = Best::new(2);
        for (i, s) in [(5u32, 0.9f32), (2, 0.9), (1, 0.9), (0, 0.5)] {
            b.offer(s, i);
        }
        assert_eq!(b.into_sorted(), vec![(1, 0.9), (2, 0.9)]);
    }

    #[test]
    fn merge_and_drain_pad() {
        let mut a = Best::new(3);
        a.offer(1.0, 4);
        let mut b = Best::new(3);
        b.offer(1.0, 2);
        b.offer(0.5, 0);
        a.merge(&b);
        let mut ids = [0u32; 4];
        let mut sc = [0f32; 4];
        a.drain_into(&mut ids, &mut sc);
        assert_eq!(ids, [2, 4, 0, u32::MAX]);
        assert!(sc[3].is_nan() && sc[0] == 1.0);
        assert!(a.is_empty());
    }
}
