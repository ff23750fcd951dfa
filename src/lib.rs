//! nvr: a network video recorder for the Raspberry Pi.
//!
//! IP cameras (RTSP, H.264/H.265) are recorded without re-encoding into crash-safe rotating
//! MP4 segments by GStreamer, one supervised pipeline per camera; health is served as JSON
//! on `/status`. See `docs/design.md` for what is on disk and what a crash can lose.

pub mod auth;
pub(crate) mod board;
pub(crate) mod bus;
pub(crate) mod bytes;
pub(crate) mod camera;
pub mod cli;
pub mod cmds;
pub(crate) mod config;
#[cfg(any(test, feature = "fixtures"))]
pub mod fuzzing;
pub mod hikvision;
pub mod http;
pub mod logging;
pub mod motion;
pub(crate) mod pipelines;
pub(crate) mod runtime;
pub mod storage;
pub(crate) mod testcam;
pub mod time;

pub use runtime::memory::limit_malloc_arenas;
