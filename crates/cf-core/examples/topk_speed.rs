//! Dev loop for the top-K engine: batch and single-query throughput on random factors.
//! `cargo run --release --example topk_speed -- USERS ITEMS FACTORS K THREADS [SINGLE_CALLS]`
use std::time::Instant;

use cf_core::models::factor::FactorModel;
use cf_core::topk::kernel::{self, Packed};
use cf_core::topk::{self, Measure, Request, Side};

struct Random {
    f: usize,
    users: Vec<f32>,
    items: Vec<f32>,
}

impl FactorModel for Random {
    fn factors(&self) -> usize {
        self.f
    }
    fn user_factors(&self) -> &[f32] {
        &self.users
    }
    fn item_factors(&self) -> &[f32] {
        &self.items
    }
    fn fold_in_user(&self, _: &[u32], _: &[f32]) -> cf_core::Result<Vec<f32>> {
        unreachable!()
    }
}

fn rnd(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    let (nu, ni, f, k, threads) = (a[0], a[1], a[2], a[3], a[4]);
    let singles = a.get(5).copied().unwrap_or(200);
    let m = Random {
        f,
        users: rnd(nu * f, 1),
        items: rnd(ni * f, 2),
    };
    let pool = cf_core::pool::pool(threads).unwrap();
    let users: Vec<u32> = (0..nu as u32).collect();
    let req = Request::new(k);
    pool.install(|| {
        for round in 0..3 {
            let t = Instant::now();
            let l = topk::recommend_users(&m, &users, &req).unwrap();
            let s = t.elapsed().as_secs_f64();
            let gf = 2.0 * (f * ni * nu) as f64 / s / 1e9;
            println!(
                "round {round}: batch {nu} users x {ni} items f={f} k={k} threads={threads}: {:.3} s, {:.0} users/s, {:.0} GF/s (check {})",
                s,
                nu as f64 / s,
                gf,
                l.ids[0]
            );
        }
        if std::env::var("BATCH_ONLY").is_ok() {
            return;
        }
        // The scoring kernel alone over the same tiles, one thread: the floor that selection
        // adds to.
        let packed = Packed::new(&m.items, f);
        let nb = nu.min(4096);
        let panels = ni.div_ceil(16);
        let mut buf = vec![0f32; 64 * 16 * 64];
        let t = Instant::now();
        for u in (0..nb).step_by(64) {
            for p in (0..panels).step_by(64) {
                let pn = 64.min(panels - p);
                kernel::scores(&packed, p, pn, &m.users[u * f..(u + 64) * f], 64, &mut buf, None);
            }
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "kernel only, 1 thread: {:.0} users/s, {:.0} GF/s ({})",
            nb as f64 / s,
            2.0 * (f * ni * nb) as f64 / s / 1e9,
            buf[7]
        );
        // The int8 first pass alone (where the CPU has it), same tiles, thresholds at -inf
        // so that every mask is written.
        if let Some(qp) = packed.quantised() {
            let mut qq = cf_core::topk::quant::QQueries::default();
            let t_ = vec![f32::NEG_INFINITY; 64];
            let mut masks = vec![0u16; 64 * 64];
            let mut bits = vec![0u64; 64];
            let t = Instant::now();
            for u in (0..nb).step_by(64) {
                qq.fill(qp, &m.users[u * f..(u + 64) * f], 64);
                for p in (0..panels).step_by(32) {
                    let pn = 32.min(panels - p);
                    cf_core::topk::quant::marks(qp, p, pn, &qq, 64, &t_, &mut masks, &mut bits);
                }
            }
            let s = t.elapsed().as_secs_f64();
            println!(
                "int8 marks only, 1 thread: {:.0} users/s ({})",
                nb as f64 / s,
                masks[7]
            );
        }
        // The selection alone: one user's scores scanned again and again.
        let mut row = vec![0f32; ni];
        cf_core::topk::dense::scores(&packed, &m.users[..f], &mut row);
        let mut best = cf_core::topk::heap::Best::new(k);
        let t = Instant::now();
        let reps = 2000;
        for _ in 0..reps {
            best.reset(k);
            cf_core::topk::scan::scan(&row, &mut best, &|j| j as u32, &mut |_| true);
        }
        let s = t.elapsed().as_secs_f64();
        println!("scan only: {:.3} ns/item", s / (reps * ni) as f64 * 1e9);
        let mut req = Request::new(k);
        req.items_packed = Some(&packed);
        // SMALL_BATCH=b: calls of b users at once (what the server's coalesced lists are).
        let b: usize = std::env::var("SMALL_BATCH").map_or(1, |v| v.parse().unwrap());
        let mut times = Vec::new();
        for u in 0..singles.min(nu) {
            let us: Vec<u32> = (0..b as u32).map(|j| (u as u32 * b as u32 + j) % nu as u32).collect();
            let t = Instant::now();
            let l = topk::recommend_users(&m, &us, &req).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(l.ids[0] != u32::MAX);
        }
        times.sort_by(f64::total_cmp);
        println!("single call ({b} users): median {:.3} ms, p90 {:.3} ms", times[times.len() / 2], times[times.len() * 9 / 10]);
        if std::env::var("SKIP_SIMILAR").is_ok() {
            return;
        }
        let items: Vec<u32> = (0..(ni.min(20000)) as u32).collect();
        let t = Instant::now();
        topk::similar(&m, Side::Items, &items, Measure::Cosine, &req).unwrap();
        let s = t.elapsed().as_secs_f64();
        println!("similar items batch of {}: {:.0} items/s", items.len(), items.len() as f64 / s);
    });
}
