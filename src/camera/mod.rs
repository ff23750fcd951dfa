//! Cameras: the recording pipeline, its supervisor, and what they report.

pub mod backoff;
pub mod connection;
pub mod gate;
pub mod health;
pub mod motion;
pub mod pipeline;
pub mod preroll;
pub mod published;
pub mod status;
pub mod supervisor;

pub use status::{CameraStatus, State};
pub use supervisor::{CameraHandle, Shared, spawn};
