//! Modes that write only what is kept: a `motion` or `schedule` camera holds its pre-roll in
//! RAM and writes only around events and inside its windows. Real RTSP cameras, real files
//! read by a real demuxer, and the kernel's own count of the bytes nvr wrote.

mod common;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

const S: u64 = 1_000_000_000;

fn now_ns() -> u64 {
    nvr::time::unix_now_ns()
}

/// Bytes of every file under `dir`.
fn tree_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// (start, end) in Unix ns of the camera's closed motion events, oldest first, and the
/// pre-roll each one's start wrote (ms; none when writing was on already).
fn events(nvr: &Nvr, camera: &str) -> Vec<(u64, u64, Option<u64>)> {
    let (_, body) = http_get(nvr.addr(), &format!("/api/events?camera={camera}"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let mut out: Vec<_> = v["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    let (s, end) = (e["start_ns"].as_u64()?, e["end_ns"].as_u64()?);
                    Some((s, end, e["pre_roll_ms"].as_u64()))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The camera's gate is shut and nothing is open: what it wrote is all in the catalog.
fn settled(nvr: &Nvr, camera: &str) -> bool {
    nvr.camera(camera)
        .is_some_and(|c| c["gate"]["writing"] == false && c["current_segment"].is_null())
}

fn assert_all_play(storage: &Path, camera: &str) -> usize {
    let files = segments(storage, camera);
    for f in &files {
        let m = discover(f).unwrap_or_else(|e| panic!("unplayable: {e}"));
        assert!(m.duration > Duration::ZERO, "{}", f.display());
    }
    files.len()
}

/// The scene: still for 60 s, moving for 10 s, still for 60 s, from a camera
/// streaming a constant 2 Mbit/s (a still scene costs the card as much as a moving one).
#[test]
fn a_motion_camera_writes_nothing_while_still_and_keeps_the_event_with_its_padding() {
    let dir = TempDir::new("gate-still");
    let storage = dir.path().join("rec");
    let clip = dir.path().join("clip.h264");
    scene_clip(
        &clip,
        &[Scene::Still(600), Scene::Moving(100), Scene::Still(600)],
        Some(2000),
    );
    let cam = Camera::start(&["--file", clip.to_str().unwrap(), "--fps", "10"]);
    let streaming = now_ns();
    let cfg = config(
        &storage,
        4,
        &camera_table(
            "yard",
            &cam.url,
            "mode = \"motion\"\npre_seconds = 5\npost_seconds = 5",
        ),
    );
    let nvr = Nvr::start(dir.path(), &cfg);
    nvr.wait_state("yard", "recording", Duration::from_secs(30));
    let (written0, kept0) = (nvr.write_bytes(), tree_bytes(&storage));
    let day0 = nvr.status()["storage"]["counters"]["day"].clone();
    // The disk while it runs: (when, segment files, bytes nvr wrote).
    let mut watched = Vec::new();
    let event = wait_for(Duration::from_secs(150), || {
        watched.push((
            now_ns(),
            segments(&storage, "yard").len(),
            nvr.write_bytes(),
        ));
        let &(start, end, pre) = events(&nvr, "yard").first()?;
        assert!(pre >= Some(5_000), "pre-roll {pre:?} ms");
        (now_ns() > end + 5 * S && settled(&nvr, "yard")).then_some((start, end))
    })
    .unwrap_or_else(|| panic!("no event: {:?}\n{}", nvr.camera("yard"), nvr.log_text()));
    let (start, end) = event;
    eprintln!(
        "event {:.1}..{:.1} s after the camera started streaming",
        (start - streaming) as f64 / 1e9,
        (end - streaming) as f64 / 1e9
    );
    assert!(
        start > streaming + 50 * S,
        "an event during the still minute"
    );

    // Nothing reached the disk while the scene was still (checked while it ran).
    let quiet: Vec<_> = watched.iter().filter(|(t, ..)| *t < start).collect();
    assert!(quiet.len() > 100, "watched {} times", quiet.len());
    assert!(
        quiet.iter().all(|&&(_, files, _)| files == 0),
        "a segment was written before the event: {quiet:?}"
    );
    let quiet_written = quiet.last().unwrap().2 - written0;
    assert!(
        quiet_written < 64 << 10,
        "{quiet_written} bytes written while still"
    );

    // What is kept covers the event with its padding, and plays.
    let segs = nvr.spans("yard");
    assert_covered(&segs, start - 5 * S, end + 5 * S, "the event");
    assert!(assert_all_play(&storage, "yard") >= 3);

    // Written ≈ kept: the quiet minutes never went to the card.
    let written = nvr.write_bytes() - written0;
    let kept_bytes = tree_bytes(&storage) - kept0;
    eprintln!(
        "written {written} bytes, kept {kept_bytes} bytes ({:.3}x); while still: {quiet_written}",
        written as f64 / kept_bytes as f64
    );
    assert!(
        (written as f64) <= 1.1 * kept_bytes as f64,
        "wrote {written} bytes to keep {kept_bytes}"
    );
    // /status's wear counters: the camera's is the bytes of its files, exactly; all of them
    // together are what the kernel counted (since the process started) less mp4mux's index
    // updates. Those rewrite pages already counted (three fsync'd writes a second while a
    // file is open), so the kernel counts those pages again: ~5 % more at this bitrate, the
    // same allowance as written against kept above.
    let status = nvr.status();
    let counters = &status["storage"]["counters"];
    if counters["day"] == day0 {
        let files: u64 = segments(&storage, "yard")
            .iter()
            .map(|f| f.metadata().unwrap().len())
            .sum();
        assert_eq!(
            status["cameras"][0]["written_today"].as_u64(),
            Some(files),
            "the camera's written_today against its files"
        );
        assert_eq!(counters["recordings_written_today"].as_u64(), Some(files));
        let counted = [
            "recordings_written_today",
            "catalog_written_today",
            "logs_written_today",
        ]
        .iter()
        .map(|k| counters[k].as_u64().unwrap())
        .sum::<u64>();
        let kernel = nvr.write_bytes();
        eprintln!("/status counts {counted} bytes written, the kernel {kernel}");
        assert!(
            counted <= kernel && kernel as f64 <= 1.1 * counted as f64,
            "/status counts {counted} bytes written, the kernel {kernel}: {counters}"
        );
    } else {
        eprintln!("the day's counters started over at midnight: not compared");
    }
    let (_, body) = http_get(nvr.addr(), "/api/cameras/yard/coverage");
    assert!(
        body.contains("motion mode: not recorded (no event)"),
        "{body}"
    );
    let gate = &nvr.camera("yard").unwrap()["gate"];
    assert_eq!(gate["stretches"], 1, "{gate}");
    assert_eq!(gate["pre_roll_cut"], false, "{gate}");
}

/// Two events 3 s apart: with a 5 s post-roll the second starts while the first's is being
/// written ("overlap": one stretch); with a 1 s post-roll writing has stopped and starts
/// again inside the second's pre-roll ("reopen": two stretches, no frame lost between).
/// And an event right after the camera connects: the pre-roll is what there is.
#[test]
fn events_close_together_and_an_event_at_connect_keep_all_their_padding() {
    let dir = TempDir::new("gate-close");
    let storage = dir.path().join("rec");
    let clip = dir.path().join("clip.h264");
    // Motion 3 s, still 8 s (an event ends 5 s after the last motion: 3 s later the next
    // one starts), motion 3 s, then still.
    scene_clip(
        &clip,
        &[
            Scene::Still(250),
            Scene::Moving(30),
            Scene::Still(80),
            Scene::Moving(30),
            Scene::Still(600),
        ],
        None,
    );
    let cam = Camera::start(&["--file", clip.to_str().unwrap(), "--fps", "10"]);
    let moving = Camera::start(&["--fps", "10", "--gop", "10"]);
    let cfg = config(
        &storage,
        4,
        &(camera_table(
            "overlap",
            &cam.url,
            "mode = \"motion\"\npre_seconds = 5\npost_seconds = 5",
        ) + &camera_table(
            "reopen",
            &cam.url,
            "mode = \"motion\"\npre_seconds = 5\npost_seconds = 1",
        ) + &camera_table(
            "early",
            &moving.url,
            "mode = \"motion\"\npre_seconds = 10\npost_seconds = 1",
        )),
    );
    let nvr = Nvr::start(dir.path(), &cfg);

    // The moving camera's event starts once the detector's settling time after connecting
    // is over: about 3 s of pre-roll exist, not the 10 s (+1 s) wanted.
    let early = wait_for(Duration::from_secs(40), || {
        nvr.camera("early")
            .filter(|c| c["gate"]["stretches"] == 1 && c["segments_written"].as_u64() >= Some(1))
    })
    .unwrap_or_else(|| panic!("{:?}\n{}", nvr.camera("early"), nvr.log_text()));
    let pre = early["gate"]["last_pre_roll_s"].as_f64().unwrap();
    assert!(pre > 1.0 && pre < 10.0, "{early}");
    assert!(
        nvr.log_text().contains(&format!(
            "camera early: writing (event), from {pre:.1} s before (wanted 11.0 s)"
        )),
        "{}",
        nvr.log_text()
    );

    for (camera, post, stretches) in [("overlap", 5, 1), ("reopen", 1, 2)] {
        let evs = wait_for(Duration::from_secs(120), || {
            let evs = events(&nvr, camera);
            (evs.len() >= 2 && now_ns() > evs[1].1 + (post + 3) * S && settled(&nvr, camera))
                .then_some(evs)
        })
        .unwrap_or_else(|| panic!("{:?}\n{}", events(&nvr, camera), nvr.log_text()));
        let ((s1, e1, pre1), (s2, e2, pre2)) = (evs[0], evs[1]);
        // The first started the writing with all its pre-roll (5 s + 1 s of detection lag,
        // from a keyframe); the second did only after a closed gate.
        assert!(pre1 >= Some(5_500), "{camera}: {evs:?}");
        assert_eq!(pre2.is_some(), stretches == 2, "{camera}: {evs:?}");
        let apart = (s2 as f64 - e1 as f64) / 1e9;
        eprintln!(
            "{camera}: events {:.1} s long, {apart:.1} s apart",
            (e1 - s1) as f64 / 1e9
        );
        assert!(apart > 1.0 && apart < 6.0, "{camera}: {evs:?}");
        assert_covered(&nvr.spans(camera), s1 - 5 * S, e2 + post * S, camera);
        let c = nvr.camera(camera).unwrap();
        assert_eq!(c["gate"]["stretches"], stretches, "{camera}: {c}");
        assert_all_play(&storage, camera);
    }
}

/// A schedule window opening and closing while the camera streams: its files start and end
/// at the window's edges, within a GOP (1 s here) and the half-second the supervisor looks.
#[test]
fn a_schedule_window_starts_and_stops_writing_at_its_edges() {
    let dir = TempDir::new("gate-window");
    let storage = dir.path().join("rec");
    let cam = Camera::start(&["--fps", "10", "--gop", "10"]);
    // The next whole minute at least 15 s away, in UTC (nvr runs with TZ=UTC), for a minute.
    let now = now_ns() / S;
    let open = (now + 15).div_ceil(60) * 60;
    let close = open + 60;
    let hm = |t: u64| format!("{:02}:{:02}", t / 3600 % 24, t / 60 % 60);
    let cfg = config(
        &storage,
        4,
        &camera_table(
            "gate",
            &cam.url,
            &format!(
                "mode = \"schedule\"\nschedule = [\"daily {}-{}\"]",
                hm(open),
                hm(close)
            ),
        ),
    );
    let path = dir.path().join("nvr.toml");
    std::fs::write(&path, cfg).unwrap();
    let nvr = Nvr::start_env(dir.path(), &path, &[("TZ", "UTC")]);
    nvr.wait_state("gate", "recording", Duration::from_secs(30));
    // The files there before the window opened: the last listing made before it did (a
    // listing taken once the window is open may already see its first file).
    let mut before_open = None;
    wait_for(Duration::from_secs(90), || {
        let files = segments(&storage, "gate").len();
        if now_ns() >= open * S {
            return Some(());
        }
        before_open = Some(files);
        None
    })
    .unwrap();
    assert_eq!(before_open, Some(0), "written before the window opened");
    wait_for(Duration::from_secs(100), || {
        (now_ns() / S > close + 3 && settled(&nvr, "gate")).then_some(())
    })
    .unwrap_or_else(|| panic!("{:?}\n{}", nvr.camera("gate"), nvr.log_text()));
    let segs = nvr.spans("gate");
    let (first, last) = (segs.first().unwrap().0, segs.last().unwrap().1);
    let off = |a: u64, b: u64| (a as f64 - b as f64) / 1e9;
    eprintln!(
        "window {open}..{close}: written from {:+.2} s to {:+.2} s",
        off(first, open * S),
        off(last, close * S)
    );
    assert!(
        first + 1_500_000_000 >= open * S && first <= open * S + 1_000_000_000,
        "first file at {:+.2} s from the window's start",
        off(first, open * S)
    );
    assert!(
        last >= close * S && last <= close * S + 2 * S,
        "last file ends {:+.2} s from the window's end",
        off(last, close * S)
    );
    assert_covered(&segs, open * S + S, close * S, "the window");
    assert_eq!(nvr.camera("gate").unwrap()["gate"]["stretches"], 1);
    assert_all_play(&storage, "gate");
}

/// kill -9 in the middle of an event: what was written of it plays, up to the GOP in flight
/// and the last index period, as for a continuous camera.
#[test]
fn kill_9_during_an_event_leaves_its_footage_playable() {
    let dir = TempDir::new("gate-kill9");
    let storage = dir.path().join("rec");
    let cam = Camera::start(&["--fps", "10", "--gop", "10"]);
    let cfg = config(
        &storage,
        4,
        &camera_table(
            "drive",
            &cam.url,
            "mode = \"motion\"\npre_seconds = 2\npost_seconds = 2",
        ),
    );
    let mut nvr = Nvr::start(dir.path(), &cfg);
    nvr.wait_segments("drive", 1, Duration::from_secs(40));
    let open = wait_for(Duration::from_secs(20), || {
        nvr.camera("drive")
            .and_then(|c| c["current_segment"].as_str().map(String::from))
    })
    .map(|name| storage.join("drive").join(name))
    .expect("an open segment");
    let opened = Instant::now();
    std::thread::sleep(Duration::from_millis(2600));
    let alive = opened.elapsed();
    nvr.kill9();
    assert!(assert_all_play(&storage, "drive") >= 2);
    let cut = discover(&open).unwrap().duration;
    eprintln!(
        "kill -9 {alive:?} into {}: {cut:?} survived",
        open.display()
    );
    assert!(
        cut + Duration::from_millis(3500) >= alive,
        "killed after {alive:?} in the segment, but only {cut:?} survived"
    );
}

/// `nvr check` says how much RAM each motion/schedule camera's pre-roll takes, from the
/// bitrate of what it recorded, and warns when `pre_memory` cuts it.
#[test]
fn nvr_check_says_when_pre_memory_cuts_the_pre_roll() {
    let dir = TempDir::new("gate-check");
    let storage = dir.path().join("rec");
    // 12 s at 2 Mbit/s, as the camera `porch` recorded it.
    let sample = dir.path().join("sample.mp4");
    run_to_eos(&format!(
        "videotestsrc pattern=ball num-buffers=120 ! video/x-raw,width=320,height=240,framerate=10/1 \
         ! {} ! h264parse ! mp4mux ! filesink location=\"{}\"",
        encoder(Some(2000)),
        sample.display()
    ));
    place_segment(&storage, "porch", &sample, 1_790_000_000);
    let cfg = config(
        &storage,
        10,
        &(camera_table(
            "porch",
            "rtsp://127.0.0.1:9/cam",
            "mode = \"motion\"\npre_seconds = 30\npre_memory = \"4M\"",
        ) + &camera_table(
            "yard",
            "rtsp://127.0.0.1:9/cam",
            "mode = \"motion\"\npre_seconds = 5",
        ) + &camera_table("drive", "rtsp://127.0.0.1:9/cam", "")),
    );
    let path = dir.path().join("nvr.toml");
    std::fs::write(&path, cfg).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_nvr"))
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{out}");
    // 31 s (+2 s of GOP) of 2 Mbit/s is about 8 MiB: the 4 MiB cap leaves about 15 s.
    assert!(
        out.contains("warning: camera porch: its recordings average 2.0 Mbit/s: a pre-roll of 31 s needs about 8 MiB of RAM, more than pre_memory (4 MiB): it will be about 15 s"),
        "{out}"
    );
    assert!(
        out.contains("camera yard: motion mode: 6 s of pre-roll wait in RAM, in at most 32 MiB (enough up to 33.6 Mbit/s)"),
        "{out}"
    );
    assert!(!out.contains("camera drive: continuous"), "{out}");
}

/// A window open when the camera connects: writing starts with an empty ring, from the first
/// keyframe, and every file plays from its start.
#[test]
fn a_window_open_at_connect_writes_from_the_first_keyframe() {
    let dir = TempDir::new("gate-open-window");
    let storage = dir.path().join("rec");
    let cam = Camera::start(&["--fps", "10", "--gop", "10"]);
    let cfg = config(
        &storage,
        2,
        &camera_table(
            "allday",
            &cam.url,
            "mode = \"schedule\"\nschedule = [\"daily 00:00-24:00\"]",
        ),
    );
    let nvr = Nvr::start(dir.path(), &cfg);
    nvr.wait_segments("allday", 2, Duration::from_secs(40));
    let c = nvr.camera("allday").unwrap();
    assert_eq!(c["gate"]["why"], "window", "{c}");
    assert_eq!(c["gate"]["stretches"], 1, "{c}");
    for f in segments(&storage, "allday") {
        let frames = count_frames(&f);
        assert!(frames > 0, "{}", f.display());
        discover(&f).unwrap_or_else(|e| panic!("{e}"));
    }
}
