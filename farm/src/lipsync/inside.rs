//! The mouth's inside, drawn between the lips as they part. Where it goes is found from where
//! each pixel of the warped frame comes from: a pixel that samples the photo's own seam
//! between the lips (their inner contours from the face mesh, or a pixel and a half when
//! they touch) shows the inside; a pixel that samples lip shows lip. So the person's lips
//! stay their lips, whatever the warp does to them. Inside: the upper teeth under the upper
//! lip (in its shadow, with faint gaps between them and a gum line on wide openings), the
//! lower teeth on wide vowels, a dark interior lighter in the middle, a hint of tongue at the
//! bottom; soft edges throughout. A photo whose lips are already apart keeps its own teeth:
//! the warp moves them and nothing is painted.

use crate::error::FarmError;
use crate::face::FaceData;
use crate::lipsync::rig::{Rect, Rig, WIDE};
use crate::render::View;
use tch::{Device, Tensor};

/// The photo's inner lips, upper and lower, from the left inner corner to the right one.
const INNER_UPPER: [usize; 11] = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308];
const INNER_LOWER: [usize; 11] = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308];
/// Touching lips are a seam this many pixels high (half of it each side).
const SEAM_HALF: f64 = 1.0;
/// The inside's edge fades over this many pixels.
const EDGE: f64 = 1.5;
/// Sizes in mouth widths: where the inside starts showing (over the photo's own gap) and is
/// whole, the upper and lower teeth's visible height, when teeth and the gums show, and a
/// photo gap from which its own teeth are kept (whole from twice it).
const OPENED_RAMP: f64 = 0.025;
const UPPER_TEETH: f64 = 0.07;
const LOWER_TEETH: f64 = 0.04;
const TEETH_FROM: f64 = 0.035;
const TEETH_RAMP: f64 = 0.03;
const GUMS_FROM: f64 = 0.11;
const GUM: f64 = 0.012;
const OWN_TEETH_FROM: f64 = 0.05;
/// Teeth show across this share of the opening's half width.
const TEETH_ACROSS: f64 = 0.75;

/// The photo's inner lips in frame pixels, along the mouth's axis.
#[derive(Debug, Clone)]
pub struct Lips {
    /// Middle of the inner corners, the axis (unit, corner to corner) and half its length.
    centre: [f32; 2],
    axis: [f32; 2],
    half: f32,
    /// The seam between the lips, down-the-face offset `a + b u + c u^2` across the mouth
    /// (`u` from -1 at the left corner to 1 at the right), fitted to both inner lips (the
    /// mesh's points wander a pixel either side of it).
    seam: [f64; 3],
    /// Half the photo's gap between the inner lips at the middle.
    half_gap: f64,
    /// Corner to corner of the outer lips, in pixels.
    mouth_width: f32,
}

impl Lips {
    pub fn of(face: &FaceData, view: &View) -> Self {
        let at = |i: usize| view.to_frame(face.point(i));
        let (l, r) = (at(78), at(308));
        let centre = [(l[0] + r[0]) / 2.0, (l[1] + r[1]) / 2.0];
        let (dx, dy) = (r[0] - l[0], r[1] - l[1]);
        let length = (dx * dx + dy * dy).sqrt().max(1.0);
        let axis = [dx / length, dy / length];
        let half = length / 2.0;
        let across = |p: [f32; 2]| {
            let (px, py) = (p[0] - centre[0], p[1] - centre[1]);
            (
                ((px * axis[0] + py * axis[1]) / half).clamp(-1.0, 1.0),
                py * axis[0] - px * axis[1],
            )
        };
        let points: Vec<(f64, f64)> = INNER_UPPER
            .iter()
            .chain(INNER_LOWER.iter())
            .map(|&i| {
                let (u, v) = across(at(i));
                (f64::from(u), f64::from(v))
            })
            .collect();
        let middle = |pairs: &[(usize, usize)]| {
            pairs
                .iter()
                .map(|&(l, u)| f64::from(across(at(l)).1 - across(at(u)).1))
                .sum::<f64>()
                / pairs.len() as f64
        };
        let (ml, mr) = (at(61), at(291));
        Self {
            centre,
            axis,
            half,
            seam: quadratic_fit(&points),
            half_gap: (middle(&[(87, 82), (14, 13), (317, 312)]) / 2.0).max(0.0),
            mouth_width: ((mr[0] - ml[0]).powi(2) + (mr[1] - ml[1]).powi(2))
                .sqrt()
                .max(2.0),
        }
    }
}

