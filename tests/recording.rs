//! Recording end to end: real RTSP cameras (gst-rtsp-server in `nvr testcam` processes),
//! `nvr run` as a user runs it, files checked by GStreamer's demuxers.

mod common;
use common::*;
use std::time::{Duration, Instant};

const SEGMENT: u32 = 2;

/// Segments of one camera: well named, playable, of the camera's codec, and contiguous
/// (each starts where the previous ended, to the second of its name).
fn check_contiguous_recording(storage: &std::path::Path, cam: &str, caps: &str) -> Duration {
    let files = segments(storage, cam);
    assert!(files.len() >= 3, "{cam}: too few segments: {files:?}");
    let mut total = Duration::ZERO;
    let mut prev_end: Option<f64> = None;
    for f in &files {
        assert!(well_named(f), "bad name {}", f.display());
        let m = discover(f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.video, caps, "{}", f.display());
        assert!(m.duration > Duration::ZERO, "{} is empty", f.display());
        // Split on keyframes near the segment length, never far beyond it.
        assert!(
            m.duration.as_secs_f64() <= f64::from(SEGMENT) + 0.6,
            "{} lasts {:?}",
            f.display(),
            m.duration
        );
        let start = f64::from(name_seconds(f));
        if let Some(end) = prev_end {
            // Names have one-second resolution: a gap would show as > 1 s.
            assert!(
                (start - end).abs() <= 1.0,
                "{cam}: gap or overlap before {}: previous ended at {end}, this starts at {start}",
                f.display()
            );
        }
        prev_end = Some(start + m.duration.as_secs_f64());
        total += m.duration;
    }
    total
}

#[test]
fn h264_and_h265_cameras_record_concurrently_into_playable_segments() {
    let dir = TempDir::new("two-cameras");
    let storage = dir.path().join("rec");
    let secret = "pw-7f3a-never-shown";
    let h264 = Camera::start(&["--codec", "h264", "--user", "viewer", "--password", secret]);
    let h265 = Camera::start(&["--codec", "h265"]);
    let cfg = config(
        &storage,
        SEGMENT,
        &(camera_table(
            "door",
            &h264.url,
            &format!("username = \"viewer\"\npassword = \"{secret}\""),
        ) + &camera_table("yard", &h265.url, "")),
    );
    let mut nvr = Nvr::start(dir.path(), &cfg);
    nvr.wait_state("door", "recording", Duration::from_secs(30));
    nvr.wait_state("yard", "recording", Duration::from_secs(30));
    let started = Instant::now();
    nvr.wait_segments("door", 4, Duration::from_secs(40));
    nvr.wait_segments("yard", 4, Duration::from_secs(40));

    // /status while recording: shape, codec, resolution, content type, no password.
    let (head, body) = http_get(nvr.addr(), "/status");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(status["version"].is_string() && status["uptime_s"].is_u64());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(status["hostname"], host.trim());
    assert!(status["storage"]["free_bytes"].as_u64().unwrap() > 0);
    assert!(status["storage"]["bytes_used"].as_u64().unwrap() > 0);
    let door = nvr.camera("door").unwrap();
    assert_eq!(door["codec"], "h264");
    assert_eq!(door["width"], 320);
    assert_eq!(nvr.camera("yard").unwrap()["codec"], "h265");
    assert!(door["bitrate_bps"].as_u64().unwrap() > 0);
    assert!(
        door["last_segment"]["path"]
            .as_str()
            .unwrap()
            .ends_with(".mp4")
    );
    assert!(!body.contains(secret));

    let (took, code) = nvr.stop();
    let recorded = started.elapsed();
    assert!(code.success(), "nvr exited with {code}");
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?}");
    assert!(!nvr.log_text().contains(secret), "password in the log");

    for (cam, caps) in [("door", "video/x-h264"), ("yard", "video/x-h265")] {
        let total = check_contiguous_recording(&storage, cam, caps);
        // Everything between the first frame and the stop is on disk (the first segments
        // began before `started`, so the total is at least the measured span, minus one GOP).
        assert!(
            total + Duration::from_secs(1) >= recorded,
            "{cam}: {total:?} recorded in {recorded:?}"
        );
    }
    // H.265 goes into MP4 as hvc1 (parameter sets in the sample entry), which players expect.
    let yard = segments(&storage, "yard");
    assert!(discover(&yard[0]).unwrap().video_caps.contains("hvc1"));
}

