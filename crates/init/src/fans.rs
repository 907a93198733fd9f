//! Fan-in and fan-out, and shapes.

use crate::Error;

/// The fan-in and fan-out of a weight, as PyTorch's `_calculate_fan_in_and_fan_out`
/// defines them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fans {
    /// `in · receptive`: the number of inputs each output unit sums over.
    pub fan_in: usize,
    /// `out · receptive`: the number of outputs each input unit feeds.
    pub fan_out: usize,
}

/// PyTorch's `_calculate_fan_in_and_fan_out`; error for fewer than 2 dims.
///
/// The shape is in PyTorch layout `(out, in, *receptive)`:
/// `fan_in = in · r` and `fan_out = out · r`, where `r` is the product of the
/// receptive dims (1 for a 2-D weight). So `(1440, 360)` has fan-in 360 and
/// fan-out 1440, and a `(64, 3, 3, 3)` convolution has fan-in 27 and fan-out 576.
///
/// Keras lays a dense kernel out as `(in, out)` and a convolution as
/// `(*receptive, in, out)`; for the same layer both conventions give the same
/// numbers.
///
/// # Errors
/// [`Error::FansNeedTwoDims`] for a 0-D or 1-D shape (a bias has no fans of its
/// own), [`Error::ShapeOverflow`] if the products overflow.
pub fn fans(shape: &[usize]) -> Result<Fans, Error> {
    let [out, inp, receptive @ ..] = shape else {
        return Err(Error::FansNeedTwoDims {
            shape: shape.to_vec(),
        });
    };
    let overflow = || Error::ShapeOverflow {
        shape: shape.to_vec(),
    };
    let r = checked_product(receptive).ok_or_else(overflow)?;
    Ok(Fans {
        fan_in: inp.checked_mul(r).ok_or_else(overflow)?,
        fan_out: out.checked_mul(r).ok_or_else(overflow)?,
    })
}

/// Which fan a variance-scaling scheme divides by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FanMode {
    /// `fan_in`: preserves the variance of the forward pass (spec `fan-in`).
    FanIn,
    /// `fan_out`: preserves the variance of the backward pass (spec `fan-out`).
    FanOut,
    /// `(fan_in + fan_out) / 2`: the Glorot compromise (spec `fan-avg`).
    FanAvg,
}

impl FanMode {
    /// Every mode, in spec spelling.
    pub const ALL: [FanMode; 3] = [FanMode::FanIn, FanMode::FanOut, FanMode::FanAvg];

    /// The spec spelling: `fan-in`, `fan-out` or `fan-avg`.
    pub fn as_str(self) -> &'static str {
        match self {
            FanMode::FanIn => "fan-in",
            FanMode::FanOut => "fan-out",
            FanMode::FanAvg => "fan-avg",
        }
    }

    /// The fan this mode selects, as a float since `fan-avg` may be a half.
    pub fn fan(self, fans: Fans) -> f64 {
        match self {
            FanMode::FanIn => fans.fan_in as f64,
            FanMode::FanOut => fans.fan_out as f64,
            FanMode::FanAvg => (fans.fan_in as f64 + fans.fan_out as f64) / 2.0,
        }
    }
}

/// The number of elements of `shape` (1 for the 0-D shape `[]`).
///
/// # Errors
/// [`Error::ShapeOverflow`] if the product does not fit in `usize`.
pub fn numel(shape: &[usize]) -> Result<usize, Error> {
    checked_product(shape).ok_or_else(|| Error::ShapeOverflow {
        shape: shape.to_vec(),
    })
}

fn checked_product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Reads a shape written as dims joined by `x`: `1440x360`, `64x3x3x3`, `128`.
///
/// This is the `--shape` syntax of `cargo xtask init`. Dims may be 0 (an empty
/// tensor); whitespace around dims is ignored.
///
/// # Errors
/// [`Error::InvalidShape`] for an empty string or a dim that is not a
/// non-negative integer.
pub fn parse_shape(text: &str) -> Result<Vec<usize>, Error> {
    let invalid = |reason: String| Error::InvalidShape {
        text: text.to_string(),
        reason,
    };
    if text.trim().is_empty() {
        return Err(invalid("it is empty".to_string()));
    }
    let shape = text
        .split(['x', 'X', '×'])
        .map(|dim| {
            let dim = dim.trim();
            if dim.is_empty() {
                return Err(invalid("a dim is empty".to_string()));
            }
            dim.parse::<usize>()
                .map_err(|_| invalid(format!("`{dim}` is not a non-negative integer")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    numel(&shape)?;
    Ok(shape)
}

/// Writes a shape back in the syntax of [`parse_shape`]; `scalar` for `[]`.
pub fn format_shape(shape: &[usize]) -> String {
    if shape.is_empty() {
        return "scalar".to_string();
    }
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fans_of_1d_shape_is_an_error() {
        assert_eq!(fans(&[10]), Err(Error::FansNeedTwoDims { shape: vec![10] }));
        assert!(fans(&[]).is_err());
    }

    #[test]
    fn fans_of_2d_shape_is_in_and_out() {
        assert_eq!(
            fans(&[1440, 360]).unwrap(),
            Fans {
                fan_in: 360,
                fan_out: 1440
            }
        );
    }

    #[test]
    fn fans_of_4d_shape_include_receptive_field() {
        // A 3x3 convolution from 3 to 64 channels, PyTorch layout (out, in, kh, kw).
        assert_eq!(
            fans(&[64, 3, 3, 3]).unwrap(),
            Fans {
                fan_in: 27,
                fan_out: 576
            }
        );
        assert_eq!(
            fans(&[16, 8, 5]).unwrap(),
            Fans {
                fan_in: 40,
                fan_out: 80
            }
        );
    }

    #[test]
    fn fans_overflow_is_an_error() {
        assert!(matches!(
            fans(&[2, usize::MAX, 2]),
            Err(Error::ShapeOverflow { .. })
        ));
    }

    #[test]
    fn fan_avg_is_the_mean() {
        let f = Fans {
            fan_in: 3,
            fan_out: 4,
        };
        assert_eq!(FanMode::FanAvg.fan(f), 3.5);
        assert_eq!(FanMode::FanIn.fan(f), 3.0);
        assert_eq!(FanMode::FanOut.fan(f), 4.0);
    }

    #[test]
    fn shapes_parse_and_print_back() {
        assert_eq!(parse_shape("1440x360").unwrap(), vec![1440, 360]);
        assert_eq!(parse_shape("64x3x3x3").unwrap(), vec![64, 3, 3, 3]);
        assert_eq!(parse_shape(" 7 ").unwrap(), vec![7]);
        assert_eq!(format_shape(&[1440, 360]), "1440x360");
        assert_eq!(format_shape(&[]), "scalar");
        for bad in ["", "12x", "axb", "-1x3", "1.5"] {
            assert!(
                matches!(parse_shape(bad), Err(Error::InvalidShape { .. })),
                "{bad}"
            );
        }
    }
}
