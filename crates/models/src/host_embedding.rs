//! The note-embedding model's forward and backward pass on the host.
//!
//! The model is 23 K FLOPs a window (a 16-row gather-sum and a 32 × 359
//! affine layer), so through burn's autodiff a step of 64 windows was a few
//! dozen tensor ops of a few microseconds' arithmetic each: 50 000 windows a
//! second on one core, 14 minutes for the study's table. Here a step is the
//! gather-sum, three `matrixmultiply` products and the softmax, on buffers
//! reused from step to step. A pass runs on the calling thread; a trainer
//! that wants both cores gives each part of a batch its own pass (see
//! [`HostNoteEmbedding::loss_and_grads`]'s `mean_over`).

use crate::embedding::NoteEmbeddingConfig;
use crate::host_node::gemm;
use crate::math;
use crate::params::HostParams;
use crate::{Error, Result};

/// The note-embedding model's parameters, in PyTorch layout.
#[derive(Clone, Debug, PartialEq)]
pub struct HostNoteEmbedding {
    /// Token ids.
    pub vocabulary: usize,
    /// Width of a row.
    pub dim: usize,
    /// `(vocabulary, dim)`: row `t` is token `t`'s embedding.
    pub table: Vec<f32>,
    /// `(vocabulary, dim)`: the output layer, `(out, in)`.
    pub weight: Vec<f32>,
    /// `(vocabulary)`.
    pub bias: Vec<f32>,
}

/// Gradients of the mean cross-entropy, shaped like the parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NoteEmbeddingGrads {
    /// Of [`HostNoteEmbedding::table`].
    pub table: Vec<f32>,
    /// Of [`HostNoteEmbedding::weight`].
    pub weight: Vec<f32>,
    /// Of [`HostNoteEmbedding::bias`].
    pub bias: Vec<f32>,
}

/// Buffers a pass writes, kept between steps so a step allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct EmbeddingScratch {
    /// `[n, dim]`: each window's summed rows.
    summed: Vec<f32>,
    /// `[n, vocabulary]`: logits, then their gradient.
    logits: Vec<f32>,
    /// `[n, dim]`: the gradient of `summed`.
    dsummed: Vec<f32>,
}

impl HostNoteEmbedding {
    /// The model of `config` with the values in `params` (as sampled for
    /// [`NoteEmbeddingConfig::param_specs`]).
    pub fn new(config: &NoteEmbeddingConfig, params: &HostParams) -> Result<Self> {
        config.validate()?;
        let (v, d) = (config.vocabulary, config.dim);
        let get = |name: &str, len: usize| -> Result<Vec<f32>> {
            let values = params
                .get(name)
                .ok_or_else(|| Error::Config(format!("no values for parameter `{name}`")))?;
            if values.len() != len {
                return Err(Error::Config(format!(
                    "parameter `{name}` has {} values, the model needs {len}",
                    values.len()
                )));
            }
            Ok(values.to_vec())
        };
        Ok(HostNoteEmbedding {
            vocabulary: v,
            dim: d,
            table: get("embedding.weight", v * d)?,
            weight: get("output.weight", v * d)?,
            bias: get("output.bias", v)?,
        })
    }

    /// Every parameter in [`NoteEmbeddingConfig::param_specs`] order:
    /// `(name, shape, values)`.
    pub fn host_params(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let (v, d) = (self.vocabulary, self.dim);
        vec![
            ("embedding.weight".into(), vec![v, d], self.table.clone()),
            ("output.weight".into(), vec![v, d], self.weight.clone()),
            ("output.bias".into(), vec![v], self.bias.clone()),
        ]
    }

    /// Zeroed gradients of this model's shape.
    pub fn zero_grads(&self) -> NoteEmbeddingGrads {
        NoteEmbeddingGrads {
            table: vec![0.0; self.table.len()],
            weight: vec![0.0; self.weight.len()],
            bias: vec![0.0; self.bias.len()],
        }
    }

