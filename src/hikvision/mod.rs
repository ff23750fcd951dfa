//! Hikvision NAS import: turning what Hikvision cameras write to a NAS share or SD card
//! (`info.bin`, `datadirN/` with `index00.bin`, `index00p.bin`, `hivNNNNN.mp4` MPEG-PS
//! containers and `hivNNNNN.pic` JPEG containers) into clean, timestamped MP4 and JPEG files.
//!
//! - [`index`]: the video index, with the validity rules most tools get wrong;
//! - [`pictures`]: the picture index (both known variants);
//! - [`ps`]: reading a segment's program stream map (codec, audio);
//! - [`pes`]: walking a segment's packets into access units and audio frames;
//! - [`remux`]: a segment to MP4 in-process with GStreamer (`mp4mux`), no re-encoding;
//! - [`sync`]: the job: discovery, state, lock, atomic output, retention, summary;
//! - `fixture`: format-faithful camera folders for the tests and the benchmark (feature
//!   `fixtures`, which the tests, examples and fuzz targets turn on; not in the product).
//!
//! `docs/hikvision.md` has the format and where each rule comes from.

#[cfg(any(test, feature = "fixtures"))]
pub mod fixture;
pub mod index;
pub mod pes;
pub mod pictures;
pub mod ps;
pub mod remux;
pub mod sync;

/// Runs every parser of untrusted camera bytes over `data` and checks what they promise: no
/// panic, and output bounded by the input (so memory is too). The `cargo fuzz` targets in
/// `fuzz/` and the mutation test call this.
#[cfg(any(test, feature = "fixtures"))]
pub fn check_parsers(data: &[u8]) {
    let any_len = |_| Some(1u64 << 28);
    if let Ok(i) = index::parse(data, any_len) {
        assert_eq!(i.files.len(), i.header.av_files as usize);
        assert!(i.segments.len() <= i.files.len() * index::SEGS_PER_FILE);
        assert!(i.segments.iter().all(|s| s.start_offset < s.end_offset));
    }
    if let Ok(p) = pictures::parse(data, any_len) {
        assert!(p.pictures.len() <= data.len() / 80);
    }
    if let Ok(map) = ps::probe(data) {
        assert!(map.start < data.len());
    }
    let mut copy = data.to_vec();
    assert!(remux::normalize_packs(&mut copy) <= data.len());
    let mut walker = pes::Walker::new(0xE0, Some(0xC0));
    walker.buf = data.to_vec();
    let (mut bytes, mut starts, mut sample) = (0usize, Vec::new(), Vec::new());
    let mut count = |u: pes::Unit| match u {
        pes::Unit::Video { au, .. } => {
            pes::to_length_prefixed(&au, true, &mut starts, &mut sample);
            assert!(sample.len() <= au.len() + 4 * au.len().div_ceil(3));
            bytes += au.len();
        }
        pes::Unit::Audio { frame, .. } => bytes += frame.len(),
    };
    if walker.feed(&mut count).is_ok() {
        let _ = walker.finish(&mut count);
    }
    assert!(bytes <= data.len(), "payload cannot exceed the input");
    if let Some(jpeg) = pictures::slice_jpeg(data) {
        assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) && jpeg.ends_with(&[0xFF, 0xD9]));
    }
    let _ = sync::datadir_count(data);
}
