//! The initializer-spec parser: any text is a scheme or an error, and a
//! scheme's canonical string parses back to the same canonical string.
#![no_main]

use initlab_init::Scheme;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(scheme) = text.parse::<Scheme>() {
        let canonical = scheme.to_string();
        let again: Scheme = canonical
            .parse()
            .unwrap_or_else(|e| panic!("`{canonical}` does not parse: {e}"));
        assert_eq!(again.to_string(), canonical);
    }
});
