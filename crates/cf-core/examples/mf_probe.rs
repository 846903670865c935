use cf_core::data::csr::Csr;
use cf_core::models::mf::{MfModel, MfParams, Solver};
use cf_core::params::Params;
use std::collections::HashMap;

fn read(path: &str) -> Vec<(u32, u32, f32)> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| {
        let f: Vec<&str> = l.split('\t').collect();
        (f[0].parse().unwrap(), f[1].parse().unwrap(), f[2].parse().unwrap())
    }).collect()
}
fn main() {
    let a: &'static [String] = Box::leak(std::env::args().collect::<Vec<_>>().into_boxed_slice());
    let fold = &a[1];
    let raw: Vec<(&str, cf_core::params::Value)> = Vec::new();
    let _ = raw;
    let mut kv: Vec<(&'static str, cf_core::params::Value)> = vec![];
    for s in &a[2..] {
        let (k, v) = s.split_once('=').unwrap();
        let val = v.parse::<f64>().map(cf_core::params::Value::Num).unwrap_or(cf_core::params::Value::Str(v.into()));
        kv.push((Box::leak(k.to_string().into_boxed_str()), val));
    }
    let p = MfParams::from_raw(kv.iter().map(|(k, v)| (*k, v.clone()))).unwrap();
    let tr = read(&format!("/work/shared/data/ml-100k/{fold}.base"));
    let te = read(&format!("/work/shared/data/ml-100k/{fold}.test"));
    let mut um = HashMap::new(); let mut im = HashMap::new();
    for &(u, i, _) in tr.iter().chain(&te) { let n = um.len(); um.entry(u).or_insert(n as u32); let n = im.len(); im.entry(i).or_insert(n as u32); }
    let mk = |v: &[(u32, u32, f32)]| Csr::from_coo(um.len(), im.len(), &v.iter().map(|x| um[&x.0]).collect::<Vec<_>>(), &v.iter().map(|x| im[&x.1]).collect::<Vec<_>>(), &v.iter().map(|x| x.2).collect::<Vec<_>>()).unwrap();
    let (train, test) = (mk(&tr), mk(&te));
    let t = std::time::Instant::now();
    let m = MfModel::fit(p, &train, Some(&test), |r| { eprintln!("{} train {:.4} test {:.4}", r.epoch, r.train_rmse, r.valid_rmse.unwrap()); true }).unwrap();
    println!("best {:?} {:.4} in {:.2}s", m.best_epoch(), m.curve.iter().map(|r| r.valid_rmse.unwrap()).fold(9.0, f64::min), t.elapsed().as_secs_f64());
    let _ = Solver::Als;
}
