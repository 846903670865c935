//! Lists as CSV: a header line (`user,rank,item,score`), then one row per entry. Ids are
//! quoted the RFC 4180 way only when they need it (a comma, a quote, a line break), so
//! every CSV reader gets the ids back exactly; lines end with `\n`.

use std::fmt::Write as _;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::export::{ListColumns, ListRows, ListSink};

pub struct CsvListSink {
    path: PathBuf,
    out: csv::Writer<BufWriter<File>>,
    rows: u64,
    /// Reused for every number, so a row allocates nothing.
    num: String,
}

/// The csv crate wraps I/O errors; give back the underlying one so the message is the OS's.
fn write_error(path: &Path, e: csv::Error) -> Error {
    let source = match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    };
    Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

impl CsvListSink {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path, columns: &ListColumns) -> Result<Self> {
        let file = File::create(path).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?;
        let mut out = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(BufWriter::with_capacity(1 << 20, file));
        out.write_record([&columns.query, "rank", &columns.item, "score"])
            .map_err(|e| write_error(path, e))?;
        Ok(CsvListSink {
            path: path.to_path_buf(),
            out,
            rows: 0,
            num: String::new(),
        })
    }
}

impl ListSink for CsvListSink {
    fn write_rows(&mut self, rows: &ListRows<'_>) -> Result<()> {
        for j in 0..rows.query.len() {
            let n = &mut self.num;
            n.clear();
            // Writing into a String cannot fail.
            let _ = write!(n, "{}", rows.rank[j]);
            let rank_end = n.len();
            let _ = match rows.score[j] {
                s if s.is_finite() => write!(n, "{s}"),
                s => write!(n, "{}", crate::args::show32(s)),
            };
            let (rank, score) = n.split_at(rank_end);
            self.out
                .write_record([rows.query[j], rank, rows.item[j], score])
                .map_err(|e| write_error(&self.path, e))?;
        }
        self.rows += rows.query.len() as u64;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<u64> {
        let path = self.path;
        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::Write {
                path: path.clone(),
                source: std::io::Error::new(e.error().kind(), e.error().to_string()),
            })?
            .into_inner()
            .map_err(|e| Error::Write {
                path: path.clone(),
                source: e.into_error(),
            })?;
        super::sync(&path, &file)?;
        Ok(self.rows)
    }
}
