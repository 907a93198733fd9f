//! The report is built from results.h5 alone: a store of synthetic runs gives
//! every plot in PNG and SVG, a Markdown and a self-contained HTML report with
//! the plots inlined, every run id, and the table's numbers computed right.
//! When Chromium is installed, the HTML is rendered headless and the
//! screenshot must show something.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use initlab_analysis::{write_report, ResultsStore};
use initlab_train::{ActivationStats, NamedTensor, RunRecord, RunStatus};

mod common;
use common::with_hashes;

/// A run of `label` whose every weight is `weight` (0 gives a zero-initialized
/// network that stays zero, as in the real study).
fn record(id: &str, label: &str, replicate: u32, acc: f64, weight: f32) -> RunRecord {
    let tensor = |name: &str, shape: Vec<usize>, scale: f32| {
        let n = shape.iter().product::<usize>();
        NamedTensor {
            name: name.into(),
            values: (0..n)
                .map(|i| scale * ((i % 7) as f32 - 3.0) / 3.0)
                .collect(),
            shape,
        }
    };
    let params = |scale: f32| {
        vec![
            tensor("layers.0.bias", vec![4], 0.0),
            tensor("layers.0.weight", vec![4, 6], scale),
            tensor("layers.1.bias", vec![3], 0.0),
            tensor("layers.1.weight", vec![3, 4], scale),
        ]
    };
    let zero = weight == 0.0;
    RunRecord {
        run_id: id.into(),
        study: "toy".into(),
        label: label.into(),
        initializer: if zero {
            "zeros".into()
        } else {
            "normal(mean=0,std=1)".into()
        },
        status: RunStatus::Complete,
        seed: 1000 + u64::from(replicate),
        replicate,
        config_json: format!(
            r#"{{"init":{{"weight":"{label}"}},"replicate":{replicate},"study":"toy","training":{{"batch_size":8,"epochs":2}}}}"#
        ),
        config_sha256: format!("{id:0<64}"),
        init_sha256: "a".repeat(64),
        outputs_sha256: "b".repeat(64),
        backend: "ndarray (burn 0.21.0, f32, cpu)".into(),
        test_accuracy: acc,
        test_loss: if zero { 2.3 } else { 0.3 },
        published: Some(if zero { 0.1135 } else { 0.9 }),
        published_metrics: Vec::new(),
        grid: Vec::new(),
        metrics: Vec::new(),
        finished_at: format!("2026-11-24T06:3{replicate}:00Z"),
        wall_seconds: 1.0,
        step_loss: (0..20)
            .map(|i| if zero { 2.3 } else { 30.0 / (1.0 + i as f32) })
            .collect(),
        train_loss: if zero { vec![2.3, 2.3] } else { vec![3.0, 0.4] },
        train_accuracy: vec![0.5, 0.8],
        val_loss: if zero {
            vec![2.3, 2.3]
        } else {
            vec![1.0, 0.35]
        },
        val_accuracy: vec![0.6, 0.85],
        grad_norms: vec![
            (
                "layers.0".into(),
                if zero { vec![0.0, 0.0] } else { vec![2.0, 0.5] },
            ),
            ("layers.1".into(), vec![0.3, 0.2]),
        ],
        activations: vec![ActivationStats {
            layer: "layers.0".into(),
            range: [0.0, 3.0],
            histogram: if zero {
                [vec![1.0, 0.0, 0.0], vec![1.0, 0.0, 0.0]]
            } else {
                [vec![0.5, 0.3, 0.2], vec![0.6, 0.2, 0.2]]
            },
            dead_fraction: if zero { [1.0, 1.0] } else { [0.0, 0.1] },
            flat_fraction: if zero { [1.0, 1.0] } else { [0.5, 0.6] },
            std: if zero { [0.0, 0.0] } else { [0.8, 1.1] },
        }],
        curves: Vec::new(),
        bptt: Vec::new(),
        lsuv: Vec::new(),
        initial_params: params(weight),
        final_params: params(if zero { 0.0 } else { weight * 1.5 }),
    }
}

