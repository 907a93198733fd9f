//! A study: one TOML file in `experiments/` that says what to train, on what,
//! how, over which grid, with per-profile overrides.
//!
//! The grid is initializers × seeds, crossed with any further *axes*
//! (activation, optimizer, depth, model, sequence length): an axis value is a
//! partial config merged into the study's tables ([`Axis`]). A study whose
//! experiments differ in more than one axis lists *parts*, each with its own
//! settings and axes, and runs their union. A run's id comes from its
//! canonical config alone, so adding an axis value or a part never changes
//! another run's id.

mod config;
mod expand;
mod ranges;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use initlab_init::Scheme;
use initlab_models::InitPlan;
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

pub use self::config::{OptimizerConfig, TestSchedule, TrainingConfig};
pub use self::expand::{Axis, AxisValue};

use crate::backend::BackendKind;
use crate::network::ModelConfig;
use crate::run::{point_name, RunConfig, RunLabels, RunSpec};
use crate::task::DataConfig;
use crate::toml_file;
use crate::{Error, Result};

/// How much of a study to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// A few hundred steps on a subset: what CI runs and snapshots pin.
    Smoke,
    /// The published config with a few seeds: the default.
    Quick,
    /// The published config with as many seeds as the paper.
    Paper,
}

impl Profile {
    /// Every profile, smallest first.
    pub const ALL: [Profile; 3] = [Profile::Smoke, Profile::Quick, Profile::Paper];

    /// The name used on the command line and in study files.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Smoke => "smoke",
            Profile::Quick => "quick",
            Profile::Paper => "paper",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "smoke" => Ok(Profile::Smoke),
            "quick" => Ok(Profile::Quick),
            "paper" => Ok(Profile::Paper),
            _ => Err(format!(
                "unknown profile `{s}`: expected smoke, quick or paper"
            )),
        }
    }
}

/// One initializer of the grid.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridInitializer {
    /// The short name shown in tables and plots (`glorot-normal`).
    pub label: String,
    /// The initializer spec (`xavier-normal(distribution=truncated-normal)`).
    pub spec: String,
    /// The published test accuracy, when the paper gives one.
    #[serde(default)]
    pub published: Option<f64>,
    /// The groups this initializer is applied to, when not the grid's
    /// `groups` (zeros on the biases too, say).
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

/// One experiment of a study that runs several: its own settings and axes
/// over the study's initializers.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// Its name, the value of the grid point's `part`.
    pub name: String,
    /// A partial config merged into the study's tables for every run of the part.
    #[serde(default)]
    pub set: Table,
    /// Axes crossed within this part, after the grid's own.
    #[serde(default)]
    pub axes: Vec<Axis>,
    /// Labels of the initializers this part runs (default: all).
    #[serde(default)]
    pub initializers: Option<Vec<String>>,
}

/// A published number for the runs of one grid point.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    /// The grid point: axis (or the parts' axis, `initializer`) → value label. Runs
    /// match when every entry does.
    #[serde(rename = "where")]
    pub at: BTreeMap<String, String>,
    /// Test accuracy.
    #[serde(default)]
    pub test_accuracy: Option<f64>,
    /// Test loss.
    #[serde(default)]
    pub test_loss: Option<f64>,
    /// Best validation accuracy over the epochs.
    #[serde(default)]
    pub best_val_accuracy: Option<f64>,
    /// The epoch the run leaves the plateau.
    #[serde(default)]
    pub plateau_escape_epoch: Option<f64>,
    /// Where the number comes from or what it means, for the report.
    #[serde(default)]
    pub note: Option<String>,
}

impl GridConfig {
    /// The grid point's name for the parts.
    pub fn part_axis(&self) -> &str {
        self.part_axis.as_deref().unwrap_or("part")
    }
}

