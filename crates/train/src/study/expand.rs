//! The grid beyond the initializer: parts and axes, and how their values
//! change the study's tables.
//!
//! A value of an axis is a *partial* config: a tree of TOML tables merged
//! into the study's `[model]`, `[data]`, `[training]` and `[init]` before they
//! are read. Merging is per key, recursively, with one rule for tagged
//! tables: a table that sets `kind` or `dataset` replaces the table under it
//! whole, since the keys of one kind of model mean nothing to another.

use serde::Deserialize;
use toml::{Table, Value};

/// An axis of the grid: a name and the values it takes.
///
/// Written either as one key and its values,
/// `{ name = "activation", key = "model.activation", values = ["relu", "tanh"] }`
/// (labels are the values, or `labels = [...]`), or as values that each set
/// several keys, `values = [{ label = "sgd", set = { training = { ... } } }]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// The axis's name: a column of the tables, a key of `config_json`'s grid point.
    pub name: String,
    /// The dotted key every value sets (`model.hidden`); absent when each value
    /// is a `{ label, set }` table.
    #[serde(default)]
    pub key: Option<String>,
    /// The values, in the order tables and plots show them.
    pub values: Vec<Value>,
    /// Labels of the values when `key` is given and the values themselves do
    /// not read well (tables, lists).
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

/// One value of an axis, resolved: its label and the tables it sets.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisValue {
    /// Shown in tables and plots, and stored with each run.
    pub label: String,
    /// The partial config it merges in.
    pub set: Table,
}

impl Axis {
    /// The values with their labels and partial configs.
    pub fn resolve(&self) -> Result<Vec<AxisValue>, String> {
        if self.values.is_empty() {
            return Err(format!("axis `{}` has no values", self.name));
        }
        if let Some(labels) = &self.labels {
            if labels.len() != self.values.len() {
                return Err(format!(
                    "axis `{}` has {} values but {} labels",
                    self.name,
                    self.values.len(),
                    labels.len()
                ));
            }
        }
        let values: Vec<AxisValue> = self
            .values
            .iter()
            .enumerate()
            .map(|(i, value)| match &self.key {
                Some(key) => Ok(AxisValue {
                    label: match &self.labels {
                        Some(labels) => labels[i].clone(),
                        None => label_of(value),
                    },
                    set: at_path(key, value.clone())?,
                }),
                None => self.table_value(value),
            })
            .collect::<Result<_, String>>()?;
        let mut seen: Vec<&str> = Vec::new();
        for v in &values {
            if seen.contains(&v.label.as_str()) {
                return Err(format!(
                    "axis `{}` has the label `{}` twice",
                    self.name, v.label
                ));
            }
            seen.push(&v.label);
        }
        Ok(values)
    }

    fn table_value(&self, value: &Value) -> Result<AxisValue, String> {
        let bad = || {
            format!(
                "axis `{}`: without `key`, each value is a table `{{ label = \"…\", set = {{ … }} }}`, got {value}",
                self.name
            )
        };
        let table = value.as_table().ok_or_else(bad)?;
        if let Some(extra) = table.keys().find(|k| *k != "label" && *k != "set") {
            return Err(format!(
                "axis `{}`: unknown key `{extra}` in a value; expected `label` and `set`",
                self.name
            ));
        }
        let label = table
            .get("label")
            .and_then(Value::as_str)
            .ok_or_else(bad)?
            .to_string();
        let set = match table.get("set") {
            Some(Value::Table(t)) => t.clone(),
            None => Table::new(),
            Some(_) => return Err(bad()),
        };
        Ok(AxisValue { label, set })
    }
}

/// A value as a label: strings as they are, lists joined by `-`
/// (`[512, 256]` → `512-256`), anything else as TOML writes it.
fn label_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(label_of).collect::<Vec<_>>().join("-"),
        other => other.to_string(),
    }
}

/// `{ a = { b = value } }` for the key `a.b`.
pub(crate) fn at_path(key: &str, value: Value) -> Result<Table, String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("`{key}` is not a dotted key (`model.hidden`)"));
    }
    let mut tree = value;
    for part in parts.iter().rev() {
        let mut t = Table::new();
        t.insert((*part).to_string(), tree);
        tree = Value::Table(t);
    }
    match tree {
        Value::Table(t) => Ok(t),
        _ => unreachable!("a key has at least one part"),
    }
}

/// Merges `over` into `base`: tables key by key, anything else replaced; a
/// table of `over` with a `kind` or `dataset` key replaces `base`'s whole.
pub fn merge(base: &mut Table, over: &Table) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(Value::Table(b)), Value::Table(o))
                if !o.contains_key("kind") && !o.contains_key("dataset") =>
            {
                merge(b, o)
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// True when `table` holds a value at `path` (`["data", "length"]`).
pub(super) fn has_key(table: &Table, path: &[&str]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    match (table.get(*first), rest.is_empty()) {
        (Some(_), true) => true,
        (Some(Value::Table(inner)), false) => has_key(inner, rest),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        text.parse::<Table>().expect("toml")
    }

    fn axis(text: &str) -> Axis {
        Value::Table(table(text)).try_into().expect("axis")
    }

    #[test]
    fn a_key_axis_labels_its_values() {
        let a = axis(
            r#"name = "depth"
key = "model.hidden"
values = [[128], [512, 256]]"#,
        );
        let values = a.resolve().expect("values");
        assert_eq!(values[1].label, "512-256");
        assert_eq!(values[0].set, table("model = { hidden = [128] }"));
    }

    #[test]
    fn merging_replaces_tagged_tables_and_merges_the_rest() {
        let mut base = table(
            r#"model = { kind = "mlp", inputs = 784, activation = "relu" }
training = { epochs = 3, optimizer = { kind = "sgd", lr = 0.1 } }"#,
        );
        merge(
            &mut base,
            &table(
                r#"model = { activation = "tanh" }
training = { optimizer = { kind = "adam", lr = 0.01 } }"#,
            ),
        );
        assert_eq!(
            base,
            table(
                r#"model = { kind = "mlp", inputs = 784, activation = "tanh" }
training = { epochs = 3, optimizer = { kind = "adam", lr = 0.01 } }"#
            )
        );
    }

    #[test]
    fn bad_axes_are_named() {
        let a = axis(
            r#"name = "a"
values = [1]"#,
        );
        assert!(a.resolve().expect_err("not a table").contains("axis `a`"));
        let a = axis(
            r#"name = "b"
key = "m.x"
values = [1, 1]"#,
        );
        assert!(a.resolve().expect_err("twice").contains("twice"));
        let a = axis(
            r#"name = "c"
key = "m.x"
values = [1, 2]
labels = ["one"]"#,
        );
        assert!(a.resolve().expect_err("labels").contains("labels"));
    }
}
