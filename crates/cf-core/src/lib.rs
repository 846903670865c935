//! cf-native's engine: interactions, splits, implicit ALS, top-K and ranking metrics.
//! Knows nothing of Node; every user-facing failure is an `Error` that says what and where.

pub mod args;
pub mod bootstrap;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod export;
pub mod linalg;
pub mod metrics;
pub mod models;
pub mod params;
pub mod pool;
pub mod rating_metrics;
pub mod rng;
pub mod topk;

pub use error::{Error, Result};
