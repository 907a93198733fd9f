//! The report's blocks and their two renderings, Markdown and self-contained
//! HTML: one list of blocks is rendered twice so the two files never disagree.

use std::fmt::Write as _;

use crate::plots::Plot;
use crate::{Error, Result};

/// One piece of the report, rendered to Markdown and to HTML.
///
/// Text uses two inline marks, `code` and **bold**, which both renderers
/// understand; [`code`] keeps a stored string from breaking out of a code span.
#[derive(Clone)]
pub(crate) enum Block {
    H(u8, String),
    P(String),
    Ul(Vec<String>),
    Code(String),
    Table {
        head: Vec<String>,
        right: Vec<bool>,
        rows: Vec<Vec<String>>,
    },
    /// A result the README quotes (`cargo xtask report --readme`), rendered
    /// as the block it holds.
    Key(Box<Block>),
    Figure {
        plot: Plot,
        /// The PNG, relative to the report (Markdown shows it).
        src: String,
        caption: String,
    },
}

impl Block {
    /// A table with `head` over its columns; `right[i]` right-aligns column
    /// `i` (numbers), the others are left-aligned.
    pub(crate) fn table(head: &[&str], right: &[bool], rows: Vec<Vec<String>>) -> Block {
        Block::Table {
            head: head.iter().map(|h| h.to_string()).collect(),
            right: right.to_vec(),
            rows,
        }
    }
}

pub(crate) fn render_markdown(blocks: &[Block]) -> String {
    let mut md = String::new();
    for block in blocks {
        match block {
            Block::Key(inner) => md.push_str(&render_markdown(std::slice::from_ref(inner))),
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

pub(crate) fn render_html(blocks: &[Block]) -> Result<String> {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>initlab report</title>\n<style>",
    );
    html.push_str(CSS);
    html.push_str("</style>\n</head>\n<body>\n");
    html_body(blocks, &mut html)?;
    html.push_str("</body>\n</html>\n");
    Ok(html)
}

fn html_body(blocks: &[Block], html: &mut String) -> Result<()> {
    for block in blocks {
        match block {
            Block::Key(inner) => html_body(std::slice::from_ref(inner), html)?,
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
    Ok(())
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
pub(crate) fn inline_html(text: &str) -> String {
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
pub(crate) fn code(s: &str) -> String {
    s.replace('`', "'")
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
}
