//! Logging to stderr with `log` + `simple_logger`. Under systemd (JOURNAL_STREAM set) lines
//! carry no timestamp or colour: journald adds its own. `RUST_LOG` beats the config's level.

use log::LevelFilter;

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
    let _ = logger.init();
    set_level(None);
}

/// Applies the configured level unless `RUST_LOG` names one.
pub fn set_level(configured: Option<LevelFilter>) {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok());
    log::set_max_level(from_env.or(configured).unwrap_or(LevelFilter::Info));
}
