//! The fuzz targets' corpus (`fuzz/corpus/TARGET/`), replayed on stable in the normal test
//! command, each file as it is and in 300 deterministic mutations (bit flips, cuts, repeated
//! and inserted bytes). The same checks run under cargo-fuzz (`fuzz/`, nightly) for minutes
//! at a time; an input it finds goes into the corpus and is replayed here from then on.

use std::path::Path;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}

/// Deterministic variations of `seed` (xorshift; the same every run).
fn mutations(seed: &[u8], n: usize) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ seed.len() as u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n).map(move |i| {
        let mut v = seed.to_vec();
        let len = v.len().max(1);
        let at = (next() as usize) % len;
        match i % 5 {
            0 if !v.is_empty() => v[at] ^= 1 << (next() % 8),
            1 => v.truncate(at),
            2 if !v.is_empty() => {
                let b = v[at];
                v.splice(at..at, std::iter::repeat_n(b, (next() % 64) as usize));
            }
            3 => v.insert(at.min(v.len()), next() as u8),
            _ if !v.is_empty() => {
                // A big-endian 32-bit field set to something huge (box sizes, counts).
                let at = at.min(v.len().saturating_sub(4));
                let huge = [0xFFu8, 0xFF, 0xFF, 0xF0 | (next() as u8 & 0xF)];
                for (k, b) in huge.iter().enumerate() {
                    if let Some(x) = v.get_mut(at + k) {
                        *x = *b;
                    }
                }
            }
            _ => v.push(next() as u8),
        }
        v
    })
}

fn replay(target: &str, check: fn(&[u8])) {
    for (name, seed) in corpus(target) {
        check(&seed);
        for (i, m) in mutations(&seed, 300).enumerate() {
            let result = std::panic::catch_unwind(|| check(&m));
            assert!(
                result.is_ok(),
                "{target}/{name}, mutation {i} ({} bytes)",
                m.len()
            );
        }
    }
}

#[test]
fn config_corpus() {
    replay("config", nvr::fuzzing::config);
}

#[test]
fn http_target_corpus() {
    replay("http_target", nvr::fuzzing::http_target);
}

#[test]
fn mp4_corpus() {
    replay("mp4", nvr::fuzzing::mp4);
}
