//! MAESTRO's metadata CSV (`maestro-v*.csv`): which split and year each MIDI file has.

use crate::{Error, Result, Split};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Split and year of one performance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub split: Split,
    pub year: u16,
}

/// Finds the newest `maestro-v*.csv` directly in `root`, if any.
pub(crate) fn find_csv(root: &Path) -> Result<Option<PathBuf>> {
    let entries = std::fs::read_dir(root).map_err(|e| Error::io(root, e))?;
    let mut found: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(root, e))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("maestro-v") && name.ends_with(".csv") {
            found.push(path);
        }
    }
    found.sort();
    Ok(found.pop())
}

/// Reads the CSV into `midi_filename` (relative, `/`-separated) → entry.
pub(crate) fn read_csv(path: &Path) -> Result<HashMap<String, Entry>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad = |line: usize, problem: String| Error::Metadata {
        path: path.to_path_buf(),
        problem: format!("line {line}: {problem}"),
    };
    let rows = parse_csv(&text).map_err(|(line, problem)| bad(line, problem))?;
    let (header, rows) = rows
        .split_first()
        .ok_or_else(|| bad(1, "empty file".into()))?;
    let column = |name: &str| {
        header
            .1
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(1, format!("no `{name}` column")))
    };
    let (split_col, year_col, midi_col) =
        (column("split")?, column("year")?, column("midi_filename")?);

    let mut entries = HashMap::with_capacity(rows.len());
    for (line, fields) in rows {
        let field = |col: usize| {
            fields.get(col).ok_or_else(|| {
                bad(
                    *line,
                    format!("{} fields, expected {}", fields.len(), header.1.len()),
                )
            })
        };
        let split = match field(split_col)?.as_str() {
            "train" => Split::Train,
            "validation" => Split::Validation,
            "test" => Split::Test,
            other => return Err(bad(*line, format!("unknown split `{other}`"))),
        };
        let year = field(year_col)?.parse().map_err(|_| {
            bad(
                *line,
                format!("year `{}` is not a number", fields[year_col]),
            )
        })?;
        entries.insert(field(midi_col)?.clone(), Entry { split, year });
    }
    Ok(entries)
}

/// A CSV row's fields and the line it starts on.
type Row = (usize, Vec<String>);

/// RFC 4180 fields, each row with the line it starts on; quoted fields may hold
/// commas, doubled quotes and newlines. An error is a line and a problem.
fn parse_csv(text: &str) -> std::result::Result<Vec<Row>, (usize, String)> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let (mut line, mut row_line) = (1, 1);
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push((row_line, std::mem::take(&mut row)));
                line += 1;
                row_line = line;
            }
            (_, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
        }
    }
    if quoted {
        return Err((row_line, "unterminated quoted field".into()));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push((row_line, row));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields() {
        let rows = parse_csv("a,b\r\nx,\"y, \"\"z\"\"\"\n\"multi\nline\",2\n").unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].1, vec!["x", "y, \"z\""]);
        assert_eq!(
            rows[2],
            (3, vec!["multi\nline".to_string(), "2".to_string()])
        );
    }
}
