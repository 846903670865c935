//! External ids (strings as they appear in files) <-> dense indices.

use std::collections::HashMap;

#[derive(Clone, Debug, Default)]
pub struct IdMap {
    ids: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl IdMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_ids<I: IntoIterator<Item = S>, S: Into<Box<str>>>(ids: I) -> Result<Self, String> {
        let mut m = IdMap::new();
        for id in ids {
            let id: Box<str> = id.into();
            if m.index.contains_key(&id) {
                return Err(format!("duplicate id {id:?}"));
            }
            m.intern(&id);
        }
        Ok(m)
    }

    /// The index of `id`, adding it when new.
    pub fn intern(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.ids.len() as u32;
        let boxed: Box<str> = id.into();
        self.ids.push(boxed.clone());
        self.index.insert(boxed, i);
        i
    }

    pub fn get(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    pub fn id(&self, index: u32) -> Option<&str> {
        self.ids.get(index as usize).map(|s| &**s)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.ids.iter().map(|s| &**s)
    }

    /// Keep the indices where `keep` is true, renumbered densely in order.
    /// Returns the new map and old -> new (u32::MAX for dropped).
    pub fn compact(&self, keep: &[bool]) -> (IdMap, Vec<u32>) {
        let mut out = IdMap::new();
        let remap = self
            .ids
            .iter()
            .zip(keep)
            .map(|(id, &k)| if k { out.intern(id) } else { u32::MAX })
            .collect();
        (out, remap)
    }
}
