//! The theory against what is known in closed form or published.

use initlab_theory::{
    critical_sigma_w2, cross_moment, derivative_cross_moment, pre_activation_lengths, Activation,
    Error, MeanField, Quadrature,
};

#[test]
fn tanh_without_bias_is_critical_at_sigma_w2_exactly_one() {
    // χ₁ = σ_w² φ′(0)² = σ_w² while q* = 0, i.e. for σ_w² ≤ 1. Just above,
    // q* ≈ ε/2 and χ₁ − 1 ≈ ε²/3 (ε = σ_w² − 1): χ₁ touches 1 quadratically,
    // so double precision places the root only to about √(1e-16) = 1e-8.
    let edge = critical_sigma_w2(Activation::Tanh, 0.0).unwrap();
    assert!((edge - 1.0).abs() < 1e-7, "critical sigma_w2 = {edge}");
}

#[test]
fn tanh_with_bias_variance_0_05_is_critical_near_1_76() {
    // Schoenholz et al. 2017, fig. 1 and the MNIST heat map's boundary.
    let edge = critical_sigma_w2(Activation::Tanh, 0.05).unwrap();
    assert!((edge - 1.76).abs() < 0.01, "critical sigma_w2 = {edge}");
    // χ₁ crosses 1 there and only there.
    let chi1 = |w: f64| {
        let f = MeanField::new(Activation::Tanh, w, 0.05).unwrap();
        f.fixed_point().unwrap().chi1
    };
    assert!(chi1(edge - 0.01) < 1.0 && chi1(edge + 0.01) > 1.0);
}

#[test]
fn relu_without_bias_multiplies_q_by_half_sigma_w2() {
    for sigma_w2 in [0.5, 2.0, 3.7] {
        let field = MeanField::new(Activation::Relu, sigma_w2, 0.0).unwrap();
        for q in [1e-3, 0.4, 1.0, 250.0] {
            let next = field.length_map(q);
            assert!((next - 0.5 * sigma_w2 * q).abs() <= 1e-15 * next);
        }
        let q = pre_activation_lengths(Activation::Relu, 0.1, &[(sigma_w2, 0.0); 5]);
        for l in 1..5 {
            assert!((q[l] / q[l - 1] - 0.5 * sigma_w2).abs() < 1e-12);
        }
    }
    // And the quadrature rule agrees with the closed form it bypasses.
    let rule = Quadrature::new();
    let e = rule.expect(0.0, 2.5, false, |u| u.max(0.0).powi(2));
    assert!((e - 1.25).abs() < 1e-12, "E[relu(u)²] = {e}");
}

#[test]
fn relu_arc_cosine_kernel_matches_quadrature() {
    // The closed forms are what quadrature converges to, slowly, at the kink.
    let rule = Quadrature::new();
    let (qa, qb, qab) = (1.0, 2.0, 0.6);
    let relu = |u: f64| u.max(0.0);
    let step = |u: f64| if u > 0.0 { 1.0 } else { 0.0 };
    let k = rule.expect_product(qa, qb, qab, false, relu, relu);
    let k1 = rule.expect_product(qa, qb, qab, false, step, step);
    let closed = cross_moment(Activation::Relu, qa, qb, qab);
    let closed1 = derivative_cross_moment(Activation::Relu, qa, qb, qab);
    assert!((k - closed).abs() < 2e-3 * closed, "{k} vs {closed}");
    assert!((k1 - closed1).abs() < 2e-2 * closed1, "{k1} vs {closed1}");
}

#[test]
fn fixed_points_are_fixed() {
    for (activation, w, b) in [
        (Activation::Tanh, 1.5, 0.05),
        (Activation::Tanh, 3.0, 0.05),
        (Activation::Tanh, 2.0, 0.0),
        (Activation::Sigmoid, 20.0, 0.5),
        (Activation::Relu, 1.5, 0.1),
        (Activation::Linear, 0.5, 0.2),
    ] {
        let field = MeanField::new(activation, w, b).unwrap();
        let fixed = field.fixed_point().unwrap();
        let q = fixed.q_star;
        assert!(
            (field.length_map(q) - q).abs() <= 1e-12 * q.max(1e-12),
            "{activation} {w} {b}: L(q*) = {} vs q* = {q}",
            field.length_map(q)
        );
        let c = field.correlation_map(q, fixed.c_star);
        assert!(
            (c - fixed.c_star).abs() < 1e-10,
            "C(c*) = {c} vs {}",
            fixed.c_star
        );
        if fixed.chi1 < 1.0 {
            assert_eq!(fixed.c_star, 1.0);
            assert!((fixed.xi_c + 1.0 / fixed.chi1.ln()).abs() < 1e-9 * fixed.xi_c);
        } else {
            assert!(fixed.c_star < 1.0);
            assert!(fixed.xi_c.is_finite() && fixed.xi_c > 0.0);
        }
    }
}

#[test]
fn chaotic_tanh_without_bias_decorrelates_completely() {
    // φ odd and σ_b² = 0: C(0) = 0, so c* = 0 once c = 1 repels.
    let fixed = MeanField::new(Activation::Tanh, 2.5, 0.0)
        .unwrap()
        .fixed_point()
        .unwrap();
    assert!(fixed.chi1 > 1.0);
    assert!(fixed.c_star.abs() < 1e-12, "c* = {}", fixed.c_star);
}

#[test]
fn length_slope_is_the_derivative_of_the_length_map() {
    for (activation, w, b) in [
        (Activation::Tanh, 2.0, 0.05),
        (Activation::Sigmoid, 6.0, 0.1),
    ] {
        let field = MeanField::new(activation, w, b).unwrap();
        for q in [0.3, 1.7, 3.0, 9.0] {
            let h = 1e-5 * q;
            let numeric = (field.length_map(q + h) - field.length_map(q - h)) / (2.0 * h);
            let stein = field.length_slope(q);
            assert!(
                (numeric - stein).abs() < 1e-7,
                "{activation} q={q}: {numeric} vs {stein}"
            );
        }
    }
}

#[test]
fn xi_c_diverges_at_the_boundary() {
    let edge = critical_sigma_w2(Activation::Tanh, 0.05).unwrap();
    let xi = |w: f64| {
        MeanField::new(Activation::Tanh, w, 0.05)
            .unwrap()
            .fixed_point()
            .unwrap()
            .xi_c
    };
    let (near, far) = (xi(edge * (1.0 - 1e-4)), xi(1.0));
    assert!(
        near > 100.0 * far,
        "ξ_c near the edge {near}, at σ_w² = 1 {far}"
    );
    assert!(xi(edge * (1.0 + 1e-4)) > 100.0 * xi(4.0));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    assert!(matches!(
        MeanField::new(Activation::Tanh, -1.0, 0.0),
        Err(Error::InvalidParameter {
            name: "sigma_w2",
            ..
        })
    ));
    assert!(matches!(
        MeanField::new(Activation::Tanh, 1.0, f64::NAN),
        Err(Error::InvalidParameter {
            name: "sigma_b2",
            ..
        })
    ));
    assert!(matches!(
        MeanField::new(Activation::Relu, 3.0, 0.1).unwrap().q_star(),
        Err(Error::NoFixedPoint { .. })
    ));
    assert!("softplus".parse::<Activation>().is_err());
    assert_eq!("tanh".parse::<Activation>(), Ok(Activation::Tanh));
}
