//! Gaussian expectations E[f(u)], u ~ N(m, v), by quadrature.
//!
//! Two rules, picked by the variance:
//! - v ≤ [`GH_MAX_VARIANCE`]: Gauss–Hermite with [`GH_NODES`] nodes. It is
//!   exact for polynomials of degree < 2·[`GH_NODES`]; for tanh and sigmoid,
//!   analytic in a strip of half-width d = π/(2√v) around the real axis in
//!   z = u/√v, its error falls like exp(−d·√(2n)): about 1e-11 at v = 1 but
//!   7e-7 at v = 4 (measured), which is why the switch is at v = 1. The
//!   tests check both rules against a fine trapezoid sum to 1e-10.
//! - larger v: Gauss–Hermite would need n ∝ v nodes to resolve tanh's unit
//!   width, so the integral is taken in u instead, by 10-point Gauss–Legendre
//!   on panels of width at most 1 over m ± 12√v (the mass outside is below
//!   1e-32). For a saturating φ the range is further cut to ±40, beyond which
//!   tanh, sigmoid and their derivatives are constant in f64; the cut-off
//!   mass enters with f at the cut.
//!
//! Nodes come from Newton's method on the orthonormal three-term recurrences
//! (Golub & Welsch's nodes, without the eigenproblem), to machine precision.

/// Gauss–Hermite nodes used at small variance.
pub const GH_NODES: usize = 128;
/// The largest variance the Gauss–Hermite rule is used for.
pub const GH_MAX_VARIANCE: f64 = 1.0;
/// Gauss–Legendre points per panel at large variance.
const GL_NODES: usize = 10;
/// Standard deviations either side of the mean that the panels cover.
const SPAN_SD: f64 = 12.0;
/// |u| beyond which a saturating φ is constant in f64 (tanh(20) = 1 already).
const PLATEAU: f64 = 40.0;

/// The two rules' nodes and weights, computed once.
#[derive(Clone, Debug)]
pub struct Quadrature {
    /// Standard-normal nodes z_i and weights w_i: E[f(z)] ≈ Σ w_i f(z_i).
    gh: Vec<(f64, f64)>,
    /// Gauss–Legendre nodes and weights on [−1, 1].
    gl: Vec<(f64, f64)>,
}

impl Default for Quadrature {
    fn default() -> Self {
        Quadrature::new()
    }
}

impl Quadrature {
    /// Computes both rules' nodes (a few hundred microseconds).
    pub fn new() -> Quadrature {
        let gh = gauss_hermite(GH_NODES)
            .into_iter()
            .map(|(x, w)| {
                (
                    std::f64::consts::SQRT_2 * x,
                    w / std::f64::consts::PI.sqrt(),
                )
            })
            .collect();
        Quadrature {
            gh,
            gl: gauss_legendre(GL_NODES),
        }
    }

