//! Storage end to end: export across segments and gaps, retention on real files, a full
//! disk, and the catalog rebuilding itself from the files.

mod common;
use common::*;
use std::time::{Duration, Instant};

const FPS: f64 = 10.0;

fn now_s() -> i64 {
    (nvr::time::unix_now_ns() / 1_000_000_000) as i64
}

#[test]
fn export_spans_three_segments_and_a_gap_starting_at_the_keyframe_before_from() {
    let dir = TempDir::new("export");
    let storage = dir.path().join("rec");
    let args = ["--fps", "10", "--gop", "10", "--audio", "aac"];
    let cam = Camera::start(&args);
    let (port, url) = (cam.port, cam.url.clone());
    let mut nvr = Nvr::start(
        dir.path(),
        &config(&storage, 2, &camera_table("lane", &url, "")),
    );
    nvr.wait_segments("lane", 3, Duration::from_secs(40));
    // The gap: the camera is gone for a few seconds.
    cam.kill();
    nvr.wait_state("lane", "retrying", Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(3));
    let _cam = Camera::start_on(port, &args);
    let n = nvr.wait_state("lane", "recording", Duration::from_secs(30))["segments_written"]
        .as_u64()
        .unwrap();
    nvr.wait_segments("lane", n + 2, Duration::from_secs(30));

    let (_, body) = http_get(nvr.addr(), "/api/cameras/lane/segments");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let segs: Vec<(u64, u64)> = list["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let start = s["start_ns"].as_u64().unwrap();
            (
                start,
                start + (s["duration_s"].as_f64().unwrap() * 1e9) as u64,
            )
        })
        .collect();
    let g = (0..segs.len() - 1)
        .find(|&i| segs[i + 1].0 > segs[i].1 + 1_500_000_000)
        .expect("a gap in the recording");
    assert!(g >= 1, "{segs:?}");
    // From half a second into the segment before the gap's, to 1.5 s after the gap.
    let from = segs[g - 1].0 + 500_000_000;
    let to = segs[g + 1].0 + 1_500_000_000;
    let covered = (segs[g - 1].1 - from) + (segs[g].1 - segs[g].0) + 1_500_000_000;
    // The output starts at the keyframe at or before `from`: the segment's first frame.
    let expect = (covered + 500_000_000) as f64 / 1e9;
    let q = format!(
        "from={}&to={}",
        nvr::time::rfc3339_utc_ns(from),
        nvr::time::rfc3339_utc_ns(to)
    );

    // Over HTTP, streamed while produced.
    let (head, mp4) = http_get_raw(nvr.addr(), &format!("/api/cameras/lane/export.mp4?{q}"));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    assert!(head.contains("video/mp4"));
    let streamed = dir.path().join("streamed.mp4");
    std::fs::write(&streamed, &mp4).unwrap();
    let frames = count_frames(&streamed) as f64;
    assert!(
        (frames - expect * FPS).abs() <= 2.0,
        "streamed export has {frames} frames, expected {:.0}",
        expect * FPS
    );
    let (head, _) = http_get_raw(
        nvr.addr(),
        "/api/cameras/lane/export.mp4?from=2001-01-01T00:00:00Z&to=2001-01-01T00:01:00Z",
    );
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");

    // A client hanging up mid-export ends that export at once; the next one works.
    {
        let mut s = std::net::TcpStream::connect(nvr.addr()).unwrap();
        std::io::Write::write_all(
            &mut s,
            format!(
                "GET /api/cameras/lane/export.mp4?{q} HTTP/1.1\r\nHost: x\r\n{}\r\n",
                auth_header(nvr.addr())
            )
            .as_bytes(),
        )
        .unwrap();
        let mut first = [0u8; 4096];
        std::io::Read::read_exact(&mut s, &mut first).unwrap();
    }
    wait_for(Duration::from_secs(20), || {
        nvr.log_text()
            .contains("WARN  [nvr::http::cameras] export:")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("the abandoned export did not end:\n{}", nvr.log_text()));
    let (head, again) = http_get_raw(nvr.addr(), &format!("/api/cameras/lane/export.mp4?{q}"));
    assert!(
        head.starts_with("HTTP/1.1 200") && again.len() == mp4.len(),
        "{head}"
    );

    // Coverage knows the gap and why it is there.
    let (_, body) = http_get(nvr.addr(), "/api/cameras/lane/coverage");
    let cov: serde_json::Value = serde_json::from_str(&body).unwrap();
    let gap_s = (segs[g + 1].0 - segs[g].1) as f64 / 1e9;
    let outage = cov["coverage"]["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| {
            x["reason"]
                .as_str()
                .unwrap()
                .starts_with("camera not recording")
        })
        .unwrap_or_else(|| panic!("no camera outage among the gaps: {cov}"));
    assert!(
        (outage["seconds"].as_f64().unwrap() - gap_s).abs() < 1.0,
        "{outage} vs a {gap_s:.1} s gap"
    );
    let today = &nvr.camera("lane").unwrap()["today"];
    assert!(today["recorded_s"].as_f64().unwrap() > 10.0, "{today}");
    assert!(today["gaps"].as_u64().unwrap() >= 1, "{today}");
    nvr.stop();

    // After a restart the gap still says why (outages are kept in .nvr/history.journal),
    // rather than "nvr was not running".
    let again = Nvr::start_with(dir.path(), &nvr.config);
    let (_, body) = http_get(again.addr(), "/api/cameras/lane/coverage");
    let cov: serde_json::Value = serde_json::from_str(&body).unwrap();
    let reasons: Vec<&str> = cov["coverage"]["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| (x["seconds"].as_f64().unwrap() - gap_s).abs() < 1.0)
        .map(|x| x["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("camera not recording")),
        "after a restart: {cov}"
    );
    drop(again);

    // From the command line, to a normal MP4.
    let out = dir.path().join("export.mp4");
    let cli = |from: u64, to: u64, out: &std::path::Path| {
        std::process::Command::new(NVR)
            .args(["export", "--config"])
            .arg(&nvr.config)
            .args([
                "--camera",
                "lane",
                "--from",
                &nvr::time::rfc3339_utc_ns(from),
            ])
            .args(["--to", &nvr::time::rfc3339_utc_ns(to), "-o"])
            .arg(out)
            .output()
            .unwrap()
    };
    let r = cli(from, to, &out);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let m = discover(&out).unwrap();
    assert_eq!(m.audio_streams, 1, "the camera's AAC is in the export");
    assert!(
        (m.duration.as_secs_f64() - expect).abs() <= 0.2,
        "exported {:?}, expected {expect:.2} s",
        m.duration
    );
    assert!((count_frames(&out) as f64 - expect * FPS).abs() <= 2.0);
    let r = cli(1_000_000_000, 2_000_000_000, &dir.path().join("none.mp4"));
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("no footage of camera \"lane\""));
    assert!(!dir.path().join("none.mp4").exists());
}

