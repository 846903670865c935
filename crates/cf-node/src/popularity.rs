use cf_core::models::popularity::Popularity;
use napi_derive::napi;

use crate::matrix::Matrix;
use crate::model::ModelHandle;

/// The popularity baseline fitted on `train`, which it also filters seen items with.
#[napi]
pub fn popularity_fit(train: &Matrix) -> ModelHandle {
    let m = ModelHandle::new(Box::new(Popularity::fit(&train.csr)));
    m.set_train(Some(train))
        .expect("a matrix fits the model fitted on it");
    m
}
