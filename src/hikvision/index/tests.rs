use super::*;

const T0: u32 = 1_745_856_378; // 2025-04-28 16:06:18 (camera wall clock)

/// A format-faithful index with `files` containers.
struct Builder(Vec<u8>, u32);

impl Builder {
    fn new(files: u32) -> Builder {
        let len = HEADER_LEN + files as usize * (FILE_REC_LEN + SEGS_PER_FILE * SEG_REC_LEN);
        let mut b = vec![0u8; len];
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        b[12..16].copy_from_slice(&files.to_le_bytes());
        for i in 0..49 {
            b[24 + i * 24..26 + i * 24].copy_from_slice(&0xFFFFu16.to_le_bytes());
        }
        for f in 0..files as usize {
            let o = HEADER_LEN + f * FILE_REC_LEN;
            b[o..o + 4].copy_from_slice(&(f as u32).to_le_bytes());
            b[o + 4..o + 6].copy_from_slice(&0xFFFFu16.to_le_bytes());
        }
        Builder(b, files)
    }
    fn file(&mut self, f: usize, last_seg: u16, start: u32, end: u32) -> &mut Self {
        let o = HEADER_LEN + f * FILE_REC_LEN;
        self.0[o + 4..o + 6].copy_from_slice(&1u16.to_le_bytes());
        self.0[o + 6..o + 8].copy_from_slice(&last_seg.to_le_bytes());
        self.0[o + 8..o + 12].copy_from_slice(&start.to_le_bytes());
        self.0[o + 12..o + 16].copy_from_slice(&end.to_le_bytes());
        self
    }
    fn seg(&mut self, f: usize, s: usize, start: u32, end: u32, off: (u32, u32)) -> &mut Self {
        let base = HEADER_LEN + self.1 as usize * FILE_REC_LEN;
        let o = base + (f * SEGS_PER_FILE + s) * SEG_REC_LEN;
        self.0[o] = 13;
        self.0[o + 8..o + 12].copy_from_slice(&start.to_le_bytes());
        self.0[o + 16..o + 20].copy_from_slice(&end.to_le_bytes());
        self.0[o + 40..o + 44].copy_from_slice(&off.0.to_le_bytes());
        self.0[o + 44..o + 48].copy_from_slice(&off.1.to_le_bytes());
        self
    }
    fn current(&mut self, file: u16, seg: u16) -> &mut Self {
        let o = 24 + 24; // slot 1, as a camera's channel 1
        self.0[o..o + 2].copy_from_slice(&file.to_le_bytes());
        self.0[o + 2..o + 4].copy_from_slice(&seg.to_le_bytes());
        self.0[o + 4..o + 8].copy_from_slice(&T0.to_le_bytes());
        self
    }
}

#[test]
fn takes_the_current_cycle_and_skips_stale_open_and_unused() {
    let mut b = Builder::new(3);
    // File 0: closed, segments 0..=1 current, 2 is last cycle's (earlier, overlapping).
    b.file(0, 1, T0, T0 + 120)
        .seg(0, 0, T0, T0 + 60, (0, 1000))
        .seg(0, 1, T0 + 60, T0 + 120, (16384, 30000))
        .seg(0, 2, T0 - 86_400, T0 - 86_000, (20000, 90000));
    // File 1: being written (slot says segment 1); its file record is last cycle's.
    b.file(1, 7, T0 - 90_000, T0 - 80_000)
        .current(1, 1)
        .seg(1, 0, T0 + 120, T0 + 180, (0, 5000))
        .seg(1, 1, T0 + 180, 0, (16384, 0))
        .seg(1, 2, T0 - 89_000, T0 - 88_000, (30000, 40000));
    // File 2 never written.
    let idx = parse(&b.0, |_| None).unwrap();
    assert_eq!(idx.header.current, Some((1, 1)));
    let got: Vec<(u32, u16)> = idx.segments.iter().map(|s| (s.file, s.seg)).collect();
    assert_eq!(got, vec![(0, 0), (0, 1), (1, 0)]);
    assert_eq!(
        idx.counts,
        Counts {
            files_used: 2,
            // Stale records are closed records too (as in the real index's 5,492).
            closed_records: 5,
            open: 1,
            stale: 2,
            implausible: 0
        }
    );
    assert_eq!(idx.segments[0].start.wall_clock(), "2025-04-28 16:06:18");
}

#[test]
fn implausible_records_are_refused() {
    let mut b = Builder::new(1);
    b.file(0, 3, T0, T0 + 400)
        .seg(0, 0, T0, T0 + 60, (0, 1000))
        .seg(0, 1, T0 + 60, T0 + 120, (500, 2000)) // overlaps the previous bytes
        .seg(0, 2, 1000, 2000, (3000, 4000)) // 1970: an unset clock
        .seg(0, 3, T0 + 200, T0 + 300, (5000, 9_000_000)); // past the container's end
    let idx = parse(&b.0, |_| Some(1_000_000)).unwrap();
    assert_eq!(idx.segments.len(), 1);
    assert_eq!(idx.counts.implausible, 3);
}

