//! The MIDI reader, then the study vocabulary's encoding of what it read:
//! bad bytes must be an error, never a panic, an abort or a hang.
#![no_main]

use std::path::Path;

use initlab_data::maestro::{parse_midi, Vocabulary};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(performance) = parse_midi(bytes, Path::new("fuzz.mid")) {
        let _ = Vocabulary::study().encode(&performance.notes);
    }
});
