//! An item side file (CSV or TSV, gzip or not, with a header) read into one text per item and
//! column, and TF-IDF over its tokens.
//!
//! Tokens: maximal runs of letters and digits, lowercased, at least two characters, so
//! `Action|Comedy` gives `action`, `comedy` and `Toy Story (1995)` gives `toy`, `story`,
//! `1995`. A term is a token of one column (`genres:comedy` and `title:comedy` are two).
//! TF-IDF: tf = the count (1 + ln count with `sublinear_tf`), idf = ln((1 + N) / (1 + df)) + 1
//! over the N items of the model, terms kept when min_df <= df <= max_df x N; rows are
//! L2-normalised, so dot products are cosines.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::data::read::read_bytes;
use crate::error::{Error, Result};
use crate::models::knn::pairs::Sparse64;

/// The side file's rows: an id and one text per requested column.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemTexts {
    pub columns: Vec<String>,
    pub ids: Vec<String>,
    /// Row r's texts, one per column.
    pub texts: Vec<Vec<String>>,
}

fn file_err(path: &Path, message: String) -> Error {
    Error::File {
        path: path.to_path_buf(),
        message,
    }
}

/// Reads `path`'s header, then for each row its `id` column and its `text` columns. Missing
/// columns, short rows and repeated ids are errors naming the file (and line, column, id).
pub fn read_item_texts(path: &Path, id: &str, text: &[String]) -> Result<ItemTexts> {
    if text.is_empty() {
        return Err(Error::param("items.text", "name at least one text column"));
    }
    let raw = read_bytes(path)?;
    let first = raw.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let delimiter = if first.contains(&b'\t') { b'\t' } else { b',' };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(&raw[..]);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| file_err(path, format!("cannot read the header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            file_err(
                path,
                format!("no column {name:?} (columns: {})", header.join(", ")),
            )
        })
    };
    let id_col = col(id)?;
    let text_cols = text.iter().map(|t| col(t)).collect::<Result<Vec<_>>>()?;
    let mut out = ItemTexts {
        columns: text.to_vec(),
        ids: Vec::new(),
        texts: Vec::new(),
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            line: e.position().map(|p| p.line()).unwrap_or(0),
            message: format!("malformed row: {e}"),
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.len() == 1 && rec[0].trim().is_empty() {
            continue;
        }
        let field = |c: usize, name: &str| {
            rec.get(c).map(str::to_string).ok_or_else(|| Error::Parse {
                path: path.to_path_buf(),
                line,
                message: format!("no value for column {name:?} ({} fields)", rec.len()),
            })
        };
        let key = field(id_col, id)?.trim().to_string();
        if key.is_empty() {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                line,
                message: format!("empty id in column {id:?}"),
            });
        }
        if let Some(prev) = seen.insert(key.clone(), line) {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                line,
                message: format!("id {key:?} repeats the row of line {prev}"),
            });
        }
        let texts = text_cols
            .iter()
            .zip(text)
            .map(|(&c, name)| field(c, name))
            .collect::<Result<Vec<_>>>()?;
        out.ids.push(key);
        out.texts.push(texts);
    }
    Ok(out)
}

/// The ids of an item side file (column `id`), in file order.
pub fn read_item_ids(path: &Path, id: &str) -> Result<Vec<String>> {
    Ok(read_item_texts(path, id, &[id.to_string()])?.ids)
}

/// Lowercased runs of letters and digits of at least two characters.
pub fn tokens(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| t.chars().count() >= 2)
        .map(|t| t.to_lowercase())
}

#[derive(Clone, Debug, PartialEq)]
pub struct TfidfOptions {
    pub sublinear_tf: bool,
    pub min_df: usize,
    pub max_df: f64,
}

/// TF-IDF rows (one per document, L2-normalised) over the kept terms, sorted by name.
/// `docs[i]` holds document i's texts, one per column of `columns` (empty: no text).
pub fn tfidf(
    docs: &[Vec<String>],
    columns: &[String],
    o: &TfidfOptions,
) -> (Sparse64, Vec<String>) {
    let n = docs.len();
    let counts: Vec<BTreeMap<String, u32>> = docs
        .iter()
        .map(|d| {
            let mut m = BTreeMap::new();
            for (text, col) in d.iter().zip(columns) {
                for t in tokens(text) {
                    *m.entry(format!("{col}:{t}")).or_insert(0) += 1;
                }
            }
            m
        })
        .collect();
    let mut df: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &counts {
        for t in m.keys() {
            *df.entry(t.as_str()).or_insert(0) += 1;
        }
    }
    let max = o.max_df * n as f64;
    let vocab: Vec<String> = df
        .iter()
        .filter(|(_, &d)| d >= o.min_df && d as f64 <= max)
        .map(|(t, _)| t.to_string())
        .collect();
    let index: HashMap<&str, u32> = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i as u32))
        .collect();
    let idf: Vec<f64> = vocab
        .iter()
        .map(|t| ((1.0 + n as f64) / (1.0 + df[t.as_str()] as f64)).ln() + 1.0)
        .collect();
    let mut m = Sparse64 {
        n_rows: n,
        n_cols: vocab.len(),
        indptr: vec![0],
        indices: Vec::new(),
        values: Vec::new(),
    };
    for c in &counts {
        // BTreeMap order is term order, and so index order.
        for (t, &k) in c {
            if let Some(&j) = index.get(t.as_str()) {
                let tf = if o.sublinear_tf {
                    1.0 + (k as f64).ln()
                } else {
                    k as f64
                };
                m.indices.push(j);
                m.values.push(tf * idf[j as usize]);
            }
        }
        m.indptr.push(m.indices.len());
    }
    m.normalize_rows();
    (m, vocab)
}
