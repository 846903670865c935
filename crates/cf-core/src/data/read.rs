//! Delimited interaction files: `,` tab `::` `|` `;`, optional header, CRLF, quoted fields,
//! gzip, and bytes that are not UTF-8 (read as Latin-1, as older MovieLens files are).

use std::io::Read;
use std::path::Path;

use super::ids::IdMap;
use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delimiter {
    Byte(u8),
    /// MovieLens 1M/10M style `a::b::c`.
    DoubleColon,
}

impl Delimiter {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "::" => Ok(Delimiter::DoubleColon),
            "\\t" | "tab" => Ok(Delimiter::Byte(b'\t')),
            _ if s.len() == 1 && s.is_ascii() => Ok(Delimiter::Byte(s.as_bytes()[0])),
            _ => Err(Error::param(
                "delimiter",
                format!("must be one character or \"::\" (got {s:?})"),
            )),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    Name(String),
    Index(usize),
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Column::Name(n) => write!(f, "{n:?}"),
            Column::Index(i) => write!(f, "#{i}"),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    pub delimiter: Option<Delimiter>,
    pub header: Option<bool>,
    /// Default: column 0.
    pub user: Option<Column>,
    /// Default: column 1.
    pub item: Option<Column>,
    /// Default: column 2 when the file has one.
    pub rating: Option<Column>,
    /// Default: column 3 when the file has one.
    pub time: Option<Column>,
}

/// Rows of one file, ids already mapped to indices of shared maps.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    pub users: Vec<u32>,
    pub items: Vec<u32>,
    pub ratings: Option<Vec<f32>>,
    pub times: Option<Vec<i64>>,
    /// 1-based line of each row in its file, for messages about rows later on.
    pub lines: Vec<u64>,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.users.len()
    }
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// The whole file, decompressed when it starts with the gzip magic.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let raw = std::fs::read(path).map_err(io)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(io)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        // Latin-1: every byte is the code point of the same value.
        Err(_) => std::borrow::Cow::Owned(bytes.iter().map(|&b| b as char).collect()),
    }
}

fn first_lines(content: &[u8], n: usize) -> Vec<&[u8]> {
    content
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(|b| b.is_ascii_whitespace()))
        .take(n)
        .collect()
}

pub fn detect_delimiter(path: &Path, content: &[u8]) -> Result<Delimiter> {
    let lines = first_lines(content, 1);
    let Some(first) = lines.first() else {
        return Err(Error::File {
            path: path.to_path_buf(),
            message: "file is empty".into(),
        });
    };
    if first.windows(2).any(|w| w == b"::") {
        return Ok(Delimiter::DoubleColon);
    }
    let best = [b'\t', b',', b'|', b';']
        .into_iter()
        .map(|d| (first.iter().filter(|&&b| b == d).count(), d))
        .max_by_key(|&(count, _)| count)
        .filter(|&(count, _)| count > 0);
    match best {
        Some((_, d)) => Ok(Delimiter::Byte(d)),
        None => Err(Error::File {
            path: path.to_path_buf(),
            message: "cannot detect the delimiter from the first line (none of tab , | ; ::); set data.delimiter".into(),
        }),
    }
}

fn is_number(field: &[u8]) -> bool {
    let s = text(field);
    s.trim().parse::<f64>().is_ok()
}

fn reader(content: &[u8], delimiter: u8, quoting: bool) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .quoting(quoting)
        .trim(csv::Trim::All)
        .from_reader(content)
}

/// Read one file's rows, adding new ids to `users` and `items`.
pub fn read_rows(
    path: &Path,
    opts: &ReadOptions,
    users: &mut IdMap,
    items: &mut IdMap,
) -> Result<Rows> {
    let mut content = read_bytes(path)?;
    if content.starts_with(b"\xEF\xBB\xBF") {
        content.drain(..3);
    }
    let delimiter = match &opts.delimiter {
        Some(d) => d.clone(),
        None => detect_delimiter(path, &content)?,
    };
    let (byte, quoting) = match delimiter {
        // Rewrite `::` to a control byte no id contains, then read it like any other delimiter.
        Delimiter::DoubleColon => {
            content = replace_double_colon(&content);
            (0x1f, false)
        }
        Delimiter::Byte(b) => (b, true),
    };
    parse(path, &content, byte, quoting, opts, users, items)
}

fn replace_double_colon(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len());
    let mut i = 0;
    while i < content.len() {
        if content[i] == b':' && content.get(i + 1) == Some(&b':') {
            out.push(0x1f);
            i += 2;
        } else {
            out.push(content[i]);
            i += 1;
        }
    }
    out
}

struct Layout {
    user: usize,
    item: usize,
    rating: Option<usize>,
    time: Option<usize>,
    /// Fields a row needs to have.
    needed: usize,
}

