//! The one way a number in a spec is printed, so that equal specs hash equal.

/// Formats a number canonically: Rust's shortest round-trip decimal, in
/// exponent form below `1e-5` or from `1e16` up, `0` for either zero,
/// `inf`/`-inf` for infinite bounds (see [`crate::Scheme`]'s `Display`).
pub fn format_number(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else if (1e-5..1e16).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_number_round_trips() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -2.0,
            0.1,
            1.0 / 3.0,
            1e-5,
            9.99e-6,
            1e15,
            1e16,
            1e300,
            -1e-300,
            5e-324,
            std::f64::consts::FRAC_1_SQRT_2,
        ] {
            let s = format_number(x);
            assert_eq!(s.parse::<f64>().unwrap(), x, "{x} printed as {s}");
        }
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(f64::NEG_INFINITY), "-inf");
    }
}
