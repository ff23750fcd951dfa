use super::*;

const W: usize = 320;
const H: usize = 180;
/// Wider than the picture, with garbage in the padding: the stride is not the width.
const STRIDE: usize = 336;

struct Scene {
    bg: f32,
    rng: u64,
    noise: u8,
}

impl Scene {
    fn new(bg: f32, noise: u8) -> Scene {
        Scene {
            bg,
            rng: 0x9e37_79b9_7f4a_7c15,
            noise,
        }
    }
    /// A frame with an optional bright square of `size` at (x, y).
    fn frame(&mut self, square: Option<(usize, usize, usize)>) -> Vec<u8> {
        let mut f = vec![255u8; STRIDE * H];
        for y in 0..H {
            for x in 0..W {
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                let n = if self.noise == 0 {
                    0.0
                } else {
                    (self.rng % (2 * u64::from(self.noise) + 1)) as f32 - f32::from(self.noise)
                };
                let mut v = self.bg + n;
                if let Some((sx, sy, s)) = square
                    && (sx..sx + s).contains(&x)
                    && (sy..sy + s).contains(&y)
                {
                    v = 220.0;
                }
                f[y * STRIDE + x] = v.clamp(0.0, 255.0) as u8;
            }
        }
        f
    }
}

fn run(d: &mut Detector, f: &[u8]) -> Result {
    d.process(f, W, H, STRIDE)
}

fn warm_up(d: &mut Detector, scene: &mut Scene) {
    for _ in 0..20 {
        let f = scene.frame(None);
        assert!(!run(d, &f).active());
    }
}

#[test]
fn a_moving_object_is_found_where_it_is() {
    let mut d = Detector::new(Settings::default(), W, H);
    let mut scene = Scene::new(60.0, 0);
    warm_up(&mut d, &mut scene);
    for step in 0..10 {
        let (x, y) = (40 + step * 8, 70);
        let r = run(&mut d, &scene.frame(Some((x, y, 30))));
        assert!(r.active() && !r.calibrating, "step {step}: {r:?}");
        let (cx, cy) = ((x + 15) as f32 / W as f32, (y + 15) as f32 / H as f32);
        let b = r.regions[0];
        assert!(
            (b.x..b.x + b.w).contains(&cx) && (b.y..b.y + b.h).contains(&cy),
            "step {step}: {b:?} misses ({cx}, {cy})"
        );
        assert!(
            b.w < 0.5 && b.h < 0.5,
            "region far larger than the object: {b:?}"
        );
    }
}

#[test]
fn sensor_noise_is_not_motion() {
    let mut d = Detector::new(Settings::default(), W, H);
    let mut scene = Scene::new(80.0, 20);
    for i in 0..60 {
        let r = run(&mut d, &scene.frame(None));
        assert!(!r.active(), "frame {i}: {r:?}");
    }
}

#[test]
fn lights_switching_on_calibrate_instead_of_triggering() {
    let mut d = Detector::new(Settings::default(), W, H);
    let mut scene = Scene::new(60.0, 4);
    warm_up(&mut d, &mut scene);
    scene.bg = 170.0;
    let r = run(&mut d, &scene.frame(None));
    assert!(r.calibrating && !r.active() && r.score > 0.9, "{r:?}");
    let mut settled = None;
    for i in 0..30 {
        let r = run(&mut d, &scene.frame(None));
        assert!(
            !r.active(),
            "frame {i} after the step reported motion: {r:?}"
        );
        if !r.calibrating {
            settled.get_or_insert(i);
        }
    }
    assert!(
        settled.is_some_and(|i| i < 15),
        "never settled: {settled:?}"
    );
    // And it still sees motion afterwards.
    let r = run(&mut d, &scene.frame(Some((150, 60, 40))));
    assert!(r.active(), "{r:?}");
}

#[test]
fn a_slow_light_ramp_is_not_motion() {
    let mut d = Detector::new(Settings::default(), W, H);
    let mut scene = Scene::new(40.0, 4);
    warm_up(&mut d, &mut scene);
    // Dawn: +0.3 levels per frame for 400 frames (80 s at 5 fps), 120 levels in all.
    for i in 0..400 {
        scene.bg += 0.3;
        let r = run(&mut d, &scene.frame(None));
        assert!(!r.active() && !r.calibrating, "frame {i}: {r:?}");
    }
}

#[test]
fn a_masked_zone_is_ignored_and_the_rest_is_not() {
    let mut d = Detector::new(Settings::default(), W, H);
    // Mask the left half (a tree that always moves).
    d.set_mask(&[vec![(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]]);
    let mut scene = Scene::new(60.0, 0);
    warm_up(&mut d, &mut scene);
    for step in 0..5 {
        let r = run(&mut d, &scene.frame(Some((20 + step * 8, 70, 30))));
        assert!(!r.active(), "motion inside the mask reported: {r:?}");
    }
    let r = run(&mut d, &scene.frame(Some((240, 70, 30))));
    assert!(r.active() && r.regions[0].x >= 0.5, "{r:?}");
}

#[test]
fn no_ghost_is_left_where_an_object_was() {
    let mut d = Detector::new(Settings::default(), W, H);
    let mut scene = Scene::new(60.0, 0);
    // A box stands still long enough to become part of the background, then leaves.
    for _ in 0..300 {
        run(&mut d, &scene.frame(Some((100, 60, 40))));
    }
    let r = run(&mut d, &scene.frame(None));
    assert!(r.active(), "leaving is motion: {r:?}");
    for i in 0..10 {
        let r = run(&mut d, &scene.frame(None));
        assert!(!r.active(), "frame {i}: a ghost where the box stood: {r:?}");
    }
}

#[test]
fn small_specks_stay_below_the_minimum_area() {
    let mut d = Detector::new(
        Settings {
            min_area: 0.01,
            ..Settings::default()
        },
        W,
        H,
    );
    let mut scene = Scene::new(60.0, 0);
    warm_up(&mut d, &mut scene);
    // A 6 px insect on the lens: under 1 % of the frame even after dilation.
    let r = run(&mut d, &scene.frame(Some((100, 100, 6))));
    assert!(!r.active(), "{r:?}");
    let r = run(&mut d, &scene.frame(Some((100, 100, 50))));
    assert!(r.active(), "{r:?}");
}

/// The grid is the mean of each cell's sampled pixels, whichever summing path the frame
/// width takes (evenly divided or not), and frames of a new size re-map the grid.
#[test]
fn downscale_is_the_cell_mean() {
    let mut d = Detector::new(Settings::default(), 640, 360);
    for (w, h) in [(640, 360), (650, 371), (1280, 720), (333, 180)] {
        let stride = w + 7;
        let frame: Vec<u8> = (0..stride * h).map(|i| (i * 7919 % 251) as u8).collect();
        d.downscale(&frame, w, h, stride);
        let step = if h / d.h >= 4 { 2 } else { 1 };
        for gy in 0..d.h {
            for gx in 0..d.w {
                let (x0, x1) = (gx * w / d.w, (gx + 1) * w / d.w);
                let (y0, y1) = (gy * h / d.h, (gy + 1) * h / d.h);
                let (mut sum, mut n) = (0u32, 0u32);
                for y in (y0..y1).step_by(step) {
                    for x in x0..x1 {
                        sum += u32::from(frame[y * stride + x]);
                        n += 1;
                    }
                }
                let want = sum as f32 / n as f32;
                let got = d.small[gy * d.w + gx];
                assert!(
                    (got - want).abs() < 0.01,
                    "{w}x{h} cell ({gx},{gy}): {got} vs {want}"
                );
            }
        }
    }
}