/// The least-squares `[a, b, c]` of `v = a + b u + c u^2` through `points` `(u, v)`.
fn quadratic_fit(points: &[(f64, f64)]) -> [f64; 3] {
    // Normal equations, solved by Cramer's rule (3 x 3).
    let mut m = [[0f64; 3]; 3];
    let mut r = [0f64; 3];
    for &(u, v) in points {
        let powers = [1.0, u, u * u];
        for (i, pi) in powers.iter().enumerate() {
            for (j, pj) in powers.iter().enumerate() {
                m[i][j] += pi * pj;
            }
            r[i] += pi * v;
        }
    }
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    if d.abs() < 1e-12 {
        let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len().max(1) as f64;
        return [mean, 0.0, 0.0];
    }
    [0, 1, 2].map(|k| {
        let mut mk = m;
        for (row, value) in mk.iter_mut().zip(r) {
            row[k] = value;
        }
        det(&mk) / d
    })
}

/// Everything the inside needs, on the device.
pub struct Inside {
    /// The mouth box, in region pixels.
    mouth_box: Rect,
    centre: [f64; 2],
    axis: [f64; 2],
    half: f64,
    /// The seam's curve and half the photo's gap (see [`Lips`]).
    seam: [f64; 3],
    half_gap: f64,
    mouth_width: f64,
    /// The photo's own gap at the middle, in pixels, and how much of its own teeth it keeps.
    rest_gap: f64,
    own_teeth: f64,
    /// The spline's unit, to turn the mouth outline into pixels.
    unit: f64,
    /// `[1, 3, 1, 1]` colours: the lips' and the teeth's.
    lip: Tensor,
    tooth: Tensor,
}

impl Inside {
    pub fn new(
        lips: &Lips,
        still: &[u8],
        (width, height): (u32, u32),
        rig: &Rig,
        device: Device,
    ) -> Result<Self, FarmError> {
        let (lip, tooth) = colours(still, (width, height), &rig.lip_points);
        let tensor = |v: &[f32], shape: &[i64]| -> Result<Tensor, FarmError> {
            Ok(Tensor::f_from_slice(v)?
                .f_view(shape)?
                .f_to_device(device)?)
        };
        let mw = f64::from(lips.mouth_width);
        let own =
            ((f64::from(rig.rest_gap) / mw - OWN_TEETH_FROM) / OWN_TEETH_FROM).clamp(0.0, 1.0);
        Ok(Self {
            mouth_box: rig.mouth_box,
            centre: lips.centre.map(f64::from),
            axis: lips.axis.map(f64::from),
            half: f64::from(lips.half),
            seam: lips.seam,
            half_gap: lips.half_gap,
            mouth_width: mw,
            rest_gap: f64::from(rig.rest_gap),
            own_teeth: own,
            unit: f64::from(rig.unit),
            lip: tensor(&lip, &[1, 3, 1, 1])?,
            tooth: tensor(&tooth, &[1, 3, 1, 1])?,
        })
    }

