//! What LSUV's calibration did, for a section with runs whose plan names
//! `lsuv`: per grid point (or initializer) and layer, over the seeds, the
//! steps taken, the output variance before and after, and how many layers
//! reached the tolerance. A layer that did not is a result, shown as such.

use initlab_train::{point_name, RunRecord};

use super::render::{code, Block};

/// The section's LSUV table; none when no run calibrated anything.
pub(super) fn blocks(records: &[RunRecord], grid: bool) -> Vec<Block> {
    let mut rows: Vec<(String, String, Vec<&initlab_init::LsuvLayer>)> = Vec::new();
    for r in records {
        let name = if grid {
            point_name(&r.grid, &r.label)
        } else {
            r.label.clone()
        };
        for l in &r.lsuv {
            match rows
                .iter_mut()
                .find(|(n, layer, _)| *n == name && *layer == l.layer)
            {
                Some((_, _, outcomes)) => outcomes.push(&l.outcome),
                None => rows.push((name.clone(), l.layer.clone(), vec![&l.outcome])),
            }
        }
    }
    if rows.is_empty() {
        return Vec::new();
    }
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let table = rows
        .iter()
        .map(|(name, layer, outcomes)| {
            let iterations: Vec<u32> = outcomes.iter().map(|o| o.iterations).collect();
            let (lo, hi) = (
                iterations.iter().min().copied().unwrap_or(0),
                iterations.iter().max().copied().unwrap_or(0),
            );
            let before: Vec<f64> = outcomes.iter().map(|o| o.variance_before).collect();
            let after: Vec<f64> = outcomes.iter().map(|o| o.variance).collect();
            let scale: Vec<f64> = outcomes.iter().map(|o| o.scale).collect();
            let converged = outcomes.iter().filter(|o| o.converged).count();
            vec![
                format!("`{}`", code(name)),
                format!("`{}`", code(layer)),
                outcomes.len().to_string(),
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}–{hi}")
                },
                format!("{:.4e}", mean(&before)),
                format!("{:.4}", mean(&after)),
                format!("{:.4e}", mean(&scale)),
                format!("{converged}/{}", outcomes.len()),
            ]
        })
        .collect();
    vec![
        Block::H(3, "LSUV calibration".into()),
        Block::P(
            "LSUV (Mishkin & Matas 2015, Algorithm 1) after its pre-init, on the host, on the \
             first batch of each run's training order: each layer in forward order is divided \
             by the standard deviation of its output until |Var − 1| < tolerance or max_iter \
             steps. A dense layer's output is its pre-activation W x + b; a recurrent layer's \
             is its pre-activation at every time step over the batch, one factor dividing its \
             input and recurrent matrices together; an LSTM's four gates count together, one \
             factor per layer, which keeps each stacked matrix a multiple of its orthogonal \
             draw. Biases are never scaled. Means over the seeds; the factor is the product \
             of the steps' factors; a layer that did not converge within max_iter is counted \
             in the last column, not dropped."
                .into(),
        ),
        Block::table(
            &[
                if grid { "grid point" } else { "initializer" },
                "layer",
                "runs",
                "steps",
                "variance before",
                "variance after",
                "factor",
                "converged",
            ],
            &[false, false, true, true, true, true, true, true],
            table,
        ),
    ]
}
