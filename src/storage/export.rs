//! Export: any time range of a camera as one MP4, without re-encoding.
//!
//! The catalog picks the segments overlapping the range; their frames are read straight from
//! each file's sample tables ([`super::samples`], a chunk per read, no demuxer) from the key
//! frame at or before `from`, placed on one timeline (recording gaps collapse) and pushed into
//! `mp4mux` on the calling thread. It writes either a normal MP4 with the index first (to a
//! file, in space reserved up front) or a fragmented MP4 streamed as it is produced (HTTP), so
//! the first bytes leave before the whole range is read. Files nvr did not write that way
//! (several audio tracks, fragmented) go through `splitmuxsrc` with a `KEY_UNIT |
//! SNAP_BEFORE` seek instead. Lifetime: one pipeline per export.

use super::catalog::{Catalog, Segment};
use gst::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The segments to read and where in their joined timeline the range lies.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub files: Vec<PathBuf>,
    pub segments: Vec<Segment>,
    /// Position of `from` in the joined timeline.
    pub start: gst::ClockTime,
    /// Position of `to` in the joined timeline.
    pub stop: gst::ClockTime,
}

#[derive(Debug)]
pub enum ExportError {
    /// Nothing was recorded in the range.
    NoFootage,
    Failed(String),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::NoFootage => f.write_str("no footage in that range"),
            ExportError::Failed(e) => f.write_str(e),
        }
    }
}

/// Longest range one export covers. GStreamer 1.22's splitmuxsrc opens every part up front,
/// so the number of files per export must stay bounded; export longer spans in pieces.
pub const MAX_RANGE: Duration = Duration::from_secs(24 * 3600);

pub fn plan(
    catalog: &Catalog,
    camera: &str,
    from_ns: u64,
    to_ns: u64,
) -> Result<Plan, ExportError> {
    if to_ns <= from_ns {
        return Err(ExportError::Failed(
            "the range ends before it starts".into(),
        ));
    }
    if to_ns - from_ns > MAX_RANGE.as_nanos() as u64 {
        return Err(ExportError::Failed(format!(
            "the range is longer than {} h: export it in pieces",
            MAX_RANGE.as_secs() / 3600
        )));
    }
    let segments = catalog.range(camera, from_ns, to_ns);
    let (Some(first), Some(last)) = (segments.first(), segments.last()) else {
        return Err(ExportError::NoFootage);
    };
    // One MP4 holds one video codec: refused before a byte is sent, naming where it changed.
    if let Some(w) = segments.windows(2).find(|w| w[0].codec != w[1].codec) {
        return Err(ExportError::Failed(format!(
            "the camera changed from {} to {} at {}: export up to it and from it separately",
            w[0].codec,
            w[1].codec,
            crate::time::rfc3339_utc_ns(w[1].start_ns)
        )));
    }
    let before_last: u64 = segments[..segments.len() - 1]
        .iter()
        .map(|s| u64::from(s.duration_ms) * 1_000_000)
        .sum();
    let start = from_ns.saturating_sub(first.start_ns);
    let stop = before_last + (to_ns.min(last.end_ns())).saturating_sub(last.start_ns);
    Ok(Plan {
        files: segments
            .iter()
            .map(|s| catalog.path_of(camera, s))
            .collect(),
        segments,
        start: gst::ClockTime::from_nseconds(start),
        stop: gst::ClockTime::from_nseconds(stop.max(start + 1)),
    })
}

/// Where the MP4 goes.
pub enum Output<'a> {
    /// A normal MP4 (index first), written to `path` via a temporary name.
    File(&'a Path),
    /// Fragmented MP4 bytes, handed to the writer as they are produced.
    Stream(Box<dyn Write + Send>),
}

/// Largest read of contiguous samples at once.
const RUN_BYTES: u64 = 512 << 10;

