//! `nvrmotion`: a pass-through video filter that runs the motion [`detector`](super::detector)
//! on the luma plane of GRAY8, I420 or NV12 frames and posts `nvr-motion` element messages.
//!
//! Registered in-process by [`register`] (no plugin `.so`), then usable by name in pipeline
//! descriptions. Buffers pass through untouched (mapped read-only, never copied).
//!
//! Message `nvr-motion`, posted when motion starts or stops and at most every
//! `message-interval` while it lasts:
//! - `active` (bool), `calibrating` (bool), `score` (f64, changed fraction of the frame),
//! - `boxes` (array of `box` structures with `x`, `y`, `w`, `h` as f64 fractions of the frame),
//! - `timestamp` (PTS) and `running-time` of the frame.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    pub struct NvrMotion(ObjectSubclass<imp::NvrMotion>)
        @extends gst_video::VideoFilter, gst_video::gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Name of the element messages it posts.
pub const MESSAGE: &str = "nvr-motion";

/// The `nvr-motion` element message, typed: built by the element, read by the supervisor,
/// converted to and from [`gst::Structure`] in one place (as gst-plugins-rs' `videocompare`
/// does), so a field renamed on one side cannot quietly read as 0 on the other.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionMessage {
    /// Motion now (after the detector's settling and hysteresis).
    pub active: bool,
    /// The detector is (re)learning the background: nothing is reported as motion.
    pub calibrating: bool,
    /// Changed fraction of the frame, 0..1.
    pub score: f64,
    /// Regions with motion, `[x, y, w, h]` as fractions of the frame.
    pub boxes: Vec<[f64; 4]>,
    /// The frame's PTS.
    pub timestamp: Option<gst::ClockTime>,
    /// The frame's running time.
    pub running_time: Option<gst::ClockTime>,
}

impl From<MotionMessage> for gst::Structure {
    fn from(m: MotionMessage) -> gst::Structure {
        let boxes = gst::Array::new(m.boxes.iter().map(|[x, y, w, h]| {
            gst::Structure::builder("box")
                .field("x", x)
                .field("y", y)
                .field("w", w)
                .field("h", h)
                .build()
                .to_send_value()
        }));
        gst::Structure::builder(MESSAGE)
            .field("active", m.active)
            .field("calibrating", m.calibrating)
            .field("score", m.score)
            .field("boxes", boxes)
            .field("timestamp", m.timestamp)
            .field("running-time", m.running_time)
            .build()
    }
}

impl TryFrom<&gst::StructureRef> for MotionMessage {
    type Error = String;

    fn try_from(s: &gst::StructureRef) -> Result<MotionMessage, String> {
        if s.name() != MESSAGE {
            return Err(format!("not an {MESSAGE} message: {}", s.name()));
        }
        let field = |e: gst::structure::GetError<_>| format!("{MESSAGE}: {e}");
        let boxes = s
            .get::<gst::Array>("boxes")
            .map_err(field)?
            .iter()
            .map(|v| {
                let b = v
                    .get::<gst::Structure>()
                    .map_err(|e| format!("{MESSAGE}: box: {e}"))?;
                let f = |k| b.get::<f64>(k).map_err(|e| format!("{MESSAGE}: box: {e}"));
                Ok([f("x")?, f("y")?, f("w")?, f("h")?])
            })
            .collect::<Result<_, String>>()?;
        Ok(MotionMessage {
            active: s.get("active").map_err(field)?,
            calibrating: s.get("calibrating").map_err(field)?,
            score: s.get("score").map_err(field)?,
            boxes,
            timestamp: s.get("timestamp").map_err(field)?,
            running_time: s.get("running-time").map_err(field)?,
        })
    }
}

impl TryFrom<gst::Structure> for MotionMessage {
    type Error = String;
    fn try_from(s: gst::Structure) -> Result<MotionMessage, String> {
        MotionMessage::try_from(s.as_ref())
    }
}

/// Makes `nvrmotion` available to `gst::parse` and `ElementFactory` (idempotent).
pub fn register() -> Result<(), glib::BoolError> {
    static ONCE: std::sync::OnceLock<Result<(), glib::BoolError>> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        gst::Element::register(None, "nvrmotion", gst::Rank::NONE, NvrMotion::static_type())
    })
    .clone()
}

#[cfg(test)]
mod tests;