    /// E[f(u)], u ~ N(mean, var). `saturates` says f is constant beyond
    /// |u| = 40 (true for tanh, sigmoid and their derivatives), which lets a
    /// large variance be integrated over a bounded range.
    pub fn expect(&self, mean: f64, var: f64, saturates: bool, f: impl Fn(f64) -> f64) -> f64 {
        if var <= 0.0 {
            return f(mean);
        }
        let sd = var.sqrt();
        if var <= GH_MAX_VARIANCE {
            return self.gh.iter().map(|&(z, w)| w * f(mean + sd * z)).sum();
        }
        let (mut lo, mut hi) = (mean - SPAN_SD * sd, mean + SPAN_SD * sd);
        let clipped = saturates && (lo < -PLATEAU || hi > PLATEAU);
        if clipped {
            lo = lo.max(-PLATEAU).min(mean);
            hi = hi.min(PLATEAU).max(mean);
        }
        let density = |u: f64| {
            let t = (u - mean) / sd;
            (-0.5 * t * t).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt())
        };
        // [lo, mean] and [mean, hi] separately, so that a clipped tail's mass
        // is one half less what the rule puts inside (beyond 12 sd it is
        // below 1e-32 and left out).
        let half = |a: f64, b: f64| -> (f64, f64) {
            let panels = ((b - a).abs().ceil() as usize).max(1);
            let h = (b - a) / panels as f64;
            let (mut integral, mut mass) = (0.0, 0.0);
            for p in 0..panels {
                let centre = a + (p as f64 + 0.5) * h;
                for &(x, w) in &self.gl {
                    let u = centre + 0.5 * h * x;
                    let d = 0.5 * h * w * density(u);
                    integral += d * f(u);
                    mass += d;
                }
            }
            (integral, mass)
        };
        let (below, below_mass) = half(lo, mean);
        let (above, above_mass) = half(mean, hi);
        let mut total = below + above;
        if clipped {
            total += (0.5 - below_mass).max(0.0) * f(lo) + (0.5 - above_mass).max(0.0) * f(hi);
        }
        total
    }

    /// E[g(u_a)·h(u_b)] for a centred Gaussian pair with variances `qa`,
    /// `qb` and covariance `qab`: u_b given u_a is N(u_a·qab/qa, qb − qab²/qa),
    /// so the pair is two nested one-dimensional rules. Every map of the
    /// mean-field theory integrates such a product; taking g(u_a) out of the
    /// inner rule halves the evaluations of φ, which is most of the cost of
    /// a fixed point.
    pub fn expect_product(
        &self,
        qa: f64,
        qb: f64,
        qab: f64,
        saturates: bool,
        g: impl Fn(f64) -> f64,
        h: impl Fn(f64) -> f64,
    ) -> f64 {
        if qa <= 0.0 {
            return g(0.0) * self.expect(0.0, qb, saturates, h);
        }
        let slope = qab / qa;
        let residual = (qb - qab * slope).max(0.0);
        self.expect(0.0, qa, saturates, |ua| {
            g(ua) * self.expect(slope * ua, residual, saturates, &h)
        })
    }
}

/// Gauss–Hermite nodes and weights for the weight e^{−x²} (Newton on the
/// orthonormal Hermite recurrence; starting guesses of Numerical Recipes §4.6).
fn gauss_hermite(n: usize) -> Vec<(f64, f64)> {
    const PIM4: f64 = 0.751_125_544_464_942_5; // π^(−1/4)
    let nf = n as f64;
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let mut z = 0.0_f64;
    for i in 0..n.div_ceil(2) {
        z = match i {
            0 => (2.0 * nf + 1.0).sqrt() - 1.85575 * (2.0 * nf + 1.0).powf(-1.0 / 6.0),
            1 => z - 1.14 * nf.powf(0.426) / z,
            2 => 1.86 * z - 0.86 * x[0],
            3 => 1.91 * z - 0.91 * x[1],
            _ => 2.0 * z - x[i - 2],
        };
        let mut derivative = 1.0;
        for _ in 0..100 {
            let (mut p1, mut p2) = (PIM4, 0.0);
            for j in 1..=n {
                let jf = j as f64;
                let p3 = p2;
                p2 = p1;
                p1 = z * (2.0 / jf).sqrt() * p2 - ((jf - 1.0) / jf).sqrt() * p3;
            }
            derivative = (2.0 * nf).sqrt() * p2;
            let step = p1 / derivative;
            z -= step;
            if step.abs() <= 1e-15 * z.abs().max(1.0) {
                break;
            }
        }
        x[i] = z;
        x[n - 1 - i] = -z;
        w[i] = 2.0 / (derivative * derivative);
        w[n - 1 - i] = w[i];
    }
    x.into_iter().zip(w).collect()
}

