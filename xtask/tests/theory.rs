//! `cargo xtask theory` end to end: the printed numbers, the JSON keys, the
//! phase diagram file and a bad flag's one-line error. Cheap: no training.

use std::process::{Command, Output};

fn theory(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("theory")
        .args(args)
        .output()
        .expect("run xtask")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(stdout(o).trim()).expect("one JSON object")
}

#[test]
fn fixed_point_and_depth_scales_as_text_and_json() {
    let args = [
        "--activation",
        "tanh",
        "--sigma-w2",
        "1.5",
        "--sigma-b2",
        "0.05",
    ];
    let o = theory(&args);
    assert!(o.status.success());
    let text = stdout(&o);
    for key in ["q*", "chi1", "c*", "xi_q", "xi_c", "ordered"] {
        assert!(text.contains(key), "{key} missing from:\n{text}");
    }
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let v = json(&theory(&with_json));
    let chi1 = v["chi1"].as_f64().expect("chi1");
    assert!(
        chi1 > 0.0 && chi1 < 1.0,
        "σ_w² = 1.5 is ordered: chi1 = {chi1}"
    );
    assert_eq!(v["c_star"].as_f64(), Some(1.0));
    let xi_c = v["xi_c"].as_f64().expect("xi_c");
    assert!((xi_c + 1.0 / chi1.ln()).abs() < 1e-9 * xi_c);
    assert!(v["q_star"].as_f64().expect("q_star") > 0.0);
    assert!(v["xi_q"].as_f64().is_some());
    assert!(v.get("critical_sigma_w2").is_none());
}

#[test]
fn critical_sigma_w2_and_phase_diagram() {
    let v = json(&theory(&["--critical", "--sigma-b2", "0.05", "--json"]));
    let edge = v["critical_sigma_w2"].as_f64().expect("critical_sigma_w2");
    assert!((edge - 1.76).abs() < 0.01, "{edge}");
    assert!(v.get("chi1").is_none());

    let dir = tempfile::tempdir().expect("tempdir");
    let svg = dir.path().join("phase.svg");
    let o = theory(&[
        "--phase-diagram",
        svg.to_str().expect("utf-8"),
        "--sigma-w2",
        "2",
        "--sigma-b2",
        "0.05",
        "--sigma-b2-max",
        "0.3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let drawn = std::fs::read_to_string(&svg).expect("svg written");
    assert!(drawn.starts_with("<svg") && drawn.contains("chaotic"));
}

#[test]
fn bad_input_is_one_line_naming_the_flag() {
    for (args, flag) in [
        (
            vec!["--activation", "softplus", "--sigma-w2", "1"],
            "--activation",
        ),
        (vec!["--sigma-w2", "-1"], "sigma_w2"),
        (
            vec![
                "--activation",
                "relu",
                "--sigma-w2",
                "3",
                "--sigma-b2",
                "0.1",
            ],
            "no fixed point",
        ),
        (vec!["--phase-diagram", "phase.pdf"], ".png or .svg"),
    ] {
        let o = theory(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}
