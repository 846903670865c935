//! The top-K operations every model answers: lists for known users (one or a batch), for a
//! user folded in from their items, and similar items or users. Arguments are checked here,
//! before anything is allocated for them.

use rayon::prelude::*;

use super::dense::{self, Queries, Targets};
use super::filter::{Filter, ItemSet};
use super::heap::Best;
use super::kernel::Packed;
use super::norm_order::{self, NormOrder};
use super::scan::scan;
use super::{check_items, check_k, check_sources, SeenItems};
use crate::error::{Error, Result};
use crate::models::{Factors, Recommender};

/// What to return and what to leave out.
pub struct Request<'a> {
    /// List length; capped at the items that can be returned.
    pub k: usize,
    /// Per-user sources of items to leave out (training rows, an exclude matrix).
    pub exclude: Vec<&'a dyn SeenItems>,
    /// Items no list may contain (an item mask, e.g. items no longer sold); any order.
    pub exclude_items: &'a [u32],
    /// Only these items may be returned; any order, repeats allowed. None: every item.
    pub candidates: Option<&'a [u32]>,
    /// The model's item factors already packed (a cache kept by whoever holds the model);
    /// packed per call when None or of another shape.
    pub items_packed: Option<&'a Packed>,
    /// The same for the user factors (similar users).
    pub users_packed: Option<&'a Packed>,
}

impl<'a> Request<'a> {
    pub fn new(k: usize) -> Self {
        Request {
            k,
            exclude: Vec::new(),
            exclude_items: &[],
            candidates: None,
            items_packed: None,
            users_packed: None,
        }
    }
}

/// Ranked lists, `width` entries a row, padded with (u32::MAX, NaN) when fewer items remain.
#[derive(Debug, Clone)]
pub struct Lists {
    pub ids: Vec<u32>,
    pub scores: Vec<f32>,
    pub width: usize,
}

/// The most entries (rows x width) one call returns: 2^28 ids and scores are 2 GiB. Larger
/// results are asked for in batches, or streamed to a file (`cf-native recommend`).
pub const MAX_ENTRIES: usize = 1 << 28;

/// Rows x width must fit [`MAX_ENTRIES`]; checked before anything is allocated for them.
fn check_size(rows: usize, width: usize, what: &str) -> Result<()> {
    match rows.checked_mul(width) {
        Some(n) if n <= MAX_ENTRIES => Ok(()),
        _ => Err(Error::param(
            what,
            format!(
                "{rows} queries x {width} entries is more than the {MAX_ENTRIES} one call returns; ask in batches (or stream them to a file with cf-native recommend)"
            ),
        )),
    }
}

impl Lists {
    fn new(rows: usize, width: usize) -> Self {
        Lists {
            ids: vec![u32::MAX; rows * width],
            scores: vec![f32::NAN; rows * width],
            width,
        }
    }

    pub fn rows(&self) -> usize {
        self.ids.len().checked_div(self.width).unwrap_or(0)
    }

    /// Row `r` without its padding, as (item, score) pairs.
    pub fn pairs(&self, r: usize) -> Vec<(u32, f32)> {
        let w = self.width;
        self.ids[r * w..(r + 1) * w]
            .iter()
            .zip(&self.scores[r * w..(r + 1) * w])
            .take_while(|(&i, _)| i != u32::MAX)
            .map(|(&i, &s)| (i, s))
            .collect()
    }
}

/// A request checked against the catalogue: the candidate list sorted and deduplicated, the
/// item mask as a bit set, the list width.
struct Checked {
    width: usize,
    banned: Option<ItemSet>,
    candidates: Option<Vec<u32>>,
}

fn check_ids(what: &str, ids: &[u32], n: usize, noun: &str) -> Result<()> {
    if let Some(pos) = ids.iter().position(|&i| i as usize >= n) {
        return Err(Error::param(
            what,
            format!(
                "index {} at position {pos} is out of range (model has {n} {noun})",
                ids[pos]
            ),
        ));
    }
    Ok(())
}

