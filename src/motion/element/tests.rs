//! `nvrmotion` in real pipelines: videotestsrc → nvrmotion → fakesink, asserting on the bus.

use super::*;

/// Runs `source ! nvrmotion props ! fakesink` to EOS and returns the nvr-motion messages.
fn messages(source: &str, props: &str) -> Vec<gst::Structure> {
    gst::init().unwrap();
    register().unwrap();
    let p = gst::parse::launch(&format!(
        "{source} ! nvrmotion name=m {props} ! fakesink sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let bus = p.bus().unwrap();
    let mut out = Vec::new();
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(60)) {
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => panic!("{e:?}"),
            gst::MessageView::Element(e) => {
                if let Some(s) = e.structure().filter(|s| s.name() == MESSAGE) {
                    assert_eq!(msg.src().map(|s| s.name()), Some("m".into()));
                    out.push(s.to_owned());
                }
            }
            _ => {}
        }
    }
    p.set_state(gst::State::Null).unwrap();
    out
}

#[test]
fn a_moving_ball_is_reported_with_boxes_in_every_format() {
    for format in ["GRAY8", "I420", "NV12"] {
        let m = messages(
            &format!(
                "videotestsrc num-buffers=40 pattern=ball motion=sweep \
                 ! video/x-raw,format={format},width=320,height=180,framerate=10/1"
            ),
            "",
        );
        let active: Vec<_> = m
            .iter()
            .filter(|s| s.get::<bool>("active").unwrap())
            .collect();
        assert!(!active.is_empty(), "{format}: no motion reported: {m:?}");
        let boxes = active[0].get::<gst::Array>("boxes").unwrap();
        let b = boxes.first().unwrap().get::<gst::Structure>().unwrap();
        let w = b.get::<f64>("w").unwrap();
        assert!(w > 0.0 && w < 0.5, "{format}: {b:?}");
        assert!(
            active[0]
                .get::<Option<gst::ClockTime>>("timestamp")
                .unwrap()
                .is_some()
        );
    }
}

#[test]
fn a_still_picture_reports_nothing() {
    // A still, high-contrast picture (not "smpte": its corner has an animated noise patch,
    // which the detector rightly reports).
    let m = messages(
        "videotestsrc num-buffers=30 pattern=checkers-8 ! video/x-raw,format=I420,width=320,height=180,framerate=10/1",
        "",
    );
    assert!(m.iter().all(|s| !s.get::<bool>("active").unwrap()), "{m:?}");
}

#[test]
fn the_animated_corner_of_the_smpte_pattern_is_found_where_it_is() {
    let m = messages(
        "videotestsrc num-buffers=30 pattern=smpte ! video/x-raw,format=I420,width=320,height=180,framerate=10/1",
        "",
    );
    let first = m
        .iter()
        .find(|s| s.get::<bool>("active").unwrap())
        .expect("the noise patch moves");
    for b in first.get::<gst::Array>("boxes").unwrap().iter() {
        let b = b.get::<gst::Structure>().unwrap();
        assert!(
            b.get::<f64>("x").unwrap() >= 0.7 && b.get::<f64>("y").unwrap() >= 0.7,
            "{b:?}"
        );
    }
}

#[test]
fn a_mask_over_the_whole_frame_silences_it() {
    let m = messages(
        "videotestsrc num-buffers=40 pattern=ball motion=sweep ! video/x-raw,format=I420,width=320,height=180,framerate=10/1",
        "mask=\"0,0 1,0 1,1 0,1\"",
    );
    assert!(m.iter().all(|s| !s.get::<bool>("active").unwrap()), "{m:?}");
}

#[test]
fn properties_round_trip() {
    gst::init().unwrap();
    register().unwrap();
    let e = gst::ElementFactory::make("nvrmotion")
        .property("threshold", 40u32)
        .property("mask", "0,0 0.5,0 0.5,1")
        .build()
        .unwrap();
    assert_eq!(e.property::<u32>("threshold"), 40);
    assert_eq!(e.property::<String>("mask"), "0,0 0.5,0 0.5,1");
    assert_eq!(e.property::<u64>("message-interval"), 500_000_000);
}

#[test]
fn the_message_round_trips_through_a_structure() {
    gst::init().unwrap();
    let m = MotionMessage {
        active: true,
        calibrating: false,
        score: 0.125,
        boxes: vec![[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.25, 0.125]],
        timestamp: Some(gst::ClockTime::from_mseconds(1500)),
        running_time: None,
    };
    let s = gst::Structure::from(m.clone());
    assert_eq!(s.name(), MESSAGE);
    assert_eq!(MotionMessage::try_from(s.as_ref()), Ok(m));
    // A field missing or of the wrong type is an error that names it, never a 0.
    let mut broken = s.clone();
    broken.set("score", "high");
    assert!(
        MotionMessage::try_from(broken)
            .unwrap_err()
            .contains("score")
    );
    let mut no_boxes = s;
    no_boxes.remove_field("boxes");
    assert!(MotionMessage::try_from(no_boxes).is_err());
}