#[test]
fn retention_deletes_by_age_and_by_camera_size_on_real_files() {
    let dir = TempDir::new("retention");
    let storage = dir.path().join("rec");
    let sample = dir.path().join("sample.mp4");
    sample_mp4(&sample, 20);
    let size = std::fs::metadata(&sample).unwrap().len();
    let now = now_s();
    // "old": an hourly segment over the last ten days; only the last two days may stay.
    let old: Vec<_> = (0..240)
        .map(|h| place_segment(&storage, "old", &sample, now - 86_400 * 10 + h * 3600))
        .collect();
    // "capped": twenty recent segments, a cap of five.
    let capped: Vec<_> = (0..20)
        .map(|m| place_segment(&storage, "capped", &sample, now - 3600 + m * 60))
        .collect();
    // "kept": recent and unlimited.
    let kept: Vec<_> = (0..5)
        .map(|m| place_segment(&storage, "kept", &sample, now - 600 + m * 60))
        .collect();
    let (jpg, thumb) = nvr::storage::layout::previews(&old[0]);
    std::fs::write(&jpg, b"jpeg").unwrap();
    std::fs::write(&thumb, b"jpeg").unwrap();
    let cfg = format!(
        "{}[retention]\nmax_age_days = 2\nkeep_free_bytes = 0\n",
        config(
            &storage,
            2,
            &camera_table(
                "capped",
                "rtsp://127.0.0.1:1/offline",
                &format!("max_bytes = {}", 5 * size)
            ),
        )
    );
    let nvr = Nvr::start(dir.path(), &cfg);
    let status = wait_for(Duration::from_secs(30), || {
        let s = nvr.status();
        (s["storage"]["counters"]["deleted_segments"].as_u64()? >= 240 - 48 + 15).then_some(s)
    })
    .unwrap_or_else(|| {
        panic!(
            "retention did not run: {}\n{}",
            nvr.status(),
            nvr.log_text()
        )
    });
    let by = &status["storage"]["counters"]["deleted_by_reason"];
    // Flash wear: every deletion was logged, and the log's bytes are counted (its lines are at
    // least as long as the paths they name).
    let logged = status["storage"]["counters"]["logs_written_today"]
        .as_u64()
        .unwrap();
    assert!(logged >= 100 * 20, "logs_written_today = {logged}");
    let older_than_two_days = old.iter().filter(|p| {
        let name = p
            .strip_prefix(storage.join("old"))
            .unwrap()
            .to_str()
            .unwrap();
        let start = nvr::storage::catalog::start_from_name(name).unwrap() / 1_000_000_000;
        // A segment goes when its end is more than two days old.
        (start as i64 + 2) < now - 2 * 86_400
    });
    assert_eq!(
        by["age"].as_u64().unwrap(),
        older_than_two_days.count() as u64,
        "{by}"
    );
    assert_eq!(by["camera_size"], 15, "{by}");
    // The newest survive everywhere; the oldest are gone with their previews and their
    // empty day folders.
    assert!(old.last().unwrap().exists() && !old[0].exists());
    assert!(
        !jpg.exists() && !thumb.exists(),
        "previews outlived their segment"
    );
    assert!(
        !old[0].parent().unwrap().exists(),
        "empty day folder left behind"
    );
    assert_eq!(capped.iter().filter(|p| p.exists()).count(), 5);
    assert!(capped[19].exists() && !capped[14].exists());
    assert!(kept.iter().all(|p| p.exists()));
    assert!(
        nvr.log_text().contains("retention: deleted"),
        "{}",
        nvr.log_text()
    );
}

