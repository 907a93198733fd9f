//! A study: one TOML file in `experiments/` that says what to train, on what,
//! how, over which grid, with per-profile overrides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use initlab_init::Scheme;
use initlab_models::{InitPlan, MlpConfig};
use serde::{Deserialize, Serialize};

use crate::backend::BackendKind;
use crate::run::{RunConfig, RunLabels, RunSpec};
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

/// The network a study trains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModelConfig {
    /// A fully connected network.
    Mlp(MlpConfig),
}

/// The data a study trains on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dataset", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DataConfig {
    /// MNIST: the 60k training images split into train and validation by a
    /// seeded shuffle, and the 10k test images.
    Mnist {
        /// Fraction of the 60k training images held out for validation (0.2: 48k/12k).
        validation_fraction: f64,
    },
}

/// The optimizer and its hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Adam (Kingma & Ba 2015).
    Adam {
        /// Learning rate.
        lr: f64,
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Added to the denominator for stability (Keras 1e-7, PyTorch 1e-8).
        epsilon: f64,
    },
    /// Plain stochastic gradient descent, with optional momentum.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum (0 for none).
        #[serde(default)]
        momentum: f64,
    },
}

/// How a run trains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// Use only the first N training examples (after the split), for smoke runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_limit: Option<usize>,
    /// Evaluate on only the first N validation and test examples, for smoke runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_limit: Option<usize>,
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
}

/// The grid: which initializers, applied to which parameter group, over how many seeds.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridConfig {
    /// The parameter groups the grid's initializer is applied to.
    pub groups: Vec<String>,
    /// Replicates per grid point.
    pub seeds: u32,
    /// The initializers compared.
    pub initializers: Vec<GridInitializer>,
}