fn diverged(id: &str) -> RunRecord {
    RunRecord {
        status: RunStatus::Diverged,
        test_accuracy: f64::NAN,
        test_loss: f64::NAN,
        step_loss: vec![5.0, 50.0, f32::NAN],
        train_loss: vec![f32::NAN],
        val_loss: vec![],
        ..record(id, "normal", 2, 0.0, 1.0)
    }
}

/// Writes a store of five runs and its report; returns the folder.
fn report() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ResultsStore::open(dir.path()).expect("store");
    let runs = [
        record("00000000000000a1", "normal", 0, 0.90, 1.0),
        record("00000000000000a2", "normal", 1, 0.92, 1.0),
        diverged("00000000000000a3"),
        record("00000000000000b1", "zeros", 0, 0.1135, 0.0),
        record("00000000000000b2", "zeros", 1, 0.1135, 0.0),
    ];
    for r in &runs {
        store.save(&with_hashes(r.clone())).expect("save");
    }
    store.rebuild().expect("rebuild");
    let report = write_report(&store).expect("report");
    assert_eq!(report.runs, runs.len());
    (dir, runs.iter().map(|r| r.run_id.clone()).collect())
}

#[test]
fn report_has_every_plot_run_id_and_right_numbers() {
    let (dir, ids) = report();
    let out = dir.path();
    for name in [
        "loss-epoch",
        "loss-step",
        "accuracy",
        "grad-flow",
        "weights",
        "activations",
    ] {
        for ext in ["png", "svg"] {
            let path = out.join(format!("plots/toy/{name}.{ext}"));
            assert!(path.is_file(), "{} missing", path.display());
        }
        assert_png(&out.join(format!("plots/toy/{name}.png")));
    }
    assert_png(&out.join("plots/atlas.png"));

    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    for id in &ids {
        assert!(md.contains(id.as_str()), "{id} not in report.md");
        assert!(html.contains(id.as_str()), "{id} not in report.html");
    }
    // normal: seeds 0.90 and 0.92 (the diverged run is counted, not averaged):
    // mean 0.91, sample std 0.0141, published 0.9.
    let normal_row = "| `normal` | 3 | 1 | 0.9100 ± 0.0141 | 0.9000 | +0.0100 | 0.3000 |";
    assert!(md.contains(normal_row), "row missing from:\n{md}");
    let zeros_row = "| `zeros` | 2 | 0 | 0.1135 ± 0.0000 | 0.1135 | +0.0000 | 2.3000 |";
    assert!(md.contains(zeros_row), "row missing from:\n{md}");
    assert!(html.contains("<td class=\"r\">0.9100 ± 0.0141</td>"));
    // The zero-initialized runs are explained from their stored weights.
    assert!(md.contains("**`zeros` predicts one class.**"));
    assert!(!md.contains("**`normal` predicts one class.**"));

    // Self-contained: seven figures inlined as SVG, no image or script fetched.
    assert_eq!(html.matches("<figure").count(), 7);
    assert_eq!(html.matches("<svg ").count(), 7);
    // The zero-initialized runs' hidden units are all dead, and the report says so.
    assert!(md.contains("dead units"), "activations caption missing");
    assert!(!html.contains("<img") && !html.contains("<script") && !html.contains("<link"));
    assert!(html.contains("font-family=\"sans-serif\""));
    assert!(md.contains("![toy: test accuracy by initializer](plots/toy/accuracy.png)"));
}

#[test]
fn report_is_regenerated_identically_from_results_h5() {
    let (dir, _) = report();
    let first = std::fs::read(dir.path().join("report.html")).expect("html");
    let png = std::fs::read(dir.path().join("plots/toy/loss-step.png")).expect("png");
    // Removing the run files proves the report reads results.h5 alone.
    std::fs::remove_dir_all(dir.path().join("runs")).expect("rm runs");
    let store = ResultsStore::open(dir.path()).expect("store");
    write_report(&store).expect("report again");
    assert_eq!(
        std::fs::read(dir.path().join("report.html")).expect("html"),
        first
    );
    assert_eq!(
        std::fs::read(dir.path().join("plots/toy/loss-step.png")).expect("png"),
        png
    );
}

