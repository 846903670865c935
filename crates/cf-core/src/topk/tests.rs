//! The engine against a brute-force full sort: random factors (small integers, so that many
//! scores tie and the tie rule is exercised, and general floats), every filter, batches and
//! single queries, 1, 2 and 5 threads.

use super::kernel::{dot_fma, Packed};
use super::*;
use crate::data::csr::Csr;
use crate::models::factor::FactorModel;

struct Fm {
    f: usize,
    u: Vec<f32>,
    i: Vec<f32>,
}

impl FactorModel for Fm {
    fn factors(&self) -> usize {
        self.f
    }
    fn user_factors(&self) -> &[f32] {
        &self.u
    }
    fn item_factors(&self) -> &[f32] {
        &self.i
    }
    fn fold_in_user(&self, items: &[u32], _: &[f32]) -> crate::Result<Vec<f32>> {
        // Any deterministic vector will do: the mean of the items' rows.
        let mut x = vec![0f32; self.f];
        for &i in items {
            for (a, b) in x.iter_mut().zip(&self.i[i as usize * self.f..]) {
                *a += b;
            }
        }
        Ok(x)
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn model(nu: usize, ni: usize, f: usize, ints: bool, seed: u64) -> Fm {
    let mut r = Rng(seed);
    let mut v = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                if ints {
                    r.below(5) as f32 - 2.0
                } else {
                    (r.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                }
            })
            .collect()
    };
    Fm {
        f,
        u: v(nu * f),
        i: v(ni * f),
    }
}

fn seen_matrix(nu: usize, ni: usize, seed: u64) -> Csr {
    let mut r = Rng(seed);
    let (mut rows, mut cols) = (Vec::new(), Vec::new());
    for u in 0..nu {
        for _ in 0..r.below(ni as u64 / 2 + 1) {
            rows.push(u as u32);
            cols.push(r.below(ni as u64) as u32);
        }
    }
    let vals = vec![1.0; rows.len()];
    let mut m = Csr::from_coo(nu, ni, &rows, &cols, &vals).unwrap();
    // Repeated draws were summed; the values do not matter here.
    m.values.iter_mut().for_each(|v| *v = 1.0);
    m
}

/// The reference: score everything, drop what is filtered, sort by (score desc, index asc).
fn brute(scores: &[f32], k: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
    let mut all: Vec<(u32, f32)> = scores
        .iter()
        .enumerate()
        .filter(|(i, s)| s.is_finite() && keep(*i as u32))
        .map(|(i, &s)| (i as u32, s))
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

fn user_scores(m: &Fm, u: usize) -> Vec<f32> {
    let f = m.f;
    m.i.chunks(f)
        .map(|y| dot_fma(&m.u[u * f..u * f + f], y))
        .collect()
}

#[test]
fn batches_match_a_full_sort_with_every_filter_at_any_thread_count() {
    for (case, &(nu, ni, f, ints)) in [
        (70, 300, 8, true),
        (9, 1000, 33, false),
        (130, 50, 64, true),
        (3, 9000, 16, false),
    ]
    .iter()
    .enumerate()
    {
        let m = model(nu, ni, f, ints, 11 + case as u64);
        let seen = seen_matrix(nu, ni, 5 + case as u64);
        let mut r = Rng(99 + case as u64);
        let banned: Vec<u32> = (0..ni / 7).map(|_| r.below(ni as u64) as u32).collect();
        let cands: Vec<u32> = (0..ni / 2).map(|_| r.below(ni as u64) as u32).collect();
        let users: Vec<u32> = (0..nu as u32).rev().chain([0, 0]).collect();
        for k in [1, 7, ni + 5] {
            for (with_cands, with_banned, with_seen) in [
                (false, false, false),
                (true, true, true),
                (false, true, false),
                (true, false, true),
            ] {
                let mut req = Request::new(k);
                if with_seen {
                    req.exclude = vec![&seen];
                }
                if with_banned {
                    req.exclude_items = &banned;
                }
                if with_cands {
                    req.candidates = Some(&cands);
                }
                let mut results = Vec::new();
                for threads in [1, 2, 5] {
                    let pool = crate::pool::pool(threads).unwrap();
                    results.push(pool.install(|| recommend_users(&m, &users, &req).unwrap()));
                }
                for other in &results[1..] {
                    assert_eq!(
                        other.ids, results[0].ids,
                        "case {case}: thread counts differ"
                    );
                    let bits = |l: &Lists| l.scores.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(other), bits(&results[0]));
                }
                let got = &results[0];
                for (r, &u) in users.iter().enumerate() {
                    let s = user_scores(&m, u as usize);
                    let want = brute(&s, got.width, |i| {
                        (!with_seen || !seen.contains(u as usize, i))
                            && (!with_banned || !banned.contains(&i))
                            && (!with_cands || cands.contains(&i))
                    });
                    assert_eq!(got.pairs(r), want, "case {case} k {k} user {u}");
                }
            }
        }
    }
}