impl Published {
    fn metrics(&self) -> Vec<(String, f64)> {
        [
            ("test_loss", self.test_loss),
            ("best_val_accuracy", self.best_val_accuracy),
            ("plateau_escape_epoch", self.plateau_escape_epoch),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect()
    }
}

/// The grid: which initializers, applied to which parameter group, over how
/// many seeds, crossed with which axes, in which parts.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridConfig {
    /// The parameter groups the grid's initializer is applied to.
    pub groups: Vec<String>,
    /// Replicates per grid point.
    pub seeds: u32,
    /// The initializers compared.
    pub initializers: Vec<GridInitializer>,
    /// Axes crossed in every part.
    #[serde(default)]
    pub axes: Vec<Axis>,
    /// Experiments run as a union; none: the study is one experiment.
    #[serde(default)]
    pub parts: Vec<Part>,
    /// What the parts are called in the grid point (`model` when each part is
    /// one network); `part` when absent.
    #[serde(default)]
    pub part_axis: Option<String>,
    /// Published numbers by grid point.
    #[serde(default)]
    pub published: Vec<Published>,
}

/// Initializers the grid does not vary.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitConfig {
    /// The scheme of every group neither the grid nor `groups` names.
    pub default: String,
    /// Fixed schemes per group, or per parameter name (`rnn.bias_hh_l0`).
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
}

/// What a profile changes.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileOverride {
    /// Replicates per grid point.
    pub seeds: Option<u32>,
    /// Passes over the training set.
    pub epochs: Option<usize>,
    /// Use only the first N training examples.
    pub train_limit: Option<usize>,
    /// Evaluate on only the first N validation and test examples.
    pub eval_limit: Option<usize>,
    /// A partial config merged in last, over every part and axis value.
    #[serde(default)]
    pub set: Table,
    /// Run only these labels of an axis (or of the parts' axis, `initializer`).
    #[serde(default)]
    pub only: BTreeMap<String, Vec<String>>,
    /// Why the study has no runs under this profile (a study too long for
    /// `quick`): the profile trains nothing and says this instead.
    pub skip: Option<String>,
}

/// Grid choices made on the command line, applied over a profile's: `only`
/// narrows the profile's selection (it replaces the profile's labels for the
/// axes it names), `set` is merged in after the profile's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// Axis (or `initializer`, the parts' axis) → labels to run.
    pub only: BTreeMap<String, Vec<String>>,
    /// A partial config.
    pub set: Table,
}

impl Overrides {
    /// Adds `key=value` (`training.epochs=80`): the value is read as TOML,
    /// and as a plain string when it is not TOML (`model.activation=tanh`).
    pub fn set(&mut self, assignment: &str) -> std::result::Result<(), String> {
        let (key, value) = assignment.split_once('=').ok_or_else(|| {
            format!("`{assignment}`: expected KEY=VALUE, e.g. training.epochs=80")
        })?;
        let value = format!("v = {value}")
            .parse::<Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| Value::String(value.to_string()));
        let key = key.trim();
        let at = expand::at_path(key, value).map_err(|e| format!("`{assignment}`: {e}"))?;
        expand::merge(&mut self.set, &at);
        Ok(())
    }

    /// Adds `axis=label,label` (`model=irnn`, `length=150,200`).
    pub fn only(&mut self, selection: &str) -> std::result::Result<(), String> {
        let (axis, labels) = selection.split_once('=').ok_or_else(|| {
            format!("`{selection}`: expected AXIS=LABEL[,LABEL], e.g. model=irnn")
        })?;
        let labels: Vec<String> = labels
            .split(',')
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        if labels.is_empty() {
            return Err(format!("`{selection}`: no labels after `=`"));
        }
        self.only.insert(axis.trim().to_string(), labels);
        Ok(())
    }
}

/// The `[study]` table.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyInfo {
    /// Short kebab-case name; also the file's stem.
    pub name: String,
    /// One line for reports.
    pub title: String,
    /// The paper or notebook reproduced.
    pub reference: String,
    /// Mixed with each run's config hash to give the run's seed.
    pub master_seed: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StudyFile {
    study: StudyInfo,
    model: ModelConfig,
    data: DataConfig,
    training: TrainingConfig,
    init: InitConfig,
    grid: GridConfig,
    #[serde(default)]
    profile: BTreeMap<Profile, ProfileOverride>,
}

