//! List exports (what `cf-native recommend` and `cf-native similar` write): every query's
//! ranked list streamed to a file off the JS thread, indices turned into original ids in
//! Rust. Progress reaches JS at most every ~100 ms; the AbortSignal also stops a running
//! export (between chunks), not only one still queued. The file is written where it is
//! told: the TS layer writes to a temp name and renames.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cf_core::export::lists::{self, Ids};
use cf_core::export::{open_sink, Format, ListColumns};
use cf_core::topk::SeenItems;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::error::{to_napi, CoreTask, Op, Result};
use crate::model::{ModelHandle, Shared};
use crate::options::Opts;

type ProgressFn =
    ThreadsafeFunction<FnArgs<(f64, f64)>, Unknown<'static>, FnArgs<(f64, f64)>, Status, false>;

const PROGRESS_EVERY: Duration = Duration::from_millis(100);

#[napi(object)]
pub struct ExportResult {
    /// Queries written (users or items), including those whose list came out empty.
    pub queries: u32,
    /// Rows written (one per query and rank).
    pub rows: f64,
}

enum Lists {
    Recommendations {
        users: Option<Vec<u32>>,
        filter_seen: bool,
        user_ids: Option<Vec<String>>,
    },
    Similar {
        items: Option<Vec<u32>>,
    },
}

pub struct ExportOp {
    shared: Arc<Shared>,
    path: PathBuf,
    format: Format,
    lists: Lists,
    k: usize,
    item_ids: Option<Vec<String>>,
    threads: usize,
    on_progress: Option<ProgressFn>,
    cancelled: Arc<AtomicBool>,
}

impl ExportOp {
    fn new(
        model: &ModelHandle,
        path: String,
        o: &Opts,
        lists: Lists,
        k_default: f64,
    ) -> Result<Self> {
        let k =
            cf_core::args::count("k", o.number("k")?.unwrap_or(k_default), 1).map_err(to_napi)?;
        let path = PathBuf::from(path);
        let format = match o.string("format")? {
            Some(name) => Format::from_name("format", &name),
            None => Format::from_path("path", &path),
        }
        .map_err(to_napi)?;
        let threads = match o.number("threads")? {
            Some(t) => cf_core::args::whole("threads", t, 0, cf_core::pool::MAX_THREADS as u64)
                .map_err(to_napi)? as usize,
            None => model.shared.read().threads(),
        };
        Ok(ExportOp {
            shared: model.shared.clone(),
            path,
            format,
            lists,
            k,
            item_ids: o.strings("itemIds")?,
            threads,
            on_progress: o.callback("onProgress")?,
            cancelled: Arc::new(AtomicBool::new(false)),
        })
    }

    fn run_async(self, signal: Option<AbortSignal>) -> AsyncTask<CoreTask<Self>> {
        if let Some(s) = &signal {
            let flag = self.cancelled.clone();
            s.on_abort(move || flag.store(true, Ordering::Relaxed));
        }
        Op::run_async(self, signal)
    }
}

impl Op for ExportOp {
    type Output = (usize, u64);
    type Js = ExportResult;

    fn compute(&mut self) -> cf_core::Result<Self::Output> {
        let columns = match self.lists {
            Lists::Recommendations { .. } => ListColumns {
                query: "user".into(),
                item: "item".into(),
            },
            Lists::Similar { .. } => ListColumns {
                query: "item".into(),
                item: "similar_item".into(),
            },
        };
        let pool = cf_core::pool::pool(self.threads)?;
        let model = self.shared.read();
        let seen = self.shared.seen();
        let cancelled = &self.cancelled;
        let on_progress = &self.on_progress;
        let mut last: Option<Instant> = None;
        let mut progress = |done: u64, total: u64| {
            if cancelled.load(Ordering::Relaxed) {
                return false;
            }
            if let Some(f) = on_progress {
                if done == total || last.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
                    last = Some(Instant::now());
                    // NonBlocking: a busy JS thread delays the bar, never the export.
                    f.call(
                        FnArgs::from((done as f64, total as f64)),
                        ThreadsafeFunctionCallMode::NonBlocking,
                    );
                }
            }
            true
        };
        let open = || open_sink(&self.path, self.format, &columns);
        let item_ids = self.item_ids.as_deref();
        let k = self.k;
        match &self.lists {
            Lists::Recommendations {
                users,
                filter_seen,
                user_ids,
            } => {
                let mut exclude: Vec<&dyn SeenItems> = Vec::new();
                if let (true, Some(s)) = (filter_seen, seen.as_ref()) {
                    exclude.push(&s.rows);
                }
                let queries = users.as_ref().map_or(model.n_users(), Vec::len);
                let ids = Ids {
                    users: user_ids.as_deref(),
                    items: item_ids,
                };
                let rows = pool.install(|| {
                    lists::write_recommendations(
                        &**model,
                        users.as_deref(),
                        k,
                        &exclude,
                        ids,
                        open,
                        &mut progress,
                    )
                })?;
                Ok((queries, rows))
            }
            Lists::Similar { items } => {
                let queries = items.as_ref().map_or(model.n_items(), Vec::len);
                let rows = pool.install(|| {
                    lists::write_similar_items(
                        &**model,
                        items.as_deref(),
                        k,
                        item_ids,
                        open,
                        &mut progress,
                    )
                })?;
                Ok((queries, rows))
            }
        }
    }

    fn to_js((queries, rows): Self::Output) -> ExportResult {
        ExportResult {
            queries: queries as u32,
            rows: rows as f64,
        }
    }
}

