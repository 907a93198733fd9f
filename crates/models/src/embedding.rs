//! The LSTM study's note-embedding model: a token table whose rows, summed over
//! a context window, predict the next token through one affine layer.
//!
//! The study pre-trains this model once and hands its table to every LSTM run as
//! the input embedding, so the table's quality sets what the LSTMs can learn.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use initlab_init::Fans;
use serde::{Deserialize, Serialize};

use crate::dense::Dense;
use crate::host_node::tensor_to_vec;
use crate::params::{HostParams, ParamSpec};
use crate::{Error, Result};

/// The shape of the note-embedding model: `Embedding(vocabulary, dim)`, the
/// context's rows summed, then `Linear(dim → vocabulary)`.
///
/// The study's model is `vocabulary = 359`, `dim = 32`; its code sets
/// `context = 32` but the table it stored and the LSTM study loaded was trained
/// with `context = 16`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteEmbeddingConfig {
    /// Number of token ids (359: muspy's 356 events plus start, end and pad).
    pub vocabulary: usize,
    /// Width of each embedding row (32).
    pub dim: usize,
    /// Tokens summed to predict the next one. The model itself accepts any
    /// length; this is the length it is trained with, so it is part of its identity.
    pub context: usize,
}

impl NoteEmbeddingConfig {
    /// The study's model with the given context length.
    pub fn study(context: usize) -> Self {
        NoteEmbeddingConfig {
            vocabulary: 359,
            dim: 32,
            context,
        }
    }

    /// Every parameter, in this order:
    /// - `embedding.weight`, group `embedding`, `(vocabulary, dim)`: row `t` is token `t`'s
    ///   embedding (PyTorch's `nn.Embedding.weight` layout);
    /// - `output.weight`, group `weight`, `(vocabulary, dim)`: PyTorch layout `(out, in)`;
    /// - `output.bias`, group `bias`, `(vocabulary)`.
    pub fn param_specs(&self) -> Vec<ParamSpec> {
        let output_fans = Fans {
            fan_in: self.dim,
            fan_out: self.vocabulary,
        };
        vec![
            ParamSpec::new(
                "embedding.weight",
                "embedding",
                vec![self.vocabulary, self.dim],
            ),
            ParamSpec::new("output.weight", "weight", vec![self.vocabulary, self.dim]),
            ParamSpec::new("output.bias", "bias", vec![self.vocabulary]).with_fans(output_fans),
        ]
    }

    /// Checks that every size is positive.
    pub fn validate(&self) -> Result<()> {
        if self.vocabulary == 0 || self.dim == 0 || self.context == 0 {
            return Err(Error::Config(format!(
                "note embedding: vocabulary, dim and context must be positive, got {self:?}"
            )));
        }
        Ok(())
    }

    /// Multiply-accumulates of one forward pass per example: the context sum
    /// and the output layer.
    pub fn forward_macs(&self) -> usize {
        self.context * self.dim + self.dim * self.vocabulary
    }

    /// Builds the model on `device` from host-sampled parameters.
    pub fn init<B: Backend>(
        &self,
        params: &HostParams,
        device: &B::Device,
    ) -> Result<NoteEmbedding<B>> {
        self.validate()?;
        let get = |spec: &ParamSpec| {
            let values = params
                .get(&spec.name)
                .ok_or_else(|| Error::Config(format!("no values for parameter `{}`", spec.name)))?;
            let expected: usize = spec.shape.iter().product();
            if values.len() != expected {
                return Err(Error::Config(format!(
                    "parameter `{}` has {} values, shape {:?} needs {expected}",
                    spec.name,
                    values.len(),
                    spec.shape
                )));
            }
            Ok(values)
        };
        let specs = self.param_specs();
        let table = get(&specs[0])?;
        let weight = get(&specs[1])?;
        let bias = get(&specs[2])?;
        let (v, d) = (self.vocabulary, self.dim);
        // Host layout is (out, in) = (vocabulary, dim); the matmul wants [dim, vocabulary].
        let mut transposed = vec![0.0f32; weight.len()];
        for o in 0..v {
            for i in 0..d {
                transposed[i * v + o] = weight[o * d + i];
            }
        }
        Ok(NoteEmbedding {
            embedding: Param::from_data(TensorData::new(table.to_vec(), [v, d]), device),
            output: Dense {
                weight: Param::from_data(TensorData::new(transposed, [d, v]), device),
                bias: Param::from_data(TensorData::new(bias.to_vec(), [v]), device),
            },
        })
    }
}

