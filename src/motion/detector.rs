//! The motion detector: plain Rust over a luma plane, no GStreamer.
//!
//! Per frame: downscale early (box average into a small fixed grid), 3×3 blur, difference
//! against a running background *and* against the previous frame, threshold, one dilation,
//! connected regions, area filter. Requiring both differences removes ghosts: where an
//! object left (or a still scene snaps back), the background lags for many seconds, but
//! nothing changes from one frame to the next.
//! A sudden global change (lights, IR switch) puts it into *calibration*: the background
//! adapts fast and nothing is reported until the scene is stable again. Every buffer is
//! allocated once in [`Detector::new`]; a frame allocates nothing.

/// Tuning, with the defaults the element exposes as properties.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Width of the detection grid; the height follows the frame's aspect ratio.
    pub width: usize,
    /// Luma difference (0-255) that counts as change.
    pub threshold: u8,
    /// Smallest region reported, as a fraction of the frame area.
    pub min_area: f32,
    /// How fast the background follows the scene (per frame, 0-1).
    pub alpha: f32,
    /// Changed fraction of the frame above which the change is global (lights), not motion.
    pub global_change: f32,
    /// Background speed while calibrating.
    pub calibration_alpha: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            width: 160,
            threshold: 25,
            min_area: 0.002,
            alpha: 0.02,
            global_change: 0.5,
            calibration_alpha: 0.3,
        }
    }
}

/// A region of motion in frame coordinates, 0.0-1.0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// Most regions reported per frame (the largest win).
pub const MAX_REGIONS: usize = 8;

#[derive(Debug, Clone, PartialEq)]
pub struct Result {
    /// Changed fraction of the (unmasked) frame.
    pub score: f32,
    pub regions: heapless::Vec<Region, MAX_REGIONS>,
    pub calibrating: bool,
}

impl Result {
    pub fn active(&self) -> bool {
        !self.regions.is_empty()
    }
}

pub struct Detector {
    s: Settings,
    w: usize,
    h: usize,
    small: Vec<f32>,
    blurred: Vec<f32>,
    /// Scratch for the separable blur's row pass.
    rows: Vec<f32>,
    /// Scratch for the separable dilation's row pass.
    rows_or: Vec<bool>,
    previous: Vec<f32>,
    background: Vec<f32>,
    /// Off the background and moving: where regions start.
    changed: Vec<bool>,
    /// Off the background: what regions grow over.
    off_bg: Vec<bool>,
    grown: Vec<bool>,
    /// Pixels to ignore (motion zones are the complement).
    masked: Vec<bool>,
    labels: Vec<u32>,
    stack: Vec<u32>,
    frames: u64,
    calibrating: bool,
}

impl Detector {
    /// For frames of `frame_w`×`frame_h`.
    pub fn new(s: Settings, frame_w: usize, frame_h: usize) -> Detector {
        let w = s.width.clamp(8, frame_w.max(8));
        let h = (w * frame_h / frame_w.max(1)).max(4);
        let n = w * h;
        Detector {
            s,
            w,
            h,
            small: vec![0.0; n],
            blurred: vec![0.0; n],
            rows: vec![0.0; n],
            rows_or: vec![false; n],
            previous: vec![0.0; n],
            background: vec![0.0; n],
            changed: vec![false; n],
            off_bg: vec![false; n],
            grown: vec![false; n],
            masked: vec![false; n],
            labels: vec![0; n],
            stack: Vec::with_capacity(n),
            frames: 0,
            calibrating: true,
        }
    }

    /// Ignores everything inside the polygons (relative coordinates, 0.0-1.0).
    pub fn set_mask(&mut self, polygons: &[Vec<(f32, f32)>]) {
        for y in 0..self.h {
            for x in 0..self.w {
                let p = (
                    (x as f32 + 0.5) / self.w as f32,
                    (y as f32 + 0.5) / self.h as f32,
                );
                self.masked[y * self.w + x] = polygons.iter().any(|poly| inside(poly, p));
            }
        }
    }

    /// Analyses one frame: `luma` rows of `width` pixels, `stride` bytes apart.
    pub fn process(&mut self, luma: &[u8], width: usize, height: usize, stride: usize) -> Result {
        self.downscale(luma, width, height, stride);
        self.blur();
        self.frames += 1;
        if self.frames == 1 {
            self.background.copy_from_slice(&self.blurred);
            self.previous.copy_from_slice(&self.blurred);
        }
        let thr = f32::from(self.s.threshold);
        // Motion: away from the background and moving now (half the threshold: between two
        // frames at 5 fps an edge moves less than it differs from an empty background).
        let (mut count, mut off_background, mut considered) = (0usize, 0usize, 0usize);
        for i in 0..self.blurred.len() {
            let bg = !self.masked[i] && (self.blurred[i] - self.background[i]).abs() > thr;
            let moving = (self.blurred[i] - self.previous[i]).abs() > thr * 0.5;
            self.changed[i] = bg && moving;
            self.off_bg[i] = bg;
            count += usize::from(bg && moving);
            off_background += usize::from(bg);
            considered += usize::from(!self.masked[i]);
        }
        self.previous.copy_from_slice(&self.blurred);
        let score = count as f32 / considered.max(1) as f32;
        // Lights on/off or an IR switch: most of the frame is off the background at once.
        let global = off_background as f32 / considered.max(1) as f32;
        if score > self.s.global_change {
            self.calibrating = true;
        } else if self.calibrating && global < 0.05 {
            self.calibrating = false;
        }
        let alpha = if self.calibrating {
            self.s.calibration_alpha
        } else {
            self.s.alpha
        };
        for (b, &v) in self.background.iter_mut().zip(&self.blurred) {
            *b += alpha * (v - *b);
        }
        let mut regions = heapless::Vec::new();
        if !self.calibrating && count > 0 {
            self.dilate();
            self.regions(&mut regions);
        }
        Result {
            score,
            regions,
            calibrating: self.calibrating,
        }
    }