    /// The logits of `n = targets.len()` windows whose tokens are `tokens`
    /// (`[n, context]`, row-major), left in `scratch.logits`; `scratch.summed`
    /// holds the summed rows. Tokens must be below the vocabulary.
    fn forward(&self, tokens: &[u32], n: usize, scratch: &mut EmbeddingScratch) {
        let (v, d) = (self.vocabulary, self.dim);
        let context = tokens.len() / n.max(1);
        scratch.summed.clear();
        scratch.summed.resize(n * d, 0.0);
        for (sum, window) in scratch
            .summed
            .chunks_exact_mut(d)
            .zip(tokens.chunks_exact(context))
        {
            for &t in window {
                let row = &self.table[t as usize * d..][..d];
                sum.iter_mut().zip(row).for_each(|(s, r)| *s += r);
            }
        }
        scratch.logits.clear();
        scratch.logits.resize(n * v, 0.0);
        for row in scratch.logits.chunks_exact_mut(v) {
            row.copy_from_slice(&self.bias);
        }
        // logits += summed · weightᵀ, weight read as its transpose through strides.
        gemm(
            (n, d, v),
            &scratch.summed,
            (d, 1),
            &self.weight,
            (1, d),
            1.0,
            &mut scratch.logits,
            (v, 1),
        );
    }

    /// Mean softmax cross-entropy of the windows `tokens` (`[n, context]`)
    /// against `targets` (`[n]`), without gradients.
    pub fn loss(&self, tokens: &[u32], targets: &[u32], scratch: &mut EmbeddingScratch) -> f32 {
        let n = targets.len();
        if n == 0 {
            return f32::NAN;
        }
        self.forward(tokens, n, scratch);
        let mut sum = 0.0f64;
        for (row, &y) in scratch
            .logits
            .chunks_exact_mut(self.vocabulary)
            .zip(targets)
        {
            let target = row[y as usize];
            let (max, exp_sum) = math::exp_shifted_in_place(row);
            sum += f64::from(max + exp_sum.ln() - target);
        }
        (sum / n as f64) as f32
    }