#[test]
fn single_queries_split_across_threads_match_the_batch() {
    // Enough items for a lone query to be split into chunks across threads.
    let m = model(4, 40_000, 8, true, 3);
    let users = [2u32, 0];
    let req = Request::new(25);
    let batch = crate::pool::pool(1)
        .unwrap()
        .install(|| recommend_users(&m, &users, &req).unwrap());
    for threads in [2, 3] {
        let pool = crate::pool::pool(threads).unwrap();
        for (r, &u) in users.iter().enumerate() {
            let one = pool.install(|| recommend_users(&m, &[u], &req).unwrap());
            assert_eq!(one.pairs(0), batch.pairs(r));
            assert_eq!(
                one.pairs(0),
                brute(&user_scores(&m, u as usize), 25, |_| true)
            );
        }
    }
}

#[test]
fn a_cached_pack_of_another_shape_is_not_used() {
    let m = model(5, 40, 4, false, 8);
    let other = Packed::new(&m.i[..20 * 4], 4);
    let mut req = Request::new(5);
    req.items_packed = Some(&other);
    let got = recommend_users(&m, &[1], &req).unwrap();
    assert_eq!(got.pairs(0), brute(&user_scores(&m, 1), 5, |_| true));
}

#[test]
fn similar_items_and_users_match_a_full_sort() {
    let mut m = model(60, 80, 6, true, 21);
    // A zero item matches nothing by cosine and is matched by nothing.
    m.i[3 * 6..4 * 6].fill(0.0);
    let f = m.f;
    let norm = |v: &[f32]| dot_fma(v, v).sqrt();
    for (side, rows, n) in [(Side::Items, &m.i, 80usize), (Side::Users, &m.u, 60)] {
        let queries: Vec<u32> = (0..n as u32).collect();
        for measure in [Measure::Cosine, Measure::Dot] {
            let got = similar(&m, side, &queries, measure, &Request::new(9)).unwrap();
            for &q in &queries {
                let x = &rows[q as usize * f..q as usize * f + f];
                let s: Vec<f32> = rows
                    .chunks(f)
                    .map(|y| match measure {
                        Measure::Dot => dot_fma(x, y),
                        Measure::Cosine => {
                            let (a, b) = (norm(y), norm(x));
                            let (a, b) = (
                                if a > 0.0 { 1.0 / a } else { f32::NAN },
                                if b > 0.0 { 1.0 / b } else { f32::NAN },
                            );
                            dot_fma(x, y) * a * b
                        }
                    })
                    .collect();
                let want = brute(&s, got.width, |i| i != q);
                assert_eq!(got.pairs(q as usize), want, "{side:?} {measure:?} {q}");
            }
        }
    }
    // With the packed items (and their cached norms) as the binding passes them: the same.
    let packed = Packed::new(&m.i, f);
    let mut req = Request::new(9);
    req.items_packed = Some(&packed);
    let all: Vec<u32> = (0..80).collect();
    let cached = similar(&m, Side::Items, &all, Measure::Cosine, &req).unwrap();
    let plain = similar(&m, Side::Items, &all, Measure::Cosine, &Request::new(9)).unwrap();
    assert_eq!(cached.ids, plain.ids);
    assert_eq!(
        cached
            .scores
            .iter()
            .map(|s| s.to_bits())
            .collect::<Vec<_>>(),
        plain.scores.iter().map(|s| s.to_bits()).collect::<Vec<_>>()
    );
    // Users through a cached pack of the user factors: the same again.
    let upacked = Packed::new(&m.u, f);
    let mut req = Request::new(9);
    req.users_packed = Some(&upacked);
    let us: Vec<u32> = (0..60).collect();
    let cached = similar(&m, Side::Users, &us, Measure::Cosine, &req).unwrap();
    let plain = similar(&m, Side::Users, &us, Measure::Cosine, &Request::new(9)).unwrap();
    assert_eq!(cached.ids, plain.ids);
    // A vector that is not a row (fold-in's similar items) ranks as the row itself would.
    for q in [0u32, 7, 41] {
        let row = &m.i[q as usize * f..q as usize * f + f];
        let l = similar(&m, Side::Items, &[q], Measure::Cosine, &Request::new(9)).unwrap();
        assert_eq!(similar_to_vector(&m.i, row, 9, &[q]), l.pairs(0));
        // Through a cached packing of the items, or a stale one (ignored), the same list.
        let ipacked = Packed::new(&m.i, f);
        let stale = Packed::new(&m.i[..f * 10], f);
        for cache in [Some(&ipacked), Some(&stale)] {
            assert_eq!(
                similar_to_vector_packed(&m.i, row, 9, &[q], cache),
                l.pairs(0)
            );
        }
    }
    let zero = similar(&m, Side::Items, &[3], Measure::Cosine, &Request::new(5)).unwrap();
    assert!(zero.pairs(0).is_empty());
}

