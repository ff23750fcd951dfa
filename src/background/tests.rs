use super::*;
use std::sync::{Arc, Mutex};

/// The calling thread's nice value (Linux: nice is per thread).
fn this_thread_nice() -> i32 {
    // SAFETY: getpriority on this thread's own id.
    unsafe {
        libc::getpriority(
            libc::PRIO_PROCESS,
            libc::syscall(libc::SYS_gettid) as libc::id_t,
        )
    }
}

/// Runs `videotestsrc ! queue ! fakesink` to the end and returns, for each of its two
/// streaming threads (the source's and the queue's), its name and nice value.
fn streaming_threads(adopted: bool) -> Vec<(String, i32)> {
    gst::init().unwrap();
    let pipeline =
        gst::parse::launch("videotestsrc num-buffers=3 ! queue name=q ! fakesink name=s")
            .unwrap()
            .downcast::<gst::Pipeline>()
            .unwrap();
    if adopted {
        adopt(&pipeline);
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    for (element, pad) in [("q", "sink"), ("s", "sink")] {
        let seen = seen.clone();
        let bin = pipeline.upcast_ref::<gst::Bin>();
        bin.by_name(element)
            .unwrap()
            .static_pad(pad)
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                // The first buffer tells the thread; the probe then removes itself.
                let name = std::thread::current().name().unwrap_or("").to_string();
                let who = format!("{element}:{name}");
                seen.lock().unwrap().push((who, this_thread_nice()));
                gst::PadProbeReturn::Remove
            });
    }
    pipeline.set_state(gst::State::Playing).unwrap();
    let msg = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(30),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("pipeline ended");
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
    pipeline.set_state(gst::State::Null).unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    seen
}

#[test]
fn adopted_pipelines_stream_on_low_priority_threads_of_their_own() {
    for (who, nice) in streaming_threads(true) {
        assert_eq!(nice, NICE, "{who}");
        assert!(who.ends_with(":nvr-background"), "{who}");
    }
}

#[test]
fn other_pipelines_keep_their_priority_after_background_work() {
    let base = this_thread_nice();
    streaming_threads(true);
    // The background threads are gone, not returned to GLib's shared pool: whatever thread
    // the next ordinary pipeline streams on has the priority nvr started with.
    for (who, nice) in streaming_threads(false) {
        assert_eq!(nice, base, "{who}");
        assert!(!who.ends_with(":nvr-background"), "{who}");
    }
}
