//! `nvr check [--config PATH | PATH]`: validate a configuration and the machine without
//! recording anything. Exit 0 if nvr would start, 2 for configuration problems, 1 if
//! GStreamer or one of its plugins is missing.

use crate::pipelines;
use std::path::Path;
use std::process::ExitCode;

/// Every element nvr uses (recording, export, previews), with the Debian package that ships it.
pub const REQUIRED_ELEMENTS: &[(&str, &str)] = &[
    ("rtspsrc", "gstreamer1.0-plugins-good"),
    ("rtph264depay", "gstreamer1.0-plugins-good"),
    ("rtph265depay", "gstreamer1.0-plugins-good"),
    ("rtpmp4gdepay", "gstreamer1.0-plugins-good"),
    ("rtpmp4adepay", "gstreamer1.0-plugins-good"),
    ("splitmuxsink", "gstreamer1.0-plugins-good"),
    ("mp4mux", "gstreamer1.0-plugins-good"),
    ("h264parse", "gstreamer1.0-plugins-bad"),
    ("h265parse", "gstreamer1.0-plugins-bad"),
    ("h264timestamper", "gstreamer1.0-plugins-bad"),
    ("h265timestamper", "gstreamer1.0-plugins-bad"),
    ("aacparse", "gstreamer1.0-plugins-good"),
    ("splitmuxsrc", "gstreamer1.0-plugins-good"),
    ("qtdemux", "gstreamer1.0-plugins-good"),
    ("jpegenc", "gstreamer1.0-plugins-good"),
    ("openh264dec", "gstreamer1.0-plugins-bad"),
    ("libde265dec", "gstreamer1.0-plugins-bad"),
    ("videoconvert", "gstreamer1.0-plugins-base"),
    ("videoscale", "gstreamer1.0-plugins-base"),
    ("appsink", "gstreamer1.0-plugins-base"),
    ("avdec_h264", "gstreamer1.0-libav"),
    ("avdec_h265", "gstreamer1.0-libav"),
    ("videorate", "gstreamer1.0-plugins-base"),
    ("tee", "libgstreamer1.0-0"),
    ("queue", "libgstreamer1.0-0"),
    ("filesink", "libgstreamer1.0-0"),
    ("fakesink", "libgstreamer1.0-0"),
    ("appsrc", "gstreamer1.0-plugins-base"),
    ("mpegpsdemux", "gstreamer1.0-plugins-bad"),
];

