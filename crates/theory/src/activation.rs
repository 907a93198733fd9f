//! The nonlinearities φ the theory integrates, with φ′ and φ″.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A pointwise nonlinearity φ: every activation initlab's models use, and the
/// identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// φ(x) = x.
    Linear,
    /// φ(x) = max(0, x).
    Relu,
    /// φ(x) = tanh x.
    Tanh,
    /// φ(x) = 1 / (1 + e^−x).
    Sigmoid,
}

impl Activation {
    /// Every activation, in the order the help text lists them.
    pub const ALL: [Activation; 4] = [
        Activation::Linear,
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
    ];

    /// The kebab-case name experiment files and the command line use.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
        }
    }

    /// φ(x).
    pub fn phi(self, x: f64) -> f64 {
        match self {
            Activation::Linear => x,
            Activation::Relu => x.max(0.0),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => sigmoid(x),
        }
    }

    /// φ′(x); ReLU's is the step, 0 at x = 0.
    pub fn dphi(self, x: f64) -> f64 {
        match self {
            Activation::Linear => 1.0,
            Activation::Relu => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => {
                let t = x.tanh();
                1.0 - t * t
            }
            Activation::Sigmoid => {
                let s = sigmoid(x);
                s * (1.0 - s)
            }
        }
    }

    /// φ″(x) away from ReLU's kink (where the theory uses closed forms instead).
    pub fn d2phi(self, x: f64) -> f64 {
        match self {
            Activation::Linear | Activation::Relu => 0.0,
            Activation::Tanh => {
                let t = x.tanh();
                -2.0 * t * (1.0 - t * t)
            }
            Activation::Sigmoid => {
                let s = sigmoid(x);
                s * (1.0 - s) * (1.0 - 2.0 * s)
            }
        }
    }

    /// Whether φ is bounded, so that the length map is too and a fixed point
    /// q* always exists.
    pub fn is_bounded(self) -> bool {
        matches!(self, Activation::Tanh | Activation::Sigmoid)
    }
}

fn sigmoid(x: f64) -> f64 {
    // Written so that neither branch overflows.
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Activation {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Activation::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| Error::UnknownActivation(s.to_string()))
    }
}
