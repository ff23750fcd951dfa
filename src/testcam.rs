//! A built-in test camera: a real RTSP server (gst-rtsp-server) serving a moving test
//! pattern, H.264 or H.265, optionally with AAC or G.711 audio and a password.
//!
//! `nvr demo` records one in-process; `nvr testcam` runs one on its own so tests and
//! benchmarks can kill and restart "the camera". Lifetime: serves until dropped; its GLib
//! main loop runs on a thread of its own.

use gst::glib;
use gst_rtsp_server::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    H264,
    H265,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audio {
    Aac,
    /// G.711 A-law: what many cameras send, and what MP4 cannot hold.
    Pcma,
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub codec: Codec,
    pub audio: Option<Audio>,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Keyframe interval in frames.
    pub gop: u32,
    /// B-frames between reference frames (0: none). With B-frames the stream's decode
    /// order differs from its presentation order, as with many cameras' "High profile".
    pub bframes: u32,
    pub kbps: u32,
    pub credentials: Option<(String, String)>,
    /// Mount path, e.g. `/cam`.
    pub mount: String,
    /// videotestsrc pattern: `ball` (motion) by default; e.g. `checkers-8` for a still scene.
    pub pattern: String,
    /// Serve this pre-encoded H.264 Annex B file in a loop instead of encoding a pattern
    /// (benchmarks: the server then costs no encoding CPU). Paced at `fps`.
    pub file: Option<std::path::PathBuf>,
    /// After this many seconds of streaming, change the picture size (the encoder starts a
    /// new sequence: new SPS/PPS, new resolution, in the same RTSP session).
    pub resize: Option<(u32, (u32, u32))>,
    /// After this many seconds of streaming, add this many seconds to every later video RTP
    /// timestamp (a camera whose clock jumped; the 90 kHz clock wraps as in a real stream).
    pub rtp_jump: Option<(u32, i64)>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            codec: Codec::H264,
            audio: None,
            width: 320,
            height: 240,
            fps: 10,
            gop: 10,
            bframes: 0,
            kbps: 300,
            credentials: None,
            mount: "/cam".into(),
            pattern: "ball".into(),
            file: None,
            resize: None,
            rtp_jump: None,
        }
    }
}

impl Spec {
    /// The server-side pipeline, as gst-rtsp-server wants it (payloaders named pay0, pay1).
    pub fn launch_line(&self) -> String {
        if let Some(file) = &self.file {
            return format!(
                "( multifilesrc location=\"{}\" loop=true \
                 caps=\"video/x-h264,stream-format=byte-stream,framerate={}/1\" \
                 ! h264parse name=parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )",
                file.display().to_string().replace('"', "\\\""),
                self.fps
            );
        }
        // A running clock in the picture when the Pango plugin (gstreamer1.0-x) is there.
        let overlay = if gst::ElementFactory::find("timeoverlay").is_some() {
            "! timeoverlay "
        } else {
            ""
        };
        let video = format!(
            "videotestsrc is-live=true pattern={} \
             ! capsfilter name=size caps=video/x-raw,format=I420,width={},height={},framerate={}/1 \
             {overlay}! ",
            self.pattern, self.width, self.height, self.fps
        );
        let enc = match (self.codec, self.bframes) {
            (Codec::H264, 0) => format!(
                "x264enc tune=zerolatency speed-preset=ultrafast key-int-max={} bitrate={} \
                 ! video/x-h264,profile=constrained-baseline ! rtph264pay name=pay0 pt=96 config-interval=-1",
                self.gop, self.kbps
            ),
            (Codec::H264, b) => format!(
                "x264enc speed-preset=ultrafast key-int-max={} bitrate={} bframes={b} \
                 b-adapt=false rc-lookahead=0 sync-lookahead=0 \
                 ! video/x-h264,profile=high ! rtph264pay name=pay0 pt=96 config-interval=-1",
                self.gop, self.kbps
            ),
            (Codec::H265, 0) => format!(
                "x265enc tune=zerolatency speed-preset=ultrafast key-int-max={} bitrate={} \
                 ! rtph265pay name=pay0 pt=97 config-interval=-1",
                self.gop, self.kbps
            ),
            // zerolatency forbids the lookahead that x265 needs for B-frames; closed GOPs, as
            // cameras send (every keyframe starts a decodable segment).
            (Codec::H265, b) => format!(
                "x265enc speed-preset=ultrafast key-int-max={} bitrate={} \
                 option-string=\"bframes={b}:b-adapt=0:open-gop=0:rc-lookahead={}\" \
                 ! rtph265pay name=pay0 pt=97 config-interval=-1",
                self.gop,
                self.kbps,
                b + 3
            ),
        };
        let audio = match self.audio {
            None => String::new(),
            Some(Audio::Aac) => {
                " audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=16000,channels=1 \
                 ! avenc_aac ! rtpmp4gpay name=pay1 pt=98"
                    .into()
            }
            Some(Audio::Pcma) => {
                " audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=8000,channels=1 \
                 ! alawenc ! rtppcmapay name=pay1 pt=8"
                    .into()
            }
        };
        format!("( {video}{enc}{audio} )")
    }
}

/// The element called `name` in a client's media pipeline.
fn named(media: &gst_rtsp_server::RTSPMedia, name: &str) -> Option<gst::Element> {
    use gst_rtsp_server::prelude::*;
    media.element().downcast_ref::<gst::Bin>()?.by_name(name)
}

