//! Hikvision NAS import end to end: format-faithful camera folders generated from real
//! GStreamer encodes (`nvr::hikvision::fixture`), imported by `nvr hikvision sync`, and every
//! output checked with a real demuxer or the original JPEG bytes.

mod common;

use common::*;
use nvr::hikvision::fixture::{self, AudioKind, ClipSpec, Datadir, Packer, PictureIndex};
use nvr::hikvision::index::CamTime;
use nvr::hikvision::ps::VideoCodec;
use nvr::hikvision::sync::{self, Settings};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// 2025-09-07 14:30:15 on the camera's wall clock (stored as if UTC).
const T0: u32 = 1_757_255_415;
const SEG_FRAMES: usize = 50; // 2 s at 25 fps

fn at(sec: u32) -> CamTime {
    CamTime { sec, usec: 120_000 }
}

/// `2025-09-07_14-30-15-tag.ext`: the camera's wall clock, as the outputs are named.
fn out_name(sec: u32, tag: &str, ext: &str) -> String {
    let t = nvr::time::LocalTime::utc(i64::from(sec));
    format!(
        "{}_{:02}-{:02}-{:02}-{tag}.{ext}",
        t.date(),
        t.hour,
        t.minute,
        t.second
    )
}

/// What a generated camera folder should import as.
struct Expected {
    /// Output file names (video), with whether audio should be in them.
    videos: Vec<String>,
    /// Output picture names → the exact JPEG bytes.
    images: BTreeMap<String, Vec<u8>>,
}

/// `Camera-Tuin`: NAS layout (info.bin, two datadirs of different sizes), H.265 + AAC.
/// datadir0 (4 containers): file 0 three segments + two stale records; file 1 two segments;
/// file 2 is being written: one closed segment and one open (its file record is last
/// cycle's); file 3 never written; three pictures. datadir1 (2 containers): file 0 two later
/// segments; file 1 one segment starting the same second as the very first (clocks went
/// back), which must get a distinct name. With `close_open` the open segment has finished.
fn make_tuin(root: &Path, close_open: bool) -> Expected {
    let cam = root.join("Camera-Tuin");
    fixture::write_info(&cam, 2).unwrap();
    let clip = fixture::encode(&ClipSpec::small(VideoCodec::H265, Some(AudioKind::Aac))).unwrap();
    let mut packer = Packer::default();
    let mut pts = 4_140_102_110u64;
    let mut seg = |packer: &mut Packer, start: u32| {
        let p = packer.segment(&clip, at(start), pts, SEG_FRAMES);
        pts += 90_000 * 2;
        p
    };
    let mut videos = Vec::new();
    let name = |sec: u32| out_name(sec, "tuin", "mp4");

    let mut d0 = Datadir::create(&cam.join("datadir0"), 4).unwrap();
    for (file, starts) in [
        (0u32, vec![T0, T0 + 2, T0 + 4]),
        (1, vec![T0 + 10, T0 + 12]),
    ] {
        for s in starts {
            let p = seg(&mut packer, s);
            d0.push(file, &p, at(s), at(s + 2)).unwrap();
            videos.push(name(s));
        }
    }
    // Last cycle's leftovers in file 0: older times, offsets overlapping the new data.
    d0.push_stale(
        0,
        at(T0 - 86_400 * 20),
        at(T0 - 86_400 * 20 + 30),
        (0, 40_000),
    );
    d0.push_stale(
        0,
        at(T0 - 86_400 * 20 + 30),
        at(T0 - 86_400 * 20 + 60),
        (40_000, 90_000),
    );
    d0.push_stale(
        2,
        at(T0 - 86_400 * 19),
        at(T0 - 86_400 * 19 + 30),
        (0, 50_000),
    );
    let p = seg(&mut packer, T0 + 20);
    d0.push(2, &p, at(T0 + 20), at(T0 + 22)).unwrap();
    videos.push(name(T0 + 20));
    let p = seg(&mut packer, T0 + 22);
    if close_open {
        d0.push(2, &p, at(T0 + 22), at(T0 + 24)).unwrap();
        videos.push(name(T0 + 22));
    } else {
        d0.push_open(2, &p, at(T0 + 22)).unwrap();
    }
    if close_open {
        // The camera moved on to file 3.
        let p = seg(&mut packer, T0 + 24);
        d0.push_open(3, &p, at(T0 + 24)).unwrap();
    }
    let mut images = BTreeMap::new();
    for (i, s) in [T0 + 1, T0 + 3, T0 + 5].into_iter().enumerate() {
        let jpeg = fixture::jpeg(160, 120, i as u32).unwrap();
        d0.push_picture(0, &jpeg, at(s)).unwrap();
        images.insert(out_name(s, "tuin", "jpg"), jpeg);
    }
    d0.finish().unwrap();

    let mut d1 = Datadir::create(&cam.join("datadir1"), 2).unwrap();
    for s in [T0 + 30, T0 + 32] {
        let p = seg(&mut packer, s);
        d1.push(0, &p, at(s), at(s + 2)).unwrap();
        videos.push(name(s));
    }
    let p = seg(&mut packer, T0);
    d1.push(1, &p, at(T0), at(T0 + 2)).unwrap();
    videos.push(name(T0).replace("-tuin.mp4", "-tuin-d1f1s0.mp4"));
    d1.finish().unwrap();
    videos.sort();
    Expected { videos, images }
}

