//! The GStreamer pipeline descriptions in `pipelines/`: compiled in as defaults, overridable
//! per file from the configured pipeline directory so a user can read and tune them.

use std::path::{Path, PathBuf};

/// A description nvr ships: the placeholders it fills in, and the element names its code
/// looks up (an override in the pipeline directory must keep those; `nvr check` says so).
pub struct Spec {
    pub name: &'static str,
    text: &'static str,
    pub placeholders: &'static [&'static str],
    pub elements: &'static [&'static str],
}

/// Every description nvr uses, by file name.
pub const SPECS: &[Spec] = &[
    Spec {
        name: "motion.pipeline",
        text: include_str!("../pipelines/motion.pipeline"),
        placeholders: &["decoder", "decoder_props", "fps", "keyframes", "width"],
        elements: &["decoder", "motion"],
    },
    Spec {
        name: "motion-feed.pipeline",
        text: include_str!("../pipelines/motion-feed.pipeline"),
        placeholders: &[],
        elements: &["feed"],
    },
    Spec {
        name: "motion-sub.pipeline",
        text: include_str!("../pipelines/motion-sub.pipeline"),
        placeholders: &["latency_ms"],
        elements: &["src", "parse"],
    },
    Spec {
        name: "record.pipeline",
        text: include_str!("../pipelines/record.pipeline"),
        placeholders: &["latency_ms"],
        elements: &["src"],
    },
    Spec {
        name: "segments.pipeline",
        text: include_str!("../pipelines/segments.pipeline"),
        placeholders: &["reserved_ns", "segment_ns", "sync_ns"],
        elements: &["mux"],
    },
    Spec {
        name: "video-h264.pipeline",
        text: include_str!("../pipelines/video-h264.pipeline"),
        placeholders: &[],
        elements: &["split"],
    },
    Spec {
        name: "video-h265.pipeline",
        text: include_str!("../pipelines/video-h265.pipeline"),
        placeholders: &[],
        elements: &["split"],
    },
    Spec {
        name: "audio-aac.pipeline",
        text: include_str!("../pipelines/audio-aac.pipeline"),
        placeholders: &[],
        elements: &[],
    },
    Spec {
        name: "audio-aac-latm.pipeline",
        text: include_str!("../pipelines/audio-aac-latm.pipeline"),
        placeholders: &[],
        elements: &[],
    },
    Spec {
        name: "hikvision-remux.pipeline",
        text: include_str!("../pipelines/hikvision-remux.pipeline"),
        placeholders: &["video_pad", "video_parser"],
        elements: &["src", "sink"],
    },
    Spec {
        name: "hikvision-remux-aac.pipeline",
        text: include_str!("../pipelines/hikvision-remux-aac.pipeline"),
        placeholders: &["audio_pad", "video_pad", "video_parser"],
        elements: &["src", "sink"],
    },
    Spec {
        name: "hikvision-caps.pipeline",
        text: include_str!("../pipelines/hikvision-caps.pipeline"),
        placeholders: &["input_caps", "output_caps", "video_parser"],
        elements: &["src", "out"],
    },
    Spec {
        name: "hikvision-mux.pipeline",
        text: include_str!("../pipelines/hikvision-mux.pipeline"),
        placeholders: &[],
        elements: &["video", "sink"],
    },
    Spec {
        name: "hikvision-mux-aac.pipeline",
        text: include_str!("../pipelines/hikvision-mux-aac.pipeline"),
        placeholders: &[],
        elements: &["video", "audio", "sink"],
    },
    Spec {
        name: "preview.pipeline",
        text: include_str!("../pipelines/preview.pipeline"),
        placeholders: &["decoder", "parser", "thumb_width"],
        elements: &["src", "demux", "full", "thumb"],
    },
    Spec {
        name: "snapshot.pipeline",
        text: include_str!("../pipelines/snapshot.pipeline"),
        placeholders: &["decoder", "parser"],
        elements: &["src", "sink"],
    },
];

/// One description, and where it came from (for error messages).
/// What can be wrong with a pipeline description; each names the file it comes from.
#[derive(Debug)]
pub enum PipelineError {
    /// No description of that name exists.
    Unknown(String),
    /// The override could not be read.
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A `{placeholder}` nvr does not fill.
    Placeholder { origin: String, name: String },
    /// GStreamer could not parse it (a typo, an element not installed).
    Parse { origin: String, error: String },
    /// It describes elements, not a pipeline.
    NotAPipeline { origin: String },
    /// It must describe exactly one element, of that name.
    NotOneElement { origin: String, name: String },
    /// An element nvr looks up by name is not there.
    MissingElement { origin: String, name: String },
    /// The element of that name is of another kind than nvr needs.
    WrongKind {
        origin: String,
        name: String,
        kind: String,
        want: String,
    },
}

