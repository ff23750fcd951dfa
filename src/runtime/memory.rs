//! The process's heap: how many malloc arenas glibc may make.
//!
//! glibc gives a thread that finds the heap locked an arena of its own, up to 8 per core
//! (16 on a 2-core machine, 32 on a Pi 4), and an arena keeps what was freed in it. Every
//! reconnect starts new streaming threads, so a camera that comes and goes spreads its
//! buffers over more and more arenas. Measured over 40 flaps of one camera (2 cores): with
//! the default RSS went 33.2 → 40.1 MB and was still rising; with two arenas 33.1 → 34.4 MB,
//! flat from the 7th flap on (one arena: 33.2 → 33.9 MB). Two still let two threads
//! allocate at once (small blocks come from each thread's own cache anyway).

/// Arenas nvr allows, unless `MALLOC_ARENA_MAX` says otherwise.
const ARENAS: i32 = 2;

/// Caps glibc's malloc arenas; call first in `main`, before any thread starts. Does nothing
/// when the environment sets `MALLOC_ARENA_MAX` (glibc reads it itself) or on other libcs.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt sets a tunable under glibc's own lock; it touches no Rust memory.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
    }
}
