//! Helpers for integration tests: real processes, real RTSP, real demuxing.
//!
//! Every test gets its own temp folder and lets the kernel pick ports (port 0), so tests run
//! in parallel without colliding. Waits poll a condition with a generous deadline; nothing
//! here asserts on how fast something happened except where the product promises a bound.
#![allow(dead_code)]

use gst_pbutils::prelude::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const NVR: &str = env!("CARGO_BIN_EXE_nvr");

/// A fresh, empty folder for one test (removed when dropped unless the test failed).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("nvr-it-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// `nvr testcam` in its own process: a real gst-rtsp-server.
pub struct Camera {
    child: Child,
    pub url: String,
    pub port: u16,
    clients: Arc<AtomicUsize>,
}

impl Camera {
    /// Starts a test camera with extra `nvr testcam` options (e.g. `["--codec", "h265"]`).
    pub fn start(args: &[&str]) -> Camera {
        Self::start_on(0, args)
    }

    pub fn start_on(port: u16, args: &[&str]) -> Camera {
        let mut child = Command::new(NVR)
            .arg("testcam")
            .args(["--port", &port.to_string()])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn nvr testcam");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines
            .next()
            .expect("testcam printed nothing")
            .expect("testcam stdout");
        let url = first
            .strip_prefix("url ")
            .unwrap_or_else(|| panic!("testcam said {first:?}"))
            .to_string();
        let port = url
            .rsplit(':')
            .next()
            .and_then(|r| r.split('/').next())
            .and_then(|p| p.parse().ok())
            .expect("port in url");
        let clients = Arc::new(AtomicUsize::new(0));
        let c = clients.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if line == "client" {
                    c.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        Camera {
            child,
            url,
            port,
            clients,
        }
    }

    /// RTSP client connections so far.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::SeqCst)
    }

    /// Freezes the camera process (SIGSTOP): its TCP connections stay open but nothing is
    /// sent, like a hung camera. `resume` undoes it.
    pub fn freeze(&self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGSTOP) };
    }

    pub fn resume(&self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGCONT) };
    }

    /// Pulls the plug: SIGKILL, as a camera losing power.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nvr run` in its own process, with its log captured to a file.
pub struct Nvr {
    child: Option<Child>,
    pub log: PathBuf,
    pub config: PathBuf,
    addr: Option<String>,
}

impl Nvr {
    /// Writes `config` to `dir/nvr.toml` and starts `nvr run` on it.
    pub fn start(dir: &Path, config: &str) -> Nvr {
        let path = dir.join("nvr.toml");
        std::fs::write(&path, config).unwrap();
        Self::start_with(dir, &path)
    }

    pub fn start_with(dir: &Path, config: &Path) -> Nvr {
        Self::start_env(dir, config, &[])
    }

    /// Like [`Nvr::start_with`], with extra environment variables.
    ///
    /// Footage needs a login: unless the config names its own `auth_dir`, the test's folder
    /// gets one (`dir/auth`, written into the config), with an API token made by
    /// `nvr token add` that [`http_get`] sends to this server.
    pub fn start_env(dir: &Path, config: &Path, env: &[(&str, &str)]) -> Nvr {
        let token = test_token(dir, config);
        let n = std::fs::read_dir(dir).unwrap().count();
        let log = dir.join(format!("nvr-{n}.log"));
        let child = Command::new(NVR)
            .args(["run", "--config"])
            .arg(config)
            .envs(env.iter().copied())
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn nvr run");
        let mut nvr = Nvr {
            child: Some(child),
            log,
            config: config.to_path_buf(),
            addr: None,
        };
        let addr = wait_for(Duration::from_secs(20), || {
            nvr.log_text()
                .lines()
                .find_map(|l| l.split("serving /status on http://").nth(1))
                .map(|a| a.trim().to_string())
        })
        .unwrap_or_else(|| panic!("nvr did not start HTTP:\n{}", nvr.log_text()));
        if let Some(t) = token {
            TOKENS.lock().unwrap().push((addr.clone(), t));
        }
        nvr.addr = Some(addr);
        nvr
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn status(&self) -> serde_json::Value {
        let (_, body) = http_get(self.addr.as_ref().unwrap(), "/status");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("bad /status JSON {e}: {body}"))
    }

