//! Hikvision NAS import: turning what a Hikvision camera writes to a NAS share (`datadirN/`
//! with `index00.bin` and `hivNNNNN.mp4` MPEG-PS containers) into timestamped MP4 files.
//!
//! So far: the video index parser ([`index`]). The sync job (remux, pictures, state, lock)
//! builds on it.

pub mod index;