/// `voordeur`: SD-card layout (the index in the folder itself), H.264 + G.711 (which MP4
/// cannot hold), EZVIZ packed picture index, one segment whose bytes are garbage, one without
/// a stream map and one record pointing past the end of its container.
fn make_voordeur(root: &Path) -> Expected {
    let cam = root.join("voordeur");
    let clip = fixture::encode(&ClipSpec::small(VideoCodec::H264, Some(AudioKind::Alaw))).unwrap();
    let mut packer = Packer::default();
    let mut d = Datadir::create(&cam, 2).unwrap();
    d.pictures = PictureIndex::Packed96;
    let mut videos = Vec::new();
    for (i, s) in [T0 + 100, T0 + 102, T0 + 104, T0 + 106]
        .into_iter()
        .enumerate()
    {
        let mut p = packer.segment(&clip, at(s), 90_000 * u64::from(s), SEG_FRAMES);
        if i == 1 {
            p.bytes = vec![0x5A; p.bytes.len()]; // no pack header, no stream map
        } else if i == 3 {
            // No stream map: every PSM becomes a padding packet of the same length.
            let psm = p
                .bytes
                .windows(4)
                .position(|w| w == [0, 0, 1, 0xBC])
                .unwrap();
            p.bytes[psm + 3] = 0xBE;
        } else {
            videos.push(out_name(s, "voordeur", "mp4"));
        }
        d.push(0, &p, at(s), at(s + 2)).unwrap();
    }
    // A record whose bytes are past the end of its container.
    d.push_bogus(1, at(T0 + 110), at(T0 + 112), (0, 999_999_999));
    let mut images = BTreeMap::new();
    for (file, s) in [(0u32, T0 + 101), (1, T0 + 103)] {
        let jpeg = fixture::jpeg(160, 120, 5 + file).unwrap();
        d.push_picture(file, &jpeg, at(s)).unwrap();
        images.insert(out_name(s, "voordeur", "jpg"), jpeg);
    }
    d.finish().unwrap();
    Expected { videos, images }
}

fn settings(root: &Path, out: &Path) -> Settings {
    Settings {
        sources: vec![root.to_path_buf()],
        output: out.to_path_buf(),
        tags: sync::parse_translation("Camera-Tuin:tuin").unwrap(),
        interval: Duration::from_secs(60),
        retention_days: 0,
        lookback_days: 0,
        images: true,
        workers: 2,
        pipeline_dir: PathBuf::from("/nonexistent"),
    }
}

