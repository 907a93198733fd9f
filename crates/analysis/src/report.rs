//! The report: `<out>/report.md` and a self-contained `<out>/report.html`
//! (every plot inlined as SVG), built from `results.h5` alone.
//!
//! The report is one list of blocks rendered twice, to Markdown and to HTML,
//! so the two never say different things. Per study (and per configuration,
//! when a study's runs were trained with more than one) it says what was run,
//! gives the results table against the published numbers, shows the plots,
//! and lists every run id, so a reader can find each number in `results.h5`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use initlab_train::{RunRecord, RunStatus};
use sha2::{Digest, Sha256};

use crate::plots::{write, write_atlas, write_study_plots, Group, Plot};
use crate::{summarize, Error, Result, ResultsStore};

/// What [`write_report`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// `<out>/report.md`.
    pub markdown: PathBuf,
    /// `<out>/report.html`.
    pub html: PathBuf,
    /// Every figure, `<out>/plots/…` (PNG and SVG).
    pub plots: Vec<Plot>,
    /// How many runs of `results.h5` it covers.
    pub runs: usize,
}

/// Writes the plots, `report.md` and `report.html` into the store's folder,
/// from its `results.h5` (not the run files: the report describes exactly the
/// file a reader will open).
pub fn write_report(store: &ResultsStore) -> Result<Report> {
    let results = store.results_path();
    let out = results
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let bytes = std::fs::read(&results).map_err(|error| Error::Io {
        path: results.clone(),
        error,
    })?;
    let results_sha256 = hex(&Sha256::digest(&bytes));
    let records = store.read_results()?;
    let runs = records.len();

    let plots_dir = out.join("plots");
    let mut all_plots = Vec::new();
    let sections = Section::split(records);
    let mut blocks = intro(runs, &sections, &results_sha256);
    for section in &sections {
        let dir = plots_dir.join(&section.plot_dir);
        let plots = write_study_plots(&section.records, &dir)?;
        blocks.extend(section.blocks(&plots, &out));
        all_plots.extend(plots);
    }
    let atlas = write_atlas(&plots_dir)?;
    blocks.push(Block::H(2, "Atlas of initializers".into()));
    blocks.push(Block::P(
        "Not a result: what each scheme draws, for study 1's first weight shape, with the \
         same sampler (`initlab_init::Scheme::sample`) a run uses."
            .into(),
    ));
    blocks.push(Block::Figure {
        caption: "Each panel has its own x-axis: compare shapes and the printed standard \
                  deviations, not widths."
            .into(),
        src: relative(&atlas.png, &out),
        plot: atlas.clone(),
    });
    all_plots.push(atlas);
    blocks.push(Block::H(2, "Not plotted yet".into()));
    blocks.push(Block::P(
        "The hidden-state gradients through time of the recurrent studies: those studies have \
         no runs yet."
            .into(),
    ));

    let markdown = out.join("report.md");
    let html = out.join("report.html");
    write(&markdown, render_markdown(&blocks).as_bytes())?;
    write(&html, render_html(&blocks)?.as_bytes())?;
    Ok(Report {
        markdown,
        html,
        plots: all_plots,
        runs,
    })
}

/// The runs of one study trained with one configuration (seed and
/// initializer aside) on one backend: the unit a table and its plots summarize.
struct Section {
    study: String,
    /// The configuration shared by the runs: `config_json` without `replicate`
    /// and `init`, the two things that differ between its runs.
    config: String,
    backend: String,
    /// `plots/<plot_dir>/`: the study's name, plus a configuration hash when
    /// the study has more than one configuration.
    plot_dir: String,
    /// "" or " (configuration 2 of 3)".
    suffix: String,
    records: Vec<RunRecord>,
}