    pub fn addr(&self) -> &str {
        self.addr.as_ref().unwrap()
    }

    /// The camera object named `name` in /status.
    pub fn camera(&self, name: &str) -> Option<serde_json::Value> {
        self.status()["cameras"]
            .as_array()?
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
    }

    /// Waits until camera `name` is in `state`, returning its status object.
    pub fn wait_state(&self, name: &str, state: &str, within: Duration) -> serde_json::Value {
        wait_for(within, || self.camera(name).filter(|c| c["state"] == state)).unwrap_or_else(
            || {
                panic!(
                    "camera {name} never reached {state}: {:?}\n--- log ---\n{}",
                    self.camera(name),
                    self.log_text()
                )
            },
        )
    }

    /// Waits until camera `name` has written at least `n` segments.
    pub fn wait_segments(&self, name: &str, n: u64, within: Duration) {
        wait_for(within, || {
            self.camera(name)
                .filter(|c| c["segments_written"].as_u64().unwrap_or(0) >= n)
        })
        .unwrap_or_else(|| {
            panic!(
                "camera {name} wrote fewer than {n} segments: {:?}\n--- log ---\n{}",
                self.camera(name),
                self.log_text()
            )
        });
    }

    /// SIGTERM and wait; returns how long the exit took and the exit status.
    pub fn stop(&mut self) -> (Duration, std::process::ExitStatus) {
        let child = self.child.as_mut().unwrap();
        let t = Instant::now();
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait().unwrap();
        self.child = None;
        (t.elapsed(), status)
    }

    /// Sends SIGHUP (reload the configuration).
    pub fn hup(&self) {
        let child = self.child.as_ref().unwrap();
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
    }

