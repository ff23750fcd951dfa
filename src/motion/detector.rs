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
    /// The frame size the layout below is for.
    frame: (usize, usize),
    /// Grid cell `gx` covers frame columns `xb[gx]..xb[gx + 1]`; likewise rows with `yb`.
    xb: Vec<usize>,
    yb: Vec<usize>,
    /// 1 / the cell's width, per grid column.
    inv_cols: Vec<f32>,
    /// Per frame column, the sum of the sampled rows of the current grid row.
    acc: Vec<u16>,
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
    /// Cells not masked.
    considered: usize,
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
        let mut d = Detector {
            s,
            w,
            h,
            frame: (0, 0),
            xb: vec![0; w + 1],
            yb: vec![0; h + 1],
            inv_cols: vec![0.0; w],
            acc: Vec::with_capacity(frame_w),
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
            considered: n,
            labels: vec![0; n],
            stack: Vec::with_capacity(n),
            frames: 0,
            calibrating: true,
        };
        d.layout(frame_w, frame_h);
        d
    }

    /// Maps the grid onto a frame of `width`×`height` (at construction, and again only if
    /// frames of another size arrive).
    fn layout(&mut self, width: usize, height: usize) {
        let (w, h) = (self.w, self.h);
        for (g, b) in self.xb.iter_mut().enumerate() {
            *b = g * width / w;
        }
        for (g, b) in self.yb.iter_mut().enumerate() {
            *b = g * height / h;
        }
        for g in 0..w {
            self.inv_cols[g] = 1.0 / (self.xb[g + 1] - self.xb[g]).max(1) as f32;
        }
        self.acc.resize(width, 0);
        self.frame = (width, height);
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
        self.considered = self.masked.iter().filter(|m| !**m).count();
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
        // Branch-free over plain slices, so the compiler vectorises it.
        let cells = self.blurred.iter().zip(&self.background).zip(&self.masked);
        for (o, ((&v, &b), &m)) in self.off_bg.iter_mut().zip(cells) {
            *o = !m & ((v - b).abs() > thr);
        }
        let cells = self.off_bg.iter().zip(&self.blurred).zip(&self.previous);
        for (c, ((&o, &v), &p)) in self.changed.iter_mut().zip(cells) {
            *c = o & ((v - p).abs() > thr * 0.5);
        }
        let count = self.changed.iter().filter(|c| **c).count();
        let off_background = self.off_bg.iter().filter(|o| **o).count();
        self.previous.copy_from_slice(&self.blurred);
        let considered = self.considered.max(1) as f32;
        let score = count as f32 / considered;
        // Lights on/off or an IR switch: most of the frame is off the background at once.
        let global = off_background as f32 / considered;
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

    /// Box-averages the frame into the grid. Every other row is sampled when cells are 4 or
    /// more rows high (plenty of samples still, half the reads); each sampled row is added
    /// whole into a per-column accumulator, which vectorises, then cells sum their columns.
    fn downscale(&mut self, luma: &[u8], width: usize, height: usize, stride: usize) {
        if self.frame != (width, height) {
            self.layout(width, height);
        }
        let w = self.w;
        let step = if height / self.h >= 4 { 2 } else { 1 };
        for gy in 0..self.h {
            let (y0, y1) = (
                self.yb[gy],
                self.yb[gy + 1].max(self.yb[gy] + 1).min(height),
            );
            self.acc.fill(0);
            // At most 257 rows of 255 fit the u16 accumulator; more rows add nothing a
            // coarse grid needs.
            let mut rows = 0u32;
            for y in (y0..y1).step_by(step).take(257) {
                let row = &luma[y * stride..y * stride + width];
                for (a, &p) in self.acc.iter_mut().zip(row) {
                    *a += u16::from(p);
                }
                rows += 1;
            }
            let inv_rows = 1.0 / rows.max(1) as f32;
            let out = &mut self.small[gy * w..(gy + 1) * w];
            // Common frame widths divide evenly into the grid: sum fixed-size groups, which
            // the compiler unrolls.
            match width.is_multiple_of(w).then_some(width / w) {
                Some(2) => sum_columns::<2>(&self.acc, out, inv_rows),
                Some(3) => sum_columns::<3>(&self.acc, out, inv_rows),
                Some(4) => sum_columns::<4>(&self.acc, out, inv_rows),
                Some(6) => sum_columns::<6>(&self.acc, out, inv_rows),
                Some(8) => sum_columns::<8>(&self.acc, out, inv_rows),
                Some(12) => sum_columns::<12>(&self.acc, out, inv_rows),
                _ => {
                    for (gx, cell) in out.iter_mut().enumerate() {
                        let (x0, x1) =
                            (self.xb[gx], self.xb[gx + 1].max(self.xb[gx] + 1).min(width));
                        let sum: u32 = self.acc[x0..x1].iter().map(|&a| u32::from(a)).sum();
                        *cell = sum as f32 * inv_rows * self.inv_cols[gx];
                    }
                }
            }
        }
    }

    /// 3×3 box blur of the grid (noise suppression before differencing), separable: a sum
    /// over each row's neighbours, then over each column's; edges average what exists.
    fn blur(&mut self) {
        let (w, h) = (self.w, self.h);
        const THIRD: f32 = 1.0 / 3.0;
        for (src, dst) in self
            .small
            .chunks_exact(w)
            .zip(self.rows.chunks_exact_mut(w))
        {
            dst[0] = (src[0] + src[1]) * 0.5;
            for ((d, a), (b, c)) in dst[1..w - 1]
                .iter_mut()
                .zip(src)
                .zip(src[1..].iter().zip(&src[2..]))
            {
                *d = (a + b + c) * THIRD;
            }
            dst[w - 1] = (src[w - 2] + src[w - 1]) * 0.5;
        }
        for y in 0..h {
            let (up, down) = (y.saturating_sub(1), (y + 1).min(h - 1));
            let k = 1.0 / (down - up + 1) as f32;
            let dst = &mut self.blurred[y * w..(y + 1) * w];
            let (a, b, c) = (
                &self.rows[up * w..(up + 1) * w],
                &self.rows[y * w..(y + 1) * w],
                &self.rows[down * w..(down + 1) * w],
            );
            // At the edges `up` or `down` is `y` itself: count it once.
            let b_weight = if up == y || down == y { 0.0 } else { 1.0 };
            for (((d, a), b), c) in dst.iter_mut().zip(a).zip(b).zip(c) {
                *d = (a + b * b_weight + c) * k;
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
            for ((d, a), (b, c)) in dst[1..w - 1]
                .iter_mut()
                .zip(src)
                .zip(src[1..].iter().zip(&src[2..]))
            {
                *d = a | b | c;
            }
            dst[w - 1] = src[w - 2] | src[w - 1];
        }
        for y in 0..h {
            let (up, down) = (y.saturating_sub(1), (y + 1).min(h - 1));
            let dst = &mut self.grown[y * w..(y + 1) * w];
            let (a, b, c) = (
                &self.rows_or[up * w..(up + 1) * w],
                &self.rows_or[y * w..(y + 1) * w],
                &self.rows_or[down * w..(down + 1) * w],
            );
            for (((d, a), b), c) in dst.iter_mut().zip(a).zip(b).zip(c) {
                *d = a | b | c;
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

/// Averages groups of `N` accumulated columns into grid cells.
fn sum_columns<const N: usize>(acc: &[u16], out: &mut [f32], inv_rows: f32) {
    let k = inv_rows / N as f32;
    for (cell, group) in out.iter_mut().zip(acc.chunks_exact(N)) {
        let group: &[u16; N] = group.try_into().unwrap();
        *cell = group.iter().map(|&a| u32::from(a)).sum::<u32>() as f32 * k;
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
