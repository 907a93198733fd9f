//! The training loop: one run from host-sampled weights to its record, for
//! every network and task.
//!
//! initlab has its own loop rather than burn-train's because it records more per
//! step (every loss, per-layer gradient norms, per-time-step BPTT norms) and
//! must stop cleanly on NaN. The loop is generic over the [`Network`] and
//! takes its data and scoring from a [`Task`]; [`train_run`] picks the network
//! from the run's config, [`train_network`] takes one of any type.

use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use initlab_models::{BpttProbe, HostParams, LsuvRecord};

use crate::activations;
use crate::backend::{dispatch, BackendKind, BackendTask};
use crate::embeddings::EmbeddingObserver;
use crate::network::{
    lsuv_batch, BuildNetwork, DeviceInput, LayerOutputs, Network, NetworkConfig, VisitNetwork,
};
use crate::optim::{HostOptimizer, StepReport};
use crate::record::{now_rfc3339, NamedTensor, RunRecord, RunStatus};
use crate::run::RunSpec;
use crate::study::TestSchedule;
use crate::task::{scalar, Batch, EvalSet, Objective, Target, Task, TrainStream};
use crate::{Error, Result};

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

impl EmbeddingObserver for Silent {}

/// Trains one run on backend `B` and returns its record. A NaN or infinite loss
/// ends the run with status `diverged`; that is a result, not an error.
pub fn train_run<B: AutodiffBackend>(
    spec: &RunSpec,
    task: &dyn Task,
    device: &B::Device,
    observer: &dyn Observer,
) -> Result<RunRecord> {
    record(start::<B>(spec, task, device, observer, Job::Train)?)
}

/// [`train_run`] with `network` in place of the run's `[model]`: the loop a
/// network of any type takes, before or without its
/// [`ModelConfig`](crate::ModelConfig) variant.
pub fn train_network<B: AutodiffBackend, N: BuildNetwork<B>>(
    spec: &RunSpec,
    network: &N,
    task: &dyn Task,
    device: &B::Device,
    observer: &dyn Observer,
) -> Result<RunRecord> {
    let start = Start {
        spec,
        task,
        device,
        observer,
        job: Job::Train,
    };
    record(start.visit(network)?)
}

fn record(done: Done<'_>) -> Result<RunRecord> {
    match done {
        Done::Record(r) => Ok(*r),
        _ => unreachable!("training returns a record"),
    }
}

/// [`time_steps`] on the run's own backend.
pub fn time_run(spec: &RunSpec, task: &dyn Task, budget: TimingBudget) -> Result<StepTiming> {
    struct Time<'a>(&'a RunSpec, &'a dyn Task, TimingBudget);
    impl BackendTask for Time<'_> {
        type Output = Result<StepTiming>;
        fn run<B: AutodiffBackend>(self, device: B::Device, _: BackendKind) -> Self::Output {
            time_steps::<B>(self.0, self.1, &device, self.2)
        }
    }
    dispatch(spec.backend, Time(spec, task, budget))?
}

/// Does `job` with the network of the run's config.
fn start<'a, B: AutodiffBackend>(
    spec: &'a RunSpec,
    task: &'a dyn Task,
    device: &'a B::Device,
    observer: &'a dyn Observer,
    job: Job,
) -> Result<Done<'a>> {
    spec.config.model.visit::<B, _>(Start {
        spec,
        task,
        device,
        observer,
        job,
    })
}

/// Samples the run's initial parameters, builds its network and does `job`.
struct Start<'a, B: AutodiffBackend> {
    spec: &'a RunSpec,
    task: &'a dyn Task,
    device: &'a B::Device,
    observer: &'a dyn Observer,
    job: Job,
}

impl<'a, B: AutodiffBackend> VisitNetwork<B> for Start<'a, B> {
    type Output = Result<Done<'a>>;

    fn visit<N: BuildNetwork<B>>(self, network: &N) -> Result<Done<'a>> {
        let Start {
            spec,
            task,
            device,
            observer,
            job,
        } = self;
        crate::allocator::keep_freed_memory();
        let mut host = HostParams::sample(&network.param_specs(), &spec.plan, spec.seed)?;
        for (name, values) in task.pretrained() {
            let Some((param, slot)) = host.tensors.iter_mut().find(|(s, _)| s.name == name) else {
                return Err(Error::Task(format!(
                    "the data provides `{name}`, which the model does not have"
                )));
            };
            if slot.len() != values.len() {
                return Err(Error::Task(format!(
                    "`{name}` {:?} has {} values; the data provides {}",
                    param.shape,
                    slot.len(),
                    values.len()
                )));
            }
            *slot = values;
        }
        let lsuv = calibrate(spec, network, task, &mut host)?;
        let model = network.build(&host, device)?;
        let fit = Fit {
            spec,
            task,
            observer,
            host: &host,
            network,
            lsuv,
            device,
        };
        fit.go(model, job)
    }
}

