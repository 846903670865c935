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
            // A quote or a line break cannot also separate fields: the reader would split
            // rows into single fields and fail far from the cause.
            _ if s.len() == 1 && s.is_ascii() && !matches!(s.as_bytes()[0], b'"' | b'\n' | b'\r') => {
                Ok(Delimiter::Byte(s.as_bytes()[0]))
            }
            _ => Err(Error::param(
                "delimiter",
                format!("must be one character other than a quote or a line break, or \"::\" (got {s:?})"),
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
    /// 1-based line of each row in its file (its row number in a Parquet file), for messages
    /// about rows later on.
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
    let raw = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decompress(path, raw)
}

/// `raw` as is, or decompressed when it starts with the gzip magic; `path` names it in errors.
pub fn decompress(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len() * 4);
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(out)
}

pub(super) fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
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
    let raw = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    rows_from_bytes(path, raw, opts, users, items)
}

/// `read_rows` over a file's bytes (gzip or not, or Parquet when the path ends in
/// `.parquet`) already in memory; `path` names them in errors. The fuzz targets
/// (crates/cf-core/fuzz) enter here.
pub fn rows_from_bytes(
    path: &Path,
    raw: Vec<u8>,
    opts: &ReadOptions,
    users: &mut IdMap,
    items: &mut IdMap,
) -> Result<Rows> {
    if super::parquet::is_parquet(path) {
        return super::parquet::rows_from_parquet(path, raw, opts, users, items);
    }
    // Read as text, a Parquet file fails on its binary bytes with a message about rows.
    if super::parquet::looks_like_parquet(&raw) {
        return Err(file_err(
            path,
            "this is a Parquet file; give it a name ending in .parquet to read it as one".into(),
        ));
    }
    let mut content = decompress(path, raw)?;
    check_encoding(path, &mut content)?;
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

/// Strips a UTF-8 byte order mark, and refuses UTF-16 and UTF-32: read byte by byte, their
/// NULs end up inside every field and the file fails much later as "not a number" or loads
/// ids nobody can match, far from the cause.
fn check_encoding(path: &Path, content: &mut Vec<u8>) -> Result<()> {
    if content.starts_with(b"\xEF\xBB\xBF") {
        content.drain(..3);
        return Ok(());
    }
    // UTF-32's marks start like UTF-16's, so they are tested first.
    let wide = if content.starts_with(&[0xFF, 0xFE, 0, 0]) {
        Some(("UTF-32 (little-endian)", "UTF-32LE"))
    } else if content.starts_with(&[0, 0, 0xFE, 0xFF]) {
        Some(("UTF-32 (big-endian)", "UTF-32BE"))
    } else if content.starts_with(&[0xFF, 0xFE]) {
        Some(("UTF-16 (little-endian)", "UTF-16LE"))
    } else if content.starts_with(&[0xFE, 0xFF]) {
        Some(("UTF-16 (big-endian)", "UTF-16BE"))
    } else {
        utf16_without_bom(content)
    };
    match wide {
        Some((name, iconv)) => Err(file_err(
            path,
            format!("file is {name}; convert it to UTF-8 (e.g. iconv -f {iconv} -t UTF-8)"),
        )),
        None => Ok(()),
    }
}

/// UTF-16 with no byte order mark, told by its NULs. Text in UTF-8 or Latin-1 has none, and
/// binary files have them at both even and odd offsets; UTF-16 writes each ASCII character
/// (every delimiter, newline and digit) as a byte and a NUL, so its NULs sit almost all on one
/// side. An eighth of the units is asked for, so ids in a non-Latin script (two non-NUL
/// bytes each) do not hide it: a row has at least a delimiter and a newline in ASCII.
fn utf16_without_bom(content: &[u8]) -> Option<(&'static str, &'static str)> {
    let start = &content[..content.len().min(4096) & !1];
    let units = start.len() / 2;
    let nuls = |first: usize| {
        start
            .iter()
            .skip(first)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let (even, odd) = (nuls(0), nuls(1));
    let one_sided = |side: usize, other: usize| side > 0 && 8 * side >= units && 10 * other <= side;
    if one_sided(odd, even) {
        Some(("UTF-16 (little-endian)", "UTF-16LE"))
    } else if one_sided(even, odd) {
        Some(("UTF-16 (big-endian)", "UTF-16BE"))
    } else {
        None
    }
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

fn file_err(path: &Path, message: String) -> Error {
    Error::File {
        path: path.to_path_buf(),
        message,
    }
}

fn parse_err(path: &Path, line: u64, message: String) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        line,
        message,
    }
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    parse_err(path, line, format!("malformed row: {e}"))
}

/// A line of only whitespace: trimming leaves a single empty field.
fn is_blank(rec: &csv::ByteRecord) -> bool {
    rec.len() == 1 && rec[0].is_empty()
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
    let mut records = reader(content, delimiter, quoting).into_byte_records();
    let mut head = Vec::new();
    read_ahead(path, &mut records, &mut head, 2)?;
    if head.is_empty() {
        return Err(file_err(path, "file is empty".into()));
    }
    let header = match configured_header(path, opts)? {
        Some(h) => h,
        None => detect_header(path, opts, &mut records, &mut head)?,
    };
    let layout = Layout::resolve(path, opts, header.then(|| &head[0]), head[0].len())?;

    let mut out = RowSink {
        path,
        content,
        lines: LineCursor::default(),
        layout: &layout,
        users,
        items,
        rows: Rows {
            ratings: layout.rating.map(|_| Vec::new()),
            times: layout.time.map(|_| Vec::new()),
            ..Rows::default()
        },
    };
    // The records read ahead to decide on the header come first, then the rest of the file.
    for rec in &head[usize::from(header)..] {
        out.push(rec)?;
    }
    for rec in records {
        out.push(&rec.map_err(|e| csv_err(path, e))?)?;
    }
    if out.rows.is_empty() {
        return Err(file_err(
            path,
            if header {
                "no data rows after the header".into()
            } else {
                "no data rows".into()
            },
        ));
    }
    Ok(out.rows)
}

/// Reads non-blank records into `head` until it holds `n` or the file ends: the header is
/// decided on these before any row is interned.
fn read_ahead(
    path: &Path,
    records: &mut csv::ByteRecordsIntoIter<&[u8]>,
    head: &mut Vec<csv::ByteRecord>,
    n: usize,
) -> Result<()> {
    while head.len() < n {
        let Some(rec) = records.next() else {
            break;
        };
        let rec = rec.map_err(|e| csv_err(path, e))?;
        if !is_blank(&rec) {
            head.push(rec);
        }
    }
    Ok(())
}

/// The header as configured: `data.header` when set, and always when a column is given by
/// name, since names need a header to resolve against. None: detect it.
fn configured_header(path: &Path, opts: &ReadOptions) -> Result<Option<bool>> {
    let names_given = [&opts.user, &opts.item, &opts.rating, &opts.time]
        .iter()
        .any(|c| matches!(c, Some(Column::Name(_))));
    match opts.header {
        Some(false) if names_given => Err(file_err(
            path,
            "columns are given by name but data.header is false; give column indices or set header: true".into(),
        )),
        Some(h) => Ok(Some(h)),
        None if names_given => Ok(Some(true)),
        None => Ok(None),
    }
}

/// Rows read ahead to see whether the first row's user and item occur again.
const HEADER_LOOKAHEAD: usize = 1000;

/// Whether the first record is a header, when the options do not say. It is when either
///
/// 1. a field of the first row is not a number where the second row's is (a name over
///    numbers: `userId,movieId,rating` over `1,31,2.5`); or
/// 2. with no such evidence (ids that are not numbers, no numeric column), the first row's
///    user and item fields are both not numbers, at least one reads as a column name (a word
///    such as `user`, `item`, `movie`, `product`, or a word ending in an id suffix such as
///    `user_id`, `artistID`, `book-id`), and neither value occurs again in its column in the
///    next HEADER_LOOKAHEAD rows: a header names each column once, while a real user or item
///    id usually recurs. The recurrence test keeps a data row whose ids happen to be such
///    words from being dropped.
///
/// A header of other words over non-numeric ids (`a,b` over `u1,i1`) cannot be told from
/// data; `data.header: true` says it.
fn detect_header(
    path: &Path,
    opts: &ReadOptions,
    records: &mut csv::ByteRecordsIntoIter<&[u8]>,
    head: &mut Vec<csv::ByteRecord>,
) -> Result<bool> {
    if let Some(second) = head.get(1) {
        if head[0]
            .iter()
            .zip(second.iter())
            .any(|(a, b)| !is_number(a) && is_number(b))
        {
            return Ok(true);
        }
    }
    // Names are resolved by configured_header, so only indices (or the defaults) are left.
    let index = |c: &Option<Column>, default: usize| match c {
        Some(Column::Index(i)) => *i,
        _ => default,
    };
    let columns = [index(&opts.user, 0), index(&opts.item, 1)];
    let first: Vec<Vec<u8>> = match columns.map(|c| head[0].get(c)) {
        [Some(u), Some(i)] => vec![u.to_vec(), i.to_vec()],
        _ => return Ok(false),
    };
    if first.iter().any(|f| is_number(f)) || !first.iter().any(|f| looks_like_column_name(f)) {
        return Ok(false);
    }
    read_ahead(path, records, head, 1 + HEADER_LOOKAHEAD)?;
    let recurs = |c: usize, value: &[u8]| head[1..].iter().any(|r| r.get(c) == Some(value));
    Ok(!columns.iter().zip(&first).any(|(&c, v)| recurs(c, v)))
}

/// Words that head user and item columns in public datasets and common exports, compared
/// lowercased with separators removed (`User ID` is `userid`).
const COLUMN_WORDS: &[&str] = &[
    "user",
    "users",
    "userid",
    "username",
    "uid",
    "customer",
    "customerid",
    "client",
    "clientid",
    "member",
    "memberid",
    "reviewer",
    "reviewerid",
    "visitor",
    "visitorid",
    "account",
    "accountid",
    "person",
    "personid",
    "session",
    "sessionid",
    "item",
    "items",
    "itemid",
    "iid",
    "product",
    "productid",
    "movie",
    "movieid",
    "film",
    "filmid",
    "book",
    "bookid",
    "isbn",
    "asin",
    "artist",
    "artistid",
    "track",
    "trackid",
    "song",
    "songid",
    "article",
    "articleid",
    "video",
    "videoid",
    "game",
    "gameid",
    "anime",
    "animeid",
    "business",
    "businessid",
    "recipe",
    "recipeid",
    "sku",
    "id",
    "name",
    "title",
];

/// A column name: one of COLUMN_WORDS, or a word followed by an id suffix (`movie_id`,
/// `book-id`, `item id`, `artistID`, `userId`); an id such as `squid` or `u17` is not.
fn looks_like_column_name(field: &[u8]) -> bool {
    let s = text(field);
    let s = s.trim();
    let squashed: String = s
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    if COLUMN_WORDS.contains(&squashed.as_str()) {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    let separated = ["_id", "-id", " id", ".id"]
        .iter()
        .any(|suffix| lower.len() > suffix.len() && lower.ends_with(suffix));
    let camel = (s.ends_with("Id") || s.ends_with("ID"))
        && s.len() > 2
        && s.as_bytes()[s.len() - 3].is_ascii_lowercase();
    separated || camel
}

/// The header's names for a message, which must stay one line of reasonable length: a
/// quoted name may hold a newline, and a first row taken as the header may be the whole file
/// (a delimiter that never occurs). Names with control characters are shown escaped, long
/// names and long lists cut.
pub(super) fn header_list(names: &[String]) -> String {
    const NAMES: usize = 20;
    const CHARS: usize = 40;
    let mut out: Vec<String> = names
        .iter()
        .take(NAMES)
        .map(|n| {
            let cut = n.chars().count() > CHARS;
            let short: String = n.chars().take(CHARS).collect();
            match (short.chars().any(char::is_control), cut) {
                (false, false) => short,
                (false, true) => format!("{short}..."),
                (true, false) => format!("{short:?}"),
                (true, true) => format!("{short:?}..."),
            }
        })
        .collect();
    if names.len() > NAMES {
        out.push(format!("... {} more", names.len() - NAMES));
    }
    out.join(", ")
}

/// Where each role's field is in a row, resolved once from the options and the header.
struct Layout {
    user: usize,
    item: usize,
    rating: Option<usize>,
    time: Option<usize>,
    /// Fields a row needs to have.
    needed: usize,
    /// The header's names (empty without one), to name columns in messages.
    names: Vec<String>,
}

impl Layout {
    /// `width` is the first record's field count: rating and time columns are only assumed
    /// (#2, #3) when neither user nor item is configured and the file is wide enough, so a
    /// two-column file is read as plain positives.
    fn resolve(
        path: &Path,
        opts: &ReadOptions,
        header: Option<&csv::ByteRecord>,
        width: usize,
    ) -> Result<Layout> {
        let names: Vec<String> = header
            .map(|h| h.iter().map(|f| text(f).trim().to_string()).collect())
            .unwrap_or_default();
        let resolve = |col: &Column, role: &str| -> Result<usize> {
            match col {
                Column::Index(i) => Ok(*i),
                Column::Name(n) => {
                    let at: Vec<usize> = (0..names.len()).filter(|&i| names[i] == *n).collect();
                    match at[..] {
                        [i] => Ok(i),
                        [] => Err(file_err(
                            path,
                            format!(
                                "no column named {n:?} for the {role} (header has: {})",
                                header_list(&names)
                            ),
                        )),
                        // Taking the first would silently read whichever column came first.
                        _ => Err(file_err(
                            path,
                            format!(
                                "the header names {} columns {n:?} (#{}), so the {role} column is ambiguous; give it by 0-based index",
                                at.len(),
                                at.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", #")
                            ),
                        )),
                    }
                }
            }
        };
        let defaults_apply = opts.user.is_none() && opts.item.is_none();
        let user = resolve(opts.user.as_ref().unwrap_or(&Column::Index(0)), "user")?;
        let item = resolve(opts.item.as_ref().unwrap_or(&Column::Index(1)), "item")?;
        let rating = match &opts.rating {
            Some(c) => Some(resolve(c, "rating")?),
            None if defaults_apply && width > 2 => Some(2),
            None => None,
        };
        let time = match &opts.time {
            Some(c) => Some(resolve(c, "time")?),
            None if defaults_apply && width > 3 => Some(3),
            None => None,
        };
        if user == item {
            return Err(file_err(
                path,
                format!("the user and item columns are the same column (#{user})"),
            ));
        }
        // Saturating: an index of usize::MAX (a Rust caller's; JS ones are u32) is a row too
        // short for it, not an overflow.
        let needed = [Some(user), Some(item), rating, time]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        Ok(Layout {
            user,
            item,
            rating,
            time,
            needed,
            names,
        })
    }

    fn column_name(&self, i: usize) -> String {
        self.names
            .get(i)
            .map(|n| format!("column {n:?}"))
            .unwrap_or_else(|| format!("column #{i}"))
    }
}

/// Checks and converts rows into `rows`, interning ids into the shared maps.
struct RowSink<'a> {
    path: &'a Path,
    /// The bytes the records come from, to find the line each one starts on.
    content: &'a [u8],
    lines: LineCursor,
    layout: &'a Layout,
    users: &'a mut IdMap,
    items: &'a mut IdMap,
    rows: Rows,
}