/// A tmpfs of `mb` MiB mounted for one test (unmounted on drop).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &std::path::Path, mb: u32) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_full_disk_is_purged_and_recording_goes_on() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "SKIPPED a_full_disk_is_purged_and_recording_goes_on: needs root to mount a tmpfs"
        );
        return;
    }
    let dir = TempDir::new("diskfull");
    let storage = dir.path().join("rec");
    let Some(_fs) = Tmpfs::mount(&storage, 16) else {
        eprintln!("SKIPPED a_full_disk_is_purged_and_recording_goes_on: cannot mount a tmpfs here");
        return;
    };
    let sample = dir.path().join("sample.mp4");
    sample_mp4(&sample, 20);
    let now = now_s();
    // Yesterday's footage of a camera: the oldest on the disk.
    let old: Vec<_> = (0..40)
        .map(|m| place_segment(&storage, "yesterday", &sample, now - 86_400 + m * 60))
        .collect();
    let cam = Camera::start(&[]);
    let cfg = format!(
        "{}[retention]\nkeep_free_bytes = \"4M\"\n",
        config(&storage, 2, &camera_table("yard", &cam.url, ""))
    );
    let nvr = Nvr::start(dir.path(), &cfg);
    nvr.wait_segments("yard", 1, Duration::from_secs(40));
    // Another program fills the disk to the last byte.
    let filler = storage.join("filler.bin");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0x5au8; 64 * 1024];
    while std::io::Write::write_all(&mut f, &block).is_ok() {}
    drop(f);
    // nvr frees the floor by deleting the oldest footage and keeps recording.
    let written = nvr.camera("yard").unwrap()["segments_written"]
        .as_u64()
        .unwrap();
    nvr.wait_segments("yard", written + 3, Duration::from_secs(60));
    let s = nvr.status();
    assert!(
        s["storage"]["counters"]["deleted_by_reason"]["free_space"]
            .as_u64()
            .unwrap()
            > 0,
        "{s}"
    );
    assert!(s["storage"]["free_bytes"].as_u64().unwrap() > 0);
    assert!(
        old.iter().any(|p| !p.exists()),
        "nothing of the oldest footage was deleted"
    );
    assert!(
        filler.exists(),
        "nvr deleted a file that is not a recording"
    );
    assert_eq!(nvr.camera("yard").unwrap()["state"], "recording");
    let log = nvr.log_text();
    assert_eq!(
        log.matches("below the").count(),
        1,
        "one log line per episode:\n{log}"
    );
    for f in segments(&storage, "yard") {
        discover(&f).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn catalog_rebuilds_after_kill_9_and_files_removed_behind_its_back() {
    let dir = TempDir::new("catalog");
    let storage = dir.path().join("rec");
    let cam = Camera::start(&[]);
    let mut nvr = Nvr::start(
        dir.path(),
        &config(&storage, 2, &camera_table("hall", &cam.url, "")),
    );
    nvr.wait_segments("hall", 4, Duration::from_secs(40));
    nvr.kill9();
    let files = segments(&storage, "hall");
    std::fs::remove_file(&files[1]).unwrap();
    std::fs::remove_file(storage.join(".nvr/catalog.bin")).unwrap();
    // Restart with the camera disabled, so the disk stays as it is.
    let cfg = config(
        &storage,
        2,
        &camera_table("hall", &cam.url, "enabled = false"),
    );
    let nvr = Nvr::start(dir.path(), &cfg);
    let (_, body) = http_get(nvr.addr(), "/api/cameras/hall/segments");
    let listed: Vec<String> = serde_json::from_str::<serde_json::Value>(&body).unwrap()["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let name = s["name"].as_str().unwrap();
            assert!(!name.starts_with('/'), "a disk path served: {name}");
            storage.join("hall").join(name).display().to_string()
        })
        .collect();
    let on_disk: Vec<String> = segments(&storage, "hall")
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(
        listed, on_disk,
        "the catalog must list exactly the files on disk"
    );
    assert!(!listed.contains(&files[1].display().to_string()));
    assert_eq!(nvr.status()["storage"]["segments"], on_disk.len());
}

