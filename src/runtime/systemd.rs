//! systemd's notify protocol (`Type=notify`, `WatchdogSec=`), spoken directly: one datagram
//! per notification to `$NOTIFY_SOCKET`. Outside systemd every call is a no-op.
//!
//! The watchdog is fed only while nvr itself is healthy: the runtime loop runs and every
//! camera supervisor has shown a heartbeat recently. A camera that is merely offline or
//! misconfigured keeps beating while it waits to retry, so it never gets nvr restarted; a
//! supervisor stuck in a hung GStreamer state change stops beating, and systemd restarts nvr.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// A supervisor silent for this long is considered stuck.
pub const STUCK_AFTER: Duration = Duration::from_secs(20);

pub struct Notifier {
    socket: Option<(UnixDatagram, std::os::unix::net::SocketAddr)>,
    /// How often to feed the watchdog (half of `WatchdogSec`), if it is on for us.
    pub watchdog_every: Option<Duration>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` as systemd sets them.
    pub fn from_env() -> Notifier {
        let socket = std::env::var_os("NOTIFY_SOCKET").and_then(|path| {
            let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
            let addr = match bytes.strip_prefix(b"@") {
                Some(name) => {
                    <std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(name)
                }
                None => std::os::unix::net::SocketAddr::from_pathname(&path),
            }
            .ok()?;
            Some((UnixDatagram::unbound().ok()?, addr))
        });
        let for_us = std::env::var("WATCHDOG_PID")
            .ok()
            .and_then(|p| p.parse::<u32>().ok())
            .is_none_or(|p| p == std::process::id());
        let watchdog_every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.parse::<u64>().ok())
            .filter(|&u| u > 0 && for_us)
            .map(|u| Duration::from_micros(u / 2));
        Notifier {
            socket,
            watchdog_every,
        }
    }

    /// Sends `KEY=VALUE` lines, e.g. `READY=1\nSTATUS=…`. Errors are logged, never fatal.
    pub fn notify(&self, state: &str) {
        if let Some((sock, addr)) = &self.socket
            && let Err(e) = sock.send_to_addr(state.as_bytes(), addr)
        {
            log::warn!("systemd notify failed: {e}");
        }
    }
}

/// True if every heartbeat (monotonic ns; 0 = not yet) is younger than [`STUCK_AFTER`].
/// A supervisor that has not beaten yet counts as alive: it is still starting.
pub fn all_alive(beats: &[u64], now: Duration) -> bool {
    beats
        .iter()
        .all(|&b| b == 0 || now.saturating_sub(Duration::from_nanos(b)) < STUCK_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_stuck_supervisor_stops_the_feeding() {
        let now = Duration::from_secs(100);
        let fresh = (now - Duration::from_secs(1)).as_nanos() as u64;
        let stale = (now - STUCK_AFTER - Duration::from_millis(1)).as_nanos() as u64;
        assert!(all_alive(&[fresh, fresh, 0], now));
        assert!(!all_alive(&[fresh, stale], now));
        assert!(all_alive(&[], now));
    }

    #[test]
    fn notifications_reach_the_socket() {
        let dir = std::env::temp_dir().join(format!("nvr-notify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        let n = Notifier {
            socket: Some((
                UnixDatagram::unbound().unwrap(),
                std::os::unix::net::SocketAddr::from_pathname(&path).unwrap(),
            )),
            watchdog_every: None,
        };
        n.notify("READY=1\nSTATUS=ok");
        let mut buf = [0u8; 64];
        let len = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1\nSTATUS=ok");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
