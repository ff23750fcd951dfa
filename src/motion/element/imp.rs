//! The `nvrmotion` implementation (see the parent module for what it does).

use crate::motion::detector::{Detector, Settings};
use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;
use std::sync::{LazyLock, Mutex};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "nvrmotion",
        gst::DebugColorFlags::empty(),
        Some("nvr motion detector"),
    )
});

#[derive(Debug, Clone)]
struct Props {
    detector: Settings,
    /// Polygons to ignore, as text: `x,y x,y x,y; x,y …` in fractions of the frame.
    mask: String,
    message_interval: gst::ClockTime,
}

impl Default for Props {
    fn default() -> Self {
        Props {
            detector: Settings::default(),
            mask: String::new(),
            message_interval: gst::ClockTime::from_mseconds(500),
        }
    }
}

#[derive(Default)]
struct State {
    detector: Option<Detector>,
    active: bool,
    last_post: Option<gst::ClockTime>,
}

#[derive(Default)]
pub struct NvrMotion {
    props: Mutex<Props>,
    state: Mutex<State>,
}

#[glib::object_subclass]
impl ObjectSubclass for NvrMotion {
    const NAME: &'static str = "NvrMotion";
    type Type = super::NvrMotion;
    type ParentType = gst_video::VideoFilter;
}

/// Parses `x,y x,y x,y; …` into polygons; malformed points are skipped.
fn parse_mask(text: &str) -> Vec<Vec<(f32, f32)>> {
    text.split(';')
        .map(|poly| {
            poly.split_whitespace()
                .filter_map(|pt| {
                    let (x, y) = pt.split_once(',')?;
                    Some((x.trim().parse().ok()?, y.trim().parse().ok()?))
                })
                .collect::<Vec<(f32, f32)>>()
        })
        .filter(|p| p.len() >= 3)
        .collect()
}

impl ObjectImpl for NvrMotion {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let d = Settings::default();
            vec![
                // Luma difference (0-255) from the background that counts as change.
                glib::ParamSpecUInt::builder("threshold")
                    .nick("Threshold")
                    .blurb("Luma difference from the background that counts as change")
                    .minimum(1)
                    .maximum(255)
                    .default_value(u32::from(d.threshold))
                    .mutable_ready()
                    .build(),
                // Smallest region reported, as a fraction of the frame area.
                glib::ParamSpecDouble::builder("min-area")
                    .nick("Minimum area")
                    .blurb("Smallest region reported, as a fraction of the frame area")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(f64::from(d.min_area))
                    .mutable_ready()
                    .build(),
                // How fast the background follows slow changes (per frame).
                glib::ParamSpecDouble::builder("alpha")
                    .nick("Background adaptation")
                    .blurb("How fast the background follows the scene, per frame (0-1)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(f64::from(d.alpha))
                    .mutable_ready()
                    .build(),
                // Width of the detection grid: frames are downscaled to it first.
                glib::ParamSpecUInt::builder("width")
                    .nick("Detection width")
                    .blurb("Width of the grid the frame is downscaled to before detection")
                    .minimum(8)
                    .maximum(1920)
                    .default_value(d.width as u32)
                    .mutable_ready()
                    .build(),
                // Changed fraction above which a change is global (lights, IR switch):
                // the detector recalibrates instead of reporting motion.
                glib::ParamSpecDouble::builder("global-change")
                    .nick("Global change")
                    .blurb("Changed fraction that means lights/IR, not motion: recalibrate")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(f64::from(d.global_change))
                    .mutable_ready()
                    .build(),
                // Background speed while recalibrating.
                glib::ParamSpecDouble::builder("calibration-alpha")
                    .nick("Calibration adaptation")
                    .blurb("Background adaptation while recalibrating after a global change")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(f64::from(d.calibration_alpha))
                    .mutable_ready()
                    .build(),
                // Areas to ignore: "x,y x,y x,y; …" polygons in fractions of the frame.
                glib::ParamSpecString::builder("mask")
                    .nick("Mask")
                    .blurb("Polygons to ignore: \"x,y x,y x,y; ...\" in fractions of the frame")
                    .mutable_ready()
                    .build(),
                // While motion lasts, post at most one message per interval (ns).
                glib::ParamSpecUInt64::builder("message-interval")
                    .nick("Message interval")
                    .blurb("While motion lasts, at most one message per interval (ns)")
                    .default_value(500_000_000)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut p = self.props.lock().unwrap();
        match pspec.name() {
            "threshold" => p.detector.threshold = value.get::<u32>().expect("u32") as u8,
            "min-area" => p.detector.min_area = value.get::<f64>().expect("f64") as f32,
            "alpha" => p.detector.alpha = value.get::<f64>().expect("f64") as f32,
            "width" => p.detector.width = value.get::<u32>().expect("u32") as usize,
            "global-change" => p.detector.global_change = value.get::<f64>().expect("f64") as f32,
            "calibration-alpha" => {
                p.detector.calibration_alpha = value.get::<f64>().expect("f64") as f32
            }
            "mask" => {
                p.mask = value
                    .get::<Option<String>>()
                    .expect("string")
                    .unwrap_or_default()
            }
            "message-interval" => {
                p.message_interval = gst::ClockTime::from_nseconds(value.get::<u64>().expect("u64"))
            }
            _ => unreachable!("unknown property"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let p = self.props.lock().unwrap();
        match pspec.name() {
            "threshold" => u32::from(p.detector.threshold).to_value(),
            "min-area" => f64::from(p.detector.min_area).to_value(),
            "alpha" => f64::from(p.detector.alpha).to_value(),
            "width" => (p.detector.width as u32).to_value(),
            "global-change" => f64::from(p.detector.global_change).to_value(),
            "calibration-alpha" => f64::from(p.detector.calibration_alpha).to_value(),
            "mask" => p.mask.to_value(),
            "message-interval" => p.message_interval.nseconds().to_value(),
            _ => unreachable!("unknown property"),
        }
    }
}

impl GstObjectImpl for NvrMotion {}

impl ElementImpl for NvrMotion {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "nvr motion detector",
                "Filter/Analyzer/Video",
                "Detects motion on the luma plane and posts nvr-motion messages",
                "nvr developers",
            )
        });
        Some(&*META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            // Luma is plane 0 in all three formats.
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list([
                    gst_video::VideoFormat::Gray8,
                    gst_video::VideoFormat::I420,
                    gst_video::VideoFormat::Nv12,
                ])
                .build();
            vec![
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &caps,
                )
                .expect("src template"),
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &caps,
                )
                .expect("sink template"),
            ]
        });
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for NvrMotion {
    const MODE: gst_video::gst_base::subclass::BaseTransformMode =
        gst_video::gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;
}