    /// Box-averages the frame into the grid. Cells 4 or more pixels wide are sampled on every
    /// other row and column: plenty of samples still, at a quarter of the reads.
    fn downscale(&mut self, luma: &[u8], width: usize, height: usize, stride: usize) {
        let (w, h) = (self.w, self.h);
        let step = if width / w >= 4 { 2 } else { 1 };
        for gy in 0..h {
            let y0 = gy * height / h;
            let y1 = ((gy + 1) * height / h).max(y0 + 1).min(height);
            for gx in 0..w {
                let x0 = gx * width / w;
                let x1 = ((gx + 1) * width / w).max(x0 + 1).min(width);
                let mut sum = 0u32;
                // Sample every other row and column: the grid is coarse anyway.
                let (mut n, mut y) = (0u32, y0);
                while y < y1 {
                    let row = &luma[y * stride..y * stride + width];
                    let mut x = x0;
                    while x < x1 {
                        sum += u32::from(row[x]);
                        n += 1;
                        x += step;
                    }
                    y += step;
                }
                self.small[gy * w + gx] = sum as f32 / n.max(1) as f32;
            }
        }
    }

    /// 3×3 box blur of the grid (noise suppression before differencing), separable: a sum
    /// over each row's neighbours, then over each column's; edges average what exists.
    fn blur(&mut self) {
        let (w, h) = (self.w, self.h);
        for (src, dst) in self
            .small
            .chunks_exact(w)
            .zip(self.rows.chunks_exact_mut(w))
        {
            dst[0] = (src[0] + src[1]) / 2.0;
            for x in 1..w - 1 {
                dst[x] = (src[x - 1] + src[x] + src[x + 1]) / 3.0;
            }
            dst[w - 1] = (src[w - 2] + src[w - 1]) / 2.0;
        }
        for y in 0..h {
            let (up, down) = (y.saturating_sub(1), (y + 1).min(h - 1));
            let n = (down - up + 1) as f32;
            for x in 0..w {
                let mut sum = 0.0;
                for yy in up..=down {
                    sum += self.rows[yy * w + x];
                }
                self.blurred[y * w + x] = sum / n;
            }
        }
    }

    /// 3×3 dilation of the off-background mask, separable like the blur.
    fn dilate(&mut self) {
        let (w, h) = (self.w, self.h);
        for (src, dst) in self
            .off_bg
            .chunks_exact(w)
            .zip(self.rows_or.chunks_exact_mut(w))
        {
            dst[0] = src[0] | src[1];
            for x in 1..w - 1 {
                dst[x] = src[x - 1] | src[x] | src[x + 1];
            }
            dst[w - 1] = src[w - 2] | src[w - 1];
        }
        for y in 0..h {
            let (up, down) = (y.saturating_sub(1), (y + 1).min(h - 1));
            for x in 0..w {
                self.grown[y * w + x] = (up..=down).any(|yy| self.rows_or[yy * w + x]);
            }
        }
    }

    /// Regions: seeded where pixels move, grown (4-neighbour flood fill with a reused stack)
    /// over everything connected that is off the background (dilated), so a moving object is
    /// reported whole and a ghost, which moves nowhere, not at all. The largest
    /// [`MAX_REGIONS`] above the minimum area.
    fn regions(&mut self, out: &mut heapless::Vec<Region, MAX_REGIONS>) {
        let (w, h) = (self.w, self.h);
        self.labels.fill(0);
        let min_cells = ((self.s.min_area * (w * h) as f32).ceil() as usize).max(1);
        let mut found: heapless::Vec<(usize, Region), 64> = heapless::Vec::new();
        let mut label = 0u32;
        for start in 0..w * h {
            if !self.changed[start] || self.labels[start] != 0 {
                continue;
            }
            label += 1;
            let (mut x0, mut y0, mut x1, mut y1, mut cells) = (w, h, 0, 0, 0usize);
            self.stack.clear();
            self.stack.push(start as u32);
            self.labels[start] = label;
            while let Some(i) = self.stack.pop() {
                let i = i as usize;
                let (x, y) = (i % w, i / w);
                cells += 1;
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
                let mut visit = |j: usize| {
                    if self.grown[j] && self.labels[j] == 0 {
                        self.labels[j] = label;
                        self.stack.push(j as u32);
                    }
                };
                if x > 0 {
                    visit(i - 1);
                }
                if x + 1 < w {
                    visit(i + 1);
                }
                if y > 0 {
                    visit(i - w);
                }
                if y + 1 < h {
                    visit(i + w);
                }
            }
            if cells >= min_cells {
                let r = Region {
                    x: x0 as f32 / w as f32,
                    y: y0 as f32 / h as f32,
                    w: (x1 - x0 + 1) as f32 / w as f32,
                    h: (y1 - y0 + 1) as f32 / h as f32,
                };
                if found.push((cells, r)).is_err() {
                    break;
                }
            }
        }
        found.sort_unstable_by_key(|f| std::cmp::Reverse(f.0));
        for (_, r) in found.into_iter().take(MAX_REGIONS) {
            let _ = out.push(r);
        }
    }
}

/// Point in polygon (even-odd rule).
fn inside(poly: &[(f32, f32)], (px, py): (f32, f32)) -> bool {
    let mut c = false;
    let mut j = poly.len().wrapping_sub(1);
    for i in 0..poly.len() {
        let (xi, yi) = poly[i];
        let (xj, yj) = poly[j];
        if (yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi {
            c = !c;
        }
        j = i;
    }
    c
}

#[cfg(test)]
mod tests;
