//! Notes to event tokens and back, exactly as muspy 0.5's `to_event_representation`
//! and `from_event_representation`.

use super::midi::Note;
use crate::{Error, Result};

/// The largest `max_time_shift` or `velocity_bins` accepted, so that every token id
/// fits comfortably in a `u32`.
const MAX_OPTION: u32 = 1 << 20;

/// muspy's `DEFAULT_VELOCITY`: the velocity of decoded notes before any velocity event.
pub const DEFAULT_VELOCITY: u8 = 64;

/// The options of muspy 0.5's `to_event_representation`, with its defaults.
///
/// Token ids, with `s = 129` if `use_single_note_off_event` else `256`:
///
/// | ids | event |
/// |---|---|
/// | 0–127 | note-on, by pitch |
/// | 128–255 | note-off, by pitch (only 128 with `use_single_note_off_event`: closes every note) |
/// | `s` … `s + max_time_shift − 1` | time-shift of 1 … `max_time_shift` ticks |
/// | `s + max_time_shift` + bin | velocity bin, `⌊velocity · velocity_bins / 128⌋` |
/// | `s + max_time_shift + velocity_bins` | end of sequence |
///
/// With the defaults that is note-on 0–127, note-off 128–255, time-shift 256–355 and,
/// when velocity is encoded, velocity 356–387. A rest longer than `max_time_shift`
/// becomes several time-shift events: as many full shifts as fit, then the remainder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventOptions {
    /// One note-off event (128) closes every sounding note: lossy for polyphony.
    pub use_single_note_off_event: bool,
    /// Append the end-of-sequence event (and accept a file without notes).
    pub use_end_of_sequence_event: bool,
    /// Emit velocity events before note-ons.
    pub encode_velocity: bool,
    /// With `encode_velocity`, a velocity event before every note-on; otherwise only
    /// when the quantized velocity changes.
    pub force_velocity_event: bool,
    /// The longest rest, in ticks, one time-shift event encodes (at least 1).
    pub max_time_shift: u32,
    /// Number of velocity bins (at least 1).
    pub velocity_bins: u32,
}

impl Default for EventOptions {
    /// muspy's defaults, which are also the study's: no velocity, 100-tick shifts.
    fn default() -> Self {
        EventOptions {
            use_single_note_off_event: false,
            use_end_of_sequence_event: false,
            encode_velocity: false,
            force_velocity_event: true,
            max_time_shift: 100,
            velocity_bins: 32,
        }
    }
}

impl EventOptions {
    /// Checks that `max_time_shift` and `velocity_bins` are in 1..=2²⁰.
    pub fn validate(&self) -> Result<()> {
        for (name, value) in [
            ("max_time_shift", self.max_time_shift),
            ("velocity_bins", self.velocity_bins),
        ] {
            if !(1..=MAX_OPTION).contains(&value) {
                return Err(Error::Invalid(format!(
                    "event options: {name} is {value}, must be in 1..={MAX_OPTION}"
                )));
            }
        }
        Ok(())
    }

    /// Id of the first note-off event.
    pub fn note_off_offset(&self) -> u32 {
        128
    }

    /// Id of the one-tick time shift.
    pub fn time_shift_offset(&self) -> u32 {
        if self.use_single_note_off_event {
            129
        } else {
            256
        }
    }

    /// Id of velocity bin 0.
    pub fn velocity_offset(&self) -> u32 {
        self.time_shift_offset() + self.max_time_shift
    }

    /// Id of the end-of-sequence event, when it is used.
    pub fn end_of_sequence(&self) -> Option<u32> {
        self.use_end_of_sequence_event
            .then(|| self.velocity_offset() + self.velocity_bins)
    }

    /// One past the largest id these options can emit: the number of event tokens.
    ///
    /// Without velocity and end-of-sequence this stops before the velocity block,
    /// so the study's options give 356 and its vocabulary adds three specials on top.
    pub fn event_count(&self) -> u32 {
        match (self.use_end_of_sequence_event, self.encode_velocity) {
            (true, _) => self.velocity_offset() + self.velocity_bins + 1,
            (false, true) => self.velocity_offset() + self.velocity_bins,
            (false, false) => self.velocity_offset(),
        }
    }

    /// Velocity bin of a MIDI velocity, muspy's `int(velocity * bins / 128)`.
    pub fn velocity_bin(&self, velocity: u8) -> u32 {
        // Dividing by 128 is exact in floating point, so integer division agrees with muspy.
        (u64::from(velocity) * u64::from(self.velocity_bins) / 128) as u32
    }