/// Previews are made when first asked for (the web page's thumbnails), never for every
/// segment as it closes: nothing is decoded for footage nobody looks at.
#[test]
fn a_preview_and_a_thumbnail_are_made_when_first_asked_for() {
    let dir = TempDir::new("previews");
    let storage = dir.path().join("rec");
    let cam = Camera::start(&["--codec", "h265"]);
    let nvr = Nvr::start(
        dir.path(),
        &config(&storage, 2, &camera_table("door", &cam.url, "")),
    );
    nvr.wait_segments("door", 3, Duration::from_secs(40));
    let (_, body) = http_get(nvr.addr(), "/api/cameras/door/segments");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let segs = list["segments"].as_array().unwrap();
    let jpgs = |dir: &std::path::Path| {
        let mut n = 0;
        for day in std::fs::read_dir(dir).unwrap().flatten() {
            for f in std::fs::read_dir(day.path()).unwrap().flatten() {
                n += usize::from(f.path().extension().is_some_and(|e| e == "jpg"));
            }
        }
        n
    };
    assert_eq!(
        jpgs(&storage.join("door")),
        0,
        "previews made before anyone asked"
    );
    for s in segs {
        let mp4 = storage.join("door").join(s["name"].as_str().unwrap());
        let (full, thumb) = nvr::storage::layout::previews(&mp4);
        for url in [&s["preview"], &s["thumbnail"]] {
            let (head, jpeg) = http_get_raw(nvr.addr(), url.as_str().unwrap());
            assert!(head.contains("image/jpeg"), "{head}");
            assert_eq!(&jpeg[..2], &[0xff, 0xd8], "not a JPEG");
        }
        assert!(
            full.exists() && thumb.exists(),
            "not kept: {}",
            mp4.display()
        );
        // A real JPEG decoder reads them back at the right sizes.
        let f = discover(&full).unwrap();
        assert_eq!(
            (f.video.as_str(), f.width, f.height),
            ("image/jpeg", 320, 240)
        );
        let t = discover(&thumb).unwrap();
        assert_eq!((t.width, t.height), (160, 120));
    }
    // Served over HTTP, as JPEG.
    let url = segs[0]["thumbnail"].as_str().unwrap();
    let (head, jpeg) = http_get_raw(nvr.addr(), url);
    assert!(head.contains("image/jpeg"), "{head}");
    assert_eq!(&jpeg[..2], &[0xff, 0xd8], "not a JPEG");
}

/// B-frames (composition offsets) go through the direct frame reader; files it does not read
/// (here: two audio tracks, which nvr never writes) go through `splitmuxsrc`. Both export
/// every frame. (That route cannot take B-frames: with them its `h264parse` hands `mp4mux`
/// frames without timestamps; nvr's own files never need it.)
#[test]
fn export_handles_b_frames_and_falls_back_for_other_files() {
    let dir = TempDir::new("export-routes");
    let storage = dir.path().join("rec");
    let config = dir.path().join("nvr.toml");
    std::fs::write(&config, config_text(&storage)).unwrap();
    let t0 = now_s() - 3600;
    let aac = "audiotestsrc num-buffers=430 ! audio/x-raw,rate=44100 ! avenc_aac ! aacparse ! m.";
    for (camera, bframes, audio, direct) in [
        ("bframes", 2, String::new(), true),
        ("twoaudio", 0, format!("{aac} {aac}"), false),
    ] {
        let sample = dir.path().join(format!("{camera}.mp4"));
        run_to_eos(&format!(
            "videotestsrc num-buffers=100 ! video/x-raw,width=160,height=120,framerate=10/1 \
             ! x264enc speed-preset=ultrafast bframes={bframes} b-adapt=false key-int-max=10 \
             ! h264parse ! mp4mux name=m ! filesink location=\"{}\" {audio}",
            sample.display()
        ));
        assert_eq!(
            nvr::storage::samples::read(&sample).is_ok(),
            direct,
            "{camera}"
        );
        place_segment(&storage, camera, &sample, t0);
        place_segment(&storage, camera, &sample, t0 + 10);
        let out = dir.path().join(format!("{camera}-out.mp4"));
        let r = std::process::Command::new(NVR)
            .args(["export", "--config"])
            .arg(&config)
            .args(["--camera", camera, "--from"])
            .arg(t0.to_string())
            .arg("--to")
            .arg((t0 + 20).to_string())
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            r.status.success(),
            "{camera}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        assert_eq!(count_frames(&out), 200, "{camera}");
    }
}

fn config_text(storage: &std::path::Path) -> String {
    config(storage, 10, "")
}

/// Compiles C `source` into `{dir}/{name}.so`, for `LD_PRELOAD`.
fn preload_library(dir: &std::path::Path, name: &str, source: &str) -> std::path::PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let lib = dir.join(format!("{name}.so"));
    let out = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&lib)
        .arg(&src)
        .arg("-ldl")
        .output()
        .expect("cc (build-essential)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lib
}

/// Builds a preload library whose statvfs answers zeros (0 free of 0, as some FUSE, NFS and
/// SMB mounts do) for paths under `$NVR_TEST_ZERO_STATVFS`, and asks the real one otherwise.
fn zero_statvfs_shim(dir: &std::path::Path) -> std::path::PathBuf {
    preload_library(
        dir,
        "zero-statvfs",
        r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
static int zero(const char *p) {
    const char *pre = getenv("NVR_TEST_ZERO_STATVFS");
    return pre && p && strncmp(p, pre, strlen(pre)) == 0;
}
int statvfs(const char *p, struct statvfs *b) {
    if (zero(p)) { memset(b, 0, sizeof *b); return 0; }
    int (*real)(const char *, struct statvfs *) = dlsym(RTLD_NEXT, "statvfs");
    return real(p, b);
}
int statvfs64(const char *p, struct statvfs64 *b) {
    if (zero(p)) { memset(b, 0, sizeof *b); return 0; }
    int (*real)(const char *, struct statvfs64 *) = dlsym(RTLD_NEXT, "statvfs64");
    return real(p, b);
}
"#,
    )
}

