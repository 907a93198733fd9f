//! The training loop: one run from host-sampled weights to its record.
//!
//! initlab has its own loop rather than burn-train's because it records more per
//! step (every loss, per-layer gradient norms) and must stop cleanly on NaN.

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer, SgdConfig};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{activation, ElementConversion, Int, Tensor, TensorData};
use initlab_models::{HostParams, LayerTrace, Mlp, MlpConfig};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::activations::{self, TRACE_EXAMPLES};
use crate::data::{ClassificationData, Split};
use crate::run::{now_rfc3339, ActivationStats, NamedTensor, RunRecord, RunSpec, RunStatus};
use crate::study::{ModelConfig, OptimizerConfig};
use crate::Result;

/// Told about every training step, from any thread (progress bars).
pub trait Observer: Sync {
    /// One step of run `run_id` finished with this training loss.
    fn step(&self, run_id: &str, loss: f32);
    /// A run finished (complete or diverged) and was stored.
    fn finished(&self, _record: &RunRecord) {}
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {
    fn step(&self, _: &str, _: f32) {}
}

/// Trains one run on backend `B` and returns its record. A NaN or infinite loss
/// ends the run with status `diverged`; that is a result, not an error.
pub fn train_run<B: AutodiffBackend>(
    spec: &RunSpec,
    data: &ClassificationData,
    device: &B::Device,
    observer: &dyn Observer,
) -> Result<RunRecord> {
    let ModelConfig::Mlp(model_config) = &spec.config.model;
    let host = HostParams::sample(&model_config.param_specs(), &spec.plan, spec.seed)?;
    let model: Mlp<B> = model_config.init(&host, device)?;
    let training = &spec.config.training;
    let fit = Fit {
        spec,
        data,
        device,
        model_config,
        observer,
    };
    let started = Instant::now();
    let lr = match training.optimizer {
        OptimizerConfig::Adam { lr, .. } | OptimizerConfig::Sgd { lr, .. } => lr,
    };
    let trained = match training.optimizer {
        OptimizerConfig::Adam {
            beta1,
            beta2,
            epsilon,
            ..
        } => fit.run(
            model,
            AdamConfig::new()
                .with_beta_1(beta1 as f32)
                .with_beta_2(beta2 as f32)
                .with_epsilon(epsilon as f32)
                .init(),
            lr,
        ),
        OptimizerConfig::Sgd { momentum, .. } => {
            let momentum = (momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(momentum)
                    .with_dampening(0.0)
                    .with_nesterov(false)
            });
            fit.run(model, SgdConfig::new().with_momentum(momentum).init(), lr)
        }
    };
    let mut record = RunRecord {
        run_id: spec.id.clone(),
        study: spec.config.study.clone(),
        label: spec.label.clone(),
        initializer: spec.initializer.clone(),
        status: trained.status,
        seed: spec.seed,
        replicate: spec.config.replicate,
        config_json: spec.config.canonical_json(),
        config_sha256: spec.config_sha256.clone(),
        init_sha256: host.sha256(),
        outputs_sha256: String::new(),
        backend: spec.backend.describe(),
        test_accuracy: trained.test_accuracy,
        test_loss: trained.test_loss,
        published: spec.published,
        finished_at: now_rfc3339(),
        wall_seconds: started.elapsed().as_secs_f64(),
        step_loss: trained.metrics.step_loss,
        train_loss: trained.metrics.train_loss,
        train_accuracy: trained.metrics.train_accuracy,
        val_loss: trained.metrics.val_loss,
        val_accuracy: trained.metrics.val_accuracy,
        grad_norms: trained.metrics.grad_norms,
        activations: trained.activations,
        initial_params: host
            .tensors
            .iter()
            .map(|(s, v)| NamedTensor {
                name: s.name.clone(),
                shape: s.shape.clone(),
                values: v.clone(),
            })
            .collect(),
        final_params: trained.final_params,
    };
    record.outputs_sha256 = record.compute_outputs_sha256();
    Ok(record)
}

#[derive(Default)]
struct Metrics {
    step_loss: Vec<f32>,
    train_loss: Vec<f32>,
    train_accuracy: Vec<f32>,
    val_loss: Vec<f32>,
    val_accuracy: Vec<f32>,
    grad_norms: Vec<(String, Vec<f32>)>,
}

struct Trained {
    status: RunStatus,
    activations: Vec<ActivationStats>,
    metrics: Metrics,
    test_loss: f64,
    test_accuracy: f64,
    final_params: Vec<NamedTensor>,
}

struct Fit<'a, B: AutodiffBackend> {
    spec: &'a RunSpec,
    data: &'a ClassificationData,
    device: &'a B::Device,
    model_config: &'a MlpConfig,
    observer: &'a dyn Observer,
}