/// Every file under `dir` with its size, modification time and a checksum of its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime, u64)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                todo.push(e.path());
            } else {
                let bytes = std::fs::read(e.path()).unwrap();
                let sum = bytes
                    .iter()
                    .fold(0u64, |h, &b| h.rotate_left(5) ^ u64::from(b));
                out.push((e.path(), m.len(), m.modified().unwrap(), sum));
            }
        }
    }
    out.sort();
    out
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The sample entry of the MP4's video track (`avc1`, `hvc1`, ...).
fn video_tag(path: &Path) -> String {
    let b = std::fs::read(path).unwrap();
    for tag in [&b"avc1"[..], b"avc3", b"hvc1", b"hev1"] {
        if b.windows(4).any(|w| w == tag) {
            return String::from_utf8_lossy(tag).into_owned();
        }
    }
    String::new()
}

fn check_video(path: &Path, codec: &str, tag: &str, audio: usize) {
    let m = discover(path).unwrap();
    assert_eq!(m.video, codec, "{}", path.display());
    assert_eq!((m.width, m.height), (320, 240), "{}", path.display());
    assert!(
        m.duration > Duration::from_millis(1900) && m.duration < Duration::from_millis(2100),
        "{}: {:?}",
        path.display(),
        m.duration
    );
    assert_eq!(m.audio_streams, audio, "{}", path.display());
    assert_eq!(count_frames(path), SEG_FRAMES, "{}", path.display());
    assert_eq!(video_tag(path), tag, "{}", path.display());
}

fn decode_jpeg(path: &Path) {
    run_to_eos(&format!(
        "filesrc location=\"{}\" ! jpegdec ! fakesink",
        path.display()
    ));
}

#[test]
fn imports_cameras_skips_what_is_not_footage_and_is_idempotent() {
    let tmp = TempDir::new("hik-sync");
    let root = tmp.path().join("nas");
    let out = tmp.path().join("out");
    let tuin = make_tuin(&root, false);
    let voor = make_voordeur(&root);
    let s = settings(&root, &out);
    let stop = AtomicBool::new(false);
    let input_before = snapshot(&root);

    let summary = sync::run_once(&s, T0 as i64, &stop).unwrap();
    assert_eq!(
        snapshot(&root),
        input_before,
        "the camera's folder was written to"
    );
    let by_tag: BTreeMap<&str, &sync::CameraSummary> = summary
        .cameras
        .iter()
        .map(|c| (c.tag.as_str(), c))
        .collect();
    assert_eq!(by_tag.len(), 2, "{:?}", summary.lines());

    // Camera-Tuin: every current segment, none of the stale or open ones.
    assert_eq!(listing(&out.join("tuin/video")), tuin.videos);
    assert_eq!(by_tag["tuin"].video.new, tuin.videos.len());
    assert_eq!(by_tag["tuin"].video.failed, 0);
    assert_eq!(by_tag["tuin"].video.later, 1, "the open segment waits");
    for v in &tuin.videos {
        check_video(&out.join("tuin/video").join(v), "video/x-h265", "hvc1", 1);
    }
    assert_eq!(
        listing(&out.join("tuin/images")),
        tuin.images.keys().cloned().collect::<Vec<_>>()
    );
    for (name, jpeg) in &tuin.images {
        let p = out.join("tuin/images").join(name);
        assert_eq!(
            &std::fs::read(&p).unwrap(),
            jpeg,
            "{name}: not byte-identical"
        );
        decode_jpeg(&p);
    }

    // voordeur: the garbage segment, the one without a stream map and the record past its
    // container's end fail with a warning each, the others import; G.711 is not kept (MP4 cannot hold it), the video is.
    assert_eq!(listing(&out.join("voordeur/video")), voor.videos);
    assert_eq!(by_tag["voordeur"].video.failed, 3);
    for v in &voor.videos {
        check_video(
            &out.join("voordeur/video").join(v),
            "video/x-h264",
            "avc1",
            0,
        );
    }
    assert_eq!(
        listing(&out.join("voordeur/images")),
        voor.images.keys().cloned().collect::<Vec<_>>()
    );
    for (name, jpeg) in &voor.images {
        assert_eq!(
            &std::fs::read(out.join("voordeur/images").join(name)).unwrap(),
            jpeg
        );
    }
    assert!(summary.warnings >= 1);

    // Again: nothing new, nothing rewritten.
    let mtime = |p: PathBuf| std::fs::metadata(p).unwrap().modified().unwrap();
    let first = out.join("tuin/video").join(&tuin.videos[0]);
    let before = mtime(first.clone());
    let again = sync::run_once(&s, T0 as i64, &stop).unwrap();
    let t = again.cameras.iter().find(|c| c.tag == "tuin").unwrap();
    assert_eq!((t.video.new, t.video.skipped), (0, tuin.videos.len()));
    assert_eq!(t.images.new, 0);
    assert_eq!(mtime(first), before);

    // The camera finished the open segment and moved on: exactly that one is new.
    let tuin2 = make_tuin(&root, true);
    let third = sync::run_once(&s, T0 as i64, &stop).unwrap();
    let t = third.cameras.iter().find(|c| c.tag == "tuin").unwrap();
    assert_eq!(t.video.new, 1, "{:?}", third.lines());
    assert_eq!(listing(&out.join("tuin/video")), tuin2.videos);
    let no_parts = |d: &Path| listing(d).iter().all(|n| !n.ends_with(".part"));
    assert!(no_parts(&out.join("tuin/video")));
}

