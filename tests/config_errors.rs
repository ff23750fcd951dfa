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

/// Every error path that sees a camera URL or password must keep the password out: a
/// `%` before a non-ASCII character used to panic (and print it), a URL without a scheme,
/// a `/` in the password and a number where a string belongs used to echo it.
#[test]
fn config_errors_never_show_a_password_and_never_panic() {
    let dir = TempDir::new("secret-configs");
    let cam = |url: &str, extra: &str| format!("[[camera]]\nname = \"a\"\nurl = {url:?}\n{extra}");
    let cases: Vec<(String, &str, &str)> = vec![
        (
            cam("rtsp://admin:s3cr%1ü@host/cam", ""),
            ":3: camera[0].url: ",
            "s3cr",
        ),
        (
            cam("rtsp://admin:s3cr%@host/cam", ""),
            ":3: camera[0].url: ",
            "s3cr",
        ),
        (
            cam("rtsp://admin:s3cr%zz@host/cam", ""),
            "two hex digits",
            "s3cr",
        ),
        (
            cam("rtsp://admin:s3crab%4@host/cam", ""),
            "two hex digits",
            "s3crab",
        ),
        (
            cam("admin:s3cr3t@192.168.1.64/cam", ""),
            ":3: camera[0].url: \"admin:***@192.168.1.64/cam\" is not a URL",
            "s3cr3t",
        ),
        (
            cam("rtsp://admin:Pa$$s3cr/x@host/cam", ""),
            ":3: camera[0].url: \"rtsp://admin:***@host/cam\": a '/' before the '@'",
            "Pa$$s3cr",
        ),
        (
            cam("rtsp://host/cam", "password = 99119911\n"),
            ":4: camera[0].password: invalid type: integer ***, expected a string",
            "99119911",
        ),
        (
            cam("rtsp://host/cam", "sub_url = \"rtsp://u:s3cr%G1@h/sub\"\n"),
            ":4: camera[0].sub_url: ",
            "s3cr",
        ),
    ];
    for (text, want, secret) in cases {
        for cmd in ["check", "run"] {
            let (code, err) = run(dir.path(), cmd, &text);
            assert_eq!(code, 2, "nvr {cmd} on\n{text}\nsaid: {err}");
            assert!(
                err.contains(want),
                "nvr {cmd}: expected {want:?} in:\n{err}"
            );
            assert!(!err.contains(secret), "nvr {cmd}: password shown:\n{err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

/// Values the checks used to accept, or report under the wrong name, or echo whole.
#[test]
fn config_checks_agree_with_what_run_can_do() {
    let dir = TempDir::new("odd-configs");
    let ok_cam = "[[camera]]\nname = \"a\"\nurl = \"rtsp://127.0.0.1:1/x\"\n";
    let long_name = "x".repeat(10 << 20);
    let cases: Vec<(String, &str)> = vec![
        (
            "[[camera]]\nname = \"a\"\nurl = \"rtsp://cam:0/x\"\n".to_string(),
            ":3: camera[0].url: \"rtsp://cam:0/x\": port \"0\" is not a number 1-65535",
        ),
        (
            format!("[retention]\nmax_bytes = \"99999999999999999999999T\"\n{ok_cam}"),
            ":2: retention.max_bytes: ",
        ),
        (
            format!("[storage]\npath = \"/proc/nvr-rec\"\n{ok_cam}"),
            ":2: storage.path: cannot record to /proc/nvr-rec",
        ),
        (
            format!("[storag]\npath = \"/tmp/x\"\n{ok_cam}"),
            ":1: storag: unknown field \"storag\"",
        ),
        (
            format!("[[camera]]\nname = \"{long_name}\"\nurl = \"rtsp://h/x\"\n"),
            ":2: camera[0].name: \"xxxxxxxxxx",
        ),
    ];
    for (text, want) in cases {
        for cmd in ["check", "run"] {
            let (code, err) = run(dir.path(), cmd, &text);
            assert_eq!(code, 2, "nvr {cmd} said: {}", &err[..err.len().min(2000)]);
            assert!(
                err.contains(want),
                "nvr {cmd}: expected {want:?} in:\n{}",
                &err[..err.len().min(2000)]
            );
            assert!(err.len() < 2000, "nvr {cmd}: {} bytes of error", err.len());
        }
    }
    assert!(!std::path::Path::new("/proc/nvr-rec").exists());
}

/// An empty file is a valid configuration (nothing to record yet), but nvr says so.
#[test]
fn an_empty_config_is_accepted_and_said_to_be_empty() {
    let dir = TempDir::new("empty-config");
    let file = dir.path().join("nvr.toml");
    std::fs::write(&file, "").unwrap();
    let out = Command::new(NVR).arg("check").arg(&file).output().unwrap();
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("no camera is configured"), "{said}");
    // `run`: the same, in the log, naming the file it read.
    let cfg = format!(
        "[storage]\npath = {:?}\n[http]\nlisten = \"127.0.0.1:0\"\n",
        dir.path().join("rec").display().to_string()
    );
    let nvr = Nvr::start(dir.path(), &cfg);
    let line = wait_for(std::time::Duration::from_secs(10), || {
        nvr.log_text()
            .lines()
            .find(|l| l.contains("no camera is configured"))
            .map(String::from)
    })
    .expect("no warning about an empty config");
    assert!(line.contains(&nvr.config.display().to_string()), "{line}");
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
