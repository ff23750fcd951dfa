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