/// Every user's top-k (or `users`'), written to `path` as CSV, JSONL or Parquet (from
/// `format`, else the extension), with original ids when `userIds` / `itemIds` are given.
/// Options: `k` (10; capped at the items there are), `users` (Uint32Array; default all),
/// `filterSeen` (true), `userIds`, `itemIds`, `format`, `onProgress(done, total)`, `threads`.
#[napi(
    ts_args_type = "model: Model, path: string, options?: { k?: number; users?: Uint32Array | null; filterSeen?: boolean; userIds?: string[] | null; itemIds?: string[] | null; format?: 'csv' | 'jsonl' | 'parquet' | null; onProgress?: ((done: number, total: number) => void) | null; threads?: number }, signal?: AbortSignal",
    ts_return_type = "Promise<ExportResult>"
)]
pub fn export_recommendations(
    model: &ModelHandle,
    path: String,
    options: Option<Object>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<ExportOp>>> {
    let o = Opts::new(
        options,
        &[
            "k",
            "users",
            "filterSeen",
            "userIds",
            "itemIds",
            "format",
            "onProgress",
            "threads",
        ],
    )?;
    let lists = Lists::Recommendations {
        users: o.u32s("users")?,
        filter_seen: o.bool("filterSeen")?.unwrap_or(true),
        user_ids: o.strings("userIds")?,
    };
    Ok(ExportOp::new(model, path, &o, lists, 10.0)?.run_async(signal))
}

/// Every item's (or `items`') k most similar items, written like `exportRecommendations`
/// (columns `item`, `rank`, `similar_item`, `score`). Options: `k` (10), `items`,
/// `itemIds`, `format`, `onProgress(done, total)`, `threads`.
#[napi(
    ts_args_type = "model: Model, path: string, options?: { k?: number; items?: Uint32Array | null; itemIds?: string[] | null; format?: 'csv' | 'jsonl' | 'parquet' | null; onProgress?: ((done: number, total: number) => void) | null; threads?: number }, signal?: AbortSignal",
    ts_return_type = "Promise<ExportResult>"
)]
pub fn export_similar_items(
    model: &ModelHandle,
    path: String,
    options: Option<Object>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<ExportOp>>> {
    let o = Opts::new(
        options,
        &["k", "items", "itemIds", "format", "onProgress", "threads"],
    )?;
    let lists = Lists::Similar {
        items: o.u32s("items")?,
    };
    Ok(ExportOp::new(model, path, &o, lists, 10.0)?.run_async(signal))
}

/// The list format a file name's extension names (`csv`, `jsonl`, `parquet`), so callers
/// that write to a temp name first still check the final name against the one list of
/// formats; the error names `arg` (default `path`) and lists the known extensions.
#[napi]
pub fn list_format(path: String, arg: Option<String>) -> Result<String> {
    Format::from_path(
        arg.as_deref().unwrap_or("path"),
        std::path::Path::new(&path),
    )
    .map(|f| f.name().to_string())
    .map_err(to_napi)
}

/// One side's factors written as Parquet (`id` utf8, `factors` list<float>), the shape of
/// Spark ALS's userFactors/itemFactors, off the JS thread.
pub struct FactorsOp {
    shared: Arc<Shared>,
    path: PathBuf,
    users: bool,
    ids: Vec<String>,
}

impl Op for FactorsOp {
    type Output = ();
    type Js = ();

    fn compute(&mut self) -> cf_core::Result<()> {
        let model = self.shared.read();
        let fm = model.factor_view().ok_or_else(|| {
            cf_core::Error::Unsupported(format!(
                "a {} model has no factors to write",
                model.type_name()
            ))
        })?;
        let rows = if self.users { fm.users } else { fm.items };
        let ids: Vec<&str> = self.ids.iter().map(String::as_str).collect();
        cf_core::export::parquet::write_factors_parquet(&self.path, &ids, rows, fm.f)
    }

    fn to_js(_: ()) {}
}

/// Write the user (`side` "users") or item ("items") factors of a factor model to `path` as
/// Parquet, one row per id in `ids` (the model's original ids, one per row).
#[napi(ts_return_type = "Promise<void>")]
pub fn export_factors(
    model: &ModelHandle,
    path: String,
    side: String,
    ids: Vec<String>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<FactorsOp>>> {
    let users = match side.as_str() {
        "users" => true,
        "items" => false,
        other => {
            return Err(crate::error::invalid(
                "side",
                format!("must be \"users\" or \"items\" (got {other:?})"),
            ))
        }
    };
    Ok(FactorsOp {
        shared: model.shared.clone(),
        path: PathBuf::from(path),
        users,
        ids,
    }
    .run_async(signal))
}
