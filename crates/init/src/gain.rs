//! The gain table of PyTorch's `torch.nn.init.calculate_gain`.

/// The nonlinearity a Kaiming scheme compensates for, with its gain.
///
/// # Formula
/// | spec          | gain                 |
/// |---------------|----------------------|
/// | `linear`      | 1                    |
/// | `sigmoid`     | 1                    |
/// | `tanh`        | 5/3                  |
/// | `relu`        | √2                   |
/// | `leaky-relu`  | √(2 / (1 + a²))      |
/// | `selu`        | 3/4                  |
///
/// # Notes
/// These are exactly PyTorch's values. PyTorch's `calculate_gain("leaky_relu")`
/// defaults to `a = 0.01`, but `kaiming_*_` passes its own `a = 0`, and that
/// is the default here (gain √2, the same as `relu`). PyTorch's `conv*` and
/// `conv_transpose*` names are the linear gain 1; write `linear`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    /// Identity activation, gain 1.
    Linear,
    /// Logistic sigmoid, gain 1.
    Sigmoid,
    /// Hyperbolic tangent, gain 5/3.
    Tanh,
    /// ReLU, gain √2 (He et al. 2015).
    Relu,
    /// Leaky ReLU with negative slope `a` (spec key `a`), gain √(2 / (1 + a²)).
    LeakyRelu {
        /// The negative slope `a`; must be finite.
        negative_slope: f64,
    },
    /// SELU, gain 3/4 (PyTorch's choice, which keeps the variance of
    /// self-normalizing networks with `kaiming-normal(nonlinearity=selu)`).
    Selu,
}

impl Nonlinearity {
    /// Every nonlinearity name, in spec spelling.
    pub const NAMES: [&'static str; 6] =
        ["linear", "sigmoid", "tanh", "relu", "leaky-relu", "selu"];

    /// The spec spelling of the name (without `a`).
    pub fn as_str(self) -> &'static str {
        match self {
            Nonlinearity::Linear => "linear",
            Nonlinearity::Sigmoid => "sigmoid",
            Nonlinearity::Tanh => "tanh",
            Nonlinearity::Relu => "relu",
            Nonlinearity::LeakyRelu { .. } => "leaky-relu",
            Nonlinearity::Selu => "selu",
        }
    }

    /// The recommended gain, as PyTorch's `calculate_gain`.
    pub fn gain(self) -> f64 {
        match self {
            Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
            Nonlinearity::Tanh => 5.0 / 3.0,
            Nonlinearity::Relu => 2.0_f64.sqrt(),
            Nonlinearity::LeakyRelu { negative_slope: a } => (2.0 / (1.0 + a * a)).sqrt(),
            Nonlinearity::Selu => 3.0 / 4.0,
        }
    }
}

/// The recommended gain for `nonlinearity`; shorthand for [`Nonlinearity::gain`].
pub fn calculate_gain(nonlinearity: Nonlinearity) -> f64 {
    nonlinearity.gain()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gain_table_matches_pytorch() {
        // calculate_gain(name, a) in PyTorch 2.x, written out as in its source.
        let table = [
            (Nonlinearity::Linear, 1.0),
            (Nonlinearity::Sigmoid, 1.0),
            (Nonlinearity::Tanh, 1.666_666_666_666_666_7),
            (Nonlinearity::Relu, std::f64::consts::SQRT_2),
            (
                Nonlinearity::LeakyRelu {
                    negative_slope: 0.0,
                },
                std::f64::consts::SQRT_2,
            ),
            (
                Nonlinearity::LeakyRelu {
                    negative_slope: 0.01,
                },
                1.414_142_856_997_835_4,
            ),
            (
                Nonlinearity::LeakyRelu {
                    negative_slope: 5f64.sqrt(),
                },
                0.577_350_269_189_625_7,
            ),
            (Nonlinearity::Selu, 0.75),
        ];
        for (nonlinearity, expected) in table {
            let got = calculate_gain(nonlinearity);
            assert!(
                (got - expected).abs() < 1e-15,
                "{nonlinearity:?}: {got} != {expected}"
            );
        }
    }
}
