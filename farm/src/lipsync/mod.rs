//! The built-in lip-sync renderer: the photo's own pixels warped so the mouth follows the
//! speech (its phones when they are known, see `track`), in frames of the whole photo or of
//! a square around the face (`render::View`). Per frame, the rig's control points move with
//! the mouth parameters and blinks; a thin-plate spline turns them into a smooth displacement
//! field over the face region (solved in a batch, evaluated on a coarse grid and upsampled),
//! and `grid_sample` warps the face region only: everything else is the photo's pixels, and
//! displacements under a few hundredths of a pixel are dropped so the still parts stay sharp.
//! The head does not sway: turning it would smear the background beside it. Where the warp
//! samples the photo's own closed (or barely parted) lips, the mouth's inside is drawn:
//! found from where each pixel comes from, so it lies between the person's lips and never
//! over them (`inside`). One implementation on tensors serves CPU and CUDA.

pub mod inside;
pub mod motion;
pub mod mouth;
pub mod phones;
pub mod rig;
pub mod track;
pub mod visemes;

use crate::error::FarmError;
use crate::face::FaceData;
use crate::render::{to_rgb_bytes, View};
use image::RgbImage;
use inside::{Inside, Lips};
use mouth::MouthTrack;
use rig::{Rig, BLINK_A, BLINK_B, OPEN, OPEN_GAP, PARAMS, ROUND, SEAL, WIDE};
use tch::{Device, Kind, Tensor};

/// Cells of the coarse grid the spline is evaluated on, along the longer side.
const COARSE: i64 = 32;
/// Around the mouth the spline is evaluated on a fine grid, this many points across the
/// mouth's width (a coarse one cannot follow lips parting over a few pixels), and blended
/// into the coarse field over this share of the mouth box's border.
const FINE_ACROSS_MOUTH: f32 = 36.0;
const FINE_BLEND: f64 = 0.2;
/// Spline smoothing (in face heights squared): keeps the field calm between controls; the
/// controls that must be reached exactly get a trace of it.
const SMOOTHING: f64 = 1e-3;
const EXACT_SMOOTHING: f64 = 1e-6;
/// Width of the fade at the region's border, as a share of its shorter side.
const FEATHER: f64 = 0.14;
/// Displacements below this many pixels are dropped (fading in up to twice as much), so the
/// parts of the face that do not move are the photo's pixels, not a resampled copy.
const STILL_BELOW: f64 = 0.04;

