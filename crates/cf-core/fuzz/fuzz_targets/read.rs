//! Arbitrary bytes as one delimited interaction file (plain, or gzipped by the harness when
//! option byte 5 says so; an input that is itself gzip goes through the loader's own
//! detection), with read and prepare options from the first bytes (see common.rs).
//! Every outcome must be a dataset with the engine's invariants or a coded one-line error.

#![no_main]

mod common;

use cf_core::data::prepare::Part;
use common::{check_dataset, check_error, load, options, OPTION_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < OPTION_BYTES {
        return;
    }
    let (head, file) = data.split_at(OPTION_BYTES);
    let opts = options(head.try_into().unwrap());
    match load(&[(Part::Train, file.to_vec())], &opts, false) {
        Ok(ds) => check_dataset(&ds, &opts, false),
        Err(e) => check_error(&e),
    }
});
