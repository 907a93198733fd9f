//! The run-file reader with its hash checks: any bytes under a run file's
//! name are a verified run or an error, never a panic. Every input is
//! written under one name (the HDF5 metadata checksums bind the bytes, not
//! the name), in a scratch directory of this process's own.
#![no_main]

use initlab_analysis::verify_run_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let dir = std::env::temp_dir()
        .join(format!("initlab-libfuzzer-{}", std::process::id()))
        .join("runs");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join("00000000000000aa.h5");
    std::fs::write(&path, bytes).expect("scratch file");
    let _ = verify_run_file(&path);
});
