//! Coverage: how much of a day a camera actually recorded, and why the rest is missing.
//!
//! Pure: the day's segments (from the catalog), the segment being written, the camera's
//! outage history (from its supervisor) and nvr's start time in; seconds recorded vs expected
//! and the gaps with their reasons out.

use super::catalog::Segment;
use serde::Serialize;

/// Holes shorter than this are segment-boundary jitter, not gaps.
const MIN_GAP_NS: u64 = 1_500_000_000;

/// A period the supervisor knows the camera was not recording, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    pub from_ns: u64,
    /// `None` while it lasts.
    pub to_ns: Option<u64>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    pub from: String,
    pub to: String,
    pub seconds: f64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    pub expected_s: f64,
    pub recorded_s: f64,
    /// recorded / expected, 0..=1.
    pub ratio: f64,
    pub gaps: Vec<Gap>,
}

pub struct Inputs<'a> {
    /// The window: local midnight to the next midnight, or to now for today.
    pub from_ns: u64,
    pub to_ns: u64,
    /// The camera's finished segments overlapping the window, in time order.
    pub segments: &'a [Segment],
    /// Start of the segment being written, if any (recorded until `to_ns`).
    pub open_since_ns: Option<u64>,
    pub outages: &'a [Outage],
    /// When this nvr process started: earlier gaps are "nvr was not running" unless an
    /// outage explains them.
    pub started_ns: u64,
}

pub fn compute(i: &Inputs) -> Coverage {
    let mut spans: Vec<(u64, u64)> = i
        .segments
        .iter()
        .map(|s| (s.start_ns.max(i.from_ns), s.end_ns().min(i.to_ns)))
        .filter(|(a, b)| b > a)
        .collect();
    // An open segment that starts after the window's end (the wall clock was set back while
    // it was being written) covers nothing of it.
    if let Some(open) = i.open_since_ns.filter(|&o| o < i.to_ns) {
        spans.push((open.max(i.from_ns), i.to_ns));
    }
    spans.sort();
    let mut recorded = 0u64;
    let mut gaps = Vec::new();
    let mut cursor = i.from_ns;
    for (a, b) in spans {
        if a > cursor {
            gap(i, cursor, a, &mut gaps);
        }
        if b > cursor {
            recorded += b - a.max(cursor);
            cursor = b;
        }
    }
    if i.to_ns > cursor {
        gap(i, cursor, i.to_ns, &mut gaps);
    }
    let expected = i.to_ns.saturating_sub(i.from_ns);
    Coverage {
        expected_s: expected as f64 / 1e9,
        recorded_s: recorded as f64 / 1e9,
        ratio: if expected == 0 {
            1.0
        } else {
            recorded as f64 / expected as f64
        },
        gaps,
    }
}

fn gap(i: &Inputs, from: u64, to: u64, out: &mut Vec<Gap>) {
    if to - from < MIN_GAP_NS {
        return;
    }
    // The outage overlapping the gap the most explains it.
    let explained = i
        .outages
        .iter()
        .map(|o| {
            let end = o.to_ns.unwrap_or(u64::MAX).min(to);
            (end.saturating_sub(o.from_ns.max(from)), o)
        })
        .filter(|(overlap, _)| *overlap > 0)
        .max_by_key(|(overlap, _)| *overlap)
        .map(|(_, o)| o.reason.clone());
    let reason = explained.unwrap_or_else(|| {
        if to <= i.started_ns {
            "nvr was not running".into()
        } else {
            "unknown".into()
        }
    });
    out.push(Gap {
        from: crate::time::rfc3339_utc_ns(from),
        to: crate::time::rfc3339_utc_ns(to),
        seconds: (to - from) as f64 / 1e9,
        reason,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue: after the wall clock was set back an hour, the open segment started "in the
    /// future": its span ran backwards and the subtraction overflowed, panicking the HTTP
    /// thread that served /status.
    #[test]
    fn segments_after_the_window_after_a_clock_step_back_count_for_nothing() {
        let s = 1_000_000_000u64;
        let seg = Segment::for_test(200, 10);
        let cov = compute(&Inputs {
            from_ns: 0,
            to_ns: 100 * s,
            segments: &[seg],
            open_since_ns: Some(150 * s),
            outages: &[],
            started_ns: 0,
        });
        assert_eq!(cov.recorded_s, 0.0);
        assert_eq!(cov.expected_s, 100.0);
        assert_eq!(cov.gaps.len(), 1);
    }

    const S: u64 = 1_000_000_000;

    fn seg(start_s: u64, secs: u32) -> Segment {
        Segment::for_test(start_s, secs)
    }

    #[test]
    fn full_coverage_has_no_gaps_despite_boundary_jitter() {
        // 60 s segments with half a second between them.
        let segs: Vec<_> = (0..10).map(|i| seg(1000 + i * 60, 60)).collect();
        let mut segs = segs;
        segs[3].start_ns += S / 2;
        let c = compute(&Inputs {
            from_ns: 1000 * S,
            to_ns: 1600 * S,
            segments: &segs,
            open_since_ns: None,
            outages: &[],
            started_ns: 0,
        });
        assert!(c.gaps.is_empty(), "{:?}", c.gaps);
        assert!((c.recorded_s - 599.5).abs() < 1e-6);
        assert_eq!(c.expected_s, 600.0);
    }

    #[test]
    fn gaps_get_their_reasons() {
        // Recorded 1000-1100 and 1300-1400, and writing since 1500 until now (1600).
        let segs = [seg(1000, 100), seg(1300, 100)];
        let outages = [Outage {
            from_ns: 1110 * S,
            to_ns: Some(1290 * S),
            reason: "camera ended the stream".into(),
        }];
        let c = compute(&Inputs {
            from_ns: 900 * S,
            to_ns: 1600 * S,
            segments: &segs,
            open_since_ns: Some(1500 * S),
            outages: &outages,
            started_ns: 950 * S,
        });
        let reasons: Vec<(f64, &str)> = c
            .gaps
            .iter()
            .map(|g| (g.seconds, g.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (100.0, "unknown"),
                (200.0, "camera ended the stream"),
                (100.0, "unknown"),
            ]
        );
        assert_eq!(c.recorded_s, 300.0);
        assert_eq!(c.expected_s, 700.0);
        // Before nvr started: not running.
        let c = compute(&Inputs {
            from_ns: 900 * S,
            to_ns: 1100 * S,
            segments: &segs,
            open_since_ns: None,
            outages: &[],
            started_ns: 1000 * S,
        });
        assert_eq!(c.gaps[0].reason, "nvr was not running");
    }
}
