//! MAESTRO tokenizer tests that run anywhere: MIDI files written here with midly's
//! encoder (or by hand, for what the encoder will not write), tokens checked against
//! muspy 0.5's output for the same files.
//!
//! The expected tokens were produced by writing the files with
//! `INITLAB_SYNTHETIC_MIDI_DIR=DIR cargo test -p initlab-data --test maestro write_synthetic`
//! and running `scripts/muspy_reference.py --tokens DIR/NAME.mid --set SET` on each.

use initlab_data::maestro::{
    encode_midi, parse_midi, read_midi, tokenize_file, EventOptions, Maestro, MidiWriteOptions,
    Note, Split, SplitScheme, Vocabulary, Windows, STUDY_WINDOW,
};
use initlab_data::Error;
use midly::num::{u15, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use std::path::Path;

// ---------------------------------------------------------------------------------
// Writing MIDI files

type Event = (u32, TrackEventKind<'static>);

fn on(channel: u8, key: u8, vel: u8) -> TrackEventKind<'static> {
    TrackEventKind::Midi {
        channel: u4::new(channel),
        message: MidiMessage::NoteOn {
            key: u7::new(key),
            vel: u7::new(vel),
        },
    }
}

fn off(channel: u8, key: u8) -> TrackEventKind<'static> {
    TrackEventKind::Midi {
        channel: u4::new(channel),
        message: MidiMessage::NoteOff {
            key: u7::new(key),
            vel: u7::new(64),
        },
    }
}

fn pedal(channel: u8, value: u8) -> TrackEventKind<'static> {
    TrackEventKind::Midi {
        channel: u4::new(channel),
        message: MidiMessage::Controller {
            controller: u7::new(64),
            value: u7::new(value),
        },
    }
}

fn eot() -> TrackEventKind<'static> {
    TrackEventKind::Meta(MetaMessage::EndOfTrack)
}

/// A file from tracks of (absolute tick, event); midly's encoder uses running status.
fn smf(format: Format, ticks_per_quarter: u16, tracks: Vec<Vec<Event>>) -> Vec<u8> {
    let tracks = tracks
        .into_iter()
        .map(|events| {
            let mut last = 0;
            events
                .into_iter()
                .map(|(time, kind)| {
                    let delta = u28::new(time - last);
                    last = time;
                    TrackEvent { delta, kind }
                })
                .collect()
        })
        .collect();
    let smf = Smf {
        header: Header::new(format, Timing::Metrical(u15::new(ticks_per_quarter))),
        tracks,
    };
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes).unwrap();
    bytes
}

/// A format-0 file whose one track is `track` verbatim.
fn raw_smf(track: &[u8]) -> Vec<u8> {
    let mut bytes = b"MThd\0\0\0\x06\0\0\0\x01\0\x60MTrk".to_vec();
    bytes.extend((track.len() as u32).to_be_bytes());
    bytes.extend(track);
    bytes
}