fn parse(
    path: &Path,
    content: &[u8],
    delimiter: u8,
    quoting: bool,
    opts: &ReadOptions,
    users: &mut IdMap,
    items: &mut IdMap,
) -> Result<Rows> {
    let file_err = |message: String| Error::File {
        path: path.to_path_buf(),
        message,
    };
    let parse_err = |line: u64, message: String| Error::Parse {
        path: path.to_path_buf(),
        line,
        message,
    };
    let csv_err = |e: csv::Error| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        parse_err(line, format!("malformed row: {e}"))
    };

    let mut records = reader(content, delimiter, quoting).into_byte_records();
    let mut head: Vec<csv::ByteRecord> = Vec::new();
    for rec in records.by_ref() {
        let rec = rec.map_err(csv_err)?;
        if rec.len() == 1 && rec[0].is_empty() {
            continue;
        }
        head.push(rec);
        if head.len() == 2 {
            break;
        }
    }
    if head.is_empty() {
        return Err(file_err("file is empty".into()));
    }

    let names_given = [&opts.user, &opts.item, &opts.rating, &opts.time]
        .iter()
        .any(|c| matches!(c, Some(Column::Name(_))));
    let header = match opts.header {
        Some(false) if names_given => {
            return Err(file_err(
                "columns are given by name but data.header is false; give column indices or set header: true".into(),
            ))
        }
        Some(h) => h,
        None if names_given => true,
        // A header is a first line with a field that is not a number where the second line's is.
        None => match head.get(1) {
            Some(second) => head[0]
                .iter()
                .zip(second.iter())
                .any(|(a, b)| !is_number(a) && is_number(b)),
            None => false,
        },
    };

    let width = head[0].len();
    let names: Vec<String> = if header {
        head[0].iter().map(|f| text(f).trim().to_string()).collect()
    } else {
        Vec::new()
    };
    let resolve = |col: &Column, role: &str| -> Result<usize> {
        match col {
            Column::Index(i) => Ok(*i),
            Column::Name(n) => names.iter().position(|h| h == n).ok_or_else(|| {
                file_err(format!(
                    "no column named {n:?} for the {role} (header has: {})",
                    names.join(", ")
                ))
            }),
        }
    };
    let user = resolve(opts.user.as_ref().unwrap_or(&Column::Index(0)), "user")?;
    let item = resolve(opts.item.as_ref().unwrap_or(&Column::Index(1)), "item")?;
    let rating = match &opts.rating {
        Some(c) => Some(resolve(c, "rating")?),
        None if opts.user.is_none() && opts.item.is_none() && width > 2 => Some(2),
        None => None,
    };
    let time = match &opts.time {
        Some(c) => Some(resolve(c, "time")?),
        None if opts.user.is_none() && opts.item.is_none() && width > 3 => Some(3),
        None => None,
    };
    if user == item {
        return Err(file_err(format!(
            "the user and item columns are the same column (#{user})"
        )));
    }
    let needed = 1 + [Some(user), Some(item), rating, time]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
    let layout = Layout {
        user,
        item,
        rating,
        time,
        needed,
    };
    let col_name = |i: usize| -> String {
        names
            .get(i)
            .map(|n| format!("column {n:?}"))
            .unwrap_or_else(|| format!("column #{i}"))
    };

    let mut rows = Rows {
        ratings: layout.rating.map(|_| Vec::new()),
        times: layout.time.map(|_| Vec::new()),
        ..Rows::default()
    };
    let mut push = |rec: &csv::ByteRecord| -> Result<()> {
        let line = record_line(content, rec);
        if rec.len() == 1 && rec[0].is_empty() {
            return Ok(());
        }
        if rec.len() < layout.needed {
            return Err(parse_err(
                line,
                format!(
                    "expected at least {} fields, found {}",
                    layout.needed,
                    rec.len()
                ),
            ));
        }
        let uid = text(&rec[layout.user]);
        let iid = text(&rec[layout.item]);
        if uid.is_empty() {
            return Err(parse_err(
                line,
                format!("empty user id in {}", col_name(layout.user)),
            ));
        }
        if iid.is_empty() {
            return Err(parse_err(
                line,
                format!("empty item id in {}", col_name(layout.item)),
            ));
        }
        if let (Some(c), Some(out)) = (layout.rating, rows.ratings.as_mut()) {
            let raw = text(&rec[c]);
            let v: f32 = raw.parse().map_err(|_| {
                parse_err(
                    line,
                    format!("{} value {raw:?} is not a number", col_name(c)),
                )
            })?;
            if !v.is_finite() {
                return Err(parse_err(
                    line,
                    format!("{} value {raw:?} is not finite", col_name(c)),
                ));
            }
            out.push(v);
        }
        if let (Some(c), Some(out)) = (layout.time, rows.times.as_mut()) {
            let raw = text(&rec[c]);
            let t = raw
                .parse::<i64>()
                .ok()
                .or_else(|| {
                    raw.parse::<f64>()
                        .ok()
                        .filter(|t| t.is_finite())
                        .map(|t| t as i64)
                })
                .ok_or_else(|| {
                    parse_err(
                        line,
                        format!("{} value {raw:?} is not a timestamp number", col_name(c)),
                    )
                })?;
            out.push(t);
        }
        rows.users.push(users.intern(&uid));
        rows.items.push(items.intern(&iid));
        rows.lines.push(line);
        Ok(())
    };

    for (i, rec) in head.iter().enumerate() {
        if !(header && i == 0) {
            push(rec)?;
        }
    }
    for rec in records {
        push(&rec.map_err(csv_err)?)?;
    }
    if rows.is_empty() {
        return Err(file_err(if header {
            "no data rows after the header".into()
        } else {
            "no data rows".into()
        }));
    }
    Ok(rows)
}

/// The 1-based line a record starts on. csv records the position where it began reading, which
/// is before the blank lines it skips and before the `\n` of a CRLF that ended the previous
/// record, so its line would point one or more lines too early; step over those bytes.
fn record_line(content: &[u8], rec: &csv::ByteRecord) -> u64 {
    let Some(pos) = rec.position() else { return 0 };
    let start = (pos.byte() as usize).min(content.len());
    let skipped = content[start..]
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .filter(|&&b| b == b'\n')
        .count();
    pos.line() + skipped as u64
}
