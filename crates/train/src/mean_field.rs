//! Where an MLP run sits in mean-field theory (Schoenholz et al. 2017): the
//! metrics `sigma_w2`, `sigma_b2`, `depth`, `xi_c` and `train_accuracy`,
//! recorded for a run whose weights are the theory's own parametrization,
//! `variance-scaling(mode=fan-in, scale=σ_w²)` (variance σ_w²/fan_in in every
//! layer), and whose biases have one variance σ_b² in every layer. Other runs
//! get none, so no other study's records change.

use initlab_init::variance_scaling::VarianceScaling;
use initlab_init::FanMode;
use initlab_models::{InitPlan, MlpConfig};
use initlab_theory::{Activation, MeanField};

/// The metrics, or nothing when the run is not of that form.
pub(crate) fn metrics(
    mlp: &MlpConfig,
    plan: &InitPlan,
    train_accuracy: &[f32],
) -> Vec<(String, f64)> {
    let Ok(activation) = mlp.activation.name().parse::<Activation>() else {
        return Vec::new();
    };
    let specs = mlp.param_specs();
    let mut sigma_w2 = None;
    let mut sigma_b2 = None;
    for spec in &specs {
        let scheme = plan.scheme_for_param(spec);
        let value = if spec.group == "weight" {
            scheme
                .downcast_ref::<VarianceScaling>()
                .filter(|v| v.mode == FanMode::FanIn)
                .map(|v| v.scale)
        } else {
            scheme.variance(&spec.shape, spec.fans).ok().flatten()
        };
        let slot = if spec.group == "weight" {
            &mut sigma_w2
        } else {
            &mut sigma_b2
        };
        match (value, *slot) {
            (None, _) => return Vec::new(),
            (Some(v), Some(seen)) if v != seen => return Vec::new(),
            (Some(v), _) => *slot = Some(v),
        }
    }
    let (Some(sigma_w2), Some(sigma_b2)) = (sigma_w2, sigma_b2) else {
        return Vec::new();
    };
    let mut out = vec![
        ("sigma_w2".to_string(), sigma_w2),
        ("sigma_b2".to_string(), sigma_b2),
        ("depth".to_string(), mlp.hidden.len() as f64),
    ];
    if let Ok(fixed) = MeanField::new(activation, sigma_w2, sigma_b2).and_then(|f| f.fixed_point())
    {
        out.push(("xi_c".to_string(), fixed.xi_c));
    }
    if let Some(&last) = train_accuracy.last() {
        out.push(("train_accuracy".to_string(), f64::from(last)));
    }
    out
}

#[cfg(test)]
mod tests {
    use initlab_models::Activation as Phi;

    use super::*;

    fn mlp(hidden: Vec<usize>) -> MlpConfig {
        MlpConfig::new(784, hidden, 10, Phi::Tanh)
    }

    fn plan(weight: &str, bias: &str) -> InitPlan {
        InitPlan::new(bias.parse().unwrap()).with("weight", weight.parse().unwrap())
    }

    #[test]
    fn variance_scaling_runs_get_their_place_in_the_phase_diagram() {
        let p = plan(
            "variance-scaling(distribution=normal,mode=fan-in,scale=1.5)",
            "normal(mean=0,std=0.22360679774997896)",
        );
        let m = metrics(&mlp(vec![100; 7]), &p, &[0.2, 0.6]);
        let get = |k: &str| m.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        assert_eq!(get("sigma_w2"), Some(1.5));
        assert!((get("sigma_b2").unwrap() - 0.05).abs() < 1e-15);
        assert_eq!(get("depth"), Some(7.0));
        assert_eq!(get("train_accuracy"), Some(f64::from(0.6_f32)));
        let expected = MeanField::new(Activation::Tanh, 1.5, get("sigma_b2").unwrap())
            .unwrap()
            .fixed_point()
            .unwrap()
            .xi_c;
        assert_eq!(get("xi_c"), Some(expected));
    }

    #[test]
    fn other_runs_get_none() {
        // Kaiming's variance is the theory's too, but not its parametrization;
        // PyTorch's default bias variance changes with the fan-in.
        for (w, b) in [
            ("kaiming-normal(nonlinearity=tanh)", "zeros"),
            (
                "variance-scaling(distribution=normal,mode=fan-in,scale=1.5)",
                "pytorch-linear-default",
            ),
            (
                "variance-scaling(distribution=normal,mode=fan-avg,scale=1.5)",
                "zeros",
            ),
        ] {
            assert!(
                metrics(&mlp(vec![100, 50]), &plan(w, b), &[0.5]).is_empty(),
                "{w} {b}"
            );
        }
    }
}