/// LSUV's rescaling of the sampled weights, where the plan names `lsuv`: on
/// the host, before any backend sees them, on the first batch of the run's
/// training order at the calibration batch size (so the batch follows from the
/// run seed, and `init_sha256` is taken after it).
fn calibrate(
    spec: &RunSpec,
    network: &dyn NetworkConfig,
    task: &dyn Task,
    host: &mut HostParams,
) -> Result<Vec<LsuvRecord>> {
    let Some(settings) = network.lsuv_settings(&spec.plan)? else {
        return Ok(Vec::new());
    };
    let training = &spec.config.training;
    let size = settings.batch.map_or(training.batch_size, |b| b as usize);
    let mut stream = task.train_stream(spec.seed, size, training.train_limit);
    stream.start_epoch();
    let batch = stream
        .next_batch()
        .ok_or_else(|| Error::Task("no training examples to calibrate LSUV on".into()))?;
    Ok(network.calibrate_lsuv(host, &spec.plan, lsuv_batch(&batch.input))?)
}

/// What [`start`] does with the network it builds.
#[derive(Clone, Copy)]
enum Job {
    /// The whole run.
    Train,
    /// Time training steps and one evaluation batch; `since` is when the run
    /// started, so that its set-up is timed too.
    Time {
        budget: TimingBudget,
        since: Instant,
    },
    /// Hand back a [`Stepper`].
    Stepper,
}

enum Done<'a> {
    Record(Box<RunRecord>),
    Timing(StepTiming),
    Stepper(Box<dyn Stepper + Send + 'a>),
}

/// What a run costs on this machine, from a few of its own steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepTiming {
    /// Wall seconds from the start of the run to its first step: sampling the
    /// initial weights, LSUV's calibration, building the network.
    pub setup_seconds: f64,
    /// Wall seconds of one training step (forward, backward, optimizer).
    pub step_seconds: f64,
    /// Wall seconds per example of evaluation (forward only).
    pub eval_seconds_per_example: f64,
    /// Training steps timed, after the two that warm up.
    pub timed_steps: usize,
}

/// How many training steps a timing takes (after two that warm up): at
/// least `min_steps`, then on until `min_seconds` have passed, but never more
/// than `max_steps`. A few steps of half a millisecond are mostly noise; a
/// timing longer than a share of the run itself is waste.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimingBudget {
    /// Steps timed whatever they take.
    pub min_steps: usize,
    /// Steps timed at most.
    pub max_steps: usize,
    /// Seconds timed at least, within `max_steps`.
    pub min_seconds: f64,
}

/// Times training steps of `spec` as `budget` says, and one evaluation
/// batch, on backend `B`: what `reproduce --dry-run` and the progress bar's
/// estimate are built from.
pub fn time_steps<B: AutodiffBackend>(
    spec: &RunSpec,
    task: &dyn Task,
    device: &B::Device,
    budget: TimingBudget,
) -> Result<StepTiming> {
    let since = Instant::now();
    match start::<B>(spec, task, device, &Silent, Job::Time { budget, since })? {
        Done::Timing(t) => Ok(t),
        _ => unreachable!("timing returns a timing"),
    }
}

struct Fit<'a, 'h, B: AutodiffBackend> {
    spec: &'a RunSpec,
    task: &'a dyn Task,
    observer: &'a dyn Observer,
    host: &'h HostParams,
    /// The network's config, for its own metrics.
    network: &'h dyn NetworkConfig,
    /// What LSUV did to each layer it calibrated.
    lsuv: Vec<LsuvRecord>,
    device: &'a B::Device,
}

/// Mean loss, accuracy and top-k accuracy over one evaluation set.
#[derive(Clone, Copy, Debug)]
struct Scores {
    loss: f64,
    accuracy: f64,
    top_k: f64,
}