impl std::fmt::Display for PipelineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PipelineError::Unknown(name) => write!(f, "no pipeline description named {name}"),
            PipelineError::Read { path, error } => write!(f, "{}: {error}", path.display()),
            PipelineError::Placeholder { origin, name } => {
                write!(f, "{origin}: unknown placeholder {{{name}}}")
            }
            PipelineError::Parse { origin, error } => write!(f, "{origin}: {error}"),
            PipelineError::NotAPipeline { origin } => {
                write!(f, "{origin}: must describe a pipeline")
            }
            PipelineError::MissingElement { origin, name } => {
                write!(f, "{origin}: needs an element named {name}")
            }
            PipelineError::NotOneElement { origin, name } => {
                write!(
                    f,
                    "{origin}: must describe one element, named {name}, and nothing else"
                )
            }
            PipelineError::WrongKind {
                origin,
                name,
                kind,
                want,
            } => write!(f, "{origin}: {name} is a {kind}, not a {want}"),
        }
    }
}

impl std::error::Error for PipelineError {}

/// For callers that report errors as text.
impl From<PipelineError> for String {
    fn from(e: PipelineError) -> String {
        e.to_string()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    pub origin: String,
    text: String,
}

impl Description {
    /// The description with comments removed and `{key}` placeholders filled in.
    /// An unknown or unfilled placeholder is an error naming the file.
    pub fn render(&self, values: &[(&str, String)]) -> Result<String, PipelineError> {
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
            let name: String = out[start + 1..].chars().take_while(|&c| c != '}').collect();
            return Err(PipelineError::Placeholder {
                origin: self.origin.clone(),
                name,
            });
        }
        Ok(out.trim().to_string())
    }
}

/// Parses a whole pipeline; errors name `origin` (the description's file). A description
/// of one element gets a pipeline around it, as with gst-launch-1.0.
pub fn launch(text: &str, origin: &str) -> Result<gst::Pipeline, PipelineError> {
    use gst::prelude::*;
    let parsed = gst::parse::launch(text).map_err(|e| PipelineError::Parse {
        origin: origin.to_string(),
        error: e.to_string(),
    })?;
    match parsed.downcast::<gst::Pipeline>() {
        Ok(p) => Ok(p),
        Err(element) => {
            let p = gst::Pipeline::new();
            p.add(&element).map_err(|_| PipelineError::NotAPipeline {
                origin: origin.to_string(),
            })?;
            Ok(p)
        }
    }
}

/// Loads the description `name` (see [`load`]), fills in `values` and parses it: the pipeline,
/// and the description's origin for the errors that name its elements.
pub fn open(
    dir: &Path,
    name: &str,
    values: &[(&str, String)],
) -> Result<(gst::Pipeline, String), PipelineError> {
    let desc = load(dir, name)?;
    let pipeline = launch(&desc.render(values)?, &desc.origin)?;
    Ok((pipeline, desc.origin))
}

/// Loads the description `name`, fills in `values` and parses it as the one element named
/// `element` (a part that nvr places into a pipeline it builds: the segment writer).
pub fn open_element(
    dir: &Path,
    name: &str,
    values: &[(&str, String)],
    element_name: &str,
) -> Result<gst::Element, PipelineError> {
    use gst::prelude::*;
    let desc = load(dir, name)?;
    let bin = gst::parse::bin_from_description(&desc.render(values)?, false).map_err(|e| {
        PipelineError::Parse {
            origin: desc.origin.clone(),
            error: e.to_string(),
        }
    })?;
    let e: gst::Element = element(&bin, element_name, &desc.origin)?;
    if bin.children().len() != 1 {
        return Err(PipelineError::NotOneElement {
            origin: desc.origin,
            name: element_name.to_string(),
        });
    }
    bin.remove(&e).map_err(|_| PipelineError::NotOneElement {
        origin: desc.origin.clone(),
        name: element_name.to_string(),
    })?;
    Ok(e)
}

/// The element a description must name `name`, as the type the code needs (`gst::Element`,
/// `gst_app::AppSrc`, ...).
pub fn element<T: gst::prelude::IsA<gst::Element>>(
    bin: &gst::Bin,
    name: &str,
    origin: &str,
) -> Result<T, PipelineError> {
    use gst::prelude::*;
    let e = bin
        .by_name(name)
        .ok_or_else(|| PipelineError::MissingElement {
            origin: origin.to_string(),
            name: name.to_string(),
        })?;
    let kind = e
        .factory()
        .map(|f| f.name().to_string())
        .unwrap_or_default();
    e.downcast::<T>().map_err(|_| PipelineError::WrongKind {
        origin: origin.to_string(),
        name: name.to_string(),
        kind,
        want: T::static_type().name().to_string(),
    })
}

