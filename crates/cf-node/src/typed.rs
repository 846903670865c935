//! Typed arrays for answers: ids and scores handed to JS by copy when they are short.
//!
//! napi-rs turns a `Uint32Array` made from a Vec into an external ArrayBuffer: V8 registers
//! the backing store, keeps a weak handle and later runs a finalizer, per array. For the 10 ids
//! and 10 scores of a top-k answer that cost more than the copy (a profile of single-user
//! `recommend` calls had it at a third of the binding's own time), so short arrays are copied
//! into a buffer V8 allocates; long ones (a batch's lists, factor rows) stay external.

use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;

/// Arrays up to this many bytes are copied.
const COPY_MAX_BYTES: usize = 16 * 1024;

/// A `Uint32Array` in JS.
pub struct U32s(pub Vec<u32>);

/// A `Float32Array` in JS.
pub struct F32s(pub Vec<f32>);

/// # Safety
/// `env` is the current call's environment; `kind` matches `T`'s width and kind.
unsafe fn copied<T: Copy>(
    env: sys::napi_env,
    data: &[T],
    kind: sys::napi_typedarray_type,
) -> Result<sys::napi_value> {
    let bytes = std::mem::size_of_val(data);
    let mut buf: *mut std::ffi::c_void = ptr::null_mut();
    let mut ab = ptr::null_mut();
    check_status!(
        unsafe { sys::napi_create_arraybuffer(env, bytes, &mut buf, &mut ab) },
        "could not allocate an ArrayBuffer of {bytes} bytes"
    )?;
    if bytes > 0 {
        // SAFETY: `buf` is a fresh allocation of `bytes` bytes, `data` spans `bytes` bytes.
        unsafe { ptr::copy_nonoverlapping(data.as_ptr().cast::<u8>(), buf.cast::<u8>(), bytes) };
    }
    let mut out = ptr::null_mut();
    check_status!(
        unsafe { sys::napi_create_typedarray(env, kind, data.len(), ab, 0, &mut out) },
        "could not create a typed array"
    )?;
    Ok(out)
}

impl ToNapiValue for U32s {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        if std::mem::size_of_val(&val.0[..]) > COPY_MAX_BYTES {
            return unsafe { Uint32Array::to_napi_value(env, Uint32Array::new(val.0)) };
        }
        unsafe { copied(env, &val.0, sys::TypedarrayType::uint32_array) }
    }
}

impl ToNapiValue for F32s {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        if std::mem::size_of_val(&val.0[..]) > COPY_MAX_BYTES {
            return unsafe { Float32Array::to_napi_value(env, Float32Array::new(val.0)) };
        }
        unsafe { copied(env, &val.0, sys::TypedarrayType::float32_array) }
    }
}

impl TypeName for U32s {
    fn type_name() -> &'static str {
        "Uint32Array"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl TypeName for F32s {
    fn type_name() -> &'static str {
        "Float32Array"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}