    /// Where the mouth box's pixels come from in the photo, across the seam.
    fn seam(&self, grid: &Tensor) -> Result<Seam, FarmError> {
        let m = self.mouth_box;
        let g = grid.f_narrow(1, m.y, m.h)?.f_narrow(2, m.x, m.w)?;
        let px = g.f_select(3, 0)?.f_sub_scalar(self.centre[0])?;
        let py = g.f_select(3, 1)?.f_sub_scalar(self.centre[1])?;
        let (ax, ay) = (self.axis[0], self.axis[1]);
        let u = px
            .f_mul_scalar(ax)?
            .f_add(&py.f_mul_scalar(ay)?)?
            .f_div_scalar(self.half)?;
        let v = py.f_mul_scalar(ax)?.f_sub(&px.f_mul_scalar(ay)?)?;
        let uc = u.f_clamp(-1.0, 1.0)?;
        let [a, b, c] = self.seam;
        let mid = uc
            .f_mul_scalar(c)?
            .f_add_scalar(b)?
            .f_mul(&uc)?
            .f_add_scalar(a)?;
        // The photo's gap, narrowing to the corners; touching lips: a seam a pixel and a
        // half high.
        let across = uc
            .f_square()?
            .f_neg()?
            .f_add_scalar(1.0)?
            .f_clamp_min(0.0)?;
        let seam = across.f_sqrt()?.f_mul_scalar(SEAM_HALF)?;
        let half = across
            .f_mul_scalar(self.half_gap)?
            .f_maximum(&seam)?
            .f_clamp_min(1e-3)?;
        // How far down the seam each pixel samples (0 at the upper lip, 1 at the lower); the
        // opening's height in each column of the frame (how many of its pixels sample the
        // seam); so how deep inside the opening each pixel is, in frame pixels.
        let t = v
            .f_sub(&mid)?
            .f_add(&half)?
            .f_div(&half.f_mul_scalar(2.0)?)?;
        let in_band = t
            .f_gt(0.0)?
            .f_logical_and(&t.f_lt(1.0)?)?
            .f_to_kind(tch::Kind::Float)?;
        let height = in_band
            .f_sum_dim_intlist(Some(&[1i64][..]), true, tch::Kind::Float)?
            .f_clamp_min(1.0)?;
        let below = in_band
            .f_cumsum(1, tch::Kind::Float)?
            .f_sub(&in_band.f_mul_scalar(0.5)?)?;
        let above = height.f_sub(&below)?;
        let inside = below.f_minimum(&above)?;
        // Only where the photo's seam is sampled (fading over a pixel of lip either side,
        // which the warp stretches most).
        let on_seam = half
            .f_sub(&v.f_sub(&mid)?.f_abs()?)?
            .f_add_scalar(1.0)?
            .f_clamp(0.0, 1.0)?;
        // And between the corners.
        let between = u
            .f_abs()?
            .f_neg()?
            .f_add_scalar(1.0)?
            .f_mul_scalar(20.0)?
            .f_clamp(0.0, 1.0)?;
        let alpha = inside
            .f_add_scalar(0.5)?
            .f_div_scalar(EDGE)?
            .f_clamp(0.0, 1.0)?
            .f_mul(&on_seam)?
            .f_mul(&between)?;
        Ok(Seam {
            alpha,
            below,
            above,
            across: uc,
            height,
        })
    }

    /// The lips' gap at the middle of each frame, in pixels `[B, 1, 1]`, from the mouth
    /// outline `[B, 4, 2]` (face heights).
    fn gap(&self, mouth: &Tensor) -> Result<Tensor, FarmError> {
        let b = mouth.size()[0];
        let d = mouth
            .f_select(1, 3)?
            .f_sub(&mouth.f_select(1, 2)?)?
            .f_mul_scalar(self.unit)?;
        // Along the face's down direction (across the mouth axis).
        let (ax, ay) = (self.axis[0], self.axis[1]);
        Ok(d.f_select(1, 1)?
            .f_mul_scalar(ax)?
            .f_sub(&d.f_select(1, 0)?.f_mul_scalar(ay)?)?
            .f_view([b, 1, 1])?)
    }

    /// How much of the inside shows in each frame `[B, 1, 1]`: none at the photo's own gap,
    /// all once the lips are a little further apart; none where the photo shows its teeth.
    fn opened(&self, gap: &Tensor) -> Result<Tensor, FarmError> {
        let ramp = (OPENED_RAMP * self.mouth_width).max(1.5);
        Ok(gap
            .f_sub_scalar(self.rest_gap)?
            .f_div_scalar(ramp)?
            .f_clamp(0.0, 1.0)?
            .f_mul_scalar(1.0 - self.own_teeth)?)
    }

    /// The share of each mouth-box pixel that is the inside, `[B, mh, mw]`.
    pub fn mask(&self, grid: &Tensor, mouth: &Tensor) -> Result<Tensor, FarmError> {
        let gap = self.gap(mouth)?;
        Ok(self.seam(grid)?.alpha.f_mul(&self.opened(&gap)?)?)
    }