/// Issue: on a file system that reports 0 bytes free of 0, the free-space floor deleted
/// every recording. A size the file system cannot tell is unknown: the floor is not
/// applied (said once in the log and in /status); the other limits still are.
#[test]
fn a_file_system_that_reports_no_size_loses_nothing_to_the_floor() {
    let dir = TempDir::new("zero-statvfs");
    let storage = dir.path().join("rec");
    let sample = dir.path().join("sample.mp4");
    sample_mp4(&sample, 20);
    let now = now_s();
    let recent: Vec<_> = (0..6)
        .map(|m| place_segment(&storage, "cam", &sample, now - 3600 + m * 60))
        .collect();
    let ancient = place_segment(&storage, "cam", &sample, now - 86_400 * 40);
    let cfg = format!(
        "{}[retention]\nmax_age_days = 30\ncheck_seconds = 1\n",
        config(&storage, 2, "")
    );
    std::fs::write(dir.path().join("nvr.toml"), cfg).unwrap();
    let lib = zero_statvfs_shim(dir.path());
    let storage_s = storage.display().to_string();
    let nvr = Nvr::start_env(
        dir.path(),
        &dir.path().join("nvr.toml"),
        &[
            ("LD_PRELOAD", lib.to_str().unwrap()),
            ("NVR_TEST_ZERO_STATVFS", storage_s.as_str()),
        ],
    );
    // Age still works: the 40-day-old segment goes...
    wait_for(Duration::from_secs(30), || {
        (!ancient.exists()).then_some(())
    })
    .unwrap_or_else(|| panic!("age retention did not run:\n{}", nvr.log_text()));
    // ...and several more passes run without touching the rest.
    std::thread::sleep(Duration::from_secs(4));
    for f in &recent {
        assert!(f.exists(), "{} deleted:\n{}", f.display(), nvr.log_text());
    }
    let status = nvr.status();
    assert!(status["storage"]["free_bytes"].is_null(), "{status}");
    assert!(
        status["storage"]["space_unknown"]
            .as_str()
            .is_some_and(|s| s.contains("size of 0")),
        "{status}"
    );
    let log = nvr.log_text();
    assert_eq!(log.matches("free space on").count(), 1, "{log}");
    assert!(!log.contains("below the"), "{log}");
}

/// Builds a preload library that makes every `write`, `fsync` and `fdatasync` on a file under
/// `$NVR_TEST_SLOW_STORE` take `$NVR_TEST_SLOW_MS` (an SD card that stalls), while the file
/// `$NVR_TEST_SLOW_WHILE` exists if that is set, and notes each delayed call as a line in
/// `$NVR_TEST_SLOW_LOG` so the test knows the stall happened.
fn slow_store_shim(dir: &std::path::Path) -> std::path::PathBuf {
    preload_library(
        dir,
        "slow-store",
        r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static int slow(int fd) {
    const char *pre = getenv("NVR_TEST_SLOW_STORE");
    if (!pre) return 0;
    const char *flag = getenv("NVR_TEST_SLOW_WHILE");
    if (flag && access(flag, F_OK) != 0) return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return 0;
    path[n] = 0;
    if (strncmp(path, pre, strlen(pre)) != 0) return 0;
    const char *log = getenv("NVR_TEST_SLOW_LOG");
    if (log) {
        int l = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
        if (l >= 0) { syscall(SYS_write, l, "slow\n", 5); close(l); }
    }
    const char *ms = getenv("NVR_TEST_SLOW_MS");
    usleep((ms ? atoi(ms) : 2000) * 1000);
    return 1;
}
ssize_t write(int fd, const void *buf, size_t n) {
    slow(fd);
    return syscall(SYS_write, fd, buf, n);
}
int fsync(int fd) {
    slow(fd);
    return syscall(SYS_fsync, fd);
}
int fdatasync(int fd) {
    slow(fd);
    return syscall(SYS_fdatasync, fd);
}
"#,
    )
}

