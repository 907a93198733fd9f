//! `exp`, `σ`, `tanh` and the softmax for the host kernels, in plain float
//! arithmetic.
//!
//! The standard library calls libm once per element: `tanh` costs about 20 ns,
//! and an LSTM step over the study's batch evaluates five of these functions on
//! every one of its 737 k gate values, which made the nonlinearities cost more
//! than the matmuls. These versions have no branches and no calls, so the
//! compiler vectorizes the loops over a slice (≈ 1 ns per element), and being
//! plain IEEE arithmetic they give the same bits on every machine, which libm
//! does not promise. Accuracy: `exp` within 2 ulp over its range, `σ` and
//! `tanh` within 3e-7 absolute and 2e-6 relative (tested below).

/// `eˣ` by Cody–Waite range reduction `x = n·ln 2 + r`, `|r| ≤ ln 2 / 2`, and a
/// degree-6 polynomial for `eʳ` (Cephes `expf`). Clamped to `[-87, 88]`, where
/// `eˣ` stays a normal float; NaN stays NaN, so a diverging run is still seen.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // Adding 1.5·2²³ rounds to an integer and leaves it in the low mantissa bits.
    const SHIFT: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + SHIFT;
    let n = shifted - SHIFT;
    let n_bits = shifted.to_bits().wrapping_sub(SHIFT.to_bits());
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let er = p * r * r + r + 1.0;
    er * f32::from_bits(n_bits.wrapping_add(127) << 23)
}

/// `σ(x) = 1 / (1 + e⁻ˣ)`.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh(x)`: an odd polynomial below |x| = 0.625 (Cephes `tanhf`), where
/// `1 − 2/(e²ˣ + 1)` would lose the low bits of small values, that formula above.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    let z = x * x;
    let small =
        ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_5e-2) * z + 1.333_144_2e-1) * z
            - 3.333_328e-1)
            * z
            * x
            + x;
    let large = 1.0 - 2.0 / (exp(2.0 * x) + 1.0);
    if x.abs() < 0.625 {
        small
    } else {
        large
    }
}

/// A loop for [`on_widest_vectors`].
pub trait VectorLoop {
    /// The loop; mark it `#[inline(always)]` so that it is compiled inside the
    /// wide-vector functions.
    fn run(&mut self);
}

/// Runs `body` compiled for the widest vector unit the CPU has: code built
/// for the baseline x86-64 runs 4 lanes wide. A loop of plain IEEE
/// arithmetic, element by element, gives the same bits at every width (Rust
/// never contracts `a * b + c` into a fused multiply-add), as do the
/// functions of this module. The host kernels and the host optimizers run
/// their element-wise loops through it.
#[inline(always)]
pub fn on_widest_vectors(body: &mut impl VectorLoop) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512(body: &mut impl VectorLoop) {
            body.run()
        }
        #[target_feature(enable = "avx2")]
        fn avx2(body: &mut impl VectorLoop) {
            body.run()
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            return unsafe { avx512(body) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { avx2(body) };
        }
    }
    body.run()
}

/// `f` over a slice, in place.
struct Map<'a, F> {
    xs: &'a mut [f32],
    f: F,
}

impl<F: Fn(f32) -> f32> VectorLoop for Map<'_, F> {
    #[inline(always)]
    fn run(&mut self) {
        self.xs.iter_mut().for_each(|v| *v = (self.f)(*v));
    }
}

/// `max(0, x)` over a slice, in place, written as a select so that it runs
/// on vectors (a conditional store does not); a NaN stays NaN, as in burn.
pub(crate) fn relu_in_place(xs: &mut [f32]) {
    on_widest_vectors(&mut Map {
        xs,
        f: |x: f32| if x <= 0.0 { 0.0 } else { x },
    });
}

/// `xs[i] = f(xs[i], ys[i])`, on the widest vectors; `ys` at least as long.
pub fn zip_in_place(xs: &mut [f32], ys: &[f32], f: impl Fn(f32, f32) -> f32) {
    struct Zip<'a, F> {
        xs: &'a mut [f32],
        ys: &'a [f32],
        f: F,
    }
    impl<F: Fn(f32, f32) -> f32> VectorLoop for Zip<'_, F> {
        #[inline(always)]
        fn run(&mut self) {
            self.xs
                .iter_mut()
                .zip(self.ys)
                .for_each(|(x, &y)| *x = (self.f)(*x, y));
        }
    }
    on_widest_vectors(&mut Zip { xs, ys, f });
}

/// `tanh` over a slice, in place.
pub(crate) fn tanh_in_place(xs: &mut [f32]) {
    on_widest_vectors(&mut Map { xs, f: tanh });
}

/// `σ` over a slice, in place.
pub(crate) fn sigmoid_in_place(xs: &mut [f32]) {
    on_widest_vectors(&mut Map { xs, f: sigmoid });
}

/// Element `i` of a row goes to lane `i % LANES` of the maximum and the sum of
/// [`exp_shifted_in_place`], and the lanes are combined in one fixed order, so
/// the result does not depend on the vector width that computes it.
const LANES: usize = 16;

/// Turns `row` into `exp(row − max)` and returns `(max, Σ exp(row − max))`: the
/// log-sum-exp is `max + ln(sum)`, the softmax `row / sum`. A NaN in the row
/// makes the sum NaN.
pub(crate) fn exp_shifted_in_place(row: &mut [f32]) -> (f32, f32) {
    struct ExpShifted<'a> {
        row: &'a mut [f32],
        out: (f32, f32),
    }
    impl VectorLoop for ExpShifted<'_> {
        #[inline(always)]
        fn run(&mut self) {
            self.out = exp_shifted(self.row);
        }
    }
    let mut body = ExpShifted {
        row,
        out: (0.0, 0.0),
    };
    on_widest_vectors(&mut body);
    body.out
}

