//! The length and correlation maps of a wide random network, their fixed
//! points and the depth scales (Poole et al. 2016; Schoenholz et al. 2017).
//!
//! Weights are N(0, σ_w²/fan_in), biases N(0, σ_b²). At width → ∞ every
//! pre-activation h^l_i is Gaussian over the draw of the weights, with
//! q^l = E[(h^l)²] and, for two inputs a and b, q^l_ab = E[h^l_a h^l_b]:
//!
//! - length map:      q^l    = σ_w² E[φ(u)²] + σ_b²,          u ~ N(0, q^{l−1})
//! - covariance map:  q^l_ab = σ_w² E[φ(u_a)φ(u_b)] + σ_b²,  (u_a, u_b) with q^{l−1}_a, q^{l−1}_b, q^{l−1}_ab
//! - correlation map at the fixed length q*: c ↦ (σ_w² E[φ(u_1)φ(u_2)] + σ_b²) / q*
//!
//! c = 1 is always a fixed point; its slope is χ₁ = σ_w² E[φ′(u)²] (u ~ N(0, q*)),
//! so it attracts (ordered phase) when χ₁ < 1 and repels (chaotic phase, c* < 1)
//! when χ₁ > 1. Deviations from the fixed points decay as e^{−l/ξ}:
//!
//! - ξ_q⁻¹ = −ln L′(q*), L′(q) = σ_w² E[φ′(u)² + φ(u)φ″(u)] (Stein's lemma on dL/dq);
//! - ξ_c⁻¹ = −ln[σ_w² E[φ′(u_1)φ′(u_2)]] at (q*, c*), the correlation map's slope
//!   at c* (Price's theorem); −ln χ₁ in the ordered phase.
//!
//! ReLU and linear use closed forms (the arc-cosine kernel of Cho & Saul 2009
//! for ReLU), exact where quadrature would meet ReLU's kink.

use std::f64::consts::PI;
use std::sync::OnceLock;

use crate::activation::Activation;
use crate::quadrature::Quadrature;
use crate::Error;

fn quadrature() -> &'static Quadrature {
    static RULE: OnceLock<Quadrature> = OnceLock::new();
    RULE.get_or_init(Quadrature::new)
}

/// A wide random network's layer: its nonlinearity and its weight and bias
/// variances (weights N(0, σ_w²/fan_in), biases N(0, σ_b²)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanField {
    /// φ.
    pub activation: Activation,
    /// σ_w²: the weights' variance times the fan-in.
    pub sigma_w2: f64,
    /// σ_b²: the biases' variance.
    pub sigma_b2: f64,
}

/// The fixed points and depth scales of one (φ, σ_w², σ_b²).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FixedPoint {
    /// q*, the length map's stable fixed point (pre-activation second moment).
    pub q_star: f64,
    /// χ₁ = σ_w² E[φ′(u)²], u ~ N(0, q*): the slope of the correlation map at c = 1.
    pub chi1: f64,
    /// c*, the correlation map's stable fixed point (1 in the ordered phase).
    pub c_star: f64,
    /// ξ_q, the depth over which the length approaches q* (∞ at slope 1).
    pub xi_q: f64,
    /// ξ_c, the depth over which the correlation approaches c* (∞ where χ₁ = 1).
    pub xi_c: f64,
}

