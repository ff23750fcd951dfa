//! Motion detection. So far the algorithm ([`detector`]), plain Rust with no GStreamer
//! dependency; the `nvrmotion` element and the motion branch build on it.

pub mod detector;
