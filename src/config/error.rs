//! Configuration errors that point at the place to fix.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a configuration file: `file:line: key: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; `None` when the problem is with the file as a whole.
    pub line: Option<usize>,
    /// Dotted path of the key, e.g. `camera[1].name`; empty for whole-file problems.
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn whole_file(file: &Path, message: String) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: None,
            key: String::new(),
            message,
        }
    }

    /// Converts a TOML syntax or type error, recovering the key path from its position.
    /// The value that made a type error is echoed by toml (`invalid type: integer `1234``):
    /// for keys that hold credentials it is replaced by `***`.
    pub fn from_toml(file: &Path, text: &str, e: &toml::de::Error) -> Self {
        let message = e.message().trim();
        match e.span() {
            Some(span) => {
                let (key, line) = key_at(text, span.start);
                let leaf = key.rsplit('.').next().unwrap_or("");
                let secret = matches!(leaf, "password" | "url" | "sub_url" | "username")
                    // A value whose key could not be told (an inline table, say): hide it too.
                    || !key.contains('.') && text.get(span.clone()).is_some_and(|v| v.contains('@'));
                let message = if secret {
                    hide_quoted(message)
                } else {
                    message.to_string()
                };
                ConfigError {
                    file: file.to_path_buf(),
                    line: Some(line),
                    key,
                    message: cap(message.replace('`', "\"")),
                }
            }
            None => ConfigError::whole_file(file, cap(hide_quoted(message).replace('`', "\""))),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A message of at most 300 characters: values echoed into it stay readable, not megabytes.
pub fn cap(message: String) -> String {
    match message.char_indices().nth(300) {
        Some((i, _)) => format!("{}… (cut)", &message[..i]),
        None => message,
    }
}

/// Replaces every `` `quoted` `` part of a toml message (where it echoes values) with `***`.
fn hide_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('`');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        if i % 2 == 0 {
            out.push_str("***");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// 1-based line number of byte `offset`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The dotted key path (`camera[1].nmae`) and line at `offset`, found by walking the table
/// headers above it. Good enough for the flat layout nvr.toml uses; used only for messages.
fn key_at(text: &str, offset: usize) -> (String, usize) {
    let line_no = line_of(text, offset);
    let mut table = String::new();
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for line in text.lines().take(line_no - 1) {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = counts.entry(name.clone()).or_insert(0);
            table = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            table = name.trim().to_string();
        }
    }
    let this = text.lines().nth(line_no - 1).unwrap_or("");
    // The error is about a table header itself (`[storag]`): name that table.
    let header = this.trim().trim_start_matches('[');
    if this.trim().starts_with('[')
        && let Some(name) = header.split(']').next()
    {
        return (name.trim().to_string(), line_no);
    }
    let key = this
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    let path = match (table.is_empty(), key) {
        (true, Some(k)) => k,
        (false, Some(k)) => format!("{table}.{k}"),
        (_, None) => table,
    };
    (path, line_no)
}