impl VideoFilterImpl for NvrMotion {
    fn set_info(
        &self,
        incaps: &gst::Caps,
        in_info: &gst_video::VideoInfo,
        outcaps: &gst::Caps,
        out_info: &gst_video::VideoInfo,
    ) -> Result<(), gst::LoggableError> {
        let p = self.props.lock().unwrap().clone();
        let mut d = Detector::new(
            p.detector,
            in_info.width() as usize,
            in_info.height() as usize,
        );
        d.set_mask(&parse_mask(&p.mask));
        *self.state.lock().unwrap() = State {
            detector: Some(d),
            ..State::default()
        };
        self.parent_set_info(incaps, in_info, outcaps, out_info)
    }

    fn transform_frame_ip_passthrough(
        &self,
        frame: &gst_video::VideoFrameRef<&gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let interval = self.props.lock().unwrap().message_interval;
        let mut state = self.state.lock().unwrap();
        let Some(detector) = state.detector.as_mut() else {
            return Err(gst::FlowError::NotNegotiated);
        };
        let luma = frame.plane_data(0).map_err(|_| gst::FlowError::Error)?;
        let stride = frame.plane_stride()[0] as usize;
        let result = detector.process(
            luma,
            frame.width() as usize,
            frame.height() as usize,
            stride,
        );
        let pts = frame.buffer().pts();
        let active = result.active();
        let due = match (state.last_post, pts) {
            (Some(last), Some(now)) => now.saturating_sub(last) >= interval,
            _ => true,
        };
        if active == state.active && !(active && due) {
            return Ok(gst::FlowSuccess::Ok);
        }
        state.active = active;
        state.last_post = pts;
        drop(state);

        let obj = self.obj();
        let running_time = pts.and_then(|t| {
            obj.segment()
                .downcast_ref::<gst::ClockTime>()
                .and_then(|s| s.to_running_time(t))
        });
        let message = super::MotionMessage {
            active,
            calibrating: result.calibrating,
            score: f64::from(result.score),
            boxes: result
                .regions
                .iter()
                .map(|r| [r.x, r.y, r.w, r.h].map(f64::from))
                .collect(),
            timestamp: pts,
            running_time,
        };
        gst::debug!(CAT, imp = self, "posting {message:?}");
        let s = gst::Structure::from(message);
        // No bus (e.g. a bare harness) is not an error.
        let _ = obj.post_message(gst::message::Element::builder(s).src(&*obj).build());
        Ok(gst::FlowSuccess::Ok)
    }
}
