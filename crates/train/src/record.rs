//! What a run produced: its record, tensors and statistics, written by the
//! store and read back by reports.

use initlab_models::LsuvRecord;
use sha2::{Digest, Sha256};

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Trained every epoch.
    Complete,
    /// The loss became NaN or infinite; training stopped there.
    Diverged,
}

impl RunStatus {
    /// `complete` or `diverged`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Complete => "complete",
            RunStatus::Diverged => "diverged",
        }
    }
}

impl std::str::FromStr for RunStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "complete" => Ok(RunStatus::Complete),
            "diverged" => Ok(RunStatus::Diverged),
            _ => Err(format!("unknown run status `{s}`")),
        }
    }
}

/// One named tensor on the host, PyTorch layout.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    /// The parameter's name (`layers.0.weight`).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub values: Vec<f32>,
}

/// One hidden layer's outputs on the fixed trace batch, before (`[0]`) and after
/// (`[1]`) training.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationStats {
    /// The layer (`layers.0`).
    pub layer: String,
    /// The histograms' common range, `[min, max]` over both stages.
    pub range: [f32; 2],
    /// Fraction of the outputs in each of 61 equal bins over `range`.
    pub histogram: [Vec<f32>; 2],
    /// Fraction of units flat on every example: dead ReLUs, or tanh/sigmoid
    /// units saturated whatever the input.
    pub dead_fraction: [f32; 2],
    /// Fraction of outputs where the nonlinearity's gradient (nearly) vanishes:
    /// 0 for ReLU, |a| > 0.99 for tanh, outside [0.01, 0.99] for sigmoid.
    pub flat_fraction: [f32; 2],
    /// Standard deviation of the finite outputs: the layer's activation scale
    /// (NaN where none is finite, or in files written before it was kept).
    pub std: [f32; 2],
}

impl NamedTensor {
    /// Wraps a model's `(name, shape, values)` triples, as `host_params` returns them.
    pub fn from_host(params: Vec<(String, Vec<usize>, Vec<f32>)>) -> Vec<NamedTensor> {
        params
            .into_iter()
            .map(|(name, shape, values)| NamedTensor {
                name,
                shape,
                values,
            })
            .collect()
    }
}

/// Everything a run produced. The store writes it; reports read it back.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// The run id.
    pub run_id: String,
    /// The study's name.
    pub study: String,
    /// The initializer's label.
    pub label: String,
    /// The grid initializer's canonical spec.
    pub initializer: String,
    /// How it ended.
    pub status: RunStatus,
    /// The RNG seed.
    pub seed: u64,
    /// The replicate index.
    pub replicate: u32,
    /// The canonical config JSON.
    pub config_json: String,
    /// sha256 of the canonical config.
    pub config_sha256: String,
    /// sha256 of the initial parameters (identical on every backend).
    pub init_sha256: String,
    /// sha256 of the final parameters and every metric series.
    pub outputs_sha256: String,
    /// The backend that trained it, with its version.
    pub backend: String,
    /// Test accuracy at the end (NaN if diverged).
    pub test_accuracy: f64,
    /// Test loss at the end (NaN if diverged).
    pub test_loss: f64,
    /// Published test accuracy, if any.
    pub published: Option<f64>,
    /// Other published numbers for the run's grid point, by metric.
    pub published_metrics: Vec<(String, f64)>,
    /// The grid point besides the initializer, `(axis, value label)`.
    pub grid: Vec<(String, String)>,
    /// Scalars a study asks for beyond test accuracy and loss, stored as
    /// attributes: `diverged_epoch`, `best_val_accuracy`, `best_val_epoch`,
    /// `plateau_escape_epoch`, ...
    pub metrics: Vec<(String, f64)>,
    /// When it finished, RFC 3339 UTC.
    pub finished_at: String,
    /// Seconds of wall time spent training and evaluating.
    pub wall_seconds: f64,
    /// Training loss of every step.
    pub step_loss: Vec<f32>,
    /// Mean training loss per epoch.
    pub train_loss: Vec<f32>,
    /// Training accuracy per epoch (on the batches as they were trained).
    pub train_accuracy: Vec<f32>,
    /// Validation loss per epoch.
    pub val_loss: Vec<f32>,
    /// Validation accuracy per epoch.
    pub val_accuracy: Vec<f32>,
    /// Per layer: the mean over each epoch's steps of the gradient's L2 norm.
    pub grad_norms: Vec<(String, Vec<f32>)>,
    /// Further per-epoch series, by name (`test_loss`, `test_accuracy` when a
    /// study tests every epoch; `val_top5_accuracy`).
    pub curves: Vec<(String, Vec<f32>)>,
    /// Per-time-step norms of a recurrent network on the probe batch, at
    /// initialization and after each epoch: `grad_h_norm` and `h_norm`
    /// `[epochs + 1, T]` for the top layer, `layer{k}/…` for those below.
    pub bptt: Vec<NamedTensor>,
    /// Per hidden layer: its outputs on a fixed validation batch at init and at the end.
    pub activations: Vec<ActivationStats>,
    /// What LSUV did to each layer it calibrated, in forward order; empty
    /// unless the run's plan names `lsuv`.
    pub lsuv: Vec<LsuvRecord>,
    /// Parameters before training (after LSUV's rescaling).
    pub initial_params: Vec<NamedTensor>,
    /// Parameters after training.
    pub final_params: Vec<NamedTensor>,
}

impl RunRecord {
    /// sha256 over the final parameters and the metric series (not the wall time),
    /// so the same config and seed on the same machine give the same hash.
    pub fn compute_outputs_sha256(&self) -> String {
        let mut h = Sha256::new();
        for t in &self.final_params {
            h.update(t.name.as_bytes());
            for v in &t.values {
                h.update(v.to_le_bytes());
            }
        }
        let series: [(&str, &[f32]); 5] = [
            ("step_loss", &self.step_loss),
            ("train_loss", &self.train_loss),
            ("train_accuracy", &self.train_accuracy),
            ("val_loss", &self.val_loss),
            ("val_accuracy", &self.val_accuracy),
        ];
        for (name, values) in series.into_iter().chain(
            self.grad_norms
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_slice())),
        ) {
            h.update(name.as_bytes());
            for v in values {
                h.update(v.to_le_bytes());
            }
        }
        for a in &self.activations {
            h.update(a.layer.as_bytes());
            for v in a.histogram.iter().flatten().chain(&a.range).chain(&a.std) {
                h.update(v.to_le_bytes());
            }
        }
        for (name, values) in &self.curves {
            h.update(name.as_bytes());
            for v in values {
                h.update(v.to_le_bytes());
            }
        }
        for t in &self.bptt {
            h.update(t.name.as_bytes());
            for v in &t.values {
                h.update(v.to_le_bytes());
            }
        }
        for (name, value) in &self.metrics {
            h.update(name.as_bytes());
            h.update(value.to_le_bytes());
        }
        // Nothing for a run without LSUV, so the hashes of earlier runs stand.
        for l in &self.lsuv {
            h.update(l.layer.as_bytes());
            h.update(l.outcome.iterations.to_le_bytes());
            for v in [
                l.outcome.variance_before,
                l.outcome.variance,
                l.outcome.scale,
            ] {
                h.update(v.to_le_bytes());
            }
            h.update([u8::from(l.outcome.converged)]);
        }
        h.update(self.test_accuracy.to_le_bytes());
        h.update(self.test_loss.to_le_bytes());
        hex(&h.finalize())
    }
}

pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Now as RFC 3339 UTC (`2026-11-24T06:34:14Z`), without a date-time dependency.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), valid for the Unix era.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
