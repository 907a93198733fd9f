//! Identity initialization (Le, Jaitly & Hinton 2015, "A simple way to
//! initialize recurrent networks of rectified linear units": IRNN).

use crate::scheme::{Initializer, Needs, Spec, Target};
use crate::spec::SchemeKind;
use crate::{InitRng, Scheme};

/// `identity(scale=1)`.
pub const IDENTITY: SchemeKind = SchemeKind::new(
    "identity(scale=1) | `scale·I` on the leading diagonal; 2-D only | Le et al. 2015 (IRNN) | `eye_` | `Identity`",
    |keys| keys.number("scale").map(|scale| Scheme::new(Identity { scale })),
);

/// `scale · I` on the leading diagonal of a 2-D weight: the recurrent matrix
/// of an IRNN, which the RNN study scales as `identity(scale=0.01)`. Spec
/// `identity(scale=1)`. PyTorch `eye_` (times the scale), Keras
/// `Identity(gain)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Identity {
    /// Scale; finite.
    pub scale: f64,
}

impl Initializer for Identity {
    fn spec(&self) -> Spec {
        Spec::new(IDENTITY.name, Needs::TwoDims).finite("scale", self.scale)
    }

    /// A rectangular matrix gets `scale` on its leading diagonal `(i, i)`,
    /// `i < min(rows, cols)`, as PyTorch's `eye_` and Keras's `Identity` do.
    fn draw(&self, target: &Target<'_>, _: &mut InitRng) -> Vec<f32> {
        let (rows, cols) = (target.shape[0], target.shape[1]);
        let mut w = vec![0.0_f32; rows * cols];
        for i in 0..rows.min(cols) {
            w[i * cols + i] = self.scale as f32;
        }
        w
    }
}