#[test]
fn fold_in_lists_leave_out_the_given_items_and_the_mask() {
    let m = model(5, 300, 8, true, 4);
    let given = [5u32, 9, 5];
    let banned = [1u32, 2];
    let mut req = Request::new(20);
    req.exclude_items = &banned;
    let got = recommend_items(&m, &given, &[1.0; 3], &req).unwrap();
    let x = m.fold_in_user(&given, &[]).unwrap();
    let s: Vec<f32> = m.i.chunks(8).map(|y| dot_fma(&x, y)).collect();
    assert_eq!(got, brute(&s, 20, |i| ![5, 9, 1, 2].contains(&i)));
}

#[test]
fn many_fold_ins_equal_each_alone_at_any_thread_count() {
    let m = model(5, 3000, 24, false, 7);
    let mut r = Rng(11);
    let lists: Vec<Vec<u32>> = (0..40)
        .map(|q| (0..1 + q % 7).map(|_| r.below(3000) as u32).collect())
        .collect();
    let mut indptr = vec![0u32];
    let mut items = Vec::new();
    for l in &lists {
        items.extend_from_slice(l);
        indptr.push(items.len() as u32);
    }
    let values: Vec<f32> = (0..items.len()).map(|j| 1.0 + (j % 3) as f32).collect();
    let banned = [3u32, 4, 5];
    let mut req = Request::new(15);
    req.exclude_items = &banned;
    for threads in [1, 2, 5] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let many = pool
            .install(|| recommend_items_many(&m, &indptr, &items, &values, &req))
            .unwrap();
        assert_eq!(many.rows(), lists.len());
        for (q, l) in lists.iter().enumerate() {
            let v = &values[indptr[q] as usize..indptr[q + 1] as usize];
            assert_eq!(
                many.pairs(q),
                recommend_items(&m, l, v, &req).unwrap(),
                "query {q}"
            );
            assert!(many
                .pairs(q)
                .iter()
                .all(|(i, _)| !l.contains(i) && !banned.contains(i)));
        }
    }
    // Malformed lists are coded errors naming the argument.
    let e = recommend_items_many(&m, &[0, 2, 1], &[1, 2], &[1.0; 2], &req).unwrap_err();
    assert!(e.to_string().contains("indptr"), "{e}");
    let e = recommend_items_many(&m, &[0, 1, 1], &[1], &[1.0], &req).unwrap_err();
    assert!(e.to_string().contains("list 1 is empty"), "{e}");
    let e = recommend_items_many(&m, &[0, 1], &[3000], &[1.0], &req).unwrap_err();
    assert!(e.to_string().contains("items"), "{e}");
}