/// Every line of `expected` is somewhere in the report `md`.
fn assert_mentions(md: &str, expected: &[&str]) {
    for line in expected {
        assert!(md.contains(line), "missing {line:?} in\n{md}");
    }
}

/// Each of `names` is a PNG under `plots/<study>/` of the report in `dir`,
/// and none is blank.
fn assert_pngs(dir: &Path, study: &str, names: &[&str]) {
    for name in names {
        assert_png(&dir.join(format!("plots/{study}/{name}.png")));
    }
}

/// Decodes a PNG and checks that it is not blank: a plot has lines, text and
/// colour on a white page.
fn assert_png(path: &Path) {
    let (w, h, rgb) = decode(path);
    assert!(w >= 800 && h >= 400, "{}: {w}×{h}", path.display());
    let ink = rgb.chunks(3).filter(|p| p.iter().any(|&c| c < 200)).count();
    let colour = rgb
        .chunks(3)
        .filter(|p| p.iter().max().unwrap_or(&0) - p.iter().min().unwrap_or(&0) > 60)
        .count();
    let n = (w * h) as usize;
    assert!(
        ink * 200 > n,
        "{}: almost blank ({ink} dark pixels)",
        path.display()
    );
    assert!(colour > 0, "{}: no colour", path.display());
}

/// Width, height and 8-bit RGB pixels of a PNG.
fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).expect("open png");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("png size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    buf.truncate(info.buffer_size());
    let rgb = match info.color_type {
        png::ColorType::Rgb => buf,
        png::ColorType::Rgba => buf.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g]).collect(),
        png::ColorType::GrayscaleAlpha => buf.chunks(2).flat_map(|p| [p[0], p[0], p[0]]).collect(),
        other => panic!("{}: unexpected colour type {other:?}", path.display()),
    };
    (info.width, info.height, rgb)
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// Renders report.html in headless Chromium (Debian's `chromium` package) and
/// checks the screenshot shows the plots. Without Chromium it says so and passes.
#[test]
fn headless_chromium_renders_the_report() {
    let Some(chromium) = on_path("chromium").or_else(|| on_path("chromium-browser")) else {
        eprintln!("note: chromium is not on PATH; the HTML report was not rendered");
        return;
    };
    let (dir, _) = report();
    let profile = tempfile::tempdir().expect("profile dir");
    let shot = dir.path().join("screenshot.png");
    let url = format!("file://{}", dir.path().join("report.html").display());
    let mut child = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1280,3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait chromium").is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(shot.is_file(), "chromium wrote no screenshot");
    let (w, h, rgb) = decode(&shot);
    assert_eq!((w, h), (1280, 3000));
    // The inlined SVG plots are the only colour on the page apart from links.
    let colour = rgb
        .chunks(3)
        .filter(|p| p.iter().max().unwrap_or(&0) - p.iter().min().unwrap_or(&0) > 80)
        .count();
    assert!(
        colour > 2_000,
        "screenshot shows no plot ({colour} coloured pixels)"
    );
}

/// Writes `runs` to a fresh store and its report; returns the folder and report.md.
fn report_of(runs: &[RunRecord]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ResultsStore::open(dir.path()).expect("store");
    for r in runs {
        store.save(&with_hashes(r.clone())).expect("save");
    }
    store.rebuild().expect("rebuild");
    write_report(&store).expect("report");
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
    (dir, md)
}

/// A run of a grid point of a study shaped like mlp-depth: `grid` is
/// `(axis, value)` pairs, `config` the configuration JSON besides `init`
/// and `replicate`.
fn grid_record(
    id: &str,
    grid: &[(&str, &str)],
    label: &str,
    spec: &str,
    replicate: u32,
    acc: f64,
    config: &str,
) -> RunRecord {
    RunRecord {
        study: "grid".into(),
        initializer: spec.into(),
        grid: grid
            .iter()
            .map(|(a, v)| (a.to_string(), v.to_string()))
            .collect(),
        config_json: format!(
            r#"{{"init":{{"weight":"{label}"}},"replicate":{replicate},{config}}}"#
        ),
        published: None,
        ..record(id, label, replicate, acc, 1.0)
    }
}