impl MeanField {
    /// Checks σ_w² > 0 and σ_b² ≥ 0, both finite.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the offending variance.
    pub fn new(activation: Activation, sigma_w2: f64, sigma_b2: f64) -> Result<Self, Error> {
        if !(sigma_w2.is_finite() && sigma_w2 > 0.0) {
            return Err(Error::InvalidParameter {
                name: "sigma_w2",
                value: sigma_w2,
                expected: "a finite number > 0",
            });
        }
        if !(sigma_b2.is_finite() && sigma_b2 >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "sigma_b2",
                value: sigma_b2,
                expected: "a finite number ≥ 0",
            });
        }
        Ok(MeanField {
            activation,
            sigma_w2,
            sigma_b2,
        })
    }

    /// q^l from q^{l−1}: σ_w² E[φ(u)²] + σ_b², u ~ N(0, q).
    pub fn length_map(&self, q: f64) -> f64 {
        self.sigma_w2 * second_moment(self.activation, q) + self.sigma_b2
    }

    /// The covariance map: (q^l_a, q^l_b, q^l_ab) from the previous layer's.
    pub fn covariance_map(&self, qa: f64, qb: f64, qab: f64) -> (f64, f64, f64) {
        let la = self.length_map(qa);
        // Two inputs of one length (the correlation map's case) share it.
        let lb = if qb == qa { la } else { self.length_map(qb) };
        (
            la,
            lb,
            self.sigma_w2 * cross_moment(self.activation, qa, qb, qab) + self.sigma_b2,
        )
    }

    /// The correlation map at q: c^l from c^{l−1}, both inputs of length q.
    pub fn correlation_map(&self, q: f64, c: f64) -> f64 {
        let (qa, _, qab) = self.covariance_map(q, q, c * q);
        if qa > 0.0 {
            qab / qa
        } else {
            1.0
        }
    }

    /// The slope of the length map, L′(q) = σ_w² E[φ′(u)² + φ(u)φ″(u)].
    pub fn length_slope(&self, q: f64) -> f64 {
        let a = self.activation;
        let e = match a {
            Activation::Linear => 1.0,
            Activation::Relu => 0.5,
            _ => quadrature().expect(0.0, q, true, |u| a.dphi(u).powi(2) + a.phi(u) * a.d2phi(u)),
        };
        self.sigma_w2 * e
    }

    /// χ₁ at length q: σ_w² E[φ′(u)²], u ~ N(0, q).
    pub fn chi1_at(&self, q: f64) -> f64 {
        self.sigma_w2 * derivative_cross_moment(self.activation, q, q, q)
    }

    /// The slope of the correlation map at (q, c): σ_w² E[φ′(u_1)φ′(u_2)].
    pub fn correlation_slope(&self, q: f64, c: f64) -> f64 {
        self.sigma_w2 * derivative_cross_moment(self.activation, q, q, c * q)
    }

    /// q*, the fixed point the length map converges to from any q⁰ > 0.
    ///
    /// For tanh and sigmoid the map is bounded, increasing and concave, so
    /// the fixed point is the largest root of L(q) − q, found by bisection to
    /// machine precision (0 where that is the only root: tanh, σ_b² = 0,
    /// σ_w² ≤ 1). Linear and ReLU have the closed form σ_b² / (1 − s),
    /// s = σ_w² or σ_w²/2.
    ///
    /// # Errors
    /// [`Error::NoFixedPoint`] for linear or ReLU with slope s ≥ 1.
    pub fn q_star(&self) -> Result<f64, Error> {
        let a = self.activation;
        if !a.is_bounded() {
            let slope = self.length_slope(1.0);
            if slope < 1.0 {
                return Ok(self.sigma_b2 / (1.0 - slope));
            }
            let behaviour = if slope == 1.0 && self.sigma_b2 == 0.0 {
                "stays at q⁰ whatever it is"
            } else {
                "grows without limit"
            };
            return Err(Error::NoFixedPoint {
                activation: a.name(),
                sigma_w2: self.sigma_w2,
                sigma_b2: self.sigma_b2,
                slope,
                behaviour,
            });
        }
        let g = |q: f64| self.length_map(q) - q;
        // sup φ² = 1 for tanh and sigmoid, so L(q) < σ_w² + σ_b² ≤ hi.
        let mut hi = (self.sigma_w2 + self.sigma_b2) * (1.0 + 1e-9);
        let mut lo = hi;
        loop {
            lo *= 0.5;
            if g(lo) > 0.0 {
                break;
            }
            if lo < 1e-300 {
                return Ok(0.0);
            }
            hi = lo;
        }
        Ok(bisect(g, lo, hi, 200))
    }

    /// c*, the correlation map's stable fixed point at q*: 1 when χ₁ ≤ 1,
    /// else the one root of C(c) = c in [0, 1) (C is increasing and convex
    /// there: its power series in c has non-negative coefficients).
    fn c_star_at(&self, q: f64, chi1: f64) -> f64 {
        if chi1 <= 1.0 || q <= 0.0 {
            return 1.0;
        }
        let g = |c: f64| self.correlation_map(q, c) - c;
        if g(0.0) <= 0.0 {
            return 0.0;
        }
        // Walk towards 1 until below the diagonal: C(1 − δ) ≈ 1 − χ₁δ < 1 − δ.
        let mut delta: f64 = 0.5;
        while g(1.0 - delta) >= 0.0 {
            delta *= 0.5;
            if delta < 1e-15 {
                return 1.0;
            }
        }
        bisect(g, 0.0, 1.0 - delta, 64)
    }

    /// q*, χ₁, c*, ξ_q and ξ_c.
    ///
    /// # Errors
    /// As [`MeanField::q_star`].
    pub fn fixed_point(&self) -> Result<FixedPoint, Error> {
        let q_star = self.q_star()?;
        let chi1 = self.chi1_at(q_star);
        let c_star = self.c_star_at(q_star, chi1);
        let slope_c = if c_star >= 1.0 {
            chi1
        } else {
            self.correlation_slope(q_star, c_star)
        };
        Ok(FixedPoint {
            q_star,
            chi1,
            c_star,
            xi_q: depth_scale(self.length_slope(q_star)),
            xi_c: depth_scale(slope_c),
        })
    }
}