impl RowSink<'_> {
    fn push(&mut self, rec: &csv::ByteRecord) -> Result<()> {
        if is_blank(rec) {
            return Ok(());
        }
        let line = self.lines.line_of(self.content, rec);
        let l = self.layout;
        let err = |message: String| parse_err(self.path, line, message);
        if rec.len() < l.needed {
            return Err(err(format!(
                "expected at least {} fields, found {}",
                l.needed,
                rec.len()
            )));
        }
        let uid = text(&rec[l.user]);
        let iid = text(&rec[l.item]);
        if uid.is_empty() {
            return Err(err(format!("empty user id in {}", l.column_name(l.user))));
        }
        if iid.is_empty() {
            return Err(err(format!("empty item id in {}", l.column_name(l.item))));
        }
        // Convert every field before storing any, so a bad row leaves no trace in the maps.
        let rating = l
            .rating
            .map(|c| {
                parse_rating(&text(&rec[c]))
                    .map_err(|why| err(format!("{} {why}", l.column_name(c))))
            })
            .transpose()?;
        let time = l
            .time
            .map(|c| {
                parse_time(&text(&rec[c])).map_err(|why| err(format!("{} {why}", l.column_name(c))))
            })
            .transpose()?;
        if let (Some(v), Some(out)) = (rating, self.rows.ratings.as_mut()) {
            out.push(v);
        }
        if let (Some(t), Some(out)) = (time, self.rows.times.as_mut()) {
            out.push(t);
        }
        self.rows.users.push(self.users.intern(&uid));
        self.rows.items.push(self.items.intern(&iid));
        self.rows.lines.push(line);
        Ok(())
    }
}

