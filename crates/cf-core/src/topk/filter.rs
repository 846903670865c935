//! What a query may return: not the items of its user's rows in any exclusion source (the
//! training matrix, an exclude matrix), not a banned item (an item mask: no longer sold),
//! not itself (similar items and users). Applied during selection, to the few scores that
//! beat a heap's threshold, so a filter costs nothing per item scanned.

use super::dense::Admit;
use super::SeenItems;

/// A set of item indices, one bit each.
pub struct ItemSet {
    bits: Vec<u64>,
}

impl ItemSet {
    pub fn new(n: usize, items: &[u32]) -> Self {
        let mut bits = vec![0u64; n.div_ceil(64)];
        for &i in items {
            bits[i as usize / 64] |= 1 << (i % 64);
        }
        ItemSet { bits }
    }

    #[inline]
    pub fn contains(&self, i: u32) -> bool {
        self.bits
            .get(i as usize / 64)
            .is_some_and(|w| w >> (i % 64) & 1 == 1)
    }
}

pub struct Filter<'a> {
    /// Per-user exclusion sources, looked up by `users[pos]`.
    pub seen: &'a [&'a dyn SeenItems],
    pub users: &'a [u32],
    pub banned: Option<&'a ItemSet>,
    /// The query's own index (`own[pos]`) is left out.
    pub own: Option<&'a [u32]>,
}

impl Admit for Filter<'_> {
    fn for_query(&self, pos: usize) -> impl FnMut(u32) -> bool + '_ {
        let lists: Vec<&[u32]> = match self.users.get(pos) {
            Some(&u) => self.seen.iter().map(|s| s.seen(u as usize)).collect(),
            None => Vec::new(),
        };
        let own = self.own.map(|o| o[pos]);
        let banned = self.banned;
        move |i| {
            own != Some(i)
                && !banned.is_some_and(|b| b.contains(i))
                && lists.iter().all(|l| l.binary_search(&i).is_err())
        }
    }
}