/// The synthetic files, by name.
fn synthetic() -> Vec<(&'static str, Vec<u8>)> {
    let chord = smf(
        Format::SingleTrack,
        96,
        vec![vec![
            (0, on(0, 60, 100)),
            (0, on(0, 64, 90)),
            (0, on(0, 67, 80)),
            (48, off(0, 64)),
            // Velocity-0 note-ons, written with running status.
            (96, on(0, 60, 0)),
            (96, on(0, 67, 0)),
            (96, eot()),
        ]],
    );
    let overlap = smf(
        Format::SingleTrack,
        96,
        vec![vec![
            (0, on(0, 60, 70)),
            (10, on(0, 60, 90)),
            (20, off(0, 60)), // closes the first: 0–20
            (30, off(0, 60)), // closes the second: 10–30
            (30, on(0, 62, 64)),
            (30, off(0, 62)), // a zero-length note
            (35, off(0, 60)), // nothing open: ignored
            (40, on(0, 62, 64)),
            (50, on(0, 62, 30)),
            (60, on(0, 62, 0)), // closes 40–60; the one from 50 stays open…
            (80, eot()),        // …and muspy closes it here: 50–80
        ]],
    );
    let long_rest = smf(
        Format::SingleTrack,
        384,
        vec![vec![
            (0, on(0, 60, 64)),
            (250, off(0, 60)),
            (1484, on(0, 72, 100)),
            (1489, off(0, 72)),
            (1789, eot()),
        ]],
    );
    let tracks = smf(
        Format::Parallel,
        384,
        vec![
            vec![
                (0, TrackEventKind::Meta(MetaMessage::Tempo(500_000.into()))),
                (0, eot()),
            ],
            vec![
                (
                    0,
                    TrackEventKind::Midi {
                        channel: u4::new(0),
                        message: MidiMessage::ProgramChange {
                            program: u7::new(5),
                        },
                    },
                ),
                (0, pedal(0, 127)),
                (0, on(0, 60, 50)),
                (100, off(0, 60)),
                (150, pedal(0, 0)),
                (200, on(0, 61, 55)), // never closed in this track: muspy closes it at 500
                (500, eot()),
            ],
            vec![
                (50, on(1, 60, 40)),
                (60, on(0, 60, 45)),
                (70, off(1, 60)),  // channel 1's note: 50–70
                (90, off(0, 60)),  // channel 0's note: 60–90
                (250, off(0, 61)), // does not close track 1's note
                (260, eot()),
            ],
        ],
    );
    let velocities = smf(
        Format::SingleTrack,
        96,
        vec![[1u8, 4, 5, 63, 64, 100, 127, 127, 3, 3, 80]
            .iter()
            .enumerate()
            .flat_map(|(i, &v)| {
                let t = i as u32 * 7;
                [(t, on(0, 40 + i as u8, v)), (t + 5, off(0, 40 + i as u8))]
            })
            .chain([(100, eot())])
            .collect()],
    );
    // Running status that survives a meta event, as mido reads it: note-on 60,
    // then a text event, then `3C 00` (note-on 60 velocity 0) without a status byte.
    let running_status_meta = raw_smf(&[
        0x00, 0x90, 0x3C, 0x40, // on 60
        0x0A, 0xFF, 0x01, 0x03, b'a', b'b', b'c', // text at 10
        0x05, 0x3C, 0x00, // running status: off 60 at 15
        0x00, 0xFF, 0x2F, 0x00,
    ]);
    vec![
        ("chord", chord),
        ("overlap", overlap),
        ("long_rest", long_rest),
        ("tracks", tracks),
        ("velocities", velocities),
        ("running_status_meta", running_status_meta),
    ]
}

fn options(set: &str) -> EventOptions {
    let d = EventOptions::default();
    match set {
        "study" => d,
        "velocity" => EventOptions {
            encode_velocity: true,
            ..d
        },
        "velocity_changes" => EventOptions {
            encode_velocity: true,
            force_velocity_event: false,
            velocity_bins: 20,
            max_time_shift: 50,
            ..d
        },
        "single_off_eos" => EventOptions {
            use_single_note_off_event: true,
            use_end_of_sequence_event: true,
            max_time_shift: 1000,
            ..d
        },
        _ => panic!("unknown option set {set}"),
    }
}

fn tokens(name: &str, set: &str) -> Vec<u32> {
    let files = synthetic();
    let bytes = &files.iter().find(|(n, _)| *n == name).unwrap().1;
    let notes = parse_midi(bytes, Path::new(name)).unwrap().notes;
    options(set).encode(&notes).unwrap()
}

/// Writes the synthetic files for the muspy script when INITLAB_SYNTHETIC_MIDI_DIR is set.
#[test]
fn write_synthetic() {
    let Some(dir) = std::env::var_os("INITLAB_SYNTHETIC_MIDI_DIR") else {
        return;
    };
    for (name, bytes) in synthetic() {
        std::fs::write(Path::new(&dir).join(format!("{name}.mid")), bytes).unwrap();
    }
}

