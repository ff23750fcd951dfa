//! What one login costs: the argon2id verification nvr runs for a password (parameters in
//! `nvr::auth`). Prints the median and the spread over 15 runs, on one thread.
//! Run by `bench/login.sh`.

fn main() {
    let phc = nvr::auth::hash_password("a password of some length");
    let mut ms: Vec<f64> = (0..15)
        .map(|_| {
            let t = std::time::Instant::now();
            assert!(nvr::auth::verify_password(
                "a password of some length",
                &phc
            ));
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "argon2id {}: login {:.1} ms median ({:.1}..{:.1} ms over {} runs)",
        phc.split('$').nth(3).unwrap_or("?"),
        ms[ms.len() / 2],
        ms[0],
        ms[ms.len() - 1],
        ms.len()
    );
}
