//! Fixed notes about the published sources, by study name: what the
//! original code did (its bugs, its splits) is history no run record holds,
//! so it lives here, next to nothing else. Numbers a run does hold (a
//! profile's epochs and subsamples) are read from its configuration.

use super::render::Block;
use super::{config_value, Section};

/// A level the published source measures a study's curves against, drawn
/// as a line on its validation panels.
pub(super) struct ReferenceLevel {
    pub value: f64,
    /// The line's legend entry.
    pub legend: String,
    /// What the line is, for the figure's caption.
    pub caption: String,
}

/// The reference level of `section`'s study, if its source has one.
pub(super) fn reference_level(section: &Section) -> Option<ReferenceLevel> {
    match section.study.as_str() {
        // Always predicting 1 on the adding problem scores Var(x₁ + x₂) for
        // two independent U[0, 1) markers, 1/12 each.
        "irnn-adding" => Some(ReferenceLevel {
            value: 1.0 / 6.0,
            legend: "always predicting 1: 1/6 ≈ 0.1667 (the paper quotes 0.1767)".into(),
            caption: "the plateau of always predicting 1, MSE Var(x₁ + x₂) = 1/6 ≈ 0.1667 \
                      (the paper quotes 0.1767, which that formula does not give)"
                .into(),
        }),
        _ => None,
    }
}

/// The notes of `section`'s study; none for a study without any.
pub(super) fn study_notes(section: &Section) -> Vec<Block> {
    let notes: Vec<String> = match section.study.as_str() {
        "mlp-depth" => vec![
            "The notebook printed the output-activation cell twice: 86.47 % (the published \
             number) and, in an earlier run of the same code, 95.49 %. Both are the buggy \
             variant's; how far apart they are shows how much that variant depends on which \
             output units die."
                .into(),
        ],
        "rnn-mnist" => vec![
            "**Validation.** The original's \"validation\" set was the test set, evaluated \
             after the last epoch with no model selection. Here a seeded split of the training \
             images is held out for validation every epoch, and the test accuracy reported is \
             that after the last epoch: the same number the original reports, trained on fewer \
             images."
                .into(),
        ],
        "lstm-maestro" => lstm_notes(section),
        "irnn-adding" => vec![
            "**The plateau.** Always predicting 1, the mean of the sum of two U[0, 1) values, \
             scores MSE Var(x₁ + x₂) = 1/12 + 1/12 = 1/6 ≈ 0.1667; the paper quotes 0.1767, \
             which that formula does not give. The figures draw 1/6."
                .into(),
        ],
        _ => Vec::new(),
    };
    if notes.is_empty() {
        return Vec::new();
    }
    vec![Block::H(3, "Notes on the source".into()), Block::Ul(notes)]
}

fn lstm_notes(section: &Section) -> Vec<String> {
    let mut notes = vec![
        "**Shared embedding.** The original built one embedding module and fine-tuned it in \
         every one of its nine runs in turn, so each initializer started from the table the \
         previous runs had left. Here every run starts from the same saved table, named by its \
         hash (`data.embedding_sha256` in the configuration), and fine-tunes its own copy."
            .into(),
        "**Context 16, not 32.** The original's stored embedding table was trained with a \
         context of 16 tokens, though its file name says 32; the embedding config here says 16 \
         too."
            .into(),
        "**Split.** The original split the 93 performances by file without a seed, so its split \
         cannot be recovered; here the split is seeded and by file, 59/15/19 (train/validation/\
         test), the one the embeddings were trained on."
            .into(),
    ];
    let get = |k: &str| section.records.first().and_then(|r| config_value(r, k));
    let windows: Vec<String> = [
        (
            "data.train_windows",
            "a fresh seeded sample of {} training windows per epoch",
        ),
        (
            "data.validation_windows",
            "a fixed sample of {} validation windows",
        ),
        ("data.test_windows", "a fixed sample of {} test windows"),
    ]
    .iter()
    .filter_map(|(k, text)| get(k).map(|v| text.replace("{}", &v)))
    .collect();
    let epochs = get("training.epochs").unwrap_or_else(|| "?".into());
    if windows.is_empty() {
        notes.push(format!(
            "**This profile.** Every window of every split, {epochs} epochs (the published \
             configuration: 30)."
        ));
    } else {
        notes.push(format!(
            "**What this profile shortened** (from the configuration): {epochs} epoch{} instead \
             of the published 30, and {}, instead of every window of each split. That is \
             enough to show whether the published ordering appears, not the overfitting the \
             original saw after its first few epochs.",
            if epochs == "1" { "" } else { "s" },
            windows.join(", ")
        ));
    }
    notes
}
