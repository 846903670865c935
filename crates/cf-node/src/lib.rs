//! N-API glue for cf-core: option objects in, typed arrays out, heavy work as async tasks,
//! core errors as JS exceptions. No algorithm lives here.

mod als;
mod dataset;
mod error;
mod matrix;
mod popularity;
mod tasks;
mod topk;
