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

/// From this size a table is backed by transparent huge pages where the kernel offers them.
const HUGE_FROM: usize = 4 << 20;
const HUGE_PAGE: usize = 2 << 20;

/// `n` zeroed lines whose 2 MiB-aligned inner part is marked MADV_HUGEPAGE before the first
/// touch. Factor tables of large catalogues are read a row at a time in random order (BPR's
/// samples, top-K gathers): with 4 KiB pages nearly every row costs a TLB miss and a page walk
/// on top of the cache miss. Kernels in THP `madvise` mode (a common default) only give huge
/// pages to regions that ask before they are touched, hence alloc, advise, then zero.
#[cfg(target_os = "linux")]
fn zeroed_lines(n: usize) -> Vec<Line> {
    use std::alloc::{alloc, handle_alloc_error, Layout};
    let Ok(layout) = Layout::array::<Line>(n) else {
        return vec![ZERO; n]; // too large: let Vec report it
    };
    if layout.size() < HUGE_FROM {
        return vec![ZERO; n];
    }
    // SAFETY: the layout has a non-zero size; the bytes are zeroed (a valid Line pattern)
    // before the Vec takes them over, with the very layout Vec<Line> frees them with.
    unsafe {
        let p = alloc(layout);
        if p.is_null() {
            handle_alloc_error(layout);
        }
        advise_range(p as usize, layout.size());
        std::ptr::write_bytes(p, 0, layout.size());
        Vec::from_raw_parts(p.cast::<Line>(), n, n)
    }
}

#[cfg(not(target_os = "linux"))]
fn zeroed_lines(n: usize) -> Vec<Line> {
    vec![ZERO; n]
}

/// Asks for transparent huge pages under the 2 MiB-aligned inner part of `v`'s buffer, for
/// a large array that is read from many places (each 4 KiB page a TLB miss otherwise). Only
/// pages not yet touched take it: call it on a fresh `vec![0; n]` (calloc leaves the pages
/// untouched) before filling it. Advice only; nothing changes where the kernel says no.
pub fn advise_huge<T>(v: &mut [T]) {
    let bytes = std::mem::size_of_val(v);
    if bytes >= HUGE_FROM {
        advise_range(v.as_mut_ptr() as usize, bytes);
    }
}

/// MADV_HUGEPAGE on the 2 MiB-aligned pages inside [at, at + bytes), which the caller owns.
#[cfg(target_os = "linux")]
fn advise_range(at: usize, bytes: usize) {
    let start = at.next_multiple_of(HUGE_PAGE);
    let end = (at + bytes) / HUGE_PAGE * HUGE_PAGE;
    if end > start {
        // SAFETY: the range lies inside memory the caller owns; madvise only changes how the
        // kernel backs those pages, never their contents. Advice only: a kernel without THP
        // says no, and the memory works the same.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_range(_: usize, _: usize) {}

impl AlignedVec {
    pub fn zeros(len: usize) -> Self {
        AlignedVec {
            lines: zeroed_lines(len.div_ceil(16)),
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

    #[test]
    fn large_tables_are_zeroed_aligned_and_behave_like_small_ones() {
        // Past HUGE_FROM: allocated, advised and zeroed by hand; freed and grown by the Vec.
        let n = HUGE_FROM; // floats: 4x the threshold in bytes
        let mut a = AlignedVec::zeros(n + 3);
        assert_eq!(a.as_ptr() as usize % 64, 0);
        assert!(a.iter().all(|&v| v == 0.0));
        a[n + 2] = 5.0;
        let b = a.clone();
        a.resize(n + 100, 1.0);
        assert_eq!((a[n + 2], a[n + 3], a[n + 99]), (5.0, 1.0, 1.0));
        assert_eq!(b[n + 2], 5.0);
        drop(a);
    }

    #[test]
    fn advice_leaves_arrays_of_any_size_as_they_were() {
        for n in [0usize, 3, HUGE_FROM / 8 - 1, 3 * HUGE_FROM / 8 + 5] {
            let mut v = vec![0u64; n];
            advise_huge(&mut v);
            assert!(v.iter().all(|&x| x == 0), "{n}");
            for (i, x) in v.iter_mut().enumerate() {
                *x = i as u64 * 7;
            }
            // An offset start: the advised range is the aligned part inside the slice.
            if n > 1 {
                advise_huge(&mut v[1..]);
            }
            assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64 * 7), "{n}");
        }
    }
}
