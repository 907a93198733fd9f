//! The study format: grid expansion, ids and seeds, and clear errors.
use super::*;

fn keras_study() -> Study {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/mlp-keras.toml");
    Study::load(&path).expect("experiments/mlp-keras.toml loads")
}

fn keras_runs(profile: Profile, backend: BackendKind) -> Vec<RunSpec> {
    keras_study().runs(profile, backend).expect("runs")
}

fn parse(text: &str) -> Result<Study> {
    Study::parse(Path::new("s.toml"), text)
}

fn text() -> String {
    std::fs::read_to_string(keras_study().path).expect("read")
}

#[test]
fn the_keras_study_expands_to_initializers_times_seeds() {
    assert_eq!(keras_runs(Profile::Quick, BackendKind::DEFAULT).len(), 12);
    assert_eq!(keras_runs(Profile::Paper, BackendKind::DEFAULT).len(), 40);
    let smoke = keras_runs(Profile::Smoke, BackendKind::DEFAULT);
    assert_eq!(smoke.len(), 4);
    assert_eq!(smoke[0].config.training.epochs, 1);
    assert!(smoke[0].config.training.train_limit.is_some());
}

#[test]
fn ids_and_seeds_depend_on_the_config_alone() {
    let quick = keras_runs(Profile::Quick, BackendKind::DEFAULT);
    let paper = keras_runs(Profile::Paper, BackendKind::DEFAULT);
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
    let smaller = quick_runs(&fewer);
    assert_eq!(smaller.len(), 9);
    for s in &smaller {
        assert!(quick.iter().any(|q| q.id == s.id && q.seed == s.seed));
    }
}

#[test]
fn backends_share_seeds_but_not_ids() {
    let nd = keras_runs(Profile::Quick, BackendKind::Ndarray);
    let candle = keras_runs(Profile::Quick, BackendKind::Candle);
    for (a, b) in nd.iter().zip(&candle) {
        assert_eq!((a.seed, &a.config_sha256), (b.seed, &b.config_sha256));
        assert_ne!(a.id, b.id);
    }
}

#[test]
fn canonical_config_sorts_keys_and_uses_canonical_specs() {
    let run = &keras_runs(Profile::Quick, BackendKind::DEFAULT)[6];
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
    let (err, line) = refused_at(
        "batch_size = 64",
        "batch_size = 64\nbatch_sise = 32",
        "batch_sise",
    );
    assert!(err.starts_with(&format!("s.toml:{line}:1:")), "{err}");
    assert!(err.contains("unknown field `batch_sise`"), "{err}");
}

#[test]
fn wrong_type_names_the_line() {
    let (err, line) = refused_at("epochs = 10", "epochs = \"ten\"", "epochs = \"ten\"");
    assert!(
        err.contains(&format!("s.toml:{line}:")) && err.contains("string"),
        "{err}"
    );
}

#[test]
fn unknown_profile_key_and_bad_spec_are_errors() {
    let text = text();
    assert_refused(
        &text,
        "[profile.quick]\nseeds = 3",
        "[profile.quick]\nseeds = 3\nepoch = 2",
        &["unknown field `epoch`"],
    );
    assert_refused(
        &text,
        "spec = \"zeros\"",
        "spec = \"zeroes\"",
        &["zeroes", "s.toml"],
    );
    assert_refused(
        &text,
        "groups = [\"weight\"]",
        "groups = [\"wieght\"]",
        &["wieght", "weight, bias"],
    );
}

#[test]
fn scheme_that_makes_no_sense_for_a_bias_fails_at_load() {
    let bad = text()
        .replace("groups = [\"weight\"]", "groups = [\"weight\", \"bias\"]")
        .replace("spec = \"zeros\"", "spec = \"orthogonal\"");
    let err = parse_err(&bad, "orthogonal bias");
    assert!(
        err.contains("layers.0.bias") && err.contains("orthogonal"),
        "{err}"
    );
    // A fan-based scheme is fine on a bias: it takes its layer's fans.
    let ok = text().replace("groups = [\"weight\"]", "groups = [\"weight\", \"bias\"]");
    assert!(parse(&ok).is_ok());
}

#[test]
fn lsuv_on_a_bias_or_with_two_settings_fails_at_load() {
    let lsuv = text().replace("spec = \"zeros\"", "spec = \"lsuv\"");
    assert!(parse(&lsuv).is_ok());
    let bias = lsuv.replace("groups = [\"weight\"]", "groups = [\"weight\", \"bias\"]");
    let bias = bias.replace("spec = \"lsuv\"", "spec = \"lsuv(pre=normal)\"");
    let err = parse_err(&bias, "lsuv bias");
    assert!(
        err.contains("s.toml") && err.contains("layers.0.bias") && err.contains("weight matrices"),
        "{err}"
    );
}

