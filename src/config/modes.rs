//! Recording modes as configured: `continuous`, `motion`, `schedule` (weekly windows such as
//! `mon-fri 08:00-20:00`), `off`. What each keeps is decided by `storage::modes`.

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Continuous,
    Motion,
    Schedule(Vec<Window>),
    Off,
}

impl Mode {
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Continuous => "continuous",
            Mode::Motion => "motion",
            Mode::Schedule(_) => "schedule",
            Mode::Off => "off",
        }
    }
}

/// A weekly window: days (bit 0 = Sunday … bit 6 = Saturday) and minutes since local
/// midnight; `end < start` wraps past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub days: u8,
    pub start_min: u16,
    pub end_min: u16,
}

const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Parses `mon-fri 08:00-20:00`, `sat,sun 10:00-14:00`, `daily 22:00-06:00`.
pub fn parse_window(s: &str) -> Result<Window, String> {
    let bad = |why: &str| format!("{s:?}: {why} (e.g. \"mon-fri 08:00-20:00\")");
    let (days, times) = s
        .trim()
        .split_once(' ')
        .ok_or_else(|| bad("days and times"))?;
    let day = |d: &str| {
        DAYS.iter()
            .position(|x| *x == d)
            .ok_or_else(|| bad("unknown day"))
    };
    let mut mask = 0u8;
    for part in days.split(',') {
        match part {
            "daily" | "all" => mask = 0x7f,
            p => match p.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a)?, day(b)?);
                    let mut d = a;
                    loop {
                        mask |= 1 << d;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => mask |= 1 << day(p)?,
            },
        }
    }
    let (a, b) = times.trim().split_once('-').ok_or_else(|| bad("times"))?;
    let hm = |t: &str| -> Result<u16, String> {
        let (h, m) = t.split_once(':').ok_or_else(|| bad("HH:MM"))?;
        let (h, m) = (
            h.parse::<u16>().map_err(|_| bad("HH:MM"))?,
            m.parse::<u16>().map_err(|_| bad("HH:MM"))?,
        );
        if h > 24 || m > 59 || (h == 24 && m > 0) {
            return Err(bad("HH:MM"));
        }
        Ok(h * 60 + m)
    };
    Ok(Window {
        days: mask,
        start_min: hm(a)?,
        end_min: hm(b)?,
    })
}

impl Window {
    /// Whether local weekday `wday` (0 = Sunday), minute `min` falls inside.
    pub fn contains(&self, wday: u8, min: u16) -> bool {
        let today = self.days & (1 << wday) != 0;
        if self.start_min <= self.end_min {
            today && (self.start_min..self.end_min).contains(&min)
        } else {
            // Overnight: the evening part belongs to the day it starts on.
            let yesterday = self.days & (1 << ((wday + 6) % 7)) != 0;
            (today && min >= self.start_min) || (yesterday && min < self.end_min)
        }
    }
}

/// Local weekday (0 = Sunday) and minute of the day of a Unix time.
pub fn local_week_minute(unix_ns: u64) -> (u8, u16) {
    let t = crate::time::LocalTime::from_unix((unix_ns / 1_000_000_000) as i64);
    let days =
        crate::time::days_from_civil(i64::from(t.year), i64::from(t.month), i64::from(t.day));
    (
        ((days + 4).rem_euclid(7)) as u8,
        (t.hour * 60 + t.minute) as u16,
    )
}