    /// The summed cross-entropy of the windows `tokens` (`[n, context]`)
    /// against `targets` (`[n]`), with the gradient of that sum divided by
    /// `mean_over` written into `grads` (overwritten, not accumulated). With
    /// `mean_over = n` it is the gradient of the mean; a batch cut in parts,
    /// each with the whole batch's `mean_over`, gives the mean's gradient as
    /// the parts' sum.
    pub fn loss_and_grads(
        &self,
        tokens: &[u32],
        targets: &[u32],
        mean_over: usize,
        grads: &mut NoteEmbeddingGrads,
        scratch: &mut EmbeddingScratch,
    ) -> f64 {
        let (v, d) = (self.vocabulary, self.dim);
        let n = targets.len();
        if n == 0 {
            return f64::NAN;
        }
        let context = tokens.len() / n;
        self.forward(tokens, n, scratch);
        // The logits become their gradient: (softmax − one-hot) / mean_over.
        let scale = 1.0 / mean_over.max(1) as f32;
        let mut sum = 0.0f64;
        for (row, &y) in scratch.logits.chunks_exact_mut(v).zip(targets) {
            let target = row[y as usize];
            let (max, exp_sum) = math::exp_shifted_in_place(row);
            sum += f64::from(max + exp_sum.ln() - target);
            let to_grad = scale / exp_sum;
            row.iter_mut().for_each(|x| *x *= to_grad);
            row[y as usize] -= scale;
        }
        let dlogits = &scratch.logits;
        // d weight = dlogitsᵀ · summed, (v, d).
        gemm(
            (v, n, d),
            dlogits,
            (1, v),
            &scratch.summed,
            (d, 1),
            0.0,
            &mut grads.weight,
            (d, 1),
        );
        grads.bias.iter_mut().for_each(|b| *b = 0.0);
        for row in dlogits.chunks_exact(v) {
            grads.bias.iter_mut().zip(row).for_each(|(b, g)| *b += g);
        }
        // d summed = dlogits · weight, (n, d); each window's row gradient goes
        // to every token of its context.
        scratch.dsummed.clear();
        scratch.dsummed.resize(n * d, 0.0);
        gemm(
            (n, v, d),
            dlogits,
            (v, 1),
            &self.weight,
            (d, 1),
            0.0,
            &mut scratch.dsummed,
            (d, 1),
        );
        grads.table.iter_mut().for_each(|g| *g = 0.0);
        for (ds, window) in scratch
            .dsummed
            .chunks_exact(d)
            .zip(tokens.chunks_exact(context))
        {
            for &t in window {
                let row = &mut grads.table[t as usize * d..][..d];
                row.iter_mut().zip(ds).for_each(|(g, s)| *g += s);
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InitPlan;

    fn model(vocabulary: usize, dim: usize) -> HostNoteEmbedding {
        let config = NoteEmbeddingConfig {
            vocabulary,
            dim,
            context: 3,
        };
        let plan = InitPlan::new("normal(mean=0,std=0.5)".parse().expect("normal"));
        let host = HostParams::sample(&config.param_specs(), &plan, 11).expect("sample");
        HostNoteEmbedding::new(&config, &host).expect("model")
    }

    /// Every gradient element against a central difference of the loss (a
    /// token repeated in one window included).
    #[test]
    fn gradients_match_finite_differences() {
        let m = model(7, 4);
        let tokens = [0u32, 3, 3, 6, 1, 2, 5, 5, 5, 2, 0, 2];
        let targets = [1u32, 6, 0, 3];
        let mut scratch = EmbeddingScratch::default();
        let mut grads = m.zero_grads();
        m.loss_and_grads(&tokens, &targets, 4, &mut grads, &mut scratch);
        let h = 1e-2f32;
        let check = |field: fn(&mut HostNoteEmbedding) -> &mut Vec<f32>, analytic: &[f32]| {
            for (i, &g) in analytic.iter().enumerate() {
                let mut plus = m.clone();
                field(&mut plus)[i] += h;
                let mut minus = m.clone();
                field(&mut minus)[i] -= h;
                let mut s = EmbeddingScratch::default();
                let numeric = (plus.loss(&tokens, &targets, &mut s)
                    - minus.loss(&tokens, &targets, &mut s))
                    / (2.0 * h);
                assert!(
                    (numeric - g).abs() < 2e-3 + 2e-2 * g.abs(),
                    "element {i}: analytic {g}, numeric {numeric}"
                );
            }
        };
        check(|m| &mut m.table, &grads.table);
        check(|m| &mut m.weight, &grads.weight);
        check(|m| &mut m.bias, &grads.bias);
        // Token 6 is in one context, token 4 in none: its row gets no gradient.
        assert!(grads.table[4 * 4..5 * 4].iter().all(|&g| g == 0.0));
        assert!(grads.table[6 * 4..7 * 4].iter().any(|&g| g != 0.0));
    }

    /// A batch in two parts, each with the whole batch's `mean_over`: the
    /// parts' gradients sum to the whole batch's, their losses to its loss.
    #[test]
    fn parts_of_a_batch_sum_to_the_batch() {
        let m = model(9, 5);
        let tokens = [0u32, 8, 3, 3, 6, 1, 2, 5, 7, 5, 5, 2, 0, 4, 1];
        let targets = [1u32, 6, 0, 3, 8];
        let mut whole = m.zero_grads();
        let mut s = EmbeddingScratch::default();
        let loss = m.loss_and_grads(&tokens, &targets, 5, &mut whole, &mut s);
        let (mut a, mut b) = (m.zero_grads(), m.zero_grads());
        let la = m.loss_and_grads(&tokens[..6], &targets[..2], 5, &mut a, &mut s);
        let lb = m.loss_and_grads(&tokens[6..], &targets[2..], 5, &mut b, &mut s);
        assert!((la + lb - loss).abs() < 1e-9 * loss.abs().max(1.0));
        for (w, (x, y)) in [
            (&whole.table, (&a.table, &b.table)),
            (&whole.weight, (&a.weight, &b.weight)),
            (&whole.bias, (&a.bias, &b.bias)),
        ] {
            for (w, (x, y)) in w.iter().zip(x.iter().zip(y)) {
                assert!((w - (x + y)).abs() < 1e-6, "{w} vs {x} + {y}");
            }
        }
    }

    #[test]
    fn loss_of_uniform_logits_is_ln_vocabulary() {
        let mut m = model(5, 2);
        m.weight.iter_mut().for_each(|w| *w = 0.0);
        m.bias.iter_mut().for_each(|b| *b = 0.25);
        let loss = m.loss(
            &[0, 1, 2, 3, 4, 0],
            &[4, 1],
            &mut EmbeddingScratch::default(),
        );
        assert!((loss - 5f32.ln()).abs() < 1e-6, "{loss}");
    }

    #[test]
    fn a_pass_reuses_its_buffers_without_stale_values() {
        let m = model(6, 3);
        let mut scratch = EmbeddingScratch::default();
        let mut grads = m.zero_grads();
        let big = m.loss_and_grads(&[0, 1, 2, 3, 4, 5], &[1, 2], 2, &mut grads, &mut scratch);
        let small = m.loss_and_grads(&[5, 4, 3], &[0], 1, &mut grads, &mut scratch);
        let mut fresh = m.zero_grads();
        let alone = m.loss_and_grads(
            &[5, 4, 3],
            &[0],
            1,
            &mut fresh,
            &mut EmbeddingScratch::default(),
        );
        assert!(big.is_finite());
        assert_eq!(small.to_bits(), alone.to_bits());
        assert_eq!(grads, fresh);
    }
}
