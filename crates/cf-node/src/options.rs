//! Option objects from JS, read key by key: unknown keys are errors with a "did you mean",
//! and each value must have the type its key needs. `undefined` and `null` mean "absent".

use cf_core::params::{unknown_key, Value};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;

use crate::error::{invalid, napi_arg, to_napi, Result};
use crate::matrix::Matrix;

pub struct Opts<'env> {
    obj: Option<Object<'env>>,
    /// The object's own enumerable keys (the only ones `new` accepts as options): a key
    /// not among them answers None without a property read, which costs a string and a
    /// lookup across the boundary (six of them per `recommend(u, { k })` before).
    present: Vec<String>,
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Number => "a number",
        ValueType::String => "a string",
        ValueType::Boolean => "a boolean",
        ValueType::Object => "an object",
        ValueType::Function => "a function",
        ValueType::BigInt => "a bigint",
        ValueType::Symbol => "a symbol",
        _ => "another type",
    }
}

impl<'env> Opts<'env> {
    /// The options object of a call that accepts `allowed` keys (camelCase).
    pub fn new(obj: Option<Object<'env>>, allowed: &[&str]) -> Result<Self> {
        let mut present = Vec::new();
        if let Some(o) = &obj {
            for key in Object::keys(o).map_err(|e| napi_arg("options", e))? {
                if !allowed.contains(&key.as_str()) {
                    let known: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
                    return Err(to_napi(unknown_key(&key, &known)));
                }
                present.push(key);
            }
        }
        Ok(Opts { obj, present })
    }

    fn get(&self, key: &str) -> Result<Option<Unknown<'env>>> {
        let Some(o) = &self.obj else { return Ok(None) };
        if !self.present.iter().any(|k| k == key) {
            return Ok(None);
        }
        let v: Unknown = o.get_named_property(key).map_err(|e| napi_arg(key, e))?;
        match v.get_type().map_err(|e| napi_arg(key, e))? {
            ValueType::Undefined | ValueType::Null => Ok(None),
            _ => Ok(Some(v)),
        }
    }

    fn expect(key: &str, v: &Unknown, t: ValueType, what: &str) -> Result<()> {
        let got = v.get_type().map_err(|e| napi_arg(key, e))?;
        if got != t {
            return Err(invalid(
                key,
                format!("must be {what} (got {})", type_name(got)),
            ));
        }
        Ok(())
    }

    pub fn number(&self, key: &str) -> Result<Option<f64>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        Self::expect(key, &v, ValueType::Number, "a number")?;
        // SAFETY: the type was checked just above.
        unsafe { v.cast::<f64>() }
            .map(Some)
            .map_err(|e| napi_arg(key, e))
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        Self::expect(key, &v, ValueType::Boolean, "true or false")?;
        // SAFETY: the type was checked just above.
        unsafe { v.cast::<bool>() }
            .map(Some)
            .map_err(|e| napi_arg(key, e))
    }

    pub fn matrix(&self, key: &str) -> Result<Option<ClassInstance<'env, Matrix>>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        Self::expect(key, &v, ValueType::Object, "a Matrix")?;
        // SAFETY: an object; ClassInstance checks that it wraps a Matrix.
        unsafe { v.cast::<ClassInstance<Matrix>>() }
            .map(Some)
            .map_err(|_| {
                invalid(
                    key,
                    "must be a Matrix (from matrixFromCoo, a split or a model's train)",
                )
            })
    }

    /// A Float32Array (numbers arrays are converted by the TS layer).
    pub fn f32s(&self, key: &str) -> Result<Option<Vec<f32>>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        // SAFETY: Float32Array's conversion checks the typed array's kind.
        unsafe { v.cast::<Float32Array>() }
            .map(|a| Some(a.to_vec()))
            .map_err(|_| invalid(key, "must be a Float32Array"))
    }

    /// A Uint32Array of indices (number arrays are converted and checked by the TS layer).
    pub fn u32s(&self, key: &str) -> Result<Option<Vec<u32>>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        // SAFETY: Uint32Array's conversion checks the typed array's kind.
        unsafe { v.cast::<Uint32Array>() }
            .map(|a| Some(a.to_vec()))
            .map_err(|_| invalid(key, "must be a Uint32Array of indices"))
    }

    pub fn string(&self, key: &str) -> Result<Option<String>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        Self::expect(key, &v, ValueType::String, "a string")?;
        // SAFETY: the type was checked just above.
        unsafe { v.cast::<String>() }
            .map(Some)
            .map_err(|e| napi_arg(key, e))
    }

    /// An array of strings (ids), converted in one pass here rather than row by row in JS.
    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        // SAFETY: Vec's conversion checks for an array and each element's type.
        unsafe { v.cast::<Vec<String>>() }
            .map(Some)
            .map_err(|_| invalid(key, "must be an array of strings"))
    }

    /// A function called from worker threads with `Args` (never waited on).
    pub fn callback<Args: JsValuesTupleIntoVec + 'static>(
        &self,
        key: &str,
    ) -> Result<Option<ThreadsafeFunction<Args, Unknown<'static>, Args, Status, false>>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        Self::expect(key, &v, ValueType::Function, "a function")?;
        // SAFETY: the type was checked just above.
        let f = unsafe { v.cast::<Function<Args, Unknown>>() }.map_err(|e| napi_arg(key, e))?;
        f.build_threadsafe_function::<Args>()
            .callee_handled::<false>()
            .build()
            .map(Some)
            .map_err(|e| napi_arg(key, e))
    }

    /// One number or an array of numbers.
    pub fn numbers(&self, key: &str) -> Result<Option<Vec<f64>>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        if v.get_type().map_err(|e| napi_arg(key, e))? == ValueType::Number {
            // SAFETY: checked to be a number.
            return Ok(Some(vec![
                unsafe { v.cast::<f64>() }.map_err(|e| napi_arg(key, e))?
            ]));
        }
        // SAFETY: Vec's conversion checks for an array and each element's type.
        unsafe { v.cast::<Vec<f64>>() }
            .map(Some)
            .map_err(|_| invalid(key, "must be a number or an array of numbers"))
    }
}

/// Model parameters as raw pairs for the core's checks (`params::resolve`): numbers,
/// booleans and strings pass; anything else is an error naming the key.
pub fn raw_params(obj: Option<Object>) -> Result<Vec<(String, Value)>> {
    let Some(o) = obj else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for key in Object::keys(&o).map_err(|e| napi_arg("params", e))? {
        let v: Unknown = o.get_named_property(&key).map_err(|e| napi_arg(&key, e))?;
        // SAFETY (each cast): the value's type was read just before.
        let value = match v.get_type().map_err(|e| napi_arg(&key, e))? {
            ValueType::Undefined | ValueType::Null => continue,
            ValueType::Number => {
                Value::Num(unsafe { v.cast::<f64>() }.map_err(|e| napi_arg(&key, e))?)
            }
            ValueType::Boolean => {
                Value::Bool(unsafe { v.cast::<bool>() }.map_err(|e| napi_arg(&key, e))?)
            }
            ValueType::String => Value::Str(
                unsafe { v.cast::<String>() }
                    .map_err(|e| napi_arg(&key, e))?
                    .into(),
            ),
            t => {
                return Err(invalid(
                    &key,
                    format!("must be a number, boolean or string (got {})", type_name(t)),
                ))
            }
        };
        out.push((key, value));
    }
    Ok(out)
}