    /// Draws the inside over the warped region `[B, 3, rh, rw]`, in place.
    pub fn paint(
        &self,
        warped: &Tensor,
        grid: &Tensor,
        mouth: &Tensor,
        params: &Tensor,
    ) -> Result<(), FarmError> {
        let b = warped.size()[0];
        let m = self.mouth_box;
        let gap = self.gap(mouth)?;
        let Seam {
            alpha,
            below,
            above,
            across: u,
            height: local,
        } = self.seam(grid)?;
        let down = below.f_div(&local)?; // 0 at the upper lip, 1 at the lower
        let alpha = alpha.f_mul(&self.opened(&gap)?)?;
        let mw = self.mouth_width;
        let ones = |t: &Tensor| t.f_ones_like();
        let ramp = |t: Tensor, from: f64, width: f64| -> Result<Tensor, FarmError> {
            Ok(t.f_sub_scalar(from)?
                .f_div_scalar(width)?
                .f_clamp(0.0, 1.0)?)
        };
        let middle = u.f_square()?.f_neg()?.f_add_scalar(1.0)?; // 1 in the middle, 0 at corners
        let pixel = |t: Tensor| t.f_unsqueeze(1); // [B, 1, mh, mw]

        // The dark inside, a little lighter in the middle, a tongue low in it.
        let mut colour = self
            .lip
            .f_mul(&pixel(middle.f_mul_scalar(0.12)?.f_add_scalar(0.14)?)?)?;
        let tongue = ramp(down.shallow_clone(), 0.5, 0.35)?
            .f_mul(&middle)?
            .f_mul(&ramp(gap.shallow_clone(), 0.03 * mw, 0.05 * mw)?)?
            .f_mul_scalar(0.6)?;
        colour = mix(&colour, &self.lip.f_mul_scalar(0.5)?, &pixel(tongue)?)?;

        // Upper teeth: from under the lip, their visible height or half the gap, faint gaps
        // between them, darker towards the corners; gums on the widest openings.
        let height = local.f_mul_scalar(0.5)?.f_clamp_max(UPPER_TEETH * mw)?;
        let teeth_show = ramp(gap.shallow_clone(), TEETH_FROM * mw, TEETH_RAMP * mw)?;
        let edge = height.f_sub(&below)?.f_add_scalar(0.5)?.f_clamp(0.0, 1.0)?;
        // Teeth show in the middle; towards the corners the mouth is dark.
        let across = u
            .f_abs()?
            .f_div_scalar(TEETH_ACROSS)?
            .f_pow_tensor_scalar(4)?
            .f_neg()?
            .f_add_scalar(1.0)?
            .f_clamp_min(0.0)?;
        let mut gaps = ones(&u)?;
        for k in [0.0, -0.3, 0.3] {
            let d = u.f_sub_scalar(k)?.f_div_scalar(0.025)?.f_square()?;
            gaps = gaps.f_mul(&d.f_neg()?.f_exp()?.f_mul_scalar(-0.1)?.f_add_scalar(1.0)?)?;
        }
        let lit = ramp(
            below.shallow_clone(),
            0.0,
            (0.35 * UPPER_TEETH * mw).max(1.0),
        )?
        .f_mul_scalar(0.3)?
        .f_add_scalar(0.62)?;
        let upper = edge
            .f_mul(&teeth_show)?
            .f_mul(&across)?
            .f_mul_scalar(0.92)?;
        let teeth_colour = self.tooth.f_mul(&pixel(lit.f_mul(&gaps)?)?)?;
        colour = mix(&colour, &teeth_colour, &pixel(upper.shallow_clone())?)?;
        let gum = ramp(gap.shallow_clone(), GUMS_FROM * mw, 0.03 * mw)?
            .f_mul(
                &below
                    .f_sub_scalar(GUM * mw)?
                    .f_neg()?
                    .f_add_scalar(0.5)?
                    .f_clamp(0.0, 1.0)?,
            )?
            .f_mul(&middle)?;
        colour = mix(&colour, &self.lip.f_mul_scalar(0.8)?, &pixel(gum)?)?;

        // Lower teeth on wide vowels, in the upper teeth's shadow.
        let wide = params
            .f_select(1, WIDE as i64)?
            .f_clamp(0.0, 1.0)?
            .f_view([b, 1, 1])?;
        let lower = wide
            .f_mul(&ramp(
                gap.shallow_clone(),
                (TEETH_FROM + 0.03) * mw,
                TEETH_RAMP * mw,
            )?)?
            .f_mul(
                &local
                    .f_mul_scalar(0.3)?
                    .f_clamp_max(LOWER_TEETH * mw)?
                    .f_sub(&above)?
                    .f_add_scalar(0.5)?
                    .f_clamp(0.0, 1.0)?,
            )?
            .f_mul(&across)?
            .f_mul(&gaps)?
            .f_mul_scalar(0.8)?;
        colour = mix(&colour, &self.tooth.f_mul_scalar(0.62)?, &pixel(lower)?)?;

        // The lips' shadow on what is right behind them.
        let shade = ramp(below, 0.0, 1.5)?
            .f_mul(&ramp(above, 0.0, 1.2)?)?
            .f_mul_scalar(0.25)?
            .f_add_scalar(0.75)?;
        colour = colour.f_mul(&pixel(shade)?)?;

        let mut area = warped.f_narrow(2, m.y, m.h)?.f_narrow(3, m.x, m.w)?;
        let painted = mix(&area, &colour, &pixel(alpha)?)?;
        area.f_copy_(&painted)?;
        Ok(())
    }
}

