//! Ranked lists through the core's top-K engine: recommendations for known users (one, or a
//! typed array of them), similar items and similar users, each sync or async (AbortSignal),
//! with the same options and one `compute` (`ListOp`).

use std::sync::Arc;

use cf_core::data::csr::Csr;
use cf_core::topk::{self, Measure, Request, SeenItems, Side};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{invalid, to_napi, Op, Result};
use crate::model::{Shared, TopK};
use crate::options::Opts;
use crate::typed::{F32s, U32s};

/// Lists for many queries: row r is `ids[r * k .. (r + 1) * k]`, best first; rows with fewer
/// items than `k` are padded with id 4294967295 and score NaN.
#[napi(object, object_from_js = false)]
pub struct Lists {
    #[napi(ts_type = "Uint32Array")]
    pub ids: U32s,
    #[napi(ts_type = "Float32Array")]
    pub scores: F32s,
    /// Row width: the `k` asked for, capped at the items (or candidates) there are.
    pub k: u32,
    pub rows: u32,
}

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Recommend,
    Similar(Side),
}

struct ListOptions {
    k: usize,
    filter_seen: bool,
    exclude: Option<Arc<Csr>>,
    exclude_items: Vec<u32>,
    candidates: Option<Vec<u32>>,
    measure: Measure,
}

const RECOMMEND_KEYS: &[&str] = &["k", "filterSeen", "exclude", "excludeItems", "candidates"];
const SIMILAR_KEYS: &[&str] = &["k", "measure", "excludeItems", "candidates"];

fn list_options(kind: Kind, options: Option<Object>) -> Result<ListOptions> {
    let keys = match kind {
        Kind::Recommend => RECOMMEND_KEYS,
        Kind::Similar(_) => SIMILAR_KEYS,
    };
    let o = Opts::new(options, keys)?;
    let k = o
        .number("k")?
        .map_or(Ok(10), |k| cf_core::args::count("k", k, 1))
        .map_err(to_napi)?;
    let measure = match o.string("measure")?.as_deref() {
        None | Some("cosine") => Measure::Cosine,
        Some("dot") => Measure::Dot,
        Some(other) => {
            return Err(invalid(
                "measure",
                format!("must be \"cosine\" or \"dot\" (got {other:?})"),
            ))
        }
    };
    Ok(ListOptions {
        k,
        filter_seen: o.bool("filterSeen")?.unwrap_or(true),
        exclude: o.matrix("exclude")?.map(|m| m.csr.clone()),
        exclude_items: o.u32s("excludeItems")?.unwrap_or_default(),
        candidates: o.u32s("candidates")?,
        measure,
    })
}

pub struct ListOp {
    shared: Arc<Shared>,
    kind: Kind,
    queries: Vec<u32>,
    opts: ListOptions,
}

impl ListOp {
    pub(crate) fn new(
        shared: &Arc<Shared>,
        kind: Kind,
        queries: Vec<u32>,
        options: Option<Object>,
    ) -> Result<Self> {
        Ok(ListOp {
            shared: shared.clone(),
            kind,
            queries,
            opts: list_options(kind, options)?,
        })
    }
}

impl Op for ListOp {
    type Output = topk::Lists;
    type Js = Lists;

    fn compute(&mut self) -> cf_core::Result<topk::Lists> {
        let (threads, here) = {
            let m = self.shared.read();
            let n = match self.kind {
                Kind::Recommend | Kind::Similar(Side::Items) => m.n_items(),
                Kind::Similar(Side::Users) => m.n_users(),
            };
            (m.threads(), on_this_thread(&**m, self.queries.len(), n))
        };
        if here {
            return self.lists();
        }
        let pool = cf_core::pool::pool(threads)?;
        pool.install(|| self.lists())
    }

    fn to_js(l: topk::Lists) -> Lists {
        Lists {
            rows: l.rows() as u32,
            k: l.width as u32,
            ids: U32s(l.ids),
            scores: F32s(l.scores),
        }
    }
}

impl ListOp {
    fn lists(&self) -> cf_core::Result<topk::Lists> {
        let model = self.shared.read();
        let packed = self.shared.items_packed(&**model);
        let users_packed = match self.kind {
            Kind::Similar(Side::Users) => self.shared.packed_rows(&**model, Side::Users),
            _ => None,
        };
        let seen = self.shared.seen();
        let o = &self.opts;
        let mut req = Request::new(o.k);
        req.items_packed = packed.as_deref();
        req.users_packed = users_packed.as_deref();
        req.exclude_items = &o.exclude_items;
        req.candidates = o.candidates.as_deref();
        match self.kind {
            Kind::Recommend => {
                // The exclude matrix stands in for the training rows (e.g. train + valid).
                if o.filter_seen {
                    match (&o.exclude, seen.as_ref()) {
                        (Some(m), _) => req.exclude.push(&**m as &dyn SeenItems),
                        (None, Some(s)) => req.exclude.push(&s.rows),
                        (None, None) => {}
                    }
                }
                topk::recommend_users(&**model, &self.queries, &req)
            }
            Kind::Similar(side) => topk::similar(&**model, side, &self.queries, o.measure, &req),
        }
    }
}

/// Multiply-adds (queries x targets x factors) up to which a batch of a factor model runs on
/// the calling thread: about a millisecond here. A server's batches (the requests of one
/// event-loop turn, 1 to 50 over 6k-20k items) fall below it; handing them to the pool cost
/// wake-ups and spinning workers that, with the load generator on the other core, cost more
/// CPU than the scoring (bench/RESULTS-serve.md).
const INLINE_WORK: usize = 1 << 26;

/// Whether a list request runs on the calling thread rather than in the model's pool: a
/// lone query that will not be split (entering the pool would only add a wake-up), or a
/// small batch of a factor model (models without factors score rows in parallel).
pub(crate) fn on_this_thread(model: &dyn cf_core::models::Model, queries: usize, n: usize) -> bool {
    if topk::dense::splits(n) {
        return false;
    }
    if queries <= 1 {
        return true;
    }
    match model.factor_view() {
        Some(fm) => queries.saturating_mul(n).saturating_mul(fm.f) <= INLINE_WORK,
        None => false,
    }
}

pub(crate) fn one(
    shared: &Arc<Shared>,
    kind: Kind,
    q: u32,
    options: Option<Object>,
) -> Result<TopK> {
    let mut op = ListOp::new(shared, kind, vec![q], options)?;
    let l = op.compute().map_err(to_napi)?;
    Ok(TopK::from_pairs(l.pairs(0)))
}

pub(crate) fn index(shared: &Shared, what: &str, v: f64, side: Side) -> Result<u32> {
    let m = shared.read();
    let (n, noun) = match side {
        Side::Items => (m.n_items(), "items"),
        Side::Users => (m.n_users(), "users"),
    };
    cf_core::args::index(what, v, n, noun).map_err(to_napi)
}

#[napi(object)]
pub struct ScoreStats {
    pub users: u32,
    pub k: u32,
    pub min: f64,
    pub p01: f64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}
