//! What each hidden layer outputs on a fixed batch, at initialization and after
//! training: the picture of dead ReLUs and saturated tanh/sigmoid units.

use initlab_models::Activation;

use crate::network::LayerOutputs;
use crate::record::ActivationStats;

/// Histogram bins; odd, so 0 sits in the middle bin of a range symmetric about it.
pub(crate) const BINS: usize = 61;

/// Per hidden layer: histograms of the outputs before and after training on one
/// shared range, the fractions of units and outputs in the flat region, and
/// the outputs' standard deviation.
pub(crate) fn stats(
    activation: Activation,
    init: &[LayerOutputs],
    trained: &[LayerOutputs],
) -> Vec<ActivationStats> {
    init.iter()
        .zip(trained)
        .map(|(before, after)| {
            let (b, a) = (&before.values, &after.values);
            let range = range(b.iter().chain(a.iter()));
            ActivationStats {
                layer: before.layer.clone(),
                range,
                histogram: [histogram(b, range), histogram(a, range)],
                dead_fraction: [
                    dead_units(activation, b, before.rows),
                    dead_units(activation, a, after.rows),
                ],
                flat_fraction: [flat(activation, b), flat(activation, a)],
                std: [std(b), std(a)],
            }
        })
        .collect()
}

/// Standard deviation of the finite values (NaN when there are none).
fn std(values: &[f32]) -> f32 {
    let finite = values
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| f64::from(v));
    let (n, sum, sq) = finite.fold((0usize, 0.0, 0.0), |(n, s, q), v| (n + 1, s + v, q + v * v));
    if n == 0 {
        return f32::NAN;
    }
    let mean = sum / n as f64;
    ((sq / n as f64 - mean * mean).max(0.0)).sqrt() as f32
}

/// Whether an output sits where the nonlinearity's gradient (nearly) vanishes:
/// exactly 0 for ReLU, |a| > 0.99 for tanh, below 0.01 or above 0.99 for sigmoid.
fn is_flat(activation: Activation, a: f32) -> bool {
    match activation {
        Activation::Relu => a == 0.0,
        Activation::Tanh => a.abs() > 0.99,
        Activation::Sigmoid => !(0.01..=0.99).contains(&a),
    }
}

/// Fraction of outputs in the flat region.
fn flat(activation: Activation, values: &[f32]) -> f32 {
    let n = values.len().max(1);
    values.iter().filter(|&&a| is_flat(activation, a)).count() as f32 / n as f32
}

/// Fraction of units flat on every example of the batch: a dead ReLU, or a
/// unit saturated whatever the input. `values` is `[examples × units]`.
fn dead_units(activation: Activation, values: &[f32], examples: usize) -> f32 {
    let units = values.len() / examples.max(1);
    if units == 0 {
        return 0.0;
    }
    let dead = (0..units)
        .filter(|&u| (0..examples).all(|e| is_flat(activation, values[e * units + u])))
        .count();
    dead as f32 / units as f32
}

/// `[min, max]` of the finite values, widened when they are all equal.
fn range<'a>(values: impl Iterator<Item = &'a f32>) -> [f32; 2] {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return [-1.0, 1.0];
    }
    if hi - lo < 1e-6 {
        return [lo - 0.5, hi + 0.5];
    }
    [lo, hi]
}

/// Fraction of the finite values in each of [`BINS`] equal bins over `range`.
fn histogram(values: &[f32], [lo, hi]: [f32; 2]) -> Vec<f32> {
    let mut counts = vec![0usize; BINS];
    let width = (hi - lo) / BINS as f32;
    let mut n = 0usize;
    for &v in values.iter().filter(|v| v.is_finite()) {
        let bin = (((v - lo) / width) as usize).min(BINS - 1);
        counts[bin] += 1;
        n += 1;
    }
    counts.iter().map(|&c| c as f32 / n.max(1) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(post: Vec<Vec<f32>>, rows: usize) -> Vec<LayerOutputs> {
        LayerOutputs::layers(post, rows, "layers.")
    }

    #[test]
    fn dead_relu_units_and_flat_outputs() {
        // 2 examples × 3 units: unit 0 is dead, unit 1 fires once, unit 2 always.
        let before = trace(vec![vec![0.0, 1.0, 2.0, 0.0, 0.0, 3.0]], 2);
        let after = trace(vec![vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0]], 2);
        let s = &stats(Activation::Relu, &before, &after)[0];
        assert_eq!(s.layer, "layers.0");
        assert_eq!(s.dead_fraction, [1.0 / 3.0, 2.0 / 3.0]);
        assert_eq!(s.flat_fraction, [0.5, 4.0 / 6.0]);
        assert_eq!(s.range, [0.0, 3.0]);
        // Mean 1, mean square 14/6: σ = √(4/3).
        assert!(
            (s.std[0] - (4.0f32 / 3.0).sqrt()).abs() < 1e-6,
            "{:?}",
            s.std
        );
        let total: f32 = s.histogram[0].iter().sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert_eq!(
            s.histogram[0][0], 0.5,
            "the three zeros share the first bin"
        );
    }

    #[test]
    fn saturation_of_tanh_and_sigmoid() {
        let t = trace(vec![vec![0.995, -0.999, 0.2, 0.995]], 2);
        let s = &stats(Activation::Tanh, &t, &t)[0];
        assert_eq!(s.flat_fraction[0], 0.75);
        assert_eq!(s.dead_fraction[0], 0.5, "unit 0 saturated on both examples");
        let g = trace(vec![vec![0.001, 0.5]], 1);
        assert_eq!(stats(Activation::Sigmoid, &g, &g)[0].flat_fraction[0], 0.5);
    }

    #[test]
    fn non_finite_values_do_not_break_the_histogram() {
        let nan = trace(vec![vec![f32::NAN, f32::INFINITY]], 1);
        let s = &stats(Activation::Relu, &nan, &nan)[0];
        assert_eq!(s.range, [-1.0, 1.0]);
        assert!(s.std[0].is_nan());
        assert!(s.histogram[0].iter().all(|f| *f == 0.0));
    }
}