#[test]
fn bad_requests_are_coded_errors_naming_the_argument() {
    let m = model(5, 30, 4, false, 1);
    let e = |req: &Request| recommend_users(&m, &[0], req).unwrap_err().to_string();
    let mut req = Request::new(3);
    req.candidates = Some(&[]);
    assert!(e(&req).starts_with("candidates: is empty"), "{}", e(&req));
    req.candidates = Some(&[1, 30]);
    assert_eq!(
        e(&req),
        "candidates: index 30 at position 1 is out of range (model has 30 items)"
    );
    let mut req = Request::new(3);
    req.exclude_items = &[99];
    assert!(e(&req).starts_with("excludeItems: index 99 at position 0"));
    assert!(e(&Request::new(0)).starts_with("k: must be >= 1"));
    let err = recommend_users(&m, &[0, 5], &Request::new(2)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "users: index 5 at position 1 is out of range (model has 5 users)"
    );
    // A result too large for one call is refused before it is allocated.
    let big = model(1, 1 << 15, 1, false, 2);
    let many = vec![0u32; (MAX_ENTRIES >> 15) + 1];
    let err = recommend_users(&big, &many, &Request::new(1 << 15)).unwrap_err();
    assert!(err.to_string().contains("ask in batches"), "{err}");
    // k beyond what the candidates allow: rows as wide as the candidates.
    let mut req = Request::new(50);
    req.candidates = Some(&[4, 4, 2]);
    let l = recommend_users(&m, &[1, 2], &req).unwrap();
    assert_eq!(l.width, 2);
    assert!(l.ids.iter().all(|&i| i == 2 || i == 4));
}

// ---- The int8 first pass (quant.rs): it only rules items out, so every list and score must
// be the f32 engine's, bit for bit, on data chosen to stress its bound.

