//! Core errors become JS errors whose `code` is the core's (`ERR_CF_*`), set from the error
//! variant, never parsed back from text: sync calls return `Result<T>` (below) whose status
//! is the code; async tasks keep the core error and build the JS error in `reject`.

use napi::bindgen_prelude::*;

/// The `code` a JS error carries.
#[derive(Clone, Copy, Debug)]
pub struct Code(pub &'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

pub type Result<T> = napi::Result<T, Code>;

pub fn to_napi(e: cf_core::Error) -> napi::Error<Code> {
    napi::Error::new(Code(e.code()), e.to_string())
}

pub fn invalid(name: &str, message: impl Into<String>) -> napi::Error<Code> {
    to_napi(cf_core::Error::param(name, message))
}

/// A napi failure (a conversion the runtime refused) as an ERR_CF_INVALID_ARG naming `what`.
pub fn napi_arg(what: &str, e: napi::Error) -> napi::Error<Code> {
    invalid(what, e.reason)
}

/// Work shared by an async method (`op`) and its sync twin (`opSync`): one `compute`.
pub trait Op: Send + Sized + 'static {
    type Output: Send + 'static;
    type Js: ToNapiValue + TypeName;
    fn compute(&mut self) -> cf_core::Result<Self::Output>;
    fn to_js(out: Self::Output) -> Self::Js;

    fn run_sync(mut self) -> Result<Self::Js> {
        self.compute().map(Self::to_js).map_err(to_napi)
    }

    fn run_async(self, signal: Option<AbortSignal>) -> AsyncTask<CoreTask<Self>> {
        AsyncTask::with_optional_signal(
            CoreTask {
                op: self,
                error: None,
            },
            signal,
        )
    }
}

/// An `Op` run on libuv's pool; a core error rejects with a JS error carrying its code.
pub struct CoreTask<O: Op> {
    op: O,
    error: Option<cf_core::Error>,
}

impl<O: Op> Task for CoreTask<O> {
    type Output = O::Output;
    type JsValue = O::Js;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        self.op.compute().map_err(|e| {
            let reason = e.to_string();
            self.error = Some(e);
            napi::Error::from_reason(reason)
        })
    }

    fn resolve(&mut self, _env: Env, out: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(O::to_js(out))
    }

    fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<Self::JsValue> {
        match self.error.take() {
            Some(e) => {
                let js = JsError::from(to_napi(e)).into_unknown(env);
                Err(napi::Error::from(js))
            }
            None => Err(err),
        }
    }
}
