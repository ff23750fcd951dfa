//! The web page in a real browser (Debian's chromium, headless): it lists the camera, draws
//! the day's segments, plays a moment through the export endpoint, and shows motion events
//! with their snapshots.

mod common;
use common::*;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The page's DOM after its scripts ran, as chromium sees it. Each call gets a profile of
/// its own (a profile still locked by an exiting browser stalls the next one) and at most
/// a minute.
fn dom(dir: &std::path::Path, url: &str) -> String {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let profile = dir.join(format!(
        "chromium-{}",
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    let mut child = Command::new("chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--mute-audio",
            "--autoplay-policy=no-user-gesture-required",
            "--virtual-time-budget=20000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium (Debian's package; scripts/install-deps.sh --test installs it)");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut html = String::new();
        let _ = stdout.read_to_string(&mut html);
        html
    });
    let done = wait_for(Duration::from_secs(60), || child.try_wait().ok().flatten());
    if done.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("chromium took over a minute on {url}");
    }
    reader.join().unwrap()
}

#[test]
fn the_page_shows_the_day_plays_footage_and_lists_events() {
    let dir = TempDir::new("web");
    let storage = dir.path().join("rec");
    let cam = Camera::start(&["--pattern", "ball"]);
    let nvr = Nvr::start(
        dir.path(),
        &config(
            &storage,
            2,
            &camera_table("porch", &cam.url, "motion = true"),
        ),
    );
    nvr.wait_segments("porch", 3, Duration::from_secs(40));

    let (head, body) = http_get(nvr.addr(), "/");
    assert!(head.contains(" 200 OK"), "{head}");
    assert!(
        head.contains("Content-Security-Policy: default-src 'self'"),
        "{head}"
    );
    assert!(body.contains("<script src=\"/ui/app.js\""));

    // A moment inside the first segment: the page loads the player from the export.
    let (_, segs) = http_get(nvr.addr(), "/api/cameras/porch/segments");
    let segs: serde_json::Value = serde_json::from_str(&segs).unwrap();
    let t = segs["segments"][0]["start_ns"].as_u64().unwrap() / 1_000_000_000 + 1;
    let page = format!("http://{}/?camera=porch&t={t}", nvr.addr());
    let html = wait_for(Duration::from_secs(60), || {
        let html = dom(dir.path(), &page);
        html.contains("data-loaded=").then_some(html)
    })
    .unwrap_or_else(|| panic!("the player never loaded:\n{}", dom(dir.path(), &page)));
    assert!(html.contains("data-ready=\"true\""), "{html}");
    assert!(html.contains("data-camera=\"porch\""), "{html}");
    assert!(html.contains("data-loaded=\"320x240\""), "{html}");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert!(
        html.contains(&format!("<h1>nvr · {}</h1>", host.trim())),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "/api/cameras/porch/export.mp4?from={t}&amp;to={}",
            t + 600
        )),
        "{html}"
    );
    // Every segment is drawn; those after the 3 s settling time hold motion.
    let drawn = html.matches("class=\"seg").count();
    let motion = html.matches("class=\"seg motion\"").count();
    assert!(
        drawn >= 3 && motion >= 1,
        "{drawn} segments, {motion} with motion:\n{html}"
    );
    assert!(!html.contains("id=\"error\" role=\"alert\">"), "{html}");

    // The camera goes away: its event closes and the page lists it with its snapshot.
    cam.kill();
    let html = wait_for(Duration::from_secs(60), || {
        let html = dom(dir.path(), &format!("http://{}/?camera=porch", nvr.addr()));
        html.contains("/api/events/1/snapshot.jpg").then_some(html)
    })
    .unwrap_or_else(|| panic!("no event listed:\n{}", nvr.log_text()));
    assert!(
        html.contains("class=\"event\""),
        "no event mark on the timeline:\n{html}"
    );
    assert!(html.contains("peak "), "{html}");
}

/// A browser opens several keep-alive connections at once and keeps them open; every request
/// on every one of them is answered (tiny_http as released could queue a connection behind a
/// busy thread until another connection closed: vendor/tiny_http/NVR-PATCH.md).
#[test]
fn a_burst_of_keep_alive_connections_is_served() {
    use std::io::{BufRead, BufReader, Write};
    let dir = TempDir::new("web-burst");
    let nvr = Nvr::start(dir.path(), &config(&dir.path().join("rec"), 60, ""));
    let addr = nvr.addr().to_string();
    for round in 0..5 {
        let start = std::sync::Barrier::new(12);
        let served = std::thread::scope(|s| {
            let clients: Vec<_> = (0..12)
                .map(|_| {
                    s.spawn(|| {
                        let mut c = std::net::TcpStream::connect(&addr).unwrap();
                        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                        start.wait();
                        write!(c, "GET /status HTTP/1.1\r\nHost: nvr\r\n\r\n").unwrap();
                        let mut line = String::new();
                        let ok = BufReader::new(&c).read_line(&mut line).is_ok()
                            && line.starts_with("HTTP/1.1 200");
                        // Hold the connection open (keep-alive) until everyone is answered.
                        (ok, c)
                    })
                })
                .collect();
            let results: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
            results.iter().filter(|(ok, _)| *ok).count()
        });
        assert_eq!(
            served, 12,
            "round {round}: {served} of 12 connections answered"
        );
    }
}