#[test]
fn truncated_garbage_and_other_formats_are_errors_not_panics() {
    let b = Builder::new(2);
    for cut in [0, 10, HEADER_LEN - 1, HEADER_LEN + 10, b.0.len() - 1] {
        assert!(parse(&b.0[..cut], |_| None).is_err(), "cut at {cut}");
    }
    let mut huge = b.0.clone();
    huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        parse(&huge, |_| None),
        Err(IndexError::BadHeader(_))
    ));
    let mut sqlite = b"SQLite format 3\0".to_vec();
    sqlite.resize(4096, 0);
    assert!(matches!(
        parse(&sqlite, |_| None),
        Err(IndexError::Unsupported(_))
    ));
    let mut btree = vec![0u8; 4096];
    btree[16..24].copy_from_slice(b"HIKBTREE");
    assert!(matches!(
        parse(&btree, |_| None),
        Err(IndexError::Unsupported(_))
    ));
    // Every single-byte corruption of a small index parses or errors, never panics.
    let mut b = Builder::new(1);
    b.file(0, 0, T0, T0 + 60).seg(0, 0, T0, T0 + 60, (0, 1000));
    for i in (0..b.0.len()).step_by(7) {
        let mut c = b.0.clone();
        c[i] ^= 0xA5;
        let _ = parse(&c, |_| Some(500));
    }
}

/// The real index from a Hikvision camera (`../shared/fixtures/hikvision/exampleV2.zip`):
/// the numbers are those of `docs/hikvision.md`.
#[test]
fn golden_real_camera_index() {
    let zip = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/hikvision/exampleV2.zip");
    if !zip.exists() {
        eprintln!(
            "SKIPPED golden_real_camera_index: {} is absent",
            zip.display()
        );
        return;
    }
    let out = std::process::Command::new("unzip")
        .args(["-p"])
        .arg(&zip)
        .arg("index00.bin")
        .output()
        .expect("unzip (apt install unzip)");
    assert!(out.status.success());
    let data = out.stdout;
    assert_eq!(data.len(), 16_777_216);
    let idx = parse(&data, |_| None).unwrap();
    assert_eq!(idx.header.version, 2);
    assert_eq!(idx.header.av_files, 55);
    assert_eq!((idx.header.next_file, idx.header.last_file), (43, 42));
    assert_eq!(idx.header.current, Some((42, 65)));
    // 5,492 closed records in all, and one open one: most closed ones are stale.
    assert_eq!(idx.counts.closed_records, 5492);
    assert_eq!(idx.counts.open, 1);
    assert_eq!(idx.counts.files_used, 55);
    let total = idx.segments.len() + idx.counts.stale + idx.counts.implausible;
    assert_eq!(total, 5492, "{:?}", idx.counts);
    assert!(
        idx.counts.stale > idx.segments.len() / 2,
        "{:?}",
        idx.counts
    );
    let first = idx.segments[0];
    assert_eq!((first.file, first.seg), (0, 0));
    assert_eq!((first.start_offset, first.end_offset), (0, 2_881_484));
    assert_eq!(first.start.wall_clock(), "2025-04-28 16:06:18");
    // Within each file: time and bytes only move forward.
    for w in idx.segments.windows(2) {
        if w[0].file == w[1].file {
            assert!(w[1].start_offset >= w[0].end_offset && w[1].start >= w[0].start);
        }
    }
    eprintln!(
        "golden index: {} valid segments, {:?}",
        idx.segments.len(),
        idx.counts
    );
}

/// Random corruption of a valid index (bytes flipped, header fields set to extremes,
/// truncation) through every parser: never a panic, output bounded (`check_parsers`).
/// Deterministic (fixed seed) so a failure reproduces; `fuzz/` explores further.
#[test]
fn mutated_indexes_never_panic() {
    let mut b = Builder::new(3);
    b.file(0, 1, T0, T0 + 120)
        .seg(0, 0, T0, T0 + 60, (0, 1000))
        .seg(0, 1, T0 + 60, T0 + 120, (16384, 30000))
        .seg(0, 2, T0 - 86_400, T0 - 86_000, (20000, 90000))
        .file(1, 7, T0 - 90_000, T0 - 80_000)
        .seg(1, 0, T0 + 200, T0 + 260, (0, 5000))
        .current(1, 0);
    let mut seed = 0x9E37_79B9u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let fields = [
        8usize,
        12,
        16,
        20,
        24,
        26,
        28,
        HEADER_LEN + 4,
        HEADER_LEN + 6,
    ];
    for _ in 0..1500 {
        let mut c = b.0.clone();
        for _ in 0..1 + next() % 8 {
            let i = next() as usize % c.len();
            c[i] = next() as u8;
        }
        if next() % 4 == 0 {
            let f = fields[next() as usize % fields.len()];
            let v = [0u32, 1, 3, 255, 0xFFFF, 10_000, u32::MAX][next() as usize % 7];
            c[f..f + 4].copy_from_slice(&v.to_le_bytes());
        }
        if next() % 4 == 0 {
            c.truncate(next() as usize % c.len());
        }
        crate::hikvision::check_parsers(&c);
    }
}
