//! `nvr testcam [options]`: run the built-in test camera on its own, for trying nvr
//! without a camera and for tests that need to kill and restart "the camera".
//! Prints `url rtsp://…` once serving and `client` for each RTSP client connection.

use crate::testcam::{Audio, Codec, Spec, TestCamera};
use std::io::Write;
use std::process::ExitCode;

pub const USAGE: &str = "nvr testcam [--port N] [--codec h264|h265] [--audio aac|pcma] \
[--user U --password P] [--size WxH] [--fps N] [--gop FRAMES] [--bframes N] [--kbps N] \
[--mount /path] \
[--pattern ball|checkers-8|… (videotestsrc)] \
[--file CLIP.h264 (serve a pre-encoded H.264 file in a loop, no encoding)]";

pub fn main(args: &[String]) -> ExitCode {
    let (spec, port) = match parse(args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("nvr testcam: {e}\nusage: {USAGE}");
            return ExitCode::from(2);
        }
    };
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

fn parse(args: &[String]) -> Result<(Spec, u16), String> {
    let mut spec = Spec::default();
    let mut port = 0u16;
    let mut user = None;
    let mut pass = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let num = |v: String| {
            v.parse::<u32>()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))
        };
        match flag.as_str() {
            "--port" => port = num(value()?)?.try_into().map_err(|_| "--port: 0-65535")?,
            "--bframes" => spec.bframes = num(value()?)?.min(4),
            "--codec" => {
                spec.codec = match value()?.as_str() {
                    "h264" => Codec::H264,
                    "h265" => Codec::H265,
                    v => return Err(format!("--codec: {v:?} (h264 or h265)")),
                }
            }
            "--audio" => {
                spec.audio = match value()?.as_str() {
                    "aac" => Some(Audio::Aac),
                    "pcma" => Some(Audio::Pcma),
                    "none" => None,
                    v => return Err(format!("--audio: {v:?} (aac, pcma or none)")),
                }
            }
            "--user" => user = Some(value()?),
            "--password" => pass = Some(value()?),
            "--size" => {
                let v = value()?;
                let (w, h) = v.split_once('x').ok_or("--size: WxH, e.g. 320x240")?;
                spec.width = num(w.into())?;
                spec.height = num(h.into())?;
            }
            "--fps" => spec.fps = num(value()?)?,
            "--gop" => spec.gop = num(value()?)?,
            "--kbps" => spec.kbps = num(value()?)?,
            "--mount" => spec.mount = value()?,
            "--pattern" => spec.pattern = value()?,
            "--file" => spec.file = Some(value()?.into()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    spec.credentials = match (user, pass) {
        (Some(u), Some(p)) => Some((u, p)),
        (None, None) => None,
        _ => return Err("--user and --password go together".into()),
    };
    Ok((spec, port))
}
