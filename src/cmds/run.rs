//! `nvr run [--config PATH]`: record every configured camera until SIGTERM/SIGINT.
//!
//! The config file is re-read on SIGHUP and when it changes on disk (checked every 2 s with
//! one `stat`). A bad new config is rejected with the same messages as `nvr check` and the
//! running one stays in force.

use crate::config::Config;
use crate::runtime::Runtime;
use crate::runtime::signals::{self, Signal};
use crate::runtime::systemd::{self, Notifier};
use crate::time::{Clock, RealClock};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const WATCH_PERIOD: Duration = Duration::from_secs(2);

pub fn main(config_path: &Path) -> ExitCode {
    let config = match super::load_config(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    crate::logging::set_level(config.log_level);
    log::info!("configuration: {}", config_path.display());
    if config.cameras.is_empty() && config.hikvision.is_none() {
        log::warn!("{}", super::nothing_configured(config_path));
    }
    serve(config, Some(config_path.to_path_buf()), |_| {})
}

/// Runs the recorder until a stop signal. `watch`: the file to reload from.
/// `on_ready` is called once cameras and HTTP are up (demo prints its banner there).
pub fn serve(config: Config, watch: Option<PathBuf>, on_ready: impl FnOnce(&Runtime)) -> ExitCode {
    if let Err(e) = gst::init() {
        log::error!("cannot initialize GStreamer: {e}");
        return ExitCode::FAILURE;
    }
    let signals = match signals::listen() {
        Ok(s) => s,
        Err(e) => {
            log::error!("cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    smol::block_on(async {
        let mut rt = match Runtime::start(config) {
            Ok(rt) => rt,
            Err(e) => {
                log::error!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let notifier = Notifier::from_env();
        // READY once every supervisor has built its pipeline and beaten once (bounded).
        for _ in 0..150 {
            if rt.heartbeats().iter().all(|&b| b != 0) {
                break;
            }
            smol::Timer::after(Duration::from_millis(100)).await;
        }
        notifier.notify(&format!("READY=1\nSTATUS={}", rt.summary()));
        on_ready(&rt);
        let clock = RealClock;
        let period = notifier
            .watchdog_every
            .map_or(WATCH_PERIOD, |w| w.min(WATCH_PERIOD));
        let mut last_feed = clock.now();
        let mut stamp = watch.as_deref().and_then(file_stamp);
        let mut steps = crate::time::StepDetector::new(Duration::from_secs(2));
        loop {
            let signal = smol::future::or(async { signals.recv().await.ok() }, async {
                smol::Timer::after(period).await;
                None
            })
            .await;
            if let Some(step) = steps.observe(&clock) {
                rt.board().clock_stepped(clock.wall_ns(), step);
            }
            if let Some(every) = notifier.watchdog_every
                && clock.now() - last_feed >= every.saturating_sub(period)
            {
                if systemd::all_alive(&rt.heartbeats(), clock.now()) {
                    notifier.notify(&format!("WATCHDOG=1\nSTATUS={}", rt.summary()));
                    last_feed = clock.now();
                } else {
                    log::error!("a camera supervisor is stuck; not feeding the systemd watchdog");
                }
            }
            let Some(path) = watch.as_deref() else {
                if signal == Some(Signal::Stop) {
                    break;
                }
                continue;
            };
            match signal {
                Some(Signal::Stop) => break,
                Some(Signal::Reload) => {
                    log::info!("SIGHUP: reloading {}", path.display());
                    stamp = file_stamp(path);
                    reload(&mut rt, path).await;
                }
                None => {
                    let now = file_stamp(path);
                    if now.is_some() && now != stamp {
                        stamp = now;
                        log::info!("{} changed: reloading", path.display());
                        reload(&mut rt, path).await;
                    }
                }
            }
        }
        log::info!("stopping: finalizing open segments");
        notifier.notify("STOPPING=1");
        rt.shutdown().await;
        log::info!("stopped");
        ExitCode::SUCCESS
    })
}

async fn reload(rt: &mut Runtime, path: &Path) {
    match Config::load(path).and_then(|c| c.check_environment().map(|()| c)) {
        Ok(new) => {
            crate::logging::set_level(new.log_level);
            rt.apply(new).await;
        }
        Err(errors) => {
            for e in &errors {
                log::error!("{e}");
            }
            log::error!("new configuration rejected; the running one stays in force");
        }
    }
}

/// What changes when the file is edited or replaced: (mtime, size, inode).
fn file_stamp(path: &Path) -> Option<(std::time::SystemTime, u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}
