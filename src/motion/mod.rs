//! Motion detection: the algorithm ([`detector`], plain Rust, no GStreamer) and the
//! `nvrmotion` GStreamer element around it ([`element`]). The motion branch of the camera
//! pipeline, events and recording modes build on these.

pub mod detector;
pub mod element;
pub mod events;