#[test]
fn lost_state_and_leftover_parts_never_duplicate() {
    let tmp = TempDir::new("hik-resume");
    let root = tmp.path().join("nas");
    let out = tmp.path().join("out");
    let tuin = make_tuin(&root, false);
    let s = settings(&root, &out);
    let stop = AtomicBool::new(false);
    sync::run_once(&s, T0 as i64, &stop).unwrap();
    // A crash before the state was saved, with a half-written output left behind.
    std::fs::remove_file(out.join(".nvr-hikvision/state.bin")).unwrap();
    std::fs::write(
        out.join("tuin/video/.2025-09-07_14-30-17-tuin.mp4.part"),
        b"half",
    )
    .unwrap();
    let again = sync::run_once(&s, T0 as i64, &stop).unwrap();
    assert_eq!(again.cameras[0].video.new, tuin.videos.len());
    assert_eq!(
        listing(&out.join("tuin/video")),
        tuin.videos,
        "same names, no duplicates, no .part"
    );
}

#[test]
fn lookback_and_retention_go_by_recording_time() {
    let tmp = TempDir::new("hik-retention");
    let root = tmp.path().join("nas");
    let out = tmp.path().join("out");
    make_tuin(&root, false);
    let mut s = settings(&root, &out);
    // Now = T0 + 1 day + 25 s (camera time), looking back 1 day: only segments from
    // T0 + 25 s on (datadir1 file 0: two segments) are new enough.
    let now = i64::from(T0) + 86_400 + 25
        - i64::from(nvr::time::LocalTime::from_unix(i64::from(T0)).offset);
    s.lookback_days = 1;
    let summary = sync::run_once(&s, now, &stop_flag()).unwrap();
    assert_eq!(summary.cameras[0].video.new, 2, "{:?}", summary.lines());
    assert_eq!(listing(&out.join("tuin/video")).len(), 2);
    // Retention of 1 day, a day later: both are deleted by their recording time (their
    // mtime is seconds old) and not imported again.
    s.retention_days = 1;
    let later = now + 86_400;
    let summary = sync::run_once(&s, later, &stop_flag()).unwrap();
    assert_eq!(summary.deleted, 2, "{:?}", summary.lines());
    assert!(listing(&out.join("tuin/video")).is_empty());
    let summary = sync::run_once(&s, later, &stop_flag()).unwrap();
    assert_eq!(summary.cameras[0].video.new, 0);
}

fn stop_flag() -> AtomicBool {
    AtomicBool::new(false)
}

