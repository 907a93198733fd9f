//! The study's vocabulary: muspy's event tokens plus start, end and pad.

use super::events::EventOptions;
use super::midi::Note;
use crate::Result;

/// Event tokens plus three specials placed right after them.
///
/// With [`EventOptions::default`] (the study's options: no velocity) the events are
/// 0–355, and start = 356, end = 357, pad = 358: 359 tokens, the ids the study's
/// code uses. With velocity encoded the specials move to 388–390, again as in an
/// earlier version of the study's code. In general they follow
/// [`EventOptions::event_count`].
///
/// A piece is framed as `[start, events…, end]`; pad is reserved for batching
/// pieces shorter than a window and never appears in a framed piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Vocabulary {
    options: EventOptions,
}

impl Vocabulary {
    /// The vocabulary of the given event options; checks them.
    pub fn new(options: EventOptions) -> Result<Self> {
        options.validate()?;
        Ok(Vocabulary { options })
    }

    /// The study's 359-token vocabulary (muspy's default options).
    pub fn study() -> Self {
        Vocabulary {
            options: EventOptions::default(),
        }
    }

    /// The event options behind the event tokens.
    pub fn options(&self) -> &EventOptions {
        &self.options
    }

    /// Number of event tokens; they are the ids below [`Self::start`].
    pub fn events(&self) -> u32 {
        self.options.event_count()
    }

    /// The start-of-piece token.
    pub fn start(&self) -> u32 {
        self.events()
    }

    /// The end-of-piece token.
    pub fn end(&self) -> u32 {
        self.events() + 1
    }

    /// The padding token.
    pub fn pad(&self) -> u32 {
        self.events() + 2
    }

    /// Number of tokens, specials included (359 for the study).
    pub fn size(&self) -> u32 {
        self.events() + 3
    }

    /// Encodes notes and frames them as `[start, events…, end]`.
    pub fn encode(&self, notes: &[Note]) -> Result<Vec<u32>> {
        let mut tokens = Vec::with_capacity(notes.len() * 4 + 2);
        tokens.push(self.start());
        tokens.extend(self.options.encode(notes)?);
        tokens.push(self.end());
        Ok(tokens)
    }

    /// Decodes a model's tokens: start and pad are skipped, decoding stops at end,
    /// and the rest is decoded as muspy does ([`EventOptions::decode`]).
    pub fn decode(&self, tokens: &[u32]) -> Result<Vec<Note>> {
        let events: Vec<u32> = tokens
            .iter()
            .copied()
            .take_while(|&t| t != self.end())
            .filter(|&t| t < self.events())
            .collect();
        self.options.decode(&events)
    }
}
