//! `nvr hikvision sync [--once] [--config PATH]`: import Hikvision NAS recordings as
//! configured in `[hikvision]` (once, or every `interval_minutes` until SIGTERM/SIGINT).
//! `nvr hikvision scan FOLDER`: what nvr reads in a camera folder, changing nothing.

use crate::config::Config;
use crate::hikvision::{index, pictures, sync};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub fn sync_main(path: &Path, once: bool) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(errors) => {
            super::print_errors(&errors);
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    crate::logging::set_level(config.log_level);
    let Some(settings) = config.hikvision else {
        eprintln!(
            "{}: no [hikvision] section: add one with sources and output (see README)",
            path.display()
        );
        return ExitCode::from(super::EXIT_CONFIG);
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    loop {
        let now = (crate::time::unix_now_ns() / 1_000_000_000) as i64;
        match sync::run_once(&settings, now, &stop) {
            Ok(summary) => {
                for line in summary.lines() {
                    log::info!("hikvision: {line}");
                }
            }
            Err(e) => {
                log::error!("hikvision: {e}");
                if once {
                    return ExitCode::FAILURE;
                }
            }
        }
        if once {
            return ExitCode::SUCCESS;
        }
        // Sleep the interval in short steps so a stop signal is honoured quickly.
        let until = std::time::Instant::now() + settings.interval;
        while std::time::Instant::now() < until {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return ExitCode::SUCCESS;
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }
}

pub fn scan_main(folder: &Path) -> ExitCode {
    let settings = sync::Settings {
        sources: vec![folder.to_path_buf()],
        output: PathBuf::new(),
        tags: Default::default(),
        interval: std::time::Duration::from_secs(600),
        retention_days: 0,
        lookback_days: 0,
        images: true,
        workers: 2,
        pipeline_dir: PathBuf::new(),
    };
    let (cameras, warnings) = sync::discover(&settings);
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if cameras.is_empty() {
        eprintln!("{}: no Hikvision camera folder found", folder.display());
        return ExitCode::FAILURE;
    }
    for cam in cameras {
        println!("{} (tag {})", cam.path.display(), cam.tag);
        for dir in &cam.datadirs {
            let len = |name: String| std::fs::metadata(dir.join(name)).ok().map(|m| m.len());
            match std::fs::read(dir.join("index00.bin")) {
                Ok(bytes) => match index::parse(&bytes, |f| len(format!("hiv{f:05}.mp4"))) {
                    Ok(i) => {
                        let c = &i.counts;
                        let first = i.segments.iter().map(|s| s.start).min();
                        let last = i.segments.iter().map(|s| s.end).max();
                        println!(
                            "  {}: {} containers ({} used), {} segments, {} stale, {} open, {} implausible{}",
                            dir.display(),
                            i.header.av_files,
                            c.files_used,
                            i.segments.len(),
                            c.stale,
                            c.open,
                            c.implausible,
                            match (first, last) {
                                (Some(f), Some(l)) =>
                                    format!(", {} .. {}", f.wall_clock(), l.wall_clock()),
                                _ => String::new(),
                            }
                        );
                    }
                    Err(e) => println!("  {}: index00.bin: {e}", dir.display()),
                },
                Err(e) => println!("  {}: index00.bin: {e}", dir.display()),
            }
            if let Ok(bytes) = std::fs::read(dir.join("index00p.bin")) {
                match pictures::parse(&bytes, |f| len(format!("hiv{f:05}.pic"))) {
                    Ok(p) => println!(
                        "  {}: {} pictures ({:?} index), {} skipped",
                        dir.display(),
                        p.pictures.len(),
                        p.variant,
                        p.skipped
                    ),
                    Err(e) => println!("  {}: index00p.bin: {e}", dir.display()),
                }
            }
        }
    }
    ExitCode::SUCCESS
}
