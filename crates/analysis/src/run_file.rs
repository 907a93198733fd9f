//! Reading a run back from an HDF5 file (a run file or `results.h5`), as
//! [`crate::ResultsStore`] wrote it. Nothing here checks hashes: that is
//! [`crate::verify_record`]'s job, and every public read goes through it.

use std::collections::HashMap;
use std::path::Path;

use hdf5_pure::{AttrValue, File};
use initlab_init::LsuvLayer;
use initlab_models::LsuvRecord;
use initlab_train::{ActivationStats, NamedTensor, RunRecord, RunStatus};

use crate::{Error, Result};

/// The attribute of `initial_params` and `final_params` that lists their tensors'
/// names in model order, as a JSON array of strings. HDF5 keeps a group's
/// members by name, and the stored hashes are over the model's order; files
/// written before it existed are read back in [`param_order`].
pub(crate) const PARAM_NAMES: &str = "param_names";

pub(crate) fn read_run(file: &File, path: &Path, run_id: &str) -> Result<RunRecord> {
    let err = |e: hdf5_pure::Error| hdf5_err(path, e);
    let base = format!("runs/{run_id}");
    let group = file.group(&base).map_err(err)?;
    let attrs = group.attrs().map_err(err)?;
    let a = Attrs {
        attrs: &attrs,
        path,
    };
    let series = |name: &str| -> Result<Vec<f32>> {
        file.dataset(&format!("{base}/{name}"))
            .and_then(|d| d.read_f32())
            .map_err(err)
    };
    let tensors = |sub: &str| -> Result<Vec<NamedTensor>> {
        let g = file.group(&format!("{base}/{sub}")).map_err(err)?;
        let names = model_order(
            g.datasets().map_err(err)?,
            g.attrs().map_err(err)?.get(PARAM_NAMES),
        )
        .map_err(|message| Error::Hdf5 {
            path: path.to_path_buf(),
            message: format!("{base}/{sub}: {message}"),
        })?;
        names
            .into_iter()
            .map(|name| read_tensor(file, path, &format!("{base}/{sub}/{name}"), name))
            .collect()
    };
    let norms_group = file.group(&format!("{base}/grad_norms")).map_err(err)?;
    let mut layers = norms_group.datasets().map_err(err)?;
    let order = norms_group.attrs().map_err(err)?;
    sort_by_list(&mut layers, order.get("order"));
    let grad_norms = layers
        .into_iter()
        .map(|l| Ok((l.clone(), series(&format!("grad_norms/{l}"))?)))
        .collect::<Result<Vec<_>>>()?;
    let activations_group = file.group(&format!("{base}/activations")).map_err(err)?;
    let mut act_layers = activations_group.groups().map_err(err)?;
    act_layers.sort_by_key(|n| param_order(n));
    let activations = act_layers
        .into_iter()
        .map(|layer| {
            let pair = |name: &str| -> Result<[f32; 2]> {
                let v = series(&format!("activations/{layer}/{name}"))?;
                <[f32; 2]>::try_from(v).map_err(|v| Error::Hdf5 {
                    path: path.to_path_buf(),
                    message: format!("activations/{layer}/{name}: {} values, expected 2", v.len()),
                })
            };
            let hist = series(&format!("activations/{layer}/histogram"))?;
            let (before, after) = hist.split_at(hist.len() / 2);
            Ok(ActivationStats {
                range: pair("range")?,
                histogram: [before.to_vec(), after.to_vec()],
                dead_fraction: pair("dead_fraction")?,
                flat_fraction: pair("flat_fraction")?,
                // Files written before the scale was kept have none.
                std: pair("std").unwrap_or([f32::NAN; 2]),
                layer,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // Optional parts: absent in files written before they existed, and the
    // accuracy series are absent for a regression run.
    let optional = |name: &str| series(name).unwrap_or_default();
    let curves = match file.group(&format!("{base}/curves")) {
        Ok(g) => {
            let mut names = g.datasets().map_err(err)?;
            names.sort();
            names
                .into_iter()
                .map(|n| Ok((n.clone(), series(&format!("curves/{n}"))?)))
                .collect::<Result<Vec<_>>>()?
        }
        Err(_) => Vec::new(),
    };
    let lsuv = match file.group(&format!("{base}/lsuv")) {
        Ok(g) => {
            let order = g.attrs().map_err(err)?;
            let mut layers = g.groups().map_err(err)?;
            sort_by_list(&mut layers, order.get("order"));
            layers
                .into_iter()
                .map(|layer| {
                    let attrs = file
                        .group(&format!("{base}/lsuv/{layer}"))
                        .and_then(|g| g.attrs())
                        .map_err(err)?;
                    let a = Attrs {
                        attrs: &attrs,
                        path,
                    };
                    Ok(LsuvRecord {
                        outcome: LsuvLayer {
                            iterations: u32::try_from(a.u64("iterations")?).unwrap_or(u32::MAX),
                            variance_before: a.f64("variance_before")?,
                            variance: a.f64("variance_after")?,
                            scale: a.f64("scale")?,
                            converged: a.u64("converged")? != 0,
                        },
                        layer,
                    })
                })
                .collect::<Result<Vec<_>>>()?
        }
        Err(_) => Vec::new(),
    };
    let mut bptt = Vec::new();
    if file.group(&format!("{base}/bptt")).is_ok() {
        read_tensors(file, path, &format!("{base}/bptt"), "", &mut bptt)?;
    }
    let named = |list: &str, prefix: &str| -> Result<Vec<(String, f64)>> {
        let names: Vec<String> = match a.string(list) {
            Ok(json) => serde_json::from_str(&json).map_err(|e| Error::Hdf5 {
                path: path.to_path_buf(),
                message: format!("attribute `{list}`: {e}"),
            })?,
            Err(_) => Vec::new(),
        };
        names
            .into_iter()
            .map(|n| Ok((n.clone(), a.f64(&format!("{prefix}{n}"))?)))
            .collect()
    };
    let grid = match a.string("grid_point") {
        Ok(json) => parse_pairs(&json).ok_or_else(|| Error::Hdf5 {
            path: path.to_path_buf(),
            message: format!("attribute `grid_point` is not a JSON object of strings: {json}"),
        })?,
        Err(_) => Vec::new(),
    };
    let status: RunStatus = a.string("status")?.parse().map_err(|m| Error::Hdf5 {
        path: path.to_path_buf(),
        message: m,
    })?;
    Ok(RunRecord {
        run_id: run_id.to_string(),
        study: a.string("study")?,
        label: a.string("label")?,
        initializer: a.string("initializer")?,
        status,
        seed: a.u64("seed")?,
        replicate: a.u64("replicate")? as u32,
        config_json: a.string("config_json")?,
        config_sha256: a.string("config_sha256")?,
        init_sha256: a.string("init_sha256")?,
        outputs_sha256: a.string("outputs_sha256")?,
        backend: a.string("backend")?,
        test_accuracy: a.f64("test_accuracy")?,
        test_loss: a.f64("test_loss")?,
        published: a.f64("published_test_accuracy").ok(),
        published_metrics: named("published_metrics", "published_")?,
        grid,
        metrics: named("metrics", "")?,
        finished_at: a.string("finished_at")?,
        wall_seconds: a.f64("wall_seconds")?,
        step_loss: series("step_loss")?,
        train_loss: series("train_loss")?,
        train_accuracy: optional("train_accuracy"),
        val_loss: series("val_loss")?,
        val_accuracy: optional("val_accuracy"),
        grad_norms,
        curves,
        bptt,
        activations,
        lsuv,
        initial_params: tensors("initial_params")?,
        final_params: tensors("final_params")?,
    })
}

/// The f32 dataset at `dataset` with its shape, as the tensor `name`.
fn read_tensor(file: &File, path: &Path, dataset: &str, name: String) -> Result<NamedTensor> {
    let err = |e: hdf5_pure::Error| hdf5_err(path, e);
    let d = file.dataset(dataset).map_err(err)?;
    Ok(NamedTensor {
        shape: d
            .shape()
            .map_err(err)?
            .iter()
            .map(|&s| s as usize)
            .collect(),
        values: d.read_f32().map_err(err)?,
        name,
    })
}

/// Every dataset under `group` (nested groups too), named by its path below
/// the top group: `grad_h_norm`, `layer0/h_norm`.
fn read_tensors(
    file: &File,
    path: &Path,
    group: &str,
    prefix: &str,
    out: &mut Vec<NamedTensor>,
) -> Result<()> {
    let err = |e: hdf5_pure::Error| hdf5_err(path, e);
    let g = file.group(group).map_err(err)?;
    let mut names = g.datasets().map_err(err)?;
    names.sort();
    for name in names {
        out.push(read_tensor(
            file,
            path,
            &format!("{group}/{name}"),
            format!("{prefix}{name}"),
        )?);
    }
    let mut subs = g.groups().map_err(err)?;
    subs.sort();
    for sub in subs {
        read_tensors(
            file,
            path,
            &format!("{group}/{sub}"),
            &format!("{prefix}{sub}/"),
            out,
        )?;
    }
    Ok(())
}

/// The `(key, value)` pairs of a JSON object of strings, in the text's order
/// (serde_json's own map would sort them).
fn parse_pairs(json: &str) -> Option<Vec<(String, String)>> {
    struct Pairs(Vec<(String, String)>);
    struct Visit;
    impl<'de> serde::de::Visitor<'de> for Visit {
        type Value = Pairs;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of strings")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Pairs, A::Error> {
            let mut pairs = Vec::new();
            while let Some(entry) = map.next_entry::<String, String>()? {
                pairs.push(entry);
            }
            Ok(Pairs(pairs))
        }
    }
    impl<'de> serde::Deserialize<'de> for Pairs {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            d.deserialize_map(Visit)
        }
    }
    serde_json::from_str::<Pairs>(json).ok().map(|p| p.0)
}

/// Orders `names` by the JSON list in `order` (written with the group), or,
/// for files written before it, numerically (`layers.2` before `layers.10`).
fn sort_by_list(names: &mut [String], order: Option<&AttrValue>) {
    let list: Option<Vec<String>> = match order {
        Some(AttrValue::VarLenString(s) | AttrValue::String(s)) => serde_json::from_str(s).ok(),
        _ => None,
    };
    match list {
        Some(list) => names.sort_by_key(|n| list.iter().position(|l| l == n).unwrap_or(usize::MAX)),
        None => names.sort_by_key(|n| param_order(n)),
    }
}

/// The datasets of a parameter group in the order its [`PARAM_NAMES`] attribute
/// gives (the model's), or in [`param_order`] when the file has none.
fn model_order(
    mut datasets: Vec<String>,
    names: Option<&AttrValue>,
) -> std::result::Result<Vec<String>, String> {
    let Some(attr) = names else {
        datasets.sort_by_key(|n| param_order(n));
        return Ok(datasets);
    };
    let (AttrValue::VarLenString(text) | AttrValue::String(text)) = attr else {
        return Err(format!(
            "attribute `{PARAM_NAMES}` is not a string: {attr:?}"
        ));
    };
    let listed: Vec<String> = serde_json::from_str(text)
        .map_err(|e| format!("attribute `{PARAM_NAMES}` is not a JSON list of names: {e}"))?;
    let (mut a, mut b) = (listed.clone(), datasets);
    a.sort();
    b.sort();
    if a != b {
        return Err(format!(
            "attribute `{PARAM_NAMES}` lists {a:?} but the group holds {b:?}"
        ));
    }
    Ok(listed)
}

/// Sorts `layers.10.weight` after `layers.2.weight`: numeric parts compare as numbers.
fn param_order(name: &str) -> Vec<(u64, String)> {
    name.split('.')
        .map(|part| match part.parse::<u64>() {
            Ok(n) => (n, String::new()),
            Err(_) => (u64::MAX, part.to_string()),
        })
        .collect()
}

struct Attrs<'a> {
    attrs: &'a HashMap<String, AttrValue>,
    path: &'a Path,
}

impl Attrs<'_> {
    fn get(&self, name: &str) -> Result<&AttrValue> {
        self.attrs.get(name).ok_or_else(|| Error::Hdf5 {
            path: self.path.to_path_buf(),
            message: format!("missing attribute `{name}`"),
        })
    }

    fn wrong(&self, name: &str, v: &AttrValue) -> Error {
        Error::Hdf5 {
            path: self.path.to_path_buf(),
            message: format!("attribute `{name}` has unexpected type: {v:?}"),
        }
    }

    fn string(&self, name: &str) -> Result<String> {
        match self.get(name)? {
            AttrValue::VarLenString(s)
            | AttrValue::VarLenAsciiString(s)
            | AttrValue::String(s)
            | AttrValue::AsciiString(s) => Ok(s.clone()),
            v => Err(self.wrong(name, v)),
        }
    }

    fn f64(&self, name: &str) -> Result<f64> {
        match self.get(name)? {
            AttrValue::F64(x) => Ok(*x),
            AttrValue::F32(x) => Ok(f64::from(*x)),
            v => Err(self.wrong(name, v)),
        }
    }

    fn u64(&self, name: &str) -> Result<u64> {
        match self.get(name)? {
            AttrValue::U64(x) => Ok(*x),
            AttrValue::U32(x) => Ok(u64::from(*x)),
            AttrValue::I64(x) if *x >= 0 => Ok(*x as u64),
            v => Err(self.wrong(name, v)),
        }
    }
}