/// A parsed, validated study file.
#[derive(Clone, Debug)]
pub struct Study {
    /// Where it was read from.
    pub path: PathBuf,
    /// The `[study]` table.
    pub info: StudyInfo,
    /// The network, before any axis or profile.
    pub model: ModelConfig,
    /// The data, before any axis or profile.
    pub data: DataConfig,
    /// The training config before any axis or profile.
    pub training: TrainingConfig,
    /// Fixed initializers.
    pub init: InitConfig,
    /// The grid before profile overrides.
    pub grid: GridConfig,
    /// Overrides per profile; a profile not listed runs the file as written.
    pub profiles: BTreeMap<Profile, ProfileOverride>,
    /// `[model]`, `[data]`, `[training]`, `[init]` as written, which parts,
    /// axis values and profiles are merged into.
    base: Table,
    /// The file's text, to point an error at the line of a key.
    text: String,
}

/// The grid point's axes besides the initializer, resolved, in order.
type Point = Vec<(String, AxisValue)>;

impl Study {
    /// Reads `experiments/<name>.toml` when `name_or_path` is a bare name, else the file.
    pub fn find(experiments: &Path, name_or_path: &str) -> Result<Study> {
        let as_path = Path::new(name_or_path);
        let path = if as_path.extension().is_some() || as_path.components().count() > 1 {
            as_path.to_path_buf()
        } else {
            experiments.join(format!("{name_or_path}.toml"))
        };
        if !path.exists() {
            return Err(Error::UnknownStudy {
                name: name_or_path.to_string(),
                known: Self::names(experiments),
            });
        }
        Self::load(&path)
    }