/// Where a frame's mouth-box pixels sample the photo's seam between the lips, `[B, mh, mw]`
/// each: the share of the pixel that is inside the opening, how many pixels under the upper
/// lip and over the lower lip it is, its across-mouth coordinate (-1 at the left corner, 1 at
/// the right) and the opening's height in its column (`[B, 1, mw]`).
struct Seam {
    alpha: Tensor,
    below: Tensor,
    above: Tensor,
    across: Tensor,
    height: Tensor,
}

/// `a` where `w` is 0, `b` where it is 1.
fn mix(a: &Tensor, b: &Tensor, w: &Tensor) -> Result<Tensor, FarmError> {
    Ok(a.f_add(&b.f_sub(a)?.f_mul(w)?)?)
}

/// The lips' colour (from the middle of their flesh) and the teeth's (off-white, tinted as
/// much as the photo has colour: a black-and-white photo gets grey teeth).
fn colours(
    still: &[u8],
    (width, height): (u32, u32),
    lip_points: &[[f32; 2]],
) -> ([f32; 3], [f32; 3]) {
    let (w, h) = (i64::from(width), i64::from(height));
    let mut sum = [0f32; 3];
    let mut n = 0f32;
    for p in lip_points {
        for dy in -1..=1 {
            for dx in -1..=1 {
                let (x, y) = (p[0].round() as i64 + dx, p[1].round() as i64 + dy);
                if (0..w).contains(&x) && (0..h).contains(&y) {
                    let i = ((y * w + x) * 3) as usize;
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += f32::from(still.get(i + c).copied().unwrap_or(0)) / 255.0;
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
    // Teeth in a mouth are in its shade: off-white, a little of the lips' warmth in them.
    let tint = [0.84f32, 0.77, 0.67];
    let grey = 0.76;
    let tooth = [0, 1, 2].map(|c| {
        let tinted = grey + (tint[c] - grey) * saturation.min(0.6) / 0.6;
        tinted * 0.9 + lip[c] * 0.1
    });
    (lip, tooth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seam_is_fitted_through_the_lips() {
        // Points on v = 1 + 0.5 u - 2 u^2, wandering half a pixel either side.
        let points: Vec<(f64, f64)> = (0..11)
            .map(|k| {
                let u = -1.0 + 0.2 * f64::from(k);
                let wander = if k % 2 == 0 { 0.5 } else { -0.5 };
                (u, 1.0 + 0.5 * u - 2.0 * u * u + wander)
            })
            .collect();
        let [a, b, c] = quadratic_fit(&points);
        assert!(
            (b - 0.5).abs() < 0.2 && (c + 2.0).abs() < 0.5,
            "{a} {b} {c}"
        );
        assert!((a - 1.0).abs() < 0.5, "{a}");
    }
}
