//! A typed publish/subscribe bus: publishers never wait, every subscriber has a bounded queue
//! of its own, and a subscriber that falls behind loses events (counted) instead of slowing
//! anyone. Cameras publish what happens to them; readers (the live event stream of the HTTP
//! API, and next notifications, MQTT, metrics) subscribe.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Bus<T> {
    subscribers: Mutex<Vec<Subscriber<T>>>,
    published: AtomicU64,
}

struct Subscriber<T> {
    tx: SyncSender<T>,
    dropped: Arc<AtomicU64>,
}

/// One subscriber's end: its queue, and how many events it lost by not keeping up.
pub struct Subscription<T> {
    rx: Receiver<T>,
    dropped: Arc<AtomicU64>,
}

impl<T: Clone> Default for Bus<T> {
    fn default() -> Self {
        Bus {
            subscribers: Mutex::new(Vec::new()),
            published: AtomicU64::new(0),
        }
    }
}

impl<T: Clone> Bus<T> {
    /// Hands `event` to every subscriber with room for it; never blocks.
    pub fn publish(&self, event: T) {
        self.published.fetch_add(1, Ordering::Relaxed);
        let mut subs = self.subscribers.lock().unwrap();
        subs.retain(|s| match s.tx.try_send(event.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                s.dropped.fetch_add(1, Ordering::Relaxed);
                true
            }
            // The subscriber is gone.
            Err(TrySendError::Disconnected(_)) => false,
        });
    }

    /// A new subscriber that can fall `capacity` events behind before it loses any.
    pub fn subscribe(&self, capacity: usize) -> Subscription<T> {
        let (tx, rx) = sync_channel(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        self.subscribers.lock().unwrap().push(Subscriber {
            tx,
            dropped: dropped.clone(),
        });
        Subscription { rx, dropped }
    }

    pub fn subscribers(&self) -> usize {
        self.subscribers.lock().unwrap().len()
    }

    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }
}

impl<T> Subscription<T> {
    /// The next event, or `None` after `timeout` without one.
    pub fn next(&self, timeout: Duration) -> Option<T> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Events this subscriber lost because its queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_subscriber_loses_events_and_blocks_no_one() {
        let bus = Bus::default();
        let fast = bus.subscribe(100);
        let slow = bus.subscribe(2);
        for i in 0..10 {
            bus.publish(i);
        }
        let got: Vec<i32> = std::iter::from_fn(|| fast.next(Duration::ZERO)).collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert_eq!(fast.dropped(), 0);
        // The slow one kept the oldest two and counts what it missed.
        assert_eq!(slow.next(Duration::ZERO), Some(0));
        assert_eq!(slow.next(Duration::ZERO), Some(1));
        assert_eq!(slow.next(Duration::ZERO), None);
        assert_eq!(slow.dropped(), 8);
        assert_eq!(bus.published(), 10);
    }

    #[test]
    fn a_subscriber_that_went_away_is_forgotten() {
        let bus = Bus::default();
        let keep = bus.subscribe(4);
        drop(bus.subscribe(4));
        assert_eq!(bus.subscribers(), 2);
        bus.publish("x");
        assert_eq!(bus.subscribers(), 1);
        assert_eq!(keep.next(Duration::ZERO), Some("x"));
    }
}
