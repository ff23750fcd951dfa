//! The pre-event ring of a camera that records only around events (`motion`, or `schedule`
//! outside its windows): the newest stretch of the encoded stream, held in RAM and written
//! to disk only when an event opens the gate.
//!
//! Invariants:
//! - The ring starts at a video keyframe (a file made from it plays from its first frame).
//!   Buffers that come before the first keyframe are dropped, audio included.
//! - It holds at least `keep_ns` of video before the newest buffer when it can: whole GOPs
//!   are dropped from the front only while the next GOP still starts early enough.
//! - It never holds more than `max_bytes`. When the newest GOPs alone exceed that, the older
//!   ones go first; when the newest GOP alone exceeds it, the ring empties and waits for the
//!   next keyframe. Either way [`Ring::cut`] says the pre-roll was shortened.
//!
//! Samples are reference-counted: holding one costs its bytes once, however many elements
//! saw it. A sample keeps its caps and segment, so the writer gets the stream as it was.

use std::collections::VecDeque;

/// Which stream a buffer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Video,
    Audio,
}

#[derive(Debug)]
pub struct Item {
    pub stream: Stream,
    pub sample: gst::Sample,
}

impl Item {
    fn size(&self) -> usize {
        self.sample.buffer().map_or(0, |b| b.size())
    }

    fn time(&self) -> Option<u64> {
        self.sample.buffer().and_then(time)
    }
}

#[derive(Debug)]
pub struct Ring {
    items: VecDeque<Item>,
    /// Positions of video keyframes, counted from the first item ever pushed.
    keyframes: VecDeque<u64>,
    /// The count of items ever dropped from the front (so `keyframes` stay valid).
    front: u64,
    bytes: usize,
    keep_ns: u64,
    max_bytes: usize,
    cut: bool,
}

impl Ring {
    pub fn new(keep_ns: u64, max_bytes: usize) -> Ring {
        Ring {
            items: VecDeque::new(),
            keyframes: VecDeque::new(),
            front: 0,
            bytes: 0,
            keep_ns,
            max_bytes,
            cut: false,
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the byte cap has shortened the pre-roll since the ring was last drained.
    pub fn cut(&self) -> bool {
        self.cut
    }

    /// The stretch of video held, from the first keyframe to the newest video buffer.
    pub fn span_ns(&self) -> u64 {
        span_ns(&self.items)
    }

    fn newest_video(&self) -> Option<u64> {
        self.items
            .iter()
            .rev()
            .find(|i| i.stream == Stream::Video)
            .and_then(Item::time)
    }

    pub fn push(&mut self, stream: Stream, sample: gst::Sample) {
        let item = Item { stream, sample };
        let key = stream == Stream::Video && is_keyframe(&item.sample);
        if self.items.is_empty() && !key {
            return;
        }
        if key {
            self.keyframes
                .push_back(self.front + self.items.len() as u64);
        }
        let newest = (stream == Stream::Video).then(|| item.time()).flatten();
        self.bytes += item.size();
        self.items.push_back(item);
        if let Some(now) = newest {
            self.trim_time(now, self.keep_ns);
        }
        self.trim_bytes();
    }

    /// Drops the oldest GOP while the next one still starts `keep_ns` or more before `now`.
    fn trim_time(&mut self, now: u64, keep_ns: u64) {
        while let Some(&second) = self.keyframes.get(1) {
            let idx = (second - self.front) as usize;
            match self.items.get(idx).and_then(Item::time) {
                Some(t) if now.saturating_sub(t) >= keep_ns => self.drop_gop(),
                _ => break,
            }
        }
    }

    fn trim_bytes(&mut self) {
        while self.bytes > self.max_bytes {
            self.cut = true;
            if self.keyframes.len() >= 2 {
                self.drop_gop();
            } else {
                self.clear();
                return;
            }
        }
    }

    /// Drops everything before the second keyframe.
    fn drop_gop(&mut self) {
        self.keyframes.pop_front();
        let until = self
            .keyframes
            .front()
            .copied()
            .unwrap_or(self.front + self.items.len() as u64);
        while self.front < until {
            match self.items.pop_front() {
                Some(i) => self.bytes -= i.size(),
                None => break,
            }
            self.front += 1;
        }
    }

    fn clear(&mut self) {
        self.front += self.items.len() as u64;
        self.items.clear();
        self.keyframes.clear();
        self.bytes = 0;
    }

    /// What is held from the newest keyframe at least `keep_ns` before the newest video
    /// (at most the ring's own window), oldest first, leaving the ring empty.
    pub fn drain_from(&mut self, keep_ns: u64) -> Vec<Item> {
        if let Some(now) = self.newest_video() {
            self.trim_time(now, keep_ns);
        }
        self.drain()
    }

    /// Everything held, oldest first (starting at a keyframe), leaving the ring empty.
    pub fn drain(&mut self) -> Vec<Item> {
        self.front += self.items.len() as u64;
        self.keyframes.clear();
        self.bytes = 0;
        self.cut = false;
        self.items.drain(..).collect()
    }
}

/// The stretch of video in `items`, from the first video buffer to the last, in ns.
pub fn span_ns<'a>(items: impl IntoIterator<Item = &'a Item>) -> u64 {
    let mut video = items
        .into_iter()
        .filter(|i| i.stream == Stream::Video)
        .filter_map(Item::time);
    let first = video.next();
    let last = video.last().or(first);
    match (first, last) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => 0,
    }
}

