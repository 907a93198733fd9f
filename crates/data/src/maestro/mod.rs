/*!
MAESTRO piano performances as event tokens, for the LSTM study.

The pipeline is muspy 0.5's, reimplemented so that it agrees with muspy token for
token (checked on every file of the mirror by `tests/maestro_reference.rs`):

1. [`read_midi`] parses a Standard MIDI file with midly into [`Note`]s, following
   muspy's `read_midi` ([`parse_midi`] lists the rules: ticks kept, velocity-0
   note-ons are note-offs, same-pitch overlaps close first in, first out).
2. [`EventOptions::encode`] turns notes into muspy's event tokens
   (`to_event_representation`, every option), and [`EventOptions::decode`] back.
3. [`Vocabulary`] adds start, end and pad after the event tokens: 359 tokens for the
   study's options, with start = 356, end = 357, pad = 358.
4. [`Maestro::load`] tokenizes a whole tree, splits it ([`SplitScheme`]) and skips
   bad files with a report; [`Windows`] are the study's 32-token windows.
5. [`write_midi`] writes decoded notes as a MIDI file to listen to.

# Example
```
use initlab_data::maestro::{EventOptions, Note, Vocabulary};

let notes = [
    Note { time: 0, pitch: 60, duration: 150, velocity: 80 },
    Note { time: 0, pitch: 64, duration: 50, velocity: 80 },
];
// note-on 60, note-on 64, shift 50, note-off 64, shift 100, note-off 60
assert_eq!(EventOptions::default().encode(&notes)?, [60, 64, 305, 192, 355, 188]);
let vocabulary = Vocabulary::study();
assert_eq!((vocabulary.start(), vocabulary.end(), vocabulary.pad()), (356, 357, 358));
assert_eq!(vocabulary.size(), 359);
assert_eq!(vocabulary.decode(&vocabulary.encode(&notes)?)?.len(), 2);
# Ok::<(), initlab_data::Error>(())
```
*/

mod dataset;
mod events;
mod metadata;
mod midi;
mod vocab;
mod write;

pub use self::dataset::{
    Maestro, Piece, Skipped, SplitScheme, Window, Windows, STUDY_WINDOW, STUDY_YEAR,
};
pub use self::events::{EventOptions, DEFAULT_VELOCITY};
pub use self::midi::{parse_midi, read_midi, Note, Performance};
pub use self::vocab::Vocabulary;
pub use self::write::{encode_midi, write_midi, MidiWriteOptions};
pub use crate::Split;

use crate::{Error, Result};
use std::path::Path;

/// Reads a MIDI file and encodes it with muspy's options (no start or end token):
/// what `cargo xtask tokenize` prints.
pub fn tokenize_file(path: &Path, options: &EventOptions) -> Result<Vec<u32>> {
    let performance = read_midi(path)?;
    options.encode(&performance.notes).map_err(|e| match e {
        Error::Invalid(problem) => Error::Invalid(format!("{}: {problem}", path.display())),
        e => e,
    })
}