// ---------------------------------------------------------------------------------
// Tokens, checked against muspy 0.5

/// Each synthetic file under each vocabulary, against muspy's tokens: a
/// chord, overlapping notes of one pitch, a long rest, several tracks,
/// velocity bins, and running status after a meta event.
#[test]
fn tokens_match_muspy() {
    let cases: [(&str, &str, &[u32]); 12] = [
        ("chord", "study", &MUSPY_CHORD_STUDY),
        ("chord", "velocity", &MUSPY_CHORD_VELOCITY),
        ("overlap", "study", &MUSPY_OVERLAP_STUDY),
        ("overlap", "single_off_eos", &MUSPY_OVERLAP_SINGLE_OFF_EOS),
        ("long_rest", "study", &MUSPY_LONG_REST_STUDY),
        (
            "long_rest",
            "velocity_changes",
            &MUSPY_LONG_REST_VELOCITY_CHANGES,
        ),
        (
            "long_rest",
            "single_off_eos",
            &MUSPY_LONG_REST_SINGLE_OFF_EOS,
        ),
        ("tracks", "study", &MUSPY_TRACKS_STUDY),
        ("tracks", "velocity", &MUSPY_TRACKS_VELOCITY),
        ("velocities", "velocity", &MUSPY_VELOCITIES_VELOCITY),
        (
            "velocities",
            "velocity_changes",
            &MUSPY_VELOCITIES_VELOCITY_CHANGES,
        ),
        (
            "running_status_meta",
            "study",
            &MUSPY_RUNNING_STATUS_META_STUDY,
        ),
    ];
    for (file, vocabulary, expected) in cases {
        assert_eq!(
            tokens(file, vocabulary),
            expected,
            "{file} under {vocabulary}"
        );
    }
}

#[test]
fn no_notes_is_an_error_unless_end_of_sequence() {
    let bytes = smf(Format::SingleTrack, 96, vec![vec![(10, eot())]]);
    let notes = parse_midi(&bytes, Path::new("empty.mid")).unwrap().notes;
    assert!(notes.is_empty());
    assert!(EventOptions::default().encode(&notes).is_err());
    let eos = EventOptions {
        use_end_of_sequence_event: true,
        ..EventOptions::default()
    };
    // muspy: [offset_velocity + velocity_bins] = [256 + 100 + 32].
    assert_eq!(eos.encode(&notes).unwrap(), [388]);
}

// ---------------------------------------------------------------------------------
// Malformed files

/// The offset of a MIDI error, after checking that it names the file.
fn midi_error_offset(result: Result<impl std::fmt::Debug, Error>, name: &str) -> usize {
    let error = result.expect_err("a malformed file must be an error");
    let message = error.to_string();
    assert!(message.contains(name), "{message}");
    match error {
        Error::Midi {
            offset: Some(offset),
            ..
        } => {
            assert!(message.contains(&format!("at byte {offset}")), "{message}");
            offset
        }
        other => panic!("expected Error::Midi with an offset, got {other:?}"),
    }
}

