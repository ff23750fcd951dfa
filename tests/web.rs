//! The web page in a real browser (Debian's chromium, headless): it lists the camera, draws
//! the day's segments, plays a moment through the export endpoint, and shows motion events
//! with their snapshots.

mod common;
use common::*;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Debian's chromium, headless, driven over its DevTools pipe (file descriptors 3 and 4,
/// NUL-separated JSON): a real browser that keeps its cookies between pages, so the test logs
/// in through the page like a person. Each browser gets a profile of its own.
struct Browser {
    child: std::process::Child,
    to: std::io::PipeWriter,
    from: std::sync::mpsc::Receiver<serde_json::Value>,
    next: u64,
    session: String,
}

impl Browser {
    fn start(dir: &std::path::Path) -> Browser {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let profile = dir.join(format!(
            "chromium-{}",
            CALLS.fetch_add(1, Ordering::Relaxed)
        ));
        let (child_reads, to) = std::io::pipe().unwrap();
        let (mut from_child, child_writes) = std::io::pipe().unwrap();
        let (r, w) = (child_reads.as_raw_fd(), child_writes.as_raw_fd());
        let mut cmd = Command::new("chromium");
        cmd.args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--mute-audio",
            "--autoplay-policy=no-user-gesture-required",
            // Nothing of its own on the network: a test machine may have none.
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-pipe",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls between fork and exec: move the pipe ends
        // above 10 first (so neither lands on the other's target), then onto 3 and 4.
        unsafe {
            cmd.pre_exec(move || {
                let r2 = libc::fcntl(r, libc::F_DUPFD, 10);
                let w2 = libc::fcntl(w, libc::F_DUPFD, 10);
                if r2 < 0 || w2 < 0 || libc::dup2(r2, 3) < 0 || libc::dup2(w2, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .expect("chromium (Debian's package; scripts/install-deps.sh --test installs it)");
        drop((child_reads, child_writes));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 65536];
            while let Ok(n) = from_child.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                while let Some(end) = buf.iter().position(|b| *b == 0) {
                    let msg: Vec<u8> = buf.drain(..=end).collect();
                    if let Ok(v) = serde_json::from_slice(&msg[..end])
                        && tx.send(v).is_err()
                    {
                        return;
                    }
                }
            }
        });
        let mut b = Browser {
            child,
            to,
            from: rx,
            next: 0,
            session: String::new(),
        };
        let target = b.call(
            "Target.createTarget",
            serde_json::json!({"url": "about:blank"}),
        );
        let attached = b.call(
            "Target.attachToTarget",
            serde_json::json!({"targetId": target["targetId"], "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        b
    }

    /// One DevTools command (to the page once attached); its result.
    fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        use std::io::Write;
        self.next += 1;
        let id = self.next;
        let mut msg = serde_json::json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = self.session.clone().into();
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("chromium did not answer {method}"));
            if v["id"] == id {
                assert!(v["error"].is_null(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// Runs `js` in the page (awaiting a promise); its value.
    fn eval(&mut self, js: &str) -> serde_json::Value {
        let r = self.call(
            "Runtime.evaluate",
            serde_json::json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        r["result"]["value"].clone()
    }

    fn go(&mut self, url: &str) {
        self.call("Page.navigate", serde_json::json!({"url": url}));
    }

    /// Waits (a minute at most) until `js` is true in the page.
    fn wait(&mut self, js: &str) -> bool {
        wait_for(Duration::from_secs(60), || {
            (self.eval(js) == true).then_some(())
        })
        .is_some()
    }

    fn html(&mut self) -> String {
        self.eval("document.documentElement.outerHTML")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Logs in through the page's form.
    fn log_in(&mut self, addr: &str, user: &str, password: &str) {
        self.go(&format!("http://{addr}/"));
        assert!(
            self.wait("document.body.dataset.view === 'login'"),
            "no login form:\n{}",
            self.html()
        );
        let fill = format!(
            "document.querySelector('#name').value = {user:?};\
             document.querySelector('#password').value = {password:?};\
             document.querySelector('#loginform').requestSubmit(); true"
        );
        self.eval(&fill);
        assert!(
            self.wait("document.body.dataset.view === 'cameras'"),
            "not logged in:\n{}",
            self.html()
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes user `name` with the real command.
fn add_user(nvr: &Nvr, name: &str, password: &str) {
    let out = nvr_with_input(
        &nvr.config,
        &["user", "add", name],
        &format!("{password}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    add_user(&nvr, "ann", "Grüße 100% sicher");
    let mut browser = Browser::start(dir.path());
    browser.log_in(nvr.addr(), "ann", "Grüße 100% sicher");

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
    browser.go(&page);
    let loaded = browser.wait("document.querySelector('#video').dataset.loaded !== undefined");
    let html = browser.html();
    assert!(loaded, "the player never loaded:\n{html}");
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
        browser.go(&format!("http://{}/?camera=porch", nvr.addr()));
        browser.wait("document.body.dataset.ready === 'true'");
        let html = browser.html();
        html.contains("/api/events/1/snapshot.jpg").then_some(html)
    })
    .unwrap_or_else(|| panic!("no event listed:\n{}", nvr.log_text()));
    assert!(
        html.contains("class=\"event\""),
        "no event mark on the timeline:\n{html}"
    );
    assert!(html.contains("peak "), "{html}");
}

/// Logging in and out through the page, as a person does: the login form first (and how to
/// make a user while there is none), then the cameras; the session cookie is out of the
/// page's reach; after logging out, the login form again, and the footage is refused.
#[test]
fn a_person_logs_in_sees_the_cameras_and_logs_out() {
    let dir = TempDir::new("web-login");
    let cam = Camera::start(&["--pattern", "ball"]);
    let nvr = Nvr::start(
        dir.path(),
        &config(
            &dir.path().join("rec"),
            2,
            &camera_table("door401", &cam.url, ""),
        ),
    );
    let mut browser = Browser::start(dir.path());
    browser.go(&format!("http://{}/", nvr.addr()));
    assert!(browser.wait(
        "document.body.dataset.view === 'login' && !document.querySelector('#nouser').hidden"
    ));
    assert!(
        browser.html().contains("sudo nvr user add NAME"),
        "{}",
        browser.html()
    );

    add_user(&nvr, "ann", "correct horse");
    // A wrong password: the form says so, and stays.
    browser.go(&format!("http://{}/", nvr.addr()));
    assert!(browser.wait("document.body.dataset.view === 'login'"));
    browser.eval(
        "document.querySelector('#name').value = 'ann';\
         document.querySelector('#password').value = 'wrong one';\
         document.querySelector('#loginform').requestSubmit(); true",
    );
    assert!(
        browser
            .wait("document.querySelector('#loginerror').textContent === 'wrong name or password'")
    );

    browser.log_in(nvr.addr(), "ann", "correct horse");
    assert!(browser.wait("document.body.dataset.ready === 'true'"));
    let html = browser.html();
    assert!(html.contains("data-camera=\"door401\""), "{html}");
    assert!(html.contains("<span id=\"user\">ann</span>"), "{html}");
    assert_eq!(
        browser.eval("document.cookie"),
        "",
        "the session cookie is HttpOnly"
    );
    let fetched = browser.eval("fetch('/api/cameras').then((r) => r.status)");
    assert_eq!(fetched, 200);

    browser.eval("document.querySelector('#logout').click(); true");
    assert!(browser.wait("document.body.dataset.view === 'login'"));
    let fetched = browser.eval("fetch('/api/cameras').then((r) => r.status)");
    assert_eq!(fetched, 401);
    assert!(nvr.log_text().contains("ann logged in from 127.0.0.1"));
    assert!(!nvr.log_text().contains("correct horse"));
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