#[test]
fn aac_audio_is_kept_and_g711_dropped_with_one_log_line() {
    let dir = TempDir::new("audio");
    let storage = dir.path().join("rec");
    let aac = Camera::start(&["--audio", "aac"]);
    let pcma = Camera::start(&["--audio", "pcma"]);
    let cfg = config(
        &storage,
        SEGMENT,
        &(camera_table("aac", &aac.url, "") + &camera_table("alaw", &pcma.url, "")),
    );
    let mut nvr = Nvr::start(dir.path(), &cfg);
    nvr.wait_segments("aac", 2, Duration::from_secs(40));
    nvr.wait_segments("alaw", 2, Duration::from_secs(40));
    assert_eq!(nvr.camera("aac").unwrap()["audio"], "aac");
    assert_eq!(nvr.camera("alaw").unwrap()["audio"], "dropped:PCMA");
    nvr.stop();
    for f in segments(&storage, "aac") {
        assert_eq!(discover(&f).unwrap().audio_streams, 1, "{}", f.display());
    }
    for f in segments(&storage, "alaw") {
        let m = discover(&f).unwrap();
        assert_eq!(m.audio_streams, 0, "{}", f.display());
        assert!(m.duration > Duration::ZERO);
    }
    let log = nvr.log_text();
    assert_eq!(
        log.matches("PCMA cannot be stored in MP4").count(),
        1,
        "{log}"
    );
}

