//! Float storage that starts on a 64-byte cache line.
//!
//! A `Vec<f32>` from the system allocator starts 16 bytes into a line, so every 64-float
//! factor row spans five lines instead of four: a fifth more memory traffic for the row
//! gathers that bound ALS, and vector loads that split across lines.

use std::ops::{Deref, DerefMut};

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

const ZERO: Line = Line([0.0; 16]);

#[derive(Clone, Default)]
pub struct AlignedVec {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedVec {
    pub fn zeros(len: usize) -> Self {
        AlignedVec {
            lines: vec![ZERO; len.div_ceil(16)],
            len,
        }
    }

    pub fn from_slice(v: &[f32]) -> Self {
        let mut a = AlignedVec::zeros(v.len());
        a.copy_from_slice(v);
        a
    }

    /// Grow or shrink to `len` floats; new ones are `value`.
    pub fn resize(&mut self, len: usize, value: f32) {
        let old = self.len;
        // Floats past `len` in the last line are kept at 0, so growing starts from zeros.
        if len < old {
            let tail = &mut self[len..old];
            tail.fill(0.0);
        }
        // Exact: a Vec would round capacity up to double, and gather scratch is sized by the
        // longest row.
        let lines = len.div_ceil(16);
        self.lines
            .reserve_exact(lines.saturating_sub(self.lines.len()));
        self.lines.resize(lines, ZERO);
        self.len = len;
        if len > old {
            self[old..].fill(value);
        }
    }
}

impl Deref for AlignedVec {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: `lines` holds at least `len` contiguous f32 (Line is repr(C) [f32; 16]).
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<f32>(), self.len) }
    }
}

impl DerefMut for AlignedVec {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `deref`, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<f32>(), self.len) }
    }
}

impl<'a> IntoIterator for &'a AlignedVec {
    type Item = &'a f32;
    type IntoIter = std::slice::Iter<'a, f32>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl From<Vec<f32>> for AlignedVec {
    fn from(v: Vec<f32>) -> Self {
        AlignedVec::from_slice(&v)
    }
}

impl PartialEq for AlignedVec {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for AlignedVec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedVec(len {})", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_a_cache_line_and_resizes_like_a_vec() {
        let mut a = AlignedVec::from_slice(&[1.0, 2.0, 3.0]);
        assert_eq!(a.as_ptr() as usize % 64, 0);
        assert_eq!(&*a, &[1.0, 2.0, 3.0]);
        a.resize(40, 7.0);
        assert_eq!(a.as_ptr() as usize % 64, 0);
        assert_eq!(a.len(), 40);
        assert_eq!(&a[..4], &[1.0, 2.0, 3.0, 7.0]);
        assert!(a[3..].iter().all(|&v| v == 7.0));
        a.resize(2, 0.0);
        a.resize(5, 1.0);
        assert_eq!(&*a, &[1.0, 2.0, 1.0, 1.0, 1.0]);
    }
}
