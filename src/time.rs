//! Time: an injectable clock (wall, monotonic, sleep), and wall-clock formatting for names
//! and JSON.
//!
//! Supervision (backoff, stall detection, healthy periods, waits between attempts) takes a
//! [`Clock`] so tests drive it with [`SimClock`] frame by frame instead of sleeping.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A future that completes at a clock's deadline.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Wall time, monotonic time, and sleeping on the monotonic time.
pub trait Clock: Send + Sync + 'static {
    /// Monotonic time, as a duration since an arbitrary per-process epoch. Never steps.
    fn now(&self) -> Duration;
    /// Wall-clock nanoseconds since the Unix epoch. Steps when the system clock is set.
    fn wall_ns(&self) -> u64;
    /// Completes once [`now`](Self::now) reaches `deadline`.
    fn sleep_until(&self, deadline: Duration) -> Sleep;
    fn sleep(&self, d: Duration) -> Sleep {
        self.sleep_until(self.now() + d)
    }
}

/// The real clocks. The monotonic one shares its epoch with [`monotonic`], which pad probes
/// use.
#[derive(Clone, Copy, Default)]
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> Duration {
        monotonic()
    }
    fn wall_ns(&self) -> u64 {
        unix_now_ns()
    }
    fn sleep_until(&self, deadline: Duration) -> Sleep {
        let at = epoch() + deadline;
        Box::pin(async move {
            smol::Timer::at(at).await;
        })
    }
}

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Monotonic time since the first call in this process (CLOCK_MONOTONIC, never steps).
pub fn monotonic() -> Duration {
    epoch().elapsed()
}

#[cfg(test)]
pub use sim::{SimClock, run_simulated};

/// Simulated time for tests.
#[cfg(test)]
mod sim {
    use super::{Clock, Sleep};
    use std::collections::BTreeMap;
    use std::future::Future;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    /// A clock that only moves when told to; sleepers wake as it passes their deadline.
    /// Cheap to clone; clones share the time. Wall time starts at 2026-01-01 and moves with
    /// the monotonic time unless stepped.
    #[derive(Clone)]
    pub struct SimClock(Arc<Mutex<Sim>>);

    struct Sim {
        now: Duration,
        /// Wall ns at monotonic zero.
        wall_base: i128,
        /// By (deadline, sleep id): a sleep polled again replaces its waker.
        sleepers: BTreeMap<(Duration, u64), Waker>,
        next_id: u64,
    }

    impl Default for SimClock {
        fn default() -> Self {
            SimClock(Arc::new(Mutex::new(Sim {
                now: Duration::ZERO,
                wall_base: 1_767_225_600 * 1_000_000_000,
                sleepers: BTreeMap::new(),
                next_id: 0,
            })))
        }
    }

    impl SimClock {
        pub fn advance(&self, d: Duration) {
            let to = self.now() + d;
            self.advance_to(to);
        }

        /// Moves the time to `to` (never back) and wakes every sleeper it passes.
        pub fn advance_to(&self, to: Duration) {
            let woken = {
                let mut s = self.0.lock().unwrap();
                s.now = s.now.max(to);
                let now = s.now;
                let later = s.sleepers.split_off(&(now, u64::MAX));
                std::mem::replace(&mut s.sleepers, later)
            };
            woken.into_values().for_each(Waker::wake);
        }

        /// The earliest deadline anyone sleeps until (some may belong to dropped sleeps).
        pub fn next_deadline(&self) -> Option<Duration> {
            let s = self.0.lock().unwrap();
            s.sleepers.keys().next().map(|(at, _)| *at)
        }

        /// Steps the wall clock by `delta` ns (NTP setting the time), leaving monotonic time.
        pub fn step_wall(&self, delta: i64) {
            self.0.lock().unwrap().wall_base += i128::from(delta);
        }
    }