/// ξ = −1 / ln(slope); ∞ where the slope is 1 or more (no decay).
fn depth_scale(slope: f64) -> f64 {
    if slope >= 1.0 || slope.is_nan() {
        f64::INFINITY
    } else if slope <= 0.0 {
        0.0
    } else {
        -1.0 / slope.ln()
    }
}

/// E[φ(u)²], u ~ N(0, q).
pub fn second_moment(activation: Activation, q: f64) -> f64 {
    match activation {
        Activation::Linear => q,
        Activation::Relu => 0.5 * q,
        a => quadrature().expect(0.0, q, true, |u| a.phi(u).powi(2)),
    }
}

/// E[φ(u)], u ~ N(0, q): the mean a layer's post-activations share.
pub fn first_moment(activation: Activation, q: f64) -> f64 {
    match activation {
        Activation::Linear | Activation::Tanh => 0.0,
        Activation::Relu => (q / (2.0 * PI)).sqrt(),
        Activation::Sigmoid => 0.5,
    }
}

/// E[φ(u_a)φ(u_b)] for the centred pair with variances qa, qb, covariance qab.
pub fn cross_moment(activation: Activation, qa: f64, qb: f64, qab: f64) -> f64 {
    match activation {
        Activation::Linear => qab,
        Activation::Relu => {
            let norm = (qa * qb).sqrt();
            if norm <= 0.0 {
                return 0.0;
            }
            let c = (qab / norm).clamp(-1.0, 1.0);
            norm / (2.0 * PI) * ((1.0 - c * c).sqrt() + (PI - c.acos()) * c)
        }
        a => quadrature().expect_product(qa, qb, qab, true, |u| a.phi(u), |u| a.phi(u)),
    }
}

/// E[φ′(u_a)φ′(u_b)] for the same pair.
pub fn derivative_cross_moment(activation: Activation, qa: f64, qb: f64, qab: f64) -> f64 {
    match activation {
        Activation::Linear => 1.0,
        Activation::Relu => {
            let norm = (qa * qb).sqrt();
            if norm <= 0.0 {
                // u = 0: the step's value there, 0.
                return 0.0;
            }
            let c = (qab / norm).clamp(-1.0, 1.0);
            (PI - c.acos()) / (2.0 * PI)
        }
        a => quadrature().expect_product(qa, qb, qab, true, |u| a.dphi(u), |u| a.dphi(u)),
    }
}

/// The pre-activation second moments q¹ … q^L of a network whose layer l has
/// weight and bias variances `layers[l]` = (σ_w², σ_b²), for an input of
/// q⁰ = ‖x‖²/N₀. The first layer sees the input itself (q¹ = σ_w² q⁰ + σ_b²);
/// every later one sees φ of the layer before.
pub fn pre_activation_lengths(activation: Activation, q0: f64, layers: &[(f64, f64)]) -> Vec<f64> {
    let mut q = Vec::with_capacity(layers.len());
    for (l, &(sigma_w2, sigma_b2)) in layers.iter().enumerate() {
        let previous = if l == 0 {
            q0
        } else {
            second_moment(activation, q[l - 1])
        };
        q.push(sigma_w2 * previous + sigma_b2);
    }
    q
}

/// The standard deviation of φ(h) pooled over the units and inputs of a
/// layer whose pre-activations have second moment q: √(E[φ²] − E[φ]²).
pub fn post_activation_std(activation: Activation, q: f64) -> f64 {
    let m = first_moment(activation, q);
    (second_moment(activation, q) - m * m).max(0.0).sqrt()
}

/// The root of `g` in `[lo, hi]`, where `g(lo) > 0 ≥ g(hi)`, by at most
/// `steps` halvings (fewer once the interval stops shrinking in f64).
fn bisect(g: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64, steps: usize) -> f64 {
    for _ in 0..steps {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if g(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}
