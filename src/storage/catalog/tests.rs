use super::*;
use crate::time::LocalTime;
use std::io::Write;

/// A scratch store and its writer.
struct Dir(PathBuf, Writer);
impl Dir {
    fn new(name: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("nvr-cat-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p, Writer::start().unwrap())
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(body);
    v
}

/// Writes a file with an MP4 index saying `ms` long, named for `start` (UTC).
fn segment_file(root: &Path, camera: &str, start_s: i64, ms: u32) -> String {
    let t = LocalTime::utc(start_s);
    let name = format!("{}/{}.mp4", t.date(), t.file_stem());
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
    mvhd[16..20].copy_from_slice(&ms.to_be_bytes());
    let data = [
        boxed(b"ftyp", &[0; 8]),
        boxed(b"moov", &boxed(b"mvhd", &mvhd)),
    ]
    .concat();
    let path = root.join(camera).join(&name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
    name
}

const T0: i64 = 1_774_747_800; // 2026-03-29T01:30:00Z

#[test]
fn names_map_back_to_their_instant_with_any_offset() {
    assert_eq!(
        start_from_name("2026-03-29/01-30-00+0000.mp4"),
        Some(T0 as u64 * 1_000_000_000)
    );
    // The same instant in UTC+2 and UTC-5, and with a collision suffix.
    assert_eq!(
        start_from_name("2026-03-29/03-30-00+0200-1.mp4"),
        Some(T0 as u64 * 1_000_000_000)
    );
    assert_eq!(
        start_from_name("2026-03-28/20-30-00-0500.mp4"),
        Some(T0 as u64 * 1_000_000_000)
    );
    assert_eq!(start_from_name("notes.mp4"), None);
    assert_eq!(start_from_name("2026-03-29/garbage.mp4"), None);
}

#[test]
fn rebuilds_from_the_files_when_the_catalog_is_missing() {
    let d = Dir::new("rebuild");
    let a = segment_file(&d.0, "front", T0, 60_000);
    segment_file(&d.0, "front", T0 + 60, 59_500);
    segment_file(&d.0, "back", T0, 10_000);
    let (cat, r) = Catalog::open(&d.0, &d.1).unwrap();
    assert_eq!((r.added, r.dropped), (3, 0));
    let front: Vec<_> = cat.segments("front").collect();
    assert_eq!(front.len(), 2);
    assert_eq!(front[0].name.as_str(), a);
    assert_eq!(front[0].start_ns, T0 as u64 * 1_000_000_000);
    assert_eq!(front[1].duration_ms, 59_500);
    // Deleting the catalog files changes nothing: the files are the truth.
    drop(cat);
    d.1.flush();
    std::fs::remove_dir_all(d.0.join(".nvr")).unwrap();
    let (cat, r) = Catalog::open(&d.0, &d.1).unwrap();
    assert_eq!((r.added, cat.len()), (3, 3));
}

#[test]
fn journal_survives_restart_and_a_torn_last_write() {
    let d = Dir::new("journal");
    let (mut cat, _) = Catalog::open(&d.0, &d.1).unwrap();
    let name = segment_file(&d.0, "cam", T0, 2_000);
    let path = d.0.join("cam").join(&name);
    let seg = Segment {
        name: SegmentName::try_from(name.as_str()).unwrap(),
        start_ns: T0 as u64 * 1_000_000_000 + 250_000_000,
        duration_ms: 2_000,
        bytes: std::fs::metadata(&path).unwrap().len(),
        codec: heapless::String::try_from("h264").unwrap(),
        has_motion: true,
        source: Source::Recorded,
    };
    cat.add("cam", seg.clone()).unwrap();
    drop(cat);
    d.1.flush();
    // A crash mid-append: half a frame at the end of the journal.
    let mut j = std::fs::OpenOptions::new()
        .append(true)
        .open(d.0.join(".nvr/catalog.journal"))
        .unwrap();
    j.write_all(&[0x05, 0x01, 0x63]).unwrap();
    drop(j);
    let (cat, r) = Catalog::open(&d.0, &d.1).unwrap();
    // The journal's exact record (sub-second start, codec, motion) wins over the file scan.
    assert_eq!(r.added, 0);
    assert_eq!(cat.segments("cam").next(), Some(&seg));
}

#[test]
fn files_removed_behind_its_back_are_dropped_and_strays_reported() {
    let d = Dir::new("behind");
    let keep = segment_file(&d.0, "cam", T0, 1_000);
    let gone = segment_file(&d.0, "cam", T0 + 1, 1_000);
    let (cat, _) = Catalog::open(&d.0, &d.1).unwrap();
    assert_eq!(cat.len(), 2);
    drop(cat);
    d.1.flush();
    std::fs::remove_file(d.0.join("cam").join(&gone)).unwrap();
    std::fs::write(d.0.join("cam/2026-03-29/01-40-00+0000.mp4"), b"not an mp4").unwrap();
    let (cat, r) = Catalog::open(&d.0, &d.1).unwrap();
    assert_eq!(r.dropped, 1);
    assert_eq!(r.skipped.len(), 1);
    assert!(r.skipped[0].1.contains("no MP4 index"), "{:?}", r.skipped);
    let names: Vec<_> = cat.segments("cam").map(|s| s.name.to_string()).collect();
    assert_eq!(names, vec![keep]);
}

#[test]
fn range_selects_overlapping_segments() {
    let d = Dir::new("range");
    for i in 0..5 {
        segment_file(&d.0, "cam", T0 + i * 60, 60_000);
    }
    let (cat, _) = Catalog::open(&d.0, &d.1).unwrap();
    let ns = |s: i64| s as u64 * 1_000_000_000;
    let r = cat.range("cam", ns(T0 + 90), ns(T0 + 150));
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].start_ns, ns(T0 + 60));
}
