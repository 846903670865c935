//! Ranked lists written to files (`cf-native recommend` / `cf-native similar`): one row per
//! (query, rank) in long format, so every format reads back as the same table:
//! `<query>` (original id), `rank` (1 = best), `<item>` (original id), `score`.
//!
//! Writers stream: the caller hands over blocks of rows and memory stays bounded by the
//! block, whatever the number of queries. A writer writes to the path it is given; making
//! the file appear atomically (temp name, then rename) is the caller's business.

pub mod parquet;

use crate::error::Result;

/// Column names of a list file: `user`/`item` for recommendations, `item`/`similar_item`
/// for similar-item lists.
#[derive(Clone, Debug)]
pub struct ListColumns {
    pub query: String,
    pub item: String,
}

/// A block of rows, all columns the same length.
pub struct ListRows<'a> {
    pub query: Vec<&'a str>,
    pub rank: Vec<u32>,
    pub item: Vec<&'a str>,
    pub score: Vec<f32>,
}

/// A file being written, block by block.
pub trait ListSink: Send {
    fn write_rows(&mut self, rows: &ListRows<'_>) -> Result<()>;
    /// Flush and close; returns the number of rows written.
    fn finish(self: Box<Self>) -> Result<u64>;
}
