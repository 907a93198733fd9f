//! The study-file reader: any text is a study or an error naming the file,
//! never a panic. Read as if it stood beside the real study files, so a
//! relative embedding path resolves as it would for a user's study.
#![no_main]

use std::path::PathBuf;

use initlab_train::Study;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../experiments/fuzz.toml"));
    let _ = Study::parse(&path, &text);
});