fn check_request(req: &Request, n_items: usize) -> Result<Checked> {
    let k = check_k(req.k, n_items)?;
    check_ids("excludeItems", req.exclude_items, n_items, "items")?;
    let banned = (!req.exclude_items.is_empty()).then(|| ItemSet::new(n_items, req.exclude_items));
    let candidates = match req.candidates {
        None => None,
        Some([]) => {
            return Err(Error::param(
                "candidates",
                "is empty: no item could be returned (leave it out to rank every item)",
            ))
        }
        Some(c) => {
            check_ids("candidates", c, n_items, "items")?;
            let mut c = c.to_vec();
            c.sort_unstable();
            c.dedup();
            Some(c)
        }
    };
    let width = k.min(candidates.as_ref().map_or(n_items, Vec::len));
    Ok(Checked {
        width,
        banned,
        candidates,
    })
}

fn check_users(users: &[u32], n_users: usize) -> Result<()> {
    check_ids("users", users, n_users, "users")
}

/// The packed target rows a request ranks: every row (the cache when it fits), or the
/// candidates' rows.
fn targets_of<'p>(
    rows: &[f32],
    f: usize,
    candidates: &Option<Vec<u32>>,
    cache: Option<&'p Packed>,
    owned: &'p mut Option<Packed>,
) -> &'p Packed {
    match (candidates, cache) {
        (None, Some(p)) if p.matches(rows.len() / f.max(1), f) => p,
        (None, _) => owned.insert(Packed::new(rows, f)),
        (Some(c), _) => owned.insert(Packed::gather(rows, f, c)),
    }
}

/// Top-k lists for known users (rows of the model), run on the current rayon pool.
pub fn recommend_users(model: &dyn Recommender, users: &[u32], req: &Request) -> Result<Lists> {
    check_users(users, model.n_users())?;
    check_sources(model, &req.exclude)?;
    let c = check_request(req, model.n_items())?;
    check_size(users.len(), c.width, "users")?;
    let mut out = Lists::new(users.len(), c.width);
    if c.width == 0 || users.is_empty() {
        return Ok(out);
    }
    let filter = Filter {
        seen: &req.exclude,
        users,
        banned: c.banned.as_ref(),
        own: None,
    };
    match model.factor_view() {
        Some(fm) => by_factors(&fm, fm.users, users, &c, req, &filter, &mut out),
        None => by_rows(model.n_items(), &c, &filter, &mut out, |pos, buf| {
            model.score_user(users[pos] as usize, buf);
            Ok(())
        })?,
    }
    Ok(out)
}

/// The path of factor models: rows `pick` of `query_rows` against the item factors (or the
/// candidates'), by the dense engine.
fn by_factors(
    fm: &Factors,
    query_rows: &[f32],
    pick: &[u32],
    c: &Checked,
    req: &Request,
    filter: &Filter,
    out: &mut Lists,
) {
    // Targets are scanned in decreasing norm so that a query stops once no remaining item
    // can reach its k-th score (norm_order). A cached pack (the whole catalogue, kept from
    // call to call) keeps its norm-ordered copy and that copy's int8 first pass. Without one, a
    // batch of ORDER_BATCH users or more gets a copy for this call, built straight from the
    // rows (a sort and about two passes over them, against a scan per user that mostly stops
    // early: evaluation's batches); smaller calls and candidate lists scan in index order,
    // with the int8 pass from 32 users on (it costs about one pass over the rows to build).
    const ORDER_BATCH: usize = 32;
    let n_items = fm.items.len() / fm.f.max(1);
    let whole = c.candidates.is_none();
    let cache = req
        .items_packed
        .filter(|p| whole && p.matches(n_items, fm.f));
    let mut own_order = None;
    let ordered = match cache {
        _ if !norm_order::enabled() => None,
        Some(p) => Some(p.by_norm()),
        None if whole && fm.f > 0 && pick.len() >= ORDER_BATCH => {
            Some(&*own_order.insert(NormOrder::build(fm.items.chunks_exact(fm.f), n_items, fm.f)))
        }
        None => None,
    };
    let mut owned = None;
    let targets = match ordered {
        Some(o) => Targets {
            packed: &o.packed,
            ids: Some(&o.perm),
            scale: None,
            quant: o.packed.quantised(),
            rows: Some(fm.items),
            bound: Some(&o.bound),
        },
        None => {
            let packed = targets_of(fm.items, fm.f, &c.candidates, cache, &mut owned);
            let quant = if cache.is_some() || pick.len() >= 32 {
                packed.quantised()
            } else {
                None
            };
            Targets {
                packed,
                ids: c.candidates.as_deref(),
                scale: None,
                quant,
                rows: Some(fm.items),
                bound: None,
            }
        }
    };
    let queries = Queries {
        rows: query_rows,
        pick,
        scale: None,
    };
    dense::top_k(
        &queries,
        &targets,
        c.width,
        filter,
        &mut out.ids,
        &mut out.scores,
    );
}

