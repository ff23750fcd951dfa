//! The motion branch end to end: real RTSP cameras, `motion = true`, state in /status.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn motion_is_seen_on_a_moving_scene_and_not_on_a_still_one_while_recording_goes_on() {
    let dir = TempDir::new("motion");
    let storage = dir.path().join("rec");
    let moving = Camera::start(&["--pattern", "ball"]);
    let still = Camera::start(&["--pattern", "checkers-8"]);
    let cfg = config(
        &storage,
        2,
        // "avdec_h265" on an H.264 camera must fail its self-test: software takes over.
        &(camera_table(
            "drive",
            &moving.url,
            "motion = true\nmotion_decoder = \"avdec_h265\"",
        ) + &camera_table(
            "wall",
            &still.url,
            "motion = true\nmotion_fps = 4\nmotion_keyframes_only = true",
        )),
    );
    let nvr = Nvr::start(dir.path(), &cfg);
    let drive = wait_for(Duration::from_secs(40), || {
        nvr.camera("drive").filter(|c| {
            c["motion"]["events_today"].as_u64().unwrap_or(0) >= 1
                && c["motion"]["decoder"].is_string()
        })
    })
    .unwrap_or_else(|| {
        panic!(
            "no motion seen: {:?}\n{}",
            nvr.camera("drive"),
            nvr.log_text()
        )
    });
    assert_eq!(drive["motion"]["decoder"], "avdec_h264");
    assert_eq!(drive["motion"]["source"], "stream");
    assert!(
        drive["motion"]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("avdec_h265 failed its self-test")),
        "{drive}"
    );
    assert!(drive["motion"]["last_start"].is_string());
    // The still camera's detector runs (frames analysed), capped at its 4 fps, and sees nothing.
    let wall = wait_for(Duration::from_secs(30), || {
        nvr.camera("wall")
            .filter(|c| c["motion"]["detector_fps"].as_f64().unwrap_or(0.0) > 0.0)
    })
    .expect("the still camera's detector never ran");
    std::thread::sleep(Duration::from_secs(4));
    let wall_now = nvr.camera("wall").unwrap();
    // Keyframes only: one frame per GOP (the test camera sends one a second), not 4 fps.
    assert!(
        wall["motion"]["detector_fps"].as_f64().unwrap() <= 1.5,
        "{wall}"
    );
    assert_eq!(wall_now["motion"]["events_today"], 0, "{wall_now}");
    assert_eq!(wall_now["motion"]["active"], false);
    // The ball never stops, so the event lasts until the camera goes away.
    assert!(nvr.camera("drive").unwrap()["motion"]["current_event"].is_u64());
    nvr.wait_segments("drive", 2, Duration::from_secs(30));
    moving.kill();
    let ev = wait_for(Duration::from_secs(30), || {
        let (_, body) = http_get(nvr.addr(), "/api/events?camera=drive");
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["events"].as_array()?.first().cloned()
    })
    .unwrap_or_else(|| panic!("no closed event: {}", nvr.log_text()));
    // With the camera gone, nothing is "moving now".
    let drive = nvr.camera("drive").unwrap();
    assert_eq!(drive["motion"]["active"], false, "{drive}");
    assert!(drive["motion"]["current_event"].is_null(), "{drive}");
    assert!(
        ev["end_ns"].as_u64().unwrap() > ev["start_ns"].as_u64().unwrap(),
        "{ev}"
    );
    assert!(ev["peak_score"].as_f64().unwrap() > 0.0);
    assert!(!ev["boxes"].as_array().unwrap().is_empty(), "{ev}");
    // A JPEG of the peak frame, decodable at the camera's resolution.
    let url = ev["snapshot"].as_str().unwrap().to_string();
    let jpeg = wait_for(Duration::from_secs(30), || {
        let (head, body) = http_get_raw(nvr.addr(), &url);
        head.starts_with("HTTP/1.1 200").then_some(body)
    })
    .unwrap_or_else(|| panic!("no snapshot at {url}:\n{}", nvr.log_text()));
    let file = dir.path().join("snapshot.jpg");
    std::fs::write(&file, &jpeg).unwrap();
    let m = discover(&file).unwrap();
    assert_eq!(
        (m.video.as_str(), m.width, m.height),
        ("image/jpeg", 320, 240)
    );
    let flagged = |cam: &str| {
        let (_, body) = http_get(nvr.addr(), &format!("/api/cameras/{cam}/segments"));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let segs = v["segments"].as_array().unwrap().clone();
        (
            segs.iter().filter(|s| s["has_motion"] == true).count(),
            segs.len(),
        )
    };
    let (motion, total) = flagged("drive");
    assert!(
        motion >= 1,
        "no drive segment flagged with motion ({total} segments)"
    );
    // Recording is unaffected: both cameras write playable segments.
    nvr.wait_segments("drive", 2, Duration::from_secs(30));
    nvr.wait_segments("wall", 2, Duration::from_secs(30));
    assert_eq!(flagged("wall").0, 0, "a still scene flagged with motion");
    for cam in ["drive", "wall"] {
        for f in segments(&storage, cam) {
            assert!(discover(&f).unwrap().duration > Duration::ZERO);
        }
    }
}