/// A field as messages quote it: at most 40 characters, so that a runaway field (a missing
/// quote, a binary file) does not become a message of megabytes.
fn shown(raw: &str) -> String {
    const MAX: usize = 40;
    match raw.char_indices().nth(MAX) {
        None => format!("{raw:?}"),
        Some((end, _)) => format!("{:?}... ({} bytes)", &raw[..end], raw.len()),
    }
}

/// A rating must be a finite number: NaN and infinities would poison every sum and model.
/// The error completes "column X ...".
fn parse_rating(raw: &str) -> Result<f32, String> {
    let v: f32 = raw
        .parse()
        .map_err(|_| format!("value {} is not a number", shown(raw)))?;
    if !v.is_finite() {
        return Err(format!("value {} is not finite", shown(raw)));
    }
    Ok(v)
}

/// Unix time as an integer, or as a float (some exports write `1.5e9` or fractional
/// seconds), truncated to whole seconds. A float beyond the 64-bit range is an error rather
/// than a time clamped to the end of it. The error completes "column X ...".
fn parse_time(raw: &str) -> Result<i64, String> {
    if let Ok(t) = raw.parse::<i64>() {
        return Ok(t);
    }
    match raw.parse::<f64>() {
        Ok(t) if t.is_finite() && t.abs() < 9.2e18 => Ok(t as i64),
        Ok(_) => Err(format!(
            "value {} is not a timestamp within the range of a 64-bit integer",
            shown(raw)
        )),
        Err(_) => Err(format!("value {} is not a timestamp number", shown(raw))),
    }
}