/// Runs the export to completion: frames read straight from nvr's own files into `mp4mux`
/// when the first file is one ([`super::samples`]), else through `splitmuxsrc`.
pub fn run(plan: &Plan, output: Output) -> Result<(), ExportError> {
    gst::init().map_err(|e| ExportError::Failed(e.to_string()))?;
    match plan.files.first().map(|f| super::samples::read(f)) {
        Some(Ok(first)) => run_direct(plan, first, output),
        Some(Err(why)) => {
            log::debug!(
                "export: {}: {why}; using splitmuxsrc",
                plan.files[0].display()
            );
            run_splitmux(plan, output)
        }
        None => Err(ExportError::NoFootage),
    }
}

/// Builds `mp4mux ! sink` for `output` (both routes); returns the pipeline (not started),
/// the muxer and the temporary file (file output). `direct`: frames come from
/// [`feeder`]s with known timestamps, so mp4mux may queue 2 s per input (`latency`: it takes
/// frames in batches) and the file's index goes into space reserved at the front (no second
/// pass over the file). The `splitmuxsrc` route keeps the plain settings (faststart), which
/// are the ones it works with.
fn output_pipeline(
    plan: &Plan,
    output: Output,
    direct: bool,
) -> Result<(gst::Pipeline, gst::Element, Option<PathBuf>), ExportError> {
    let fail = |e: &dyn std::fmt::Display| ExportError::Failed(e.to_string());
    let pipeline = gst::Pipeline::new();
    let mut mux = gst::ElementFactory::make("mp4mux");
    if direct {
        mux = mux.property("latency", gst::ClockTime::from_seconds(2));
    }
    let (mux, sink, tmp) = match output {
        Output::File(path) => {
            let tmp = path.with_extension("mp4.partial");
            let mux = if direct {
                let reserve = planned_duration(plan) + Duration::from_secs(30);
                mux.property("reserved-max-duration", reserve.as_nanos() as u64)
            } else {
                mux.property("faststart", true).property(
                    "faststart-file",
                    tmp.with_extension("moov").display().to_string(),
                )
            };
            let mux = mux.build().map_err(|e| fail(&e))?;
            let sink = gst::ElementFactory::make("filesink")
                .property("location", tmp.display().to_string())
                .build()
                .map_err(|e| fail(&e))?;
            (mux, sink, Some(tmp))
        }
        Output::Stream(writer) => {
            let mux = mux
                .property("fragment-duration", 1000u32)
                .property("streamable", true)
                .build()
                .map_err(|e| fail(&e))?;
            let sink = stream_sink(writer);
            (mux, sink.upcast(), None)
        }
    };
    pipeline.add_many([&mux, &sink]).map_err(|e| fail(&e))?;
    mux.link(&sink).map_err(|e| fail(&e))?;
    Ok((pipeline, mux, tmp))
}

/// A source pad of ours linked to a new `mux` input: frames pushed on it go into the muxer
/// on the calling thread (no `appsrc` queue and thread in between: a third less CPU).
fn feeder(mux: &gst::Element, template: &str, caps: &gst::Caps) -> Result<gst::Pad, ExportError> {
    let fail = |e: &dyn std::fmt::Display| ExportError::Failed(e.to_string());
    let sink = mux
        .request_pad_simple(template)
        .ok_or_else(|| fail(&"mp4mux has no free pad"))?;
    let src = gst::Pad::builder(gst::PadDirection::Src).build();
    src.set_active(true).map_err(|e| fail(&e))?;
    src.link(&sink).map_err(|e| fail(&e))?;
    src.push_event(gst::event::StreamStart::new(template));
    src.push_event(gst::event::Caps::new(caps));
    src.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    Ok(src)
}

/// An appsink handing every produced byte to `writer` (blocking while the client is slow:
/// the export waits, memory stays flat; a client that hung up ends it with an error).
fn stream_sink(mut writer: Box<dyn Write + Send>) -> gst_app::AppSink {
    let sink = gst_app::AppSink::builder().sync(false).build();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buf = sample.buffer().ok_or(gst::FlowError::Error)?;
                let map = buf.map_readable().map_err(|_| gst::FlowError::Error)?;
                writer.write_all(&map).map_err(|_| gst::FlowError::Error)?;
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    sink
}

