//! Soak: eight cameras recorded for ten minutes (`NVR_SOAK_MINUTES` sets how long;
//! `scripts/reliability.sh` runs an hour). Memory does not creep, threads and open files stay
//! where they settled, CPU stays flat, and every second of every camera is on disk.
//!
//! Alone in its test binary, so nothing else shares the machine's CPU while it measures.

mod common;
use common::*;
use std::time::{Duration, Instant};

const CAMERAS: usize = 8;

/// One look at the process.
#[derive(Debug)]
struct Look {
    at: Duration,
    rss: u64,
    ticks: u64,
    files: usize,
    threads: usize,
}

#[test]
fn eight_cameras_for_ten_minutes_hold_steady() {
    let minutes: u64 = std::env::var("NVR_SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(10);
    let dir = TempDir::new("soak");
    let storage = dir.path().join("rec");
    // 20 s of a moving ball, 320x240 at 10 fps and 1 Mbit/s, served in a loop (the server
    // encodes nothing while the soak runs).
    let clip = dir.path().join("clip.h264");
    run_to_eos(&format!(
        "videotestsrc pattern=ball num-buffers=200 ! video/x-raw,width=320,height=240,framerate=10/1 \
         ! {} ! video/x-h264,stream-format=byte-stream,profile=constrained-baseline \
         ! filesink location=\"{}\"",
        encoder(Some(1000)),
        clip.display()
    ));
    let cam = Camera::start(&["--file", clip.to_str().unwrap(), "--fps", "10"]);
    let cameras: String = (0..CAMERAS)
        .map(|i| camera_table(&format!("cam{i}"), &cam.url, ""))
        .collect();
    let nvr = Nvr::start(dir.path(), &config(&storage, 10, &cameras));
    for i in 0..CAMERAS {
        nvr.wait_segments(&format!("cam{i}"), 1, Duration::from_secs(60));
    }
    // Settled: the first segments closed, previews made. Then a look every 30 s.
    std::thread::sleep(Duration::from_secs(20));
    let from = nvr::time::unix_now_ns();
    let started = Instant::now();
    let mut looks = Vec::new();
    while started.elapsed() < Duration::from_secs(minutes * 60) {
        let (rss, ticks) = nvr.usage();
        let (files, threads) = nvr.holdings();
        let at = started.elapsed();
        eprintln!(
            "{:>5.0} s: RSS {rss:>6} KiB, CPU {ticks:>6} ticks, {files} files, {threads} threads",
            at.as_secs_f64()
        );
        looks.push(Look {
            at,
            rss,
            ticks,
            files,
            threads,
        });
        std::thread::sleep(Duration::from_secs(30));
    }
    let to = nvr::time::unix_now_ns();
    let third = (looks.len() / 3).max(1);
    let (first, last) = (&looks[..third], &looks[looks.len() - third..]);

    // Trends need a few looks per third: shorter runs only check the coverage.
    if third < 3 {
        eprintln!("{} looks: too few to judge trends", looks.len());
    } else {
        // Memory: the last third's highest RSS within 5 % of the first third's highest.
        let peak = |ls: &[Look]| ls.iter().map(|l| l.rss).max().unwrap();
        let growth = peak(last) as f64 / peak(first) as f64 - 1.0;
        eprintln!("RSS growth {:.1} %", growth * 100.0);
        assert!(growth < 0.05, "RSS grew {:.1} %", growth * 100.0);
        // Threads and files come and go with each segment's finalizing; a leak raises the floor:
        // the last third's fewest must not exceed the first third's most.
        let fewest = |ls: &[Look], f: fn(&Look) -> usize| ls.iter().map(f).min().unwrap();
        let most = |ls: &[Look], f: fn(&Look) -> usize| ls.iter().map(f).max().unwrap();
        for (what, f) in [
            ("open files", (|l: &Look| l.files) as fn(&Look) -> usize),
            ("threads", |l: &Look| l.threads),
        ] {
            assert!(fewest(last, f) <= most(first, f), "{what} grew: {looks:?}");
        }
        // CPU: ticks per second over the first and the last third, within a third of each other.
        let rate = |ls: &[Look]| {
            let (a, b) = (ls.first().unwrap(), ls.last().unwrap());
            (b.ticks - a.ticks) as f64 / (b.at - a.at).as_secs_f64().max(1.0)
        };
        let (r0, r1) = (rate(first), rate(last));
        eprintln!("CPU {r0:.1} ticks/s first third, {r1:.1} last");
        // One line for the reliability table (scripts/reliability.sh).
        let mb = |kib: u64| kib as f64 / 1024.0;
        eprintln!(
            "figure soak: {minutes} min: RSS {:.1} → {:.1} MB (peak growth {:.1} %), {}–{} \
             threads, {}–{} open files, CPU {r0:.1} → {r1:.1} ticks/s, no hole, no reconnect",
            mb(looks[0].rss),
            mb(looks[looks.len() - 1].rss),
            growth * 100.0,
            looks.iter().map(|l| l.threads).min().unwrap(),
            looks.iter().map(|l| l.threads).max().unwrap(),
            looks.iter().map(|l| l.files).min().unwrap(),
            looks.iter().map(|l| l.files).max().unwrap(),
        );
        assert!(
            r1 <= r0 * 1.33 && r1 >= r0 * 0.75,
            "CPU {r0:.1} -> {r1:.1} ticks/s"
        );
    }

    // Every second of every camera between the first and the last look is in a segment.
    for i in 0..CAMERAS {
        let name = format!("cam{i}");
        // The open segment (not in the catalog yet) covers at most its length before `to`.
        assert_covered(&nvr.spans(&name), from, to - 11_000_000_000, &name);
        assert_eq!(nvr.camera(&name).unwrap()["reconnects"], 0, "{name}");
    }
}