/// Per-epoch series, one value per epoch.
#[derive(Default)]
struct Curves {
    train_loss: Vec<f32>,
    train_accuracy: Vec<f32>,
    val_loss: Vec<f32>,
    val_accuracy: Vec<f32>,
    val_top_k: Vec<f32>,
    test_loss: Vec<f32>,
    test_accuracy: Vec<f32>,
}

impl<'a, B: AutodiffBackend> Fit<'a, '_, B> {
    fn go<M: Network<B> + 'a>(&self, model: M, job: Job) -> Result<Done<'a>> {
        Ok(match job {
            Job::Train => Done::Record(Box::new(self.run(model)?)),
            Job::Time { budget, since } => Done::Timing(self.time(model, budget, since)?),
            Job::Stepper => {
                let t = &self.spec.config.training;
                let mut stream =
                    self.task
                        .train_stream(self.spec.seed, t.batch_size, t.train_limit);
                stream.start_epoch();
                Done::Stepper(Box::new(Steps {
                    model: Some(model),
                    optim: HostOptimizer::new(&t.optimizer, t.clip_grad_norm),
                    stream,
                    objective: self.task.objective(),
                    device: self.device.clone(),
                }))
            }
        })
    }

    /// Times `model`'s steps as `budget` says; `since` is when its run
    /// started, so everything before the first step is its set-up.
    fn time<M: Network<B>>(
        &self,
        mut model: M,
        budget: TimingBudget,
        since: Instant,
    ) -> Result<StepTiming> {
        let setup_seconds = since.elapsed().as_secs_f64();
        let training = &self.spec.config.training;
        let objective = self.task.objective();
        let mut optim = HostOptimizer::new(&training.optimizer, training.clip_grad_norm);
        let mut stream =
            self.task
                .train_stream(self.spec.seed, training.batch_size, training.train_limit);
        stream.start_epoch();
        let mut started = Instant::now();
        let mut timed = 0usize;
        for i in 0.. {
            if timed >= budget.min_steps
                && (timed >= budget.max_steps
                    || started.elapsed().as_secs_f64() >= budget.min_seconds)
            {
                break;
            }
            let batch = match stream.next_batch() {
                Some(b) => b,
                None => {
                    stream.start_epoch();
                    stream
                        .next_batch()
                        .ok_or_else(|| Error::Task("no training data".into()))?
                }
            };
            if i == 2 {
                started = Instant::now();
            }
            model = step(model, &mut optim, &batch, objective, self.device)?.model;
            timed += usize::from(i >= 2);
        }
        let step_seconds = started.elapsed().as_secs_f64() / timed.max(1) as f64;
        let inner = model.valid();
        let eval = self.task.eval_batches(EvalSet::Validation, Some(512));
        let started = Instant::now();
        let mut n = 0usize;
        for batch in eval.iter().take(1) {
            let out = M::infer(&inner, DeviceInput::upload(&batch.input, self.device))?;
            let _ = scalar(objective.loss(out, &batch.target));
            n += batch.len();
        }
        Ok(StepTiming {
            setup_seconds,
            timed_steps: timed,
            step_seconds,
            eval_seconds_per_example: started.elapsed().as_secs_f64() / n.max(1) as f64,
        })
    }

    fn run<M: Network<B>>(&self, mut model: M) -> Result<RunRecord> {
        let training = &self.spec.config.training;
        let objective = self.task.objective();
        let started = Instant::now();
        let mut optim = HostOptimizer::new(&training.optimizer, training.clip_grad_norm);
        let mut stream =
            self.task
                .train_stream(self.spec.seed, training.batch_size, training.train_limit);
        let probe = self.task.probe_batch();
        let init_trace = trace::<B, M>(&model.valid(), &probe, self.device)?;
        let mut bptt: Vec<Vec<initlab_models::StepNorms>> = Vec::new();
        if model.is_recurrent() {
            bptt.push(self.probe(&model, &probe, objective)?);
        }
        let mut step_loss = Vec::new();
        let mut curves = Curves::default();
        let mut grad_norms: Vec<(String, Vec<f32>)> = Vec::new();
        let mut status = RunStatus::Complete;
        let mut metrics: Vec<(String, f64)> = Vec::new();
        // The best validation score so far, its epoch and the model then.
        let mut best: Option<(f64, usize, M::InnerModule)> = None;
        'epochs: for epoch in 1..=training.epochs {
            stream.start_epoch();
            let (mut loss_sum, mut hits, mut seen, mut steps) = (0.0f64, 0usize, 0usize, 0usize);
            let mut norm_sums: Vec<(String, f64)> = Vec::new();
            while let Some(batch) = stream.next_batch() {
                let stepped = step(model, &mut optim, &batch, objective, self.device)?;
                model = stepped.model;
                step_loss.push(stepped.loss);
                self.observer.step(&self.spec.id, stepped.loss);
                let Some(report) = stepped.report else {
                    status = RunStatus::Diverged;
                    metrics.push(("diverged_epoch".into(), epoch as f64));
                    metrics.push(("diverged_step".into(), step_loss.len() as f64));
                    break 'epochs;
                };
                hits += stepped.hits;
                loss_sum += f64::from(stepped.loss) * batch.len() as f64;
                seen += batch.len();
                for (layer, norm) in report.layer_norms {
                    match norm_sums.iter_mut().find(|(l, _)| *l == layer) {
                        Some((_, sum)) => *sum += norm,
                        None => norm_sums.push((layer, norm)),
                    }
                }
                steps += 1;
            }
            curves
                .train_loss
                .push((loss_sum / seen.max(1) as f64) as f32);
            if objective.has_accuracy() {
                curves.train_accuracy.push(hits as f32 / seen.max(1) as f32);
            }
            for (layer, sum) in norm_sums {
                let mean = (sum / steps.max(1) as f64) as f32;
                match grad_norms.iter_mut().find(|(l, _)| *l == layer) {
                    Some((_, series)) => series.push(mean),
                    None => grad_norms.push((layer, vec![mean])),
                }
            }
            let inner = model.valid();
            let val = self.evaluate::<M>(&inner, EvalSet::Validation, objective)?;
            curves.val_loss.push(val.loss as f32);
            if objective.has_accuracy() {
                curves.val_accuracy.push(val.accuracy as f32);
            }
            if objective.top_k().is_some() {
                curves.val_top_k.push(val.top_k as f32);
            }
            if training.test == TestSchedule::EveryEpoch {
                let test = self.evaluate::<M>(&inner, EvalSet::Test, objective)?;
                curves.test_loss.push(test.loss as f32);
                if objective.has_accuracy() {
                    curves.test_accuracy.push(test.accuracy as f32);
                }
            }
            // Higher accuracy is better; for regression, lower loss.
            let score = if objective.has_accuracy() {
                val.accuracy
            } else {
                -val.loss
            };
            if best.as_ref().is_none_or(|(b, _, _)| score > *b) {
                best = Some((score, epoch, inner));
            }
            if model.is_recurrent() {
                bptt.push(self.probe(&model, &probe, objective)?);
            }
        }
        let final_inner = model.valid();
        let (test_loss, test_accuracy) = match status {
            RunStatus::Diverged => {
                // PyTorch's argmax of all-NaN logits is class 0: the accuracy a
                // diverged network reports there is the share of class 0.
                if objective.has_accuracy() {
                    metrics.push(("class_0_share".into(), self.class_share(0)));
                }
                (f64::NAN, f64::NAN)
            }
            RunStatus::Complete => {
                let tested = match (&training.test, &best) {
                    (TestSchedule::BestValidation, Some((_, _, m))) => m,
                    _ => &final_inner,
                };
                let t = self.evaluate::<M>(tested, EvalSet::Test, objective)?;
                if objective.top_k().is_some() {
                    metrics.push(("test_top5_accuracy".into(), t.top_k));
                }
                (t.loss, t.accuracy)
            }
        };
        if let Some((score, epoch, _)) = &best {
            if objective.has_accuracy() {
                metrics.push(("best_val_accuracy".into(), *score));
            }
            metrics.push(("best_val_epoch".into(), *epoch as f64));
        }
        if let Some(threshold) = self.task.escape_below() {
            if let Some(e) = curves
                .val_loss
                .iter()
                .position(|&l| f64::from(l) < threshold)
            {
                metrics.push(("plateau_escape_epoch".into(), (e + 1) as f64));
            }
        }
        let activations = activations::stats(
            model.activation(),
            &init_trace,
            &trace::<B, M>(&final_inner, &probe, self.device)?,
        );
        let final_params = NamedTensor::from_host(M::host_params(&final_inner));
        let mut named_curves = Vec::new();
        // Sorted by name, the order the store reads them back in.
        for (name, series) in [
            ("test_accuracy", curves.test_accuracy),
            ("test_loss", curves.test_loss),
            ("val_top5_accuracy", curves.val_top_k),
        ] {
            if !series.is_empty() {
                named_curves.push((name.to_string(), series));
            }
        }
        let spec = self.spec;
        metrics.extend(self.network.run_metrics(&spec.plan, &curves.train_accuracy));
        let mut record = RunRecord {
            run_id: spec.id.clone(),
            study: spec.config.study.clone(),
            label: spec.label.clone(),
            initializer: spec.initializer.clone(),
            status,
            seed: spec.seed,
            replicate: spec.config.replicate,
            config_json: spec.config.canonical_json(),
            config_sha256: spec.config_sha256.clone(),
            init_sha256: self.host.sha256(),
            outputs_sha256: String::new(),
            backend: spec.backend.describe(),
            test_accuracy: if objective.has_accuracy() {
                test_accuracy
            } else {
                f64::NAN
            },
            test_loss,
            published: spec.published,
            published_metrics: spec.published_metrics.clone(),
            grid: spec.grid.clone(),
            metrics,
            finished_at: now_rfc3339(),
            wall_seconds: started.elapsed().as_secs_f64(),
            step_loss,
            train_loss: curves.train_loss,
            train_accuracy: curves.train_accuracy,
            val_loss: curves.val_loss,
            val_accuracy: curves.val_accuracy,
            grad_norms,
            curves: named_curves,
            bptt: bptt_tensors(&bptt),
            activations,
            lsuv: self.lsuv.clone(),
            initial_params: self
                .host
                .tensors
                .iter()
                .map(|(s, v)| NamedTensor {
                    name: s.name.clone(),
                    shape: s.shape.clone(),
                    values: v.clone(),
                })
                .collect(),
            final_params,
        };
        record.outputs_sha256 = record.compute_outputs_sha256();
        Ok(record)
    }

    /// Mean loss and hit rates over a fixed set, without autodiff. Each
    /// batch's mean loss is weighted by its size.
    fn evaluate<M: Network<B>>(
        &self,
        model: &M::InnerModule,
        set: EvalSet,
        objective: Objective,
    ) -> Result<Scores> {
        let training = &self.spec.config.training;
        let (mut loss_sum, mut hits, mut top_k, mut n) = (0.0f64, 0usize, 0usize, 0usize);
        for batch in self.task.eval_batches(set, training.eval_limit) {
            let out = M::infer(model, DeviceInput::upload(&batch.input, self.device))?;
            let loss = scalar(objective.loss(out.clone(), &batch.target));
            loss_sum += f64::from(loss) * batch.len() as f64;
            let (h, k) = objective.hits(out, &batch.target);
            hits += h;
            top_k += k;
            n += batch.len();
        }
        let n = n.max(1) as f64;
        Ok(Scores {
            loss: loss_sum / n,
            accuracy: hits as f64 / n,
            top_k: top_k as f64 / n,
        })
    }

    /// The share of the test set whose class is `class`.
    fn class_share(&self, class: i64) -> f64 {
        let limit = self.spec.config.training.eval_limit;
        let (mut hits, mut n) = (0usize, 0usize);
        for batch in self.task.eval_batches(EvalSet::Test, limit) {
            if let Target::Classes(c) = &batch.target {
                hits += c.iter().filter(|&&t| t == class).count();
                n += c.len();
            }
        }
        hits as f64 / n.max(1) as f64
    }

    /// One forward and backward pass on the probe batch, recording the norms
    /// of `h_t` and `∂L/∂h_t` per step and layer; nothing is updated.
    fn probe<M: Network<B>>(
        &self,
        model: &M,
        batch: &Batch,
        objective: Objective,
    ) -> Result<Vec<initlab_models::StepNorms>> {
        let probe = BpttProbe::new();
        let out = model.forward(DeviceInput::upload(&batch.input, self.device), Some(&probe))?;
        let _ = objective.loss(out, &batch.target).backward();
        Ok(probe.layers())
    }
}