    impl Clock for SimClock {
        fn now(&self) -> Duration {
            self.0.lock().unwrap().now
        }
        fn wall_ns(&self) -> u64 {
            let s = self.0.lock().unwrap();
            (s.wall_base + s.now.as_nanos() as i128).clamp(0, i128::from(u64::MAX)) as u64
        }
        fn sleep_until(&self, deadline: Duration) -> Sleep {
            let sim = self.0.clone();
            let id = {
                let mut s = sim.lock().unwrap();
                s.next_id += 1;
                s.next_id
            };
            Box::pin(std::future::poll_fn(move |cx: &mut Context<'_>| {
                let mut s = sim.lock().unwrap();
                if s.now >= deadline {
                    Poll::Ready(())
                } else {
                    s.sleepers.insert((deadline, id), cx.waker().clone());
                    Poll::Pending
                }
            }))
        }
    }

    /// Runs `fut` on the calling thread against `clock`: whenever nothing can make progress,
    /// time jumps to the next sleeper's deadline. Panics past `limit` of simulated time, or
    /// when nothing sleeps and nothing can progress (a deadlock in the code under test).
    pub fn run_simulated<F: Future>(clock: &SimClock, limit: Duration, fut: F) -> F::Output {
        struct Flag(AtomicBool);
        impl std::task::Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(false.into()));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        loop {
            flag.0.store(false, Ordering::SeqCst);
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            if flag.0.load(Ordering::SeqCst) {
                continue;
            }
            let next = clock
                .next_deadline()
                .expect("simulation stuck: nothing sleeps and nothing can progress");
            assert!(next <= limit, "simulation ran past {limit:?}");
            clock.advance_to(next);
        }
    }
}

/// Notices the wall clock being set (NTP at boot on a Pi without a real-time clock, or by
/// hand): the wall clock moving against the monotonic one by more than `threshold` between
/// two looks. How often it looks does not matter: drift is milliseconds a day.
#[derive(Debug)]
pub struct StepDetector {
    /// (monotonic, wall ns) at the last look.
    last: Option<(Duration, u64)>,
    threshold: Duration,
}

impl StepDetector {
    pub fn new(threshold: Duration) -> StepDetector {
        StepDetector {
            last: None,
            threshold,
        }
    }

    /// The step since the last look, in ns (negative: the clock was set back).
    pub fn observe(&mut self, clock: &dyn Clock) -> Option<i64> {
        let now = (clock.now(), clock.wall_ns());
        let (mono0, wall0) = self.last.replace(now)?;
        let expected = i128::from(wall0) + (now.0 - mono0).as_nanos() as i128;
        let step = i128::from(now.1) - expected;
        (step.unsigned_abs() > self.threshold.as_nanos())
            .then(|| step.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }
}

/// Whether the kernel says the system clock is synchronized (to NTP); `None` when it cannot
/// tell. A Pi without a real-time clock boots with the time it last saved, unsynchronized.
pub fn ntp_synchronized() -> Option<bool> {
    // SAFETY: with `modes` 0 ntp_adjtime only reads the kernel's clock state into `t`, which
    // we own; a zeroed timex is valid.
    let mut t: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::ntp_adjtime(&mut t) };
    (state >= 0).then_some(state != libc::TIME_ERROR && t.status & libc::STA_UNSYNC == 0)
}

/// Wall-clock nanoseconds since the Unix epoch.
pub fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Unix seconds of a local wall-clock time given as seconds since 1970-01-01 00:00 "local"
/// (how cameras store time). In the repeated hour at a DST change the later instant is taken.
pub fn unix_from_wall_clock(wall: i64) -> i64 {
    let first = wall - i64::from(LocalTime::from_unix(wall).offset);
    wall - i64::from(LocalTime::from_unix(first).offset)
}

/// A broken-down local time with its UTC offset, as the system's time zone (TZ, /etc/localtime)
/// says for that instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Seconds east of UTC.
    pub offset: i32,
}

impl LocalTime {
    pub fn from_unix(secs: i64) -> LocalTime {
        let t: libc::time_t = secs as libc::time_t;
        // SAFETY: localtime_r writes only into `tm`, which we own; a zeroed tm is valid.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
        if !ok {
            return LocalTime::utc(secs);
        }
        LocalTime {
            year: tm.tm_year + 1900,
            month: tm.tm_mon as u32 + 1,
            day: tm.tm_mday as u32,
            hour: tm.tm_hour as u32,
            minute: tm.tm_min as u32,
            second: tm.tm_sec as u32,
            offset: tm.tm_gmtoff as i32,
        }
    }