/// The direct route: each file's frames, from the key frame at or before `from`, in time
/// order, read with one `pread` each and pushed with their place in the joined timeline.
fn run_direct(
    plan: &Plan,
    first: super::samples::Movie,
    output: Output,
) -> Result<(), ExportError> {
    let fail = |e: &dyn std::fmt::Display| ExportError::Failed(e.to_string());
    gst::init().map_err(|e| fail(&e))?;
    let file_out = match &output {
        Output::File(p) => Some(p.to_path_buf()),
        Output::Stream(_) => None,
    };
    let (pipeline, mux, tmp) = output_pipeline(plan, output, true)?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| fail(&e))?;
    // Inputs are attached with [`feeder`] once the muxer runs.
    let bus = pipeline.bus().expect("pipeline bus");
    let video_caps = first.video.caps.clone();
    let start = plan.start.nseconds();
    let stop = plan.stop.nseconds();
    let result = (|| {
        let video = feeder(&mux, "video_%u", &first.video.caps)?;
        let audio = match &first.audio {
            Some(a) => Some(feeder(&mux, "audio_%u", &a.caps)?),
            None => None,
        };
        let mut first = Some(first);
        let mut base = 0i64;
        let stop = stop as i64;
        // Output time 0 is the starting key frame's decode time (D0); its presentation (P0)
        // is where audio starts. Times below are in the joined timeline, ns.
        let mut origin: Option<(i64, i64)> = None;
        for (k, path) in plan.files.iter().enumerate() {
            let movie = match first.take() {
                Some(m) => m,
                None => super::samples::read(path)
                    .map_err(|e| fail(&format!("{}: {e}", path.display())))?,
            };
            if k > 0 && movie.video.caps != video_caps {
                // One MP4 track has one set of codec settings (a picture size changed, the
                // camera restarted with other parameters). The file ends cleanly here, playable:
                // better than a download broken off mid-way. (A codec change is refused by
                // `plan` before anything is sent.)
                let at = plan.segments.get(k).map_or(0, |s| s.start_ns);
                log::warn!(
                    "export: the camera's video settings changed at {} ({}); the export ends \
                     there: export from that time separately",
                    crate::time::rfc3339_utc_ns(at),
                    path.display()
                );
                break;
            }
            let file = std::fs::File::open(path).map_err(|e| fail(&e))?;
            let v = &movie.video;
            let (d0, p0) = *origin.get_or_insert_with(|| {
                // The key frame at or before `from`.
                v.samples
                    .iter()
                    .filter(|s| s.sync && v.pts_ns(s) <= start as i64)
                    .map(|s| (v.dts_ns(s), v.pts_ns(s)))
                    .next_back()
                    .or_else(|| v.samples.first().map(|s| (v.dts_ns(s), v.pts_ns(s))))
                    .unwrap_or((0, 0))
            });
            // Both tracks in decode order: video by decode time, audio by its time.
            let mut tracks: Vec<(&super::samples::Track, &gst::Pad, usize)> = vec![(v, &video, 0)];
            if let (Some(a), Some(src)) = (&movie.audio, &audio) {
                tracks.push((a, src, 0));
            }
            let key = |t: &super::samples::Track, s: &super::samples::Sample| {
                base + if t.video { t.dts_ns(s) } else { t.pts_ns(s) }
            };
            // How far each track goes in this file: to its last sample shown before `stop`.
            // For video that is in decode order, so it takes the references shown after
            // `stop` that the B-frames shown before it need, and then the frames shown before
            // the last of those, so the end has no hole. (Cut by decode time, those B-frames
            // were lost and the end showed a jump.)
            let ends: Vec<usize> = tracks
                .iter()
                .map(|(t, ..)| {
                    let samples = &t.samples;
                    let mut end = samples
                        .iter()
                        .rposition(|s| base + t.pts_ns(s) < stop)
                        .map_or(0, |i| i + 1);
                    let last_shown = samples[..end].iter().map(|s| t.pts_ns(s)).max();
                    while samples
                        .get(end)
                        .is_some_and(|s| Some(t.pts_ns(s)) < last_shown)
                    {
                        end += 1;
                    }
                    end
                })
                .collect();
            let mut runs: Vec<Run> = (0..tracks.len()).map(|_| Run::default()).collect();
            loop {
                let next = tracks
                    .iter()
                    .zip(&ends)
                    .enumerate()
                    .filter(|(_, ((.., at), end))| at < *end)
                    .map(|(i, ((t, _, at), _))| (key(t, &t.samples[*at]), i))
                    .min();
                let Some((t_ns, i)) = next else { break };
                let (track, src, at) = &mut tracks[i];
                let s = track.samples[*at];
                *at += 1;
                // Before the key frame: video in decode order, audio in presentation.
                if (k == 0 && track.video && t_ns < d0) || (!track.video && t_ns < p0) {
                    continue;
                }
                let mut buf = runs[i].frame(&file, path, &s, &track.samples[*at..])?;
                {
                    let b = buf.get_mut().expect("new buffer");
                    let at = |ns: i64| gst::ClockTime::from_nseconds((ns - d0).max(0) as u64);
                    b.set_dts(at(base + track.dts_ns(&s)));
                    b.set_pts(at(base + track.pts_ns(&s)));
                    b.set_duration(gst::ClockTime::from_nseconds(track.duration_ns(s.duration)));
                    if track.video && !s.sync {
                        b.set_flags(gst::BufferFlags::DELTA_UNIT);
                    }
                }
                if src.push(buf).is_err() {
                    // The muxer or the client stopped: the reason is on the bus.
                    return wait(&bus, gst::MessageType::Eos);
                }
            }
            base += plan
                .segments
                .get(k)
                .map_or(movie.duration_ns, |s| u64::from(s.duration_ms) * 1_000_000)
                as i64;
        }
        video.push_event(gst::event::Eos::new());
        if let Some(a) = &audio {
            a.push_event(gst::event::Eos::new());
        }
        wait(&bus, gst::MessageType::Eos)
    })();
    let _ = pipeline.set_state(gst::State::Null);
    finish_file(tmp, file_out, result)
}