impl Section {
    /// Groups records by study, then by shared configuration and backend,
    /// in sorted order so the report does not depend on storage order.
    fn split(records: Vec<RunRecord>) -> Vec<Section> {
        let mut sections: Vec<Section> = Vec::new();
        for r in records {
            let config = shared_config(&r.config_json);
            let found = sections
                .iter_mut()
                .find(|s| s.study == r.study && s.config == config && s.backend == r.backend);
            match found {
                Some(s) => s.records.push(r),
                None => sections.push(Section {
                    study: r.study.clone(),
                    config,
                    backend: r.backend.clone(),
                    plot_dir: String::new(),
                    suffix: String::new(),
                    records: vec![r],
                }),
            }
        }
        sections.sort_by(|a, b| {
            (&a.study, &a.config, &a.backend).cmp(&(&b.study, &b.config, &b.backend))
        });
        let studies: Vec<String> = sections.iter().map(|s| s.study.clone()).collect();
        for (i, s) in sections.iter_mut().enumerate() {
            let same: Vec<usize> = (0..studies.len())
                .filter(|&j| studies[j] == s.study)
                .collect();
            let name = path_safe(&s.study);
            if same.len() == 1 {
                s.plot_dir = name;
            } else {
                let key = format!("{}\n{}", s.config, s.backend);
                let hash = hex(&Sha256::digest(key.as_bytes()));
                s.plot_dir = format!("{name}/{}", &hash[..8]);
                let k = same.iter().position(|&j| j == i).unwrap_or(0) + 1;
                s.suffix = format!(" (configuration {k} of {})", same.len());
            }
        }
        sections
    }

    fn blocks(&self, plots: &[Plot], out: &Path) -> Vec<Block> {
        let mut b = vec![Block::H(
            2,
            format!("Study `{}`{}", code(&self.study), self.suffix),
        )];
        b.extend(self.what_was_run());
        b.extend(self.results());
        b.push(Block::H(3, "Plots".into()));
        for plot in plots {
            b.push(Block::Figure {
                caption: plot_caption(&plot.name, &self.records),
                src: relative(&plot.png, out),
                plot: plot.clone(),
            });
        }
        b.extend(self.run_table());
        b
    }

    fn what_was_run(&self) -> Vec<Block> {
        let groups = Group::of(&self.records);
        let config: Option<serde_json::Value> = serde_json::from_str(&self.config).ok();
        let training = config.as_ref().and_then(|c| c.get("training"));
        let get = |k: &str| training.and_then(|t| t.get(k)).map(|v| v.to_string());
        let complete = self
            .records
            .iter()
            .filter(|r| r.status == RunStatus::Complete)
            .count();
        let mut items = vec![format!(
            "{} runs ({} complete, {} diverged): {} initializers × {} seeds.",
            self.records.len(),
            complete,
            self.records.len() - complete,
            groups.len(),
            seeds_text(&groups)
        )];
        for g in &groups {
            items.push(format!("`{}`: `{}`", code(&g.label), code(&g.initializer)));
        }
        let mut training_text = Vec::new();
        if let Some(e) = get("epochs") {
            training_text.push(format!("{e} epochs"));
        }
        if let Some(bs) = get("batch_size") {
            training_text.push(format!("batch {bs}"));
        }
        if let Some(l) = get("train_limit") {
            training_text.push(format!("first {l} training images"));
        }
        let steps = self
            .records
            .iter()
            .find(|r| r.status == RunStatus::Complete && !r.train_loss.is_empty())
            .map(|r| r.step_loss.len() / r.train_loss.len());
        if let Some(s) = steps {
            training_text.push(format!("{s} steps per epoch"));
        }
        if !training_text.is_empty() {
            items.push(format!("Training: {}.", training_text.join(", ")));
        }
        items.push(format!("Backend: `{}`.", code(&self.backend)));
        items.push(
            "Profile: not stored in `results.h5`; the profiles (smoke, quick, paper) differ in \
             seeds, epochs and training-set limit, which the configuration below shows."
                .into(),
        );
        let mut finished: Vec<&str> = self
            .records
            .iter()
            .map(|r| r.finished_at.as_str())
            .collect();
        finished.sort_unstable();
        let wall: f64 = self.records.iter().map(|r| r.wall_seconds).sum();
        if let (Some(first), Some(last)) = (finished.first(), finished.last()) {
            items.push(format!(
                "Finished between {first} and {last}; {wall:.0} s of training and evaluation in all."
            ));
        }
        items.push(format!(
            "Machine: not stored in `results.h5`. This report was written on `{}` ({} cores).",
            code(&hostname()),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ));
        items.push(
            "Each run's `config_sha256` (the hash of its full configuration, seed and \
             initializer included) is in the run table below."
                .into(),
        );
        vec![
            Block::H(3, "What was run".into()),
            Block::Ul(items),
            Block::P(
                "The configuration the runs share (`config_json` without `replicate` and `init`):"
                    .into(),
            ),
            Block::Code(self.config.clone()),
        ]
    }

