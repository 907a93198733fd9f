//! `cargo xtask theory`: mean-field signal propagation for one (φ, σ_w², σ_b²),
//! the edge of chaos, and the order/chaos phase diagram.

use std::path::PathBuf;

use anyhow::{bail, Context};
use initlab_analysis::{write_phase_diagram, PhaseDiagram};
use initlab_theory::{critical_sigma_w2, phase_boundary, Activation, MeanField};

/// The flags of `cargo xtask theory` (its help text is in main.rs).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The nonlinearity φ: linear, relu, tanh or sigmoid.
    #[arg(long, default_value = "tanh")]
    pub activation: String,
    /// Weight variance times fan-in. Required unless --critical or --phase-diagram.
    #[arg(long, value_name = "SIGMA_W2", allow_negative_numbers = true)]
    pub sigma_w2: Option<f64>,
    /// Bias variance.
    #[arg(
        long,
        value_name = "SIGMA_B2",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub sigma_b2: f64,
    /// Print the critical σ_w² (chi1 = 1) at this σ_b² instead.
    #[arg(long)]
    pub critical: bool,
    /// Print one JSON object (keys q_star, chi1, c_star, xi_q, xi_c or
    /// critical_sigma_w2, with activation, sigma_w2, sigma_b2); an infinite
    /// depth scale is null.
    #[arg(long)]
    pub json: bool,
    /// Draw the order/chaos phase diagram (σ_w² across, σ_b² up) to FILE.png
    /// or FILE.svg; a --sigma-w2 given is marked on it at --sigma-b2.
    #[arg(long, value_name = "FILE")]
    pub phase_diagram: Option<PathBuf>,
    /// The diagram's largest σ_b².
    #[arg(long, default_value_t = 0.5)]
    pub sigma_b2_max: f64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let activation: Activation = args.activation.parse().context("--activation")?;
    if let Some(path) = &args.phase_diagram {
        return draw(&args, activation, path);
    }
    if args.critical {
        let edge = critical_sigma_w2(activation, args.sigma_b2).context("--sigma-b2")?;
        if args.json {
            let json = serde_json::json!({
                "activation": activation.name(),
                "sigma_b2": args.sigma_b2,
                "critical_sigma_w2": edge,
            });
            println!("{json}");
        } else {
            println!(
                "critical sigma_w2 = {edge:.6} ({activation}, sigma_b2 = {}): ordered below, \
                 chaotic above",
                args.sigma_b2
            );
        }
        return Ok(());
    }
    let Some(sigma_w2) = args.sigma_w2 else {
        bail!("--sigma-w2 is required (or --critical, or --phase-diagram FILE); see --help");
    };
    let field = MeanField::new(activation, sigma_w2, args.sigma_b2)?;
    let fixed = field.fixed_point()?;
    let finite = |x: f64| x.is_finite().then_some(x);
    if args.json {
        let json = serde_json::json!({
            "activation": activation.name(),
            "sigma_w2": sigma_w2,
            "sigma_b2": args.sigma_b2,
            "q_star": fixed.q_star,
            "chi1": fixed.chi1,
            "c_star": fixed.c_star,
            "xi_q": finite(fixed.xi_q),
            "xi_c": finite(fixed.xi_c),
        });
        println!("{json}");
        return Ok(());
    }
    let phase = if fixed.chi1 < 1.0 {
        "ordered"
    } else if fixed.chi1 > 1.0 {
        "chaotic"
    } else {
        "critical"
    };
    println!(
        "{activation}, sigma_w2 = {sigma_w2}, sigma_b2 = {}",
        args.sigma_b2
    );
    println!(
        "q*   = {:.6}  (pre-activation second moment at the fixed point)",
        fixed.q_star
    );
    println!("chi1 = {:.6}  ({phase})", fixed.chi1);
    println!("c*   = {:.6}", fixed.c_star);
    println!("xi_q = {:.4}  (layers)", fixed.xi_q);
    println!(
        "xi_c = {:.4}  (layers; trainable depth ≈ 6·xi_c = {:.1})",
        fixed.xi_c,
        6.0 * fixed.xi_c
    );
    Ok(())
}

fn draw(args: &Args, activation: Activation, path: &std::path::Path) -> anyhow::Result<()> {
    if !(args.sigma_b2_max.is_finite() && args.sigma_b2_max > 0.0) {
        bail!(
            "--sigma-b2-max {}: expected a finite number > 0",
            args.sigma_b2_max
        );
    }
    let steps = 60;
    let sigma_b2s: Vec<f64> = (0..=steps)
        .map(|i| args.sigma_b2_max * i as f64 / steps as f64)
        .collect();
    let boundary = phase_boundary(activation, &sigma_b2s)?;
    let marks = match args.sigma_w2 {
        Some(w) => {
            MeanField::new(activation, w, args.sigma_b2)?;
            vec![(
                format!("σ_w² = {w}, σ_b² = {}", args.sigma_b2),
                w,
                args.sigma_b2,
            )]
        }
        None => Vec::new(),
    };
    let diagram = PhaseDiagram {
        activation: activation.name().to_string(),
        boundary: boundary.iter().map(|p| (p.sigma_w2, p.sigma_b2)).collect(),
        marks,
    };
    write_phase_diagram(path, &diagram)?;
    println!("wrote {}", path.display());
    Ok(())
}