fn study(name: &str) -> Study {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../experiments/{name}.toml"));
    Study::load(&path).unwrap_or_else(|e| panic!("experiments/{name}.toml: {e}"))
}

fn study_text(name: &str) -> String {
    std::fs::read_to_string(study(name).path).expect("read")
}

/// The quick profile's runs of the study in `text`, which must parse.
fn quick_runs(text: &str) -> Vec<RunSpec> {
    parse(text)
        .expect("parses")
        .runs(Profile::Quick, BackendKind::DEFAULT)
        .expect("runs")
}

/// The one-line error `text` must fail to parse with; `what` names the fault.
fn parse_err(text: &str, what: &str) -> String {
    parse(text).expect_err(what).to_string()
}

/// `text` with every `from` replaced by `to` must fail to parse with an error
/// that contains each of `needles`.
fn assert_refused(text: &str, from: &str, to: &str, needles: &[&str]) {
    let err = parse_err(&text.replace(from, to), to);
    assert!(needles.iter().all(|n| err.contains(n)), "{err}");
}

/// The error of the Keras study with `from` replaced by `to`, and the 1-based
/// line of the edited study that starts with `marker`.
fn refused_at(from: &str, to: &str, marker: &str) -> (String, usize) {
    let bad = text().replace(from, to);
    (parse_err(&bad, to), line_of(&bad, marker))
}

fn json(run: &RunSpec) -> serde_json::Value {
    serde_json::from_str(&run.config.canonical_json()).expect("json")
}

#[test]
fn mlp_depth_runs_three_parts_with_their_own_settings() {
    let s = study("mlp-depth");
    let quick = s.runs(Profile::Quick, BackendKind::DEFAULT).expect("runs");
    // activations: 3 × 2 × 5 initializers (LSUV the fifth, an extension);
    // output-activation: 1; depth: 2 × 5.
    assert_eq!(quick.len(), (30 + 1 + 10) * 3);
    let lsuv = quick.iter().filter(|r| r.label == "ext-lsuv").count();
    assert_eq!(lsuv, (6 + 2) * 3);
    let point = |run: &RunSpec, axis: &str| {
        run.grid
            .iter()
            .find(|(a, _)| a == axis)
            .map(|(_, v)| v.clone())
    };
    for run in &quick {
        let j = json(run);
        // What a reader needs to tell runs apart is in config_json.
        for (k, v) in [
            ("model", "hidden"),
            ("model", "activation"),
            ("model", "output_activation"),
            ("training", "batch_size"),
            ("training", "epochs"),
        ] {
            assert!(!j[k][v].is_null(), "{k}.{v} in {j}");
        }
        let kind = j["training"]["optimizer"]["kind"].as_str().expect("kind");
        assert!(kind == "sgd" || kind == "adam", "{kind}");
        match point(run, "part").as_deref() {
            Some("activations") => {
                assert_eq!(j["training"]["batch_size"], 150);
                assert_eq!(
                    point(run, "optimizer").as_deref(),
                    Some(kind),
                    "the label says the optimizer"
                );
                assert_eq!(j["model"]["output_activation"], false);
            }
            Some("output-activation") => {
                assert_eq!(j["model"]["output_activation"], true);
                assert_eq!(run.label, "xavier-uniform");
            }
            Some("depth") => {
                assert_eq!(j["training"]["batch_size"], 128);
                assert_eq!(j["training"]["test"], "every-epoch");
                // Zero biases for every initializer.
                assert_eq!(j["init"]["*"], "zeros");
            }
            other => panic!("part {other:?}"),
        }
    }
    // Under the random schemes the biases keep nn.Linear's default; zeros zeroes them too.
    let a = &quick[0];
    assert_eq!(a.label, "zeros");
    assert_eq!(json(a)["init"]["bias"], "zeros");
    let b = quick.iter().find(|r| r.label == "normal").expect("normal");
    assert_eq!(json(b)["init"]["*"], "pytorch-linear-default");
    // The published numbers land on their grid points only.
    let published: Vec<_> = quick.iter().filter(|r| r.published.is_some()).collect();
    assert_eq!(published.len(), 3 * 3);
    let deep = quick
        .iter()
        .find(|r| point(r, "depth").as_deref() == Some("1-hidden") && r.label == "normal")
        .expect("1-hidden normal");
    assert_eq!(deep.published, Some(0.899));
    assert_eq!(deep.published_metrics, [("test_loss".to_string(), 0.9457)]);
}

