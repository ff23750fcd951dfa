//! The GStreamer pipeline descriptions in `pipelines/`: compiled in as defaults, overridable
//! per file from the configured pipeline directory so a user can read and tune them.

use std::path::{Path, PathBuf};

/// Every description nvr uses, by file name.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "motion.pipeline",
        include_str!("../pipelines/motion.pipeline"),
    ),
    (
        "motion-feed.pipeline",
        include_str!("../pipelines/motion-feed.pipeline"),
    ),
    (
        "motion-sub.pipeline",
        include_str!("../pipelines/motion-sub.pipeline"),
    ),
    (
        "record.pipeline",
        include_str!("../pipelines/record.pipeline"),
    ),
    (
        "video-h264.pipeline",
        include_str!("../pipelines/video-h264.pipeline"),
    ),
    (
        "video-h265.pipeline",
        include_str!("../pipelines/video-h265.pipeline"),
    ),
    (
        "audio-aac.pipeline",
        include_str!("../pipelines/audio-aac.pipeline"),
    ),
    (
        "audio-aac-latm.pipeline",
        include_str!("../pipelines/audio-aac-latm.pipeline"),
    ),
    (
        "hikvision-remux.pipeline",
        include_str!("../pipelines/hikvision-remux.pipeline"),
    ),
    (
        "hikvision-remux-aac.pipeline",
        include_str!("../pipelines/hikvision-remux-aac.pipeline"),
    ),
    (
        "hikvision-caps.pipeline",
        include_str!("../pipelines/hikvision-caps.pipeline"),
    ),
    (
        "hikvision-mux.pipeline",
        include_str!("../pipelines/hikvision-mux.pipeline"),
    ),
    (
        "hikvision-mux-aac.pipeline",
        include_str!("../pipelines/hikvision-mux-aac.pipeline"),
    ),
    (
        "preview.pipeline",
        include_str!("../pipelines/preview.pipeline"),
    ),
    (
        "snapshot.pipeline",
        include_str!("../pipelines/snapshot.pipeline"),
    ),
];

/// One description, and where it came from (for error messages).
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    pub origin: String,
    text: String,
}

impl Description {
    /// The description with comments removed and `{key}` placeholders filled in.
    /// An unknown or unfilled placeholder is an error naming the file.
    pub fn render(&self, values: &[(&str, String)]) -> Result<String, String> {
        let mut out = String::new();
        for line in self.text.lines() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            out.push_str(t);
            out.push(' ');
        }
        for (k, v) in values {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        if let Some(start) = out.find('{') {
            let name: String = out[start..].chars().take_while(|&c| c != '}').collect();
            return Err(format!("{}: unknown placeholder {name}}}", self.origin));
        }
        Ok(out.trim().to_string())
    }
}

/// Parses a whole pipeline; errors name `origin` (the description's file).
pub fn launch(text: &str, origin: &str) -> Result<gst::Pipeline, String> {
    use gst::prelude::*;
    gst::parse::launch(text)
        .map_err(|e| format!("{origin}: {e}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| format!("{origin}: must describe a pipeline"))
}

/// Loads the description `name` (see [`load`]), fills in `values` and parses it: the pipeline,
/// and the description's origin for the errors that name its elements.
pub fn open(
    dir: &Path,
    name: &str,
    values: &[(&str, String)],
) -> Result<(gst::Pipeline, String), String> {
    let desc = load(dir, name)?;
    let pipeline = launch(&desc.render(values)?, &desc.origin)?;
    Ok((pipeline, desc.origin))
}

/// The element a description must name `name`, as the type the code needs (`gst::Element`,
/// `gst_app::AppSrc`, ...).
pub fn element<T: gst::prelude::IsA<gst::Element>>(
    bin: &gst::Bin,
    name: &str,
    origin: &str,
) -> Result<T, String> {
    use gst::prelude::*;
    let e = bin
        .by_name(name)
        .ok_or_else(|| format!("{origin}: needs an element named {name}"))?;
    let kind = e
        .factory()
        .map(|f| f.name().to_string())
        .unwrap_or_default();
    e.downcast::<T>().map_err(|_| {
        format!(
            "{origin}: {name} is a {kind}, not a {}",
            T::static_type().name()
        )
    })
}

/// Looks a description up: `<dir>/<name>` if that file exists, else the built-in copy.
pub fn load(dir: &Path, name: &str) -> Result<Description, String> {
    let path: PathBuf = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Description {
            origin: path.display().to_string(),
            text,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => built_in(name),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

pub fn built_in(name: &str) -> Result<Description, String> {
    BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| Description {
            origin: format!("built-in {n}"),
            text: text.to_string(),
        })
        .ok_or_else(|| format!("no pipeline description named {name}"))
}

/// A pipeline's error message, kept typed: its domain and code decide what nvr does (a
/// rejected password, a full disk), its text is for people. The one place GStreamer errors
/// become text.
#[derive(Debug, Clone)]
pub struct BusError {
    pub error: gst::glib::Error,
    /// GStreamer's detail: source file, element path, the library's own message.
    pub debug: Option<String>,
}

impl BusError {
    pub fn new(e: &gst::message::Error) -> BusError {
        BusError {
            error: e.error(),
            debug: e.debug().map(|d| d.to_string()),
        }
    }

    /// The error of an `Error` message, if it is one.
    pub fn of(msg: &gst::Message) -> Option<BusError> {
        match msg.view() {
            gst::MessageView::Error(e) => Some(BusError::new(e)),
            _ => None,
        }
    }

    /// Whether it is this domain and code, e.g. `gst::ResourceError::NotAuthorized`.
    pub fn matches<T: gst::glib::error::ErrorDomain>(&self, code: T) -> bool {
        self.error.matches(code)
    }
}

impl std::fmt::Display for BusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)?;
        match &self.debug {
            Some(d) => write!(f, " ({d})"),
            None => Ok(()),
        }
    }
}