/// Gauss–Legendre nodes and weights on [−1, 1].
fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    let nf = n as f64;
    let mut nodes = vec![(0.0, 0.0); n];
    for i in 0..n.div_ceil(2) {
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (nf + 0.5)).cos();
        let mut derivative = 1.0;
        for _ in 0..100 {
            let (mut p1, mut p2) = (1.0, 0.0);
            for j in 0..n {
                let jf = j as f64;
                let p3 = p2;
                p2 = p1;
                p1 = ((2.0 * jf + 1.0) * z * p2 - jf * p3) / (jf + 1.0);
            }
            derivative = nf * (z * p1 - p2) / (z * z - 1.0);
            let step = p1 / derivative;
            z -= step;
            if step.abs() <= 1e-16 {
                break;
            }
        }
        let w = 2.0 / ((1.0 - z * z) * derivative * derivative);
        nodes[i] = (-z, w);
        nodes[n - 1 - i] = (z, w);
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (2k − 1)!!, the 2k-th moment of N(0, 1).
    fn double_factorial(k: u32) -> f64 {
        (1..=k).map(|i| f64::from(2 * i - 1)).product()
    }

    #[test]
    fn hermite_rule_integrates_polynomials_exactly() {
        let q = Quadrature::new();
        for k in 0..20 {
            let exact = double_factorial(k);
            let got = q.expect(0.0, 1.0, false, |z| z.powi(2 * k as i32));
            assert!(
                (got - exact).abs() <= 1e-12 * exact,
                "E[z^{}] = {got}, expected {exact}",
                2 * k
            );
            let odd = q.expect(0.0, 1.0, false, |z| z.powi(2 * k as i32 + 1));
            assert!(odd.abs() < 1e-9 * exact.max(1.0), "odd moment {odd}");
        }
    }

    #[test]
    fn legendre_rule_integrates_polynomials_exactly() {
        let q = Quadrature::new();
        let sum: f64 = q.gl.iter().map(|&(_, w)| w).sum();
        assert!((sum - 2.0).abs() < 1e-14);
        // Large variance takes the Legendre path: E[u²] = v, E[u⁴] = 3v².
        let v = 9.0;
        assert!((q.expect(0.0, v, false, |u| u * u) - v).abs() < 1e-11 * v);
        assert!((q.expect(1.5, v, false, |u| (u - 1.5).powi(4)) - 3.0 * v * v).abs() < 1e-10);
    }

    /// E[f(u)], u ~ N(mean, var), by the trapezoid rule with step 0.005
    /// over ±max(60, 14 sd): exponentially accurate for a smooth integrand.
    fn trapezoid(mean: f64, var: f64, f: impl Fn(f64) -> f64) -> f64 {
        let h = 0.005;
        let reach = (14.0 * var.sqrt()).max(60.0);
        let steps = (2.0 * reach / h) as usize;
        let norm = (2.0 * std::f64::consts::PI * var).sqrt();
        (0..=steps)
            .map(|i| {
                let u = -reach + i as f64 * h;
                f(u) * (-0.5 * (u - mean).powi(2) / var).exp()
            })
            .sum::<f64>()
            * h
            / norm
    }

    #[test]
    fn both_rules_match_a_fine_trapezoid_sum_on_tanh_and_sigmoid() {
        let q = Quadrature::new();
        let tanh2 = |u: f64| u.tanh().powi(2);
        let dtanh2 = |u: f64| (1.0 - u.tanh().powi(2)).powi(2);
        let sigmoid2 = |u: f64| (1.0 / (1.0 + (-u).exp())).powi(2);
        // The first two variances take the Hermite rule, the rest Legendre
        // (the last one clipped at ±40).
        for var in [
            0.05,
            GH_MAX_VARIANCE,
            GH_MAX_VARIANCE * 1.0001,
            4.0,
            30.0,
            200.0,
        ] {
            for (name, f) in [
                ("tanh²", &tanh2 as &dyn Fn(f64) -> f64),
                ("tanh′²", &dtanh2),
                ("sigmoid²", &sigmoid2),
            ] {
                let got = q.expect(0.3, var, true, f);
                let want = trapezoid(0.3, var, f);
                assert!(
                    (got - want).abs() < 1e-10,
                    "{name} at variance {var}: quadrature {got}, trapezoid {want}"
                );
            }
        }
    }

    #[test]
    fn pair_expectation_matches_the_closed_forms() {
        // E[u_a u_b] = qab and E[u_a² u_b²] = qa qb + 2 qab².
        let q = Quadrature::new();
        let (qa, qb, qab) = (1.3, 0.7, 0.5);
        assert!((q.expect_product(qa, qb, qab, false, |a| a, |b| b) - qab).abs() < 1e-12);
        let exact = qa * qb + 2.0 * qab * qab;
        assert!((q.expect_product(qa, qb, qab, false, |a| a * a, |b| b * b) - exact).abs() < 1e-12);
        // Perfectly correlated: the inner variance is zero.
        assert!((q.expect_product(2.0, 2.0, 2.0, false, |a| a, |b| b) - 2.0).abs() < 1e-12);
    }
}