/// What one training step left.
struct Stepped<M> {
    model: M,
    /// The batch's mean training loss.
    loss: f32,
    /// Correct predictions in the batch (0 for regression).
    hits: usize,
    /// The optimizer's report; `None` when the loss was not finite, in which
    /// case nothing was updated.
    report: Option<StepReport>,
}

/// The training step every run takes, and every benchmark times: forward,
/// loss, and for a finite loss backward and the optimizer's update.
fn step<B: AutodiffBackend, M: Network<B>>(
    model: M,
    optim: &mut HostOptimizer,
    batch: &Batch,
    objective: Objective,
    device: &B::Device,
) -> Result<Stepped<M>> {
    let out = model.forward(DeviceInput::upload(&batch.input, device), None)?;
    let loss = objective.loss(out.clone(), &batch.target);
    let value = scalar(loss.clone());
    if !value.is_finite() {
        return Ok(Stepped {
            model,
            loss: value,
            hits: 0,
            report: None,
        });
    }
    let hits = objective.hits(out.inner(), &batch.target).0;
    let grads = loss.backward();
    // The graph goes before the update, so the parameters' buffers are the
    // model's alone and come to the host without a copy.
    drop(loss);
    let (model, report) = optim.step(model, grads);
    Ok(Stepped {
        model,
        loss: value,
        hits,
        report: Some(report),
    })
}