    fn results(&self) -> Vec<Block> {
        let groups = Group::of(&self.records);
        let rows = summarize(&self.records);
        let mut table = Vec::new();
        for g in &groups {
            let Some(row) = rows.iter().find(|r| r.label == g.label) else {
                continue;
            };
            let losses: Vec<f64> = g
                .runs
                .iter()
                .filter(|r| r.status == RunStatus::Complete && r.test_loss.is_finite())
                .map(|r| r.test_loss)
                .collect();
            let measured = match row.complete {
                0 => "–".into(),
                // One seed has no spread: "± 0" would claim one.
                1 => format!("{:.4} (1 seed)", row.mean),
                _ => format!("{:.4} ± {:.4}", row.mean, row.std),
            };
            let loss = if losses.is_empty() {
                "–".into()
            } else {
                format!("{:.4}", losses.iter().sum::<f64>() / losses.len() as f64)
            };
            let (published, delta) = match row.published {
                Some(p) if row.complete > 0 => (format!("{p:.4}"), format!("{:+.4}", row.mean - p)),
                Some(p) => (format!("{p:.4}"), "–".into()),
                None => ("–".into(), "–".into()),
            };
            table.push(vec![
                format!("`{}`", code(&g.label)),
                (row.complete + row.diverged).to_string(),
                row.diverged.to_string(),
                measured,
                published,
                delta,
                loss,
            ]);
        }
        let mut blocks = vec![
            Block::H(3, "Results".into()),
            Block::Table {
                head: [
                    "initializer",
                    "runs",
                    "diverged",
                    "test accuracy (mean ± std)",
                    "published",
                    "measured − published",
                    "test loss (mean)",
                ]
                .map(String::from)
                .to_vec(),
                right: vec![false, true, true, true, true, true, true],
                rows: table,
            },
            Block::P(
                "Mean and sample standard deviation over the completed seeds; a diverged run \
                 (non-finite loss) is counted, not averaged."
                    .into(),
            ),
        ];
        blocks.extend(
            groups
                .iter()
                .filter_map(constant_prediction_note)
                .map(Block::P),
        );
        blocks
    }

    fn run_table(&self) -> Vec<Block> {
        let mut sorted: Vec<&RunRecord> = self.records.iter().collect();
        sorted.sort_by(|a, b| {
            (&a.label, a.replicate, &a.run_id).cmp(&(&b.label, b.replicate, &b.run_id))
        });
        let num = |x: f64| {
            if x.is_finite() {
                format!("{x:.4}")
            } else {
                "nan".into()
            }
        };
        let short = |h: &str| h.chars().take(12).collect::<String>();
        let rows = sorted
            .iter()
            .map(|r| {
                vec![
                    format!("`{}`", code(&r.run_id)),
                    format!("`{}`", code(&r.label)),
                    r.replicate.to_string(),
                    r.seed.to_string(),
                    r.status.as_str().to_string(),
                    num(r.test_accuracy),
                    num(r.test_loss),
                    format!("`{}`", short(&r.config_sha256)),
                    format!("`{}`", short(&r.init_sha256)),
                    format!("`{}`", short(&r.outputs_sha256)),
                ]
            })
            .collect();
        vec![
            Block::H(3, "Runs".into()),
            Block::P(
                "Every number above comes from these runs: in `results.h5` each is the group \
                 `runs/<run id>` (attributes for the scalars and hashes, datasets for the \
                 curves and parameters, and `finished_at`). Hashes are shortened to 12 hex \
                 digits here."
                    .into(),
            ),
            Block::Table {
                head: [
                    "run id",
                    "initializer",
                    "replicate",
                    "seed",
                    "status",
                    "test accuracy",
                    "test loss",
                    "config_sha256",
                    "init_sha256",
                    "outputs_sha256",
                ]
                .map(String::from)
                .to_vec(),
                right: vec![
                    false, false, true, true, false, true, true, false, false, false,
                ],
                rows,
            },
        ]
    }
}