/// Issue: a closed segment's catalog write (and, now and then, a compaction with two fsyncs)
/// ran on the executor thread that supervises every camera, so one slow write on an SD card
/// delayed every camera. nvr's own files are written by one writer thread; a store whose
/// every write takes 2 s leaves each supervisor beating at least every second.
#[test]
fn a_store_whose_writes_take_seconds_delays_no_cameras_supervision() {
    let dir = TempDir::new("slow-store");
    let storage = dir.path().join("rec");
    let (a, b) = (Camera::start(&[]), Camera::start(&[]));
    let cfg = config(
        &storage,
        1,
        &(camera_table("a", &a.url, "") + &camera_table("b", &b.url, "")),
    );
    std::fs::write(dir.path().join("nvr.toml"), cfg).unwrap();
    let lib = slow_store_shim(dir.path());
    let store = format!("{}/.nvr/", storage.display());
    let slow_log = dir.path().join("slow.log");
    let mut nvr = Nvr::start_env(
        dir.path(),
        &dir.path().join("nvr.toml"),
        &[
            ("LD_PRELOAD", lib.to_str().unwrap()),
            ("NVR_TEST_SLOW_STORE", store.as_str()),
            ("NVR_TEST_SLOW_MS", "2000"),
            ("NVR_TEST_SLOW_LOG", slow_log.to_str().unwrap()),
        ],
    );
    nvr.wait_state("a", "recording", Duration::from_secs(30));
    nvr.wait_state("b", "recording", Duration::from_secs(30));
    // 15 s of 1 s segments: each close is a catalog write that takes 2 s.
    let mut worst = 0;
    for _ in 0..150 {
        for cam in nvr.status()["cameras"].as_array().unwrap() {
            worst = worst.max(cam["supervisor_idle_ms"].as_u64().unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let delayed = std::fs::read_to_string(&slow_log)
        .unwrap_or_default()
        .lines()
        .count();
    assert!(
        delayed >= 5,
        "the store was not slowed ({delayed} delayed calls)"
    );
    // A supervisor beats at least every second; waiting for a write would show 2000 ms or more.
    assert!(
        worst < 1_900,
        "a supervisor was silent for {worst} ms while the store was slow"
    );
    for cam in ["a", "b"] {
        let st = nvr.camera(cam).unwrap();
        assert_eq!(st["state"], "recording", "{st}");
        assert!(st["segments_written"].as_u64().unwrap() >= 8, "{st}");
    }
    // The writes were late, not lost: after a clean stop the catalog knows every file (a
    // restart finds none it did not know).
    nvr.stop();
    let files = segments(&storage, "a").len() + segments(&storage, "b").len();
    let line = Nvr::start_with(dir.path(), &dir.path().join("nvr.toml")).catalog_at_start();
    assert!(
        line.contains(&format!(
            "catalog: {files} segments (0 found on disk, 0 gone)"
        )),
        "{line}"
    );
}

/// A USB disk unplugged while recording and plugged back: its mount point is then an empty
/// folder on the SD card, and nothing may be written there. The camera waits with the reason
/// shown, and records again by itself when the disk is back; nothing on the disk is lost.
#[test]
fn a_storage_disk_unplugged_and_plugged_back_resumes_by_itself() {
    let dir = TempDir::new("unplug");
    let mount = dir.path().join("mnt");
    let away = dir.path().join("mnt-unplugged");
    let cam = Camera::start(&["--fps", "10", "--gop", "10"]);
    let nvr = Nvr::start(
        dir.path(),
        &config(&mount, 2, &camera_table("porch", &cam.url, "")),
    );
    nvr.wait_segments("porch", 2, Duration::from_secs(40));

    // Unplugged: the disk's folder goes; the mount point stays, empty.
    std::fs::rename(&mount, &away).unwrap();
    std::fs::create_dir(&mount).unwrap();
    let waiting = wait_for(Duration::from_secs(60), || {
        let c = nvr.camera("porch")?;
        let reason = c["reason"].as_str().unwrap_or_default().to_string();
        reason
            .contains("missing (disk unplugged or not mounted?)")
            .then_some(c)
    })
    .unwrap_or_else(|| panic!("no reason shown:\n{}", nvr.log_text()));
    assert_ne!(waiting["state"], "recording", "{waiting}");
    // A while unplugged: not a byte lands on the SD card's mount point.
    std::thread::sleep(Duration::from_secs(5));
    let written: Vec<_> = std::fs::read_dir(&mount).unwrap().collect();
    assert!(
        written.is_empty(),
        "written to the bare mount point: {written:?}"
    );
    let before: Vec<(std::path::PathBuf, u64)> = segments(&away, "porch")
        .into_iter()
        .map(|p| {
            let len = std::fs::metadata(&p).unwrap().len();
            (p.strip_prefix(&away).unwrap().to_path_buf(), len)
        })
        .collect();
    assert!(before.len() >= 2);

    // Plugged back: it records again by itself (the wait is at most a minute of backoff).
    std::fs::remove_dir(&mount).unwrap();
    std::fs::rename(&away, &mount).unwrap();
    let n = nvr.wait_state("porch", "recording", Duration::from_secs(90))["segments_written"]
        .as_u64()
        .unwrap();
    nvr.wait_segments("porch", n + 2, Duration::from_secs(40));
    for (rel, len) in &before {
        let p = mount.join(rel);
        let now = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        assert!(now >= *len, "{} shrank or vanished", p.display());
        assert!(discover(&p).is_ok(), "{} does not play", p.display());
    }
    assert!(segments(&mount, "porch").len() >= before.len() + 2);
    assert!(
        nvr.log_text().contains("storage folder"),
        "{}",
        nvr.log_text()
    );
}

/// A loop-mounted ext4 file system with `errors=remount-ro` (Raspberry Pi OS's default for
/// its card), unmounted when dropped. `None` (with the reason) where the test cannot make
/// one: not root, no loop devices, no mkfs.ext4.
struct Ext4 {
    image: std::path::PathBuf,
    mount: std::path::PathBuf,
}

impl Ext4 {
    fn new(dir: &std::path::Path) -> Result<Ext4, String> {
        if !rustix::process::geteuid().is_root() {
            return Err("needs root (loop mounts)".into());
        }
        let image = dir.join("disk.img");
        let mount = dir.join("disk");
        std::fs::create_dir_all(&mount).unwrap();
        std::fs::File::create(&image)
            .unwrap()
            .set_len(128 << 20)
            .unwrap();
        let run = |cmd: &str, args: &[&std::ffi::OsStr]| {
            let o = std::process::Command::new(cmd)
                .args(args)
                .output()
                .map_err(|e| format!("{cmd}: {e}"))?;
            o.status
                .success()
                .then_some(())
                .ok_or_else(|| format!("{cmd}: {}", String::from_utf8_lossy(&o.stderr).trim()))
        };
        run(
            "mkfs.ext4",
            &["-q".as_ref(), "-F".as_ref(), image.as_os_str()],
        )?;
        let fs = Ext4 { image, mount };
        fs.attach()?;
        Ok(fs)
    }

    fn attach(&self) -> Result<(), String> {
        let o = std::process::Command::new("mount")
            .args(["-o", "loop,errors=remount-ro"])
            .arg(&self.image)
            .arg(&self.mount)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        o.status
            .success()
            .then_some(())
            .ok_or_else(|| format!("mount: {}", String::from_utf8_lossy(&o.stderr).trim()))
    }

    /// What the kernel does when the file system meets an error: it goes read-only at once.
    fn fail(&self) {
        let source = std::process::Command::new("findmnt")
            .args(["-n", "-o", "SOURCE"])
            .arg(&self.mount)
            .output()
            .unwrap();
        let dev = String::from_utf8_lossy(&source.stdout).trim().to_string();
        let name = dev.rsplit('/').next().unwrap();
        std::fs::write(format!("/sys/fs/ext4/{name}/trigger_fs_error"), "1").unwrap();
    }

    /// The disk unmounted, checked and repaired with fsck, and mounted again (what a user
    /// does with a USB disk; a Pi's card gets the same at its next boot). The unmount fails
    /// while anything still holds a file on it open.
    fn repair(&self) {
        let run = |c: &mut std::process::Command| {
            let o = c.output().unwrap();
            let text = String::from_utf8_lossy(&o.stdout).to_string()
                + &String::from_utf8_lossy(&o.stderr);
            (o.status.code(), text)
        };
        // Not a lazy unmount: nvr must have let go of every file on it.
        let (code, text) = run(std::process::Command::new("umount").arg(&self.mount));
        assert_eq!(code, Some(0), "umount: {text}");
        let (code, text) = run(std::process::Command::new("e2fsck")
            .args(["-f", "-y"])
            .arg(&self.image));
        assert!(code <= Some(1), "e2fsck: {code:?} {text}");
        self.attach().unwrap();
    }
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.mount)
            .status();
    }
}

/// The storage's file system hits an error while recording and goes read-only (ext4
/// `errors=remount-ro`): the camera waits with the reason shown (no reconnect storm),
/// `/status` names the problem, and once the disk is repaired and mounted again recording
/// resumes by itself; every file written before plays.
#[test]
fn a_storage_gone_read_only_is_shown_and_recording_resumes_after_the_repair() {
    let dir = TempDir::new("readonly");
    let disk = match Ext4::new(dir.path()) {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIPPED: a_storage_gone_read_only…: {why}");
            return;
        }
    };
    let storage = disk.mount.join("rec");
    let cam = Camera::start(&["--fps", "10", "--gop", "10"]);
    let nvr = Nvr::start(
        dir.path(),
        &config(&storage, 2, &camera_table("porch", &cam.url, "")),
    );
    nvr.wait_segments("porch", 2, Duration::from_secs(40));
    disk.fail();
    let waiting = wait_for(Duration::from_secs(60), || {
        let c = nvr.camera("porch")?;
        let reason = c["reason"].as_str().unwrap_or_default().to_string();
        reason.contains("is read-only").then_some(c)
    })
    .unwrap_or_else(|| panic!("no reason shown:\n{}", nvr.log_text()));
    assert_ne!(waiting["state"], "recording", "{waiting}");
    let problem = nvr.status()["storage"]["problem"].clone();
    assert!(
        problem.as_str().unwrap_or_default().contains("read-only"),
        "{problem}"
    );
    // While read-only the camera is not connected again and again.
    let reconnects = waiting["reconnects"].as_u64().unwrap();
    std::thread::sleep(Duration::from_secs(6));
    let later = nvr.camera("porch").unwrap()["reconnects"].as_u64().unwrap();
    assert!(later <= reconnects + 3, "{reconnects} -> {later}");

    disk.repair();
    let before = segments(&storage, "porch");
    assert!(before.len() >= 2);
    let n = nvr.wait_state("porch", "recording", Duration::from_secs(90))["segments_written"]
        .as_u64()
        .unwrap();
    nvr.wait_segments("porch", n + 2, Duration::from_secs(40));
    for p in &before {
        assert!(discover(p).is_ok(), "{} does not play", p.display());
    }
    assert!(segments(&storage, "porch").len() >= before.len() + 2);
    assert!(nvr.status()["storage"]["problem"].is_null());
}