/// The path of models without factors: score a full row, then the same selection.
fn by_rows(
    n_items: usize,
    c: &Checked,
    filter: &Filter,
    out: &mut Lists,
    score: impl Fn(usize, &mut [f32]) -> Result<()> + Sync,
) -> Result<()> {
    use super::dense::Admit;
    let w = c.width;
    out.ids
        .par_chunks_mut(w)
        .zip(out.scores.par_chunks_mut(w))
        .enumerate()
        .try_for_each_init(
            || (vec![0f32; n_items], Vec::new(), Best::new(w)),
            |(buf, picked, best), (pos, (ids, scores))| {
                score(pos, buf)?;
                best.reset(w);
                let mut keep = filter.for_query(pos);
                match &c.candidates {
                    Some(cand) => {
                        picked.clear();
                        picked.extend(cand.iter().map(|&i| buf[i as usize]));
                        scan(picked, best, &|j| cand[j], &mut keep);
                    }
                    None => scan(buf, best, &|j| j as u32, &mut keep),
                }
                best.drain_into(ids, scores);
                Ok(())
            },
        )
}

/// One item list, sorted, as an exclusion source for a single query (row 0).
struct OwnItems(Vec<u32>, usize);

impl SeenItems for OwnItems {
    fn seen(&self, user: usize) -> &[u32] {
        if user == 0 {
            &self.0
        } else {
            &[]
        }
    }
    fn n_cols(&self) -> usize {
        self.1
    }
}

/// Top-k for someone not in the model, from the items they interacted with (fold-in); those
/// items are left out of the ranking, as are `req.exclude_items`.
pub fn recommend_items(
    model: &dyn Recommender,
    items: &[u32],
    values: &[f32],
    req: &Request,
) -> Result<Vec<(u32, f32)>> {
    let c = check_request(req, model.n_items())?;
    check_items(items, values, model.n_items())?;
    if items.is_empty() {
        return Err(Error::param(
            "items",
            "is empty: fold-in needs at least one item (rank by popularity for users without history)",
        ));
    }
    let mut own = items.to_vec();
    own.sort_unstable();
    own.dedup();
    let own = OwnItems(own, model.n_items());
    let sources: [&dyn SeenItems; 1] = [&own];
    let filter = Filter {
        seen: &sources,
        users: &[0],
        banned: c.banned.as_ref(),
        own: None,
    };
    let mut out = Lists::new(1, c.width);
    if c.width == 0 {
        return Ok(Vec::new());
    }
    match (model.fold_in_vector(items, values)?, model.factor_view()) {
        (Some(x), Some(fm)) => by_factors(&fm, &x, &[0], &c, req, &filter, &mut out),
        _ => by_rows(model.n_items(), &c, &filter, &mut out, |_, buf| {
            model.score_new_user(items, values, buf)
        })?,
    }
    Ok(out.pairs(0))
}

/// Sorted, deduplicated item lists, one per query: each query's own items as its exclusion.
struct OwnLists {
    indptr: Vec<usize>,
    items: Vec<u32>,
    n: usize,
}

impl SeenItems for OwnLists {
    fn seen(&self, q: usize) -> &[u32] {
        &self.items[self.indptr[q]..self.indptr[q + 1]]
    }
    fn n_cols(&self) -> usize {
        self.n
    }
}