/// Two activations × one optimizer × three initializers, two seeds each:
/// ReLU follows the claimed ordering by far, tanh reverses it. A depth part
/// whose deep N(0,1) point diverged, and the output-activation variant.
fn grid_runs() -> Vec<RunRecord> {
    let inits = [
        ("normal", "normal(mean=0,std=1)"),
        ("xavier-uniform", "xavier-uniform(gain=1)"),
        ("zeros", "zeros"),
    ];
    let acc = |activation: &str, label: &str| match (activation, label) {
        ("relu", "xavier-uniform") => [0.95, 0.96],
        ("relu", "normal") => [0.80, 0.82],
        ("relu", _) => [0.11, 0.11],
        (_, "xavier-uniform") => [0.50, 0.52],
        (_, "normal") => [0.60, 0.61],
        _ => [0.90, 0.91],
    };
    let mut runs = Vec::new();
    let mut n = 0;
    for activation in ["relu", "tanh"] {
        for (label, spec) in inits {
            for (rep, a) in acc(activation, label).into_iter().enumerate() {
                n += 1;
                runs.push(grid_record(
                    &format!("{n:016x}"),
                    &[("part", "activations"), ("activation", activation), ("optimizer", "sgd")],
                    label,
                    spec,
                    rep as u32,
                    a,
                    &format!(
                        r#""model":{{"activation":"{activation}","output_activation":false}},"study":"grid","training":{{"optimizer":"sgd"}}"#
                    ),
                ));
            }
        }
    }
    for depth in ["1-hidden", "6-hidden"] {
        for (label, spec) in inits {
            n += 1;
            let mut r = grid_record(
                &format!("{n:016x}"),
                &[("part", "depth"), ("depth", depth)],
                label,
                spec,
                0,
                0.5,
                &format!(
                    r#""model":{{"activation":"relu","hidden":"{depth}","output_activation":false}},"study":"grid","training":{{"batch_size":128,"optimizer":"sgd"}}"#
                ),
            );
            if (depth, label) == ("1-hidden", "normal") {
                r.published = Some(0.899);
                r.published_metrics = vec![("test_loss".into(), 0.9457)];
            }
            if (depth, label) == ("6-hidden", "normal") {
                r.status = RunStatus::Diverged;
                r.test_accuracy = f64::NAN;
                r.test_loss = f64::NAN;
                r.published = Some(0.098);
                r.metrics = vec![
                    ("diverged_epoch".into(), 1.0),
                    ("diverged_step".into(), 3.0),
                    ("class_0_share".into(), 0.098),
                ];
                r.activations = ["layers.0", "layers.1", "layers.2"]
                    .iter()
                    .zip([12.5f32, 310.0, 7400.0])
                    .map(|(layer, std)| ActivationStats {
                        layer: layer.to_string(),
                        std: [std, f32::NAN],
                        ..r.activations[0].clone()
                    })
                    .collect();
            }
            runs.push(r);
        }
    }
    n += 1;
    let mut bug = grid_record(
        &format!("{n:016x}"),
        &[("part", "output-activation")],
        "xavier-uniform",
        "xavier-uniform(gain=1)",
        0,
        0.42,
        r#""model":{"activation":"relu","output_activation":true},"study":"grid","training":{"optimizer":"sgd"}"#,
    );
    bug.published = Some(0.8647);
    runs.push(bug);
    runs
}

