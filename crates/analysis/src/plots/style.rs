//! Fonts, colours, the legend and number formats shared by every figure.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

use super::DrawResult;

/// Registers DejaVu Sans (regular and bold) as plotters' `sans-serif`.
///
/// Plotters' pure-Rust text (`ab_glyph`) knows only registered fonts, and a
/// CI machine may have no font at all, so the TTF comes compiled in from the
/// `dejavu` crate (Bitstream Vera licence, see `assets/DejaVu-LICENSE`). The
/// SVGs name the family `sans-serif`, which every browser has.
pub(crate) fn register_fonts() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "DejaVu Sans (regular) is not a valid font".to_string())?;
            register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold())
                .map_err(|_| "DejaVu Sans (bold) is not a valid font".to_string())
        })
        .clone()
}

/// Figure title.
pub(crate) fn title_font() -> TextStyle<'static> {
    ("sans-serif", 30).into_font().style(FontStyle::Bold).into()
}

/// Panel caption.
pub(crate) fn caption_font() -> TextStyle<'static> {
    ("sans-serif", 23).into()
}

/// Axis descriptions ("epoch", "loss").
pub(crate) fn axis_font() -> TextStyle<'static> {
    ("sans-serif", 21).into()
}

/// Tick labels.
pub(crate) fn tick_font() -> TextStyle<'static> {
    ("sans-serif", 18).into()
}

/// Legend entries and notes inside panels.
pub(crate) fn legend_font() -> TextStyle<'static> {
    ("sans-serif", 20).into()
}

/// Colours for initializers: Okabe & Ito's colour-blind-safe palette (without
/// its yellow, which is unreadable on white), then a few darker extras.
pub(crate) struct Palette;

impl Palette {
    const COLORS: [RGBColor; 12] = [
        RGBColor(0, 114, 178),   // blue
        RGBColor(213, 94, 0),    // vermillion
        RGBColor(0, 158, 115),   // bluish green
        RGBColor(204, 121, 167), // reddish purple
        RGBColor(230, 159, 0),   // orange
        RGBColor(86, 180, 233),  // sky blue
        RGBColor(0, 0, 0),       // black
        RGBColor(128, 80, 30),   // brown
        RGBColor(90, 90, 150),   // slate
        RGBColor(120, 120, 120), // grey
        RGBColor(160, 30, 60),   // crimson
        RGBColor(110, 130, 20),  // olive
    ];

    /// The colour of the `i`-th initializer (cycling past twelve).
    pub(crate) fn color(i: usize) -> RGBColor {
        Self::COLORS[i % Self::COLORS.len()]
    }
}

/// The house style of a chart's mesh: axis and tick fonts, light grid lines.
pub(crate) fn house_mesh<'m, 'a, 'b, X, Y, DB>(
    mesh: &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>
where
    X: plotters::coord::ranged1d::Ranged,
    Y: plotters::coord::ranged1d::Ranged,
    DB: DrawingBackend,
{
    mesh.axis_desc_style(axis_font())
        .label_style(tick_font())
        .light_line_style(grid_color())
        .bold_line_style(BLACK.mix(0.2))
}

/// Light grid lines.
pub(crate) fn grid_color() -> RGBAColor {
    BLACK.mix(0.12)
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Swatch {
    /// A line segment (a curve).
    Line,
    /// A filled box (a band or a bar).
    Fill,
    /// A translucent box (a before-training histogram).
    Shade,
    /// A black diamond (the published value).
    Diamond,
    /// A vertical bar with caps (± one standard deviation).
    ErrorBar,
    /// A small dot (one seed).
    Dot,
}

/// Draws a legend as one or more centred rows in `area`, outside every plot,
/// so that it never hides data. Returns the height used.
pub(crate) fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor, Swatch)],
) -> Result<u32, DrawingAreaErrorKind<DB::ErrorType>> {
    let font = legend_font();
    let (width, _) = area.dim_in_pixel();
    let swatch_w = 34;
    let gap = 28;
    let row_h = 30;
    // Lay entries out in rows that fit the width.
    let mut rows: Vec<Vec<(usize, u32)>> = vec![Vec::new()];
    let mut used = 0;
    for (i, (text, ..)) in entries.iter().enumerate() {
        let (tw, _) = area.estimate_text_size(text, &font)?;
        let w = swatch_w + 8 + tw;
        if used > 0 && used + gap + w > width {
            rows.push(Vec::new());
            used = 0;
        }
        used += if used > 0 { gap + w } else { w };
        if let Some(row) = rows.last_mut() {
            row.push((i, w));
        }
    }
    let anchor = font.pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in rows.iter().enumerate() {
        let total: u32 =
            row.iter().map(|(_, w)| w).sum::<u32>() + gap * (row.len() as u32).saturating_sub(1);
        let mut x = (width.saturating_sub(total) / 2) as i32;
        let y = (r as u32 * row_h + row_h / 2) as i32;
        for &(i, w) in row {
            let (text, color, swatch) = &entries[i];
            draw_swatch(area, *swatch, *color, (x, y), swatch_w as i32)?;
            area.draw_text(text, &anchor, (x + swatch_w as i32 + 8, y))?;
            x += (w + gap) as i32;
        }
    }
    Ok(rows.len() as u32 * row_h + 6)
}