/// Placeholder values for validating descriptions without a camera (`nvr check`, tests).
pub fn example_values() -> [(&'static str, String); 16] {
    [
        (
            "input_caps",
            "video/x-h265,stream-format=byte-stream,alignment=au".into(),
        ),
        (
            "output_caps",
            "video/x-h265,stream-format=hvc1,alignment=au".into(),
        ),
        ("video_pad", "video_e0".into()),
        ("video_parser", "h265parse".into()),
        ("audio_pad", "audio_c0".into()),
        (
            "keyframes",
            "identity drop-buffer-flags=delta-unit !".into(),
        ),
        ("decoder", "avdec_h264".into()),
        ("decoder_props", "max-threads=1".into()),
        ("fps", "5".into()),
        ("width", "320".into()),
        ("latency_ms", "300".into()),
        ("segment_ns", "60500000000".into()),
        ("reserved_ns", "121000000000".into()),
        ("sync_ns", "1000000000".into()),
        ("thumb_width", "160".into()),
        ("parser", "h264parse".into()),
    ]
}

/// Names of all descriptions, for `nvr check` and packaging.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gst::prelude::*;

    #[test]
    fn renders_without_comments_and_fills_placeholders() {
        let d = built_in("record.pipeline").unwrap();
        let text = d.render(&example_values()).unwrap();
        assert!(text.starts_with("rtspsrc name=src"));
        assert!(!text.contains('#'));
        assert!(text.contains("reserved-moov-update-period=(guint64)1000000000"));
    }

    #[test]
    fn unfilled_placeholder_names_the_file() {
        let e = built_in("record.pipeline")
            .unwrap()
            .render(&[])
            .unwrap_err();
        assert!(
            e.starts_with("built-in record.pipeline: unknown placeholder {"),
            "{e}"
        );
    }

    #[test]
    fn elements_are_found_by_name_and_type() {
        gst::init().unwrap();
        let p = launch("appsrc name=src ! fakesink name=out", "test.pipeline").unwrap();
        let bin = p.upcast_ref::<gst::Bin>();
        assert!(element::<gst_app::AppSrc>(bin, "src", "test.pipeline").is_ok());
        assert_eq!(
            element::<gst_app::AppSink>(bin, "out", "test.pipeline").unwrap_err(),
            "test.pipeline: out is a fakesink, not a GstAppSink"
        );
        assert_eq!(
            element::<gst::Element>(bin, "mux", "test.pipeline").unwrap_err(),
            "test.pipeline: needs an element named mux"
        );
        assert!(
            launch("fakesrc ! ", "bad.pipeline")
                .unwrap_err()
                .starts_with("bad.pipeline: ")
        );
    }

    #[test]
    fn every_built_in_description_parses_in_gstreamer() {
        gst::init().unwrap();
        crate::motion::element::register().unwrap();
        for name in names() {
            let d = built_in(name).unwrap();
            let text = d.render(&example_values()).unwrap();
            gst::parse::bin_from_description(&text, false)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