pub struct TestCamera {
    main_loop: glib::MainLoop,
    thread: Option<std::thread::JoinHandle<()>>,
    /// `rtsp://127.0.0.1:PORT/mount`, without credentials.
    pub url: String,
}

impl TestCamera {
    /// Starts serving on 127.0.0.1:`port` (0 = any free port: [`TestCamera::url`] tells which).
    /// `on_client` runs for every client connection (tests count them).
    pub fn start(
        spec: &Spec,
        port: u16,
        on_client: impl Fn() + Send + Sync + 'static,
    ) -> Result<TestCamera, String> {
        let server = gst_rtsp_server::RTSPServer::new();
        server.set_address("127.0.0.1");
        server.set_service(&port.to_string());
        let factory = gst_rtsp_server::RTSPMediaFactory::new();
        factory.set_launch(&spec.launch_line());
        // One encoder for all clients, like a real camera.
        factory.set_shared(true);
        if spec.file.is_some() {
            // An Annex B file has no timestamps: h264parse interpolates DTS only. The clip has
            // no B-frames (x264 ultrafast), so PTS = DTS; without PTS, RTP times are garbage.
            factory.connect_media_configure(|_, media| {
                let Some(pad) = named(media, "parse").and_then(|p| p.static_pad("src")) else {
                    return;
                };
                pad.add_probe(gst::PadProbeType::BUFFER, |_, info| {
                    if let Some(buf) = info.buffer_mut() {
                        let buf = buf.make_mut();
                        if buf.pts().is_none() {
                            buf.set_pts(buf.dts());
                        }
                    }
                    gst::PadProbeReturn::Ok
                });
            });
        }
        if let Some((secs, (w, h))) = spec.resize {
            let fps = spec.fps;
            factory.connect_media_configure(move |_, media| {
                let Some(size) = named(media, "size") else {
                    return;
                };
                let size = size.downgrade();
                std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_secs(u64::from(secs)));
                    if let Some(size) = size.upgrade() {
                        let caps = gst::Caps::builder("video/x-raw")
                            .field("format", "I420")
                            .field("width", w as i32)
                            .field("height", h as i32)
                            .field("framerate", gst::Fraction::new(fps as i32, 1))
                            .build();
                        size.set_property("caps", caps);
                    }
                });
            });
        }
        if let Some((secs, delta)) = spec.rtp_jump {
            factory.connect_media_configure(move |_, media| {
                let Some(pad) = named(media, "pay0").and_then(|p| p.static_pad("src")) else {
                    return;
                };
                let at =
                    std::time::Instant::now() + std::time::Duration::from_secs(u64::from(secs));
                // RTP timestamps are bytes 4..8 of the header, big-endian, 90 kHz for video.
                let add = (delta * 90_000) as u32;
                let shift = move |buf: &mut gst::BufferRef| {
                    if let Ok(mut map) = buf.map_writable()
                        && map.len() >= 8
                    {
                        let ts = u32::from_be_bytes([map[4], map[5], map[6], map[7]]);
                        map[4..8].copy_from_slice(&ts.wrapping_add(add).to_be_bytes());
                    }
                };
                let types = gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST;
                pad.add_probe(types, move |_, info| {
                    if std::time::Instant::now() < at {
                        return gst::PadProbeReturn::Ok;
                    }
                    match &mut info.data {
                        Some(gst::PadProbeData::Buffer(buf)) => shift(buf.make_mut()),
                        Some(gst::PadProbeData::BufferList(list)) => {
                            list.make_mut().foreach_mut(|mut b, _| {
                                shift(b.make_mut());
                                std::ops::ControlFlow::Continue(Some(b))
                            });
                        }
                        _ => {}
                    }
                    gst::PadProbeReturn::Ok
                });
            });
        }
        if let Some((user, pass)) = &spec.credentials {
            let auth = gst_rtsp_server::RTSPAuth::new();
            let token = gst_rtsp_server::RTSPToken::builder()
                .field(gst_rtsp_server::RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
                .build();
            auth.add_basic(&gst_rtsp_server::RTSPAuth::make_basic(user, pass), &token);
            server.set_auth(Some(&auth));
            let role = gst::Structure::builder("user")
                .field(gst_rtsp_server::RTSP_PERM_MEDIA_FACTORY_ACCESS, true)
                .field(gst_rtsp_server::RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, true)
                .build();
            factory.add_role_from_structure(&role);
        }
        server
            .mount_points()
            .ok_or("RTSP server has no mount points")?
            .add_factory(&spec.mount, factory);
        server.connect_client_connected(move |_, _| on_client());

        let ctx = glib::MainContext::new();
        server
            .attach(Some(&ctx))
            .map_err(|e| format!("cannot serve RTSP on 127.0.0.1:{port}: {e}"))?;
        let bound = server.bound_port();
        if bound <= 0 {
            return Err(format!("cannot serve RTSP on 127.0.0.1:{port}"));
        }
        let main_loop = glib::MainLoop::new(Some(&ctx), false);
        let ml = main_loop.clone();
        let thread = std::thread::Builder::new()
            .name("testcam".into())
            .spawn(move || {
                // The server lives as long as its main loop.
                let _server = server;
                ctx.with_thread_default(|| ml.run()).ok();
            })
            .map_err(|e| e.to_string())?;
        Ok(TestCamera {
            main_loop,
            thread: Some(thread),
            url: format!("rtsp://127.0.0.1:{bound}{}", spec.mount),
        })
    }
}

impl Drop for TestCamera {
    fn drop(&mut self) {
        self.main_loop.quit();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
