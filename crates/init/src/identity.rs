//! Identity initialization (Le, Jaitly & Hinton 2015, "A simple way to
//! initialize recurrent networks of rectified linear units": IRNN).

use crate::number::format_number;
use crate::scheme::{Initializer, Needs, Target};
use crate::spec::{Check, Key, Row, SchemeKind};
use crate::{Error, InitRng, Scheme};

/// `scale · I` on the leading diagonal of a 2-D weight: the recurrent matrix
/// of an IRNN, which the RNN study scales as `identity(scale=0.01)`. Spec
/// `identity(scale=1)`. PyTorch `eye_` (times the scale), Keras
/// `Identity(gain)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Identity {
    /// Scale; finite.
    pub scale: f64,
}

/// `identity(scale=1)`.
pub const IDENTITY: SchemeKind = SchemeKind {
    name: "identity",
    aliases: &[],
    keys: &[Key::new("scale", "1")],
    row: Row {
        formula: "`scale·I` on the leading diagonal; 2-D only",
        reference: "Le et al. 2015 (IRNN)",
        pytorch: "`eye_`",
        keras: "`Identity`",
    },
    parse: |keys| Ok(Scheme::new(Identity { scale: keys.number("scale")? })),
};

impl Initializer for Identity {
    fn name(&self) -> &'static str {
        IDENTITY.name
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![("scale", format_number(self.scale))]
    }

    fn validate(&self) -> Result<(), Error> {
        Check(self.name()).finite("scale", self.scale)
    }

    fn needs(&self) -> Needs {
        Needs::TwoDims
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