/// Factors that stress the int8 bound: exact and near ties, norms from 2^-60 to 2^60 (past
/// the quantised range at both ends), zero rows, and entries half a step off the grid.
fn adversarial(nu: usize, ni: usize, f: usize, kind: u32, seed: u64) -> Fm {
    let mut r = Rng(seed);
    let rows = |n: usize, r: &mut Rng| -> Vec<f32> {
        let base: Vec<f32> = (0..f).map(|_| r.below(5) as f32 - 2.0).collect();
        let mut v = Vec::with_capacity(n * f);
        for i in 0..n {
            let pick = r.below(10);
            let row: Vec<f32> = match kind {
                // Many exact ties (repeated rows) and ties within an ulp or two.
                0 => (0..f)
                    .map(|j| {
                        let x = base[j];
                        match pick {
                            0..=3 => x,
                            4..=6 => x + (r.below(3) as f32 - 1.0) * 1e-6,
                            _ => r.below(5) as f32 - 2.0,
                        }
                    })
                    .collect(),
                // Scales from 2^-60 to 2^60, some rows zero.
                1 => {
                    let e = r.below(121) as i32 - 60;
                    let s = 2f32.powi(e);
                    (0..f)
                        .map(|_| {
                            if pick == 0 {
                                0.0
                            } else {
                                ((r.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * s
                            }
                        })
                        .collect()
                }
                // One large entry sets the step; the rest sit half a step off the grid.
                _ => (0..f)
                    .map(|j| {
                        if j == i % f {
                            127.0
                        } else {
                            (r.below(9) as f32 - 4.0)
                                + 0.49 * if r.below(2) == 0 { 1.0 } else { -1.0 }
                        }
                    })
                    .collect(),
            };
            v.extend(row);
        }
        v
    };
    let u = rows(nu, &mut r);
    let i = rows(ni, &mut r);
    Fm { f, u, i }
}

fn bits_of(l: &Lists) -> Vec<u32> {
    l.scores.iter().map(|s| s.to_bits()).collect()
}

/// The engine with the f32 path only: the reference the int8 pass must reproduce.
fn f32_only(m: &Fm, users: &[u32], k: usize, filter: &super::filter::Filter) -> Lists {
    use super::dense::{top_k, Queries, Targets};
    let packed = Packed::new(&m.i, m.f);
    let width = k.min(m.i.len() / m.f);
    let mut out = Lists {
        ids: vec![u32::MAX; users.len() * width],
        scores: vec![f32::NAN; users.len() * width],
        width,
    };
    let t = Targets {
        packed: &packed,
        ids: None,
        scale: None,
        quant: None,
        rows: None,
        bound: None,
    };
    let q = Queries {
        rows: &m.u,
        pick: users,
        scale: None,
    };
    top_k(&q, &t, width, filter, &mut out.ids, &mut out.scores);
    out
}

#[test]
fn the_int8_first_pass_gives_the_f32_lists_bit_for_bit() {
    use super::dense::{top_k, Queries, Targets};
    use super::filter::Filter;
    use super::quant::QPacked;
    for (case, &(nu, ni, f, kind)) in [
        (40, 3000, 64, 0u32),
        (40, 3000, 7, 1),
        (40, 2600, 64, 2),
        (6, 5000, 1, 1),
        (35, 2100, 130, 2),
        (33, 1700, 16, 0),
    ]
    .iter()
    .enumerate()
    {
        let m = adversarial(nu, ni, f, kind, 31 + case as u64);
        let users: Vec<u32> = (0..nu as u32).collect();
        let packed = Packed::new(&m.i, f);
        // Built directly, so that the portable marks run on CPUs without VNNI too.
        let qp = QPacked::build(m.i.chunks_exact(f), ni, f);
        let none = Filter {
            seen: &[],
            users: &users,
            banned: None,
            own: None,
        };
        for k in [1, 10, 600] {
            let want = f32_only(&m, &users, k, &none);
            for rows in [None, Some(&m.i[..])] {
                let t = Targets {
                    packed: &packed,
                    ids: None,
                    scale: None,
                    quant: Some(&qp),
                    rows,
                    bound: None,
                };
                let q = Queries {
                    rows: &m.u,
                    pick: &users,
                    scale: None,
                };
                for threads in [1, 2, 5] {
                    let mut got = Lists {
                        ids: vec![u32::MAX; want.ids.len()],
                        scores: vec![f32::NAN; want.ids.len()],
                        width: want.width,
                    };
                    crate::pool::pool(threads).unwrap().install(|| {
                        top_k(&q, &t, want.width, &none, &mut got.ids, &mut got.scores)
                    });
                    assert_eq!(got.ids, want.ids, "case {case} k {k} threads {threads}");
                    assert_eq!(bits_of(&got), bits_of(&want), "case {case} k {k}");
                }
            }
            for (r, &u) in users.iter().enumerate() {
                let s = user_scores(&m, u as usize);
                let b = brute(&s, want.width, |_| true);
                let got: Vec<(u32, u32)> =
                    want.pairs(r).iter().map(|p| (p.0, p.1.to_bits())).collect();
                let b: Vec<(u32, u32)> = b.iter().map(|p| (p.0, p.1.to_bits())).collect();
                assert_eq!(got, b, "case {case} k {k} user {u}");
            }
        }
    }
}

#[test]
fn the_int8_first_pass_matches_a_full_sort_with_every_filter() {
    // Through the public API with a cached pack, as the binding calls it: the int8 pass runs
    // wherever the CPU has it (AVX-512 VNNI or AVX2), for batches and for lone queries.
    for (case, &(nu, ni, f, kind)) in [(50, 4000, 64, 0u32), (40, 3000, 24, 1), (36, 2500, 64, 2)]
        .iter()
        .enumerate()
    {
        let m = adversarial(nu, ni, f, kind, 77 + case as u64);
        let seen = seen_matrix(nu, ni, 9 + case as u64);
        let mut r = Rng(5 + case as u64);
        let banned: Vec<u32> = (0..ni / 7).map(|_| r.below(ni as u64) as u32).collect();
        let cands: Vec<u32> = (0..ni / 2).map(|_| r.below(ni as u64) as u32).collect();
        let users: Vec<u32> = (0..nu as u32).rev().collect();
        let packed = Packed::new(&m.i, f);
        for k in [1, 10] {
            for (with_cands, with_banned, with_seen) in [
                (false, false, false),
                (true, true, true),
                (false, true, true),
            ] {
                let mut req = Request::new(k);
                req.items_packed = Some(&packed);
                if with_seen {
                    req.exclude = vec![&seen];
                }
                if with_banned {
                    req.exclude_items = &banned;
                }
                if with_cands {
                    req.candidates = Some(&cands);
                }
                let mut results = Vec::new();
                for threads in [1, 2, 5] {
                    let pool = crate::pool::pool(threads).unwrap();
                    results.push(pool.install(|| recommend_users(&m, &users, &req).unwrap()));
                    // One query at a time too (the single-call path).
                    let one = pool.install(|| recommend_users(&m, &users[..1], &req).unwrap());
                    assert_eq!(one.ids, results[0].ids[..one.width]);
                }
                for other in &results[1..] {
                    assert_eq!(other.ids, results[0].ids, "case {case}");
                    assert_eq!(bits_of(other), bits_of(&results[0]));
                }
                let got = &results[0];
                for (row, &u) in users.iter().enumerate() {
                    let s = user_scores(&m, u as usize);
                    let want = brute(&s, got.width, |i| {
                        (!with_seen || !seen.contains(u as usize, i))
                            && (!with_banned || !banned.contains(&i))
                            && (!with_cands || cands.contains(&i))
                    });
                    let g: Vec<(u32, u32)> = got
                        .pairs(row)
                        .iter()
                        .map(|p| (p.0, p.1.to_bits()))
                        .collect();
                    let w: Vec<(u32, u32)> = want.iter().map(|p| (p.0, p.1.to_bits())).collect();
                    assert_eq!(g, w, "case {case} k {k} user {u}");
                }
            }
        }
    }
    // A lone query over enough items to be split across threads.
    let m = adversarial(3, 40_000, 32, 2, 5);
    let packed = Packed::new(&m.i, 32);
    let mut req = Request::new(25);
    req.items_packed = Some(&packed);
    for threads in [1, 2, 3] {
        let pool = crate::pool::pool(threads).unwrap();
        for u in 0..3u32 {
            let one = pool.install(|| recommend_users(&m, &[u], &req).unwrap());
            assert_eq!(
                one.pairs(0),
                brute(&user_scores(&m, u as usize), 25, |_| true)
            );
        }
    }
}

#[test]
fn a_bound_half_as_wide_loses_an_item_the_full_bound_keeps() {
    use super::dense::{top_k, Queries, Targets};
    use super::filter::Filter;
    use super::quant::QPacked;
    // Query and item sit half a step off the int8 grid in the same direction, so the integer
    // dot product undershoots by about two thirds of the bound. Item 0 (first tile, exact
    // score 17300) sets the threshold; item 600 scores 17336 exactly but its int8 estimate
    // is 17074: inside the bound, outside half of it. The query's step is 127 / 63 where the
    // AVX2 kernel runs (its 63-step query grid): the same case in those steps.
    let f = 64;
    let step = if super::quant::kind() == Some(super::quant::Kind::Avx2) {
        127.0 / 63.0
    } else {
        1.0
    };
    let mut u = vec![3.49f32 * step; f];
    u[0] = 127.0;
    let mut v = vec![5.49f32; f];
    v[0] = 127.0;
    let mut a = vec![5.3259f32; f];
    a[0] = 127.0;
    let n = 1000;
    let mut items = vec![0f32; n * f];
    items[..f].copy_from_slice(&a);
    items[600 * f..601 * f].copy_from_slice(&v);
    let m = Fm {
        f,
        u: u.clone(),
        i: items,
    };
    let s = user_scores(&m, 0);
    assert!(s[600] > s[0] && s[0] > 17250.0, "{} {}", s[600], s[0]);
    let packed = Packed::new(&m.i, f);
    let filter = Filter {
        seen: &[],
        users: &[0],
        banned: None,
        own: None,
    };
    let top1 = |qp: &QPacked| {
        let t = Targets {
            packed: &packed,
            ids: None,
            scale: None,
            quant: Some(qp),
            rows: None,
            bound: None,
        };
        let q = Queries {
            rows: &m.u,
            pick: &[0],
            scale: None,
        };
        let (mut ids, mut sc) = (vec![0u32; 1], vec![0f32; 1]);
        top_k(&q, &t, 1, &filter, &mut ids, &mut sc);
        ids[0]
    };
    assert_eq!(top1(&QPacked::with_loosen(&m.i, f, 1.0)), 600);
    assert_eq!(top1(&QPacked::with_loosen(&m.i, f, 0.5)), 0);
}

// ---- The norm-ordered scan (norm_order.rs) of a cached pack: it stops early, so every list
// must still be a full sort's, ties included.

/// Item norms spread as a trained model's are (a few long rows, a long tail of short ones),
/// with integer-valued directions so that scores tie, and some rows repeated at other norms.
fn skewed(nu: usize, ni: usize, f: usize, seed: u64) -> Fm {
    let mut r = Rng(seed);
    let u: Vec<f32> = (0..nu * f).map(|_| r.below(5) as f32 - 2.0).collect();
    let mut i = Vec::with_capacity(ni * f);
    for j in 0..ni {
        // 2^(8 - 12 j / ni): from 256 down to 1/16, in steps that repeat.
        let s = 2f32.powi(8 - (12 * j / ni) as i32);
        for _ in 0..f {
            i.push((r.below(5) as f32 - 2.0) * s);
        }
    }
    // Shuffle rows so that norm order is not index order.
    for j in (1..ni).rev() {
        let o = r.below(j as u64 + 1) as usize;
        for x in 0..f {
            i.swap(j * f + x, o * f + x);
        }
    }
    Fm { f, u, i }
}

#[test]
fn the_norm_ordered_scan_stops_early_and_matches_a_full_sort() {
    let (nu, ni, f) = (30, 6000, 16);
    let m = skewed(nu, ni, f, 3);
    let seen = seen_matrix(nu, ni, 4);
    let packed = Packed::new(&m.i, f);
    let users: Vec<u32> = (0..nu as u32).collect();
    for k in [1, 10, 100] {
        for with_seen in [false, true] {
            let mut req = Request::new(k);
            req.items_packed = Some(&packed);
            if with_seen {
                req.exclude = vec![&seen];
            }
            let mut stops = 0;
            for &u in &users {
                // On this thread (outside any pool): the single-block path, which records
                // where it stopped.
                dense::STOPPED_AT.with(|s| s.set(None));
                let one = recommend_users(&m, &[u], &req).unwrap();
                stops += dense::STOPPED_AT.with(|s| s.get()).is_some() as usize;
                let want = brute(&user_scores(&m, u as usize), one.width, |i| {
                    !with_seen || !seen.contains(u as usize, i)
                });
                let g: Vec<(u32, u32)> =
                    one.pairs(0).iter().map(|p| (p.0, p.1.to_bits())).collect();
                let w: Vec<(u32, u32)> = want.iter().map(|p| (p.0, p.1.to_bits())).collect();
                assert_eq!(g, w, "k {k} user {u} seen {with_seen}");
            }
            // Rows of norm 2^8 score far above the tail: lone queries stop well before the end.
            if k <= 10 {
                assert!(
                    stops * 10 >= nu * 9,
                    "k {k}: only {stops} of {nu} queries stopped early"
                );
            }
            for threads in [1, 2, 5] {
                let pool = crate::pool::pool(threads).unwrap();
                let all = pool.install(|| recommend_users(&m, &users, &req).unwrap());
                for (row, &u) in users.iter().enumerate() {
                    let want = brute(&user_scores(&m, u as usize), all.width, |i| {
                        !with_seen || !seen.contains(u as usize, i)
                    });
                    assert_eq!(all.pairs(row), want, "k {k} threads {threads} user {u}");
                }
            }
        }
    }
}

#[test]
fn an_equal_score_met_later_in_norm_order_still_goes_to_the_lower_index() {
    // Item 0 = (1, 0) and item 1 = (1, 8) both score 1 for the user (1, 0); item 1's norm is
    // larger, so the norm-ordered scan meets it first. Item 2 is a short row scoring less.
    let m = Fm {
        f: 2,
        u: vec![1.0, 0.0],
        i: vec![1.0, 0.0, 1.0, 8.0, 0.5, 0.0],
    };
    let packed = Packed::new(&m.i, 2);
    assert_eq!(packed.by_norm().perm, vec![1, 0, 2]);
    let mut req = Request::new(1);
    req.items_packed = Some(&packed);
    let l = recommend_users(&m, &[0], &req).unwrap();
    assert_eq!(l.pairs(0), vec![(0, 1.0)]);
    req.k = 2;
    let l = recommend_users(&m, &[0], &req).unwrap();
    assert_eq!(l.pairs(0), vec![(0, 1.0), (1, 1.0)]);
}

#[test]
fn finished_queries_leave_a_batch_block_and_each_list_stays_in_its_row() {
    // Item norms fall slowly and smoothly (2^8 down to 2^5 over the catalogue), so users
    // reach their stopping point at different tiles; the batch is one block on this thread.
    let (nu, ni, f) = (40, 8000, 16);
    let mut m = skewed(nu, ni, f, 5);
    let mut r = Rng(11);
    for j in 0..ni {
        let s = 2f32.powf(8.0 - 3.0 * j as f32 / ni as f32);
        for x in 0..f {
            m.i[j * f + x] = (r.below(5) as f32 - 2.0) * s;
        }
    }
    let seen = seen_matrix(nu, ni, 4);
    let packed = Packed::new(&m.i, f);
    let users: Vec<u32> = (0..nu as u32).collect();
    // With the model's cached pack, and without one: 40 users are a batch that gets a
    // norm-ordered copy of its own.
    for (k, cached) in [(1, true), (10, true), (1, false), (10, false)] {
        for with_seen in [false, true] {
            let mut req = Request::new(k);
            if cached {
                req.items_packed = Some(&packed);
            }
            if with_seen {
                req.exclude = vec![&seen];
            }
            dense::LEFT_EARLY.with(|s| s.set(0));
            let all = recommend_users(&m, &users, &req).unwrap();
            let left = dense::LEFT_EARLY.with(|s| s.get());
            assert!(
                left >= nu / 4,
                "k {k}: only {left} of {nu} queries left the block early"
            );
            for (row, &u) in users.iter().enumerate() {
                let want = brute(&user_scores(&m, u as usize), all.width, |i| {
                    !with_seen || !seen.contains(u as usize, i)
                });
                let g: Vec<(u32, u32)> = all
                    .pairs(row)
                    .iter()
                    .map(|p| (p.0, p.1.to_bits()))
                    .collect();
                let w: Vec<(u32, u32)> = want.iter().map(|p| (p.0, p.1.to_bits())).collect();
                assert_eq!(g, w, "k {k} cached {cached} seen {with_seen} user {u}");
            }
        }
    }
}