    pub fn utc(secs: i64) -> LocalTime {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        LocalTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            offset: 0,
        }
    }

    /// `2026-03-29`: the day folder.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `02-30-00+0100`: a file stem that sorts by time within a day and stays unique across
    /// the repeated hour when clocks go back (the offset differs).
    pub fn file_stem(&self) -> String {
        let sign = if self.offset < 0 { '-' } else { '+' };
        let off = self.offset.unsigned_abs();
        format!(
            "{:02}-{:02}-{:02}{sign}{:02}{:02}",
            self.hour,
            self.minute,
            self.second,
            off / 3600,
            off % 3600 / 60
        )
    }

    /// RFC 3339 with the offset (`Z` for UTC).
    pub fn rfc3339(&self) -> String {
        let base = format!(
            "{}T{:02}:{:02}:{:02}",
            self.date(),
            self.hour,
            self.minute,
            self.second
        );
        if self.offset == 0 {
            return base + "Z";
        }
        let sign = if self.offset < 0 { '-' } else { '+' };
        let off = self.offset.unsigned_abs();
        format!("{base}{sign}{:02}:{:02}", off / 3600, off % 3600 / 60)
    }
}

/// RFC 3339 UTC for a Unix time in nanoseconds, with milliseconds.
pub fn rfc3339_utc_ns(ns: u64) -> String {
    let secs = (ns / 1_000_000_000) as i64;
    let ms = ns / 1_000_000 % 1000;
    let t = LocalTime::utc(secs);
    format!(
        "{}T{:02}:{:02}:{:02}.{ms:03}Z",
        t.date(),
        t.hour,
        t.minute,
        t.second
    )
}

/// Parses a point in time given by a user: Unix seconds (`1774747800`), RFC 3339 with a zone
/// (`2026-03-29T01:30:00Z`, `2026-03-29T03:30:00+02:00`), or local wall-clock time without one
/// (`2026-03-29T03:30:00` or with a space; resolved in the system's time zone). Unix ns.
pub fn parse_time(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let bad = || {
        format!(
            "{s:?} is not a time (use 2026-03-29T03:30:00, 2026-03-29T01:30:00Z, \
             2026-03-29T03:30:00+02:00 or Unix seconds)"
        )
    };
    let out_of_range = || format!("{s:?} is out of range (years 1970-{})", MAX_YEAR);
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.parse::<u64>() {
            Ok(t) if t < MAX_UNIX_SECONDS => Ok(t * 1_000_000_000),
            _ => Err(out_of_range()),
        };
    }
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok());
    let (y, mo, d) = (
        num(0..4).ok_or_else(bad)?,
        num(5..7).ok_or_else(bad)?,
        num(8..10).ok_or_else(bad)?,
    );
    let (h, mi, sec) = (
        num(11..13).ok_or_else(bad)?,
        num(14..16).ok_or_else(bad)?,
        num(17..19).ok_or_else(bad)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return Err(bad());
    }
    if !(1970..=MAX_YEAR).contains(&y) {
        return Err(out_of_range());
    }
    let mut rest = &s[19..];
    let mut frac_ns = 0u64;
    if let Some(f) = rest.strip_prefix('.') {
        let digits: String = f.chars().take_while(char::is_ascii_digit).collect();
        rest = &f[digits.len()..];
        let padded = format!("{digits:0<9}");
        frac_ns = padded[..9].parse().map_err(|_| bad())?;
    }
    let local = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec;
    let utc = match rest {
        "" => {
            // Local time: let the C library apply the zone's rules (DST included).
            // SAFETY: mktime reads and normalizes `tm`, which we own.
            let mut tm: libc::tm = unsafe { std::mem::zeroed() };
            tm.tm_year = (y - 1900) as i32;
            tm.tm_mon = (mo - 1) as i32;
            tm.tm_mday = d as i32;
            tm.tm_hour = h as i32;
            tm.tm_min = mi as i32;
            tm.tm_sec = sec as i32;
            tm.tm_isdst = -1;
            let t = unsafe { libc::mktime(&mut tm) };
            if t == -1 {
                return Err(bad());
            }
            t as i64
        }
        "Z" | "z" => local,
        zone => {
            let zb = zone.as_bytes();
            if zone.len() != 6 || zb[3] != b':' || !(zb[0] == b'+' || zb[0] == b'-') {
                return Err(bad());
            }
            let off = zone[1..3].parse::<i64>().map_err(|_| bad())? * 3600
                + zone[4..6].parse::<i64>().map_err(|_| bad())? * 60;
            if zb[0] == b'+' {
                local - off
            } else {
                local + off
            }
        }
    };
    match u64::try_from(utc) {
        Ok(t) if t < MAX_UNIX_SECONDS => Ok(t * 1_000_000_000 + frac_ns),
        _ => Err(out_of_range()),
    }
}

