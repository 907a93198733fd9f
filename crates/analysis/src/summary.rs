//! Tables from run records: the per-initializer summary printed after a study,
//! and the rounded per-run summary that insta snapshots pin.

use initlab_train::{RunRecord, RunStatus};

/// Decimal places of accuracy and loss in snapshots: coarse enough to survive
/// harmless reassociation on another machine of the same kind, fine enough that
/// a real change in training shows.
pub const SNAPSHOT_DECIMALS: usize = 4;

/// One initializer of a study, over its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// The study.
    pub study: String,
    /// The initializer's label.
    pub label: String,
    /// Runs that completed.
    pub complete: usize,
    /// Runs that diverged.
    pub diverged: usize,
    /// Mean test accuracy over completed runs.
    pub mean: f64,
    /// Sample standard deviation of test accuracy (0 for one run).
    pub std: f64,
    /// The published test accuracy.
    pub published: Option<f64>,
    /// Mean wall seconds per epoch.
    pub seconds_per_epoch: f64,
}

/// Groups records by (study, label), in first-seen order.
pub fn summarize(records: &[RunRecord]) -> Vec<SummaryRow> {
    let mut rows: Vec<(SummaryRow, Vec<f64>, f64, usize)> = Vec::new();
    for r in records {
        let i = match rows
            .iter()
            .position(|(row, ..)| row.study == r.study && row.label == r.label)
        {
            Some(i) => i,
            None => {
                rows.push((
                    SummaryRow {
                        study: r.study.clone(),
                        label: r.label.clone(),
                        complete: 0,
                        diverged: 0,
                        mean: f64::NAN,
                        std: f64::NAN,
                        published: r.published,
                        seconds_per_epoch: f64::NAN,
                    },
                    Vec::new(),
                    0.0,
                    0,
                ));
                rows.len() - 1
            }
        };
        let (row, accs, secs, epochs) = &mut rows[i];
        match r.status {
            RunStatus::Complete => {
                row.complete += 1;
                accs.push(r.test_accuracy);
            }
            RunStatus::Diverged => row.diverged += 1,
        }
        *secs += r.wall_seconds;
        *epochs += r.val_loss.len().max(1);
    }
    rows.into_iter()
        .map(|(mut row, accs, secs, epochs)| {
            if !accs.is_empty() {
                let n = accs.len() as f64;
                row.mean = accs.iter().sum::<f64>() / n;
                row.std = if accs.len() > 1 {
                    (accs.iter().map(|a| (a - row.mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
                } else {
                    0.0
                };
            }
            row.seconds_per_epoch = secs / epochs.max(1) as f64;
            row
        })
        .collect()
}

/// The summary table as aligned text.
pub fn summary_table(rows: &[SummaryRow]) -> String {
    let mut out = format!(
        "{:<12} {:<16} {:>5} {:>17} {:>9} {:>9} {:>9}\n",
        "study", "initializer", "runs", "test acc (±std)", "published", "diverged", "s/epoch"
    );
    for r in rows {
        let measured = if r.complete > 0 {
            format!("{:.4} ± {:.4}", r.mean, r.std)
        } else {
            "-".into()
        };
        let published = r.published.map_or("-".into(), |p| format!("{p:.4}"));
        out.push_str(&format!(
            "{:<12} {:<16} {:>5} {:>17} {:>9} {:>9} {:>9.2}\n",
            r.study,
            r.label,
            r.complete + r.diverged,
            measured,
            published,
            r.diverged,
            r.seconds_per_epoch
        ));
    }
    out
}

/// The per-run text that insta pins: run id, label, status, test accuracy and
/// loss rounded to [`SNAPSHOT_DECIMALS`], and the initial-parameter hash. Rows
/// are sorted by label, replicate and id so the text does not depend on run order.
pub fn snapshot_text(records: &[RunRecord]) -> String {
    let mut sorted: Vec<&RunRecord> = records.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.label, a.replicate, &a.run_id).cmp(&(&b.label, b.replicate, &b.run_id))
    });
    let d = SNAPSHOT_DECIMALS;
    let mut out = format!(
        "# test accuracy and loss rounded to {d} decimals; init_sha256 is the hash of the initial parameters\n"
    );
    for r in sorted {
        let num = |x: f64| {
            if x.is_finite() {
                format!("{x:.d$}")
            } else {
                "nan".into()
            }
        };
        out.push_str(&format!(
            "{} {:<14} r{} {:<8} acc={} loss={} init_sha256={}\n",
            r.run_id,
            r.label,
            r.replicate,
            r.status.as_str(),
            num(r.test_accuracy),
            num(r.test_loss),
            r.init_sha256
        ));
    }
    out
}