/// A run of one track's contiguous samples (a chunk), read at once straight into GStreamer
/// memory; each frame is a view into it (no copy).
#[derive(Default)]
struct Run(Option<(u64, gst::Buffer)>);

impl Run {
    /// Sample `s` as a buffer; `after` are the track's samples that follow it (read with it
    /// while they are contiguous, up to [`RUN_BYTES`]).
    fn frame(
        &mut self,
        file: &std::fs::File,
        path: &Path,
        s: &super::samples::Sample,
        after: &[super::samples::Sample],
    ) -> Result<gst::Buffer, ExportError> {
        use std::os::unix::fs::FileExt;
        let fail = |e: &dyn std::fmt::Display| ExportError::Failed(e.to_string());
        let holds = |(at, run): &(u64, gst::Buffer)| {
            s.offset >= *at && s.offset + u64::from(s.size) <= at + run.size() as u64
        };
        if !self.0.as_ref().is_some_and(holds) {
            let mut end = s.offset + u64::from(s.size);
            for n in after {
                if n.offset != end || end - s.offset + u64::from(n.size) > RUN_BYTES {
                    break;
                }
                end += u64::from(n.size);
            }
            let mut run =
                gst::Buffer::with_size((end - s.offset) as usize).map_err(|e| fail(&e))?;
            {
                let mut map = run
                    .get_mut()
                    .expect("new buffer")
                    .map_writable()
                    .map_err(|e| fail(&e))?;
                file.read_exact_at(&mut map, s.offset)
                    .map_err(|e| fail(&format!("{}: {e}", path.display())))?;
            }
            self.0 = Some((s.offset, run));
        }
        let (run_at, run) = self.0.as_ref().expect("just read");
        let from = (s.offset - run_at) as usize;
        run.copy_region(gst::BufferCopyFlags::MEMORY, from..from + s.size as usize)
            .map_err(|e| fail(&e))
    }
}