pub fn is_keyframe(sample: &gst::SampleRef) -> bool {
    sample
        .buffer()
        .is_some_and(|b| !b.flags().contains(gst::BufferFlags::DELTA_UNIT))
}

/// A buffer's decode time, or its presentation time.
fn time(b: &gst::BufferRef) -> Option<u64> {
    b.dts().or(b.pts()).map(gst::ClockTime::nseconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    /// A 25 fps stream with a keyframe every `gop` frames, `size` bytes per frame (keyframes
    /// 10× that).
    fn frame(n: u64, gop: u64, size: usize) -> gst::Sample {
        let key = n.is_multiple_of(gop);
        let mut b = gst::Buffer::with_size(if key { size * 10 } else { size }).unwrap();
        {
            let b = b.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_nseconds(n * S / 25));
            b.set_dts(gst::ClockTime::from_nseconds(n * S / 25));
            if !key {
                b.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        gst::Sample::builder().buffer(&b).build()
    }

    fn audio(t: u64) -> gst::Sample {
        let mut b = gst::Buffer::with_size(100).unwrap();
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_nseconds(t));
        gst::Sample::builder().buffer(&b).build()
    }

    fn first_is_keyframe(items: &[Item]) -> bool {
        items
            .first()
            .is_some_and(|i| i.stream == Stream::Video && is_keyframe(&i.sample))
    }

    #[test]
    fn it_holds_at_least_the_window_from_a_keyframe_and_no_more_than_a_gop_beyond() {
        gst::init().unwrap();
        let mut r = Ring::new(5 * S, usize::MAX);
        // 60 s of a 2 s GOP, with audio between the frames.
        for n in 0..1500 {
            r.push(Stream::Video, frame(n, 50, 1000));
            r.push(Stream::Audio, audio(n * S / 25 + 1));
            if n >= 200 {
                // Never less than the window, never a whole GOP more.
                let span = r.span_ns();
                assert!(span >= 5 * S - S / 25, "frame {n}: {span}");
                assert!(span < 7 * S, "frame {n}: {span}");
            }
        }
        assert!(!r.cut());
        let items = r.drain();
        assert!(first_is_keyframe(&items));
        assert!(r.is_empty() && r.bytes() == 0);
        // The times only go up.
        let video: Vec<u64> = items
            .iter()
            .filter(|i| i.stream == Stream::Video)
            .map(|i| i.time().unwrap())
            .collect();
        assert!(video.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_shorter_window_is_drained_from_the_last_keyframe_before_it() {
        gst::init().unwrap();
        let mut r = Ring::new(10 * S, usize::MAX);
        for n in 0..1000 {
            r.push(Stream::Video, frame(n, 50, 1000));
        }
        // Newest frame at 39.96 s; the window 0 starts at the keyframe of 38 s, a 3 s window
        // at the one of 36 s.
        let items = Ring::drain_from(&mut r, 0);
        assert!(first_is_keyframe(&items));
        assert_eq!(items.first().unwrap().time(), Some(38 * S));
        for n in 1000..1200 {
            r.push(Stream::Video, frame(n, 50, 1000));
        }
        let items = r.drain_from(3 * S);
        assert_eq!(items.first().unwrap().time(), Some(44 * S));
        assert!(r.is_empty());
    }

    #[test]
    fn before_the_first_keyframe_nothing_is_held() {
        gst::init().unwrap();
        let mut r = Ring::new(5 * S, usize::MAX);
        for n in 1..50 {
            r.push(Stream::Audio, audio(n * S / 25));
            r.push(Stream::Video, frame(n, 50, 1000));
        }
        assert!(r.is_empty());
        r.push(Stream::Video, frame(50, 50, 1000));
        r.push(Stream::Audio, audio(2 * S + 1));
        assert_eq!(r.len(), 2);
        assert!(first_is_keyframe(&r.drain()));
    }

    #[test]
    fn the_byte_cap_holds_and_says_it_cut_the_pre_roll() {
        gst::init().unwrap();
        // 2 s GOPs of 10 kB + 49 kB; a 150 kB cap holds two GOPs, not the 30 s asked.
        let mut r = Ring::new(30 * S, 150_000);
        for n in 0..1000 {
            r.push(Stream::Video, frame(n, 50, 1000));
            assert!(r.bytes() <= 150_000);
        }
        assert!(r.cut());
        assert!(
            r.span_ns() >= 2 * S && r.span_ns() < 4 * S,
            "{}",
            r.span_ns()
        );
        assert!(first_is_keyframe(&r.drain()));
        assert!(!r.cut(), "draining starts over");
        // One GOP bigger than the cap: nothing is held until a keyframe fits again.
        let mut r = Ring::new(30 * S, 20_000);
        for n in 0..60 {
            r.push(Stream::Video, frame(n, 50, 1000));
            assert!(r.bytes() <= 20_000);
        }
        assert!(r.cut());
        assert!(r.is_empty() || first_is_keyframe(&r.drain()));
    }
}