/// One training step at a time of a run, exactly as the loop takes it: for
/// benchmarks.
pub trait Stepper {
    /// Trains on the next batch (a new epoch when one ends); the batch's loss.
    fn step(&mut self) -> Result<f32>;
}

struct Steps<'a, B: AutodiffBackend, M> {
    model: Option<M>,
    optim: HostOptimizer,
    stream: Box<dyn TrainStream + 'a>,
    objective: Objective,
    device: B::Device,
}

impl<B: AutodiffBackend, M: Network<B>> Stepper for Steps<'_, B, M> {
    fn step(&mut self) -> Result<f32> {
        let batch = match self.stream.next_batch() {
            Some(b) => b,
            None => {
                self.stream.start_epoch();
                self.stream
                    .next_batch()
                    .ok_or_else(|| Error::Task("no training data".into()))?
            }
        };
        let model = self
            .model
            .take()
            .ok_or_else(|| Error::Task("a step failed before".into()))?;
        let stepped = step(model, &mut self.optim, &batch, self.objective, &self.device)?;
        self.model = Some(stepped.model);
        Ok(stepped.loss)
    }
}

/// A [`Stepper`] for `spec` on `task`, on backend `B`.
pub fn stepper<'a, B: AutodiffBackend>(
    spec: &'a RunSpec,
    task: &'a dyn Task,
    device: &'a B::Device,
) -> Result<Box<dyn Stepper + Send + 'a>> {
    match start::<B>(spec, task, device, &Silent, Job::Stepper)? {
        Done::Stepper(s) => Ok(s),
        _ => unreachable!("a stepper job returns a stepper"),
    }
}