#[test]
fn grid_section_has_the_table_heat_map_and_verdicts() {
    let runs = grid_runs();
    let (dir, md) = report_of(&runs);
    // One section for the whole grid, every run listed under its grid point.
    assert_eq!(md.matches("## Study `grid`").count(), 1, "{md}");
    for r in &runs {
        assert!(md.contains(r.run_id.as_str()), "{} missing", r.run_id);
    }
    // Columns are the initializers sorted by label: normal, xavier-uniform, zeros.
    let relu = "| relu / sgd | 0.8100 ± 0.0141 | 0.9550 ± 0.0071 | 0.1100 ± 0.0000 |";
    assert!(md.contains(relu), "row missing from:\n{md}");
    let tanh = "| tanh / sgd | 0.6050 ± 0.0071 | 0.5100 ± 0.0141 | 0.9050 ± 0.0071 |";
    assert!(md.contains(tanh), "row missing from:\n{md}");
    assert_mentions(
        &md,
        &[
            "- **relu / sgd**: holds (",
            "- **tanh / sgd**: does not hold (",
        ],
    );
    let heatmap = dir.path().join("plots/grid/activations-heatmap.png");
    assert_png(&heatmap);
    let svg = std::fs::read_to_string(dir.path().join("plots/grid/activations-heatmap.svg"))
        .expect("heat-map svg");
    for cell in [
        "0.8100 ± 0.0141",
        "0.9550 ± 0.0071",
        "0.5100 ± 0.0141",
        "0.9050 ± 0.0071",
    ] {
        assert!(svg.contains(cell), "{cell} not drawn in the heat map");
    }
    // Small multiples, one panel per configuration and one figure per layer.
    assert_png(
        &dir.path()
            .join("plots/grid/activations-weights-layers.0.png"),
    );
    assert_png(
        &dir.path()
            .join("plots/grid/activations-activations-layers.0.png"),
    );

    // The depth part: divergence counted with its epoch, explained by the
    // activation scale at initialization, the published numbers beside.
    assert_mentions(
        &md,
        &[
            "| 1 of 1 (epoch 1) |",
            "**Why `6-hidden · normal` diverged.**",
            "`layers.0` 12.5, `layers.1` 310, `layers.2` 7400",
            "| 0.8990 | 0.9457 | -0.3990 |",
            "Test loss: published 0.9457, measured 0.3000 (-0.6457).",
            "is 0.0980 here",
        ],
    );

    // The variant next to the grid point that differs only in the bug.
    assert!(md.contains("**The output-activation bug.**"), "{md}");
    assert!(
        md.contains("`model.output_activation` = `true`")
            && md.contains("`model.output_activation` = `false`"),
        "{md}"
    );
    assert!(md.contains("| 0.4200 (1 seed) |"), "{md}");
}

/// A run of the adding problem: a regression grid of model × length.
fn adding_record(id: &str, model: &str, length: &str, escape: Option<f64>) -> RunRecord {
    let epochs = 5;
    let val: Vec<f32> = (0..epochs)
        .map(|e| match escape {
            Some(x) if e as f64 + 1.0 >= x => 0.01,
            _ => 0.17,
        })
        .collect();
    let steps = 4;
    let bptt = |name: &str, scale: f32| NamedTensor {
        name: name.into(),
        shape: vec![epochs + 1, steps],
        values: (0..(epochs + 1) * steps)
            .map(|i| scale * (1.0 + (i % steps) as f32))
            .collect(),
    };
    let published = match length {
        "150" => 55.0,
        _ => 40.0,
    };
    RunRecord {
        study: "irnn-adding".into(),
        label: "identity".into(),
        initializer: "identity(scale=0.01)".into(),
        grid: vec![
            ("model".into(), model.into()),
            ("length".into(), length.into()),
        ],
        config_json: format!(
            r#"{{"data":{{"dataset":"adding","escape_below":0.05,"length":{length}}},"init":{{}},"model":{{"cell":"{model}"}},"replicate":0,"study":"irnn-adding","training":{{"epochs":{epochs}}}}}"#
        ),
        test_accuracy: f64::NAN,
        test_loss: f64::from(val[epochs - 1]),
        published: None,
        published_metrics: if model == "irnn" {
            vec![("plateau_escape_epoch".into(), published)]
        } else {
            Vec::new()
        },
        metrics: escape
            .map(|e| vec![("plateau_escape_epoch".into(), e)])
            .unwrap_or_default(),
        train_accuracy: Vec::new(),
        val_accuracy: Vec::new(),
        train_loss: val.clone(),
        val_loss: val,
        step_loss: vec![0.2; 20],
        activations: Vec::new(),
        bptt: vec![bptt("grad_h_norm", 1e-3), bptt("h_norm", 2.0)],
        ..record(id, "identity", 0, f64::NAN, 1.0)
    }
}