/// A face ready to animate in one view on one device.
pub struct LipSync {
    rig: Rig,
    device: Device,
    fps: u32,
    /// `[n, n]` the spline's smoothing per control (on the diagonal).
    smoothing: Tensor,
    /// `[1, 3, H, W]` the still frame.
    still_frame: Tensor,
    /// The still frame as RGB24 bytes, the background of every frame.
    still: Vec<u8>,
    /// `[n, 2]` control sources and `[PARAMS, n * 2]` their motion, in face heights around
    /// the rig's centre.
    sources: Tensor,
    basis: Tensor,
    /// `[G, 2]` coarse grid points (face heights) and its shape.
    coarse: Tensor,
    coarse_shape: (i64, i64),
    /// `[F, 2]` fine grid points over the mouth box (face heights), its shape, and
    /// `[1, mh, mw, 1]` its weight against the coarse field.
    fine: Tensor,
    fine_shape: (i64, i64),
    fine_weight: Tensor,
    /// `[4, 2]` the mouth outline and `[PARAMS, 8]` its motion, like the controls.
    mouth_sources: Tensor,
    mouth_basis: Tensor,
    /// The mouth's inside: where the photo's lips meet, and how to draw what is behind them.
    inside: Inside,
    /// `[rh, rw, 2]` frame pixel coordinates of the region's pixels.
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
        view: View,
        fps: u32,
        device: Device,
    ) -> Result<Self, FarmError> {
        let frame = view.frame_tensor(image, device)?;
        let still = to_rgb_bytes(&frame)?;
        // The frames are drawn from the quantised still, so untouched pixels stay exact.
        let still_frame = frame.f_mul_scalar(255.0)?.f_round()?.f_div_scalar(255.0)?;
        let rig = Rig::new(face, &view);
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
        let lips = Lips::of(face, &view);
        let inside = Inside::new(&lips, &still, (view.width, view.height), &rig, device)?;
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
        let m = rig.mouth_box;
        let stride = (rig.mouth_width / FINE_ACROSS_MOUTH).max(1.0);
        let (fh, fw) = (
            ((m.h - 1) as f32 / stride).ceil().max(1.0) as i64 + 1,
            ((m.w - 1) as f32 / stride).ceil().max(1.0) as i64 + 1,
        );
        let mut fine = Vec::with_capacity((fh * fw * 2) as usize);
        for fy in 0..fh {
            for fx in 0..fw {
                let x = (r.x + m.x) as f32 + (m.w - 1) as f32 * fx as f32 / (fw - 1) as f32;
                let y = (r.y + m.y) as f32 + (m.h - 1) as f32 * fy as f32 / (fh - 1) as f32;
                fine.extend(norm([x, y]));
            }
        }
        let ramp = |len: i64| -> Result<Tensor, FarmError> {
            let idx = Tensor::f_arange(len, (Kind::Float, device))?;
            let edge = idx.f_minimum(&idx.f_neg()?.f_add_scalar((len - 1) as f64)?)?;
            Ok(edge
                .f_div_scalar((FINE_BLEND * len as f64).max(1.0))?
                .f_clamp(0.0, 1.0)?)
        };
        let fine_weight = ramp(m.h)?
            .f_view([1, m.h, 1, 1])?
            .f_mul(&ramp(m.w)?.f_view([1, 1, m.w, 1])?)?;
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
            fine: f32_tensor(&fine, &[fh * fw, 2], device)?,
            fine_shape: (fh, fw),
            fine_weight,
            mouth_sources: f32_tensor(&mouth_sources, &[4, 2], device)?,
            mouth_basis: f32_tensor(&mouth_basis, &[PARAMS as i64, 8], device)?,
            inside,
            rig,
            device,
            fps,
            still_frame,
            still,
            pixels,
            feather,
        })
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// The frames' size: (width, height).
    pub fn frame_size(&self) -> (u32, u32) {
        (self.rig.width as u32, self.rig.height as u32)
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
        let (w, rw, rh) = (self.rig.width as usize, r.w as usize, r.h as usize);
        let frame_len = self.still.len();
        let mut out = Vec::with_capacity(frame_len * count);
        for b in 0..count {
            out.extend_from_slice(&self.still);
            let frame = &mut out[b * frame_len..(b + 1) * frame_len];
            let src = &bytes[b * rh * rw * 3..(b + 1) * rh * rw * 3];
            for row in 0..rh {
                let dst = ((r.y as usize + row) * w + r.x as usize) * 3;
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
        let (grid, mouth, params) = self.sampling(track, start, count)?;
        let (w, h) = ((self.rig.width - 1) as f64, (self.rig.height - 1) as f64);
        let scale =
            Tensor::f_from_slice(&[2.0 / w as f32, 2.0 / h as f32])?.f_to_device(self.device)?;
        let normalised = grid.f_mul(&scale)?.f_sub_scalar(1.0)?;
        let source = self
            .still_frame
            .f_expand([count as i64, 3, self.rig.height, self.rig.width], false)?;
        let warped = source.f_grid_sampler(&normalised, 0, 1, true)?; // bilinear, border, corners
        self.inside.paint(&warped, &grid, &mouth, &params)?;
        Ok(warped)
    }

    /// Where each pixel of the region is sampled from in the still frame, `[B, rh, rw, 2]`
    /// (x, y in frame pixels), for frames `start..start + count`.
    pub fn sampling_grid(
        &self,
        track: &MouthTrack,
        start: usize,
        count: usize,
    ) -> Result<Tensor, FarmError> {
        Ok(self.sampling(track, start, count)?.0)
    }

    /// The sampling grid, where the mouth outline is (face heights) in each frame, and the
    /// frames' parameter rows `[B, PARAMS]`.
    fn sampling(
        &self,
        track: &MouthTrack,
        start: usize,
        count: usize,
    ) -> Result<(Tensor, Tensor, Tensor), FarmError> {
        let b = count as i64;
        let n = self.rig.controls() as i64;
        let at = |v: &[f32], f: usize| {
            v.get(f.min(v.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0.0)
        };
        let mut params = Vec::with_capacity(count * PARAMS);
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
        }
        let params = f32_tensor(&params, &[b, PARAMS as i64], self.device)?;
        let moves = params.f_matmul(&self.basis)?.f_view([b, n, 2])?;
        let targets = self.sources.f_unsqueeze(0)?.f_add(&moves)?;
        let offsets = self.spline(&targets, &moves.f_neg()?)?; // [B, rh, rw, 2] pixels
        let total = still_where_tiny(&offsets.f_mul(&self.feather)?)?;
        let mouth = self
            .mouth_sources
            .f_unsqueeze(0)?
            .f_add(&params.f_matmul(&self.mouth_basis)?.f_view([b, 4, 2])?)?;
        Ok((self.pixels.f_unsqueeze(0)?.f_add(&total)?, mouth, params))
    }

    /// The still frame as RGB24 bytes: what every frame shows outside the face region.
    pub fn still(&self) -> &[u8] {
        &self.still
    }

    /// The backward offsets (pixels) of the thin-plate spline through the controls.
    fn spline(&self, targets: &Tensor, values: &Tensor) -> Result<Tensor, FarmError> {
        let (b, n) = (targets.size()[0], targets.size()[1]);
        let opts = (Kind::Float, self.device);
        let kernel = |a: &Tensor, c: &Tensor| -> Result<Tensor, FarmError> {
            // U(r) = r^2 log r^2 between every point of a [B, P, 2] and of c [B, n, 2], with
            // |a - c|^2 = |a|^2 + |c|^2 - 2 a.c (a matrix product, no [B, P, n, 2] copy).
            let squares = |t: &Tensor| {
                t.f_square()?
                    .f_sum_dim_intlist(Some(&[2i64][..]), true, Kind::Float)
            };
            let d2 = squares(a)?
                .f_add(&squares(c)?.f_transpose(1, 2)?)?
                .f_sub(&a.f_matmul(&c.f_transpose(1, 2)?)?.f_mul_scalar(2.0)?)?
                .f_clamp_min(0.0)?;
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
        // The field on a grid of points `[P, 2]` shaped `(h, w)`, upsampled to `size`.
        let field_on = |grid: &Tensor,
                        (rows, cols): (i64, i64),
                        size: [i64; 2]|
         -> Result<Tensor, FarmError> {
            let g = grid.f_unsqueeze(0)?.f_expand([b, -1, 2], false)?;
            let gp = Tensor::f_cat(&[&Tensor::f_ones([b, g.size()[1], 1], opts)?, &g], 2)?;
            let values = kernel(&g, targets)?
                .f_matmul(&w)?
                .f_add(&gp.f_matmul(&a)?)?; // [B, P, 2]
            Ok(values
                .f_view([b, rows, cols, 2])?
                .f_permute([0, 3, 1, 2])?
                .f_upsample_bilinear2d(size, true, None, None)?
                .f_permute([0, 2, 3, 1])?)
        };
        let r = self.rig.region;
        let m = self.rig.mouth_box;
        let field = field_on(&self.coarse, self.coarse_shape, [r.h, r.w])?;
        let fine = field_on(&self.fine, self.fine_shape, [m.h, m.w])?;
        let mut around_mouth = field.f_narrow(1, m.y, m.h)?.f_narrow(2, m.x, m.w)?;
        let blended = around_mouth.f_add(&fine.f_sub(&around_mouth)?.f_mul(&self.fine_weight)?)?;
        around_mouth.f_copy_(&blended)?;
        Ok(field.f_mul_scalar(f64::from(self.rig.unit))?)
    }

    /// How much of each mouth-box pixel is the mouth's inside, `[B, mh, mw]` in [0, 1], for
    /// frames `start..start + count`.
    pub fn opening_mask(
        &self,
        track: &MouthTrack,
        start: usize,
        count: usize,
    ) -> Result<Tensor, FarmError> {
        let (grid, mouth, _) = self.sampling(track, start, count)?;
        self.inside.mask(&grid, &mouth)
    }
}

/// Offsets `[B, h, w, 2]` with the tiny ones dropped: zero below [`STILL_BELOW`] pixels,
/// whole above twice that, so nothing jumps.
fn still_where_tiny(offsets: &Tensor) -> Result<Tensor, FarmError> {
    let length = offsets
        .f_square()?
        .f_sum_dim_intlist(Some(&[3i64][..]), true, Kind::Float)?
        .f_sqrt()?;
    let keep = length
        .f_sub_scalar(STILL_BELOW)?
        .f_div_scalar(STILL_BELOW)?
        .f_clamp(0.0, 1.0)?;
    Ok(offsets.f_mul(&keep)?)
}
