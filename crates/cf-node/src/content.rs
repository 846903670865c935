//! What only the content model does: its fit from an item side file (read, tokenised and
//! weighted in the core), as one async task with a sync twin sharing one `Op`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use cf_core::data::csr::Csr;
use cf_core::models::content::text::read_item_texts;
use cf_core::models::content::{align, ContentModel, ContentParams};
use cf_core::params::{Checked, Params};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{to_napi, CoreTask, Op, Result};
use crate::matrix::Matrix;
use crate::model::ModelHandle;
use crate::options::raw_params;

#[napi(object, object_to_js = false)]
pub struct ItemTextSource {
    pub path: String,
    /// The id column's name.
    pub id: String,
    /// The text columns' names.
    pub text: Vec<String>,
}

pub struct ContentFitOp {
    params: Checked<ContentParams>,
    train: Arc<Csr>,
    path: PathBuf,
    id: String,
    text: Vec<String>,
    item_ids: Vec<String>,
}

impl Op for ContentFitOp {
    type Output = ContentModel;
    type Js = ModelHandle;

    fn compute(&mut self) -> cf_core::Result<ContentModel> {
        let texts = read_item_texts(&self.path, &self.id, &self.text)?;
        let index: HashMap<&str, u32> = self
            .item_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i as u32))
            .collect();
        let (docs, _) = align(&texts, self.train.n_cols, |id| index.get(id).copied());
        ContentModel::fit(self.params.clone(), &self.train, &docs, &texts.columns)
    }

    fn to_js(m: ContentModel) -> ModelHandle {
        ModelHandle::new(Box::new(m))
    }
}

fn content_op(
    train: &Matrix,
    params: Option<Object>,
    items: ItemTextSource,
    item_ids: Vec<String>,
) -> Result<ContentFitOp> {
    let raw = raw_params(params)?;
    let params = ContentParams::from_raw(raw.iter().map(|(k, v)| (k.as_str(), v.clone())))
        .map_err(to_napi)?;
    if item_ids.len() != train.csr.n_cols {
        return Err(crate::error::invalid(
            "itemIds",
            format!("{} ids for {} items", item_ids.len(), train.csr.n_cols),
        ));
    }
    Ok(ContentFitOp {
        params,
        train: train.csr.clone(),
        path: PathBuf::from(items.path),
        id: items.id,
        text: items.text,
        item_ids,
    })
}

/// Content similarity from the side file `items` (its `id` column matched against `itemIds`,
/// the training matrix's item ids in column order) off the JS thread.
#[napi(
    ts_args_type = "train: Matrix, params: Record<string, unknown> | undefined | null, items: ItemTextSource, itemIds: Array<string>, signal?: AbortSignal | undefined | null",
    ts_return_type = "Promise<Model>"
)]
pub fn content_fit(
    train: &Matrix,
    params: Option<Object>,
    items: ItemTextSource,
    item_ids: Vec<String>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<ContentFitOp>>> {
    Ok(content_op(train, params, items, item_ids)?.run_async(signal))
}

#[napi(
    ts_args_type = "train: Matrix, params: Record<string, unknown> | undefined | null, items: ItemTextSource, itemIds: Array<string>",
    ts_return_type = "Model"
)]
pub fn content_fit_sync(
    train: &Matrix,
    params: Option<Object>,
    items: ItemTextSource,
    item_ids: Vec<String>,
) -> Result<ModelHandle> {
    content_op(train, params, items, item_ids)?.run_sync()
}
