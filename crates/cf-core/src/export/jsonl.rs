//! Lists as JSON Lines: one object per entry, `{"user":"42","rank":1,"item":"7","score":0.93}`.
//! Ids are always JSON strings (escaped by hand: quotes, backslashes and control characters;
//! everything else passes through as UTF-8), so an id like `007` keeps its zeros.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::export::{ListColumns, ListRows, ListSink};

pub struct JsonlListSink {
    path: PathBuf,
    out: BufWriter<File>,
    rows: u64,
    /// `{"<query>":` and `,"rank":` ... written once, copied per row.
    keys: [String; 4],
    /// One line, reused.
    line: String,
}

/// `s` as a JSON string literal, appended to `out`.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push_str(esc);
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

impl JsonlListSink {
    pub fn create(path: &Path, columns: &ListColumns) -> Result<Self> {
        let file = File::create(path).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?;
        let key = |prefix: &str, name: &str| {
            let mut k = prefix.to_string();
            push_json_string(&mut k, name);
            k.push(':');
            k
        };
        Ok(JsonlListSink {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, file),
            rows: 0,
            keys: [
                key("{", &columns.query),
                key(",", "rank"),
                key(",", &columns.item),
                key(",", "score"),
            ],
            line: String::new(),
        })
    }
}

impl ListSink for JsonlListSink {
    fn write_rows(&mut self, rows: &ListRows<'_>) -> Result<()> {
        for j in 0..rows.query.len() {
            let l = &mut self.line;
            l.clear();
            l.push_str(&self.keys[0]);
            push_json_string(l, rows.query[j]);
            l.push_str(&self.keys[1]);
            // Writing into a String cannot fail.
            let _ = write!(l, "{}", rows.rank[j]);
            l.push_str(&self.keys[2]);
            push_json_string(l, rows.item[j]);
            l.push_str(&self.keys[3]);
            // JSON has no NaN or Infinity.
            let s = rows.score[j];
            let _ = if s.is_finite() {
                write!(l, "{s}")
            } else {
                write!(l, "null")
            };
            l.push_str("}\n");
            self.out
                .write_all(l.as_bytes())
                .map_err(|source| Error::Write {
                    path: self.path.clone(),
                    source,
                })?;
        }
        self.rows += rows.query.len() as u64;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<u64> {
        let path = self.path;
        let file = self.out.into_inner().map_err(|e| Error::Write {
            path: path.clone(),
            source: e.into_error(),
        })?;
        super::sync(&path, &file)?;
        Ok(self.rows)
    }
}