/// The `splitmuxsrc` route, for files the direct route does not read.
fn run_splitmux(plan: &Plan, output: Output) -> Result<(), ExportError> {
    let fail = |e: &dyn std::fmt::Display| ExportError::Failed(e.to_string());
    let src = gst::ElementFactory::make("splitmuxsrc")
        .build()
        .map_err(|e| fail(&e))?;
    let files: Vec<String> = plan.files.iter().map(|p| p.display().to_string()).collect();
    src.connect("format-location", false, move |_| {
        Some(gst::glib::StrV::from(files.clone()).to_value())
    });
    let file_out = match &output {
        Output::File(p) => Some(p.to_path_buf()),
        Output::Stream(_) => None,
    };
    let (pipeline, mux, tmp) = output_pipeline(plan, output, false)?;
    pipeline.add(&src).map_err(|e| fail(&e))?;

    let weak = pipeline.downgrade();
    let mux_weak = mux.downgrade();
    src.connect_pad_added(move |_, pad| {
        let (Some(pipeline), Some(mux)) = (weak.upgrade(), mux_weak.upgrade()) else {
            return;
        };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let Some(name) = caps.structure(0).map(|s| s.name().to_string()) else {
            return;
        };
        let (parser, template) = match name.as_str() {
            "video/x-h264" => ("h264parse", "video_%u"),
            "video/x-h265" => ("h265parse", "video_%u"),
            "audio/mpeg" => ("aacparse", "audio_%u"),
            other => {
                log::warn!("export: skipping a {other} stream");
                return;
            }
        };
        let Ok(parse) = gst::ElementFactory::make(parser).build() else {
            return;
        };
        let _ = pipeline.add(&parse);
        let _ = parse.sync_state_with_parent();
        if let (Some(sink), Some(mux_pad)) =
            (parse.static_pad("sink"), mux.request_pad_simple(template))
        {
            let _ = pad.link(&sink);
            let _ = parse.static_pad("src").map(|p| p.link(&mux_pad));
        }
    });

    let bus = pipeline.bus().expect("pipeline bus");
    let result = (|| {
        pipeline
            .set_state(gst::State::Paused)
            .map_err(|e| fail(&e))?;
        wait(&bus, gst::MessageType::AsyncDone)?;
        src.seek(
            1.0,
            gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT | gst::SeekFlags::SNAP_BEFORE,
            gst::SeekType::Set,
            plan.start,
            gst::SeekType::Set,
            plan.stop,
        )
        .map_err(|e| fail(&format!("seek: {e}")))?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| fail(&e))?;
        wait(&bus, gst::MessageType::Eos)
    })();
    let _ = pipeline.set_state(gst::State::Null);
    finish_file(tmp, file_out, result)
}

/// File output: the temporary file becomes the output on success and goes on failure.
fn finish_file(
    tmp: Option<PathBuf>,
    out: Option<PathBuf>,
    result: Result<(), ExportError>,
) -> Result<(), ExportError> {
    if let (Some(tmp), Some(path)) = (tmp, out) {
        match &result {
            Ok(()) => {
                std::fs::rename(&tmp, &path).map_err(|e| ExportError::Failed(e.to_string()))?
            }
            Err(_) => {
                let _ = std::fs::remove_file(&tmp);
            }
        }
    }
    result
}

/// Waits for `kind` on the bus; an error message ends the export.
fn wait(bus: &gst::Bus, kind: gst::MessageType) -> Result<(), ExportError> {
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(600),
            &[kind, gst::MessageType::Error],
        )
        .ok_or_else(|| ExportError::Failed("export timed out".into()))?;
    match msg.view() {
        gst::MessageView::Error(e) => Err(ExportError::Failed(
            crate::pipelines::BusError::new(e).to_string(),
        )),
        _ => Ok(()),
    }
}

/// Duration of a plan's output, for messages.
pub fn planned_duration(plan: &Plan) -> Duration {
    Duration::from_nanos((plan.stop - plan.start).nseconds())
}