fn draw_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    swatch: Swatch,
    color: RGBColor,
    (x, y): (i32, i32),
    w: i32,
) -> DrawResult<DB> {
    match swatch {
        Swatch::Line => area.draw(&PathElement::new(
            vec![(x, y), (x + w, y)],
            color.stroke_width(4),
        )),
        Swatch::Fill => area.draw(&Rectangle::new(
            [(x, y - 9), (x + w, y + 9)],
            color.filled(),
        )),
        Swatch::Shade => area.draw(&Rectangle::new(
            [(x, y - 9), (x + w, y + 9)],
            color.mix(0.3).filled(),
        )),
        Swatch::Diamond => area.draw(&diamond((x + w / 2, y), 9, 0)),
        Swatch::Dot => area.draw(&Circle::new((x + w / 2, y), 5, color.filled())),
        Swatch::ErrorBar => {
            let c = x + w / 2;
            let style = color.stroke_width(2);
            area.draw(&PathElement::new(vec![(c, y - 11), (c, y + 11)], style))?;
            area.draw(&PathElement::new(
                vec![(c - 7, y - 11), (c + 7, y - 11)],
                style,
            ))?;
            area.draw(&PathElement::new(
                vec![(c - 7, y + 11), (c + 7, y + 11)],
                style,
            ))
        }
    }
}

/// A filled shape with an outline, drawn in pixels around a point of the chart.
pub(crate) type Marker<C, DB> =
    plotters::element::ComposedElement<C, DB, Polygon<(i32, i32)>, PathElement<(i32, i32)>>;

/// The published-value marker: a black diamond with a white edge, visible on
/// any bar colour, centred `dx` pixels right of `at` (any coordinate of the area).
pub(crate) fn diamond<C, DB: DrawingBackend>(at: C, r: i32, dx: i32) -> Marker<C, DB> {
    let points = vec![(dx, -r), (dx + r, 0), (dx, r), (dx - r, 0)];
    let mut outline = points.clone();
    outline.push((dx, -r));
    EmptyElement::at(at)
        + Polygon::new(points, BLACK.filled())
        + PathElement::new(outline, WHITE.stroke_width(2))
}

/// A number for a tick label: no trailing zeros, scientific only when tiny or huge.
pub(crate) fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.0e}");
        return s.replace("e-", "e−").replace('-', "−");
    }
    let decimals = (-(a.log10().floor()) as i32 + 1).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    s.replace('-', "−")
}

/// [`fmt_tick`] on a linear axis spanning `range`: a tick within rounding
/// error of zero (`7e−18` where 0 was meant) reads 0.
pub(crate) fn fmt_tick_in(v: f64, range: &std::ops::Range<f64>) -> String {
    let span = (range.end - range.start).abs();
    if v.abs() < span * 1e-9 {
        "0".into()
    } else {
        fmt_tick(v)
    }
}

/// An integer with thin spaces between thousands: `100 352`.
pub(crate) fn fmt_count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// `v` with `digits` significant digits, scientific only when tiny or huge.
pub(crate) fn fmt_sig(v: f64, digits: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        return format!("{:.*e}", digits.saturating_sub(1), v);
    }
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::{fmt_count, fmt_sig, fmt_tick, fmt_tick_in};

    #[test]
    fn ticks_are_short() {
        assert_eq!(fmt_tick(0.0), "0");
        assert_eq!(fmt_tick(0.5), "0.5");
        assert_eq!(fmt_tick(2.0), "2");
        assert_eq!(fmt_tick(0.02), "0.02");
        assert_eq!(fmt_tick(-0.25), "−0.25");
        assert_eq!(fmt_tick(100.0), "100");
        assert_eq!(fmt_tick(0.0001), "1e−4");
        assert_eq!(fmt_tick_in(7e-18, &(-0.05..0.05)), "0");
        assert_eq!(fmt_count(100_352), "100\u{2009}352");
        assert_eq!(fmt_count(999), "999");
    }

    #[test]
    fn significant_digits() {
        assert_eq!(fmt_sig(0.050482, 3), "0.0505");
        assert_eq!(fmt_sig(1.00237, 3), "1.00");
        assert_eq!(fmt_sig(0.0, 3), "0");
    }
}