/// Initializers the grid does not vary.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitConfig {
    /// The scheme of every group neither the grid nor `groups` names.
    pub default: String,
    /// Fixed schemes per group.
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
    /// The network.
    pub model: ModelConfig,
    /// The data.
    pub data: DataConfig,
    /// The training config before profile overrides.
    pub training: TrainingConfig,
    /// Fixed initializers.
    pub init: InitConfig,
    /// The grid before profile overrides.
    pub grid: GridConfig,
    /// Overrides per profile; a profile not listed runs the file as written.
    pub profiles: BTreeMap<Profile, ProfileOverride>,
}

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
        Self::from_file(path, toml_file::load(path)?)
    }

    /// Parses and validates study text; `path` names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Study> {
        Self::from_file(path, toml_file::parse(path, text)?)
    }

    fn from_file(path: &Path, file: StudyFile) -> Result<Study> {
        let study = Study {
            path: path.to_path_buf(),
            info: file.study,
            model: file.model,
            data: file.data,
            training: file.training,
            init: file.init,
            grid: file.grid,
            profiles: file.profile,
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
        for profile in self.profiles.keys() {
            let runs = self.runs(*profile, BackendKind::DEFAULT)?;
            if runs.is_empty() {
                return Err(self.invalid(format!("profile {} has no runs", profile.name())));
            }
        }
        self.runs(Profile::Quick, BackendKind::DEFAULT).map(|_| ())
    }

    /// The training config under a profile.
    pub fn training_for(&self, profile: Profile) -> TrainingConfig {
        let mut t = self.training.clone();
        if let Some(o) = self.profiles.get(&profile) {
            t.epochs = o.epochs.unwrap_or(t.epochs);
            t.train_limit = o.train_limit.or(t.train_limit);
            t.eval_limit = o.eval_limit.or(t.eval_limit);
        }
        t
    }

    /// Replicates per grid point under a profile.
    pub fn seeds_for(&self, profile: Profile) -> u32 {
        self.profiles
            .get(&profile)
            .and_then(|o| o.seeds)
            .unwrap_or(self.grid.seeds)
    }

    /// Expands the grid into runs on `backend`: initializers × replicates, in file
    /// order. Every scheme is parsed and checked against the model's parameter
    /// shapes here, so a bad spec fails before anything trains.
    pub fn runs(&self, profile: Profile, backend: BackendKind) -> Result<Vec<RunSpec>> {
        let training = self.training_for(profile);
        let specs = match &self.model {
            ModelConfig::Mlp(m) => m.param_specs(),
        };
        let parse = |what: &str, spec: &str| -> Result<Scheme> {
            spec.parse::<Scheme>()
                .map_err(|e| self.invalid(format!("{what} = \"{spec}\": {e}")))
        };
        let default = parse("init.default", &self.init.default)?;
        let mut runs = Vec::new();
        for init in &self.grid.initializers {
            let scheme = parse(
                &format!("grid.initializers `{}` spec", init.label),
                &init.spec,
            )?;
            let mut plan = InitPlan::new(default.clone());
            for (group, spec) in &self.init.groups {
                plan = plan.with(group, parse(&format!("init.groups.{group}"), spec)?);
            }
            for group in &self.grid.groups {
                plan = plan.with(group, scheme.clone());
            }
            plan.validate(&specs)
                .map_err(|e| self.invalid(format!("initializer `{}`: {e}", init.label)))?;
            for replicate in 0..self.seeds_for(profile) {
                let config = RunConfig {
                    study: self.info.name.clone(),
                    model: self.model.clone(),
                    data: self.data.clone(),
                    training: training.clone(),
                    init: plan
                        .groups
                        .iter()
                        .map(|(g, s)| (g.clone(), s.to_string()))
                        .chain([("*".to_string(), plan.default.to_string())])
                        .collect(),
                    replicate,
                };
                runs.push(RunSpec::new(
                    config,
                    self.info.master_seed,
                    backend,
                    RunLabels {
                        label: init.label.clone(),
                        initializer: scheme.to_string(),
                        published: init.published,
                    },
                    plan.clone(),
                ));
            }
        }
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keras_study() -> Study {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/mlp-keras.toml");
        Study::load(&path).expect("experiments/mlp-keras.toml loads")
    }

    fn parse(text: &str) -> Result<Study> {
        Study::parse(Path::new("s.toml"), text)
    }

    fn text() -> String {
        std::fs::read_to_string(keras_study().path).expect("read")
    }

    #[test]
    fn the_keras_study_expands_to_initializers_times_seeds() {
        let study = keras_study();
        assert_eq!(
            study
                .runs(Profile::Quick, BackendKind::DEFAULT)
                .expect("runs")
                .len(),
            12
        );
        assert_eq!(
            study
                .runs(Profile::Paper, BackendKind::DEFAULT)
                .expect("runs")
                .len(),
            40
        );
        let smoke = study
            .runs(Profile::Smoke, BackendKind::DEFAULT)
            .expect("runs");
        assert_eq!(smoke.len(), 4);
        assert_eq!(smoke[0].config.training.epochs, 1);
        assert!(smoke[0].config.training.train_limit.is_some());
    }

    #[test]
    fn ids_and_seeds_depend_on_the_config_alone() {
        let study = keras_study();
        let quick = study
            .runs(Profile::Quick, BackendKind::DEFAULT)
            .expect("runs");
        let paper = study
            .runs(Profile::Paper, BackendKind::DEFAULT)
            .expect("runs");
        // Quick's runs are the first three replicates of paper's: same ids, same seeds.
        for q in &quick {
            let p = paper.iter().find(|p| p.id == q.id).expect("shared run");
            assert_eq!((p.seed, &p.config), (q.seed, &q.config));
        }
        let mut ids: Vec<&str> = paper.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 40, "run ids are unique");
        // Removing a grid point leaves every other run's id and seed alone.
        let fewer = text().replacen(
            "[[grid.initializers]]\nlabel = \"zeros\"\nspec = \"zeros\"\npublished = 0.1135\n",
            "",
            1,
        );
        let smaller = parse(&fewer)
            .expect("parses")
            .runs(Profile::Quick, BackendKind::DEFAULT)
            .expect("runs");
        assert_eq!(smaller.len(), 9);
        for s in &smaller {
            assert!(quick.iter().any(|q| q.id == s.id && q.seed == s.seed));
        }
    }

    #[test]
    fn backends_share_seeds_but_not_ids() {
        let study = keras_study();
        let nd = study
            .runs(Profile::Quick, BackendKind::Ndarray)
            .expect("runs");
        let candle = study
            .runs(Profile::Quick, BackendKind::Candle)
            .expect("runs");
        for (a, b) in nd.iter().zip(&candle) {
            assert_eq!((a.seed, &a.config_sha256), (b.seed, &b.config_sha256));
            assert_ne!(a.id, b.id);
        }
    }

    #[test]
    fn canonical_config_sorts_keys_and_uses_canonical_specs() {
        let run = &keras_study()
            .runs(Profile::Quick, BackendKind::DEFAULT)
            .expect("runs")[6];
        let json = run.config.canonical_json();
        assert!(json.starts_with("{\"data\":"), "{json}");
        assert!(
            json.contains("\"weight\":\"xavier-normal(distribution=truncated-normal,gain=1)\""),
            "{json}"
        );
        assert!(json.contains("\"epsilon\":1e-7"), "{json}");
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let bad = text().replace("batch_size = 64", "batch_size = 64\nbatch_sise = 32");
        let err = parse(&bad).expect_err("unknown key").to_string();
        let line = bad
            .lines()
            .position(|l| l.starts_with("batch_sise"))
            .expect("line")
            + 1;
        assert!(err.starts_with(&format!("s.toml:{line}:1:")), "{err}");
        assert!(err.contains("unknown field `batch_sise`"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_line() {
        let bad = text().replace("epochs = 10", "epochs = \"ten\"");
        let err = parse(&bad).expect_err("wrong type").to_string();
        let line = bad
            .lines()
            .position(|l| l.starts_with("epochs = \"ten\""))
            .expect("line")
            + 1;
        assert!(
            err.contains(&format!("s.toml:{line}:")) && err.contains("string"),
            "{err}"
        );
    }

    #[test]
    fn unknown_profile_key_and_bad_spec_are_errors() {
        let bad = text().replace(
            "[profile.quick]\nseeds = 3",
            "[profile.quick]\nseeds = 3\nepoch = 2",
        );
        assert!(parse(&bad)
            .expect_err("profile key")
            .to_string()
            .contains("unknown field `epoch`"));
        let bad = text().replace("spec = \"zeros\"", "spec = \"zeroes\"");
        let err = parse(&bad).expect_err("bad spec").to_string();
        assert!(err.contains("zeroes") && err.contains("s.toml"), "{err}");
        let bad = text().replace("groups = [\"weight\"]", "groups = [\"wieght\"]");
        let err = parse(&bad).expect_err("bad group").to_string();
        assert!(
            err.contains("wieght") && err.contains("weight, bias"),
            "{err}"
        );
    }

    #[test]
    fn scheme_that_makes_no_sense_for_a_bias_fails_at_load() {
        let bad = text()
            .replace("groups = [\"weight\"]", "groups = [\"weight\", \"bias\"]")
            .replace("spec = \"zeros\"", "spec = \"orthogonal\"");
        let err = parse(&bad).expect_err("orthogonal bias").to_string();
        assert!(
            err.contains("layers.0.bias") && err.contains("orthogonal"),
            "{err}"
        );
        // A fan-based scheme is fine on a bias: it takes its layer's fans.
        let ok = text().replace("groups = [\"weight\"]", "groups = [\"weight\", \"bias\"]");
        assert!(parse(&ok).is_ok());
    }
}
