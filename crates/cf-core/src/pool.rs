//! Dedicated thread pools, one per requested size.
//!
//! The global rayon pool may belong to another addon in the same process, and a fit must
//! never run more threads than it was given, so models run inside a pool of their own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::ThreadPool;

use crate::error::{Error, Result};

/// Threads used when the caller asks for 0 ("all cores"): `CF_NATIVE_NUM_THREADS` if set,
/// else the available parallelism.
pub fn default_threads() -> usize {
    std::env::var("CF_NATIVE_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

pub fn pool(threads: usize) -> Result<Arc<ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    let n = if threads == 0 {
        default_threads()
    } else {
        threads
    };
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&n) {
        return Ok(p.clone());
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("cf-native-{i}"))
        .build()
        .map_err(|e| Error::param("threads", format!("cannot start {n} threads: {e}")))?;
    let p = Arc::new(p);
    pools.insert(n, p.clone());
    Ok(p)
}
