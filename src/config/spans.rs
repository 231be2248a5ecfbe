//! Where a problem is in the config file: byte spans turned into `FILE:LINE`, and error
//! messages that name the dotted key path, for serde's errors as for the checks' own.

use std::ops::Range;
use std::path::Path;

use crate::error::Error;

/// The file being checked: turns byte spans into `FILE:LINE` and builds the errors.
pub(super) struct Source<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

impl Source<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    pub(super) fn location(&self, span: &Range<usize>) -> String {
        format!("{}:{}", self.path.display(), self.line_of(span.start))
    }

    pub(super) fn error(
        &self,
        span: &Range<usize>,
        key: &str,
        message: impl std::fmt::Display,
    ) -> Error {
        Error::config(self.location(span), format!("{key}: {message}"))
    }

    /// A required key is missing: point at its table's header if there is one.
    pub(super) fn missing(&self, table: &str, key: &str) -> Error {
        let header = self
            .text
            .lines()
            .position(|line| header_of(line).is_some_and(|h| h == table))
            .map(|index| format!("{}:{}", self.path.display(), index + 1))
            .unwrap_or_else(|| self.path.display().to_string());
        let path = if table.is_empty() {
            key.to_string()
        } else {
            format!("{table}.{key}")
        };
        Error::config(header, format!("{path}: missing (required)"))
    }

    pub(super) fn syntax_error(&self, e: &toml::de::Error) -> Error {
        let message = one_line(e);
        let location = match e.span() {
            Some(span) => self.location(&span),
            None => self.path.display().to_string(),
        };
        Error::config(location, format!("TOML syntax: {message}"))
    }

    /// An unknown key or a value of the wrong type, found by serde: name the key path from the
    /// table header in force and the key on the error's line.
    pub(super) fn data_error(&self, e: &toml::de::Error) -> Error {
        let message = one_line(e);
        let Some(span) = e.span() else {
            return Error::config(self.path.display().to_string(), message);
        };
        let (table, key) = self.key_at(span.start);
        let Some(unknown) = message
            .strip_prefix("unknown field `")
            .and_then(|m| m.split('`').next())
        else {
            return self.error(&span, &join_key(&table, &key), message);
        };
        // The unknown key may be any part of a dotted key (`database.sslmod` under [keys] is an
        // unknown `keys.database`), or sit inside an inline table on the line.
        let parts: Vec<&str> = key.split('.').collect();
        let key_path = match parts.iter().position(|&p| p == unknown) {
            Some(at) => join_key(&table, &parts[..=at].join(".")),
            // An unknown table's own header line.
            None if key.is_empty() && table.rsplit('.').next() == Some(unknown) => table,
            None => join_key(&join_key(&table, &key), unknown),
        };
        let expected = message
            .split_once(", expected ")
            .map(|(_, rest)| format!(" (expected {rest})"));
        self.error(
            &span,
            &key_path,
            format!("unknown key{}", expected.unwrap_or_default()),
        )
    }

    /// The table header in force at `offset`, and the key of the value there (empty when
    /// `offset` is on a header line), as written.
    fn key_at(&self, offset: usize) -> (String, String) {
        let mut table = String::new();
        let mut key = String::new();
        for line in self.text.lines().take(self.line_of(offset)) {
            if let Some(header) = header_of(line) {
                table = header;
                key.clear();
            } else if let Some((k, _)) = line
                .split_once('=')
                .filter(|_| !line.trim_start().starts_with('#'))
            {
                // Kept across lines: a value (an array) may continue on the following lines.
                key = k.split('.').map(str::trim).collect::<Vec<_>>().join(".");
            }
        }
        (table, key)
    }
}

/// A toml error message on one line (syntax errors can span several).
fn one_line(e: &toml::de::Error) -> String {
    e.message()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(": ")
}

fn join_key(table: &str, key: &str) -> String {
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key.to_string(),
        (false, true) => table.to_string(),
        (false, false) => format!("{table}.{key}"),
    }
}

/// The table a `[header]` or `[[header]]` line opens, with spaces around dots removed.
fn header_of(line: &str) -> Option<String> {
    let inner = line.trim().strip_prefix('[')?;
    let inner = inner.strip_prefix('[').unwrap_or(inner);
    let (name, _) = inner.split_once(']')?;
    Some(name.split('.').map(str::trim).collect::<Vec<_>>().join("."))
}
