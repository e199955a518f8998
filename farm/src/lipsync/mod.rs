//! The built-in lip-sync renderer: the photo's own pixels warped so the mouth follows the
//! speech (its phones when they are known, see `track`). Per frame, the rig's control points move with the mouth parameters and blinks; a
//! thin-plate spline turns them into a smooth displacement field over the face region (solved
//! in a batch, evaluated on a coarse grid and upsampled), a slow head sway is added, and
//! `grid_sample` warps the face region only. Inside the parted lips a dark mouth with a hint
//! of upper teeth is blended in. One implementation on tensors serves CPU and CUDA.

pub mod motion;
pub mod mouth;
pub mod phones;
pub mod rig;
pub mod track;
pub mod visemes;

use crate::error::FarmError;
use crate::face::FaceData;
use crate::render::{crop_window, image_tensor, resize, to_rgb_bytes};
use image::RgbImage;
use mouth::MouthTrack;
use rig::{Rig, BLINK_A, BLINK_B, OPEN, OPEN_GAP, PARAMS, ROUND, SEAL, WIDE};
use tch::{Device, Kind, Tensor};

/// Cells of the coarse grid the spline is evaluated on, along the longer side.
const COARSE: i64 = 28;
/// Spline smoothing (in face heights squared): keeps the field calm between controls; the
/// controls that must be reached exactly get a trace of it.
const SMOOTHING: f64 = 1e-3;
const EXACT_SMOOTHING: f64 = 1e-6;
/// Width of the fade at the region's border, as a share of its shorter side.
const FEATHER: f64 = 0.14;

/// A face ready to animate at one size on one device.
pub struct LipSync {
    rig: Rig,
    device: Device,
    fps: u32,
    /// `[n, n]` the spline's smoothing per control (on the diagonal).
    smoothing: Tensor,
    /// `[1, 3, S, S]` the still crop.
    crop: Tensor,
    /// The still crop as RGB24 bytes, the background of every frame.
    still: Vec<u8>,
    /// `[n, 2]` control sources and `[PARAMS, n * 2]` their motion, in face heights around
    /// the rig's centre.
    sources: Tensor,
    basis: Tensor,
    /// `[G, 2]` coarse grid points (face heights) and its shape.
    coarse: Tensor,
    coarse_shape: (i64, i64),
    /// `[4, 2]` the mouth outline and `[PARAMS, 8]` its motion, like the controls.
    mouth_sources: Tensor,
    mouth_basis: Tensor,
    /// `[1, 3, 1, 1]` colours of the mouth's inside and of the teeth, from the photo's lips.
    shade: Tensor,
    tooth: Tensor,
    /// `[rh, rw, 2]` crop pixel coordinates of the region's pixels.
    pixels: Tensor,
    /// `[1, rh, rw, 1]` 1 inside the region, fading to 0 at its border.
    feather: Tensor,
}

fn f32_tensor(values: &[f32], shape: &[i64], device: Device) -> Result<Tensor, FarmError> {
    Ok(Tensor::f_from_slice(values)?
        .f_view(shape)?
        .f_to_device(device)?)
}