#[test]
fn every_truncation_is_an_error_with_an_offset() {
    for (name, bytes) in synthetic() {
        for len in 0..bytes.len() {
            let result = parse_midi(&bytes[..len], Path::new(name));
            let offset = midi_error_offset(result, name);
            assert!(offset <= len, "{name} cut at {len}: offset {offset}");
        }
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    for (name, bytes) in synthetic() {
        for at in 0..bytes.len() {
            for value in [0x00, 0x2F, 0x7F, 0x80, 0x90, 0xF0, 0xFF] {
                let mut corrupt = bytes.clone();
                corrupt[at] = value;
                if let Err(error) = parse_midi(&corrupt, Path::new(name)) {
                    assert!(error.to_string().contains(name), "{error}");
                }
            }
        }
    }
}

#[test]
fn malformed_files_name_the_offset() {
    let file = "bad.mid";
    let parse = |bytes: &[u8]| parse_midi(bytes, Path::new(file));
    assert_eq!(midi_error_offset(parse(b"RIFX not midi at all"), file), 0);
    // The track's events start at byte 22 (14 of header, 8 of chunk header).
    // A data byte with its top bit set in the second event, which starts at 26.
    let bad_data = raw_smf(&[
        0x00, 0x90, 0x3C, 0x40, 0x00, 0x90, 0xBC, 0x40, 0x00, 0xFF, 0x2F, 0x00,
    ]);
    assert_eq!(midi_error_offset(parse(&bad_data), file), 26);
    // Running status with no status before it.
    assert_eq!(
        midi_error_offset(parse(&raw_smf(&[0x00, 0x3C, 0x40])), file),
        22
    );
    // A system common message, which files cannot hold.
    assert_eq!(
        midi_error_offset(parse(&raw_smf(&[0x00, 0xF3, 0x01])), file),
        22
    );
    // Running status does not survive a sysex event (mido would read a sysex here).
    let after_sysex = raw_smf(&[
        0x00, 0x90, 0x3C, 0x40, 0x00, 0xF0, 0x01, 0xF7, 0x00, 0x3C, 0x00,
    ]);
    assert_eq!(midi_error_offset(parse(&after_sysex), file), 30);
    // The header declares two tracks, the file has one.
    let mut missing = raw_smf(&[0x00, 0xFF, 0x2F, 0x00]);
    missing[11] = 2;
    assert_eq!(midi_error_offset(parse(&missing), file), missing.len());
    // Format 2 and SMPTE timing, which muspy rejects too.
    let mut format2 = raw_smf(&[0x00, 0xFF, 0x2F, 0x00]);
    format2[9] = 2;
    assert!(parse(&format2).is_err());
    let mut smpte = raw_smf(&[0x00, 0xFF, 0x2F, 0x00]);
    smpte[12] = 0xE7;
    assert!(parse(&smpte).is_err());
}

#[test]
fn tokenize_file_reads_and_names_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chord.mid");
    std::fs::write(&path, &synthetic()[0].1).unwrap();
    assert_eq!(
        tokenize_file(&path, &EventOptions::default()).unwrap(),
        MUSPY_CHORD_STUDY
    );
    assert_eq!(read_midi(&path).unwrap().ticks_per_quarter, 96);
    let missing = dir.path().join("missing.mid");
    match tokenize_file(&missing, &EventOptions::default()) {
        Err(Error::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected Error::Io, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------
// Vocabulary, decoding and writing back

#[test]
fn study_vocabulary_has_359_tokens() {
    let v = Vocabulary::study();
    assert_eq!(
        (v.events(), v.start(), v.end(), v.pad(), v.size()),
        (356, 356, 357, 358, 359)
    );
    let velocity = Vocabulary::new(options("velocity")).unwrap();
    assert_eq!(
        (velocity.start(), velocity.end(), velocity.pad()),
        (388, 389, 390)
    );
    // The end-of-sequence event stays an event: the specials come after it.
    let eos = Vocabulary::new(options("single_off_eos")).unwrap();
    assert_eq!(
        (eos.options().end_of_sequence(), eos.start()),
        (Some(1161), 1162)
    );
    let bad = EventOptions {
        max_time_shift: 0,
        ..EventOptions::default()
    };
    assert!(Vocabulary::new(bad).is_err());
    assert!(bad.encode(&[]).is_err());
}

/// Notes that close in the order they open, per pitch, so MIDI keeps them exactly.
fn fifo_notes() -> Vec<Note> {
    let note = |time, pitch, duration, velocity| Note {
        time,
        pitch,
        duration,
        velocity,
    };
    vec![
        note(0, 60, 96, 100),
        note(0, 64, 48, 90),
        note(0, 67, 0, 80),
        note(10, 60, 100, 20),
        note(96, 64, 1000, 1),
        note(2000, 21, 5, 127),
        note(2000, 108, 5, 64),
    ]
}

#[test]
fn decoding_inverts_encoding() {
    let lossless = Vocabulary::new(EventOptions {
        encode_velocity: true,
        velocity_bins: 128,
        ..EventOptions::default()
    })
    .unwrap();
    let mut notes = fifo_notes();
    notes.sort();
    let tokens = lossless.encode(&notes).unwrap();
    assert_eq!(
        (tokens[0], *tokens.last().unwrap()),
        (lossless.start(), lossless.end())
    );
    assert_eq!(lossless.decode(&tokens).unwrap(), notes);
    // Pad and start are skipped, and nothing after end is read.
    let mut padded = vec![lossless.pad(), lossless.pad()];
    padded.extend(&tokens);
    padded.extend([60, 256, 188]);
    assert_eq!(lossless.decode(&padded).unwrap(), notes);

    // Without velocity, muspy decodes every note at velocity 64.
    let study = Vocabulary::study();
    let decoded = study.decode(&study.encode(&notes).unwrap()).unwrap();
    let at_64: Vec<Note> = notes.iter().map(|n| Note { velocity: 64, ..*n }).collect();
    assert_eq!(decoded, at_64);
}

#[test]
fn decoded_notes_survive_a_midi_file() {
    let mut notes = fifo_notes();
    notes.sort();
    let options = MidiWriteOptions::default();
    let bytes = encode_midi(&notes, &options).unwrap();
    let back = parse_midi(&bytes, Path::new("sample.mid")).unwrap();
    assert_eq!(back.ticks_per_quarter, options.ticks_per_quarter);
    assert_eq!(back.notes, notes);
    // Velocity 0 (muspy's bin 0) is written as 1, not as a note-off.
    let silent = [Note {
        time: 5,
        pitch: 60,
        duration: 10,
        velocity: 0,
    }];
    let back = parse_midi(&encode_midi(&silent, &options).unwrap(), Path::new("s.mid")).unwrap();
    assert_eq!(
        back.notes,
        [Note {
            velocity: 1,
            ..silent[0]
        }]
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.mid");
    initlab_data::maestro::write_midi(&path, &notes, &options).unwrap();
    assert_eq!(read_midi(&path).unwrap().notes, notes);
}

// ---------------------------------------------------------------------------------
// Loading a tree

const CSV_HEADER: &str =
    "canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration\n";

fn csv_row(split: &str, year: u16, midi: &str) -> String {
    format!("\"Doe, J.\",\"A \"\"title\"\", with commas\",{split},{year},{midi},{midi}.wav,1.0\n")
}

fn write(root: &Path, relative: &str, bytes: &[u8]) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn loader_uses_metadata_and_skips_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let files = synthetic();
    let mut csv = CSV_HEADER.to_string();
    for (i, (name, bytes)) in files.iter().enumerate() {
        let relative = format!("2018/{name}.midi");
        write(root, &relative, bytes);
        let split = ["train", "train", "validation", "test", "train", "test"][i];
        csv += &csv_row(split, 2018, &relative);
    }
    // A truncated file and a file the metadata does not list.
    write(root, "2017/cut.midi", &files[0].1[..30]);
    csv += &csv_row("train", 2017, "2017/cut.midi");
    write(root, "2017/unlisted.mid", &files[0].1);
    write(root, "maestro-v3.0.0.csv", csv.as_bytes());

    let maestro = Maestro::load(root, Vocabulary::study(), SplitScheme::Metadata).unwrap();
    let names = |split| -> Vec<&str> {
        maestro
            .pieces(split)
            .iter()
            .map(|p| p.path.as_str())
            .collect()
    };
    assert_eq!(
        names(Split::Train),
        [
            "2018/chord.midi",
            "2018/overlap.midi",
            "2018/velocities.midi"
        ]
    );
    assert_eq!(names(Split::Validation), ["2018/long_rest.midi"]);
    assert_eq!(
        names(Split::Test),
        ["2018/running_status_meta.midi", "2018/tracks.midi"]
    );
    let chord = &maestro.pieces(Split::Train)[0].tokens;
    assert_eq!(chord[1..chord.len() - 1], MUSPY_CHORD_STUDY);
    assert_eq!((chord[0], chord[chord.len() - 1]), (356, 357));

    let skipped: Vec<&str> = maestro.skipped().iter().map(|s| s.path.as_str()).collect();
    assert_eq!(skipped, ["2017/cut.midi", "2017/unlisted.mid"]);
    assert!(matches!(
        maestro.skipped()[0].error,
        Error::Midi {
            offset: Some(_),
            ..
        }
    ));
    assert!(maestro.skipped()[0].error.to_string().contains("cut.midi"));

    // Without a validation file, the split is empty: an error, not an empty dataset.
    let csv = csv.replace(",validation,", ",train,");
    write(root, "maestro-v3.0.0.csv", csv.as_bytes());
    let error = Maestro::load(root, Vocabulary::study(), SplitScheme::Metadata).unwrap_err();
    assert!(
        error.to_string().contains("`validation` is empty"),
        "{error}"
    );
}

#[test]
fn loader_errors_when_nothing_loads() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..5 {
        write(root, &format!("2018/bad{i}.midi"), b"MThd\0\0\0\x06\0\x01");
    }
    let error =
        Maestro::load(root, Vocabulary::study(), SplitScheme::Study { seed: 0 }).unwrap_err();
    assert!(
        error.to_string().contains("0 files loaded, 5 skipped"),
        "{error}"
    );
    // The metadata split needs the metadata.
    assert!(Maestro::load(root, Vocabulary::study(), SplitScheme::Metadata).is_err());
    // And a folder without MIDI files is an error too.
    let empty = tempfile::tempdir().unwrap();
    assert!(Maestro::load(
        empty.path(),
        Vocabulary::study(),
        SplitScheme::Study { seed: 0 }
    )
    .is_err());
}

#[test]
fn study_split_is_59_15_19_and_seeded() {
    assert_eq!(SplitScheme::study_sizes(93), (59, 15, 19));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let bytes = &synthetic()[0].1;
    for i in 0..93 {
        write(root, &format!("2018/piece{i:02}.midi"), bytes);
    }
    // Other years are not part of the study's files.
    write(root, "2004/other.midi", bytes);
    let load =
        |seed| Maestro::load(root, Vocabulary::study(), SplitScheme::Study { seed }).unwrap();
    let split_of = |maestro: &Maestro| -> Vec<Vec<String>> {
        Split::ALL
            .iter()
            .map(|&s| maestro.pieces(s).iter().map(|p| p.path.clone()).collect())
            .collect()
    };
    let a = split_of(&load(1));
    assert_eq!(a.iter().map(Vec::len).collect::<Vec<_>>(), [59, 15, 19]);
    assert!(a.iter().flatten().all(|p| p.starts_with("2018/")));
    assert_eq!(a, split_of(&load(1)));
    assert_ne!(a, split_of(&load(2)));
}

// ---------------------------------------------------------------------------------
// Windows

#[test]
fn windows_are_the_studys() {
    let piece = |path: &str, n: u32| initlab_data::maestro::Piece {
        path: path.into(),
        tokens: (0..n).map(|t| t + 1000 * n).collect(),
    };
    // 40 tokens give 8 windows, 32 give none, 34 give 2.
    let pieces = [piece("a", 40), piece("b", 32), piece("c", 34)];
    let windows = Windows::new(&pieces, STUDY_WINDOW).unwrap();
    assert_eq!(windows.len(), 10);
    let first = windows.get(0).unwrap();
    assert_eq!(
        (first.input, first.target),
        (&pieces[0].tokens[..32], pieces[0].tokens[32])
    );
    let last_of_a = windows.get(7).unwrap();
    assert_eq!(last_of_a.target, *pieces[0].tokens.last().unwrap());
    let first_of_c = windows.get(8).unwrap();
    assert_eq!(
        (first_of_c.input[0], first_of_c.target),
        (pieces[2].tokens[0], pieces[2].tokens[32])
    );
    assert!(windows.get(10).is_none());
    assert_eq!(windows.iter().count(), 10);
    let (inputs, targets) = windows.gather(&[9, 0]);
    assert_eq!(inputs.len(), 2 * STUDY_WINDOW);
    assert_eq!(targets, [pieces[2].tokens[33], pieces[0].tokens[32]]);
    assert!(Windows::new(&pieces, 0).is_err());
    assert!(Windows::new(&[], 32).unwrap().is_empty());
}

const MUSPY_CHORD_STUDY: [u32; 8] = [60, 64, 67, 303, 192, 303, 188, 195];
const MUSPY_CHORD_VELOCITY: [u32; 11] = [381, 60, 378, 64, 376, 67, 303, 192, 303, 188, 195];
const MUSPY_OVERLAP_STUDY: [u32; 17] = [
    60, 265, 60, 265, 188, 265, 188, 62, 190, 265, 62, 265, 62, 265, 190, 275, 190,
];
const MUSPY_OVERLAP_SINGLE_OFF_EOS: [u32; 18] = [
    60, 138, 60, 138, 128, 138, 128, 62, 128, 138, 62, 138, 62, 138, 128, 148, 128, 1161,
];
const MUSPY_LONG_REST_STUDY: [u32; 21] = [
    60, 355, 355, 305, 188, 355, 355, 355, 355, 355, 355, 355, 355, 355, 355, 355, 355, 289, 72,
    260, 200,
];
const MUSPY_LONG_REST_VELOCITY_CHANGES: [u32; 37] = [
    316, 60, 305, 305, 305, 305, 305, 188, 305, 305, 305, 305, 305, 305, 305, 305, 305, 305, 305,
    305, 305, 305, 305, 305, 305, 305, 305, 305, 305, 305, 305, 305, 289, 321, 72, 260, 200,
];
const MUSPY_LONG_REST_SINGLE_OFF_EOS: [u32; 9] = [60, 378, 128, 1128, 362, 72, 133, 128, 1161];
const MUSPY_TRACKS_STUDY: [u32; 17] = [
    60, 305, 60, 265, 60, 265, 188, 275, 188, 265, 188, 355, 61, 355, 355, 355, 189,
];
const MUSPY_TRACKS_VELOCITY: [u32; 21] = [
    368, 60, 305, 366, 60, 265, 367, 60, 265, 188, 275, 188, 265, 188, 355, 369, 61, 355, 355, 355,
    189,
];
const MUSPY_VELOCITIES_VELOCITY: [u32; 54] = [
    356, 40, 260, 168, 257, 357, 41, 260, 169, 257, 357, 42, 260, 170, 257, 371, 43, 260, 171, 257,
    372, 44, 260, 172, 257, 381, 45, 260, 173, 257, 387, 46, 260, 174, 257, 387, 47, 260, 175, 257,
    356, 48, 260, 176, 257, 356, 49, 260, 177, 257, 376, 50, 260, 178,
];
const MUSPY_VELOCITIES_VELOCITY_CHANGES: [u32; 50] = [
    306, 40, 260, 168, 257, 41, 260, 169, 257, 42, 260, 170, 257, 315, 43, 260, 171, 257, 316, 44,
    260, 172, 257, 321, 45, 260, 173, 257, 325, 46, 260, 174, 257, 47, 260, 175, 257, 306, 48, 260,
    176, 257, 49, 260, 177, 257, 318, 50, 260, 178,
];
const MUSPY_RUNNING_STATUS_META_STUDY: [u32; 3] = [60, 270, 188];