/// The last year [`parse_time`] accepts: nanoseconds since 1970 then still fit an `i64`
/// (and so a `u64`) with room to add durations, and no camera records that far ahead.
pub const MAX_YEAR: i64 = 2199;
/// 2200-01-01T00:00:00Z.
const MAX_UNIX_SECONDS: u64 = 7_258_118_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_step_of_the_wall_clock_is_seen_drift_is_not() {
        use super::{Clock, SimClock, StepDetector};
        use std::time::Duration;
        let clock = SimClock::default();
        let mut d = StepDetector::new(Duration::from_secs(2));
        assert_eq!(d.observe(&clock), None, "the first look sets the reference");
        clock.advance(Duration::from_secs(2));
        assert_eq!(d.observe(&clock), None);
        clock.step_wall(3 * 3600 * 1_000_000_000);
        clock.advance(Duration::from_secs(2));
        assert_eq!(d.observe(&clock), Some(3 * 3600 * 1_000_000_000));
        assert_eq!(d.observe(&clock), None, "seen once");
        clock.step_wall(-3600 * 1_000_000_000);
        assert_eq!(d.observe(&clock), Some(-3600 * 1_000_000_000));
        clock.step_wall(500_000_000); // NTP slewing small offsets is not a step
        clock.advance(Duration::from_secs(60));
        assert_eq!(d.observe(&clock), None);
        let _ = clock.wall_ns();
        assert!(super::ntp_synchronized().is_some(), "the kernel answers");
    }

    use super::*;

    #[test]
    fn times_out_of_range_are_errors_not_wrapped_numbers() {
        for bad in [
            "18446744073",
            "18446744074",
            "99999999999999999999999",
            "7258118400",
            "2600-01-01T00:00:00Z",
            "2200-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "9999-12-31T23:59:59+14:00",
        ] {
            let e = parse_time(bad).unwrap_err();
            assert!(e.contains("out of range"), "{bad}: {e}");
        }
        assert_eq!(parse_time("7258118399"), Ok(7_258_118_399_000_000_000));
        assert_eq!(
            parse_time("2199-12-31T23:59:59Z"),
            Ok(7_258_118_399_000_000_000)
        );
    }

    #[test]
    fn utc_breakdown() {
        // 2026-03-29T01:30:00Z
        let t = LocalTime::utc(1_774_747_800);
        assert_eq!(t.date(), "2026-03-29");
        assert_eq!(t.file_stem(), "01-30-00+0000");
        assert_eq!(t.rfc3339(), "2026-03-29T01:30:00Z");
        assert_eq!(
            rfc3339_utc_ns(1_774_747_800_123_000_000),
            "2026-03-29T01:30:00.123Z"
        );
    }

    #[test]
    fn repeated_hour_gets_distinct_names() {
        // Europe/Amsterdam, 2026-10-25: 02:30 happens twice, first at +0200 then at +0100.
        let first = LocalTime {
            year: 2026,
            month: 10,
            day: 25,
            hour: 2,
            minute: 30,
            second: 0,
            offset: 7200,
        };
        let second = LocalTime {
            offset: 3600,
            ..first
        };
        assert_ne!(first.file_stem(), second.file_stem());
        assert_eq!(second.file_stem(), "02-30-00+0100");
        assert_eq!(second.rfc3339(), "2026-10-25T02:30:00+01:00");
    }

    #[test]
    fn parses_user_times() {
        let t = 1_774_747_800_000_000_000;
        assert_eq!(parse_time("1774747800"), Ok(t));
        assert_eq!(parse_time("2026-03-29T01:30:00Z"), Ok(t));
        assert_eq!(parse_time("2026-03-29T03:30:00+02:00"), Ok(t));
        assert_eq!(parse_time("2026-03-28T20:30:00-05:00"), Ok(t));
        assert_eq!(parse_time("2026-03-29T01:30:00.25Z"), Ok(t + 250_000_000));
        assert!(
            parse_time("yesterday")
                .unwrap_err()
                .contains("is not a time")
        );
        assert!(parse_time("2026-13-01T00:00:00Z").is_err());
        // Without a zone: local time, whatever zone this machine is in.
        let local = parse_time("2026-03-29 12:00:00").unwrap();
        let lt = LocalTime::from_unix((local / 1_000_000_000) as i64);
        assert_eq!((lt.day, lt.hour, lt.minute), (29, 12, 0));
    }

    #[test]
    fn sim_clock_only_moves_when_told() {
        let c = SimClock::default();
        let t0 = c.now();
        c.advance(Duration::from_secs(3));
        assert_eq!(c.now() - t0, Duration::from_secs(3));
    }
}
