//! The Hikvision import's settings as configured (`[hikvision]`), and the checks on them.
//! The import itself is `hikvision::sync`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The `[hikvision]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Camera folders, or folders whose sub-folders are camera folders.
    pub sources: Vec<PathBuf>,
    pub output: PathBuf,
    /// Camera folder name → tag used in the output (`Camera-Tuin` → `tuin`).
    pub tags: BTreeMap<String, String>,
    pub interval: Duration,
    /// Outputs older than this (by recording time) are deleted; 0 = never.
    pub retention_days: u32,
    /// Only segments from the last N days are imported; 0 = everything in the index.
    pub lookback_days: u32,
    pub images: bool,
    /// Segments remuxed at once (threads at nice 10).
    pub workers: usize,
    pub pipeline_dir: PathBuf,
}

/// Default [`Settings::workers`]: two where there are two cores or more.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
}

/// Parses the seed's `CAMERA_TRANSLATION` form: `Orig:tag,Orig2:tag2`.
pub fn parse_translation(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (from, to) = entry
            .split_once(':')
            .ok_or_else(|| format!("{entry:?} is not Folder:tag"))?;
        let (from, to) = (from.trim(), to.trim());
        if let Some(why) = tag_problem(to) {
            return Err(format!("tag {to:?} {why}"));
        }
        out.insert(from.to_string(), to.to_string());
    }
    Ok(out)
}

/// Why `tag` cannot name an output folder and appear in file names, if it cannot.
pub fn tag_problem(tag: &str) -> Option<&'static str> {
    if tag.is_empty() || tag.len() > 24 {
        return Some("must be 1 to 24 characters");
    }
    if tag.starts_with('.') {
        return Some("must not start with '.'");
    }
    if !tag
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Some("may only contain letters, digits, '-', '_' and '.'");
    }
    None
}