pub(crate) fn hdf5_err(path: &Path, e: hdf5_pure::Error) -> Error {
    Error::Hdf5 {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn param_names_give_the_order_and_their_absence_falls_back_to_the_sort() {
        let stored = names(&[
            "layers.0.bias",
            "layers.0.weight",
            "layers.10.bias",
            "layers.2.bias",
        ]);
        let listed = r#"["layers.0.weight","layers.0.bias","layers.2.bias","layers.10.bias"]"#;
        assert_eq!(
            model_order(
                stored.clone(),
                Some(&AttrValue::VarLenString(listed.into()))
            ),
            Ok(names(&[
                "layers.0.weight",
                "layers.0.bias",
                "layers.2.bias",
                "layers.10.bias"
            ]))
        );
        // A file written before `param_names`: the old numeric-aware sort.
        assert_eq!(
            model_order(stored.clone(), None),
            Ok(names(&[
                "layers.0.bias",
                "layers.0.weight",
                "layers.2.bias",
                "layers.10.bias"
            ]))
        );
        let short = AttrValue::VarLenString(r#"["layers.0.weight"]"#.into());
        let err = model_order(stored, Some(&short)).expect_err("mismatch");
        assert!(
            err.contains("param_names") && err.contains("layers.10.bias"),
            "{err}"
        );
    }
}
