//! Notes back to a Standard MIDI file, so that a model's samples can be listened to.

use super::midi::Note;
use crate::{Error, Result};
use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use std::path::Path;

/// How decoded notes are written: ticks are kept as they are, so the resolution and
/// tempo say how long a tick lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MidiWriteOptions {
    /// Ticks per quarter note; MAESTRO files use 384.
    pub ticks_per_quarter: u16,
    /// Tempo; MAESTRO files use 500 000 µs per quarter (120 bpm).
    pub microseconds_per_quarter: u32,
    /// General MIDI program of the one track; 0 is the acoustic grand piano.
    pub program: u8,
}

impl Default for MidiWriteOptions {
    /// MAESTRO's timing, so a tick lasts as long as in the training data (1/768 s).
    fn default() -> Self {
        MidiWriteOptions {
            ticks_per_quarter: 384,
            microseconds_per_quarter: 500_000,
            program: 0,
        }
    }
}

/// Encodes notes as a format-0 MIDI file on channel 0.
///
/// A note of velocity 0 (muspy's decoding of velocity bin 0) is written with
/// velocity 1, since a note-on of velocity 0 means note-off. At one tick,
/// note-offs come before note-ons, except that a zero-length note's off follows its
/// own on; reading the file back then gives the notes again whenever, per pitch,
/// notes end in the order they start.
pub fn encode_midi(notes: &[Note], options: &MidiWriteOptions) -> Result<Vec<u8>> {
    let invalid = |what: String| Error::Invalid(format!("writing MIDI: {what}"));
    let ticks = u15::try_from(options.ticks_per_quarter)
        .filter(|t| t.as_int() > 0)
        .ok_or_else(|| {
            invalid(format!(
                "ticks per quarter {} not in 1..=32767",
                options.ticks_per_quarter
            ))
        })?;
    let tempo = u24::try_from(options.microseconds_per_quarter).ok_or_else(|| {
        invalid(format!(
            "tempo {} µs does not fit 24 bits",
            options.microseconds_per_quarter
        ))
    })?;
    let program = u7::try_from(options.program)
        .ok_or_else(|| invalid(format!("program {} not in 0..=127", options.program)))?;

    // (time, rank, pitch, velocity): rank orders events at one tick.
    let mut sorted = notes.to_vec();
    sorted.sort_unstable();
    let mut timed: Vec<(u64, u8, u8, u8)> = Vec::with_capacity(notes.len() * 2);
    for note in &sorted {
        if note.pitch > 127 {
            return Err(invalid(format!("pitch {} not in 0..=127", note.pitch)));
        }
        let velocity = note.velocity.clamp(1, 127);
        timed.push((note.time, 1, note.pitch, velocity));
        let off_rank = if note.duration == 0 { 2 } else { 0 };
        timed.push((note.end(), off_rank, note.pitch, 0));
    }
    timed.sort_by_key(|&(time, rank, ..)| (time, rank));

    let channel = u4::new(0);
    let mut track = vec![
        TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::Tempo(tempo)),
        },
        TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Midi {
                channel,
                message: MidiMessage::ProgramChange { program },
            },
        },
    ];
    let mut last = 0u64;
    for (time, rank, pitch, velocity) in timed {
        let delta = u32::try_from(time - last)
            .ok()
            .and_then(u28::try_from)
            .ok_or_else(|| {
                invalid(format!(
                    "a rest of {} ticks does not fit a MIDI delta",
                    time - last
                ))
            })?;
        last = time;
        let key = u7::new(pitch);
        let message = if rank == 1 {
            MidiMessage::NoteOn {
                key,
                vel: u7::new(velocity),
            }
        } else {
            MidiMessage::NoteOff {
                key,
                vel: u7::new(0),
            }
        };
        track.push(TrackEvent {
            delta,
            kind: TrackEventKind::Midi { channel, message },
        });
    }
    track.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });

    let smf = Smf {
        header: Header::new(Format::SingleTrack, Timing::Metrical(ticks)),
        tracks: vec![track],
    };
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes)
        .map_err(|e| invalid(e.to_string()))?;
    Ok(bytes)
}

/// Writes notes to a MIDI file at `path` (see [`encode_midi`]).
pub fn write_midi(path: &Path, notes: &[Note], options: &MidiWriteOptions) -> Result<()> {
    let bytes = encode_midi(notes, options)?;
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}
