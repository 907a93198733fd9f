//! The report: `<out>/report.md` and a self-contained `<out>/report.html`
//! (every plot inlined as SVG), built from `results.h5` alone.
//!
//! The report is one list of blocks rendered twice, to Markdown and to HTML,
//! so the two never say different things. Per study (and per configuration,
//! when a study without grid axes was trained with more than one) it says what
//! was run, gives the results against the published numbers, shows the plots,
//! and lists every run id, so a reader can find each number in `results.h5`.
//!
//! What a section shows beyond that follows from what its runs contain (grid
//! axes, a regression plateau, best-validation selection, BPTT norms), each in
//! its own file under `report/`, so a new study of a known shape gets the same
//! treatment without naming it anywhere.

mod bptt_theory;
mod edge;
mod escape;
mod factorial;
mod lsuv;
mod notes;
mod recurrent;
mod render;
mod selection;
mod theory;
mod verdict;

use std::path::{Path, PathBuf};

use initlab_train::{point_name, RunRecord, RunStatus};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use self::render::{code, render_html, render_markdown, Block};
use crate::plots::{write, write_atlas, write_study_plots, Group, Plot};
use crate::{summarize, Error, Result, ResultsStore};

/// A section's blocks and the plots they show.
type Rendered = Result<(Vec<Block>, Vec<Plot>)>;

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
    /// Per study, in the report's order: the results the README quotes
    /// (tables and verdicts against the published numbers), as Markdown.
    pub key_results: Vec<KeyResults>,
    /// The sha256 of the `results.h5` the report was built from.
    pub results_sha256: String,
    /// The first and last `finished_at` of its runs.
    pub finished: Option<(String, String)>,
}

