//! Configuration changes apply live: cameras are added, removed and rebuilt while an
//! unchanged one keeps recording without a gap; a bad new config is rejected.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn reload_adds_and_removes_cameras_while_a_third_keeps_recording() {
    let dir = TempDir::new("reload");
    let storage = dir.path().join("rec");
    let cam = Camera::start(&[]);
    let keep = camera_table("keep", &cam.url, "");
    let off = camera_table("off", &cam.url, "enabled = false");
    let nvr = Nvr::start(
        dir.path(),
        &config(
            &storage,
            2,
            &(keep.clone() + &camera_table("old", &cam.url, "") + &off),
        ),
    );
    nvr.wait_segments("keep", 2, Duration::from_secs(40));
    nvr.wait_state("old", "recording", Duration::from_secs(30));
    let before = nvr.camera("keep").unwrap();

    // A broken edit is rejected and changes nothing.
    std::fs::write(&nvr.config, "[[camera]]\nname = \"Bad Name\"\n").unwrap();
    wait_for(Duration::from_secs(20), || {
        nvr.log_text()
            .contains("new configuration rejected")
            .then_some(())
    })
    .expect("bad config not rejected");
    assert!(
        nvr.log_text()
            .contains("camera[0].name: \"Bad Name\" may only contain")
    );
    assert_eq!(nvr.camera("old").unwrap()["state"], "recording");

    // A password with '%' before a non-ASCII character crashed the whole recorder on
    // reload (and printed the password). Now: rejected like any bad edit, nothing stops.
    let rejected = nvr.log_text().matches("new configuration rejected").count();
    let written = nvr.camera("keep").unwrap()["segments_written"]
        .as_u64()
        .unwrap();
    std::fs::write(
        &nvr.config,
        config(
            &storage,
            2,
            &camera_table("keep", "rtsp://admin:sekr1t%1ü@127.0.0.1:1/cam", ""),
        ),
    )
    .unwrap();
    wait_for(Duration::from_secs(20), || {
        (nvr.log_text().matches("new configuration rejected").count() > rejected).then_some(())
    })
    .expect("config with a bad %-escape not rejected");
    nvr.wait_segments("keep", written + 1, Duration::from_secs(20));
    let log = nvr.log_text();
    assert!(log.contains("camera[0].url: "), "{log}");
    assert!(
        !log.contains("sekr1t") && !log.contains("panicked"),
        "{log}"
    );
    std::fs::write(
        &nvr.config,
        config(
            &storage,
            2,
            &(keep.clone() + &camera_table("old", &cam.url, "") + &off),
        ),
    )
    .unwrap();

    assert_eq!(nvr.camera("off").unwrap()["state"], "disabled");

    // The real edit: drop "old", add "new", leave "keep" exactly as it was, and say so
    // with SIGHUP as an admin would (the file watcher may see it first; either applies it).
    std::fs::write(
        &nvr.config,
        config(
            &storage,
            2,
            &(keep + &camera_table("new", &cam.url, "") + &off),
        ),
    )
    .unwrap();
    nvr.hup();
    nvr.wait_state("new", "recording", Duration::from_secs(30));
    wait_for(Duration::from_secs(20), || {
        nvr.camera("old").is_none().then_some(())
    })
    .expect("removed camera still listed");
    let written = nvr.camera("keep").unwrap()["segments_written"]
        .as_u64()
        .unwrap();
    nvr.wait_segments("keep", written + 2, Duration::from_secs(30));
    nvr.wait_segments("new", 1, Duration::from_secs(30));

    assert!(nvr.log_text().contains("SIGHUP: reloading"));
    assert!(segments(&storage, "off").is_empty());
    let after = nvr.camera("keep").unwrap();
    assert_eq!(after["reconnects"], 0, "the unchanged camera was restarted");
    assert_eq!(
        after["since"], before["since"],
        "the unchanged camera changed state"
    );
    drop(nvr);

    // "keep" has no gap across the reload: consecutive segments meet (1 s name resolution).
    let files = segments(&storage, "keep");
    for pair in files.windows(2) {
        let end =
            f64::from(name_seconds(&pair[0])) + discover(&pair[0]).unwrap().duration.as_secs_f64();
        let next = f64::from(name_seconds(&pair[1]));
        assert!(
            (next - end).abs() <= 1.0,
            "gap between {} and {}",
            pair[0].display(),
            pair[1].display()
        );
    }
    // "old" stopped cleanly: its last segment was finalized and plays.
    for f in segments(&storage, "old") {
        discover(&f).unwrap_or_else(|e| panic!("{e}"));
    }
}