    /// What the catalog said at this start: `catalog: N segments (F found on disk, G gone)`.
    pub fn catalog_at_start(&self) -> String {
        wait_for(Duration::from_secs(10), || {
            self.log_text()
                .lines()
                .find(|l| l.contains("catalog: ") && l.contains("found on disk"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no catalog line:\n{}", self.log_text()))
    }

    /// What the process holds now: (open file descriptors, threads), from /proc.
    pub fn holdings(&self) -> (usize, usize) {
        let pid = self.child.as_ref().unwrap().id();
        let count = |what: &str| {
            std::fs::read_dir(format!("/proc/{pid}/{what}"))
                .map(|d| d.count())
                .unwrap_or(0)
        };
        (count("fd"), count("task"))
    }

    /// (start, end) in Unix ns of the camera's segments in the catalog, oldest first.
    pub fn spans(&self, camera: &str) -> Vec<(u64, u64)> {
        let (_, body) = http_get(self.addr(), &format!("/api/cameras/{camera}/segments"));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut segs: Vec<(u64, u64)> = v["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                let a = x["start_ns"].as_u64().unwrap();
                (a, a + (x["duration_s"].as_f64().unwrap() * 1e9) as u64)
            })
            .collect();
        segs.sort();
        segs
    }

    /// Resident memory (KiB) and CPU time used so far (user + system, in clock ticks), from
    /// /proc.
    pub fn usage(&self) -> (u64, u64) {
        let pid = self.child.as_ref().unwrap().id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // The fields after the command name (in parentheses, which may hold spaces).
        let rest: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let ticks = rest[11].parse::<u64>().unwrap() + rest[12].parse::<u64>().unwrap();
        (rss, ticks)
    }

    /// Bytes the process has caused to be written to storage so far (the kernel's count, at
    /// page-dirtying time: `write_bytes` of /proc/PID/io).
    pub fn write_bytes(&self) -> u64 {
        let pid = self.child.as_ref().unwrap().id();
        let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap();
        io.lines()
            .find_map(|l| l.strip_prefix("write_bytes: "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    }

    /// SIGKILL: no chance to finalize anything.
    pub fn kill9(&mut self) {
        let child = self.child.as_mut().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        self.child = None;
    }
}

impl Drop for Nvr {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The segments cover `from..to` without a hole longer than 0.3 s.
pub fn assert_covered(segs: &[(u64, u64)], from: u64, to: u64, what: &str) {
    let first = segs.iter().position(|&(_, b)| b > from);
    let Some(first) = first else {
        panic!("{what}: nothing kept after {from}: {segs:?}")
    };
    assert!(
        segs[first].0 <= from,
        "{what}: kept from {} s after the padded start {from}: {segs:?}",
        (segs[first].0 as f64 - from as f64) / 1e9
    );
    let mut reached = segs[first].1;
    for &(a, b) in &segs[first + 1..] {
        if reached >= to {
            break;
        }
        assert!(
            a <= reached + 300_000_000,
            "{what}: a hole of {:.2} s at {reached}: {segs:?}",
            (a - reached) as f64 / 1e9
        );
        reached = reached.max(b);
    }
    assert!(
        reached >= to,
        "{what}: kept up to {:.2} s before the padded end {to}: {segs:?}",
        (to - reached) as f64 / 1e9
    );
}

/// Polls `f` every 100 ms until it returns `Some` or `within` passes.
pub fn wait_for<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `nvr ARGS --config CONFIG` with `stdin` on its standard input (passwords are read from
/// there, never from an argument); its output.
pub fn nvr_with_input(config: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(NVR)
        .args(args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nvr");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The API token of each server the test started (its address, the token).
static TOKENS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
/// The token made in each accounts folder (a restart on the same config reuses it).
static MADE: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());

/// The `Authorization` header line for the server at `addr`, if it has a test token.
pub fn auth_header(addr: &str) -> String {
    TOKENS
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(a, _)| a == addr)
        .map(|(_, t)| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default()
}

/// Gives the config an `auth_dir` in `dir` when it names none, and makes an API token there
/// with the real command (none when the config turns auth off).
fn test_token(dir: &Path, config: &Path) -> Option<String> {
    let mut text = std::fs::read_to_string(config).unwrap_or_default();
    let parsed: toml::Table = toml::from_str(&text).unwrap_or_default();
    let http = parsed.get("http").and_then(|h| h.as_table());
    if http.and_then(|h| h.get("auth")).and_then(|a| a.as_str()) == Some("off") {
        return None;
    }
    let auth_dir = match http
        .and_then(|h| h.get("auth_dir"))
        .and_then(|a| a.as_str())
    {
        Some(d) => PathBuf::from(d),
        None => {
            let d = dir.join("auth");
            let line = format!("auth_dir = {:?}\n", d.display().to_string());
            text = if text.contains("[http]\n") {
                text.replacen("[http]\n", &format!("[http]\n{line}"), 1)
            } else {
                format!("{text}\n[http]\n{line}")
            };
            std::fs::write(config, &text).unwrap();
            d
        }
    };
    let mut made = MADE.lock().unwrap();
    if let Some((_, t)) = made.iter().find(|(d, _)| *d == auth_dir) {
        return Some(t.clone());
    }
    let out = nvr_with_input(config, &["token", "add", "tests"], "");
    assert!(
        out.status.success(),
        "nvr token add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|w| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .expect("a token in the output of nvr token add")
        .to_string();
    made.push((auth_dir, token.clone()));
    Some(token)
}

/// A plain HTTP/1.0 GET: (status line + headers, body), with the server's test token.
pub fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = auth_header(addr);
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{auth}\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    (head.to_string(), body.to_string())
}

/// What GStreamer's Discoverer (a real demuxer) says about a file.
#[derive(Debug, Clone)]
pub struct Media {
    pub duration: Duration,
    /// Caps name of the video stream, e.g. `video/x-h264`.
    pub video: String,
    pub video_caps: String,
    pub width: u32,
    pub height: u32,
    pub audio_streams: usize,
}

pub fn discover(path: &Path) -> Result<Media, String> {
    gst::init().unwrap();
    let d = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(15)).unwrap();
    let uri = format!("file://{}", path.canonicalize().unwrap().display());
    let info = d
        .discover_uri(&uri)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let video = info
        .video_streams()
        .into_iter()
        .next()
        .ok_or_else(|| format!("{}: no video stream", path.display()))?;
    let caps = video.caps().ok_or("video without caps")?;
    Ok(Media {
        duration: info.duration().map(|d| d.into()).unwrap_or_default(),
        video: caps.structure(0).unwrap().name().to_string(),
        video_caps: caps.to_string(),
        width: video.width(),
        height: video.height(),
        audio_streams: info.audio_streams().len(),
    })
}

/// Counts the video frames a real demuxer finds in a file.
pub fn count_frames(path: &Path) -> usize {
    frame_times(path).len()
}

/// The presentation time (ns) of each video frame of an MP4, as qtdemux gives them (edit
/// list applied), in decode order.
pub fn frame_times(path: &Path) -> Vec<u64> {
    gst::init().unwrap();
    use gst::prelude::*;
    let p = gst::parse::launch(&format!(
        "filesrc location=\"{}\" ! qtdemux name=d d.video_0 ! fakesink name=s signal-handoffs=true",
        path.display()
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let times = Arc::new(Mutex::new(Vec::new()));
    let t = times.clone();
    p.by_name("s")
        .unwrap()
        .connect("handoff", false, move |args| {
            let pts = args[1]
                .get::<gst::Buffer>()
                .ok()
                .and_then(|b| b.pts())
                .map_or(u64::MAX, |p| p.nseconds());
            t.lock().unwrap().push(pts);
            None
        });
    p.set_state(gst::State::Playing).unwrap();
    let bus = p.bus().unwrap();
    let _ = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(30),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    p.set_state(gst::State::Null).unwrap();
    std::mem::take(&mut *times.lock().unwrap())
}

/// All `.mp4` files of `camera` under `storage`, sorted by name (= time within a day).
pub fn segments(storage: &Path, camera: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(days) = std::fs::read_dir(storage.join(camera)) else {
        return out;
    };
    for day in days.flatten() {
        for f in std::fs::read_dir(day.path()).unwrap().flatten() {
            if f.path().extension().is_some_and(|e| e == "mp4") {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

/// Seconds since local midnight encoded in a segment name `HH-MM-SS±hhmm[-n].mp4`.
pub fn name_seconds(path: &Path) -> u32 {
    let stem = path.file_stem().unwrap().to_str().unwrap();
    let parts: Vec<u32> = stem[..8].split('-').map(|p| p.parse().unwrap()).collect();
    parts[0] * 3600 + parts[1] * 60 + parts[2]
}

/// The day folder a segment is in (`YYYY-MM-DD`).
fn day_of(path: &Path) -> &str {
    path.parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
}

/// A segment's start as nvr's time syntax takes it, from its folder and name:
/// `…/2026-11-29/21-05-17+0100.mp4` → `2026-11-29T21:05:17+01:00`.
pub fn segment_start(path: &Path) -> String {
    let day = path
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    let s = path.file_stem().unwrap().to_str().unwrap();
    format!(
        "{day}T{}:{}:{}{}:{}",
        &s[0..2],
        &s[3..5],
        &s[6..8],
        &s[8..11],
        &s[11..13]
    )
}

/// True if a segment name has the documented shape.
pub fn well_named(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_str().unwrap();
    let day = day_of(path);
    let b = name.as_bytes();
    day.len() == 10
        && day.as_bytes()[4] == b'-'
        && name.len() >= 17
        && b[2] == b'-'
        && b[5] == b'-'
        && (b[8] == b'+' || b[8] == b'-')
        && b[..8]
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit())
        && b[9..13].iter().all(u8::is_ascii_digit)
        && name.ends_with(".mp4")
}

/// A config with `segment_seconds` and the given camera tables, HTTP on a free port.
pub fn config(storage: &Path, segment_seconds: u32, cameras: &str) -> String {
    format!(
        "[storage]\npath = {:?}\nsegment_seconds = {segment_seconds}\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n{cameras}",
        storage.display().to_string()
    )
}

pub fn camera_table(name: &str, url: &str, extra: &str) -> String {
    format!("[[camera]]\nname = {name:?}\nurl = {url:?}\n{extra}\n")
}

/// An HTTP/1.1 GET returning the raw head and the body bytes (chunked encoding decoded).
pub fn http_get_raw(addr: &str, path: &str) -> (String, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let auth = auth_header(addr);
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP head");
    let head = String::from_utf8_lossy(&resp[..split]).into_owned();
    let mut body = resp[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let nl = body[i..].windows(2).position(|w| w == b"\r\n").unwrap() + i;
            let size = usize::from_str_radix(std::str::from_utf8(&body[i..nl]).unwrap().trim(), 16)
                .unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&body[nl + 2..nl + 2 + size]);
            i = nl + 2 + size + 2;
        }
        body = out;
    }
    (head, body)
}

/// Runs a gst-launch description to EOS (60 s at most), failing the test on an error.
pub fn run_to_eos(desc: &str) {
    gst::init().unwrap();
    use gst::prelude::*;
    let p = gst::parse::launch(desc).unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let msg = p
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .unwrap_or_else(|| panic!("timed out: {desc}"));
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
    p.set_state(gst::State::Null).unwrap();
}

/// Encodes `frames` frames (10 fps, a keyframe every 10) into a real MP4 at `path`.
pub fn sample_mp4(path: &Path, frames: u32) {
    run_to_eos(&format!(
        "videotestsrc num-buffers={frames} ! video/x-raw,width=160,height=120,framerate=10/1 \
         ! x264enc speed-preset=ultrafast key-int-max=10 ! h264parse ! mp4mux \
         ! filesink location=\"{}\"",
        path.display()
    ));
}

/// Places a copy of `sample` as camera `camera`'s segment that started at Unix time `secs`,
/// named as nvr names them (UTC offset +0000).
pub fn place_segment(storage: &Path, camera: &str, sample: &Path, secs: i64) -> PathBuf {
    let t = nvr::time::LocalTime::utc(secs);
    let path = storage
        .join(camera)
        .join(t.date())
        .join(format!("{}.mp4", t.file_stem()));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::copy(sample, &path).unwrap();
    path
}

/// x264enc as the test clips use it: a keyframe every 10 frames; with `kbps`, at that
/// constant bitrate, padded with filler data as a camera in CBR mode sends.
pub fn encoder(kbps: Option<u32>) -> String {
    let cbr = kbps.map_or(String::new(), |k| {
        format!("bitrate={k} pass=cbr vbv-buf-capacity=1000 option-string=nal-hrd=cbr:filler")
    });
    format!("x264enc speed-preset=ultrafast tune=zerolatency key-int-max=10 {cbr}")
}

/// A stretch of a test scene, in frames at 10 fps.
#[derive(Clone, Copy, Debug)]
pub enum Scene {
    /// The picture does not change.
    Still(u32),
    /// A ball moves.
    Moving(u32),
}

/// An H.264 clip (Annex B, 320x240 at 10 fps, a keyframe a second) of these stretches in
/// order. With `kbps`, at that constant bitrate (padded with filler data, as a camera in
/// CBR mode sends): a still scene then costs as much disk as a moving one.
pub fn scene_clip(path: &Path, scenes: &[Scene], kbps: Option<u32>) {
    let caps = "video/x-raw,width=320,height=240,framerate=10/1";
    let cbr = kbps.map_or(String::new(), |k| {
        format!("bitrate={k} pass=cbr vbv-buf-capacity=1000 option-string=nal-hrd=cbr:filler")
    });
    let enc = format!(
        "x264enc speed-preset=ultrafast tune=zerolatency key-int-max=10 {cbr} \
         ! video/x-h264,stream-format=byte-stream,profile=constrained-baseline"
    );
    let mut out = Vec::new();
    for (i, scene) in scenes.iter().enumerate() {
        let desc = match scene {
            Scene::Still(n) => format!(
                "videotestsrc pattern=ball num-buffers=1 ! imagefreeze num-buffers={n} ! {caps} ! {enc}"
            ),
            Scene::Moving(n) => {
                format!("videotestsrc pattern=ball num-buffers={n} ! {caps} ! {enc}")
            }
        };
        let part = path.with_extension(format!("part{i}"));
        run_to_eos(&format!(
            "{desc} ! filesink location=\"{}\"",
            part.display()
        ));
        out.extend(std::fs::read(&part).unwrap());
        std::fs::remove_file(&part).unwrap();
    }
    std::fs::write(path, out).unwrap();
}
