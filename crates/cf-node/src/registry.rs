//! The model types of the core, described for TypeScript (config validation, API defaults,
//! `--help`, the README table), and loaded back from saved params and arrays.

use cf_core::models::{model_type, NamedArray, MODEL_TYPES};
use cf_core::params::{Default as D, Kind};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{invalid, to_napi, Result};
use crate::matrix::Matrix;
use crate::model::{ModelArray, ModelHandle};
use crate::options::raw_params;

#[napi(object)]
pub struct ParamDescription {
    /// snake_case (YAML, artifacts); the JS API takes the camelCase form.
    pub name: String,
    /// "int" | "float" | "bool" | "choice"
    pub kind: String,
    pub min: Option<f64>,
    /// Whether `min` itself is excluded (floats only).
    pub min_exclusive: Option<bool>,
    /// Absent when unbounded.
    pub max: Option<f64>,
    /// The allowed strings of a "choice".
    pub values: Option<Vec<String>>,
    pub default: Either3<f64, bool, String>,
    pub doc: String,
}

#[napi(object)]
pub struct ModelDescription {
    pub name: String,
    pub doc: String,
    pub params: Vec<ParamDescription>,
}

/// Every model type with its parameters, from the core's one list of them.
#[napi]
pub fn describe_models() -> Vec<ModelDescription> {
    MODEL_TYPES
        .iter()
        .map(|t| ModelDescription {
            name: t.name.to_string(),
            doc: t.doc.to_string(),
            params: t
                .spec
                .iter()
                .map(|p| {
                    let (kind, min, min_exclusive, max, values) = match p.kind {
                        Kind::Int { min, max } => (
                            "int",
                            Some(min as f64),
                            None,
                            (max < i64::MAX).then_some(max as f64),
                            None,
                        ),
                        Kind::Float {
                            min,
                            min_exclusive,
                            max,
                        } => (
                            "float",
                            Some(min),
                            Some(min_exclusive),
                            max.is_finite().then_some(max),
                            None,
                        ),
                        Kind::Bool => ("bool", None, None, None, None),
                        Kind::Choice(v) => (
                            "choice",
                            None,
                            None,
                            None,
                            Some(v.iter().map(|s| s.to_string()).collect()),
                        ),
                    };
                    ParamDescription {
                        name: p.name.to_string(),
                        kind: kind.to_string(),
                        min,
                        min_exclusive,
                        max,
                        values,
                        default: match p.default {
                            D::Num(v) => Either3::A(v),
                            D::Bool(v) => Either3::B(v),
                            D::Str(v) => Either3::C(v.to_string()),
                        },
                        doc: p.doc.to_string(),
                    }
                })
                .collect(),
        })
        .collect()
}

/// A saved model back from its type, params (as saved), arrays and the id maps' sizes; every
/// array's shape is checked against the params and sizes.
#[napi]
pub fn load_model(
    type_name: String,
    params: Option<Object>,
    arrays: Vec<ModelArray>,
    n_users: f64,
    n_items: f64,
) -> Result<ModelHandle> {
    let t = model_type(&type_name).map_err(to_napi)?;
    let n_users = cf_core::args::count("nUsers", n_users, 0).map_err(to_napi)?;
    let n_items = cf_core::args::count("nItems", n_items, 0).map_err(to_napi)?;
    let arrays = arrays
        .into_iter()
        .map(|a| NamedArray {
            name: a.name,
            shape: a.shape.iter().map(|&d| d as usize).collect(),
            data: a.data.to_vec(),
        })
        .collect();
    let model = (t.load)(raw_params(params)?, arrays, n_users, n_items).map_err(to_napi)?;
    Ok(ModelHandle::new(model))
}

/// A checkpoint of a model mid-fit: the state its next iteration reads (see `resumeModel`).
#[napi]
pub fn model_train_state(model: &ModelHandle) -> Result<Buffer> {
    let m = model.shared.read();
    let state = m.train_state().ok_or_else(|| {
        invalid(
            "model",
            format!(
                "a {} model is fitted in one step: it has no checkpoint",
                m.type_name()
            ),
        )
    })?;
    Ok(state.encode().into())
}

/// A model mid-fit rebuilt from its type, params and checkpoint (`modelTrainState`), for
/// the training matrix its fit goes on with; the checkpoint is checked (checksum, type,
/// every array's shape against the params and the matrix) before anything is rebuilt.
#[napi]
pub fn resume_model(
    type_name: String,
    params: Option<Object>,
    train: &Matrix,
    state: Buffer,
) -> Result<ModelHandle> {
    let t = model_type(&type_name).map_err(to_napi)?;
    let resume = t.resume.ok_or_else(|| {
        invalid(
            "type",
            format!("a {type_name} model is fitted in one step: there is nothing to resume"),
        )
    })?;
    let state = cf_core::checkpoint::TrainState::decode(&state).map_err(to_napi)?;
    let model = resume(raw_params(params)?, state, &train.csr).map_err(to_napi)?;
    Ok(ModelHandle::new(model))
}

/// Params of `type` checked by the core and completed with its defaults (snake_case): what
/// a fit of that type would use, or the error it would raise.
#[napi(ts_return_type = "Record<string, number | boolean | string>")]
pub fn resolve_params<'env>(
    env: &'env Env,
    type_name: String,
    params: Option<Object>,
) -> Result<Object<'env>> {
    let t = model_type(&type_name).map_err(to_napi)?;
    let raw = raw_params(params)?;
    let values = cf_core::params::resolve(t.spec, raw.iter().map(|(k, v)| (k.as_str(), v.clone())))
        .map_err(to_napi)?;
    let mut o = Object::new(env).map_err(|e| crate::error::napi_arg("params", e))?;
    for (k, v) in values.iter() {
        crate::model::set_value(&mut o, k, v).map_err(|e| crate::error::napi_arg(k, e))?;
    }
    Ok(o)
}
