//! Hikvision NAS import: turning what Hikvision cameras write to a NAS share or SD card
//! (`info.bin`, `datadirN/` with `index00.bin`, `index00p.bin`, `hivNNNNN.mp4` MPEG-PS
//! containers and `hivNNNNN.pic` JPEG containers) into clean, timestamped MP4 and JPEG files.
//!
//! - [`index`]: the video index, with the validity rules most tools get wrong;
//! - [`pictures`]: the picture index (both known variants);
//! - [`ps`]: reading a segment's program stream map (codec, audio);
//! - [`remux`]: a segment to MP4 in-process with GStreamer, no re-encoding;
//! - [`sync`]: the job: discovery, state, lock, atomic output, retention, summary;
//! - [`fixture`]: format-faithful camera folders for the tests and the benchmark.
//!
//! `docs/hikvision.md` has the format and where each rule comes from.

pub mod fixture;
pub mod index;
pub mod pictures;
pub mod ps;
pub mod remux;
pub mod sync;
