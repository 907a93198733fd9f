//! Music from a trained event LSTM: the run's final parameters continue a
//! window of event tokens one sampled token at a time.

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use initlab_models::{EventLstm, EventLstmConfig, HostParams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::backend::{dispatch, BackendKind, BackendTask};
use crate::network::ModelConfig;
use crate::record::RunRecord;
use crate::{Error, Result};

/// How a continuation is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Generation {
    /// New tokens to draw (fewer when the model draws `end`).
    pub tokens: usize,
    /// Softmax temperature: 1 samples the model's distribution, lower is
    /// more conservative, 0 always takes the most likely token.
    pub temperature: f64,
    /// Seeds the draws.
    pub seed: u64,
    /// Stop when this token is drawn (the vocabulary's `end`).
    pub end: Option<u32>,
}

/// The event LSTM a run record describes, with the record's final parameters.
fn model_of(record: &RunRecord) -> Result<(EventLstmConfig, HostParams)> {
    let bad = |m: String| Error::Task(format!("run {}: {m}", record.run_id));
    let json: serde_json::Value = serde_json::from_str(&record.config_json)
        .map_err(|e| bad(format!("config_json is not JSON: {e}")))?;
    let model: ModelConfig = serde_json::from_value(json["model"].clone())
        .map_err(|e| bad(format!("config_json.model: {e}")))?;
    let ModelConfig::EventLstm(config) = model else {
        return Err(bad(format!(
            "is a `{}` run of study {}; only event-LSTM runs (lstm-maestro) generate music",
            json["model"]["kind"].as_str().unwrap_or("?"),
            record.study
        )));
    };
    let tensors = config
        .param_specs()
        .into_iter()
        .map(|spec| {
            let t = record
                .final_params
                .iter()
                .find(|t| t.name == spec.name && t.shape == spec.shape)
                .ok_or_else(|| {
                    bad(format!(
                        "no final parameter `{}` {:?}",
                        spec.name, spec.shape
                    ))
                })?;
            Ok((spec, t.values.clone()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((config, HostParams { tensors }))
}

/// Continues `prime` (token ids, at least the model's window long) with the
/// run's trained network; returns the new tokens.
pub fn continue_tokens(record: &RunRecord, prime: &[u32], how: Generation) -> Result<Vec<u32>> {
    let (config, host) = model_of(record)?;
    if prime.len() < config.window {
        return Err(Error::Task(format!(
            "the seed has {} tokens; the model reads windows of {}",
            prime.len(),
            config.window
        )));
    }
    dispatch(
        BackendKind::DEFAULT,
        Generate {
            config: &config,
            host: &host,
            prime,
            how,
        },
    )?
}

struct Generate<'a> {
    config: &'a EventLstmConfig,
    host: &'a HostParams,
    prime: &'a [u32],
    how: Generation,
}

impl BackendTask for Generate<'_> {
    type Output = Result<Vec<u32>>;
    fn run<B: AutodiffBackend>(self, device: B::Device, _: BackendKind) -> Self::Output {
        let model: EventLstm<B::InnerBackend> = self.config.init(self.host, &device)?;
        let window = self.config.window;
        let mut tokens: Vec<u32> = self.prime.to_vec();
        let mut rng = ChaCha8Rng::seed_from_u64(self.how.seed);
        let mut out = Vec::with_capacity(self.how.tokens);
        for _ in 0..self.how.tokens {
            let context: Vec<i64> = tokens[tokens.len() - window..]
                .iter()
                .map(|&t| i64::from(t))
                .collect();
            let input = Tensor::<B::InnerBackend, 2, Int>::from_data(
                TensorData::new(context, [1, window]),
                &device,
            );
            let logits = logits_of(model.forward(input)?);
            let next = draw(&logits, self.how.temperature, &mut rng);
            out.push(next);
            tokens.push(next);
            if Some(next) == self.how.end {
                break;
            }
        }
        Ok(out)
    }
}

fn logits_of<B: Backend>(t: Tensor<B, 2>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec()
        .unwrap_or_default()
}

/// A token from `softmax(logits / temperature)`; the arg max at temperature 0.
fn draw(logits: &[f32], temperature: f64, rng: &mut ChaCha8Rng) -> u32 {
    let argmax = logits
        .iter()
        .enumerate()
        .fold((0usize, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0;
    if temperature <= 0.0 {
        return argmax as u32;
    }
    let top = f64::from(logits[argmax]);
    let weights: Vec<f64> = logits
        .iter()
        .map(|&v| ((f64::from(v) - top) / temperature).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut u = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i as u32;
        }
        u -= w;
    }
    argmax as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_zero_is_the_arg_max_and_draws_follow_the_softmax() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(draw(&[0.1, 3.0, 2.9], 0.0, &mut rng), 1);
        // Logits ln 3 and 0: the first token 3 times in 4.
        let logits = [3f32.ln(), 0.0];
        let n = 20_000;
        let first = (0..n).filter(|_| draw(&logits, 1.0, &mut rng) == 0).count();
        let p = first as f64 / n as f64;
        assert!(
            (p - 0.75).abs() < 5.0 * (0.75 * 0.25 / n as f64).sqrt(),
            "{p}"
        );
        // A low temperature concentrates on the arg max.
        let sharp = (0..1000)
            .filter(|_| draw(&logits, 0.05, &mut rng) == 0)
            .count();
        assert_eq!(sharp, 1000);
    }
}