impl LipSync {
    pub fn new(
        image: &RgbImage,
        face: &FaceData,
        size: u32,
        fps: u32,
        device: Device,
    ) -> Result<Self, FarmError> {
        let window = crop_window(face);
        let cropped =
            image::imageops::crop_imm(image, window.x, window.y, window.side, window.side)
                .to_image();
        let crop = resize(&image_tensor(&cropped, device)?, i64::from(size))?.f_clamp(0.0, 1.0)?;
        let still = to_rgb_bytes(&crop)?;
        // The frames are drawn from the quantised still, so untouched pixels stay exact.
        let crop = crop.f_mul_scalar(255.0)?.f_round()?.f_div_scalar(255.0)?;
        let rig = Rig::new(face, window, size);
        let n = rig.controls() as i64;
        let norm = |p: [f32; 2]| {
            [
                (p[0] - rig.centre[0]) / rig.unit,
                (p[1] - rig.centre[1]) / rig.unit,
            ]
        };
        let sources: Vec<f32> = rig.sources.iter().flat_map(|&p| norm(p)).collect();
        let mut basis = vec![0f32; PARAMS * n as usize * 2];
        for (i, b) in rig.basis.iter().enumerate() {
            for (k, d) in b.iter().enumerate() {
                basis[k * n as usize * 2 + i * 2] = d[0] / rig.unit;
                basis[k * n as usize * 2 + i * 2 + 1] = d[1] / rig.unit;
            }
        }
        let mouth_sources: Vec<f32> = rig.mouth_sources.iter().flat_map(|&p| norm(p)).collect();
        let mut mouth_basis = vec![0f32; PARAMS * 8];
        for (i, b) in rig.mouth_basis.iter().enumerate() {
            for (k, d) in b.iter().enumerate() {
                mouth_basis[k * 8 + i * 2] = d[0] / rig.unit;
                mouth_basis[k * 8 + i * 2 + 1] = d[1] / rig.unit;
            }
        }
        let (shade, tooth) = mouth_colours(&still, size, &rig.lip_points);
        let r = rig.region;
        let (gh, gw) = if r.h >= r.w {
            (COARSE, (COARSE * r.w / r.h).max(4))
        } else {
            ((COARSE * r.h / r.w).max(4), COARSE)
        };
        let mut coarse = Vec::with_capacity((gh * gw * 2) as usize);
        for gy in 0..gh {
            for gx in 0..gw {
                let x = r.x as f32 + (r.w - 1) as f32 * gx as f32 / (gw - 1) as f32;
                let y = r.y as f32 + (r.h - 1) as f32 * gy as f32 / (gh - 1) as f32;
                coarse.extend(norm([x, y]));
            }
        }
        let ys = Tensor::f_arange_start(r.y, r.y + r.h, (Kind::Float, device))?;
        let xs = Tensor::f_arange_start(r.x, r.x + r.w, (Kind::Float, device))?;
        let pixels = Tensor::f_stack(
            &[
                xs.f_view([1, r.w])?.f_expand([r.h, r.w], false)?,
                ys.f_view([r.h, 1])?.f_expand([r.h, r.w], false)?,
            ],
            2,
        )?;
        let fade = |len: i64| -> Result<Tensor, FarmError> {
            let idx = Tensor::f_arange(len, (Kind::Float, device))?;
            let edge = idx.f_minimum(&idx.f_neg()?.f_add_scalar((len - 1) as f64)?)?;
            let ramp = (FEATHER * r.w.min(r.h) as f64).max(2.0);
            let t = edge.f_div_scalar(ramp)?.f_clamp(0.0, 1.0)?;
            // smoothstep
            Ok(t.f_square()?
                .f_mul(&t.f_mul_scalar(-2.0)?.f_add_scalar(3.0)?)?)
        };
        let feather = fade(r.h)?
            .f_view([1, r.h, 1, 1])?
            .f_mul(&fade(r.w)?.f_view([1, 1, r.w, 1])?)?;
        let smoothing: Vec<f32> = rig
            .exact
            .iter()
            .map(|&e| if e { EXACT_SMOOTHING } else { SMOOTHING } as f32)
            .collect();
        Ok(Self {
            smoothing: f32_tensor(&smoothing, &[n], device)?.f_diag_embed(0, -2, -1)?,
            sources: f32_tensor(&sources, &[n, 2], device)?,
            basis: f32_tensor(&basis, &[PARAMS as i64, n * 2], device)?,
            coarse: f32_tensor(&coarse, &[gh * gw, 2], device)?,
            coarse_shape: (gh, gw),
            shade: f32_tensor(&shade, &[1, 3, 1, 1], device)?,
            tooth: f32_tensor(&tooth, &[1, 3, 1, 1], device)?,
            mouth_sources: f32_tensor(&mouth_sources, &[4, 2], device)?,
            mouth_basis: f32_tensor(&mouth_basis, &[PARAMS as i64, 8], device)?,
            rig,
            device,
            fps,
            crop,
            still,
            pixels,
            feather,
        })
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// Side of the rendered frames.
    pub fn size(&self) -> u32 {
        self.rig.size as u32
    }

    pub fn rig(&self) -> &Rig {
        &self.rig
    }

    /// Frames `start..start + count` as RGB24 bytes, one after another.
    pub fn render(
        &self,
        track: &MouthTrack,
        start: usize,
        count: usize,
    ) -> Result<Vec<u8>, FarmError> {
        let region = self.render_region(track, start, count)?;
        let r = self.rig.region;
        let bytes = to_rgb_bytes(&region)?;
        let (s, rw, rh) = (self.rig.size as usize, r.w as usize, r.h as usize);
        let frame_len = s * s * 3;
        let mut out = Vec::with_capacity(frame_len * count);
        for b in 0..count {
            out.extend_from_slice(&self.still);
            let frame = &mut out[b * frame_len..(b + 1) * frame_len];
            let src = &bytes[b * rh * rw * 3..(b + 1) * rh * rw * 3];
            for row in 0..rh {
                let dst = ((r.y as usize + row) * s + r.x as usize) * 3;
                frame[dst..dst + rw * 3].copy_from_slice(&src[row * rw * 3..(row + 1) * rw * 3]);
            }
        }
        Ok(out)
    }

    /// The warped face region of frames `start..start + count`: `[B, 3, rh, rw]`.
    pub fn render_region(
        &self,
        track: &MouthTrack,
        start: usize,
        count: usize,
    ) -> Result<Tensor, FarmError> {
        let (grid, mouth) = self.sampling(track, start, count)?;
        let size = (self.rig.size - 1) as f64;
        let normalised = grid.f_div_scalar(size / 2.0)?.f_sub_scalar(1.0)?;
        let source = self
            .crop
            .f_expand([count as i64, 3, self.rig.size, self.rig.size], false)?;
        let warped = source.f_grid_sampler(&normalised, 0, 1, true)?; // bilinear, border, corners
        self.paint_mouth(&warped, &mouth)?;
        Ok(warped)
    }

    /// Where each pixel of the region is sampled from in the still crop, `[B, rh, rw, 2]`
    /// (x, y in crop pixels), for frames `start..start + count`.
    pub fn sampling_grid(
        &self,
        track: &MouthTrack,
        start: usize,
        count: usize,
    ) -> Result<Tensor, FarmError> {
        Ok(self.sampling(track, start, count)?.0)
    }

    /// The sampling grid and where the mouth outline is (face heights) in each frame.
    fn sampling(
        &self,
        track: &MouthTrack,
        start: usize,
        count: usize,
    ) -> Result<(Tensor, Tensor), FarmError> {
        let b = count as i64;
        let n = self.rig.controls() as i64;
        let at = |v: &[f32], f: usize| {
            v.get(f.min(v.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0.0)
        };
        let mut params = Vec::with_capacity(count * PARAMS);
        let mut sway = Vec::with_capacity(count * 3);
        // The track's opening is the lips' gap (1: `OPEN_GAP` mouth widths), blended with
        // the photo's own gap by how much the mouth is at rest; a gap narrower than the
        // photo's seals its lips that much.
        let rest = self.rig.rest_opening / OPEN_GAP;
        for f in start..start + count {
            let blink = motion::blink(f, self.fps);
            let at_rest = at(&track.rest, f).clamp(0.0, 1.0);
            let gap = at_rest * rest + (1.0 - at_rest) * at(&track.open, f).max(0.0);
            let narrower = if rest > 0.0 {
                ((rest - gap) / rest).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let mut row = [0f32; PARAMS];
            row[OPEN] = (gap - rest).max(0.0);
            row[SEAL] = at(&track.seal, f).clamp(0.0, 1.0).max(narrower);
            row[WIDE] = at(&track.wide, f);
            row[ROUND] = at(&track.round, f);
            row[BLINK_A] = blink;
            row[BLINK_B] = blink;
            params.extend_from_slice(&row);
            let (roll, dx, dy) = motion::sway(f, self.fps);
            sway.extend_from_slice(&[roll, dx * self.rig.unit, dy * self.rig.unit]);
        }
        let params = f32_tensor(&params, &[b, PARAMS as i64], self.device)?;
        let moves = params.f_matmul(&self.basis)?.f_view([b, n, 2])?;
        let targets = self.sources.f_unsqueeze(0)?.f_add(&moves)?;
        let offsets = self.spline(&targets, &moves.f_neg()?)?; // [B, rh, rw, 2] pixels
        let sway = self.sway_offsets(&f32_tensor(&sway, &[b, 3], self.device)?)?;
        let total = offsets.f_add(&sway)?.f_mul(&self.feather)?;
        let mouth = self
            .mouth_sources
            .f_unsqueeze(0)?
            .f_add(&params.f_matmul(&self.mouth_basis)?.f_view([b, 4, 2])?)?;
        Ok((self.pixels.f_unsqueeze(0)?.f_add(&total)?, mouth))
    }

    /// The still crop as RGB24 bytes: what every frame shows outside the face region.
    pub fn still(&self) -> &[u8] {
        &self.still
    }

    /// The backward offsets (pixels) of the thin-plate spline through the controls.
    fn spline(&self, targets: &Tensor, values: &Tensor) -> Result<Tensor, FarmError> {
        let (b, n) = (targets.size()[0], targets.size()[1]);
        let opts = (Kind::Float, self.device);
        let kernel = |a: &Tensor, c: &Tensor| -> Result<Tensor, FarmError> {
            // U(r) = r^2 log r^2 between every point of a [B, P, 2] and of c [B, n, 2].
            let d2 = a
                .f_unsqueeze(2)?
                .f_sub(&c.f_unsqueeze(1)?)?
                .f_square()?
                .f_sum_dim_intlist(Some(&[3i64][..]), false, Kind::Float)?;
            Ok(d2.f_mul(&d2.f_clamp_min(1e-12)?.f_log()?)?)
        };
        let k = kernel(targets, targets)?.f_add(&self.smoothing)?;
        let ones = Tensor::f_ones([b, n, 1], opts)?;
        let p = Tensor::f_cat(&[&ones, targets], 2)?; // [B, n, 3]
        let top = Tensor::f_cat(&[&k, &p], 2)?;
        let bottom = Tensor::f_cat(
            &[&p.f_transpose(1, 2)?, &Tensor::f_zeros([b, 3, 3], opts)?],
            2,
        )?;
        let system = Tensor::f_cat(&[&top, &bottom], 1)?;
        let rhs = Tensor::f_cat(&[values, &Tensor::f_zeros([b, 3, 2], opts)?], 1)?;
        let solution = Tensor::f_linalg_solve(&system, &rhs, true)?;
        let w = solution.f_narrow(1, 0, n)?;
        let a = solution.f_narrow(1, n, 3)?;
        let g = self.coarse.f_unsqueeze(0)?.f_expand([b, -1, 2], false)?;
        let gp = Tensor::f_cat(&[&Tensor::f_ones([b, g.size()[1], 1], opts)?, &g], 2)?;
        let coarse = kernel(&g, targets)?
            .f_matmul(&w)?
            .f_add(&gp.f_matmul(&a)?)?; // [B, G, 2]
        let (gh, gw) = self.coarse_shape;
        let r = self.rig.region;
        let field = coarse
            .f_view([b, gh, gw, 2])?
            .f_permute([0, 3, 1, 2])?
            .f_upsample_bilinear2d([r.h, r.w], true, None, None)?
            .f_permute([0, 2, 3, 1])?;
        Ok(field.f_mul_scalar(f64::from(self.rig.unit))?)
    }

    /// Backward offsets (pixels) of a small rotation about the chin plus a shift.
    fn sway_offsets(&self, pose: &Tensor) -> Result<Tensor, FarmError> {
        let b = pose.size()[0];
        let r = self.rig.region;
        let pivot = [(r.x + r.w / 2) as f64, (r.y + r.h) as f64];
        let roll = pose.f_narrow(1, 0, 1)?.f_view([b, 1, 1])?;
        let shift_x = pose.f_narrow(1, 1, 1)?.f_view([b, 1, 1])?;
        let shift_y = pose.f_narrow(1, 2, 1)?.f_view([b, 1, 1])?;
        let x = self
            .pixels
            .f_select(2, 0)?
            .f_sub_scalar(pivot[0])?
            .f_unsqueeze(0)?
            .f_sub(&shift_x)?;
        let y = self
            .pixels
            .f_select(2, 1)?
            .f_sub_scalar(pivot[1])?
            .f_unsqueeze(0)?
            .f_sub(&shift_y)?;
        let (cos, sin) = (roll.f_cos()?, roll.f_sin()?);
        // Source of an output pixel: rotate back by the roll.
        let sx = x.f_mul(&cos)?.f_add(&y.f_mul(&sin)?)?;
        let sy = y.f_mul(&cos)?.f_sub(&x.f_mul(&sin)?)?;
        let ox = sx
            .f_add_scalar(pivot[0])?
            .f_sub(&self.pixels.f_select(2, 0)?.f_unsqueeze(0)?)?;
        let oy = sy
            .f_add_scalar(pivot[1])?
            .f_sub(&self.pixels.f_select(2, 1)?.f_unsqueeze(0)?)?;
        Ok(Tensor::f_stack(&[ox, oy], 3)?)
    }

    /// How much of each mouth-box pixel lies between the parted lips, `[B, mh, mw]` in
    /// [0, 1], for frames `start..start + count` (where the interior is painted).
    pub fn opening_mask(
        &self,
        track: &MouthTrack,
        start: usize,
        count: usize,
    ) -> Result<Tensor, FarmError> {
        let (_, mouth) = self.sampling(track, start, count)?;
        Ok(self.opening(&mouth)?.alpha)
    }

    /// The parted lips of each frame, from the mouth outline `[B, 4, 2]`, in mouth-box pixels.
    fn opening(&self, mouth: &Tensor) -> Result<Opening, FarmError> {
        let b = mouth.size()[0];
        let m = self.rig.mouth_box;
        let r = self.rig.region;
        let unit = f64::from(self.rig.unit);
        // Mouth points in mouth-box pixels: [B, 1, 1] each coordinate.
        let point = |i: usize, axis: i64| -> Result<Tensor, FarmError> {
            let c = f64::from(self.rig.centre[axis as usize]);
            let origin = if axis == 0 { r.x + m.x } else { r.y + m.y } as f64;
            Ok(mouth
                .f_select(1, i as i64)?
                .f_select(1, axis)?
                .f_mul_scalar(unit)?
                .f_add_scalar(c - origin)?
                .f_view([b, 1, 1])?)
        };
        let (lx, ly, rx, ry) = (point(0, 0)?, point(0, 1)?, point(1, 0)?, point(1, 1)?);
        let (tx, ty, bx, by) = (point(2, 0)?, point(2, 1)?, point(3, 0)?, point(3, 1)?);
        let cx = lx.f_add(&rx)?.f_div_scalar(2.0)?;
        let cy = ly.f_add(&ry)?.f_div_scalar(2.0)?;
        let dx = rx.f_sub(&lx)?;
        let dy = ry.f_sub(&ly)?;
        let half = dx
            .f_square()?
            .f_add(&dy.f_square()?)?
            .f_sqrt()?
            .f_div_scalar(2.0)?
            .f_clamp_min(1.0)?;
        let (ax, ay) = (
            dx.f_div(&half.f_mul_scalar(2.0)?)?,
            dy.f_div(&half.f_mul_scalar(2.0)?)?,
        );
        // Across-mouth coordinate u in [-1, 1] and down-the-face coordinate v in pixels.
        let across = |x: &Tensor, y: &Tensor| -> Result<(Tensor, Tensor), FarmError> {
            let (px, py) = (x.f_sub(&cx)?, y.f_sub(&cy)?);
            let u = px.f_mul(&ax)?.f_add(&py.f_mul(&ay)?)?.f_div(&half)?;
            let v = py.f_mul(&ax)?.f_sub(&px.f_mul(&ay)?)?;
            Ok((u, v))
        };
        let (_, v_top) = across(&tx, &ty)?;
        let (_, v_bottom) = across(&bx, &by)?;
        let opts = (Kind::Float, self.device);
        let xs = Tensor::f_arange(m.w, opts)?.f_view([1, 1, m.w])?;
        let ys = Tensor::f_arange(m.h, opts)?.f_view([1, m.h, 1])?;
        let (u, v) = across(&xs, &ys)?; // [B, mh, mw]
        let shape = u.f_square()?.f_neg()?.f_add_scalar(1.0)?.f_clamp_min(0.0)?;
        let top = v_top.f_mul(&shape)?;
        let bottom = v_bottom.f_mul(&shape)?;
        let inside = v.f_sub(&top)?.f_minimum(&bottom.f_sub(&v)?)?; // > 0 between the lips
        let gap = v_bottom.f_sub(&v_top)?;
        let opened = gap
            .f_sub_scalar(f64::from(self.rig.rest_gap))?
            .f_div_scalar(4.0)?
            .f_clamp(0.0, 1.0)?;
        let alpha = inside
            .f_div_scalar(1.5)?
            .f_clamp(0.0, 1.0)?
            .f_mul(&opened)?;
        Ok(Opening {
            alpha,
            u,
            v,
            top,
            gap,
        })
    }

    /// Paints the mouth interior between the parted lips, in place.
    fn paint_mouth(&self, warped: &Tensor, mouth: &Tensor) -> Result<(), FarmError> {
        let Opening {
            alpha,
            u,
            v,
            top,
            gap,
        } = self.opening(mouth)?;
        let m = self.rig.mouth_box;
        // Dark, a little red, darker towards the middle and the back.
        let depth = u.f_abs()?.f_mul_scalar(0.45)?.f_add_scalar(0.55)?;
        let mut interior = self.shade.f_mul(&depth.f_unsqueeze(1)?)?;
        // Upper teeth: a pale band under the upper lip (a fifth of the opening), fading to
        // the corners, shown once the lips are a few pixels apart.
        let below_lip = v.f_sub(&top)?.f_div(&gap.f_clamp_min(1.0)?)?;
        let band = below_lip
            .f_sub_scalar(0.2)?
            .f_div_scalar(-0.08)?
            .f_add_scalar(1.0)?
            .f_clamp(0.0, 1.0)?;
        let across_fade = u
            .f_abs()?
            .f_pow_tensor_scalar(4)?
            .f_neg()?
            .f_add_scalar(1.0)?
            .f_clamp_min(0.0)?;
        let showing = gap
            .f_sub_scalar(4.0)?
            .f_div_scalar(6.0)?
            .f_clamp(0.0, 1.0)?;
        let teeth = band
            .f_mul(&across_fade)?
            .f_mul(&showing)?
            .f_mul_scalar(0.85)?
            .f_unsqueeze(1)?;
        interior = interior
            .f_mul(&teeth.f_neg()?.f_add_scalar(1.0)?)?
            .f_add(&self.tooth.f_mul(&teeth)?)?;
        let mut area = warped.f_narrow(2, m.y, m.h)?.f_narrow(3, m.x, m.w)?;
        let alpha = alpha.f_unsqueeze(1)?;
        let painted = area
            .f_mul(&alpha.f_neg()?.f_add_scalar(1.0)?)?
            .f_add(&interior.f_mul(&alpha)?)?;
        area.f_copy_(&painted)?;
        Ok(())
    }
}

/// The parted lips of a batch of frames, in mouth-box pixels: the painted share `alpha`,
/// the across-mouth coordinate `u`, the down-the-face coordinate `v`, the upper lip's `v`
/// and the gap at the middle.
struct Opening {
    alpha: Tensor,
    u: Tensor,
    v: Tensor,
    top: Tensor,
    gap: Tensor,
}

/// The mouth's inside (the lips' colour, much darker) and the teeth (off-white, tinted as
/// much as the photo has colour: a black-and-white photo gets grey teeth and a grey mouth).
fn mouth_colours(still: &[u8], size: u32, lip_points: &[[f32; 2]]) -> ([f32; 3], [f32; 3]) {
    let side = size as i64;
    let mut sum = [0f32; 3];
    let mut n = 0f32;
    for p in lip_points {
        for dy in -1..=1 {
            for dx in -1..=1 {
                let (x, y) = (p[0].round() as i64 + dx, p[1].round() as i64 + dy);
                if (0..side).contains(&x) && (0..side).contains(&y) {
                    let i = ((y * side + x) * 3) as usize;
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += f32::from(still[i + c]) / 255.0;
                    }
                    n += 1.0;
                }
            }
        }
    }
    let lip = if n > 0.0 {
        sum.map(|s| s / n)
    } else {
        [0.6, 0.35, 0.32]
    };
    let max = lip.iter().cloned().fold(0.0, f32::max).max(1e-3);
    let min = lip.iter().cloned().fold(1.0, f32::min);
    let saturation = ((max - min) / max).clamp(0.0, 1.0);
    let shade = lip.map(|c| c * 0.32);
    let tint = [0.80f32, 0.76, 0.70];
    let tooth = [0, 1, 2].map(|c| 0.78 + (tint[c] - 0.78) * saturation.min(0.6) / 0.6);
    (shade, tooth)
}
