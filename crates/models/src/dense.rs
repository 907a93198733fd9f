//! One affine layer, shared by every network's hidden and read-out layers.

use burn::module::{Module, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};

use crate::activation::Activation;
use crate::host_node::tensor_to_vec;

/// One affine layer, `y = x·W + b`, with `W` stored as `[in, out]` for the matmul.
#[derive(Module, Debug)]
pub struct Dense<B: Backend> {
    /// `[in, out]`: the transpose of the PyTorch-layout `(out, in)` host tensor.
    pub weight: Param<Tensor<B, 2>>,
    /// `[out]`.
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> Dense<B> {
    /// Uploads a PyTorch-layout `(out, in)` weight and its bias.
    pub(crate) fn from_host(
        weight: &[f32],
        bias: &[f32],
        d_in: usize,
        d_out: usize,
        device: &B::Device,
    ) -> Self {
        // Host layout is (out, in); the matmul wants [in, out].
        let mut transposed = vec![0.0f32; weight.len()];
        for o in 0..d_out {
            for i in 0..d_in {
                transposed[i * d_out + o] = weight[o * d_in + i];
            }
        }
        Dense {
            weight: Param::from_data(TensorData::new(transposed, [d_in, d_out]), device),
            bias: Param::from_data(TensorData::new(bias.to_vec(), [d_out]), device),
        }
    }

    /// # Shapes
    /// `[batch, in] → [batch, out]`
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        x.matmul(self.weight.val()) + self.bias.val().unsqueeze()
    }

    /// [`Dense::forward`] followed by `activation` when there is one, in burn's
    /// tensor operations.
    ///
    /// # Shapes
    /// `[batch, in] → [batch, out]`
    pub fn forward_activated(
        &self,
        x: Tensor<B, 2>,
        activation: Option<Activation>,
    ) -> Tensor<B, 2> {
        let y = self.forward(x);
        match activation {
            Some(a) => a.apply(y),
            None => y,
        }
    }

    /// [`Dense::forward`] followed by `activation`, computed on the host as
    /// [`Dense::forward_train`] computes it on burn's autodiff backend, so that
    /// evaluation sees the function that was trained.
    ///
    /// # Shapes
    /// `[batch, in] → [batch, out]`
    pub fn forward_host(&self, x: Tensor<B, 2>, activation: Option<Activation>) -> Tensor<B, 2> {
        crate::host_dense::infer(x, self.weight.val(), self.bias.val(), activation)
    }

    /// The weight in PyTorch layout `(out, in)`, flattened, for hashing and histograms.
    pub fn weight_host(&self) -> Vec<f32> {
        let [d_in, d_out] = self.weight.val().dims();
        let w = tensor_to_vec(self.weight.val());
        let mut out = vec![0.0f32; w.len()];
        for i in 0..d_in {
            for o in 0..d_out {
                out[o * d_in + i] = w[i * d_out + o];
            }
        }
        out
    }
}

impl<B: AutodiffBackend> Dense<B> {
    /// [`Dense::forward`] for training, followed by `activation` when there
    /// is one: one host node on burn's own autodiff backend
    /// ([`crate::host_dense`]), burn's matmul and activation on any other.
    /// For wide layers, where burn's backward copies the transposed weight,
    /// and for tanh and σ, which burn-ndarray computes one libm call at a time.
    ///
    /// # Shapes
    /// `[batch, in] → [batch, out]`
    pub fn forward_train(&self, x: Tensor<B, 2>, activation: Option<Activation>) -> Tensor<B, 2> {
        match crate::host_dense::try_fused(x, self.weight.val(), self.bias.val(), activation) {
            Ok(y) => y,
            Err((x, _, _)) => self.forward_activated(x, activation),
        }
    }
}
