//! Time: an injectable monotonic clock, and wall-clock formatting for names and JSON.
//!
//! Supervision logic (backoff, stall detection, healthy periods) takes a [`Clock`] so tests
//! drive it with [`SimClock`] frame by frame instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Monotonic time, as a duration since an arbitrary per-process epoch.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Duration;
}

/// The real monotonic clock. Shares its epoch with [`monotonic`], which pad probes use.
#[derive(Clone, Copy, Default)]
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> Duration {
        monotonic()
    }
}

/// Monotonic time since the first call in this process (CLOCK_MONOTONIC, never steps).
pub fn monotonic() -> Duration {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed()
}

/// A clock that only moves when told to. Cheap to clone; clones share the time.
#[derive(Clone, Default)]
pub struct SimClock(Arc<AtomicU64>);

impl SimClock {
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Clock for SimClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
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