/// The report's opening: where the numbers come from and how to read them.
fn intro(runs: usize, sections: &[Section], sha256: &str) -> Vec<Block> {
    let mut studies: Vec<&str> = sections.iter().map(|s| s.study.as_str()).collect();
    studies.dedup();
    let example = sections
        .first()
        .and_then(|s| s.records.first())
        .map_or("<run id>".to_string(), |r| r.run_id.clone());
    vec![
        Block::H(1, "initlab report".into()),
        Block::P(format!(
            "Built by `cargo xtask report` from `results.h5` alone: {runs} runs of {} \
             ({}), file sha256 `{sha256}`. Every number and plot below can be traced to a run \
             id; in Python:",
            plural(studies.len(), "study", "studies"),
            studies
                .iter()
                .map(|s| format!("`{}`", code(s)))
                .collect::<Vec<_>>()
                .join(", "),
        )),
        Block::Code(format!(
            "import h5py\nrun = h5py.File(\"results.h5\")[\"runs\"][\"{example}\"]\n\
             run.attrs[\"test_accuracy\"], run.attrs[\"config_json\"], run[\"val_loss\"][:]"
        )),
        Block::P(
            "Colours: each initializer keeps one colour in every plot of its study. Curves are \
             the mean over seeds; the shaded band runs from the lowest to the highest seed."
                .into(),
        ),
    ]
}

/// "3" or "1–3" seeds per initializer.
fn seeds_text(groups: &[Group]) -> String {
    let lo = groups.iter().map(|g| g.runs.len()).min().unwrap_or(0);
    let hi = groups.iter().map(|g| g.runs.len()).max().unwrap_or(0);
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}–{hi}")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// For an initializer whose first weight matrix is still exactly zero after
/// training in every run, the stored parameters prove that the network's
/// output does not depend on its input: it predicts one class for every image.
fn constant_prediction_note(g: &Group) -> Option<String> {
    let first_weight = |r: &RunRecord| {
        r.final_params
            .iter()
            .find(|t| t.shape.len() >= 2)
            .map(|t| (t.name.clone(), t.values.iter().all(|&v| v == 0.0)))
    };
    let mut name = None;
    for r in &g.runs {
        match first_weight(r) {
            Some((n, true)) => name = Some(n),
            _ => return None,
        }
    }
    let name = name?;
    let layer = name.strip_suffix(".weight").unwrap_or(&name).to_string();
    let zero_grad = g.runs.iter().all(|r| {
        r.grad_norms
            .iter()
            .find(|(l, _)| *l == layer)
            .is_some_and(|(_, v)| v.iter().all(|&x| x == 0.0))
    });
    let acc: Vec<f64> = g
        .runs
        .iter()
        .filter(|r| r.status == RunStatus::Complete)
        .map(|r| r.test_accuracy)
        .collect();
    let acc_text = match acc.first() {
        Some(a) if acc.iter().all(|x| x == a) => format!(" ({a:.4} in every seed)"),
        _ => String::new(),
    };
    let why = if zero_grad {
        format!(
            " Its gradient is exactly 0 in every epoch (gradient flow, `{}`): with every weight \
             equal, every hidden unit gets the same update, and here that update is zero.",
            code(&layer)
        )
    } else {
        String::new()
    };
    Some(format!(
        "**`{}` predicts one class.** After training, `{}` is still exactly 0 in every seed \
         (`final_params` in `results.h5`), so the first layer's output does not depend on the \
         image and neither does the prediction: the network answers the same class for every \
         test image, and its accuracy is that class's share of the test set{}.{}",
        code(&g.label),
        code(&name),
        acc_text,
        why
    ))
}

fn plot_caption(name: &str, records: &[RunRecord]) -> String {
    match name {
        "loss-epoch" => "Cross-entropy per epoch: training loss is the mean over the epoch's \
                         batches as they were trained, validation loss is measured after the \
                         epoch. Dots are the mean over seeds, vertical bars the seed range."
            .into(),
        "loss-step" => "The loss of every training batch, smoothed by a centred moving average; \
                        the first steps show how far from a trainable state each initializer \
                        starts."
            .into(),
        "accuracy" => "Left: mean test accuracy over seeds (bars) with ± one sample standard \
                       deviation, each seed (dots) and the published value (diamonds); the \
                       numbers above the bars carry what the scale cannot show. Right: the \
                       same seeds, mean and deviation as a difference from the published \
                       value, in percentage points."
            .into(),
        "grad-flow" => "The L2 norm of each layer's gradient (weight and bias), averaged over \
                        each epoch's steps. Vanishing gradients show as curves near the bottom, \
                        exploding ones far above the rest."
            .into(),
        "activations" => "Each hidden layer's outputs on the same 256 validation images, at \
                          initialization (filled) and after training (line), with the fraction \
                          of dead units (flat on every image: a ReLU that never fires, or a \
                          saturated tanh/sigmoid) and of outputs where the nonlinearity's \
                          gradient vanishes."
            .into(),
        "weights" => {
            let runs: Vec<String> = Group::of(records)
                .iter()
                .filter_map(|g| g.runs.first())
                .map(|r| format!("{} `{}`", r.label, code(&r.run_id)))
                .collect();
            format!(
                "Every weight matrix before training (filled) and after (line), one row per \
                 initializer, from runs {}.",
                runs.join(", ")
            )
        }
        _ => String::new(),
    }
}

