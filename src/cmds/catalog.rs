//! `nvr catalog [--config PATH]`: what is recorded, per camera, and what retention would do
//! now. Read-only: safe beside a running `nvr run`. Also prints how long loading took, the
//! figure the catalog benchmark (`bench/catalog.sh`) measures.

use crate::storage::catalog::Catalog;
use crate::storage::retention::{self, Situation};
use crate::time::{rfc3339_utc_ns, unix_now_ns};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

pub fn main(config_path: &Path) -> ExitCode {
    let config = match crate::config::Config::load(config_path) {
        Ok(c) => c,
        Err(errors) => {
            super::print_errors(&errors);
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let root = &config.storage.path;
    let t = Instant::now();
    let catalog =
        match Catalog::open_readonly(root, crate::hikvision::sync::imported_cameras_of(&config)) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("nvr catalog: cannot read {}: {e}", root.display());
                return ExitCode::FAILURE;
            }
        };
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;
    for camera in catalog.cameras() {
        let segs: Vec<_> = catalog.segments(camera).collect();
        let bytes: u64 = segs.iter().map(|s| s.bytes).sum();
        println!(
            "{camera}: {} segments, {} MiB, {} .. {}",
            segs.len(),
            bytes >> 20,
            segs.first()
                .map(|s| rfc3339_utc_ns(s.start_ns))
                .unwrap_or_default(),
            segs.last()
                .map(|s| rfc3339_utc_ns(s.end_ns()))
                .unwrap_or_default()
        );
    }
    let t = Instant::now();
    let none = Default::default();
    let now_ns = unix_now_ns();
    let log = crate::motion::events::EventLog::open(root, None);
    let events = retention::mode_events(&config.retention, &log, &none);
    let needed = |cam: &str, seg: &crate::storage::catalog::Segment| {
        retention::needed_by_mode(&config.retention, &events, now_ns, cam, seg)
    };
    let plan = retention::plan(
        &catalog.view(),
        &config.retention,
        &Situation {
            now_ns,
            free_bytes: crate::storage::free_bytes(root).unwrap_or(u64::MAX),
            in_flight: &none,
            needed: &needed,
        },
    );
    let plan_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "total: {} segments, {} MiB; loaded in {load_ms:.1} ms",
        catalog.len(),
        catalog.total_bytes() >> 20
    );
    println!(
        "retention now: {} segments to delete (planned in {plan_ms:.1} ms)",
        plan.len()
    );
    ExitCode::SUCCESS
}
