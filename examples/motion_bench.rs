//! Runs nvr's motion detector over raw GRAY8 frames and reports its speed; with FLAGS.txt it
//! also writes its verdict per frame (`0`/`1`) there, for `bench/motion_score.py`. Used by
//! `bench/motion.sh` side by side with an OpenCV implementation of the same task.
//!
//! `cargo run --release --example motion_bench -- FRAMES.raw WIDTH HEIGHT [FLAGS.txt]`

use nvr::motion::detector::{Detector, Settings};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, w, h, rest @ ..] = args.as_slice() else {
        eprintln!("usage: motion_bench FRAMES.raw WIDTH HEIGHT [FLAGS.txt]");
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
    println!("{ms:.4}");
    if let Some(out) = rest.first() {
        let flags: Vec<&str> = active.iter().map(|a| if *a { "1" } else { "0" }).collect();
        std::fs::write(out, flags.join(" ") + "\n").expect("flags");
    }
}
