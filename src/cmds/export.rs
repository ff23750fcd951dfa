//! `nvr export --camera NAME --from TIME --to TIME -o OUT.mp4 [--config PATH]`: one MP4 for
//! any recorded range, without re-encoding. Reads the catalog without writing it, so it is
//! safe beside a running `nvr run`. Exit 0 on success, 1 if nothing was recorded in the range
//! or the export failed, 2 for bad arguments or configuration.

use crate::storage::catalog::Catalog;
use crate::storage::export::{self, ExportError, Output};
use crate::time::{parse_time, rfc3339_utc_ns};
use std::path::PathBuf;
use std::process::ExitCode;

pub const USAGE: &str = "nvr export --camera NAME --from TIME --to TIME -o OUT.mp4 [--config PATH]\n\
     TIME: 2026-03-29T08:00:00 (local), 2026-03-29T06:00:00Z, ...+02:00, or Unix seconds";

pub fn main(args: &[String]) -> ExitCode {
    let parsed = match parse(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("nvr export: {e}\nusage: {USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match crate::config::Config::load(&parsed.config) {
        Ok(c) => c,
        Err(errors) => {
            super::print_errors(&errors);
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let catalog = match Catalog::open_readonly(&config.storage.path, config.imported_cameras()) {
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
    match export::run(&plan, Output::File(&parsed.out)) {
        Ok(()) => {
            eprintln!(
                "nvr export: wrote {} ({} segments, {:.1} s from the keyframe at or before --from)",
                parsed.out.display(),
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

struct Args {
    camera: String,
    from: u64,
    to: u64,
    out: PathBuf,
    config: PathBuf,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let (mut camera, mut from, mut to, mut out) = (None, None, None, None);
    let mut config = PathBuf::from(crate::config::DEFAULT_PATH);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--camera" => camera = Some(value.clone()),
            "--from" => from = Some(parse_time(value).map_err(|e| format!("--from: {e}"))?),
            "--to" => to = Some(parse_time(value).map_err(|e| format!("--to: {e}"))?),
            "-o" | "--output" => out = Some(PathBuf::from(value)),
            "--config" | "-c" => config = value.into(),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Args {
        camera: camera.ok_or("--camera is required")?,
        from: from.ok_or("--from is required")?,
        to: to.ok_or("--to is required")?,
        out: out.ok_or("-o is required")?,
        config,
    })
}
