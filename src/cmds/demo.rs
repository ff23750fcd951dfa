//! `nvr demo [--dir DIR] [--listen ADDR]`: the whole product with no setup. A built-in test
//! camera (an in-process RTSP server with a moving pattern, H.264 + AAC) is recorded into
//! `./nvr-demo/` exactly as a real camera would be, with motion detection (the ball moves all
//! the time: one long event) and `/status` on http://127.0.0.1:8080. No login: the demo shows
//! only its own test pattern (`auth = "off"`; the page says so).

use crate::config::Config;
use crate::testcam::{Audio, Spec, TestCamera};
use std::path::Path;
use std::process::ExitCode;

pub fn main(dir: &Path, listen: &str) -> ExitCode {
    if let Err(e) = gst::init() {
        log::error!("cannot initialize GStreamer: {e}");
        return ExitCode::FAILURE;
    }
    let spec = Spec {
        audio: Some(Audio::Aac),
        width: 640,
        height: 360,
        fps: 15,
        gop: 15,
        kbps: 800,
        mount: "/demo".into(),
        ..Spec::default()
    };
    // 8554 is the usual test port; any free one will do if it is taken.
    let camera = match TestCamera::start(&spec, 8554, || {})
        .or_else(|_| TestCamera::start(&spec, 0, || {}))
    {
        Ok(c) => c,
        Err(e) => {
            log::error!("demo camera: {e}");
            return ExitCode::FAILURE;
        }
    };
    let text = format!(
        "[storage]\npath = {:?}\nsegment_seconds = 10\n[http]\nlisten = {listen:?}\nauth = \"off\"\n\
         [[camera]]\nname = \"demo\"\nurl = {:?}\nmotion = true\n",
        dir.display().to_string(),
        camera.url
    );
    let config = match Config::parse(&text, None).and_then(|c| c.check_environment().map(|()| c)) {
        Ok(c) => c,
        Err(errors) => {
            super::print_errors(&errors);
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    log::info!("demo camera serving {}", camera.url);
    let code = super::run::serve(config, None, |rt| {
        eprintln!(
            "\nnvr demo: recording the test camera into {}/demo/ in 10 s segments.\n\
             Watch:    http://{addr}/ (the web page)\nStatus:   http://{addr}/status\n\
             Stop:     Ctrl-C (open segments are finalized)\n",
            dir.display(),
            addr = rt.http_addr()
        );
    });
    drop(camera);
    code
}
