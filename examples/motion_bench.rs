//! Runs nvr's motion detector over raw GRAY8 frames and reports its speed and, given the
//! truth (one `0`/`1` per frame), its frame-level precision and recall. Used by
//! `bench/motion.sh` side by side with an OpenCV implementation of the same task.
//!
//! `cargo run --release --example motion_bench -- FRAMES.raw WIDTH HEIGHT [TRUTH.txt]`

use nvr::motion::detector::{Detector, Settings};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, w, h, rest @ ..] = args.as_slice() else {
        eprintln!("usage: motion_bench FRAMES.raw WIDTH HEIGHT [TRUTH.txt]");
        std::process::exit(2);
    };
    let (w, h): (usize, usize) = (w.parse().unwrap(), h.parse().unwrap());
    let data = std::fs::read(file).expect("frames");
    let frames: Vec<&[u8]> = data.chunks_exact(w * h).collect();
    let mut d = Detector::new(Settings::default(), w, h);
    let mut active = Vec::with_capacity(frames.len());
    let t = Instant::now();
    for f in &frames {
        active.push(d.process(f, w, h, w).active());
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0 / frames.len() as f64;
    print!("{ms:.4}");
    if let Some(truth) = rest.first() {
        let truth: Vec<bool> = std::fs::read_to_string(truth)
            .expect("truth")
            .split_whitespace()
            .map(|t| t == "1")
            .collect();
        let (p, r) = precision_recall(&active, &truth);
        print!(" {p:.3} {r:.3}");
    }
    println!();
}

fn precision_recall(got: &[bool], truth: &[bool]) -> (f64, f64) {
    let tp = got.iter().zip(truth).filter(|(g, t)| **g && **t).count() as f64;
    let fp = got.iter().zip(truth).filter(|(g, t)| **g && !**t).count() as f64;
    let fneg = got.iter().zip(truth).filter(|(g, t)| !**g && **t).count() as f64;
    (tp / (tp + fp).max(1.0), tp / (tp + fneg).max(1.0))
}
