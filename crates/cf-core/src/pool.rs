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
pub fn default_threads() -> Result<usize> {
    match std::env::var("CF_NATIVE_NUM_THREADS") {
        Err(_) => Ok(cores()),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
            _ => Err(Error::param(
                "CF_NATIVE_NUM_THREADS",
                format!("must be an integer in 1..={MAX_THREADS} (got {v:?})"),
            )),
        },
    }
}

/// The largest `threads` any parameter accepts; a pool never exceeds 4 x the cores anyway.
pub const MAX_THREADS: usize = 1024;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The pool for `threads` workers (0 = `default_threads()`). More than 4 x the cores would
/// only add switching (thousands of OS threads made a fit crawl), so they are capped there;
/// results do not depend on the thread count, so the cap changes speed only.
pub fn pool(threads: usize) -> Result<Arc<ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    if threads > MAX_THREADS {
        return Err(Error::param(
            "threads",
            format!("must be in 0..={MAX_THREADS} (got {threads})"),
        ));
    }
    let n = if threads == 0 {
        default_threads()?
    } else {
        threads
    };
    let n = n.min(4 * cores());
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