/// Looks a description up: `<dir>/<name>` if that file exists, else the built-in copy.
pub fn load(dir: &Path, name: &str) -> Result<Description, PipelineError> {
    let path: PathBuf = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Description {
            origin: path.display().to_string(),
            text,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => built_in(name),
        Err(error) => Err(PipelineError::Read { path, error }),
    }
}

pub fn built_in(name: &str) -> Result<Description, PipelineError> {
    SPECS
        .iter()
        .find(|s| s.name == name)
        .map(|s| Description {
            origin: format!("built-in {}", s.name),
            text: s.text.to_string(),
        })
        .ok_or_else(|| PipelineError::Unknown(name.to_string()))
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
        ("decoder", "avdec_h264 name=decoder".into()),
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

/// Checks the description nvr would use for `spec` (an override in `dir`, else the built-in):
/// it parses with example values, and has every element nvr looks up by name.
pub fn check(dir: &Path, spec: &Spec) -> Result<(), PipelineError> {
    let d = load(dir, spec.name)?;
    // Only what nvr fills in for this file: a placeholder of another file stays unfilled.
    let values: Vec<(&str, String)> = example_values()
        .into_iter()
        .filter(|(k, _)| spec.placeholders.contains(k))
        .collect();
    let text = d.render(&values)?;
    let bin = gst::parse::bin_from_description(&text, false).map_err(|e| PipelineError::Parse {
        origin: d.origin.clone(),
        error: e.to_string(),
    })?;
    for name in spec.elements {
        element::<gst::Element>(&bin, name, &d.origin)?;
    }
    Ok(())
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
        let d = built_in("segments.pipeline").unwrap();
        let text = d.render(&example_values()).unwrap();
        assert!(text.contains("reserved-moov-update-period=(guint64)1000000000"));
    }

    #[test]
    fn a_part_description_must_be_its_one_element() {
        gst::init().unwrap();
        let dir = std::env::temp_dir().join(format!("nvr-part-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let values = example_values();
        let mux = open_element(&dir, "segments.pipeline", &values, "mux").unwrap();
        assert!(mux.parent().is_none(), "free to be placed");
        let text = built_in("segments.pipeline").unwrap().text + "\nqueue name=extra\n";
        std::fs::write(dir.join("segments.pipeline"), text).unwrap();
        let e = open_element(&dir, "segments.pipeline", &values, "mux")
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with(
                "segments.pipeline: must describe one element, named mux, and nothing else"
            ),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unfilled_placeholder_names_the_file() {
        let e = built_in("record.pipeline")
            .unwrap()
            .render(&[])
            .unwrap_err()
            .to_string();
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
            element::<gst_app::AppSink>(bin, "out", "test.pipeline")
                .unwrap_err()
                .to_string(),
            "test.pipeline: out is a fakesink, not a GstAppSink"
        );
        assert_eq!(
            element::<gst::Element>(bin, "mux", "test.pipeline")
                .unwrap_err()
                .to_string(),
            "test.pipeline: needs an element named mux"
        );
        assert!(
            launch("fakesrc ! ", "bad.pipeline")
                .unwrap_err()
                .to_string()
                .starts_with("bad.pipeline: ")
        );
    }

    /// The placeholders a text uses (outside comments).
    fn placeholders_in(text: &str) -> std::collections::BTreeSet<String> {
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .flat_map(|l| l.split('{').skip(1))
            .filter_map(|p| p.split_once('}').map(|(name, _)| name.to_string()))
            .collect()
    }

    #[test]
    fn the_table_says_what_each_built_in_fills_and_needs() {
        gst::init().unwrap();
        crate::motion::element::register().unwrap();
        let none = Path::new("/nonexistent");
        for spec in SPECS {
            let listed: std::collections::BTreeSet<String> =
                spec.placeholders.iter().map(|p| p.to_string()).collect();
            assert_eq!(placeholders_in(spec.text), listed, "{}", spec.name);
            check(none, spec).unwrap_or_else(|e| panic!("{e}"));
        }
        let names: std::collections::BTreeSet<_> = SPECS.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), SPECS.len(), "each file once");
    }

    #[test]
    fn an_override_without_an_element_nvr_needs_is_refused() {
        gst::init().unwrap();
        let dir = std::env::temp_dir().join(format!("nvr-pipe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let segments = SPECS
            .iter()
            .find(|s| s.name == "segments.pipeline")
            .unwrap();
        let text = segments.text.replace("name=mux", "name=muxer");
        std::fs::write(dir.join("segments.pipeline"), text).unwrap();
        let e = check(&dir, segments).unwrap_err().to_string();
        assert!(
            e.ends_with("segments.pipeline: needs an element named mux"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