#[test]
fn adding_an_axis_value_or_a_part_never_changes_another_runs_id() {
    let text = study_text("mlp-depth");
    let before = quick_runs(&text);
    let more = text
        .replace(
            r#"values = ["relu", "tanh", "sigmoid"]"#,
            r#"values = ["relu", "tanh", "sigmoid", "relu6"]"#,
        )
        .replace("\"relu6\"", "\"sigmoid\"");
    // A duplicate label is refused rather than silently merged.
    assert!(parse(&more).is_err());
    let more = text.replace(
        "[[grid.parts]]\nname = \"depth\"",
        "[[grid.parts]]\nname = \"deeper\"\nset = { model = { hidden = [64, 64, 64] } }\n\n[[grid.parts]]\nname = \"depth\"",
    );
    let after = quick_runs(&more);
    // One new grid point: five initializers × three seeds.
    assert_eq!(after.len(), before.len() + 5 * 3);
    for run in &before {
        assert!(
            after.iter().any(|a| a.id == run.id && a.seed == run.seed),
            "{} moved",
            run.point()
        );
    }
}

#[test]
fn profile_only_and_set_pick_and_change_grid_points() {
    let text = study_text("mlp-depth");
    let text = text.replace(
        "[profile.quick]\nseeds = 3",
        "[profile.quick]\nseeds = 1\nonly = { part = [\"depth\"], depth = [\"6-hidden\"] }\nset = { training = { epochs = 2 } }",
    );
    let runs = quick_runs(&text);
    assert_eq!(runs.len(), 5, "one per initializer");
    assert!(runs.iter().all(|r| r.config.training.epochs == 2));
    assert_refused(
        &text,
        "depth = [\"6-hidden\"]",
        "depth = [\"7-hidden\"]",
        &["7-hidden", "1-hidden, 6-hidden"],
    );
    assert_refused(
        &text,
        "depth = [\"6-hidden\"]",
        "width = [\"6-hidden\"]",
        &["no axis `width`"],
    );
}

#[test]
fn a_bad_axis_value_names_the_grid_point_and_the_key() {
    let text = study_text("mlp-depth");
    assert_refused(
        &text,
        r#"values = ["relu", "tanh", "sigmoid"]"#,
        r#"values = ["relu", "tanh", "sigmoind"]"#,
        &["activation=sigmoind", "[model]", "sigmoind"],
    );
    // A model that cannot read its data is refused at load.
    assert_refused(&text, "inputs = 784", "inputs = 28", &["input size is 28"]);
}

#[test]
fn command_line_overrides_narrow_the_grid_and_change_keys() {
    let s = study("irnn-adding");
    let mut o = Overrides::default();
    o.only("model=irnn").expect("only");
    o.only("length = 150").expect("only");
    o.set("training.epochs=80").expect("set");
    o.set("data.placement=one_per_half")
        .expect("a bare word is a string");
    let runs = s
        .runs_with(Profile::Quick, BackendKind::DEFAULT, &o)
        .expect("runs");
    assert_eq!(runs.len(), 1);
    let j = json(&runs[0]);
    assert_eq!(j["training"]["epochs"], 80);
    assert_eq!(j["data"]["placement"], "one_per_half");
    assert_eq!(runs[0].point(), "model=irnn/length=150/identity");
    // A changed config is another run.
    let plain = s.runs(Profile::Quick, BackendKind::DEFAULT).expect("runs");
    assert!(plain.iter().all(|r| r.id != runs[0].id));
    for bad in ["epochs", "=3"] {
        assert!(Overrides::default().set(bad).is_err(), "{bad}");
    }
    assert!(Overrides::default().only("model=").is_err());
    let mut unknown = Overrides::default();
    unknown.only("model=gru").expect("parses");
    let err = s
        .runs_with(Profile::Quick, BackendKind::DEFAULT, &unknown)
        .expect_err("no such model")
        .to_string();
    assert!(
        err.contains("--only") && err.contains("gru") && err.contains("irnn"),
        "{err}"
    );
}

