//! Reading the project's TOML files (studies, embedding configs) with errors that
//! name the file, line, column and key.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// Reads `path` and deserializes it strictly.
pub(crate) fn load<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::Io {
        path: path.to_path_buf(),
        error,
    })?;
    parse(path, &text)
}

/// Deserializes `text`; `path` only names the file in errors.
pub(crate) fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        error_at(path, text, offset, e.message().trim().replace('\n', " "))
    })
}

/// An error at a byte offset of `text`, as `file:line:column: message`.
pub(crate) fn error_at(path: &Path, text: &str, offset: usize, message: String) -> Error {
    let (line, column) = line_col(text, offset);
    Error::Study {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// The byte offset of the value at `key` (`["data", "validation_fraction"]`)
/// in `text`, through tables and inline tables; `None` where the text does
/// not write it.
pub(crate) fn key_offset(text: &str, key: &[&str]) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let (last, tables) = key.split_last()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    for name in tables {
        table = table.get(name)?.as_table_like()?;
    }
    table.get(last)?.span().map(|s| s.start)
}

/// 1-based (line, column) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column)
}
