//! A tiny seeded generator (SplitMix64).
//!
//! Streams are derived from (seed, purpose, row) so that every row's random numbers are the
//! same whatever thread draws them: this is what makes fits bitwise-identical across thread
//! counts.

#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// An independent stream for `(seed, stream, index)`.
    pub fn derive(seed: u64, stream: u64, index: u64) -> Self {
        let mut g = SplitMix64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let a = g.next_u64();
        SplitMix64(a ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The value `next_u64` returns after `ahead` more calls, without drawing it: the state
    /// only counts up, so any later value is one step away (for prefetching what a later
    /// draw will read).
    #[inline(always)]
    pub fn peek(&self, ahead: u64) -> u64 {
        let mut z = self
            .0
            .wrapping_add(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(ahead + 1));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 bits, exactly representable as f32.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in [0, n); n > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        Self::scale(self.next_u64(), n)
    }

    /// What `below(n)` returns when the generator's next value is `r` (with `peek`, the
    /// index a later `below` will pick).
    #[inline(always)]
    pub fn scale(r: u64, n: u64) -> u64 {
        // Lemire's multiply-shift; the tiny bias is irrelevant for shuffles of rows.
        ((r as u128 * n as u128) >> 64) as u64
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map(|_| SplitMix64::derive(42, 1, 7).next_u64())
            .collect();
        assert!(a.iter().all(|&x| x == a[0]));
        assert_ne!(
            SplitMix64::derive(42, 1, 7).next_u64(),
            SplitMix64::derive(42, 1, 8).next_u64()
        );
        assert_ne!(
            SplitMix64::derive(42, 1, 7).next_u64(),
            SplitMix64::derive(42, 2, 7).next_u64()
        );
    }

    #[test]
    fn peek_sees_later_draws_without_drawing() {
        let mut g = SplitMix64::derive(7, 3, 11);
        let ahead: Vec<u64> = (0..5).map(|k| g.peek(k)).collect();
        let drawn: Vec<u64> = (0..5).map(|_| g.next_u64()).collect();
        assert_eq!(ahead, drawn);
        assert_eq!(g.peek(0), g.clone().next_u64());
    }

    #[test]
    fn floats_in_unit_interval() {
        let mut g = SplitMix64::new(1);
        let xs: Vec<f32> = (0..10_000).map(|_| g.next_f32()).collect();
        assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = xs.iter().sum::<f32>() / xs.len() as f32;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
    }
}