    /// Encodes notes as muspy 0.5's `to_event_representation` does.
    ///
    /// Notes are sorted by (time, pitch, duration, velocity); each gives its optional
    /// velocity event and its note-on at the onset and its note-off at the end; these
    /// are then stably sorted by time alone, so at one tick events keep note order (a
    /// note that ends where the next one of its pitch starts is closed first). Like
    /// muspy, an empty note list is an error unless end-of-sequence is used.
    pub fn encode(&self, notes: &[Note]) -> Result<Vec<u32>> {
        self.validate()?;
        if notes.is_empty() && !self.use_end_of_sequence_event {
            return Err(Error::Invalid("no notes to encode".into()));
        }
        let mut sorted;
        let notes = if notes.windows(2).all(|w| w[0] <= w[1]) {
            notes
        } else {
            sorted = notes.to_vec();
            sorted.sort_unstable();
            &sorted
        };

        let velocity_offset = self.velocity_offset();
        let mut timed: Vec<(u64, u32)> = Vec::with_capacity(notes.len() * 3);
        let mut last_bin = None;
        for note in notes {
            if self.encode_velocity {
                let bin = self.velocity_bin(note.velocity);
                if self.force_velocity_event || last_bin != Some(bin) {
                    timed.push((note.time, velocity_offset + bin));
                }
                last_bin = Some(bin);
            }
            timed.push((note.time, u32::from(note.pitch)));
            let off = if self.use_single_note_off_event {
                self.note_off_offset()
            } else {
                self.note_off_offset() + u32::from(note.pitch)
            };
            timed.push((note.end(), off));
        }
        // Stable, like Python's `list.sort(key=itemgetter(0))`.
        timed.sort_by_key(|&(time, _)| time);

        let shift = u64::from(self.max_time_shift);
        let longest = self.time_shift_offset() + self.max_time_shift - 1;
        let mut tokens = Vec::with_capacity(timed.len() + timed.len() / 2);
        let mut cursor = 0u64;
        for (time, code) in timed {
            if time > cursor {
                let gap = time - cursor;
                let (full, rest) = (gap / shift, gap % shift);
                tokens.extend(std::iter::repeat_n(longest, full as usize));
                if rest > 0 {
                    tokens.push(self.time_shift_offset() + rest as u32 - 1);
                }
                cursor = time;
            }
            tokens.push(code);
        }
        tokens.extend(self.end_of_sequence());
        Ok(tokens)
    }

    /// Decodes tokens as muspy 0.5's `from_event_representation` does (FIFO duplicates).
    ///
    /// Ids at or past muspy's vocabulary size are skipped and decoding stops at the
    /// end-of-sequence event. As in muspy, the velocity block is read even when
    /// `encode_velocity` is off, bin `b` gives velocity `⌊b · 128 / velocity_bins⌋`
    /// (so bin 0 gives 0), and notes still open at the end are dropped.
    pub fn decode(&self, tokens: &[u32]) -> Result<Vec<Note>> {
        self.validate()?;
        let time_shift = self.time_shift_offset();
        let velocity_offset = self.velocity_offset();
        let vocab =
            velocity_offset + self.velocity_bins + u32::from(self.use_end_of_sequence_event);
        let factor = 128.0 / f64::from(self.velocity_bins);

        let mut notes = Vec::new();
        let mut open: Vec<std::collections::VecDeque<Note>> = vec![Default::default(); 128];
        let mut time = 0u64;
        let mut velocity = DEFAULT_VELOCITY;
        for &token in tokens {
            if token >= vocab {
                continue;
            }
            if Some(token) == self.end_of_sequence() {
                break;
            }
            if token < 128 {
                open[token as usize].push_back(Note {
                    time,
                    pitch: token as u8,
                    duration: 0,
                    velocity,
                });
            } else if token < time_shift {
                if self.use_single_note_off_event {
                    for slot in &mut open {
                        notes.extend(slot.drain(..).map(|n| Note {
                            duration: time - n.time,
                            ..n
                        }));
                    }
                } else if let Some(n) = open[(token - 128) as usize].pop_front() {
                    notes.push(Note {
                        duration: time - n.time,
                        ..n
                    });
                }
            } else if token < velocity_offset {
                time += u64::from(token - time_shift + 1);
            } else {
                // Python's int() of a float, then muspy's Note holds it as an int.
                let v = (f64::from(token - velocity_offset) * factor) as u64;
                velocity = v.min(127) as u8;
            }
        }
        notes.sort_unstable();
        Ok(notes)
    }
}
