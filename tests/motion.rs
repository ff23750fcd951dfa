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
        &(camera_table("drive", &moving.url, "motion = true")
            + &camera_table("wall", &still.url, "motion = true\nmotion_fps = 4")),
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
    assert!(drive["motion"]["last_start"].is_string());
    // The still camera's detector runs (frames analysed), capped at its 4 fps, and sees nothing.
    let wall = wait_for(Duration::from_secs(30), || {
        nvr.camera("wall")
            .filter(|c| c["motion"]["detector_fps"].as_f64().unwrap_or(0.0) > 0.0)
    })
    .expect("the still camera's detector never ran");
    std::thread::sleep(Duration::from_secs(4));
    let wall_now = nvr.camera("wall").unwrap();
    assert!(
        wall["motion"]["detector_fps"].as_f64().unwrap() <= 4.5,
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
    assert!(
        ev["end_ns"].as_u64().unwrap() > ev["start_ns"].as_u64().unwrap(),
        "{ev}"
    );
    assert!(ev["peak_score"].as_f64().unwrap() > 0.0);
    assert!(!ev["boxes"].as_array().unwrap().is_empty(), "{ev}");
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
