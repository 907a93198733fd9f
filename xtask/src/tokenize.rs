//! `cargo xtask tokenize`: print a MIDI file's event tokens, the way the MAESTRO
//! study sees it, to compare with muspy or to look at one file.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use initlab_data::maestro::{read_midi, tokenize_file, write_midi, EventOptions, MidiWriteOptions};

/// Print the event tokens of a MIDI file as space-separated integers on one line.
///
/// Tokens are muspy 0.5's `to_event_representation` of the file's notes (all
/// tracks merged, times in the file's ticks), without the study's start and end
/// tokens. With no flags: note-on 0–127, note-off 128–255, time-shift 256–355.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The MIDI file (format 0 or 1).
    pub file: PathBuf,
    /// Emit a velocity event (356 + bin by default) before note-ons.
    #[arg(long)]
    pub encode_velocity: bool,
    /// With --encode-velocity, emit a velocity event only when the bin changes.
    #[arg(long)]
    pub velocity_changes_only: bool,
    /// Number of velocity bins.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub velocity_bins: u32,
    /// One note-off event (128) that closes every sounding note.
    #[arg(long)]
    pub single_note_off: bool,
    /// Append the end-of-sequence event.
    #[arg(long)]
    pub end_of_sequence: bool,
    /// The longest rest, in ticks, that one time-shift event encodes.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_time_shift: u32,
    /// Also decode the tokens and write them to FILE as a MIDI file at the input's
    /// resolution and 120 bpm, to hear what the tokens keep.
    #[arg(long, value_name = "FILE")]
    pub decode_to: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let options = EventOptions {
        use_single_note_off_event: args.single_note_off,
        use_end_of_sequence_event: args.end_of_sequence,
        encode_velocity: args.encode_velocity,
        force_velocity_event: !args.velocity_changes_only,
        max_time_shift: args.max_time_shift,
        velocity_bins: args.velocity_bins,
    };
    let tokens = tokenize_file(&args.file, &options)?;
    let line: Vec<String> = tokens.iter().map(u32::to_string).collect();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", line.join(" ")).context("writing to stdout")?;
    if let Some(path) = &args.decode_to {
        let notes = options.decode(&tokens)?;
        let write = MidiWriteOptions {
            ticks_per_quarter: read_midi(&args.file)?.ticks_per_quarter,
            ..MidiWriteOptions::default()
        };
        write_midi(path, &notes, &write)?;
        eprintln!("wrote {} notes to {}", notes.len(), path.display());
    }
    Ok(())
}