#[test]
fn camera_outage_goes_retrying_then_recording_again_without_damage() {
    let dir = TempDir::new("outage");
    let storage = dir.path().join("rec");
    let cam = Camera::start(&[]);
    let port = cam.port;
    let url = cam.url.clone();
    let cfg = config(&storage, SEGMENT, &camera_table("gate", &url, ""));
    let mut nvr = Nvr::start(dir.path(), &cfg);
    nvr.wait_segments("gate", 2, Duration::from_secs(40));

    cam.kill();
    let retrying = nvr.wait_state("gate", "retrying", Duration::from_secs(30));
    assert!(retrying["reason"].as_str().is_some_and(|r| !r.is_empty()));
    let before: Vec<_> = segments(&storage, "gate");
    std::thread::sleep(Duration::from_secs(2));

    let _cam = Camera::start_on(port, &[]);
    let back = Instant::now();
    let recording = nvr.wait_state("gate", "recording", Duration::from_secs(30));
    eprintln!(
        "recording again {:?} after the camera came back",
        back.elapsed()
    );
    assert!(
        back.elapsed() < Duration::from_secs(5),
        "recording resumed {:?} after the camera came back",
        back.elapsed()
    );
    assert!(recording["reconnects"].as_u64().unwrap() >= 1);
    assert!(recording["last_error"].is_string());
    let written = recording["segments_written"].as_u64().unwrap();
    nvr.wait_segments("gate", written + 1, Duration::from_secs(30));
    nvr.stop();

    for f in &before {
        let m = discover(f).unwrap_or_else(|e| panic!("segment from before the outage: {e}"));
        assert!(m.duration > Duration::ZERO);
    }
    let after = segments(&storage, "gate");
    assert!(after.len() > before.len());
    for f in &after {
        discover(f).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_hung_camera_is_detected_as_stalled_and_recovered() {
    let dir = TempDir::new("stall");
    let storage = dir.path().join("rec");
    let cam = Camera::start(&[]);
    let cfg = config(
        &storage,
        SEGMENT,
        &camera_table("attic", &cam.url, "stall_seconds = 3"),
    );
    let nvr = Nvr::start(dir.path(), &cfg);
    nvr.wait_segments("attic", 1, Duration::from_secs(40));

    // TCP stays open, nothing arrives: no EOS, no error; only the watchdog can tell.
    cam.freeze();
    let retrying = nvr.wait_state("attic", "retrying", Duration::from_secs(30));
    cam.resume();
    assert!(
        retrying["reason"].as_str().unwrap().contains("stalled"),
        "{retrying}"
    );
    let back = nvr.wait_state("attic", "recording", Duration::from_secs(60));
    let written = back["segments_written"].as_u64().unwrap();
    nvr.wait_segments("attic", written + 1, Duration::from_secs(30));
    for f in segments(&storage, "attic") {
        discover(&f).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn kill_9_leaves_every_file_playable_and_the_next_start_continues() {
    let dir = TempDir::new("kill9");
    let storage = dir.path().join("rec");
    // 10 fps with a keyframe every 10 frames: a 1 s GOP.
    let cam = Camera::start(&["--fps", "10", "--gop", "10"]);
    let cfg = config(&storage, 4, &camera_table("shed", &cam.url, ""));
    let mut nvr = Nvr::start(dir.path(), &cfg);
    nvr.wait_segments("shed", 1, Duration::from_secs(40));
    // Kill in the middle of the second segment.
    let open = wait_for(Duration::from_secs(20), || {
        nvr.camera("shed")
            .and_then(|c| c["current_segment"].as_str().map(String::from))
    })
    .expect("an open segment");
    let opened = Instant::now();
    std::thread::sleep(Duration::from_millis(2600));
    let alive = opened.elapsed();
    nvr.kill9();

    let files = segments(&storage, "shed");
    assert!(
        files.iter().any(|f| f.to_str() == Some(open.as_str())),
        "{files:?}"
    );
    for f in &files {
        let m = discover(f).unwrap_or_else(|e| panic!("unplayable after kill -9: {e}"));
        assert!(m.duration > Duration::ZERO, "{}", f.display());
    }
    // The file open at the kill holds all but the GOP in flight and the last index period.
    let cut = discover(std::path::Path::new(&open)).unwrap().duration;
    eprintln!("kill -9 after {alive:?} in {open}: {cut:?} survived, files {files:?}");
    assert!(
        cut + Duration::from_millis(3500) >= alive,
        "killed after {alive:?} in the segment, but only {cut:?} survived"
    );
    assert!(count_frames(std::path::Path::new(&open)) > 0);

    // The next start recovers and continues recording.
    let nvr2 = Nvr::start_with(dir.path(), &nvr.config);
    nvr2.wait_segments("shed", 1, Duration::from_secs(40));
    drop(nvr2);
    let after = segments(&storage, "shed");
    assert!(after.len() > files.len());
    for f in &after[..after.len() - 1] {
        discover(f).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn wrong_credentials_fail_clearly_without_a_reconnect_storm() {
    let dir = TempDir::new("auth");
    let storage = dir.path().join("rec");
    let cam = Camera::start(&["--user", "admin", "--password", "right-one"]);
    let wrong = "wrong-pw-9d1c";
    let cfg = config(
        &storage,
        SEGMENT,
        &camera_table(
            "porch",
            &cam.url
                .replace("rtsp://", &format!("rtsp://admin:{wrong}@")),
            "",
        ),
    );
    let nvr = Nvr::start(dir.path(), &cfg);
    let failed = nvr.wait_state("porch", "failed", Duration::from_secs(30));
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("authentication failed"),
        "{failed}"
    );
    let connections = cam.clients();
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        cam.clients(),
        connections,
        "nvr kept reconnecting with a bad password"
    );
    assert_eq!(nvr.camera("porch").unwrap()["state"], "failed");
    let status = nvr.status().to_string();
    assert!(!status.contains(wrong), "password in /status: {status}");
    assert!(!nvr.log_text().contains(wrong), "password in the log");
    assert!(segments(&storage, "porch").is_empty());
}