/// With `sub_url`, the detector reads the camera's substream through a second RTSP session
/// (with its own credentials, never shown), and recording keeps the main stream.
#[test]
fn motion_reads_the_substream_when_the_camera_has_one() {
    let dir = TempDir::new("motion-sub");
    let storage = dir.path().join("rec");
    // The main stream is still and only the substream moves: motion can only come from it.
    let main = Camera::start(&["--pattern", "checkers-8", "--size", "480x272"]);
    let sub = Camera::start(&[
        "--pattern",
        "ball",
        "--size",
        "320x180",
        "--audio",
        "aac",
        "--user",
        "viewer",
        "--password",
        "sub-s3cret",
    ]);
    let sub_url = sub.url.replace("rtsp://", "rtsp://viewer:sub-s3cret@");
    let cfg = config(
        &storage,
        2,
        &camera_table(
            "gate",
            &main.url,
            &format!("motion = true\nsub_url = {sub_url:?}"),
        ),
    );
    let nvr = Nvr::start(dir.path(), &cfg);
    let gate = wait_for(Duration::from_secs(40), || {
        nvr.camera("gate")
            .filter(|c| c["motion"]["events_today"].as_u64().unwrap_or(0) >= 1)
    })
    .unwrap_or_else(|| panic!("no motion from the substream:\n{}", nvr.log_text()));
    assert_eq!(gate["motion"]["source"], "substream", "{gate}");
    assert_eq!(gate["motion"]["branch"], "running", "{gate}");
    assert_eq!(gate["motion"]["decoder"], "avdec_h264", "{gate}");
    assert!(sub.clients() >= 1);
    // Recording is the main stream, at its own resolution.
    nvr.wait_segments("gate", 2, Duration::from_secs(30));
    let gate = nvr.camera("gate").unwrap();
    assert_eq!(
        (gate["width"].as_i64(), gate["height"].as_i64()),
        (Some(480), Some(272))
    );
    let seg = &segments(&storage, "gate")[0];
    let m = discover(seg).unwrap();
    assert_eq!((m.width, m.height), (480, 272));
    let status = nvr.status().to_string();
    assert!(
        !status.contains("sub-s3cret"),
        "password in /status: {status}"
    );
    assert!(
        !nvr.log_text().contains("sub-s3cret"),
        "password in the log"
    );
}

/// The motion branch is a pipeline of its own: when it fails (here a motion.pipeline that
/// cannot negotiate, and a substream that does not answer) it restarts by itself and
/// recording goes on untouched.
#[test]
fn motion_branch_failures_never_touch_recording() {
    let dir = TempDir::new("motion-fail");
    let storage = dir.path().join("rec");
    let pipelines = dir.path().join("pipelines");
    std::fs::create_dir_all(&pipelines).unwrap();
    // nvrmotion takes GRAY8/I420/NV12, never RGB: this chain always fails to negotiate.
    std::fs::write(
        pipelines.join("motion.pipeline"),
        "queue ! {keyframes} {decoder} {decoder_props} ! videorate max-rate={fps} \
         ! videoscale ! video/x-raw,width={width} ! videoconvert ! video/x-raw,format=RGB \
         ! nvrmotion name=motion ! fakesink",
    )
    .unwrap();
    let porch = Camera::start(&["--pattern", "ball"]);
    let shed = Camera::start(&[]);
    // A port nothing listens on, for the substream.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("rtsp://127.0.0.1:{}/sub", dead.local_addr().unwrap().port());
    drop(dead);
    let cfg = format!(
        "[pipelines]\ndir = {:?}\n\n{}",
        pipelines.display().to_string(),
        config(
            &storage,
            2,
            &(camera_table("porch", &porch.url, "motion = true")
                + &camera_table(
                    "shed",
                    &shed.url,
                    &format!("motion = true\nsub_url = {dead_url:?}"),
                )),
        )
    );
    let nvr = Nvr::start(dir.path(), &cfg);
    for cam in ["porch", "shed"] {
        let c = wait_for(Duration::from_secs(40), || {
            nvr.camera(cam).filter(|c| {
                c["motion"]["branch"] == "restarting" && c["motion"]["error"].is_string()
            })
        })
        .unwrap_or_else(|| panic!("{cam}: no branch failure seen\n{}", nvr.log_text()));
        eprintln!("{cam}: {}", c["motion"]["error"]);
    }
    // Recording carries on through the branch's failures and restarts.
    for cam in ["porch", "shed"] {
        nvr.wait_segments(cam, 4, Duration::from_secs(40));
        let c = nvr.camera(cam).unwrap();
        assert_eq!(c["state"], "recording", "{c}");
        assert_eq!(c["reconnects"], 0, "{c}");
    }
    assert!(
        nvr.log_text().contains("motion detection stopped"),
        "{}",
        nvr.log_text()
    );
}
