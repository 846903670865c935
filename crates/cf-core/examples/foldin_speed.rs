//! Dev loop for serving's cold-start path: fold-in (the low-rank path where it applies, then
//! the direct solve of the same rows), and fold-in plus top-K against a known user's top-K
//! (both without a cached packing of the items, unlike a server), on random factors.
//! `FOLD_ONLY=1 cargo run --release -p cf-core --example foldin_speed -- ITEMS FACTORS LIKED [CALLS]`
use std::time::Instant;

use cf_core::models::als::{AlsModel, AlsParams};
use cf_core::topk::{self, Request};

fn rnd(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 0.2 - 0.1
        })
        .collect()
}

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    let (ni, f, liked) = (a[0], a[1], a[2]);
    let calls = a.get(3).copied().unwrap_or(20_000);
    let nu = 1000;
    let params = AlsParams {
        factors: f,
        regularization: 50.0,
        alpha: 10.0,
        threads: 1,
        ..AlsParams::default()
    };
    let m = AlsModel::from_factors(params, rnd(nu * f, 1), rnd(ni * f, 2)).unwrap();
    m.prepare_fold_in().unwrap();
    let step = ni / liked;
    let items: Vec<u32> = (0..liked).map(|j| (j * step + 7) as u32).collect();
    let values = vec![1f32; liked];
    let req = Request::new(10);
    let mut sink = 0f32;
    for round in 0..3 {
        let t = Instant::now();
        for c in 0..calls {
            let mut it = items.clone();
            it[0] = (c % ni) as u32;
            sink += m.fold_in_user(&it, &values).unwrap()[0];
        }
        let fold = t.elapsed().as_secs_f64() / calls as f64 * 1e6;
        let t = Instant::now();
        for c in 0..calls {
            let mut it = items.clone();
            it[0] = (c % ni) as u32;
            sink += m.fold_in_user_direct(&it, &values).unwrap()[0];
        }
        let direct = t.elapsed().as_secs_f64() / calls as f64 * 1e6;
        if std::env::var_os("FOLD_ONLY").is_some() {
            println!("round {round}: fold-in {fold:.2} us, direct solve {direct:.2} us");
            continue;
        }
        let t = Instant::now();
        for c in 0..calls {
            let mut it = items.clone();
            it[0] = (c % ni) as u32;
            sink += topk::recommend_items(&m, &it, &values, &req).unwrap()[0].1;
        }
        let both = t.elapsed().as_secs_f64() / calls as f64 * 1e6;
        let t = Instant::now();
        for c in 0..calls {
            let u = [(c % nu) as u32];
            sink += topk::recommend_users(&m, &u, &req).unwrap().pairs(0)[0].1;
        }
        let known = t.elapsed().as_secs_f64() / calls as f64 * 1e6;
        println!("round {round}: fold-in {fold:.2} us (direct solve {direct:.2} us), fold-in + top-k {both:.2} us, known user top-k {known:.2} us");
    }
    println!("{sink}");
}