impl<B: AutodiffBackend> Fit<'_, B> {
    fn run<O: Optimizer<Mlp<B>, B>>(&self, mut model: Mlp<B>, mut optim: O, lr: f64) -> Trained {
        let training = &self.spec.config.training;
        let train_n = training
            .train_limit
            .map_or(self.data.train.len(), |l| l.min(self.data.train.len()));
        let layers = self.model_config.widths().len() - 1;
        let mut metrics = Metrics {
            grad_norms: (0..layers)
                .map(|i| (format!("layers.{i}"), Vec::new()))
                .collect(),
            ..Metrics::default()
        };
        let mut order: Vec<usize> = (0..train_n).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.spec.seed);
        let mut status = RunStatus::Complete;
        let init_trace = self.trace(&model);
        'epochs: for _epoch in 0..training.epochs {
            order.shuffle(&mut rng);
            let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
            let mut norm_sums = vec![0.0f64; layers];
            let mut steps = 0usize;
            for batch in order.chunks(training.batch_size) {
                let (x, y, labels) = batch_tensors::<B>(&self.data.train, batch, self.device);
                let logits = model.forward(x); // [batch, classes]
                let loss = cross_entropy(logits.clone(), y);
                let loss_value: f32 = loss.clone().into_scalar().elem();
                metrics.step_loss.push(loss_value);
                self.observer.step(&self.spec.id, loss_value);
                if !loss_value.is_finite() {
                    status = RunStatus::Diverged;
                    break 'epochs;
                }
                correct += count_correct(logits.inner(), &labels);
                loss_sum += f64::from(loss_value) * batch.len() as f64;
                seen += batch.len();
                let grads = loss.backward();
                for (sum, layer) in norm_sums.iter_mut().zip(&model.layers) {
                    *sum += (sq_norm(layer.weight.val().grad(&grads))
                        + sq_norm(layer.bias.val().grad(&grads)))
                    .sqrt();
                }
                let grads = GradientsParams::from_grads(grads, &model);
                model = optim.step(lr, model, grads);
                steps += 1;
            }
            metrics
                .train_loss
                .push((loss_sum / seen.max(1) as f64) as f32);
            metrics
                .train_accuracy
                .push(correct as f32 / seen.max(1) as f32);
            for ((_, series), sum) in metrics.grad_norms.iter_mut().zip(&norm_sums) {
                series.push((sum / steps.max(1) as f64) as f32);
            }
            let (val_loss, val_accuracy) =
                evaluate(&model.valid(), &self.data.val, training.eval_limit);
            metrics.val_loss.push(val_loss as f32);
            metrics.val_accuracy.push(val_accuracy as f32);
        }
        let (test_loss, test_accuracy) = match status {
            RunStatus::Complete => evaluate(&model.valid(), &self.data.test, training.eval_limit),
            RunStatus::Diverged => (f64::NAN, f64::NAN),
        };
        let final_params = NamedTensor::from_host(model.host_params());
        let activations = activations::stats(
            self.model_config.activation,
            &init_trace,
            &self.trace(&model),
            self.trace_examples(),
        );
        Trained {
            status,
            activations,
            metrics,
            test_loss,
            test_accuracy,
            final_params,
        }
    }
}

impl<B: AutodiffBackend> Fit<'_, B> {
    fn trace_examples(&self) -> usize {
        TRACE_EXAMPLES.min(self.data.val.len())
    }

    /// Every layer's outputs on the first validation examples, without autodiff.
    fn trace(&self, model: &Mlp<B>) -> LayerTrace {
        let indices: Vec<usize> = (0..self.trace_examples()).collect();
        let inner = model.valid();
        let device = inner
            .layers
            .first()
            .map(|l| l.weight.val().device())
            .unwrap_or_default();
        let (x, _, _) = batch_tensors::<B::InnerBackend>(&self.data.val, &indices, &device);
        inner.trace(x)
    }
}

/// The examples at `indices` as a float batch, an int label tensor and host labels.
fn batch_tensors<B: Backend>(
    split: &Split,
    indices: &[usize],
    device: &B::Device,
) -> (Tensor<B, 2>, Tensor<B, 1, Int>, Vec<i64>) {
    let f = split.features;
    let mut x = Vec::with_capacity(indices.len() * f);
    let mut labels = Vec::with_capacity(indices.len());
    for &i in indices {
        x.extend_from_slice(&split.x[i * f..(i + 1) * f]);
        labels.push(i64::from(split.y[i]));
    }
    let n = indices.len();
    (
        Tensor::from_data(TensorData::new(x, [n, f]), device),
        Tensor::from_data(TensorData::new(labels.clone(), [n]), device),
        labels,
    )
}

/// Mean softmax cross-entropy of logits `[batch, classes]` against class indices.
pub fn cross_entropy<B: Backend>(logits: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    let log_probs = activation::log_softmax(logits, 1);
    log_probs
        .gather(1, targets.unsqueeze_dim(1)) // [batch, 1]
        .mean()
        .neg()
}

fn count_correct<B: Backend>(logits: Tensor<B, 2>, labels: &[i64]) -> usize {
    let predicted: Vec<i64> = logits
        .argmax(1)
        .into_data()
        .convert::<i64>()
        .into_vec()
        .unwrap_or_default();
    predicted.iter().zip(labels).filter(|(p, l)| p == l).count()
}

fn sq_norm<B: Backend, const D: usize>(grad: Option<Tensor<B, D>>) -> f64 {
    grad.map_or(0.0, |g| {
        let s: f32 = g.square().sum().into_scalar().elem();
        f64::from(s)
    })
}

/// Mean loss and accuracy over (the first `limit` examples of) a split, without autodiff.
fn evaluate<B: Backend>(model: &Mlp<B>, split: &Split, limit: Option<usize>) -> (f64, f64) {
    let n = limit.map_or(split.len(), |l| l.min(split.len()));
    let device = model
        .layers
        .first()
        .map(|l| l.weight.val().device())
        .unwrap_or_default();
    let indices: Vec<usize> = (0..n).collect();
    let (mut loss_sum, mut correct) = (0.0f64, 0usize);
    for chunk in indices.chunks(2000) {
        let (x, y, labels) = batch_tensors::<B>(split, chunk, &device);
        let logits = model.forward(x);
        let loss: f32 = cross_entropy(logits.clone(), y).into_scalar().elem();
        loss_sum += f64::from(loss) * chunk.len() as f64;
        correct += count_correct(logits, &labels);
    }
    (loss_sum / n.max(1) as f64, correct as f64 / n.max(1) as f64)
}
