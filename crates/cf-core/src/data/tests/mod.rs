//! Tests of the data pipeline (read, prepare, split, ids) on small files written to a temp dir.

mod ids;
mod parquet;
mod prepare;
mod read;
mod split;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::ids::IdMap;
use super::read::{read_rows, ReadOptions, Rows};
use crate::error::{Error, Result};

/// A fresh directory under the system temp dir, removed on drop. Names carry the process id
/// and a counter, so tests running in parallel (or two `cargo test` at once) never collide.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("cf-core-data-{}-{n}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A file's rows with fresh id maps.
#[derive(Debug)]
pub(super) struct Read {
    pub rows: Rows,
    pub users: IdMap,
    pub items: IdMap,
}

impl Read {
    /// (user id, item id) of each row, as text.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.rows
            .users
            .iter()
            .zip(&self.rows.items)
            .map(|(&u, &i)| {
                (
                    self.users.id(u).unwrap().to_string(),
                    self.items.id(i).unwrap().to_string(),
                )
            })
            .collect()
    }
}

pub(super) fn read(path: &Path, opts: &ReadOptions) -> Result<Read> {
    let mut users = IdMap::new();
    let mut items = IdMap::new();
    let rows = read_rows(path, opts, &mut users, &mut items)?;
    Ok(Read { rows, users, items })
}

/// Write `content` to a fresh file and read it.
pub(super) fn read_str(content: impl AsRef<[u8]>, opts: &ReadOptions) -> Result<Read> {
    let dir = TempDir::new("read");
    read(&dir.file("data.txt", content), opts)
}

pub(super) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(u, i)| (u.to_string(), i.to_string()))
        .collect()
}

/// The message of an `Error::File`, after checking it names `path`.
#[track_caller]
pub(super) fn file_error(e: Error, path: &Path) -> String {
    match e {
        Error::File { path: p, message } => {
            assert_eq!(p, path);
            message
        }
        other => panic!("expected Error::File, got {other:?}"),
    }
}

/// The message of an `Error::Parse`, after checking it names `path:line`.
#[track_caller]
pub(super) fn parse_error(e: Error, path: &Path, line: u64) -> String {
    match e {
        Error::Parse {
            path: p,
            line: l,
            message,
        } => {
            assert_eq!((p.as_path(), l), (path, line));
            message
        }
        other => panic!("expected Error::Parse, got {other:?}"),
    }
}