/// The note-embedding model, producing next-token logits.
#[derive(Module, Debug)]
pub struct NoteEmbedding<B: Backend> {
    /// `[vocabulary, dim]`: row `t` is token `t`'s embedding.
    pub embedding: Param<Tensor<B, 2>>,
    /// `dim → vocabulary`.
    pub output: Dense<B>,
}

impl<B: Backend> NoteEmbedding<B> {
    /// The sum of the context's embeddings.
    ///
    /// # Shapes
    /// `[batch, context]` token ids → `[batch, dim]`
    pub fn embed(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 2> {
        let [batch, _] = tokens.dims();
        let [_, dim] = self.embedding.val().dims();
        let rows = burn::tensor::module::embedding(self.embedding.val(), tokens); // [batch, context, dim]
        rows.sum_dim(1) // [batch, 1, dim]
            .reshape([batch, dim])
    }

    /// # Shapes
    /// `[batch, context]` token ids → `[batch, vocabulary]` logits
    pub fn forward(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 2> {
        let summed = self.embed(tokens); // [batch, dim]
        self.output.forward(summed) // [batch, vocabulary]
    }

    /// Every parameter in [`NoteEmbeddingConfig::param_specs`] order, PyTorch
    /// layout: `(name, shape, values)`.
    pub fn host_params(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let [d_in, d_out] = self.output.weight.val().dims();
        vec![
            (
                "embedding.weight".into(),
                self.embedding.val().dims().to_vec(),
                tensor_to_vec(self.embedding.val()),
            ),
            (
                "output.weight".into(),
                vec![d_out, d_in],
                self.output.weight_host(),
            ),
            (
                "output.bias".into(),
                vec![d_out],
                tensor_to_vec(self.output.bias.val()),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InitPlan;
    use burn::backend::NdArray;

    type B = NdArray<f32>;

    /// A model of `vocabulary` rows of width `dim` over `context` tokens,
    /// sampled from a standard normal.
    fn model(vocabulary: usize, dim: usize, context: usize) -> (HostParams, NoteEmbedding<B>) {
        let config = NoteEmbeddingConfig {
            vocabulary,
            dim,
            context,
        };
        let plan = InitPlan::new("normal(mean=0,std=1)".parse().expect("normal"));
        let host = HostParams::sample(&config.param_specs(), &plan, 3).expect("sample");
        let model = config.init::<B>(&host, &Default::default()).expect("init");
        (host, model)
    }

    #[test]
    fn host_params_round_trip_in_pytorch_layout() {
        let (host, model) = model(7, 3, 2);
        let back = model.host_params();
        assert_eq!(back.len(), 3);
        for ((spec, values), (name, shape, got)) in host.tensors.iter().zip(&back) {
            assert_eq!((&spec.name, &spec.shape), (name, shape));
            assert_eq!(values, got, "{name}");
        }
    }

    #[test]
    fn forward_sums_the_context_rows_then_applies_the_output_layer() {
        let (host, model) = model(5, 2, 3);
        let tokens = Tensor::<B, 2, Int>::from_data(
            TensorData::new(vec![1i64, 1, 4, 0, 2, 3], [2, 3]),
            &Default::default(),
        );
        let logits = tensor_to_vec(model.forward(tokens));
        assert_eq!(logits.len(), 2 * 5);
        let table = host.get("embedding.weight").expect("table");
        let weight = host.get("output.weight").expect("weight");
        let bias = host.get("output.bias").expect("bias");
        for (b, context) in [[1usize, 1, 4], [0, 2, 3]].iter().enumerate() {
            let sum: Vec<f32> = (0..2)
                .map(|d| context.iter().map(|&t| table[t * 2 + d]).sum())
                .collect();
            for o in 0..5 {
                let expected = bias[o] + weight[o * 2] * sum[0] + weight[o * 2 + 1] * sum[1];
                let got = logits[b * 5 + o];
                assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
            }
        }
    }

    #[test]
    fn zero_sizes_are_refused() {
        let config = NoteEmbeddingConfig {
            vocabulary: 5,
            dim: 0,
            context: 3,
        };
        assert!(config.validate().is_err());
    }
}