#[test]
fn cli_sync_once_with_config_and_lock() {
    let tmp = TempDir::new("hik-cli");
    let root = tmp.path().join("nas");
    let out = tmp.path().join("out");
    let tuin = make_tuin(&root, false);
    // A camera folder that is not footage at all: a truncated index.
    std::fs::create_dir_all(root.join("broken")).unwrap();
    std::fs::write(root.join("broken/index00.bin"), vec![0u8; 700]).unwrap();
    let config = tmp.path().join("nvr.toml");
    std::fs::write(
        &config,
        format!(
            "[hikvision]\nsources = [\"{}\"]\noutput = \"{}\"\ntranslation = \"Camera-Tuin:tuin\"\nlookback_days = 0\nretention_days = 0\n",
            root.display(),
            out.display()
        ),
    )
    .unwrap();
    let run = || {
        Command::new(NVR)
            .args(["hikvision", "sync", "--once", "--config"])
            .arg(&config)
            .output()
            .unwrap()
    };
    let o = run();
    let log = String::from_utf8_lossy(&o.stderr).to_string() + &String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{log}");
    assert_eq!(listing(&out.join("tuin/video")), tuin.videos, "{log}");
    assert!(
        log.contains("broken") && log.contains("truncated index"),
        "{log}"
    );
    assert!(log.contains("tuin: video 9 new"), "{log}");

    // A second instance while one holds the lock: refused with the holder named.
    let lock = sync::Lock::acquire(&out).unwrap();
    let o = run();
    let log = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!o.status.success());
    assert!(log.contains("another nvr hikvision sync"), "{log}");
    drop(lock);

    // Config errors name the file, line and key.
    std::fs::write(
        &config,
        "[hikvision]\nsources = []\noutput = \"/tmp/x\"\ninterval_minutes = 0\n",
    )
    .unwrap();
    let o = run();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("nvr.toml:2: hikvision.sources"), "{err}");
    assert!(
        err.contains("nvr.toml:4: hikvision.interval_minutes"),
        "{err}"
    );
}

