//! Tables from run records: the per-grid-point summary printed after a study,
//! and the rounded per-run summary that insta snapshots pin.

use initlab_train::{point_name, RunRecord, RunStatus};

/// Decimal places of accuracy and loss in snapshots: coarse enough to survive
/// harmless reassociation on another machine of the same kind, fine enough that
/// a real change in training shows.
pub const SNAPSHOT_DECIMALS: usize = 4;

/// Mean and spread of one number over a grid point's completed seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Stat {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one value).
    pub std: f64,
    /// Values averaged.
    pub n: usize,
}

impl Stat {
    /// Mean and sample standard deviation of the finite `values`; `None` when
    /// there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stat> {
        let v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let std = if v.len() > 1 {
            (v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Some(Stat {
            mean,
            std,
            n: v.len(),
        })
    }
}

/// One grid point (grid axes and initializer) of a study, over its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// The study.
    pub study: String,
    /// The grid point besides the initializer, `(axis, value)`.
    pub point: Vec<(String, String)>,
    /// The initializer's label.
    pub label: String,
    /// Runs that completed.
    pub complete: usize,
    /// Runs that diverged.
    pub diverged: usize,
    /// Mean test accuracy over completed runs (NaN when none, or for regression).
    pub mean: f64,
    /// Sample standard deviation of test accuracy (0 for one run).
    pub std: f64,
    /// Test loss over completed runs.
    pub test_loss: Option<Stat>,
    /// Each recorded metric (`best_val_accuracy`, `plateau_escape_epoch`, ...)
    /// over the runs that recorded it, in first-seen order.
    pub metrics: Vec<(String, Stat)>,
    /// How many runs there were for each metric's `n` to be read against: a
    /// run that never escapes the plateau records no `plateau_escape_epoch`.
    pub runs: usize,
    /// The published test accuracy.
    pub published: Option<f64>,
    /// Other published numbers, by metric.
    pub published_metrics: Vec<(String, f64)>,
    /// Mean wall seconds per epoch.
    pub seconds_per_epoch: f64,
}

impl SummaryRow {
    /// `axis=value/…/label`.
    pub fn name(&self) -> String {
        point_name(&self.point, &self.label)
    }

    /// A metric's statistics, if any run recorded it.
    pub fn metric(&self, name: &str) -> Option<&Stat> {
        self.metrics.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// A published number by metric (`test_accuracy` included).
    pub fn published_metric(&self, name: &str) -> Option<f64> {
        if name == "test_accuracy" {
            return self.published;
        }
        self.published_metrics
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// Groups records by (study, grid point, label), in first-seen order.
pub fn summarize(records: &[RunRecord]) -> Vec<SummaryRow> {
    let mut groups: Vec<Vec<&RunRecord>> = Vec::new();
    for r in records {
        match groups.iter_mut().find(|g| {
            let f = g[0];
            f.study == r.study && f.grid == r.grid && f.label == r.label
        }) {
            Some(g) => g.push(r),
            None => groups.push(vec![r]),
        }
    }
    groups
        .into_iter()
        .map(|runs| {
            let first = runs[0];
            let complete: Vec<&RunRecord> = runs
                .iter()
                .copied()
                .filter(|r| r.status == RunStatus::Complete)
                .collect();
            let acc = Stat::of(complete.iter().map(|r| r.test_accuracy));
            let mut names: Vec<&str> = Vec::new();
            for r in &runs {
                for (n, _) in &r.metrics {
                    if !names.contains(&n.as_str()) {
                        names.push(n);
                    }
                }
            }
            let metrics = names
                .into_iter()
                .filter_map(|name| {
                    let values = runs
                        .iter()
                        .filter_map(|r| r.metrics.iter().find(|(n, _)| n == name))
                        .map(|(_, v)| *v);
                    Some((name.to_string(), Stat::of(values)?))
                })
                .collect();
            let secs: f64 = runs.iter().map(|r| r.wall_seconds).sum();
            let epochs: usize = runs.iter().map(|r| r.val_loss.len().max(1)).sum();
            SummaryRow {
                study: first.study.clone(),
                point: first.grid.clone(),
                label: first.label.clone(),
                complete: complete.len(),
                diverged: runs.len() - complete.len(),
                mean: acc.as_ref().map_or(f64::NAN, |s| s.mean),
                std: acc.as_ref().map_or(f64::NAN, |s| s.std),
                test_loss: Stat::of(complete.iter().map(|r| r.test_loss)),
                metrics,
                runs: runs.len(),
                published: first.published,
                published_metrics: first.published_metrics.clone(),
                seconds_per_epoch: secs / epochs.max(1) as f64,
            }
        })
        .collect()
}

/// The summary table as aligned text: test accuracy (or, for a study
/// without accuracy, test loss) with its seed spread, the published number,
/// and the study's own headline metric where it has one.
pub fn summary_table(rows: &[SummaryRow]) -> String {
    let width = rows
        .iter()
        .map(|r| r.name().len())
        .max()
        .unwrap_or(0)
        .max(16);
    let mut out = format!(
        "{:<12} {:<width$} {:>5} {:>19} {:>9} {:>9} {:>9}\n",
        "study", "grid point", "runs", "test acc (±std)", "published", "diverged", "s/epoch"
    );
    for r in rows {
        let (measured, published) = headline(r);
        out.push_str(&format!(
            "{:<12} {:<width$} {:>5} {:>19} {:>9} {:>9} {:>9.2}\n",
            r.study,
            r.name(),
            r.complete + r.diverged,
            measured,
            published,
            r.diverged,
            r.seconds_per_epoch
        ));
    }
    out
}

/// The table's two number columns for a row: test accuracy where there is
/// one; else the plateau escape epoch or the test loss.
fn headline(r: &SummaryRow) -> (String, String) {
    let pm = |p: Option<f64>, d: usize| p.map_or("-".into(), |p| format!("{p:.d$}"));
    if r.mean.is_finite() {
        return (format!("{:.4} ± {:.4}", r.mean, r.std), pm(r.published, 4));
    }
    if r.complete == 0 {
        return ("-".into(), pm(r.published, 4));
    }
    if let Some(s) = r.metric("plateau_escape_epoch") {
        return (
            format!("escape {:.1} ({}/{})", s.mean, s.n, r.runs),
            pm(r.published_metric("plateau_escape_epoch"), 0),
        );
    }
    match &r.test_loss {
        Some(s) => (format!("loss {:.4}", s.mean), "-".into()),
        None => ("-".into(), "-".into()),
    }
}

/// The per-run text that insta pins: run id, grid point, replicate, status,
/// test accuracy and loss rounded to [`SNAPSHOT_DECIMALS`], and the
/// initial-parameter hash. Rows are sorted by grid point, replicate and id so
/// the text does not depend on run order.
pub fn snapshot_text(records: &[RunRecord]) -> String {
    let mut sorted: Vec<(String, &RunRecord)> = records
        .iter()
        .map(|r| (point_name(&r.grid, &r.label), r))
        .collect();
    sorted.sort_by(|(a, ra), (b, rb)| {
        (a, ra.replicate, &ra.run_id).cmp(&(b, rb.replicate, &rb.run_id))
    });
    let d = SNAPSHOT_DECIMALS;
    let mut out = format!(
        "# test accuracy and loss rounded to {d} decimals; init_sha256 is the hash of the initial parameters\n"
    );
    for (name, r) in sorted {
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
            name,
            r.replicate,
            r.status.as_str(),
            num(r.test_accuracy),
            num(r.test_loss),
            r.init_sha256
        ));
    }
    out
}
