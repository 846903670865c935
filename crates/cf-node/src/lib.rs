//! N-API glue for cf-core: option objects in, typed arrays out, heavy work as async tasks,
//! core errors as JS errors with a `code`. No algorithm lives here. One generic `Model`
//! class serves every model type (model.rs); a type's own operations live in its file.

mod als;
mod bootstrap;
mod bpr;
mod content;
mod dataset;
mod error;
mod explain;
mod export;
mod hybrid;
mod knn;
mod lists;
mod matrix;
mod mf;
mod model;
mod options;
mod popularity;
mod ratings;
mod registry;
mod spark;
mod svd;
mod typed;