/// The line each record starts on, counted forward as records arrive in file order. A line
/// ends at `\n`, `\r\n` or a lone `\r` (classic Mac files, which the reader also splits on;
/// its own line count sees only `\n`). csv records the position where it began reading a
/// record, which is before the blank lines it skips and before the `\n` of a CRLF that ended
/// the previous record: those bytes are stepped over first.
#[derive(Debug)]
struct LineCursor {
    byte: usize,
    line: u64,
}

impl Default for LineCursor {
    fn default() -> Self {
        LineCursor { byte: 0, line: 1 }
    }
}

impl LineCursor {
    /// The 1-based line `rec` starts on; records must come in file order.
    fn line_of(&mut self, content: &[u8], rec: &csv::ByteRecord) -> u64 {
        let Some(pos) = rec.position() else { return 0 };
        let mut start = (pos.byte() as usize).min(content.len());
        while start < content.len() && matches!(content[start], b'\n' | b'\r') {
            start += 1;
        }
        if start > self.byte {
            let ends = content[self.byte..start]
                .iter()
                .enumerate()
                .filter(|&(i, &b)| {
                    b == b'\n' || (b == b'\r' && content.get(self.byte + i + 1) != Some(&b'\n'))
                })
                .count();
            self.line += ends as u64;
            self.byte = start;
        }
        self.line
    }
}
