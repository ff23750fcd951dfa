//! One module per command: `nvr run`, `nvr check`, `nvr demo`, `nvr export`, `nvr catalog`,
//! `nvr hikvision`, `nvr testcam`, `nvr user` and `nvr token` (`accounts`).

pub mod accounts;
pub mod catalog;
pub mod check;
pub mod demo;
pub mod export;
pub mod hikvision;
pub mod run;
pub mod testcam;

use crate::config::{Config, ConfigError};
use std::path::Path;
use std::process::ExitCode;

/// Exit code for a configuration that cannot be used.
pub const EXIT_CONFIG: u8 = 2;

/// Loads and fully validates a config file, or prints every problem and returns exit code 2.
pub fn load_config(path: &Path) -> Result<Config, ExitCode> {
    let checked = Config::load(path).and_then(|c| c.check_environment().map(|()| c));
    checked.map_err(|errors| {
        print_errors(&errors);
        ExitCode::from(EXIT_CONFIG)
    })
}

/// What `check` prints and `run` logs for a configuration without cameras: valid (nothing
/// to record yet), but most likely not what the user meant.
pub fn nothing_configured(path: &Path) -> String {
    format!(
        "no camera is configured in {}: nothing will be recorded until [[camera]] tables are \
         added (the file is re-read when saved)",
        path.display()
    )
}

pub fn print_errors(errors: &[ConfigError]) {
    for e in errors {
        eprintln!("{e}");
    }
    let n = errors.len();
    eprintln!(
        "nvr: {n} problem{} in the configuration; nothing was started",
        if n == 1 { "" } else { "s" }
    );
}