/// A disk that stops taking a camera's writes for 25 s (a write blocks that long: an SD card
/// collecting garbage, a USB disk resetting), then recovers. The camera is not reconnected
/// for the silence this causes (a new connection would wait for the same disk): `/status`
/// says the disk is behind while it is, and recording goes on by itself when it returns. A
/// camera whose files are elsewhere records untouched; nothing already on disk is lost, and
/// (the camera holding its stream back over TCP meanwhile) nothing of the stall either.
/// Both kinds of writer: `a` records all the time (the pipeline's `backlog` queue),
/// `ag` around events, its schedule window open all day (the gate's writer queue).
#[test]
fn a_recording_whose_disk_stalls_for_seconds_resumes_by_itself() {
    let dir = TempDir::new("stall-disk");
    let storage = dir.path().join("rec");
    // 4 Mbit/s: the continuous write queue (10 s or 32 MiB) fills within the stall.
    let a = Camera::start(&["--pattern", "snow", "--kbps", "4000"]);
    let ag = Camera::start(&["--pattern", "snow", "--kbps", "4000"]);
    let b = Camera::start(&[]);
    let gated = "mode = \"schedule\"\nschedule = [\"daily 00:00-24:00\"]";
    let cfg = config(
        &storage,
        2,
        &(camera_table("a", &a.url, "")
            + &camera_table("ag", &ag.url, gated)
            + &camera_table("b", &b.url, "")),
    );
    std::fs::write(dir.path().join("nvr.toml"), cfg).unwrap();
    let lib = slow_store_shim(dir.path());
    // Writes under a/ and ag/, not b/.
    let slow_dir = format!("{}/a", storage.display());
    let (flag, slow_log) = (dir.path().join("stalling"), dir.path().join("slow.log"));
    let nvr = Nvr::start_env(
        dir.path(),
        &dir.path().join("nvr.toml"),
        &[
            ("LD_PRELOAD", lib.to_str().unwrap()),
            ("NVR_TEST_SLOW_STORE", slow_dir.as_str()),
            ("NVR_TEST_SLOW_MS", "25000"),
            ("NVR_TEST_SLOW_WHILE", flag.to_str().unwrap()),
            ("NVR_TEST_SLOW_LOG", slow_log.to_str().unwrap()),
        ],
    );
    let stalled_cams = ["a", "ag"];
    for cam in stalled_cams {
        nvr.wait_segments(cam, 2, Duration::from_secs(40));
    }
    nvr.wait_state("b", "recording", Duration::from_secs(30));
    let before = stalled_cams.map(|c| segments(&storage, c));
    let b_before = nvr.camera("b").unwrap()["segments_written"]
        .as_u64()
        .unwrap();

    // The next write under a/ and ag/ blocks for 25 s.
    std::fs::write(&flag, b"").unwrap();
    let (stalled, stall_from) = (Instant::now(), nvr::time::unix_now_ns());
    let (mut told, mut most) = ([None, None], [0.0f64; 2]);
    while stalled.elapsed() < Duration::from_secs(24) {
        for (i, cam) in stalled_cams.iter().enumerate() {
            let st = nvr.camera(cam).unwrap();
            assert_eq!(st["state"], "recording", "{st}");
            most[i] = most[i].max(st["write_backlog_s"].as_f64().unwrap_or(0.0));
            if let Some(r) = st["reason"].as_str() {
                told[i].get_or_insert(r.to_string());
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    std::fs::remove_file(&flag).unwrap();
    let stall_to = nvr::time::unix_now_ns();
    let delayed = std::fs::read_to_string(&slow_log)
        .unwrap_or_default()
        .lines()
        .count();
    assert!(delayed >= 2, "the disk did not stall for both cameras");
    let log = nvr.log_text();
    for (i, cam) in stalled_cams.iter().enumerate() {
        let told = told[i]
            .as_deref()
            .unwrap_or_else(|| panic!("/status never said the disk was behind {cam}: {log}"));
        assert!(told.contains("the disk"), "{cam}: {told}");
        assert!(
            most[i] >= 8.0,
            "{cam}: the queue held at most {} s",
            most[i]
        );
    }

    // The writes return; the queues drain and recording goes on, and `/status` says so.
    let back = Instant::now();
    for (i, cam) in stalled_cams.iter().enumerate() {
        let st = loop {
            let st = nvr.camera(cam).unwrap();
            if st["reason"].is_null() || back.elapsed() > Duration::from_secs(30) {
                break st;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(
            st["state"] == "recording" && st["reason"].is_null() && st["write_backlog_s"].is_null(),
            "{st}"
        );
        let written = st["segments_written"].as_u64().unwrap();
        nvr.wait_segments(cam, written + 2, Duration::from_secs(60));
        // The camera held its stream back while the disk did not take it: nothing is missing.
        assert_covered(&nvr.spans(cam), stall_from, stall_to, cam);
        let log = nvr.log_text();
        assert!(
            log.contains(&format!("camera {cam}: the disk has caught up")),
            "{log}"
        );
        assert!(
            !log.contains(&format!("camera {cam}: stream stalled")),
            "{log}"
        );
        for f in &before[i] {
            discover(f).unwrap_or_else(|e| panic!("{cam}, from before the stall: {e}"));
        }
        let after = segments(&storage, cam);
        for f in &after[..after.len() - 1] {
            discover(f).unwrap_or_else(|e| panic!("{cam}: {e}"));
        }
        eprintln!(
            "disk stalled 25 s: /status said {:?} of {cam}, up to {:.1} s waiting; it \
             reconnected {} times",
            told[i], most[i], st["reconnects"]
        );
    }
    let b = nvr.camera("b").unwrap();
    assert_eq!(b["reconnects"], 0, "{b}");
    assert!(
        b["segments_written"].as_u64().unwrap() >= b_before + 10,
        "{b}"
    );
}
