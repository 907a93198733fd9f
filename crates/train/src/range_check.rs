//! The values of a config that parse but cannot be trained, collected in the
//! order they are found: each network, task and the training config checks
//! its own keys, and the study names the first in its error.

/// Out-of-range values: each key as a study file writes it
/// (`data.validation_fraction`) and what is wrong with it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RangeCheck {
    found: Vec<(String, String)>,
}

impl RangeCheck {
    /// Records `key` as wrong, `why` saying how (`is 0; it must be …`).
    pub fn push(&mut self, key: impl Into<String>, why: impl Into<String>) {
        self.found.push((key.into(), why.into()));
    }

    /// A count or width that must be at least 1.
    pub fn positive(&mut self, key: &str, value: usize) {
        if value == 0 {
            self.push(key, "is 0; it must be at least 1");
        }
    }

    /// A scale that must be a finite number above 0.
    pub fn positive_number(&mut self, key: &str, value: f64) {
        if !(value > 0.0 && value.is_finite()) {
            self.push(key, format!("is {value}; it must be a finite number > 0"));
        }
    }

    /// `value` in `[low, high)`, or `(low, high)` when `open_low`.
    pub fn within(&mut self, key: &str, value: f64, low: f64, high: f64, open_low: bool) {
        let above = if open_low { value > low } else { value >= low };
        if !(above && value < high) {
            let bracket = if open_low { '(' } else { '[' };
            self.push(
                key,
                format!("is {value}; it must be in {bracket}{low}, {high})"),
            );
        }
    }

    /// Whether nothing was found so far.
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The first value found.
    pub fn first(self) -> Option<(String, String)> {
        self.found.into_iter().next()
    }
}
