//! What coverage needs to remember across restarts: each camera's outages, so that a gap from
//! before a restart still says why ("camera not recording: connection refused") instead of
//! "nvr was not running".
//!
//! `{storage}/.nvr/history.journal`: COBS-framed postcard records, one per closed outage (a few
//! dozen bytes), appended when the retention pass runs (every minute) and at shutdown, so a crash
//! loses at most a minute of them; a torn last record is skipped on load. At startup records
//! older than [`KEEP`] are dropped and the file rewritten (tmp + rename) when it has grown
//! past [`COMPACT_AFTER`], so it stays small however long nvr runs.

use super::coverage::Outage;
use super::journal::{self, Journal};
use super::writer::Writer;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// How far back the history goes (coverage is asked for by day).
pub const KEEP: u64 = 32 * 86_400 * 1_000_000_000;
pub const COMPACT_AFTER: u64 = 256 * 1024;
/// Outages kept per camera (a flapping camera cannot grow memory without bound).
pub const MAX_PER_CAMERA: usize = 2000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Record {
    Outage {
        camera: String,
        from_ns: u64,
        to_ns: u64,
        reason: String,
    },
}

/// Long-lived: owned by the runtime behind a mutex.
pub struct History {
    journal: Journal,
    outages: BTreeMap<String, Vec<Outage>>,
    /// Per camera, the newest persisted outage's start (so each is appended once).
    persisted: BTreeMap<String, u64>,
}

impl History {
    /// Loads the history (dropping what is older than [`KEEP`] before `now_ns`); it
    /// writes through `writer`.
    pub fn open(root: &Path, now_ns: u64, writer: &Writer) -> io::Result<History> {
        let path = super::layout::history_journal(root);
        let big = std::fs::metadata(&path).is_ok_and(|m| m.len() > COMPACT_AFTER);
        let cutoff = now_ns.saturating_sub(KEEP);
        let records: Vec<Record> = journal::read::<Record>(&path)?
            .into_iter()
            .filter(|r| match r {
                Record::Outage { to_ns, .. } => *to_ns >= cutoff,
            })
            .collect();
        let mut h = History {
            journal: Journal::new(path, Some(writer.clone())),
            outages: BTreeMap::new(),
            persisted: BTreeMap::new(),
        };
        for r in &records {
            match r {
                Record::Outage {
                    camera,
                    from_ns,
                    to_ns,
                    reason,
                } => h.remember(camera, *from_ns, *to_ns, reason),
            }
        }
        if big {
            h.journal.rewrite(&records)?;
        }
        Ok(h)
    }

    fn remember(&mut self, camera: &str, from_ns: u64, to_ns: u64, reason: &str) {
        let v = self.outages.entry(camera.to_string()).or_default();
        if v.len() == MAX_PER_CAMERA {
            v.remove(0);
        }
        v.push(Outage {
            from_ns,
            to_ns: Some(to_ns),
            reason: reason.to_string(),
        });
        let p = self.persisted.entry(camera.to_string()).or_default();
        *p = (*p).max(from_ns);
    }

    /// Appends `camera`'s closed outages not yet in the journal. With `stop_ns`, an outage
    /// still open is closed there (nvr is stopping).
    pub fn save_outages(
        &mut self,
        camera: &str,
        live: &[Outage],
        stop_ns: Option<u64>,
    ) -> io::Result<()> {
        let after = self.persisted.get(camera).copied();
        for o in live {
            if after.is_some_and(|a| o.from_ns <= a) {
                continue;
            }
            let Some(to_ns) = o.to_ns.or(stop_ns) else {
                continue;
            };
            self.journal.append(&Record::Outage {
                camera: camera.to_string(),
                from_ns: o.from_ns,
                to_ns,
                reason: o.reason.clone(),
            })?;
            self.remember(camera, o.from_ns, to_ns, &o.reason);
        }
        Ok(())
    }

    /// Outages of `camera` from earlier runs (and this one, once saved).
    pub fn outages(&self, camera: &str) -> &[Outage] {
        self.outages.get(camera).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn outages_survive_a_restart_and_age_out() {
        let dir = std::env::temp_dir().join(format!("nvr-history-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".nvr")).unwrap();
        let t0 = 1_800_000_000 * S;
        let writer = Writer::start().unwrap();
        let mut h = History::open(&dir, t0, &writer).unwrap();
        let live = [
            Outage {
                from_ns: t0 + 10 * S,
                to_ns: Some(t0 + 20 * S),
                reason: "camera not recording: timeout".into(),
            },
            Outage {
                from_ns: t0 + 30 * S,
                to_ns: None,
                reason: "camera not recording: refused".into(),
            },
        ];
        h.save_outages("gate", &live, None).unwrap();
        h.save_outages("gate", &live, None).unwrap(); // appended once
        h.save_outages("gate", &live, Some(t0 + 40 * S)).unwrap(); // the open one, at stop
        drop(h);
        writer.flush();
        // A torn last write is ignored.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(".nvr/history.journal"))
            .unwrap();
        std::io::Write::write_all(&mut f, &[7, 1, 2]).unwrap();
        drop(f);
        let h = History::open(&dir, t0 + 100 * S, &writer).unwrap();
        let o = h.outages("gate");
        assert_eq!(o.len(), 2);
        assert_eq!(o[1].to_ns, Some(t0 + 40 * S));
        assert_eq!(o[0].reason, "camera not recording: timeout");
        // A month later, it has all aged out.
        let h = History::open(&dir, t0 + KEEP + 200 * S, &writer).unwrap();
        assert!(h.outages("gate").is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