/// `recommend_items` for many people at once: query q folds in
/// `items[indptr[q]..indptr[q + 1]]` (with the same slice of `values`) and its top-k leaves
/// those items out. The fold-ins run in parallel and the scoring is one batch, so each list is
/// bitwise the one `recommend_items` gives for that query alone. Runs on the current pool
/// (outside any pool, on the calling thread alone).
pub fn recommend_items_many(
    model: &dyn Recommender,
    indptr: &[u32],
    items: &[u32],
    values: &[f32],
    req: &Request,
) -> Result<Lists> {
    let c = check_request(req, model.n_items())?;
    check_items(items, values, model.n_items())?;
    let n = indptr.len().saturating_sub(1);
    if indptr.first().copied().unwrap_or(0) != 0
        || indptr.windows(2).any(|w| w[0] > w[1])
        || indptr.last().map_or(0, |&e| e as usize) != items.len()
    {
        return Err(Error::param(
            "indptr",
            format!(
                "must rise from 0 to the number of items ({}) in {} steps",
                items.len(),
                n
            ),
        ));
    }
    if let Some(q) = indptr.windows(2).position(|w| w[0] == w[1]) {
        return Err(Error::param(
            "items",
            format!("list {q} is empty: fold-in needs at least one item"),
        ));
    }
    check_size(n, c.width, "queries")?;
    let mut out = Lists::new(n, c.width);
    if c.width == 0 || n == 0 {
        return Ok(out);
    }
    let range = |q: usize| indptr[q] as usize..indptr[q + 1] as usize;
    let mut own = OwnLists {
        indptr: Vec::with_capacity(n + 1),
        items: Vec::with_capacity(items.len()),
        n: model.n_items(),
    };
    own.indptr.push(0);
    for q in 0..n {
        let start = own.items.len();
        own.items.extend_from_slice(&items[range(q)]);
        own.items[start..].sort_unstable();
        let mut row = own.items.split_off(start);
        row.dedup();
        own.items.extend_from_slice(&row);
        own.indptr.push(own.items.len());
    }
    let sources: [&dyn SeenItems; 1] = [&own];
    let picks: Vec<u32> = (0..n as u32).collect();
    let filter = Filter {
        seen: &sources,
        users: &picks,
        banned: c.banned.as_ref(),
        own: None,
    };
    let fold = |q: usize| model.fold_in_vector(&items[range(q)], &values[range(q)]);
    let folded: Vec<Option<Vec<f32>>> = if dense::inline() {
        (0..n).map(fold).collect::<Result<_>>()?
    } else {
        (0..n).into_par_iter().map(fold).collect::<Result<_>>()?
    };
    match (folded.iter().all(Option::is_some), model.factor_view()) {
        (true, Some(fm)) => {
            let mut rows = Vec::with_capacity(n * fm.f);
            for x in &folded {
                rows.extend_from_slice(x.as_deref().unwrap_or_default());
            }
            by_factors(&fm, &rows, &picks, &c, req, &filter, &mut out);
        }
        _ => by_rows(model.n_items(), &c, &filter, &mut out, |q, buf| {
            model.score_new_user(&items[range(q)], &values[range(q)], buf)
        })?,
    }
    Ok(out)
}

/// Which rows a similarity query compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Items,
    Users,
}

/// How two factor rows are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Dot product over the product of norms; rows of zero length match nothing.
    Cosine,
    Dot,
}

/// 1 / norm of each row; NaN for a zero row, so that it ranks nowhere.
pub fn inverse_norms(rows: &[f32], f: usize) -> Vec<f32> {
    rows.par_chunks(f.max(1))
        .map(|r| {
            let n = dense::dot_fma(r, r).sqrt();
            if n > 0.0 {
                1.0 / n
            } else {
                f32::NAN
            }
        })
        .collect()
}

/// The `k` rows of `rows` closest to the vector `q` by cosine, `exclude` (sorted) left out;
/// the same scores and order as [`similar`] gives for a row of the model.
pub fn similar_to_vector(rows: &[f32], q: &[f32], k: usize, exclude: &[u32]) -> Vec<(u32, f32)> {
    similar_to_vector_packed(rows, q, k, exclude, None)
}

/// [`similar_to_vector`] with the rows' packing from a cache when it matches them (packing
/// 20k x 64 factors costs milliseconds, the ranking a fraction of that).
pub fn similar_to_vector_packed(
    rows: &[f32],
    q: &[f32],
    k: usize,
    exclude: &[u32],
    cache: Option<&Packed>,
) -> Vec<(u32, f32)> {
    let f = q.len().max(1);
    let mut owned = None;
    let packed = targets_of(rows, f, &None, cache, &mut owned);
    let width = k.min(packed.len());
    if width == 0 {
        return Vec::new();
    }
    let qn = inverse_norms(q, f);
    let targets = Targets {
        packed,
        ids: None,
        scale: Some(packed.inverse_norms()),
        quant: None,
        rows: None,
        bound: None,
    };
    let queries = Queries {
        rows: q,
        pick: &[0],
        scale: Some(&qn),
    };
    let own = OwnItems(exclude.to_vec(), packed.len());
    let sources: [&dyn SeenItems; 1] = [&own];
    let filter = Filter {
        seen: &sources,
        users: &[0],
        banned: None,
        own: None,
    };
    let mut out = Lists::new(1, width);
    dense::top_k(
        &queries,
        &targets,
        width,
        &filter,
        &mut out.ids,
        &mut out.scores,
    );
    out.pairs(0)
}

