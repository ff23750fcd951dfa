//! `nvr export --camera NAME --from TIME --to TIME -o OUT.mp4 [--config PATH]`: one MP4 for
//! any recorded range, without re-encoding. Reads the catalog without writing it, so it is
//! safe beside a running `nvr run`. Exit 0 on success, 1 if nothing was recorded in the range
//! or the export failed, 2 for bad arguments or configuration.

use crate::storage::catalog::Catalog;
use crate::storage::export::{self, ExportError, Output};
use crate::time::rfc3339_utc_ns;
use std::process::ExitCode;

pub fn main(parsed: &crate::cli::ExportArgs) -> ExitCode {
    let config = match crate::config::Config::load(&parsed.config.config) {
        Ok(c) => c,
        Err(errors) => {
            super::print_errors(&errors);
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let catalog = match Catalog::open_readonly(
        &config.storage.path,
        crate::hikvision::sync::imported_cameras_of(&config),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "nvr export: cannot read recordings in {}: {e}",
                config.storage.path.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let plan = match export::plan(&catalog, &parsed.camera, parsed.from, parsed.to) {
        Ok(p) => p,
        Err(ExportError::NoFootage) => {
            eprintln!(
                "nvr export: no footage of camera {:?} between {} and {}",
                parsed.camera,
                rfc3339_utc_ns(parsed.from),
                rfc3339_utc_ns(parsed.to)
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("nvr export: {e}");
            return ExitCode::from(2);
        }
    };
    match export::run(&plan, Output::File(&parsed.output)) {
        Ok(()) => {
            eprintln!(
                "nvr export: wrote {} ({} segments, {:.1} s from the keyframe at or before --from)",
                parsed.output.display(),
                plan.files.len(),
                export::planned_duration(&plan).as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("nvr export: {e}");
            ExitCode::FAILURE
        }
    }
}
