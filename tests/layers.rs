//! The module map stays layered: each top-level module of `src/` imports (`crate::…`) only
//! modules of lower layers, so there is no import cycle and a newcomer can read the code
//! bottom up. The layers are those of docs/design.md's map; this test reads the sources'
//! non-test code, so a new upward import fails here, naming the file.

use std::collections::BTreeMap;
use std::path::Path;

/// Bottom first. A module may use any module of a lower layer, none of its own or higher.
const LAYERS: &[&[&str]] = &[
    // Base: time, logging, byte readers, GStreamer pipeline descriptions, the test camera.
    &["time", "logging", "bytes", "bus", "pipelines", "testcam"],
    // The configuration, typed and validated: it imports no feature module.
    &["config"],
    // The store: on-disk layout, catalog, journals (events, history), retention, media files;
    // the accounts (users and API tokens).
    &["storage", "auth"],
    // Features on the store: motion detection (detector, element, events), Hikvision import.
    &["motion", "hikvision"],
    // The recorder (camera supervision, pipelines, motion branch); the command line.
    &["camera", "cli"],
    // What the running recorder publishes for readers.
    &["board"],
    // Application: HTTP, the runtime that starts everything, the commands.
    &["http"],
    &["runtime"],
    &["cmds"],
    // Test code (the `fixtures` feature): what the fuzz targets check.
    &["fuzzing"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// `crate::X` names used by each source file of `src/`, keyed by (module, file), test code
/// (from the first `#[cfg(test)]`) left out.
fn imports() -> BTreeMap<(String, String), Vec<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            let module = rel
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_string();
            let text = std::fs::read_to_string(&p).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            let mut used: Vec<String> = code
                .match_indices("crate::")
                .map(|(i, m)| {
                    code[i + m.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect::<String>()
                })
                .filter(|m| !m.is_empty() && *m != module)
                .collect();
            used.sort();
            used.dedup();
            out.insert((module, rel), used);
        }
    }
    out
}

#[test]
fn every_module_imports_only_lower_layers() {
    let mut problems = Vec::new();
    for ((module, file), used) in imports() {
        if matches!(module.as_str(), "lib" | "main") {
            continue;
        }
        let Some(mine) = layer_of(&module) else {
            problems.push(format!(
                "{module} ({file}) is in no layer: add it to LAYERS"
            ));
            continue;
        };
        for other in used {
            match layer_of(&other) {
                Some(theirs) if theirs < mine => {}
                Some(_) => problems.push(format!("{file}: {module} imports crate::{other}")),
                None => problems.push(format!("{file}: crate::{other} is in no layer")),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "imports that go sideways or up:\n{}",
        problems.join("\n")
    );
}