/// The rows most similar to each of `queries` (item or user indices), each query left out
/// of its own list. For users, `req.candidates` and `req.exclude_items` name users.
pub fn similar(
    model: &dyn Recommender,
    side: Side,
    queries: &[u32],
    measure: Measure,
    req: &Request,
) -> Result<Lists> {
    let (n, noun) = match side {
        Side::Items => (model.n_items(), "items"),
        Side::Users => (model.n_users(), "users"),
    };
    let what = match side {
        Side::Items => "items",
        Side::Users => "users",
    };
    check_ids(what, queries, n, noun)?;
    if !req.exclude.is_empty() {
        return Err(Error::param(
            "exclude",
            "similar lists take no per-user exclusion matrix",
        ));
    }
    let c = check_request(req, n)?;
    let Some(fm) = model.factor_view() else {
        return by_model(model, side, queries, req, c.width);
    };
    let rows = match side {
        Side::Items => fm.items,
        Side::Users => fm.users,
    };
    check_size(queries.len(), c.width, what)?;
    let mut out = Lists::new(queries.len(), c.width);
    if c.width == 0 || queries.is_empty() {
        return Ok(out);
    }
    let cache = match side {
        Side::Items => req.items_packed.filter(|p| p.matches(n, fm.f)),
        Side::Users => req.users_packed.filter(|p| p.matches(n, fm.f)),
    };
    let norms: Option<std::borrow::Cow<[f32]>> =
        (measure == Measure::Cosine).then(|| match cache {
            Some(p) => std::borrow::Cow::Borrowed(p.inverse_norms()),
            None => std::borrow::Cow::Owned(inverse_norms(rows, fm.f)),
        });
    let mut owned = None;
    let packed = targets_of(rows, fm.f, &c.candidates, cache, &mut owned);
    let gathered: Option<Vec<f32>> = match (&norms, &c.candidates) {
        (Some(nm), Some(cand)) => Some(cand.iter().map(|&i| nm[i as usize]).collect()),
        _ => None,
    };
    let target_scale: Option<&[f32]> = gathered.as_deref().or(norms.as_deref());
    let query_scale: Option<Vec<f32>> = norms
        .as_ref()
        .map(|nm| queries.iter().map(|&q| nm[q as usize]).collect());
    let targets = Targets {
        packed,
        ids: c.candidates.as_deref(),
        scale: target_scale,
        quant: None,
        rows: None,
        bound: None,
    };
    let q = Queries {
        rows,
        pick: queries,
        scale: query_scale.as_deref(),
    };
    let filter = Filter {
        seen: &[],
        users: &[],
        banned: c.banned.as_ref(),
        own: Some(queries),
    };
    dense::top_k(
        &q,
        &targets,
        c.width,
        &filter,
        &mut out.ids,
        &mut out.scores,
    );
    Ok(out)
}

/// Similar items of a model without factors: its own answer, one query at a time, without
/// filters (none of those models takes them).
fn by_model(
    model: &dyn Recommender,
    side: Side,
    queries: &[u32],
    req: &Request,
    width: usize,
) -> Result<Lists> {
    if side == Side::Users || req.candidates.is_some() || !req.exclude_items.is_empty() {
        // Ask the model once, so its own message (e.g. unsupported) is what the caller sees.
        if let Some(&q) = queries.first() {
            model.similar_items(q, req.k)?;
        }
        return Err(Error::Unsupported(format!(
            "similar {} with filters needs a factor model",
            match side {
                Side::Items => "items",
                Side::Users => "users",
            }
        )));
    }
    check_size(queries.len(), width, "items")?;
    let mut out = Lists::new(queries.len(), width);
    for (r, &q) in queries.iter().enumerate() {
        for (j, (i, s)) in model.similar_items(q, width)?.into_iter().enumerate() {
            out.ids[r * width + j] = i;
            out.scores[r * width + j] = s;
        }
    }
    Ok(out)
}