#[test]
fn adding_section_gives_escape_epochs_never_and_bptt() {
    let runs = [
        adding_record("00000000000000c1", "irnn", "150", Some(3.0)),
        adding_record("00000000000000c2", "irnn", "200", None),
        adding_record("00000000000000c3", "lstm", "150", None),
        adding_record("00000000000000c4", "lstm", "200", None),
    ];
    let (dir, md) = report_of(&runs);
    assert_mentions(
        &md,
        &[
            "| `irnn` | 150 | 1 | 5 |",
            "| 3 | 55 | escaped -52 epochs from the published |",
            "1/6 ≈ 0.1667",
        ],
    );
    // Five epochs cannot show an escape published at 40: not "not reproduced".
    assert!(
        md.contains("| never | 40 | outside this profile's budget (5 epochs < 40) |"),
        "{md}"
    );
    assert_pngs(
        dir.path(),
        "irnn-adding",
        &["val-mse", "bptt-grad", "bptt-h"],
    );
    let svg =
        std::fs::read_to_string(dir.path().join("plots/irnn-adding/val-mse.svg")).expect("svg");
    assert!(
        svg.contains("always predicting 1"),
        "plateau line unlabelled"
    );
    assert!(!md.contains("Not plotted yet"), "{md}");
}

/// A recurrent run (BPTT stored) of a plain study, published per initializer.
fn recurrent_record(id: &str, label: &str, replicate: u32, acc: f64, published: f64) -> RunRecord {
    let bptt = |name: &str| NamedTensor {
        name: name.into(),
        shape: vec![3, 5],
        values: (0..15).map(|i| 0.1 * (1.0 + i as f32)).collect(),
    };
    RunRecord {
        study: "rnn".into(),
        config_json: format!(
            r#"{{"init":{{"weight":"{label}"}},"replicate":{replicate},"study":"rnn","training":{{"batch_size":8,"epochs":2}}}}"#
        ),
        published: Some(published),
        bptt: vec![bptt("grad_h_norm"), bptt("h_norm")],
        ..record(id, label, replicate, acc, 1.0)
    }
}

#[test]
fn recurrent_section_judges_the_published_ordering_and_plots_bptt() {
    let tiers = [
        ("a", 0.60, 0.64),
        ("b", 0.58, 0.55),
        ("c", 0.30, 0.27),
        ("d", 0.12, 0.11),
    ];
    let mut runs = Vec::new();
    for (i, (label, acc, published)) in tiers.iter().enumerate() {
        for rep in 0..2u32 {
            runs.push(recurrent_record(
                &format!("00000000000000{i}{rep}"),
                label,
                rep,
                acc + 0.01 * f64::from(rep),
                *published,
            ));
        }
    }
    let (dir, md) = report_of(&runs);
    assert_mentions(&md, &["{`a`, `b`} > {`c`} > {`d`}", "**holds**"]);
    assert_pngs(
        dir.path(),
        "rnn",
        &["bptt-grad", "bptt-h", "accuracy-epoch"],
    );
    assert!(!md.contains("Not plotted yet"), "{md}");

    // The same runs with the lowest tier on top: the ordering fails.
    for r in runs.iter_mut().filter(|r| r.label == "d") {
        r.test_accuracy = 0.9;
    }
    let (_, md) = report_of(&runs);
    assert!(md.contains("**does not hold**"), "{md}");
}

