//! Plots of a study's runs, drawn from run records alone (PNG and SVG).
//!
//! Every figure is drawn twice by the same code, once into an SVG string and
//! once into an RGB buffer that is encoded as PNG, so the two files never
//! disagree. Text is rendered with DejaVu Sans compiled into the binary
//! (see [`style`]): a machine without any system font draws the same PNG.
//!
//! Within a study the initializers are ordered by label and each keeps one
//! colour in every figure, so a reader can compare figures at a glance.

mod bars;
pub(crate) mod bptt;
mod curves;
pub(crate) mod edge;
pub(crate) mod heatmap;
mod hist;
pub(crate) mod multiples;
mod phase;
pub(crate) mod style;

use std::path::{Path, PathBuf};

use initlab_train::RunRecord;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{Error, Result};

pub(crate) use self::hist::{ConfigRun, Histograms, Multiples};
pub use self::phase::{write_phase_diagram, PhaseDiagram};
pub(crate) use self::style::Palette;

/// One figure, written as `<name>.png` and `<name>.svg` in the same folder.
#[derive(Clone, Debug, PartialEq)]
pub struct Plot {
    /// File stem, e.g. `loss-epoch`.
    pub name: String,
    /// The figure's title, one line; the report uses it as the caption.
    pub title: String,
    /// The PNG file.
    pub png: PathBuf,
    /// The SVG file.
    pub svg: PathBuf,
}

/// Writes every figure of one study's runs into `dir` (created if missing).
///
/// `records` should be the runs of one study with one configuration and
/// backend: the curves average over seeds, which only makes sense for runs
/// that differ in seed alone. Returns the figures in the order a reader
/// should see them. An empty `records` writes nothing.
pub fn write_study_plots(records: &[RunRecord], dir: &Path) -> Result<Vec<Plot>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(dir).map_err(|error| Error::Io {
        path: dir.to_path_buf(),
        error,
    })?;
    let groups = Group::of(records);
    let study = &records[0].study;
    let mut plots = vec![
        render(&curves::EpochLoss::new(study, &groups), dir, "loss-epoch")?,
        render(&curves::StepLoss::new(study, &groups), dir, "loss-step")?,
        render(&bars::Accuracy::new(study, &groups), dir, "accuracy")?,
    ];
    let grads = curves::GradFlow::new(study, &groups);
    if grads.has_data() {
        plots.push(render(&grads, dir, "grad-flow")?);
    }
    let weights = hist::Multiples::weights(study, &groups);
    if weights.has_data() {
        plots.push(render(&weights, dir, "weights")?);
    }
    let activations = hist::Multiples::activations(study, &groups);
    if activations.has_data() {
        plots.push(render(&activations, dir, "activations")?);
    }
    Ok(plots)
}

/// Writes the atlas of initializers, `dir/atlas.{png,svg}`: for one weight
/// shape, a histogram of each scheme's samples, drawn with
/// [`initlab_init::Scheme::sample`] exactly as a run draws its weights.
pub fn write_atlas(dir: &Path) -> Result<Plot> {
    std::fs::create_dir_all(dir).map_err(|error| Error::Io {
        path: dir.to_path_buf(),
        error,
    })?;
    let atlas =
        hist::Atlas::sample().map_err(|message| drawing_error(&dir.join("atlas"), message))?;
    render(&atlas, dir, "atlas")
}

/// The runs of one initializer, in replicate order, with its colour.
pub(crate) struct Group<'a> {
    /// The initializer's label.
    pub label: String,
    /// The initializer's canonical spec.
    pub initializer: String,
    /// Its colour in every figure of the study.
    pub color: RGBColor,
    /// Its runs, sorted by replicate then run id.
    pub runs: Vec<&'a RunRecord>,
}

impl<'a> Group<'a> {
    /// Groups `records` by label, labels sorted, so colours do not depend on
    /// the order runs were stored in.
    pub(crate) fn of(records: &'a [RunRecord]) -> Vec<Group<'a>> {
        let mut labels: Vec<&str> = records.iter().map(|r| r.label.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let mut runs: Vec<&RunRecord> =
                    records.iter().filter(|r| r.label == *label).collect();
                runs.sort_by(|a, b| (a.replicate, &a.run_id).cmp(&(b.replicate, &b.run_id)));
                Group {
                    label: label.to_string(),
                    initializer: runs[0].initializer.clone(),
                    color: Palette::color(i),
                    runs,
                }
            })
            .collect()
    }
}

/// A figure that can draw itself on any plotters backend.
pub(crate) trait Figure {
    /// Size in pixels (the PNG's size, and the SVG's view box).
    fn size(&self) -> (u32, u32);
    /// The title drawn at the top, also the report's caption.
    fn title(&self) -> String;
    /// Draws everything below the title.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// What drawing on a backend returns.
pub(crate) type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draws `figure` as `dir/<name>.svg` and `dir/<name>.png` (`dir` created if missing).
pub(crate) fn render(figure: &impl Figure, dir: &Path, name: &str) -> Result<Plot> {
    std::fs::create_dir_all(dir).map_err(|error| Error::Io {
        path: dir.to_path_buf(),
        error,
    })?;
    let svg_path = dir.join(format!("{name}.svg"));
    let png_path = dir.join(format!("{name}.png"));
    style::register_fonts().map_err(|m| drawing_error(&png_path, m))?;
    let (w, h) = figure.size();
    let title = figure.title();

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        draw_page(figure, &title, &root).map_err(|e| drawing_error(&svg_path, e.to_string()))?;
    }
    write(&svg_path, svg.as_bytes())?;

    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw_page(figure, &title, &root).map_err(|e| drawing_error(&png_path, e.to_string()))?;
    }
    let png = encode_png(&rgb, (w, h)).map_err(|m| drawing_error(&png_path, m))?;
    write(&png_path, &png)?;

    Ok(Plot {
        name: name.to_string(),
        title,
        png: png_path,
        svg: svg_path,
    })
}

fn draw_page<DB: DrawingBackend>(
    figure: &impl Figure,
    title: &str,
    root: &DrawingArea<DB, Shift>,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    // Plotters places ab_glyph text a little above its box: room on top keeps
    // the title's capitals inside the picture.
    let body = root
        .margin(12, 0, 0, 0)
        .titled(title, style::title_font())?;
    figure.draw(&body.margin(4, 8, 8, 8))?;
    root.present()
}

/// An 8-bit RGB PNG, the pixel layout of plotters' bitmap backend.
fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Atomically, like the run files: a `reproduce` killed while writing the
/// report leaves the previous file or the new one, never half of one.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    initlab_data::write_atomic(path, bytes).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        error: std::io::Error::other(e.to_string()),
    })
}

/// A figure that could not be drawn is a file that could not be written.
fn drawing_error(path: &Path, message: String) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        error: std::io::Error::other(format!("drawing failed: {message}")),
    }
}
