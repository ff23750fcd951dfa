//! Logging to stderr with `log` + `simple_logger`. Under systemd (JOURNAL_STREAM set) lines
//! carry no timestamp or colour: journald adds its own. `RUST_LOG` beats the config's level.
//!
//! Every line emitted is counted ([`bytes_written`]): under systemd it ends up in the journal
//! on the same SD card, so it belongs in the flash-wear figures.

use log::LevelFilter;
use std::sync::atomic::{AtomicU64, Ordering};

static BYTES: AtomicU64 = AtomicU64::new(0);

/// Bytes of log lines emitted since start (message, level and module; timestamps excluded).
pub fn bytes_written() -> u64 {
    BYTES.load(Ordering::Relaxed)
}

/// `simple_logger`, counting what it writes.
struct Counting(simple_logger::SimpleLogger);

/// Counts formatted bytes without allocating.
struct Len(usize);

impl std::fmt::Write for Len {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

impl log::Log for Counting {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        self.0.enabled(metadata)
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let mut len = Len(0);
            let _ = std::fmt::write(&mut len, *record.args());
            // "WARN  [module] message\n"
            let n = len.0 + record.target().len() + 10;
            BYTES.fetch_add(n as u64, Ordering::Relaxed);
        }
        self.0.log(record)
    }

    fn flush(&self) {
        self.0.flush()
    }
}

pub fn init() {
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let mut logger = simple_logger::SimpleLogger::new()
        .with_level(LevelFilter::Trace)
        .with_colors(!journald && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // GStreamer's own debug output is GST_DEBUG's business; keep glib chatter out.
        .with_module_level("glib", LevelFilter::Warn);
    logger = if journald {
        logger.without_timestamps()
    } else {
        logger.with_utc_timestamps()
    };
    if log::set_boxed_logger(Box::new(Counting(logger))).is_ok() {
        set_level(None);
    }
}

/// Applies the configured level unless `RUST_LOG` names one.
pub fn set_level(configured: Option<LevelFilter>) {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok());
    log::set_max_level(from_env.or(configured).unwrap_or(LevelFilter::Info));
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_are_counted() {
        super::init();
        let before = super::bytes_written();
        log::warn!("{}", "x".repeat(100));
        assert!(super::bytes_written() >= before + 100);
    }
}