/// Every hidden layer's outputs on the probe batch.
fn trace<B: AutodiffBackend, M: Network<B>>(
    model: &M::InnerModule,
    batch: &Batch,
    device: &B::Device,
) -> Result<Vec<LayerOutputs>> {
    M::trace(model, DeviceInput::upload(&batch.input, device))
}

/// `[epochs + 1, T]` matrices of the probes: `grad_h_norm` and `h_norm` of
/// the top layer, `layer{k}/grad_h_norm` and `layer{k}/h_norm` below it. A
/// probe whose backward recorded nothing (a per-step layer) leaves NaN.
fn bptt_tensors(probes: &[Vec<initlab_models::StepNorms>]) -> Vec<NamedTensor> {
    let Some(first) = probes.first() else {
        return Vec::new();
    };
    let layers = first.len();
    let steps = first.iter().map(|n| n.h.len()).max().unwrap_or(0);
    let mut out = Vec::new();
    // The top layer first, then the others from the input up: the order the
    // store reads them back in, which the outputs hash depends on.
    let order = (layers.saturating_sub(1)..layers).chain(0..layers.saturating_sub(1));
    for layer in order {
        let prefix = if layer + 1 == layers {
            String::new()
        } else {
            format!("layer{layer}/")
        };
        for (name, pick) in [
            (
                "grad_h_norm",
                (|n: &initlab_models::StepNorms| &n.grad_h) as fn(_) -> _,
            ),
            ("h_norm", |n: &initlab_models::StepNorms| &n.h),
        ] {
            let mut values = Vec::with_capacity(probes.len() * steps);
            for p in probes {
                let row = p.get(layer).map(pick).filter(|r| r.len() == steps);
                match row {
                    Some(r) => values.extend_from_slice(r),
                    None => values.extend(std::iter::repeat_n(f32::NAN, steps)),
                }
            }
            out.push(NamedTensor {
                name: format!("{prefix}{name}"),
                shape: vec![probes.len(), steps],
                values,
            });
        }
    }
    out
}