/// One study's key results, as [`Report::key_results`] holds them.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyResults {
    /// The study's name, as its runs store it.
    pub study: String,
    /// Its key blocks rendered as the report renders them.
    pub markdown: String,
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
    let mut finished: Vec<&str> = records.iter().map(|r| r.finished_at.as_str()).collect();
    finished.sort_unstable();
    let finished = finished
        .first()
        .zip(finished.last())
        .map(|(a, b)| (a.to_string(), b.to_string()));

    let plots_dir = out.join("plots");
    let mut all_plots = Vec::new();
    let sections = Section::split(records);
    let mut blocks = intro(runs, &sections, &results_sha256);
    let mut key_results: Vec<KeyResults> = Vec::new();
    // Sections write to their own plot directories: rendered on every core,
    // assembled in order.
    let rendered: Vec<_> = sections
        .par_iter()
        .map(|section| section.render(&plots_dir.join(&section.plot_dir), &out))
        .collect();
    for (section, rendered) in sections.iter().zip(rendered) {
        let (section_blocks, plots) = rendered?;
        let keys: Vec<Block> = section_blocks
            .iter()
            .filter(|b| matches!(b, Block::Key(_)))
            .cloned()
            .collect();
        let markdown = render_markdown(&keys);
        match key_results.iter_mut().find(|k| k.study == section.study) {
            Some(k) => k.markdown.push_str(&markdown),
            None => key_results.push(KeyResults {
                study: section.study.clone(),
                markdown,
            }),
        }
        blocks.extend(section_blocks);
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

    let markdown = out.join("report.md");
    let html = out.join("report.html");
    write(&markdown, render_markdown(&blocks).as_bytes())?;
    write(&html, render_html(&blocks)?.as_bytes())?;
    Ok(Report {
        markdown,
        html,
        plots: all_plots,
        runs,
        key_results,
        results_sha256,
        finished,
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
    /// The runs are points of a grid (axes or parts): one section holds the
    /// whole grid, and `config` is its first point's.
    grid: bool,
    records: Vec<RunRecord>,
}

impl Section {
    /// Groups records by study, then by shared configuration and backend,
    /// in sorted order so the report does not depend on storage order. The
    /// points of a grid differ in configuration by design, so a grid study's
    /// runs are grouped by backend alone: its section compares the points.
    fn split(mut records: Vec<RunRecord>) -> Vec<Section> {
        records.sort_by(|a, b| {
            (point_name(&a.grid, &a.label), a.replicate, &a.run_id).cmp(&(
                point_name(&b.grid, &b.label),
                b.replicate,
                &b.run_id,
            ))
        });
        let mut sections: Vec<Section> = Vec::new();
        for r in records {
            let grid = !r.grid.is_empty();
            let config = shared_config(&r.config_json);
            let found = sections.iter_mut().find(|s| {
                s.study == r.study && s.backend == r.backend && (s.grid || s.config == config)
            });
            match found {
                Some(s) => s.records.push(r),
                None => sections.push(Section {
                    study: r.study.clone(),
                    config,
                    backend: r.backend.clone(),
                    plot_dir: String::new(),
                    suffix: String::new(),
                    grid,
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

    /// The section's blocks and figures. What it shows follows from what the
    /// runs contain: a grid of classifiers gets tables over its axes
    /// ([`factorial`]), a grid of regressions with a plateau its escape
    /// epochs ([`escape`]), runs selected by best validation their
    /// checkpoints ([`selection`]), recurrent runs their gradients through
    /// time ([`recurrent`]); runs with none of these (study 1) get the
    /// generic table and plots alone.
    fn render(&self, dir: &Path, out: &Path) -> Rendered {
        let mut b = vec![Block::H(
            2,
            format!("Study `{}`{}", code(&self.study), self.suffix),
        )];
        b.extend(self.what_was_run());
        let mut plots = Vec::new();
        if self.grid {
            let classifier = self.records.iter().any(|r| !r.val_accuracy.is_empty());
            let (blocks, figures) = if classifier {
                factorial::blocks(self, dir, out)?
            } else {
                escape::blocks(self, dir, out)?
            };
            b.extend(blocks);
            plots.extend(figures);
            // A grid of recurrent classifiers: its gradients through time (the
            // regressions' section draws them itself).
            if classifier && crate::plots::bptt::has_bptt(&self.records) {
                let (blocks, figures) =
                    recurrent::bptt_figures(&self.study, &self.grid_configs(), dir, out)?;
                b.extend(blocks);
                plots.extend(figures);
            }
            if edge::applies(&self.records) {
                let (blocks, figures) = edge::blocks(self, dir, out)?;
                b.extend(blocks);
                plots.extend(figures);
            }
            let (blocks, figures) = theory::phase_diagrams(&self.records, dir, out)?;
            b.extend(blocks);
            plots.extend(figures);
        } else {
            let selected = selection::applies(&self.records);
            if selected {
                b.extend(selection::table(self));
            } else {
                b.extend(self.results());
            }
            let firsts: Vec<(String, &RunRecord)> = Group::of(&self.records)
                .into_iter()
                .filter_map(|g| Some((g.label, *g.runs.first()?)))
                .collect();
            b.extend(theory::mlp_predictions(&firsts));
            let (blocks, figures) = theory::phase_diagrams(&self.records, dir, out)?;
            b.extend(blocks);
            plots.extend(figures);
            let recurrent = crate::plots::bptt::has_bptt(&self.records);
            if recurrent {
                b.extend(recurrent::ordering(self, selected));
            }
            b.extend(notes::study_notes(self));
            let generic = write_study_plots(&self.records, dir)?;
            b.push(Block::H(3, "Plots".into()));
            for plot in &generic {
                b.push(figure(plot, plot_caption(&plot.name, &self.records), out));
            }
            plots.extend(generic);
            if selected {
                let (blocks, figures) = selection::curves(self, dir, out)?;
                b.extend(blocks);
                plots.extend(figures);
            }
            if recurrent {
                let (blocks, figures) = recurrent::blocks(self, dir, out, !selected)?;
                b.extend(blocks);
                plots.extend(figures);
            }
        }
        b.extend(lsuv::blocks(&self.records, self.grid));
        b.extend(self.run_table());
        Ok((b, plots))
    }

    /// The first seed of each grid point, in order, one colour each.
    fn grid_configs(&self) -> Vec<crate::plots::ConfigRun<'_>> {
        let mut configs: Vec<crate::plots::ConfigRun<'_>> = Vec::new();
        for r in &self.records {
            let name = point_name(&r.grid, &r.label);
            if configs.iter().all(|c| c.name != name) {
                configs.push(crate::plots::ConfigRun {
                    name,
                    color: crate::plots::Palette::color(configs.len()),
                    run: r,
                });
            }
        }
        configs
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
        let mut items = vec![if self.grid {
            format!(
                "{} runs ({} complete, {} diverged): {} over {}, {} per grid point and \
                 initializer.",
                self.records.len(),
                complete,
                self.records.len() - complete,
                plural(groups.len(), "initializer", "initializers"),
                plural(grid_points(&self.records), "grid point", "grid points"),
                seeds_per_point(&self.records)
            )
        } else {
            format!(
                "{} runs ({} complete, {} diverged): {} initializers × {} seeds.",
                self.records.len(),
                complete,
                self.records.len() - complete,
                groups.len(),
                seeds_text(&groups)
            )
        }];
        if self.grid {
            items.extend(grid_axes(&self.records));
        }
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
            training_text.push(format!("first {l} training examples"));
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
        let shared = if self.grid {
            let first = self
                .records
                .first()
                .map_or(String::new(), |r| point_name(&r.grid, &r.label));
            let differ = differing_keys(&self.records);
            format!(
                "The configuration of the first grid point, `{}` (`config_json` without \
                 `replicate` and `init`); between grid points these keys differ: {}.",
                code(&first),
                if differ.is_empty() {
                    "none".to_string()
                } else {
                    differ
                        .iter()
                        .map(|k| format!("`{}`", code(k)))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )
        } else {
            "The configuration the runs share (`config_json` without `replicate` and `init`):"
                .into()
        };
        vec![
            Block::H(3, "What was run".into()),
            Block::Ul(items),
            Block::P(shared),
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
            Block::Key(Box::new(Block::table(
                &[
                    "initializer",
                    "runs",
                    "diverged",
                    "test accuracy (mean ± std)",
                    "published",
                    "measured − published",
                    "test loss (mean)",
                ],
                &[false, true, true, true, true, true, true],
                table,
            ))),
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
        if self.grid {
            sorted.sort_by_key(|r| point_name(&r.grid, &r.label));
        }
        let rows = sorted
            .iter()
            .map(|r| {
                let name = if self.grid {
                    point_name(&r.grid, &r.label)
                } else {
                    r.label.clone()
                };
                vec![
                    format!("`{}`", code(&r.run_id)),
                    format!("`{}`", code(&name)),
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
            Block::table(
                &[
                    "run id",
                    if self.grid {
                        "grid point"
                    } else {
                        "initializer"
                    },
                    "replicate",
                    "seed",
                    "status",
                    "test accuracy",
                    "test loss",
                    "config_sha256",
                    "init_sha256",
                    "outputs_sha256",
                ],
                &[
                    false, false, true, true, false, true, true, false, false, false,
                ],
                rows,
            ),
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

/// A figure block, its PNG named relative to the report.
fn figure(plot: &Plot, caption: String, out: &Path) -> Block {
    Block::Figure {
        caption,
        src: relative(&plot.png, out),
        plot: plot.clone(),
    }
}

/// "1 seed" or "1–3 seeds": runs per (grid point, initializer).
fn seeds_per_point(records: &[RunRecord]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in records {
        let name = point_name(&r.grid, &r.label);
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some(c) => c.1 += 1,
            None => counts.push((name, 1)),
        }
    }
    let lo = counts.iter().map(|c| c.1).min().unwrap_or(0);
    let hi = counts.iter().map(|c| c.1).max().unwrap_or(0);
    let n = if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}–{hi}")
    };
    format!("{n} seed{}", if hi == 1 { "" } else { "s" })
}

/// Distinct grid points (axes' values, initializer aside).
fn grid_points(records: &[RunRecord]) -> usize {
    let mut points: Vec<&Vec<(String, String)>> = records.iter().map(|r| &r.grid).collect();
    points.sort();
    points.dedup();
    points.len()
}

/// One line per grid axis: its name and the values the runs took, in the
/// order first seen.
fn grid_axes(records: &[RunRecord]) -> Vec<String> {
    let mut axes: Vec<(String, Vec<String>)> = Vec::new();
    for r in records {
        for (axis, value) in &r.grid {
            match axes.iter_mut().find(|(a, _)| a == axis) {
                Some((_, values)) if !values.contains(value) => values.push(value.clone()),
                Some(_) => {}
                None => axes.push((axis.clone(), vec![value.clone()])),
            }
        }
    }
    axes.into_iter()
        .map(|(axis, values)| {
            let values: Vec<String> = values.iter().map(|v| format!("`{}`", code(v))).collect();
            format!("Grid axis `{}`: {}.", code(&axis), values.join(", "))
        })
        .collect()
}

/// One dotted key of a run's `config_json` (`training.epochs`), as JSON text.
fn config_value(r: &RunRecord, key: &str) -> Option<String> {
    flat_config(&r.config_json)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// `config_json` (without `replicate` and `init`) as dotted keys and values,
/// so two grid points' configurations can be compared key by key.
fn flat_config(config_json: &str) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&shared_config(config_json)) {
        walk("", &v, &mut out);
    }
    out
}

/// Keys whose values differ between two flattened configurations (or that
/// only one has).
fn config_diff(a: &[(String, String)], b: &[(String, String)]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (k, v) in a {
        if b.iter().find(|(kb, _)| kb == k).map(|(_, vb)| vb) != Some(v) {
            keys.push(k.clone());
        }
    }
    for (k, _) in b {
        if !a.iter().any(|(ka, _)| ka == k) && !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    keys.sort();
    keys
}

/// The configuration keys that differ anywhere between a grid's points.
fn differing_keys(records: &[RunRecord]) -> Vec<String> {
    let Some(first) = records.first() else {
        return Vec::new();
    };
    let base = flat_config(&first.config_json);
    let mut keys: Vec<String> = Vec::new();
    for r in records {
        for k in config_diff(&base, &flat_config(&r.config_json)) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys.sort();
    keys
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