#[inline(always)]
fn exp_shifted(row: &mut [f32]) -> (f32, f32) {
    let mut maxima = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (m, &x) in maxima.iter_mut().zip(chunk) {
            *m = m.max(x);
        }
    }
    for (m, &x) in maxima.iter_mut().zip(chunks.remainder()) {
        *m = m.max(x);
    }
    let max = maxima.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sums = [0.0f32; LANES];
    let mut chunks = row.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for (s, x) in sums.iter_mut().zip(chunk) {
            *x = exp(*x - max);
            *s += *x;
        }
    }
    for (s, x) in sums.iter_mut().zip(chunks.into_remainder()) {
        *x = exp(*x - max);
        *s += *x;
    }
    (max, sums.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 97th float bit pattern between `lo` and `hi`, both signs.
    fn grid(lo: f32, hi: f32) -> impl Iterator<Item = f32> {
        (lo.to_bits()..hi.to_bits())
            .step_by(97)
            .map(f32::from_bits)
            .flat_map(|x| [x, -x])
    }

    #[test]
    fn exp_is_within_two_ulp_of_f64() {
        for x in grid(1e-8, 87.0) {
            let exact = (x as f64).exp();
            let ulp = (exact as f32).to_bits().abs_diff(exp(x).to_bits());
            assert!(ulp <= 2, "exp({x}) = {} vs {exact}: {ulp} ulp", exp(x));
        }
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) > 0.0 && exp(1000.0).is_finite());
    }

    #[test]
    fn sigmoid_and_tanh_match_f64() {
        for x in grid(1e-12, 40.0) {
            let xf = x as f64;
            let exact_tanh = xf.tanh();
            let exact_sigmoid = 1.0 / (1.0 + (-xf).exp());
            for (name, got, exact) in [
                ("tanh", tanh(x) as f64, exact_tanh),
                ("sigmoid", sigmoid(x) as f64, exact_sigmoid),
            ] {
                let abs = (got - exact).abs();
                assert!(
                    abs <= 3e-7 && abs <= 2e-6 * exact.abs().max(1e-30) + 1e-30,
                    "{name}({x}) = {got} vs {exact}"
                );
            }
        }
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(50.0), 1.0);
        assert_eq!(tanh(-50.0), -1.0);
        assert_eq!(sigmoid(0.0), 0.5);
        // A diverged run must stay visible as NaN.
        assert!(exp(f32::NAN).is_nan() && tanh(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan());
    }

    #[test]
    fn slice_versions_agree_with_the_scalar_ones() {
        let mut xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.013).collect();
        let expected: Vec<f32> = xs.iter().map(|&x| tanh(x)).collect();
        tanh_in_place(&mut xs);
        assert_eq!(xs, expected);
        let mut ys: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.013).collect();
        let expected: Vec<f32> = ys.iter().map(|&x| sigmoid(x)).collect();
        sigmoid_in_place(&mut ys);
        assert_eq!(ys, expected);
    }

    /// The vector ReLU is the branchy one bit for bit: −0 and negatives to +0,
    /// NaN kept; and the zip gives what a plain loop gives.
    #[test]
    fn relu_and_zip_on_vectors_match_plain_loops() {
        let mut xs: Vec<f32> = (0..1001).map(|i| (i as f32 - 500.0) * 0.013).collect();
        xs.extend([-0.0, 0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY]);
        let mut expected = xs.clone();
        expected.iter_mut().for_each(|v| {
            if *v <= 0.0 {
                *v = 0.0;
            }
        });
        let mut relu = xs.clone();
        relu_in_place(&mut relu);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&relu), bits(&expected));
        let ys: Vec<f32> = xs.iter().map(|x| x * 0.5 - 0.25).collect();
        let expected: Vec<f32> = xs.iter().zip(&ys).map(|(x, y)| x * (1.0 - y * y)).collect();
        zip_in_place(&mut xs, &ys, |x, y| x * (1.0 - y * y));
        assert_eq!(bits(&xs), bits(&expected));
    }

    #[test]
    fn exp_shifted_is_the_softmax_and_log_sum_exp() {
        for len in [1usize, 15, 16, 17, 359] {
            let row: Vec<f32> = (0..len)
                .map(|i| ((i * 37) % 101) as f32 * 0.3 - 12.0)
                .collect();
            let mut e = row.clone();
            let (max, sum) = exp_shifted_in_place(&mut e);
            let exact_max = row
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, |m, x| m.max(f64::from(x)));
            let exact_sum: f64 = row.iter().map(|&x| (f64::from(x) - exact_max).exp()).sum();
            assert_eq!(f64::from(max), exact_max);
            assert!(
                (f64::from(sum) - exact_sum).abs() < 1e-6 * exact_sum,
                "{len}: {sum} vs {exact_sum}"
            );
            for (&x, &v) in row.iter().zip(&e) {
                assert_eq!(v, exp(x - max));
            }
            // Every vector width gives the portable bits.
            let mut portable = row.clone();
            assert_eq!(exp_shifted(&mut portable), (max, sum));
            assert_eq!(portable, e);
        }
        let mut with_nan = vec![1.0f32, f32::NAN, 2.0];
        assert!(exp_shifted_in_place(&mut with_nan).1.is_nan());
    }
}
