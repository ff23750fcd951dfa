//! Bad configurations: `nvr check` and `nvr run` exit 2 with `file:line: key: message`,
//! never a panic, and start nothing.

mod common;
use common::*;
use std::process::Command;

/// Runs `nvr <cmd> --config <file>` on `text`; returns (exit code, stderr).
fn run(dir: &std::path::Path, cmd: &str, text: &str) -> (i32, String) {
    let file = dir.join("nvr.toml");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(NVR)
        .args([cmd, "--config"])
        .arg(&file)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn each_bad_config_exits_2_naming_file_line_and_key() {
    let dir = TempDir::new("bad-configs");
    let ok_cam = "[[camera]]\nname = \"a\"\nurl = \"rtsp://127.0.0.1:1/x\"\n";
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{ok_cam}[[camera]]\nname = \"front door\"\nurl = \"rtsp://h/x\"\n"),
            ":5: camera[1].name: \"front door\" may only contain a-z 0-9 - _",
        ),
        (
            format!("{ok_cam}[[camera]]\nname = \"a\"\nurl = \"rtsp://h/x\"\n"),
            ":5: camera[1].name: \"a\" is already used by camera[0] (line 2)",
        ),
        (
            format!("{ok_cam}colour = \"red\"\n"),
            ":4: camera[0].colour: unknown field \"colour\"",
        ),
        (
            "[[camera]]\nname = \"b\"\n".to_string(),
            ":1: camera[0].url: missing",
        ),
        (
            format!("[http]\nlisten = \"everywhere\"\n{ok_cam}"),
            ":2: http.listen: \"everywhere\" is not an address:port",
        ),
        (
            // Below a regular file: no one, not even root, can create it.
            format!("[storage]\npath = \"/etc/hostname/rec\"\n{ok_cam}"),
            ":2: storage.path: cannot record to /etc/hostname/rec",
        ),
        (
            format!("[storage]\nsegment_seconds = 0\n{ok_cam}"),
            ":2: storage.segment_seconds: 0 is out of range",
        ),
        (
            "[[camera]]\nname = \"c\"\nurl = \"http://user:hunter2@cam/x\"\n".to_string(),
            ":3: camera[0].url: \"http://user:***@cam/x\": scheme must be rtsp:// or rtsps://",
        ),
    ];
    for (text, want) in cases {
        for cmd in ["check", "run"] {
            let (code, err) = run(dir.path(), cmd, &text);
            assert_eq!(code, 2, "nvr {cmd} on\n{text}\nsaid: {err}");
            assert!(
                err.contains(&format!("nvr.toml{want}")),
                "nvr {cmd}: expected {want:?} in:\n{err}"
            );
            assert!(
                !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
                "{err}"
            );
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
    // Nothing was created: the default storage path is not this test's to touch, and the
    // configs above never name another.
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only nvr.toml"
    );
}

#[test]
fn check_accepts_a_good_config_and_a_positional_path() {
    let dir = TempDir::new("good-config");
    let file = dir.path().join("nvr.toml");
    let cameras = camera_table("a", "rtsp://h/x", "")
        + &camera_table("b", "rtsp://h/y", "motion = true")
        + &camera_table(
            "c",
            "rtsp://h/z",
            "motion = true\nsub_url = \"rtsp://h/z2\"",
        );
    std::fs::write(&file, config(&dir.path().join("rec"), 60, &cameras)).unwrap();
    let out = Command::new(NVR).arg("check").arg(&file).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("OK: 3 cameras (a, b, c)"), "{said}");
    // This machine has no V4L2 decoder: software decoding, and check says so.
    assert!(
        said.contains(
            "camera b: motion detection on the recorded stream; decoder for H.264 avdec_h264 \
             (software)"
        ),
        "{said}"
    );
    assert!(
        said.contains("camera c: motion detection on its substream rtsp://h/z2;"),
        "{said}"
    );
}

#[test]
fn missing_config_file_is_a_clear_error() {
    let out = Command::new(NVR)
        .args(["run", "--config", "/nonexistent/nvr.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/nvr.toml: cannot read configuration"),
        "{err}"
    );
}
