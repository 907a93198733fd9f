//! The contract of LSUV, layer-sequential unit-variance initialization
//! (Mishkin & Matas 2015, "All you need is a good init", Algorithm 1).
//!
//! LSUV is data-dependent: after a pre-init (orthogonal by default;
//! [`Lsuv`]'s [`sample`](crate::Scheme::sample) draws it), each layer in forward
//! order is divided by the standard deviation of its output on one batch until
//! that variance is within `tolerance` of 1 or `max_iter` steps have run. The
//! forward passes need a model, which this crate knows nothing of, so the
//! model side is the trait [`LsuvModel`] and the loop is [`lsuv`].

use crate::scheme::{Initializer, LsuvSettings, Spec, Target};
use crate::spec::{Keys, SchemeKind};
use crate::{Error, InitRng, Scheme};

/// `lsuv(batch=train,max_iter=10,pre=orthogonal,tolerance=0.1)`.
pub const LSUV: SchemeKind = SchemeKind::new(
    "lsuv(batch=train,max_iter=10,pre=orthogonal,tolerance=0.1) | `pre` (a scheme name, its defaults), then each layer divided by the std of its pre-activation on a batch of `batch` training examples until `abs(Var−1) < tolerance` | Mishkin & Matas 2015, Alg. 1 | – | –",
    |keys| {
        Ok(Scheme::new(Lsuv {
            tolerance: keys.number("tolerance")?,
            max_iter: keys.integer("max_iter")?,
            pre: keys.scheme_name("pre")?,
            batch: batch(keys)?,
        }))
    },
);

/// Layer-sequential unit-variance (Mishkin & Matas 2015, Algorithm 1): a
/// pre-init (orthogonal, the paper's, unless `pre` names another; this is
/// what [`sample`](crate::Scheme::sample) draws), then the data-dependent
/// rescaling of [`lsuv`](crate::lsuv()), which the models run on the host on
/// one batch of training examples. Spec
/// `lsuv(batch=train,max_iter=10,pre=orthogonal,tolerance=0.1)`: the paper's
/// `Tol_var` and `T_max`; `batch`, the calibration batch's size (`train`: the
/// run's training batch size, as in the paper).
#[derive(Clone, Debug, PartialEq)]
pub struct Lsuv {
    /// `|Var − 1|` below which a layer is done; finite, `> 0`.
    pub tolerance: f64,
    /// Rescaling steps per layer at most; `≥ 1`.
    pub max_iter: u32,
    /// The pre-init, by name with its default keys (a spec value cannot hold
    /// parentheses); any scheme but `lsuv` itself.
    pub pre: Scheme,
    /// Examples in the calibration batch; `None`: the training batch size.
    pub batch: Option<u32>,
}

/// `batch`: a size, or `train` for the training batch size.
fn batch(keys: &Keys<'_>) -> Result<Option<u32>, Error> {
    match keys.value("batch") {
        None | Some("train") => Ok(None),
        Some(value) => value.parse::<u32>().map(Some).map_err(|_| {
            let expected = "a positive integer, or `train` for the training batch size";
            keys.invalid("batch", value, expected.to_string())
        }),
    }
}

impl Initializer for Lsuv {
    fn spec(&self) -> Spec {
        let name = LSUV.name;
        let batch = self
            .batch
            .map_or_else(|| "train".to_string(), |b| b.to_string());
        let mut spec = Spec::new(name, self.pre.needs())
            .positive("tolerance", self.tolerance)
            .text("max_iter", self.max_iter.to_string())
            // The name alone: `pre` always holds its defaults.
            .text("pre", self.pre.name())
            .text("batch", batch);
        for (key, value) in [("max_iter", Some(self.max_iter)), ("batch", self.batch)] {
            spec = spec.that(key, 0.0, value != Some(0), "an integer >= 1");
        }
        if self.pre.name() == name {
            return spec.check(Err(Error::InvalidValue {
                scheme: name,
                key: "pre",
                value: name.to_string(),
                expected: "a scheme other than lsuv".to_string(),
            }));
        }
        spec.check(self.pre.validate())
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        self.pre.initializer().draw(target, rng)
    }

    fn orthogonal_gain(&self) -> Option<f64> {
        self.pre.orthogonal_gain()
    }

    fn lsuv_settings(&self) -> Option<LsuvSettings> {
        Some(LsuvSettings {
            tolerance: self.tolerance,
            max_iter: self.max_iter,
            batch: self.batch,
        })
    }
}

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