#[test]
fn nvr_run_imports_into_the_same_timeline() {
    let tmp = TempDir::new("hik-run");
    let root = tmp.path().join("nas");
    let out = tmp.path().join("imported");
    let tuin = make_tuin(&root, false);
    let storage = tmp.path().join("rec");
    let cfg = format!(
        "{}[hikvision]\nsources = [{:?}]\noutput = {:?}\ntranslation = \"Camera-Tuin:tuin\"\nlookback_days = 0\nretention_days = 0\n",
        config(&storage, 60, ""),
        root.display().to_string(),
        out.display().to_string()
    );
    let mut nvr = Nvr::start(tmp.path(), &cfg);
    let listed = |nvr: &Nvr| {
        let (_, body) = http_get(nvr.addr(), "/api/cameras");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["cameras"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "tuin")
            .cloned()
    };
    let cam = wait_for(Duration::from_secs(60), || {
        listed(&nvr).filter(|c| c["segments"] == tuin.videos.len())
    })
    .unwrap_or_else(|| panic!("imported footage not in the catalog:\n{}", nvr.log_text()));
    assert_eq!(cam["source"], "imported");
    assert_eq!(cam["configured"], false);
    // The first segment starts at the camera's wall clock, read as this machine's local time.
    let wall = i64::from(T0);
    let unix = nvr::time::unix_from_wall_clock(wall);
    assert_eq!(
        cam["first"],
        nvr::time::rfc3339_utc_ns(unix as u64 * 1_000_000_000)
    );
    // Export across imported segments: one MP4 a real demuxer reads.
    // (T0 + 10 .. T0 + 14: two segments of one container, back to back.)
    let from = nvr::time::rfc3339_utc_ns((unix as u64 + 10) * 1_000_000_000);
    let to = nvr::time::rfc3339_utc_ns((unix as u64 + 14) * 1_000_000_000);
    let (head, body) = http_get_raw(
        nvr.addr(),
        &format!("/api/cameras/tuin/export.mp4?from={from}&to={to}"),
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let f = tmp.path().join("export.mp4");
    std::fs::write(&f, body).unwrap();
    let m = discover(&f).unwrap();
    assert_eq!(m.video, "video/x-h265");
    // (A streamed export is fragmented; count frames rather than trust a header duration.)
    assert_eq!(count_frames(&f), 2 * SEG_FRAMES);
    nvr.stop();

    // After a restart the catalog finds the imported files again.
    let nvr = Nvr::start_with(tmp.path(), &tmp.path().join("nvr.toml"));
    let cam = wait_for(Duration::from_secs(30), || {
        listed(&nvr).filter(|c| c["segments"] == tuin.videos.len())
    });
    assert!(cam.is_some(), "{}", nvr.log_text());
    assert!(
        nvr.log_text().contains("hikvision: tuin: video 0 new"),
        "{}",
        nvr.log_text()
    );
}

/// Both routes give the same MP4: nvr's packet walk (the default) and `mpegpsdemux` (the
/// fallback for streams the walk does not handle), the latter fed with the pack stuffing
/// normalised; without that it drops frames whenever the camera's counter spells a start code.
#[test]
fn both_remux_routes_agree() {
    use nvr::hikvision::remux::{self, Route};
    let tmp = TempDir::new("hik-routes");
    let root = tmp.path().join("nas");
    make_tuin(&root, false);
    let dir = root.join("Camera-Tuin/datadir0");
    let idx =
        nvr::hikvision::index::parse(&std::fs::read(dir.join("index00.bin")).unwrap(), |_| None)
            .unwrap();
    // Every segment of the folder, so the stuffing counter passes 0x1BA..0x1E0.
    for (i, seg) in idx.segments.iter().enumerate() {
        let range = u64::from(seg.start_offset)..u64::from(seg.end_offset);
        let src = dir.join(format!("hiv{:05}.mp4", seg.file));
        let mut frames = Vec::new();
        for route in [Route::Direct, Route::Demuxer] {
            let out = tmp.path().join(format!("{i}-{route:?}.mp4"));
            let r = remux::remux_via(route, Path::new("/nonexistent"), &src, range.clone(), &out)
                .unwrap();
            assert!(r.audio_kept);
            check_video(&out, "video/x-h265", "hvc1", 1);
            frames.push(count_frames(&out));
        }
        assert_eq!(frames, [SEG_FRAMES, SEG_FRAMES]);
    }
}

/// Cameras with B-frames write presentation times that go back and forth and no decode
/// times: such segments take the `mpegpsdemux` route. Each output must last exactly its
/// frames (2 s), not be stretched as B-frame RTSP cameras once were.
#[test]
fn b_frame_segments_import_in_real_time() {
    use nvr::hikvision::remux;
    let tmp = TempDir::new("hik-bframes");
    for codec in [VideoCodec::H264, VideoCodec::H265] {
        let spec = ClipSpec {
            bframes: 2,
            ..ClipSpec::small(codec, Some(AudioKind::Aac))
        };
        let clip = fixture::encode(&spec).unwrap();
        assert!(
            clip.aus.iter().any(|a| a.pts_offset > 0),
            "{codec:?}: no B-frames"
        );
        let dir = tmp.path().join(format!("{codec:?}"));
        let mut d = Datadir::create(&dir, 1).unwrap();
        let mut packer = Packer::default();
        for (i, s) in [T0, T0 + 2].into_iter().enumerate() {
            let p = packer.segment(&clip, at(s), 1_000_000 + i as u64 * 180_000, SEG_FRAMES);
            d.push(0, &p, at(s), at(s + 2)).unwrap();
        }
        d.finish().unwrap();
        let idx =
            nvr::hikvision::index::parse(&std::fs::read(dir.join("index00.bin")).unwrap(), |_| {
                None
            })
            .unwrap();
        assert_eq!(idx.segments.len(), 2);
        for (i, seg) in idx.segments.iter().enumerate() {
            let range = u64::from(seg.start_offset)..u64::from(seg.end_offset);
            let src = dir.join(format!("hiv{:05}.mp4", seg.file));
            let out = tmp.path().join(format!("{codec:?}-{i}.mp4"));
            remux::remux(Path::new("/nonexistent"), &src, range, &out).unwrap();
            assert_eq!(count_frames(&out), SEG_FRAMES, "{codec:?} {i}");
            let secs = discover(&out).unwrap().duration.as_secs_f64();
            assert!(
                (secs - 2.0).abs() <= 0.02,
                "{codec:?} segment {i}: 50 frames at 25 fps last {secs:.3} s"
            );
        }
    }
}