/// One piece of the report, rendered to Markdown and to HTML.
///
/// Text uses two inline marks, `code` and **bold**, which both renderers
/// understand; [`code`] keeps a stored string from breaking out of a code span.
enum Block {
    H(u8, String),
    P(String),
    Ul(Vec<String>),
    Code(String),
    Table {
        head: Vec<String>,
        right: Vec<bool>,
        rows: Vec<Vec<String>>,
    },
    Figure {
        plot: Plot,
        /// The PNG, relative to the report (Markdown shows it).
        src: String,
        caption: String,
    },
}

fn render_markdown(blocks: &[Block]) -> String {
    let mut md = String::new();
    for block in blocks {
        match block {
            Block::H(level, text) => {
                let _ = writeln!(md, "{} {text}\n", "#".repeat(usize::from(*level)));
            }
            Block::P(text) => {
                let _ = writeln!(md, "{text}\n");
            }
            Block::Ul(items) => {
                for item in items {
                    let _ = writeln!(md, "- {item}");
                }
                md.push('\n');
            }
            Block::Code(text) => {
                let _ = writeln!(md, "```\n{text}\n```\n");
            }
            Block::Table { head, right, rows } => {
                let cell = |s: &str| s.replace('|', "\\|");
                let _ = writeln!(
                    md,
                    "| {} |",
                    head.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | ")
                );
                let _ = writeln!(
                    md,
                    "|{}|",
                    right
                        .iter()
                        .map(|&r| if r { "---:" } else { "---" })
                        .collect::<Vec<_>>()
                        .join("|")
                );
                for row in rows {
                    let _ = writeln!(
                        md,
                        "| {} |",
                        row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
                    );
                }
                md.push('\n');
            }
            Block::Figure { plot, src, caption } => {
                let _ = writeln!(md, "![{}]({src})\n", plot.title);
                let svg = src
                    .strip_suffix(".png")
                    .map_or(String::new(), |s| format!(" ([SVG]({s}.svg))"));
                let _ = writeln!(md, "*{}.* {caption}{svg}\n", plot.title);
            }
        }
    }
    md
}

const CSS: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif;
       margin: 0 auto; padding: 1.5em 2em 4em; max-width: 1180px; color: #1a1a1a;
       line-height: 1.45; }