pub fn main(config_path: &Path) -> ExitCode {
    let config = match super::load_config(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(e) = gst::init() {
        eprintln!("nvr: cannot initialize GStreamer: {e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = crate::motion::element::register() {
        eprintln!("nvr: cannot register the nvrmotion element: {e}");
        return ExitCode::FAILURE;
    }
    let mut ok = true;
    for (element, package) in REQUIRED_ELEMENTS {
        if gst::ElementFactory::find(element).is_none() {
            eprintln!("nvr: GStreamer element {element} is missing: install {package}");
            ok = false;
        }
    }
    for spec in pipelines::SPECS {
        if let Err(e) = pipelines::check(&config.pipeline_dir, spec) {
            eprintln!("nvr: {e}");
            ok = false;
        }
    }
    if !ok {
        return ExitCode::FAILURE;
    }
    pre_roll_memory(&config);
    for c in &config.cameras {
        if c.motion_fps.is_none() {
            if let Some(sub) = &c.sub {
                println!(
                    "camera {}: sub_url {} is unused: motion detection is off",
                    c.name, sub.url
                );
            }
            continue;
        }
        let describe = |codec| {
            let d = crate::camera::motion::decoder_for(codec, &c.motion_decoder, &[]);
            let kind = if d.software {
                "software"
            } else {
                "hardware, if it passes its self-test on the stream"
            };
            format!("{} ({kind})", d.element)
        };
        if let crate::config::DecoderChoice::Element(e) = &c.motion_decoder
            && gst::ElementFactory::find(e).is_none()
        {
            println!(
                "camera {}: motion_decoder {e} is not installed here: decoding in software",
                c.name
            );
        }
        let source = match &c.sub {
            Some(sub) => format!("its substream {}", sub.url),
            None => "the recorded stream".into(),
        };
        println!(
            "camera {}: motion detection on {source}; decoder for H.264 {}, for H.265 {}",
            c.name,
            describe("h264"),
            describe("h265")
        );
    }
    if let Some(h) = &config.hikvision {
        println!(
            "hikvision import: {} into {} every {} min (retention {} days, look-back {} days)",
            h.sources
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            h.output.display(),
            h.interval.as_secs() / 60,
            h.retention_days,
            h.lookback_days
        );
    }
    match config.http.auth {
        crate::config::AuthPolicy::Off => println!(
            "warning: http.auth = \"off\": anyone who can reach {} sees and downloads the footage",
            config.http.listen
        ),
        crate::config::AuthPolicy::Required => {
            let accounts = crate::auth::Accounts::new(&config.http.auth_dir);
            if accounts.users().is_ok_and(|u| u.is_empty()) {
                println!(
                    "no user yet: create one with `nvr user add NAME` to watch footage in the browser"
                );
            }
        }
    }
    let names: Vec<&str> = config.cameras.iter().map(|c| c.name.as_str()).collect();
    if names.is_empty() && config.hikvision.is_none() {
        println!("{}", super::nothing_configured(config_path));
    }
    println!(
        "{}: OK: {} camera{} ({}), recordings in {}, HTTP on {}",
        config_path.display(),
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        names.join(", "),
        config.storage.path.display(),
        config.http.listen
    );
    ExitCode::SUCCESS
}

/// For each camera that records around events: the RAM its pre-roll needs at the bitrate
/// of what it recorded (the newest segments in the catalog), against its `pre_memory`.
fn pre_roll_memory(config: &crate::config::Config) {
    let gated: Vec<_> = config
        .cameras
        .iter()
        .filter_map(|c| crate::camera::gate::keep_ns(c).map(|k| (c, k)))
        .collect();
    if gated.is_empty() {
        return;
    }
    let catalog =
        crate::storage::catalog::Catalog::open_readonly(&config.storage.path, Default::default())
            .ok();
    for (c, keep_ns) in gated {
        let bitrate = catalog.as_ref().and_then(|cat| {
            let all: Vec<_> = cat.segments(&c.name).collect();
            let newest = &all[all.len().saturating_sub(30)..];
            let bytes: u64 = newest.iter().map(|s| s.bytes).sum();
            let ms: u64 = newest.iter().map(|s| u64::from(s.duration_ms)).sum();
            (ms >= 10_000).then(|| bytes as f64 * 8.0 * 1000.0 / ms as f64)
        });
        let (keep, mib) = (keep_ns as f64 / 1e9, c.pre_memory as f64 / 1048576.0);
        match bitrate {
            Some(bps) => {
                // The window plus the GOP the ring holds beyond it (2 s allowed for).
                let need = bps / 8.0 * (keep + 2.0);
                if need > c.pre_memory as f64 {
                    println!(
                        "warning: camera {}: its recordings average {:.1} Mbit/s: a pre-roll of \
                         {keep:.0} s needs about {:.0} MiB of RAM, more than pre_memory \
                         ({mib:.0} MiB): it will be about {:.0} s (raise pre_memory or lower \
                         pre_seconds)",
                        c.name,
                        bps / 1e6,
                        need / 1048576.0,
                        (c.pre_memory as f64 * 8.0 / bps - 2.0).max(0.0)
                    );
                } else {
                    println!(
                        "camera {}: {} mode: {keep:.0} s of pre-roll wait in RAM, about {:.1} MiB \
                         at its {:.1} Mbit/s (pre_memory {mib:.0} MiB)",
                        c.name,
                        c.mode.name(),
                        need / 1048576.0,
                        bps / 1e6
                    );
                }
            }
            None => println!(
                "camera {}: {} mode: {keep:.0} s of pre-roll wait in RAM, in at most {mib:.0} MiB \
                 (enough up to {:.1} Mbit/s)",
                c.name,
                c.mode.name(),
                c.pre_memory as f64 * 8.0 / (keep + 2.0) / 1e6
            ),
        }
    }
}
