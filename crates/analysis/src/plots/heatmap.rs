//! A heat map of one number over two grid dimensions (rows: a combination of
//! grid axes, columns: initializers): each cell's colour is the mean over
//! seeds and its text the mean ± std, so the figure is also the table.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style;
use super::{DrawResult, Figure};

/// One cell: the mean and sample standard deviation over its completed
/// seeds, how many those were, and how many runs diverged.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cell {
    pub mean: f64,
    pub std: f64,
    pub n: usize,
    pub diverged: usize,
}

/// The heat map; `value` spans `range` (fixed, not the data's, so that two
/// heat maps of accuracy use the same colours).
pub(crate) struct Heatmap {
    pub title: String,
    pub value_desc: String,
    pub range: (f64, f64),
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    /// `cells[row][column]`; `None` where the grid has no such point.
    pub cells: Vec<Vec<Option<Cell>>>,
}

/// Viridis at five stops, interpolated: perceptually even and legible in grey.
const STOPS: [(u8, u8, u8); 5] = [
    (68, 1, 84),
    (59, 82, 139),
    (33, 145, 140),
    (94, 201, 98),
    (253, 231, 37),
];

pub(crate) fn colour(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Black on the light end of the scale, white on the dark end.
pub(crate) fn ink(c: RGBColor) -> RGBColor {
    let luma = 0.299 * f64::from(c.0) + 0.587 * f64::from(c.1) + 0.114 * f64::from(c.2);
    if luma > 140.0 {
        BLACK
    } else {
        WHITE
    }
}

/// `0.9512 ± 0.0031` (or the mean alone for one seed), then what else a
/// reader needs: the seed count and any diverged runs.
pub(crate) fn cell_text(c: &Cell) -> (String, String) {
    let main = match c.n {
        0 => "–".to_string(),
        1 => format!("{:.4}", c.mean),
        _ => format!("{:.4} ± {:.4}", c.mean, c.std),
    };
    let mut sub = format!("{} seed{}", c.n, if c.n == 1 { "" } else { "s" });
    if c.diverged > 0 {
        sub.push_str(&format!(", {} diverged", c.diverged));
    }
    (main, sub)
}

impl Heatmap {
    const LEFT: u32 = 260;
    const TOP: u32 = 60;
    const CELL_H: u32 = 96;
    const BAR_W: u32 = 170;
}

impl Figure for Heatmap {
    fn size(&self) -> (u32, u32) {
        let w = Self::LEFT + 300 * self.columns.len() as u32 + Self::BAR_W;
        // At least 480 px high: a two-row grid still has room for the colour bar's labels.
        (
            w.clamp(1000, 2600),
            (Self::TOP + 80 + Self::CELL_H * self.rows.len().max(1) as u32).max(480),
        )
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (w, _) = area.dim_in_pixel();
        let ncol = self.columns.len().max(1) as u32;
        let cell_w = (w.saturating_sub(Self::LEFT + Self::BAR_W) / ncol) as i32;
        let cell_h = Self::CELL_H as i32;
        let (left, top) = (Self::LEFT as i32, Self::TOP as i32);
        let centre = |font: TextStyle<'static>| font.pos(Pos::new(HPos::Center, VPos::Center));
        let right = style::axis_font().pos(Pos::new(HPos::Right, VPos::Center));
        for (j, name) in self.columns.iter().enumerate() {
            let x = left + cell_w * j as i32 + cell_w / 2;
            area.draw_text(name, &centre(style::axis_font()), (x, top / 2))?;
        }
        let (lo, hi) = self.range;
        let scale = |v: f64| (v - lo) / (hi - lo).max(f64::MIN_POSITIVE);
        for (i, name) in self.rows.iter().enumerate() {
            let y = top + cell_h * i as i32;
            area.draw_text(name, &right, (left - 14, y + cell_h / 2))?;
            for j in 0..self.columns.len() {
                let x = left + cell_w * j as i32;
                let cell = self
                    .cells
                    .get(i)
                    .and_then(|r| r.get(j))
                    .and_then(Option::as_ref);
                let rect = [(x + 2, y + 2), (x + cell_w - 2, y + cell_h - 2)];
                match cell {
                    Some(c) if c.n > 0 => {
                        let fill = colour(scale(c.mean));
                        area.draw(&Rectangle::new(rect, fill.filled()))?;
                        let (main, sub) = cell_text(c);
                        let text = ink(fill);
                        area.draw_text(
                            &main,
                            &centre(style::legend_font()).color(&text),
                            (x + cell_w / 2, y + cell_h / 2 - 14),
                        )?;
                        area.draw_text(
                            &sub,
                            &centre(style::tick_font()).color(&text),
                            (x + cell_w / 2, y + cell_h / 2 + 16),
                        )?;
                    }
                    // A grid point whose every run diverged has no mean: grey, said in words.
                    Some(c) => {
                        area.draw(&Rectangle::new(rect, RGBColor(200, 200, 200).filled()))?;
                        let (_, sub) = cell_text(c);
                        area.draw_text(
                            &format!("no mean ({sub})"),
                            &centre(style::tick_font()),
                            (x + cell_w / 2, y + cell_h / 2),
                        )?;
                    }
                    None => {
                        area.draw(&Rectangle::new(rect, RGBColor(245, 245, 245).filled()))?;
                    }
                }
            }
        }
        // The colour bar: the scale's ends and middle, labelled.
        let bx = left + cell_w * ncol as i32 + 40;
        let height = cell_h * self.rows.len().max(1) as i32;
        let steps = 60;
        for k in 0..steps {
            let t0 = k as f64 / steps as f64;
            let y0 = top + height - (height as f64 * (k + 1) as f64 / steps as f64) as i32;
            let y1 = top + height - (height as f64 * t0) as i32;
            area.draw(&Rectangle::new(
                [(bx, y0), (bx + 30, y1)],
                colour(t0 + 0.5 / steps as f64).filled(),
            ))?;
        }
        let label = style::tick_font().pos(Pos::new(HPos::Left, VPos::Center));
        for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let y = top + height - (height as f64 * t) as i32;
            area.draw_text(&style::fmt_tick(lo + (hi - lo) * t), &label, (bx + 38, y))?;
        }
        area.draw_text(
            &self.value_desc,
            &style::tick_font().pos(Pos::new(HPos::Center, VPos::Top)),
            (bx + 40, top + height + 12),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_scale_runs_from_dark_to_light_and_text_stays_legible() {
        assert_eq!(colour(0.0), RGBColor(68, 1, 84));
        assert_eq!(colour(1.0), RGBColor(253, 231, 37));
        assert_eq!(ink(colour(0.0)), WHITE);
        assert_eq!(ink(colour(1.0)), BLACK);
    }

    #[test]
    fn cell_text_gives_spread_only_with_seeds() {
        let c = |n, diverged| Cell {
            mean: 0.5,
            std: 0.01,
            n,
            diverged,
        };
        assert_eq!(cell_text(&c(1, 0)).0, "0.5000");
        assert_eq!(
            cell_text(&c(3, 1)),
            ("0.5000 ± 0.0100".into(), "3 seeds, 1 diverged".into())
        );
    }
}
