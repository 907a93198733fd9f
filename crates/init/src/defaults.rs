//! The default initializations of PyTorch's and Keras's layers, so that a
//! study can start from what a framework would have drawn.

use crate::elementwise::{fill_constant, fill_uniform, uniform_variance};
use crate::scheme::{Initializer, Layer, Needs, Spec, Target};
use crate::spec::SchemeKind;
use crate::variance_scaling::{fill_with_std, xavier_std, Distribution};
use crate::{Error, InitRng, Scheme};

/// A framework's default for a layer's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameworkDefault {
    /// PyTorch's default for `nn.Linear` and `nn.Conv*`, weight and bias:
    /// `U(−1/√fan_in, 1/√fan_in)` with the weight's fan-in (their
    /// `kaiming_uniform_(a=√5)` is this). Spec `pytorch-linear-default`. A
    /// bias has no fans: sample it with
    /// [`sample_with_fans`](crate::Scheme::sample_with_fans) and the weight's
    /// fans.
    PytorchLinear,
    /// PyTorch's default for every parameter of `nn.RNN`/`nn.LSTM`/`nn.GRU`:
    /// `U(−1/√hidden, 1/√hidden)`. Spec `pytorch-rnn-default`. The hidden
    /// size is not in the shape of `weight_ih` or a bias, so this scheme
    /// always needs [`sample_with_fans`](crate::Scheme::sample_with_fans)
    /// with `fan_in = hidden`.
    PytorchRnn,
    /// Keras's default for `Dense`: Glorot uniform (`xavier-uniform(gain=1)`)
    /// for a weight of 2 or more dims, zeros for a bias. Spec
    /// `keras-dense-default`.
    KerasDense,
}

/// `pytorch-linear-default`.
pub const PYTORCH_LINEAR_DEFAULT: SchemeKind = SchemeKind::new(
    "pytorch-linear-default | `U(±1/√fan_in)`, weight and bias (the weight's fan-in) | – | `nn.Linear`, `nn.Conv*` defaults | –",
    |_| Ok(Scheme::new(FrameworkDefault::PytorchLinear)),
);

/// `pytorch-rnn-default`.
pub const PYTORCH_RNN_DEFAULT: SchemeKind = SchemeKind::new(
    "pytorch-rnn-default | `U(±1/√hidden)` for every parameter; hidden passed as `fan_in` | – | `nn.RNN`/`LSTM`/`GRU` defaults | –",
    |_| Ok(Scheme::new(FrameworkDefault::PytorchRnn)),
);

/// `keras-dense-default`.
pub const KERAS_DENSE_DEFAULT: SchemeKind = SchemeKind::new(
    "keras-dense-default | Glorot uniform for 2+ dims, zeros for a bias | – | – | `Dense` defaults",
    |_| Ok(Scheme::new(FrameworkDefault::KerasDense)),
);

impl Initializer for FrameworkDefault {
    fn spec(&self) -> Spec {
        let (kind, needs) = match self {
            FrameworkDefault::PytorchLinear => (PYTORCH_LINEAR_DEFAULT, Needs::Fans),
            FrameworkDefault::PytorchRnn => (PYTORCH_RNN_DEFAULT, Needs::ExplicitFans),
            FrameworkDefault::KerasDense => (KERAS_DENSE_DEFAULT, Needs::FansIfWeight),
        };
        Spec::new(kind.name, needs)
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        let n = target.n;
        match (self, target.fans) {
            (FrameworkDefault::KerasDense, Some(f)) => {
                let std = xavier_std(1.0, f.fan_in, f.fan_out);
                fill_with_std(n, std, Distribution::Uniform, rng)
            }
            (FrameworkDefault::KerasDense, None) => fill_constant(n, 0.0),
            _ => {
                let bound = 1.0 / (target.fans().fan_in as f64).sqrt();
                fill_uniform(n, -bound, bound, rng)
            }
        }
    }

    fn variance(&self, layer: &Layer<'_>) -> Result<Option<f64>, Error> {
        if *self != FrameworkDefault::KerasDense {
            return Ok(Some(uniform_variance(1.0) / layer.fans()?.fan_in as f64));
        }
        if layer.shape.len() < 2 {
            return Ok(Some(0.0));
        }
        let f = layer.fans()?;
        Ok(Some(xavier_std(1.0, f.fan_in, f.fan_out).powi(2)))
    }
}
