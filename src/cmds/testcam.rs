//! `nvr testcam [options]`: run the built-in test camera on its own, for trying nvr
//! without a camera and for tests that need to kill and restart "the camera".
//! Prints `url rtsp://…` once serving and `client` for each RTSP client connection.

use crate::cli::{AudioArg, CodecArg, TestcamArgs};
use crate::testcam::{Audio, Codec, Spec, TestCamera};
use std::io::Write;
use std::process::ExitCode;

pub fn main(args: &TestcamArgs) -> ExitCode {
    let (spec, port) = (spec(args), args.port);
    if let Err(e) = gst::init() {
        eprintln!("nvr testcam: cannot initialize GStreamer: {e}");
        return ExitCode::FAILURE;
    }
    let signals = match crate::runtime::signals::listen() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("nvr testcam: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cam = match TestCamera::start(&spec, port, || {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "client");
        let _ = out.flush();
    }) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("nvr testcam: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "url {}", cam.url);
        let _ = out.flush();
    }
    let _ = signals.recv_blocking();
    ExitCode::SUCCESS
}

/// The camera the arguments describe (defaults: [`Spec::default`]).
fn spec(a: &TestcamArgs) -> Spec {
    let d = Spec::default();
    let (width, height) = a.size.unwrap_or((d.width, d.height));
    Spec {
        codec: match a.codec {
            CodecArg::H264 => Codec::H264,
            CodecArg::H265 => Codec::H265,
        },
        audio: match a.audio {
            AudioArg::Aac => Some(Audio::Aac),
            AudioArg::Pcma => Some(Audio::Pcma),
            AudioArg::None => None,
        },
        width,
        height,
        fps: a.fps.unwrap_or(d.fps),
        gop: a.gop.unwrap_or(d.gop),
        bframes: a.bframes.unwrap_or(d.bframes),
        kbps: a.kbps.unwrap_or(d.kbps),
        credentials: a.user.clone().zip(a.password.clone()),
        mount: a.mount.clone().unwrap_or(d.mount),
        pattern: a.pattern.clone().unwrap_or(d.pattern),
        file: a.file.clone(),
        resize: a.resize,
        rtp_jump: a.rtp_jump,
    }
}