h1 { font-size: 1.9em; border-bottom: 2px solid #ddd; padding-bottom: .2em; }
h2 { font-size: 1.5em; margin-top: 2.2em; border-bottom: 1px solid #e3e3e3; }
h3 { font-size: 1.2em; margin-top: 1.6em; }
code, pre { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: .88em; }
code { background: #f3f3f3; padding: 0 .25em; border-radius: 3px; }
pre { background: #f6f6f6; padding: .8em 1em; border-radius: 4px; white-space: pre-wrap;
      overflow-wrap: anywhere; }
pre code { background: none; padding: 0; }
.table { overflow-x: auto; }
.wide table { font-size: .78em; }
.wide td { white-space: nowrap; }
td code { white-space: nowrap; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
th, td { border: 1px solid #d8d8d8; padding: .3em .6em; }
th { background: #f3f3f3; text-align: left; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.4em 0; }
figure svg { display: block; width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .92em; color: #333; margin-top: .4em; }
.files { font-size: .85em; color: #666; }
";

fn render_html(blocks: &[Block]) -> Result<String> {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>initlab report</title>\n<style>",
    );
    html.push_str(CSS);
    html.push_str("</style>\n</head>\n<body>\n");
    for block in blocks {
        match block {
            Block::H(level, text) => {
                let _ = writeln!(html, "<h{level}>{}</h{level}>", inline_html(text));
            }
            Block::P(text) => {
                let _ = writeln!(html, "<p>{}</p>", inline_html(text));
            }
            Block::Ul(items) => {
                html.push_str("<ul>\n");
                for item in items {
                    let _ = writeln!(html, "<li>{}</li>", inline_html(item));
                }
                html.push_str("</ul>\n");
            }
            Block::Code(text) => {
                let _ = writeln!(html, "<pre><code>{}</code></pre>", escape(text));
            }
            Block::Table { head, right, rows } => {
                let class = |i: usize| {
                    if right.get(i) == Some(&true) {
                        " class=\"r\""
                    } else {
                        ""
                    }
                };
                // The run table's ten columns fit the page in a smaller font.
                let wide = if head.len() > 8 { " wide" } else { "" };
                let _ = write!(html, "<div class=\"table{wide}\"><table>\n<thead><tr>");
                for (i, h) in head.iter().enumerate() {
                    let _ = write!(html, "<th{}>{}</th>", class(i), inline_html(h));
                }
                html.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    html.push_str("<tr>");
                    for (i, c) in row.iter().enumerate() {
                        let _ = write!(html, "<td{}>{}</td>", class(i), inline_html(c));
                    }
                    html.push_str("</tr>\n");
                }
                html.push_str("</tbody>\n</table></div>\n");
            }
            Block::Figure { plot, src, caption } => {
                let svg = std::fs::read_to_string(&plot.svg).map_err(|error| Error::Io {
                    path: plot.svg.clone(),
                    error,
                })?;
                let svg = svg.replacen(
                    "<svg ",
                    &format!("<svg role=\"img\" aria-label=\"{}\" ", escape(&plot.title)),
                    1,
                );
                let svg_src = src
                    .strip_suffix(".png")
                    .map(|s| format!("{s}.svg"))
                    .unwrap_or_default();
                let _ = writeln!(
                    html,
                    "<figure id=\"{}\">\n{}<figcaption><b>{}.</b> {} <span class=\"files\">\
                     (<a href=\"{}\">PNG</a>, <a href=\"{}\">SVG</a>)</span></figcaption>\n</figure>",
                    escape(&src.trim_end_matches(".png").replace('/', "-")),
                    svg.trim_start_matches(|c| c != '<'),
                    escape(&plot.title),
                    inline_html(caption),
                    escape(src),
                    escape(&svg_src)
                );
            }
        }
    }
    html.push_str("</body>\n</html>\n");
    Ok(html)
}

/// Escapes text for HTML.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// The two inline marks to HTML: `code` spans first, then **bold** outside them.
fn inline_html(text: &str) -> String {
    let mut out = String::new();
    let mut bold = false;
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
            continue;
        }
        for (j, piece) in part.split("**").enumerate() {
            if j > 0 {
                out.push_str(if bold { "</b>" } else { "<b>" });
                bold = !bold;
            }
            out.push_str(&escape(piece));
        }
    }
    if bold {
        out.push_str("</b>");
    }
    out
}

/// A stored string made safe inside a `code` span: a backtick would end it.
fn code(s: &str) -> String {
    s.replace('`', "'")
}

/// `config_json` without the keys that differ between a study's runs.
fn shared_config(config_json: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(config_json) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.remove("replicate");
            map.remove("init");
            serde_json::Value::Object(map).to_string()
        }
        // Not what the trainer writes; keep it whole rather than guess.
        _ => config_json.to_string(),
    }
}

/// A study name as one path component: letters, digits, `-`, `_` and `.`
/// (not leading), anything else `_`; names come from study files.
fn path_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() {
        "study".into()
    } else {
        s
    }
}

fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The machine's name, from the kernel (Linux), `/etc/hostname` or `$HOSTNAME`.
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_marks_become_html_and_text_is_escaped() {
        assert_eq!(
            inline_html("a `x<y` **b** <c>"),
            "a <code>x&lt;y</code> <b>b</b> &lt;c&gt;"
        );
    }

    #[test]
    fn study_names_cannot_leave_the_plots_folder() {
        assert_eq!(path_safe("../etc"), "_etc");
        assert_eq!(path_safe("mlp-keras"), "mlp-keras");
        assert_eq!(path_safe(""), "study");
    }

    #[test]
    fn shared_config_drops_replicate_and_init() {
        assert_eq!(
            shared_config(r#"{"init":{"*":"zeros"},"replicate":2,"study":"s"}"#),
            r#"{"study":"s"}"#
        );
        assert_eq!(shared_config("not json"), "not json");
    }
}
