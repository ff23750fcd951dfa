//! `nvr demo`: the README's first command records the built-in camera and serves /status.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn demo_records_the_built_in_camera_and_serves_status() {
    let dir = TempDir::new("demo");
    let rec = dir.path().join("nvr-demo");
    let log = dir.path().join("demo.log");
    let mut child = Command::new(NVR)
        .args(["demo", "--dir"])
        .arg(&rec)
        .args(["--listen", "127.0.0.1:0"])
        .stderr(std::fs::File::create(&log).unwrap())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    let addr = wait_for(Duration::from_secs(30), || {
        text()
            .lines()
            .find_map(|l| l.split("serving /status on http://").nth(1))
            .map(|a| a.trim().to_string())
    })
    .unwrap_or_else(|| panic!("no HTTP:\n{}", text()));
    // The demo's segments are 10 s: wait for the first one to close.
    let status = wait_for(Duration::from_secs(60), || {
        let (_, body) = http_get(&addr, "/status");
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        (v["cameras"][0]["segments_written"].as_u64()? >= 1).then_some(v)
    })
    .unwrap_or_else(|| panic!("demo wrote no segment:\n{}", text()));
    assert_eq!(status["cameras"][0]["name"], "demo");
    assert_eq!(status["cameras"][0]["audio"], "aac");
    // Motion detection is on, and the moving ball is motion.
    assert_eq!(
        status["cameras"][0]["motion"]["source"], "stream",
        "{status}"
    );
    wait_for(Duration::from_secs(30), || {
        let (_, body) = http_get(&addr, "/status");
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["cameras"][0]["motion"]["current_event"].as_u64()
    })
    .unwrap_or_else(|| panic!("the demo saw no motion:\n{}", text()));
    // The demo needs no login (it shows only its test pattern), and says so.
    let (head, me) = http_get(&addr, "/api/session");
    assert!(head.contains(" 200 "), "{head}");
    assert!(me.contains("\"auth\": \"off\""), "{me}");
    let (head, _) = http_get(&addr, "/api/cameras");
    assert!(head.contains(" 200 "), "{head}");
    assert!(
        text().contains("auth = \"off\": anyone who can reach"),
        "{}",
        text()
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
    let files = segments(&rec, "demo");
    assert!(!files.is_empty());
    for f in files {
        let m = discover(&f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((m.width, m.height, m.audio_streams), (640, 360, 1));
    }
}
