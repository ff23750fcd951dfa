//! Background work at low priority, kept off the threads that record.
//!
//! Previews, event snapshots and the Hikvision import run GStreamer pipelines whose streaming
//! threads must never take CPU from recording. Renicing the thread that starts such a pipeline
//! does not do it: GStreamer runs streaming tasks on GLib's shared thread pool, whose threads
//! are reused by every pipeline of the process and get the scheduling of the thread that first
//! made a pool (nvr's main thread, nice 0). Started from a niced thread, a new pool thread is
//! reset to nice 0 when nvr runs as root (the decoder then competes with recording), and when
//! it runs as the `nvr` user the reset fails ("GLib-CRITICAL: Failed to set scheduler
//! settings"), the thread stays at nice 10 and goes back to the shared pool, where a camera's
//! streaming task can later land on it.
//!
//! [`adopt`] moves every streaming task of a pipeline onto [`Pool`], a `GstTaskPool` whose
//! threads are nvr's own: one thread per task, at nice [`NICE`] from its first instruction,
//! gone when the task ends. Nothing it runs is ever shared with recording.

mod imp;

use gst::glib;
use gst::prelude::*;
use std::sync::OnceLock;

/// Nice value of background threads (recording runs at 0).
pub const NICE: i32 = 10;

glib::wrapper! {
    /// A task pool that runs each task on a new thread at nice [`NICE`]. Long-lived: one per
    /// process, shared by all background pipelines (see [`adopt`]).
    pub struct Pool(ObjectSubclass<imp::Pool>) @extends gst::TaskPool, gst::Object;
}

/// The process's background pool.
pub fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(glib::Object::new)
}

/// Runs every streaming task `pipeline` creates on the background [`pool`]. Call before the
/// pipeline leaves NULL: the tasks are moved as they are created (the `stream-status` CREATE
/// message, handled synchronously on the thread that creates the task, as GStreamer intends
/// for choosing a task's pool). Replaces the bus's sync handler.
pub fn adopt(pipeline: &gst::Pipeline) {
    let Some(bus) = pipeline.bus() else { return };
    bus.set_sync_handler(|_, msg| {
        if let gst::MessageView::StreamStatus(s) = msg.view()
            && s.type_() == gst::StreamStatusType::Create
            && let Some(task) = s
                .stream_status_object()
                .and_then(|v| v.get::<gst::Task>().ok())
        {
            task.set_pool(pool());
        }
        gst::BusSyncReply::Pass
    });
}

/// Lowers the calling thread to nice [`NICE`] (Linux: nice is per thread). For threads nvr
/// starts itself for background work; lowering needs no privilege.
pub fn lower_this_thread() {
    // SAFETY: setpriority on this thread's own id.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, NICE);
    }
}

#[cfg(test)]
mod tests;