#[test]
fn a_profile_can_skip_a_study_but_not_lose_its_runs_silently() {
    let skipping = text().replace(
        "[profile.quick]\nseeds = 3",
        "[profile.quick]\nskip = \"too long for quick\"",
    );
    let study = parse(&skipping).expect("a skipped quick profile is valid");
    assert_eq!(study.skipped(Profile::Quick), Some("too long for quick"));
    assert!(study
        .runs(Profile::Quick, BackendKind::DEFAULT)
        .expect("runs")
        .is_empty());
    assert_eq!(study.skipped(Profile::Smoke), None);
    assert!(!study
        .runs(Profile::Smoke, BackendKind::DEFAULT)
        .expect("runs")
        .is_empty());
    // Without a reason, a profile that selects nothing is still an error.
    let empty = text().replace("[profile.quick]\nseeds = 3", "[profile.quick]\nseeds = 0");
    let err = parse_err(&empty, "no runs");
    assert!(err.contains("profile quick has no runs"), "{err}");
}

#[test]
fn pixel_mnist_is_paper_only_with_both_readings_and_models() {
    let study = study("irnn-pixel-mnist");
    assert!(study.skipped(Profile::Quick).is_some());
    let runs = study
        .runs(Profile::Paper, BackendKind::DEFAULT)
        .expect("runs");
    let points: Vec<String> = runs.iter().map(|r| r.point()).collect();
    assert_eq!(runs.len(), 4, "{points:?}");
    for run in &runs {
        let config = json(run);
        let reading = &config["data"]["reading"]["kind"];
        assert!(
            reading == "pixels" || reading == "permuted-pixels",
            "{config}"
        );
        assert!(run.published.is_some(), "{}", run.point());
    }
}

/// The 1-based line of the first line of `text` that starts with `start`.
fn line_of(text: &str, start: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(start))
        .expect("line")
        + 1
}

#[test]
fn out_of_range_values_name_the_file_line_and_key() {
    let cases = [
        (
            "validation_fraction = 0.2",
            "validation_fraction = 1.5",
            "data.validation_fraction is 1.5",
        ),
        (
            "hidden = [128]",
            "hidden = [0]",
            "model.hidden has width 0 at layer 0",
        ),
        (
            "lr = 0.001,",
            "lr = -0.001,",
            "training.optimizer.lr is -0.001",
        ),
        (
            "beta2 = 0.999,",
            "beta2 = 1.0,",
            "training.optimizer.beta2 is 1",
        ),
    ];
    for (from, to, what) in cases {
        let bad = text().replacen(from, to, 1);
        assert_ne!(bad, text(), "{from} is in the study file");
        let err = parse_err(&bad, to);
        let line = bad.lines().position(|l| l.contains(to)).expect("line") + 1;
        assert!(err.starts_with(&format!("s.toml:{line}:")), "{err}");
        assert!(err.contains(what) && !err.contains('\n'), "{err}");
    }
}

#[test]
fn an_out_of_range_value_from_a_profile_names_the_file_profile_and_key() {
    let bad = text().replacen(
        "[profile.quick]\n",
        "[profile.quick]\nset = { data = { validation_fraction = 0.0 } }\n",
        1,
    );
    assert_ne!(bad, text());
    let err = parse_err(&bad, "fraction 0");
    assert!(
        err.starts_with("s.toml: ") && err.contains("data.validation_fraction is 0"),
        "{err}"
    );
    // The [data] table's own line is not blamed for the profile's value.
    let data_line = line_of(&bad, "validation_fraction");
    assert!(!err.contains(&format!("s.toml:{data_line}:")), "{err}");
}

/// Found by fuzzing: `layers = 4294967296` in an RNN study took the parse
/// to 23 GB of memory building the parameter specs; a huge seed count would
/// expand billions of runs. Both are refused before anything is allocated.
#[test]
fn a_model_or_grid_too_big_to_hold_is_refused_before_it_is_built() {
    let irnn =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/irnn-pixel-mnist.toml");
    let irnn_text = std::fs::read_to_string(irnn).expect("read");
    let bad = irnn_text.replacen("layers = 1\n", "layers = 4294967296\n", 1);
    assert_ne!(bad, irnn_text);
    let err = parse_err(&bad, "2^32 layers");
    assert!(
        err.contains("model has") && err.contains("parameters, more than the 1073741824"),
        "{err}"
    );
    let bad = text().replacen("seeds = 3", "seeds = 4294967295", 1);
    assert_ne!(bad, text());
    let err = parse_err(&bad, "2^32 - 1 seeds");
    let line = line_of(&bad, "seeds = 4294967295");
    assert!(
        err.starts_with(&format!("s.toml:{line}:"))
            && err.contains("grid.seeds is 4294967295; at most 10000"),
        "{err}"
    );
}