/// An Elman RNN run of one layer, H = 4, two inputs, zero biases: `w_hh`
/// row-major, and ‖∂L/∂h_t‖ at initialization `norms` (t = 1 … T).
fn elman_record(
    id: &str,
    label: &str,
    nonlinearity: &str,
    w_hh: Vec<f32>,
    norms: &[f32],
) -> RunRecord {
    let tensor = |name: &str, shape: Vec<usize>, values: Vec<f32>| NamedTensor {
        name: name.into(),
        shape,
        values,
    };
    let steps = norms.len();
    // Row 1 (after epoch 1) is flat: only row 0 is the measurement at initialization.
    let mut grad = norms.to_vec();
    grad.extend(std::iter::repeat_n(1.0, steps));
    RunRecord {
        study: "rnn".into(),
        initializer: label.into(),
        config_json: format!(
            r#"{{"init":{{"recurrent":"{label}"}},"model":{{"cell":"rnn","hidden":4,"input":2,"kind":"rnn","layers":1,"nonlinearity":"{nonlinearity}","outputs":3}},"replicate":0,"study":"rnn","training":{{"batch_size":8,"epochs":1}}}}"#
        ),
        published: None,
        bptt: vec![
            tensor("grad_h_norm", vec![2, steps], grad),
            tensor("h_norm", vec![2, steps], vec![1.0; 2 * steps]),
        ],
        initial_params: vec![
            // σ_u² = 2 × mean(0.5²) = 0.5.
            tensor(
                "rnn.weight_ih_l0",
                vec![4, 2],
                vec![0.5, -0.5, -0.5, 0.5, 0.5, 0.5, -0.5, -0.5],
            ),
            tensor("rnn.weight_hh_l0", vec![4, 4], w_hh),
            tensor("rnn.bias_ih_l0", vec![4], vec![0.0; 4]),
            tensor("rnn.bias_hh_l0", vec![4], vec![0.0; 4]),
            tensor("head.weight", vec![3, 4], vec![0.1; 12]),
            tensor("head.bias", vec![3], vec![0.0; 3]),
        ],
        activations: Vec::new(),
        ..record(id, label, 0, 0.5, 1.0)
    }
}

#[test]
fn recurrent_section_sets_the_predicted_bptt_factor_beside_the_fitted_one() {
    // ReLU, W = 0.5·I: the norm's predicted factor per step backwards is
    // 0.5·√½ ≈ 0.354; the stored norms fall by 0.3 per step backwards.
    let identity: Vec<f32> = (0..16)
        .map(|i| if i % 5 == 0 { 0.5 } else { 0.0 })
        .collect();
    let decaying: Vec<f32> = (0..6).map(|t| 0.3f32.powi(5 - t)).collect();
    // A constant W is no zero-mean random matrix; one zero norm is left out of the fit.
    let mut holed = decaying.clone();
    holed[2] = 0.0;
    // Two layers, the lower one constant: its q* is unknown, so the top's prediction is too.
    let mut stacked = elman_record(
        "00000000000000e3",
        "stacked",
        "relu",
        vec![0.5; 16],
        &decaying,
    );
    for (name, shape, value) in [
        ("rnn.weight_ih_l1", vec![4, 4], 0.5),
        ("rnn.weight_hh_l1", vec![4, 4], 0.0),
        ("rnn.bias_ih_l1", vec![4], 0.0),
        ("rnn.bias_hh_l1", vec![4], 0.0),
    ] {
        let n = shape.iter().product();
        stacked.initial_params.push(NamedTensor {
            name: name.into(),
            shape,
            values: vec![value; n],
        });
    }
    let runs = [
        elman_record("00000000000000e1", "identity", "relu", identity, &decaying),
        elman_record(
            "00000000000000e2",
            "constant",
            "tanh",
            vec![0.5; 16],
            &holed,
        ),
        stacked,
    ];
    let (_, md) = report_of(&runs);
    assert_mentions(
        &md,
        &[
            "predicted √χ at q*",
            "| `identity` | isometry, g = 0.500 | 0.500 | 0.354 | 0.354 | 0.300 (6 steps) |",
            "| `constant` | not zero-mean | 0.500 | – (entries share the mean 0.500: not a zero-mean random matrix) | – | 0.300 (5 steps) |",
            "| `stacked` | random, σ_w² = 0 | 1.00 | – (layer 0's W_hh: entries share the mean 0.500: not a zero-mean random matrix) | – | 0.300 (6 steps) |",
            "q_x is taken as 1",
        ],
    );
}

