//! The IDX readers behind gzip: the first byte chooses whether the rest is
//! the IDX bytes (gzipped here, so the fuzzer reaches past the CRC) or the
//! gzip file itself. An accepted image file must hold count × rows × cols
//! pixels, the size its callers index by.
#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let (how, rest) = input.split_first().unwrap_or((&0, &[]));
    let file = if how % 2 == 0 {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
        gz.write_all(rest).expect("gzip to memory");
        gz.finish().expect("gzip to memory")
    } else {
        rest.to_vec()
    };
    let dir = std::env::temp_dir().join(format!("initlab-libfuzzer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join("input.gz");
    std::fs::write(&path, &file).expect("scratch file");
    if let Ok((pixels, n, rows, cols)) = initlab_data::mnist::read_idx_images(&path) {
        let claimed = n.checked_mul(rows).and_then(|x| x.checked_mul(cols));
        assert_eq!(claimed, Some(pixels.len()), "{n} images of {rows}×{cols}");
    }
    let _ = initlab_data::mnist::read_idx_labels(&path);
});
