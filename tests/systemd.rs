//! `Type=notify` and `WatchdogSec=`: the test plays systemd, with a real notify socket.

mod common;
use common::*;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

fn next(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).expect("no notification from nvr");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn ready_after_start_watchdog_fed_while_healthy_stopping_on_sigterm() {
    let dir = TempDir::new("systemd");
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let cam = Camera::start(&[]);
    // An offline camera must not stop the feeding: it is merely retrying.
    let cfg = config(
        &dir.path().join("rec"),
        2,
        &(camera_table("ok", &cam.url, "") + &camera_table("gone", "rtsp://127.0.0.1:1/x", "")),
    );
    std::fs::write(dir.path().join("nvr.toml"), cfg).unwrap();
    let mut nvr = Nvr::start_env(
        dir.path(),
        &dir.path().join("nvr.toml"),
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "2000000"),
        ],
    );
    let ready = next(&sock);
    assert!(ready.starts_with("READY=1\nSTATUS="), "{ready}");
    // A 2 s watchdog is fed about every second, for as long as nvr is healthy.
    let mut feeds = 0;
    while feeds < 5 {
        let msg = next(&sock);
        assert!(msg.starts_with("WATCHDOG=1"), "{msg}");
        feeds += 1;
    }
    assert_eq!(nvr.camera("gone").unwrap()["state"], "retrying");
    nvr.stop();
    let mut last = String::new();
    while let Ok(msg) = {
        sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 512];
        sock.recv(&mut buf)
            .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
    } {
        last = msg;
    }
    assert_eq!(last, "STOPPING=1");
}
