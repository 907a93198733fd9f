//! The study format: grid expansion, ids and seeds, and clear errors.
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
