//! Unix signals as messages: SIGTERM/SIGINT stop, SIGHUP reloads the configuration.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use smol::channel::Receiver;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Stop,
    Reload,
}

/// Installs the handlers and forwards signals from a small thread. Long-lived.
pub fn listen() -> std::io::Result<Receiver<Signal>> {
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    let (tx, rx) = smol::channel::bounded(8);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                let s = if sig == SIGHUP {
                    Signal::Reload
                } else {
                    Signal::Stop
                };
                if tx.send_blocking(s).is_err() {
                    break;
                }
            }
        })?;
    Ok(rx)
}
