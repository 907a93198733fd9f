//! The contract of LSUV, layer-sequential unit-variance initialization
//! (Mishkin & Matas 2015, "All you need is a good init", Algorithm 1).
//!
//! LSUV is data-dependent: after a pre-init (orthogonal by default;
//! [`Scheme::Lsuv`](crate::Scheme::Lsuv) samples it), each layer in forward
//! order is divided by the standard deviation of its output on one batch until
//! that variance is within `tolerance` of 1 or `max_iter` steps have run. The
//! forward passes need a model, which this crate knows nothing of, so the
//! model side is the trait [`LsuvModel`] and the loop is [`lsuv`].

use crate::Error;

/// What a model provides so that [`lsuv`] can rescale it.
///
/// Implemented in the models crate for each architecture, on one fixed batch.
pub trait LsuvModel {
    /// The number of layers LSUV rescales, in forward order (layers without
    /// weights, such as activations or pooling, are not counted).
    fn layer_count(&self) -> usize;

    /// Runs the batch forward and returns the variance of the output of
    /// `layer` (the pre-activation, as in the paper), over all its elements.
    fn output_variance(&mut self, layer: usize) -> f64;

    /// Multiplies the weights of `layer` by `factor` (not its bias).
    fn scale_weights(&mut self, layer: usize, factor: f64);
}

/// What [`lsuv`] did to one layer.
#[derive(Clone, Debug, PartialEq)]
pub struct LsuvLayer {
    /// Rescaling steps taken (0 if the variance was already within tolerance).
    pub iterations: u32,
    /// The output variance of the pre-init, before any step.
    pub variance_before: f64,
    /// The output variance after the last step.
    pub variance: f64,
    /// The product of the factors the weights were multiplied by.
    pub scale: f64,
    /// Whether `|variance − 1| < tolerance` in the end; `false` means
    /// `max_iter` ran out, which is a result to report, not an error.
    pub converged: bool,
}

/// Rescales each layer of `model` in forward order until its output variance
/// is within `tolerance` of 1, at most `max_iter` times per layer.
///
/// # Errors
/// [`Error::LsuvDegenerateVariance`] when a layer's output variance is 0 or
/// not finite, so that no factor can bring it to 1 (a dead layer, or a batch
/// that diverged); the layers before it have been rescaled already.
pub fn lsuv<M: LsuvModel + ?Sized>(
    model: &mut M,
    tolerance: f64,
    max_iter: u32,
) -> Result<Vec<LsuvLayer>, Error> {
    let mut report = Vec::with_capacity(model.layer_count());
    for layer in 0..model.layer_count() {
        let mut variance = model.output_variance(layer);
        let variance_before = variance;
        let mut iterations = 0;
        let mut scale = 1.0;
        loop {
            if !(variance.is_finite() && variance > 0.0) {
                return Err(Error::LsuvDegenerateVariance { layer, variance });
            }
            if (variance - 1.0).abs() < tolerance || iterations >= max_iter {
                break;
            }
            let factor = 1.0 / variance.sqrt();
            model.scale_weights(layer, factor);
            scale *= factor;
            iterations += 1;
            variance = model.output_variance(layer);
        }
        report.push(LsuvLayer {
            iterations,
            variance_before,
            variance,
            scale,
            converged: (variance - 1.0).abs() < tolerance,
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain of scalar layers `y = w · x` followed by `tanh`, whose output
    /// variance is not linear in `w`, so a step rarely lands exactly on 1.
    struct Chain {
        weights: Vec<f64>,
        batch: Vec<f64>,
    }

    impl LsuvModel for Chain {
        fn layer_count(&self) -> usize {
            self.weights.len()
        }

        fn output_variance(&mut self, layer: usize) -> f64 {
            let mut x = self.batch.clone();
            for (l, w) in self.weights.iter().enumerate() {
                x.iter_mut().for_each(|v| *v *= w);
                if l == layer {
                    break;
                }
                x.iter_mut().for_each(|v| *v = v.tanh());
            }
            let mean = x.iter().sum::<f64>() / x.len() as f64;
            x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64
        }

        fn scale_weights(&mut self, layer: usize, factor: f64) {
            self.weights[layer] *= factor;
        }
    }

    fn chain(weights: Vec<f64>) -> Chain {
        Chain {
            weights,
            batch: (0..64).map(|i| (f64::from(i) - 31.5) / 10.0).collect(),
        }
    }

    #[test]
    fn lsuv_brings_every_layer_to_unit_variance() {
        let mut model = chain(vec![0.3, 5.0, 0.01]);
        let report = lsuv(&mut model, 0.01, 10).unwrap();
        assert_eq!(report.len(), 3);
        for (layer, r) in report.iter().enumerate() {
            assert!(r.converged, "{layer}: {r:?}");
            assert!((model.output_variance(layer) - 1.0).abs() < 0.01);
        }
    }

    #[test]
    fn lsuv_stops_at_max_iter_without_error() {
        let mut model = chain(vec![1e-3]);
        let report = lsuv(&mut model, 1e-300, 2).unwrap();
        assert_eq!(report[0].iterations, 2);
    }

    #[test]
    fn lsuv_reports_a_dead_layer() {
        let mut model = chain(vec![1.0, 0.0]);
        assert_eq!(
            lsuv(&mut model, 0.1, 10),
            Err(Error::LsuvDegenerateVariance {
                layer: 1,
                variance: 0.0
            })
        );
    }
}
