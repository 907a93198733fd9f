//! Standard MIDI files to notes, the way muspy 0.5's `read_midi` (mido backend) does it.

use crate::{Error, Result};
use std::collections::VecDeque;
use std::path::Path;

use midly::{MetaMessage, MidiMessage, Timing, TrackEventKind};

/// One note: onset and duration in the file's ticks, MIDI pitch and velocity.
///
/// Field order is muspy's sort order: notes sort by time, then pitch, duration and velocity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Note {
    /// Onset, in ticks from the start of the file.
    pub time: u64,
    /// MIDI pitch, 0–127.
    pub pitch: u8,
    /// Length in ticks; zero when the note-off shares the note-on's tick.
    pub duration: u64,
    /// Note-on velocity, 1–127 for parsed notes (decoding may give 0).
    pub velocity: u8,
}

impl Note {
    /// The tick of the note-off.
    pub fn end(&self) -> u64 {
        self.time + self.duration
    }
}

/// The notes of one MIDI file with the resolution their ticks are in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Performance {
    /// Ticks per quarter note, from the file header.
    pub ticks_per_quarter: u16,
    /// Every closed note of every track, sorted as muspy sorts them.
    pub notes: Vec<Note>,
}

/// Reads a MIDI file's notes; see [`parse_midi`] for the rules.
pub fn read_midi(path: &Path) -> Result<Performance> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_midi(&bytes, path)
}

/// Parses the bytes of a MIDI file; `path` only names the file in errors.
///
/// midly parses the bytes (formats 0 and 1, running status; like mido, not
/// RIFF-wrapped files). The note logic follows muspy's `from_mido`, so that tokens
/// built on these notes agree with muspy's:
/// - times stay in the file's ticks; all tracks and channels are merged;
/// - a note-on with velocity 0 is a note-off; a note-off with no open note is ignored;
/// - overlapping notes of one pitch on one channel of one track close first in, first out;
/// - a note still open when its track ends is closed at the track's last event time
///   (muspy 0.5 does this; it does not drop the note);
/// - the sustain pedal and every other controller are ignored;
/// - events after a track's end-of-track are checked but not used;
/// - running status survives meta events, as in mido (midly alone resets it); a
///   sysex or escape event resets it.
///
/// A truncated or malformed file is an [`Error::Midi`] with the byte offset of the
/// chunk or event that failed to parse.
pub fn parse_midi(bytes: &[u8], path: &Path) -> Result<Performance> {
    let fail = |offset: usize, problem: String| Error::Midi {
        path: path.to_path_buf(),
        offset: Some(offset),
        problem,
    };
    // The slices midly hands back are suffixes of parts of `bytes`, so their start
    // pointer gives the byte offset without midly having to track it. (Only after
    // an error does midly substitute an unrelated empty slice; that reads as the end.)
    let offset_of = |rest: &[u8]| {
        (rest.as_ptr() as usize)
            .checked_sub(bytes.as_ptr() as usize)
            .filter(|&offset| offset <= bytes.len())
            .unwrap_or(bytes.len())
    };

    // mido reads only plain Standard MIDI Files, not RIFF-wrapped ones.
    if !bytes.starts_with(b"MThd") {
        return Err(fail(0, "not a Standard MIDI File (no MThd header)".into()));
    }
    // SMPTE timing is rejected here, before midly, which overflows negating a
    // frame rate of -128 (a panic in debug builds).
    let header_len = bytes
        .get(4..8)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    if header_len.is_some_and(|len| len >= 6) && bytes.get(12).is_some_and(|b| b & 0x80 != 0) {
        return Err(fail(
            12,
            "SMPTE timing is not supported (muspy needs ticks per quarter note)".into(),
        ));
    }
    let (header, mut tracks) = midly::parse(bytes).map_err(|e| fail(0, describe(&e)))?;
    let ticks_per_quarter = match header.timing {
        Timing::Metrical(t) if t.as_int() > 0 => t.as_int(),
        Timing::Metrical(_) => return Err(fail(12, "ticks per quarter note is 0".into())),
        Timing::Timecode(..) => return Err(fail(12, "SMPTE timing is not supported".into())),
    };
    if header.format == midly::Format::Sequential {
        return Err(fail(
            8,
            "format 2 (sequential tracks) is not supported".into(),
        ));
    }
    // Like mido, read exactly the tracks the header declares.
    let declared = tracks.size_hint().0;

    let mut notes = Vec::new();
    // Open notes per (channel, pitch): onset and velocity, oldest first.
    let mut open: Vec<VecDeque<(u64, u8)>> = vec![VecDeque::new(); 16 * 128];
    for index in 0..declared {
        let chunk_at = offset_of(tracks.unread());
        let mut events = match tracks.next() {
            Some(Ok(events)) => events,
            Some(Err(e)) => return Err(fail(chunk_at, format!("track {index}: {}", describe(&e)))),
            None => {
                return Err(fail(
                    chunk_at,
                    format!(
                        "the header declares {declared} tracks but the file ends after {index}"
                    ),
                ))
            }
        };
        let mut time = 0u64;
        let mut ended = false;
        let mut status: Option<u8> = None;
        loop {
            let rest = events.unread();
            if rest.is_empty() {
                break;
            }
            let at = offset_of(rest);
            *events.running_status_mut() = status;
            let event = match events.next() {
                Some(Ok(event)) => event,
                Some(Err(e)) => return Err(fail(at, format!("track {index}: {}", describe(&e)))),
                None => break,
            };
            status = match event.kind {
                TrackEventKind::Midi { .. } => events.running_status(),
                TrackEventKind::Meta(_) => status,
                TrackEventKind::SysEx(_) | TrackEventKind::Escape(_) => None,
            };
            if ended {
                continue;
            }
            time += u64::from(event.delta.as_int());
            match event.kind {
                TrackEventKind::Midi { channel, message } => {
                    let (pitch, velocity) = match message {
                        MidiMessage::NoteOn { key, vel } => (key.as_int(), vel.as_int()),
                        MidiMessage::NoteOff { key, .. } => (key.as_int(), 0),
                        _ => continue,
                    };
                    let slot = &mut open[usize::from(channel.as_int()) * 128 + usize::from(pitch)];
                    if velocity > 0 {
                        slot.push_back((time, velocity));
                    } else if let Some((onset, velocity)) = slot.pop_front() {
                        notes.push(Note {
                            time: onset,
                            pitch,
                            duration: time - onset,
                            velocity,
                        });
                    }
                }
                TrackEventKind::Meta(MetaMessage::EndOfTrack) => ended = true,
                _ => {}
            }
        }
        for (key, slot) in open.iter_mut().enumerate() {
            for (onset, velocity) in slot.drain(..) {
                notes.push(Note {
                    time: onset,
                    pitch: (key % 128) as u8,
                    duration: time - onset,
                    velocity,
                });
            }
        }
    }
    notes.sort_unstable();
    Ok(Performance {
        ticks_per_quarter,
        notes,
    })
}

/// midly's message with its causes, outermost first.
fn describe(error: &midly::Error) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        parts.push(match e.kind() {
            midly::ErrorKind::Invalid(m) | midly::ErrorKind::Malformed(m) => m,
        });
        next = e.source();
    }
    parts.join(": ")
}
