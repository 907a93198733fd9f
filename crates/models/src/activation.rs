//! The MLP's nonlinearity, on burn tensors and on host slices.
//!
//! Training computes it on the host, inside the dense layer's autodiff node
//! ([`crate::host_dense`]): burn-ndarray evaluates `tanh` and `σ` through
//! libm one element at a time and copies the tensor for the activation and
//! again for its gradient, which in study 2's tanh and sigmoid runs cost as
//! much as the matmuls. The host versions are [`crate::math`]'s vectorized
//! functions (within 3e-7 absolute of the exact values).

use burn::tensor::backend::Backend;
use burn::tensor::{activation, Tensor};
use serde::{Deserialize, Serialize};

use crate::math;

/// The nonlinearity between layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// tanh(x).
    Tanh,
    /// 1 / (1 + e^-x).
    Sigmoid,
}

impl Activation {
    /// Applies the nonlinearity.
    pub fn apply<B: Backend, const D: usize>(self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Activation::Relu => activation::relu(x),
            Activation::Tanh => activation::tanh(x),
            Activation::Sigmoid => activation::sigmoid(x),
        }
    }

    /// The kebab-case name used in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
        }
    }

    /// Applies the nonlinearity in place. A NaN stays NaN (ReLU included, as
    /// in burn), so a diverging run is still seen.
    pub(crate) fn apply_host(self, xs: &mut [f32]) {
        match self {
            Activation::Relu => math::relu_in_place(xs),
            Activation::Tanh => math::tanh_in_place(xs),
            Activation::Sigmoid => math::sigmoid_in_place(xs),
        }
    }

    /// Turns `dL/dy` into `dL/dx` in place, given the outputs `y = φ(x)`:
    /// φ' written through `y`, as burn's autodiff does.
    pub(crate) fn backward_host(self, dy: &mut [f32], y: &[f32]) {
        match self {
            Activation::Relu => math::zip_in_place(dy, y, |d, y| if y <= 0.0 { 0.0 } else { d }),
            Activation::Tanh => math::zip_in_place(dy, y, |d, y| d * (1.0 - y * y)),
            Activation::Sigmoid => math::zip_in_place(dy, y, |d, y| d * (y * (1.0 - y))),
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::ndarray::NdArray;
    use burn::tensor::TensorData;

    use super::*;
    use crate::host_node::tensor_to_vec;

    /// The host nonlinearity is burn's within the host kernels' accuracy, and
    /// both let a NaN through.
    #[test]
    fn host_and_burn_activations_agree() {
        let xs: Vec<f32> = (-400..=400)
            .map(|i| i as f32 * 0.025)
            .chain([f32::NAN])
            .collect();
        for act in [Activation::Relu, Activation::Tanh, Activation::Sigmoid] {
            let mut host = xs.clone();
            act.apply_host(&mut host);
            let burn = tensor_to_vec(act.apply(Tensor::<NdArray, 1>::from_data(
                TensorData::new(xs.clone(), [xs.len()]),
                &Default::default(),
            )));
            for ((x, h), b) in xs.iter().zip(&host).zip(&burn) {
                if x.is_nan() {
                    assert!(h.is_nan() && b.is_nan(), "{act:?} of NaN");
                } else {
                    assert!((h - b).abs() <= 3e-7, "{act:?}({x}): {h} vs {b}");
                }
            }
        }
    }

    /// The gradient through the outputs matches a central difference of the
    /// host nonlinearity.
    #[test]
    fn backward_is_the_derivative() {
        for act in [Activation::Relu, Activation::Tanh, Activation::Sigmoid] {
            for &x in &[-3.0f32, -0.7, -0.1, 0.2, 0.6, 1.5, 4.0] {
                let eps = 1e-2f32;
                let f = |v: f32| {
                    let mut s = [f64::from(v) as f32];
                    act.apply_host(&mut s);
                    f64::from(s[0])
                };
                let numeric = (f(x + eps) - f(x - eps)) / (2.0 * f64::from(eps));
                let mut y = [x];
                act.apply_host(&mut y);
                let mut d = [1.0f32];
                act.backward_host(&mut d, &y);
                assert!(
                    (f64::from(d[0]) - numeric).abs() <= 2e-3 * (1.0 + numeric.abs()),
                    "{act:?}'({x}): {} vs {numeric}",
                    d[0]
                );
            }
        }
    }
}
