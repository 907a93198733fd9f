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
        store.save(r).expect("save");
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