    /// The names of the studies in `experiments/`, sorted.
    pub fn names(experiments: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(experiments)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                (p.extension()? == "toml").then(|| p.file_stem()?.to_str().map(str::to_string))?
            })
            .collect();
        names.sort();
        names
    }

    /// Reads and validates a study file.
    pub fn load(path: &Path) -> Result<Study> {
        let text = std::fs::read_to_string(path).map_err(|error| Error::Io {
            path: path.to_path_buf(),
            error,
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates study text; `path` names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Study> {
        // The typed parse checks every table as written, with line numbers;
        // the raw tree is what grid points are merged into.
        let file: StudyFile = toml_file::parse(path, text)?;
        let raw: Table = toml_file::parse(path, text)?;
        let base = ["model", "data", "training", "init"]
            .into_iter()
            .filter_map(|k| Some((k.to_string(), raw.get(k)?.clone())))
            .collect();
        let study = Study {
            path: path.to_path_buf(),
            info: file.study,
            model: file.model,
            data: file.data,
            training: file.training,
            init: file.init,
            grid: file.grid,
            profiles: file.profile,
            base,
            text: text.to_string(),
        };
        study.validate()?;
        Ok(study)
    }

    fn invalid(&self, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    fn validate(&self) -> Result<()> {
        if self.grid.initializers.is_empty() {
            return Err(self.invalid("grid.initializers is empty"));
        }
        if self.grid.seeds == 0 || self.training.epochs == 0 || self.training.batch_size == 0 {
            return Err(self
                .invalid("grid.seeds, training.epochs and training.batch_size must be positive"));
        }
        let seeds = std::iter::once(("grid.seeds".to_string(), self.grid.seeds)).chain(
            self.profiles.iter().filter_map(|(profile, o)| {
                Some((format!("profile.{}.seeds", profile.name()), o.seeds?))
            }),
        );
        for (key, n) in seeds {
            if n > ranges::MAX_SEEDS {
                let message = format!(
                    "{key} is {n}; at most {} (each run of the grid is expanded when the file is read)",
                    ranges::MAX_SEEDS
                );
                let path: Vec<&str> = key.split('.').collect();
                return Err(match toml_file::key_offset(&self.text, &path) {
                    Some(offset) => toml_file::error_at(&self.path, &self.text, offset, message),
                    None => self.invalid(message),
                });
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for part in &self.grid.parts {
            if names.contains(&part.name.as_str()) {
                return Err(self.invalid(format!("two parts are called `{}`", part.name)));
            }
            names.push(&part.name);
        }
        for published in &self.grid.published {
            self.check_labels(
                "grid.published.where",
                published
                    .at
                    .iter()
                    .map(|(a, l)| (a, std::slice::from_ref(l))),
            )?;
        }
        for (profile, o) in &self.profiles {
            let what = format!("profile.{}.only", profile.name());
            self.check_labels(&what, o.only.iter().map(|(a, l)| (a, l.as_slice())))?;
        }
        for profile in Profile::ALL {
            if profile != Profile::Quick && !self.profiles.contains_key(&profile) {
                continue;
            }
            let runs = self.runs(profile, BackendKind::DEFAULT)?;
            if runs.is_empty() && self.skipped(profile).is_none() {
                return Err(self.invalid(format!("profile {} has no runs", profile.name())));
            }
            let mut ids: Vec<(&str, String)> =
                runs.iter().map(|r| (r.id.as_str(), r.point())).collect();
            ids.sort();
            if let Some(w) = ids.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(self.invalid(format!(
                    "profile {}: the grid points {} and {} give the same config",
                    profile.name(),
                    w[0].1,
                    w[1].1
                )));
            }
        }
        Ok(())
    }

    /// Every axis name (and `part`, `initializer`) with its value labels.
    fn axis_labels(&self) -> Result<Vec<(String, Vec<String>)>> {
        let mut out: Vec<(String, Vec<String>)> = vec![(
            "initializer".into(),
            self.grid
                .initializers
                .iter()
                .map(|i| i.label.clone())
                .collect(),
        )];
        if !self.grid.parts.is_empty() {
            out.push((
                self.grid.part_axis().into(),
                self.grid.parts.iter().map(|p| p.name.clone()).collect(),
            ));
        }
        let axes = self
            .grid
            .axes
            .iter()
            .chain(self.grid.parts.iter().flat_map(|p| &p.axes));
        for axis in axes {
            let labels: Vec<String> = axis
                .resolve()
                .map_err(|e| self.invalid(e))?
                .into_iter()
                .map(|v| v.label)
                .collect();
            match out.iter_mut().find(|(n, _)| *n == axis.name) {
                Some((_, known)) => known.extend(labels),
                None => out.push((axis.name.clone(), labels)),
            }
        }
        Ok(out)
    }

    /// Checks that every `(axis, labels)` names a known axis and labels.
    fn check_labels<'a>(
        &self,
        what: &str,
        pairs: impl Iterator<Item = (&'a String, &'a [String])>,
    ) -> Result<()> {
        let known = self.axis_labels()?;
        for (axis, labels) in pairs {
            let Some((_, values)) = known.iter().find(|(n, _)| n == axis) else {
                return Err(self.invalid(format!(
                    "{what}: no axis `{axis}`; the axes are {}",
                    known
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            if let Some(bad) = labels.iter().find(|l| !values.contains(l)) {
                return Err(self.invalid(format!(
                    "{what}: `{axis}` has no value `{bad}`; it has {}",
                    values.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Replicates per grid point under a profile.
    pub fn seeds_for(&self, profile: Profile) -> u32 {
        self.profiles
            .get(&profile)
            .and_then(|o| o.seeds)
            .unwrap_or(self.grid.seeds)
    }

    /// Expands the grid into runs on `backend`: for each part, each
    /// combination of axis values (first axis outermost), each initializer,
    /// each replicate, in file order. Every config is read, checked against
    /// the model and data, and every scheme against the model's parameter
    /// shapes here, so a bad grid point fails before anything trains.
    pub fn runs(&self, profile: Profile, backend: BackendKind) -> Result<Vec<RunSpec>> {
        self.runs_with(profile, backend, &Overrides::default())
    }

    /// Why the study trains nothing under `profile`, when its file says so.
    pub fn skipped(&self, profile: Profile) -> Option<&str> {
        self.profiles.get(&profile)?.skip.as_deref()
    }

    /// [`runs`](Self::runs) with command-line [`Overrides`] over the profile.
    pub fn runs_with(
        &self,
        profile: Profile,
        backend: BackendKind,
        extra: &Overrides,
    ) -> Result<Vec<RunSpec>> {
        self.check_labels("--only", extra.only.iter().map(|(a, l)| (a, l.as_slice())))?;
        if self.skipped(profile).is_some() {
            return Ok(Vec::new());
        }
        let mut over = self.profiles.get(&profile).cloned().unwrap_or_default();
        over.only.extend(extra.only.clone());
        // The profile's own keys win over its `set`, the command line over both.
        let mut training = Table::new();
        if let Some(e) = over.epochs {
            training.insert("epochs".into(), Value::Integer(e as i64));
        }
        if let Some(l) = over.train_limit {
            training.insert("train_limit".into(), Value::Integer(l as i64));
        }
        if let Some(l) = over.eval_limit {
            training.insert("eval_limit".into(), Value::Integer(l as i64));
        }
        let mut fields = Table::new();
        fields.insert("training".into(), Value::Table(training));
        expand::merge(&mut over.set, &fields);
        expand::merge(&mut over.set, &extra.set);
        let allowed = |axis: &str, label: &str| {
            over.only
                .get(axis)
                .is_none_or(|labels| labels.iter().any(|l| l == label))
        };
        let implicit = [Part::default()];
        let parts: &[Part] = if self.grid.parts.is_empty() {
            &implicit
        } else {
            &self.grid.parts
        };
        let mut runs = Vec::new();
        for part in parts {
            if !self.grid.parts.is_empty() && !allowed(self.grid.part_axis(), &part.name) {
                continue;
            }
            let mut axes: Vec<(String, Vec<AxisValue>)> = Vec::new();
            for axis in self.grid.axes.iter().chain(&part.axes) {
                let values = axis
                    .resolve()
                    .map_err(|e| self.invalid(e))?
                    .into_iter()
                    .filter(|v| allowed(&axis.name, &v.label))
                    .collect();
                axes.push((axis.name.clone(), values));
            }
            for point in cartesian(&axes) {
                self.expand_point(profile, backend, part, &point, &over, &allowed, &mut runs)?;
            }
        }
        Ok(runs)
    }

    #[allow(clippy::too_many_arguments)]
    fn expand_point(
        &self,
        profile: Profile,
        backend: BackendKind,
        part: &Part,
        point: &Point,
        over: &ProfileOverride,
        allowed: &dyn Fn(&str, &str) -> bool,
        runs: &mut Vec<RunSpec>,
    ) -> Result<()> {
        let mut grid: Vec<(String, String)> = Vec::new();
        if !self.grid.parts.is_empty() {
            grid.push((self.grid.part_axis().into(), part.name.clone()));
        }
        grid.extend(point.iter().map(|(a, v)| (a.clone(), v.label.clone())));
        let where_ = if grid.is_empty() {
            String::new()
        } else {
            format!("grid point {}: ", point_name(&grid, "…"))
        };
        let mut tree = self.base.clone();
        expand::merge(&mut tree, &part.set);
        for (_, value) in point {
            expand::merge(&mut tree, &value.set);
        }
        expand::merge(&mut tree, &over.set);
        let read = |key: &str| -> Result<Value> {
            tree.get(key)
                .cloned()
                .ok_or_else(|| self.invalid(format!("{where_}no [{key}] table")))
        };
        let bad = |key: &str, e: toml::de::Error| {
            self.invalid(format!("{where_}[{key}]: {}", e.message().trim()))
        };
        let model: ModelConfig = read("model")?.try_into().map_err(|e| bad("model", e))?;
        let mut data: DataConfig = read("data")?.try_into().map_err(|e| bad("data", e))?;
        let training: TrainingConfig = read("training")?
            .try_into()
            .map_err(|e| bad("training", e))?;
        let init: InitConfig = read("init")?.try_into().map_err(|e| bad("init", e))?;
        if training.epochs == 0 || training.batch_size == 0 {
            return Err(self.invalid(format!(
                "{where_}training.epochs and training.batch_size must be positive"
            )));
        }
        if let Some((key, why)) = ranges::out_of_range(&model, &data, &training) {
            let path: Vec<&str> = key.split('.').collect();
            let overridden = std::iter::once(&part.set)
                .chain(point.iter().map(|(_, v)| &v.set))
                .chain(std::iter::once(&over.set))
                .any(|set| expand::has_key(set, &path));
            // Where the file's own table writes the value, its line is the
            // place to fix; a value from a grid point or profile is named by both.
            return Err(match toml_file::key_offset(&self.text, &path) {
                Some(offset) if !overridden => {
                    toml_file::error_at(&self.path, &self.text, offset, format!("{key} {why}"))
                }
                _ => self.invalid(format!("{where_}{key} {why}")),
            });
        }
        model
            .check_fits(&data)
            .map_err(|e| self.invalid(format!("{where_}{e}")))?;
        data.fill_in(self.path.parent().unwrap_or(Path::new(".")))?;
        let specs = model.param_specs();
        let parse = |what: &str, spec: &str| -> Result<Scheme> {
            spec.parse::<Scheme>()
                .map_err(|e| self.invalid(format!("{where_}{what} = \"{spec}\": {e}")))
        };
        let default = parse("init.default", &init.default)?;
        for gi in &self.grid.initializers {
            if part
                .initializers
                .as_ref()
                .is_some_and(|only| !only.contains(&gi.label))
                || !allowed("initializer", &gi.label)
            {
                continue;
            }
            let scheme = parse(&format!("grid.initializers `{}` spec", gi.label), &gi.spec)?;
            let mut plan = InitPlan::new(default.clone());
            for (group, spec) in &init.groups {
                plan = plan.with(group, parse(&format!("init.groups.{group}"), spec)?);
            }
            for group in gi.groups.as_ref().unwrap_or(&self.grid.groups) {
                plan = plan.with(group, scheme.clone());
            }
            plan.validate(&specs)
                .map_err(|e| self.invalid(format!("{where_}initializer `{}`: {e}", gi.label)))?;
            model
                .lsuv_settings(&plan)
                .map_err(|e| self.invalid(format!("{where_}initializer `{}`: {e}", gi.label)))?;
            let mut labels = RunLabels {
                label: gi.label.clone(),
                initializer: scheme.to_string(),
                published: gi.published,
                published_metrics: Vec::new(),
                grid: grid.clone(),
            };
            for p in &self.grid.published {
                let matches = p.at.iter().all(|(axis, label)| {
                    if axis == "initializer" {
                        *label == gi.label
                    } else {
                        grid.iter().any(|(a, l)| a == axis && l == label)
                    }
                });
                if matches {
                    labels.published = p.test_accuracy.or(labels.published);
                    labels.published_metrics.extend(p.metrics());
                }
            }
            for replicate in 0..self.seeds_for(profile) {
                let config = RunConfig {
                    study: self.info.name.clone(),
                    model: model.clone(),
                    data: data.clone(),
                    training: training.clone(),
                    init: plan
                        .groups
                        .iter()
                        .map(|(g, s)| (g.clone(), s.to_string()))
                        .chain([("*".to_string(), plan.default.to_string())])
                        .collect(),
                    replicate,
                };
                let mut run = RunSpec::new(
                    config,
                    self.info.master_seed,
                    backend,
                    labels.clone(),
                    plan.clone(),
                );
                run.study_dir = self.path.parent().unwrap_or(Path::new(".")).to_path_buf();
                runs.push(run);
            }
        }
        Ok(())
    }

    /// The published notes of the study, by grid point, for the report.
    pub fn published_notes(&self) -> Vec<(String, String)> {
        self.grid
            .published
            .iter()
            .filter_map(|p| {
                let at: Vec<String> = p.at.iter().map(|(a, l)| format!("{a}={l}")).collect();
                Some((at.join("/"), p.note.clone()?))
            })
            .collect()
    }
}

/// Every combination of one value per axis, the first axis outermost.
fn cartesian(axes: &[(String, Vec<AxisValue>)]) -> Vec<Point> {
    let mut points: Vec<Point> = vec![Vec::new()];
    for (name, values) in axes {
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut p = p.clone();
                    p.push((name.clone(), v.clone()));
                    p
                })
            })
            .collect();
    }
    points
}

#[cfg(test)]
mod tests;