#[test]
fn selection_section_compares_best_validation_accuracy() {
    let mut runs = Vec::new();
    for (i, (label, best, published)) in [
        ("good", 0.24, 0.2427),
        ("fair", 0.16, 0.1691),
        ("bad", 0.11, 0.1105),
    ]
    .iter()
    .enumerate()
    {
        let mut r = recurrent_record(&format!("00000000000000e{i}"), label, 0, 0.2, 0.0);
        r.study = "lstm".into();
        r.published = None;
        r.published_metrics = vec![("best_val_accuracy".into(), *published)];
        r.metrics = vec![
            ("best_val_accuracy".into(), *best),
            ("best_val_epoch".into(), 1.0),
        ];
        runs.push(r);
    }
    let (dir, md) = report_of(&runs);
    assert_mentions(
        &md,
        &[
            "| `good` | 1 | 0.2400 | 0.2427 | -0.0027 | 1 | 0.2000 | 0.3000 |",
            "**holds**",
        ],
    );
    assert_pngs(
        dir.path(),
        "lstm",
        &["overfit-loss", "overfit-accuracy", "bptt-grad"],
    );
}

#[test]
fn lsuv_runs_show_their_calibration_and_other_runs_none() {
    let mut runs = grid_runs();
    let (_, plain) = report_of(&runs);
    assert!(!plain.contains("LSUV"), "{plain}");
    let outcome = |iterations, variance, converged| initlab_init::LsuvLayer {
        iterations,
        variance_before: 40.0,
        variance,
        scale: 0.158,
        converged,
    };
    let (a, b) = (runs[0].clone(), runs[1].clone());
    assert_eq!(
        (&a.grid, &a.label),
        (&b.grid, &b.label),
        "two seeds of one point"
    );
    for (run, layer) in runs
        .iter_mut()
        .take(2)
        .zip([outcome(2, 1.02, true), outcome(3, 1.31, false)])
    {
        run.lsuv = vec![initlab_models::LsuvRecord {
            layer: "layers.0".into(),
            outcome: layer,
        }];
    }
    // Two seeds of LSUV at relu / sgd, above xavier-uniform's 0.95 and 0.96.
    let grid: Vec<(String, String)> = runs[0].grid.clone();
    let grid: Vec<(&str, &str)> = grid.iter().map(|(a, v)| (a.as_str(), v.as_str())).collect();
    for (rep, acc) in [0.97, 0.975].into_iter().enumerate() {
        runs.push(grid_record(
            &format!("{:016x}", 0xf00 + rep),
            &grid,
            "ext-lsuv",
            "lsuv(batch=train,max_iter=10,pre=orthogonal,tolerance=0.1)",
            rep as u32,
            acc,
            r#""model":{"activation":"relu","output_activation":false},"study":"grid","training":{"optimizer":"sgd"}"#,
        ));
    }
    let (_, md) = report_of(&runs);
    assert!(md.contains("### LSUV calibration"), "{md}");
    // LSUV is judged against Xavier/Kaiming where it ran, and is no part of
    // the published claim's tiers.
    assert!(md.contains("Extension, not a published claim"), "{md}");
    assert_eq!(md.matches("- **relu / sgd**: holds (").count(), 2, "{md}");
    assert_eq!(md.matches("- **tanh / sgd**:").count(), 1, "{md}");
    let row = "| `layers.0` | 2 | 2–3 | 4.0000e1 | 1.1650 | 1.5800e-1 | 1/2 |";
    assert!(md.contains(row), "row missing from:\n{md}");
}
