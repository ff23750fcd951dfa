//! Writes a Hikvision camera folder of about SIZE_MB megabytes for `bench/hikvision.sh`:
//! 1280×720 H.265 + AAC at ~7 Mbit/s in 30 s segments, 256 MiB containers, two datadirs,
//! plus `segments.tsv` (container path, start, end offset) for the reference methods.
//!
//! usage: cargo run --release --example hik_datadir -- CAMERA_DIR SIZE_MB TSV

use nvr::hikvision::fixture::{self, AudioKind, ClipSpec, Datadir, Packer};
use nvr::hikvision::index::CamTime;
use nvr::hikvision::ps::VideoCodec;
use std::io::Write;

const CONTAINER: u64 = 256 << 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, size_mb, tsv) = match &args[..] {
        [_, d, s, t] => (
            std::path::PathBuf::from(d),
            s.parse::<u64>().expect("SIZE_MB"),
            t,
        ),
        _ => panic!("usage: hik_datadir CAMERA_DIR SIZE_MB TSV"),
    };
    let clip = fixture::encode(&ClipSpec {
        size: (1280, 720),
        kbps: 7000,
        pattern: "snow",
        frames: 100,
        ..ClipSpec::small(VideoCodec::H265, Some(AudioKind::Aac))
    })
    .expect("encode");
    fixture::write_info(&dir, 2).expect("info.bin");
    let per_dir_files = 8u32;
    let mut datadirs: Vec<Datadir> = (0..2)
        .map(|d| Datadir::create(&dir.join(format!("datadir{d}")), per_dir_files).expect("datadir"))
        .collect();
    let mut tsv = std::fs::File::create(tsv).expect("tsv");
    let mut packer = Packer::default();
    let (mut written, mut t, mut pts) = (0u64, 1_757_255_415u32, 900_000u64);
    let (mut d, mut f, mut used) = (0usize, 0u32, 0u64);
    while written < size_mb << 20 {
        let seg = packer.segment(&clip, CamTime { sec: t, usec: 0 }, pts, 750);
        if used + seg.bytes.len() as u64 + (16 << 10) > CONTAINER {
            (f, used) = (f + 1, 0);
            if f == per_dir_files {
                (d, f) = (d + 1, 0);
            }
        }
        let start = used.div_ceil(16 << 10) * (16 << 10);
        datadirs[d]
            .push(
                f,
                &seg,
                CamTime { sec: t, usec: 0 },
                CamTime {
                    sec: t + 30,
                    usec: 0,
                },
            )
            .expect("push");
        let path = datadirs[d].path().join(format!("hiv{f:05}.mp4"));
        writeln!(
            tsv,
            "{}\t{start}\t{}",
            path.display(),
            start + seg.bytes.len() as u64
        )
        .expect("tsv");
        used = start + seg.bytes.len() as u64;
        written += seg.bytes.len() as u64;
        t += 30;
        pts += 30 * 90_000;
    }
    for dd in datadirs {
        dd.finish().expect("index");
    }
    println!("{written}");
}
