/// Core errors cross as `[CODE] message`; the TS layer turns the prefix into `err.code`.
pub fn to_napi(e: cf_core::Error) -> napi::Error {
    napi::Error::from_reason(format!("[{}] {}", e.code(), e))
}

pub fn invalid(name: &str, message: impl Into<String>) -> napi::Error {
    to_napi(cf_core::Error::param(name, message))
}
