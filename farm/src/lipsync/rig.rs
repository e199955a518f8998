//! The face rig, built once per photo: control points taken from the face mesh (in the
//! rendered frame's pixels) and, for each, how it moves per unit of each animation parameter
//! (mouth opening, stretch, rounding, each eye's blink, and the lips pressing shut when the
//! photo's are parted). Points that must stay put (nose, eye corners, brows, the region's
//! border) are controls that never move.

use crate::face::FaceData;
use crate::render::View;

/// Animation parameters, in this order, in every frame's parameter row.
pub const PARAMS: usize = 6;
pub const OPEN: usize = 0;
pub const WIDE: usize = 1;
pub const ROUND: usize = 2;
pub const BLINK_A: usize = 3;
pub const BLINK_B: usize = 4;
pub const SEAL: usize = 5;

/// How much the lips' middle parts at `OPEN` = 1, in mouth widths.
pub const OPEN_GAP: f32 = LIP_DROP + LIP_LIFT;
/// Below this gap between the photo's inner lips (pixels) they count as shut already, and
/// sealing moves nothing (the inner lips would be two controls a pixel apart).
const PARTED: f32 = 1.0;
/// Sealing leaves this share of the photo's gap: the lips meet without crossing.
const SEAL_LEFT: f32 = 0.1;
/// Of the closing, the share the lower lip (with the jaw) does; the upper lip the rest.
const SEAL_LOWER: f32 = 0.65;
/// Inner lower lip points with the inner upper lip point above each.
const INNER_PAIRS: [(usize, usize); 9] = [
    (95, 191),
    (88, 80),
    (178, 81),
    (87, 82),
    (14, 13),
    (317, 312),
    (402, 311),
    (318, 310),
    (324, 415),
];

/// How far things move at full strength, in mouth widths.
const LIP_DROP: f32 = 0.24;
const JAW_DROP: f32 = 0.20;
const LIP_LIFT: f32 = 0.04;
const STRETCH: f32 = 0.06;
const ROUNDING: f32 = 0.10;
/// Rounded lips push out and part a little, the middle most (an "oo" is taller than an "ee").
const PURSE: f32 = 0.02;

const LOWER_LIP: [usize; 18] = [
    146, 91, 181, 84, 17, 314, 405, 321, 375, 95, 88, 178, 87, 14, 317, 402, 318, 324,
];
/// The outer upper lip; its inner edge ([`INNER_PAIRS`]) moves with it and is reached
/// exactly, so the upper lip keeps its shape as the mouth opens (the spline is solved where
/// the controls go, so two pinned controls a pixel apart that part never fold it). The mouth's
/// inside is drawn where the warp samples the seam between the lips (see `inside`).
const UPPER_LIP: [usize; 9] = [185, 40, 39, 37, 0, 267, 269, 270, 409];
/// Chin and jaw points with the share of the jaw drop they follow.
const JAW: [(usize, f32); 15] = [
    (18, 0.92),
    (200, 0.88),
    (199, 0.85),
    (175, 0.82),
    (152, 0.8),
    (148, 0.7),
    (377, 0.7),
    (176, 0.55),
    (400, 0.55),
    (149, 0.38),
    (378, 0.38),
    (150, 0.2),
    (379, 0.2),
    (136, 0.08),
    (365, 0.08),
];
/// Upper lids with the matching lower-lid point, for each eye.
const LIDS_A: [(usize, usize); 5] = [(161, 163), (160, 144), (159, 145), (158, 153), (157, 154)];
const LIDS_B: [(usize, usize); 5] = [(388, 390), (387, 373), (386, 374), (385, 380), (384, 381)];
/// Points that never move.
const ANCHORS: [usize; 34] = [
    1, 4, 5, 6, 168, 197, 195, 2, 98, 327, 33, 133, 362, 263, 7, 163, 144, 145, 153, 154, 249, 390,
    373, 374, 380, 381, 70, 105, 107, 300, 334, 336, 234, 454,
];
/// Cheek and upper-face points that never move.
const STILL_FACE: [usize; 10] = [93, 323, 132, 361, 58, 288, 10, 151, 109, 338];

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
}

/// The points that outline the mouth opening (inner corners, middle of the inner upper and
/// lower lip), in this order, with how they move.
pub const MOUTH_OUTLINE: [usize; 4] = [78, 308, 13, 14];

/// Everything the warp needs about one face, in frame pixels.
#[derive(Debug, Clone)]
pub struct Rig {
    /// The frame's size.
    pub width: i64,
    pub height: i64,
    /// The part of the frame that moves; everything outside it is the photo untouched.
    pub region: Rect,
    /// The mouth's neighbourhood inside the region, where the interior is painted.
    pub mouth_box: Rect,
    /// Face height, the unit the spline works in.
    pub unit: f32,
    pub centre: [f32; 2],
    /// Control points where they are in the photo.
    pub sources: Vec<[f32; 2]>,
    /// Per control: displacement per unit of each parameter.
    pub basis: Vec<[[f32; 2]; PARAMS]>,
    /// Per control: whether the warp must reach it exactly (the inner lips, which opening
    /// parts and sealing brings together); the others are followed smoothly.
    pub exact: Vec<bool>,
    /// The mouth outline ([`MOUTH_OUTLINE`]) where it is in the photo and how it moves.
    pub mouth_sources: [[f32; 2]; 4],
    pub mouth_basis: [[[f32; 2]; PARAMS]; 4],
    /// Points in the middle of the lips' flesh, to take their colour from.
    pub lip_points: Vec<[f32; 2]>,
    /// The photo's own gap between the inner lips, in pixels and in mouth widths.
    pub rest_gap: f32,
    pub rest_opening: f32,
    /// The face's down direction (unit vector).
    pub down: [f32; 2],
    /// Corner to corner of the lips, in pixels.
    pub mouth_width: f32,
}

fn sub(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

fn len(a: [f32; 2]) -> f32 {
    (a[0] * a[0] + a[1] * a[1]).sqrt()
}

impl Rig {
    /// The rig of `face` as the frames of `view` show it.
    pub fn new(face: &FaceData, view: &View) -> Self {
        let at = |i: usize| view.to_frame(face.point(i));
        let size = (i64::from(view.width), i64::from(view.height));
        let eye_a = mean(&[at(33), at(133)]);
        let eye_b = mean(&[at(362), at(263)]);
        let across = sub(eye_b, eye_a);
        let across_len = len(across).max(1.0);
        let right = [across[0] / across_len, across[1] / across_len];
        let down = [-right[1], right[0]];
        let mouth_width = len(sub(at(291), at(61))).max(2.0);
        let mouth_centre = mean(&[at(61), at(291)]);

        let oval: Vec<[f32; 2]> = crate::face::FACE_OVAL.iter().map(|&i| at(i)).collect();
        let (mut x0, mut y0, mut x1, mut y1) = bounds(&oval);
        let unit = (y1 - y0).max(x1 - x0).max(8.0);
        let jaw_room = JAW_DROP * mouth_width * 1.6;
        x0 -= 0.10 * unit;
        x1 += 0.10 * unit;
        y0 -= 0.04 * unit;
        y1 += 0.10 * unit + jaw_room;
        let region = clamp_rect(x0, y0, x1, y1, size);

        let mut rig = Rig {
            width: size.0,
            height: size.1,
            region,
            mouth_box: region,
            unit,
            centre: [(x0 + x1) / 2.0, (y0 + y1) / 2.0],
            sources: Vec::new(),
            basis: Vec::new(),
            exact: Vec::new(),
            mouth_sources: MOUTH_OUTLINE.map(at),
            mouth_basis: [[[0.0; 2]; PARAMS]; 4],
            lip_points: [
                (0, 13),
                (17, 14),
                (37, 82),
                (267, 312),
                (84, 87),
                (314, 317),
            ]
            .iter()
            .map(|&(a, b)| mean(&[at(a), at(b)]))
            .collect(),
            rest_gap: len(sub(at(14), at(13))),
            rest_opening: len(sub(at(14), at(13))) / mouth_width,
            down,
            mouth_width,
        };
        // Parted lips in the photo: how far each inner lip point travels to meet its partner
        // (the gap along the face's down direction at that place).
        let parted = rig.rest_gap >= PARTED;
        let gap_at = |lower: usize, upper: usize| {
            let d = sub(at(lower), at(upper));
            ((d[0] * down[0] + d[1] * down[1]) * (1.0 - SEAL_LEFT)).max(0.0)
        };
        let seal_lower = |i: usize| -> [f32; 2] {
            if !parted {
                return [0.0; 2];
            }
            let (l, u) = INNER_PAIRS
                .iter()
                .min_by(|a, b| len(sub(at(a.0), at(i))).total_cmp(&len(sub(at(b.0), at(i)))))
                .copied()
                .unwrap_or((14, 13));
            [
                -down[0] * gap_at(l, u) * SEAL_LOWER,
                -down[1] * gap_at(l, u) * SEAL_LOWER,
            ]
        };
        let seal_upper = |i: usize| -> [f32; 2] {
            if !parted {
                return [0.0; 2];
            }
            let (l, u) = INNER_PAIRS
                .iter()
                .min_by(|a, b| len(sub(at(a.1), at(i))).total_cmp(&len(sub(at(b.1), at(i)))))
                .copied()
                .unwrap_or((14, 13));
            let k = gap_at(l, u) * (1.0 - SEAL_LOWER);
            [down[0] * k, down[1] * k]
        };
        let along = |p: [f32; 2]| {
            let d = sub(p, mouth_centre);
            (d[0] * right[0] + d[1] * right[1]) / (mouth_width / 2.0)
        };
        // Lips move most in the middle and least at the corners.
        let profile = |p: [f32; 2]| (1.0 - along(p).powi(2)).clamp(0.0, 1.0) * 0.75 + 0.25;
        let scaled = |v: [f32; 2], k: f32| [v[0] * k, v[1] * k];

        // Stretching and rounding scale the whole mouth about its centre along its axis,
        // so no lip point overtakes its neighbour.
        let sideways = |p: [f32; 2], k: f32| scaled(right, along(p) * k * mouth_width / 2.0);
        // Rounding: narrower, and each lip away from the other (`away`: 1 down, -1 up).
        let rounded = |p: [f32; 2], away: f32| {
            let pursed = scaled(down, away * PURSE * mouth_width * profile(p));
            let narrower = sideways(p, -ROUNDING);
            [narrower[0] + pursed[0], narrower[1] + pursed[1]]
        };
        for &i in &LOWER_LIP {
            let p = at(i);
            rig.push(
                p,
                &[
                    (OPEN, scaled(down, LIP_DROP * mouth_width * profile(p))),
                    (WIDE, sideways(p, STRETCH)),
                    (ROUND, rounded(p, 1.0)),
                    (SEAL, seal_lower(i)),
                ],
            );
        }
        let inner_upper = INNER_PAIRS.iter().map(|&(_, u)| u);
        for i in UPPER_LIP.into_iter().chain(inner_upper) {
            let p = at(i);
            rig.push(
                p,
                &[
                    (OPEN, scaled(down, -LIP_LIFT * mouth_width * profile(p))),
                    (WIDE, sideways(p, STRETCH)),
                    (ROUND, rounded(p, -1.0)),
                    (SEAL, seal_upper(i)),
                ],
            );
        }
        for i in [61, 78, 291, 308] {
            let p = at(i);
            rig.push(
                p,
                &[
                    (OPEN, scaled(down, 0.3 * LIP_DROP * mouth_width)),
                    (WIDE, sideways(p, STRETCH)),
                    (ROUND, sideways(p, -ROUNDING)),
                ],
            );
        }
        // The inner lips are reached exactly: smoothed, two controls a pixel apart that part
        // would both go half way, and the mouth would hardly open.
        let inner: Vec<[f32; 2]> = INNER_PAIRS
            .iter()
            .flat_map(|&(l, u)| [at(l), at(u)])
            .collect();
        rig.pin(&inner);
        let lower_middle = seal_lower(14);
        for &(i, share) in &JAW {
            rig.push(
                at(i),
                &[
                    (OPEN, scaled(down, share * JAW_DROP * mouth_width)),
                    (SEAL, scaled(lower_middle, share * 0.8)),
                ],
            );
        }
        for (lids, param) in [(&LIDS_A, BLINK_A), (&LIDS_B, BLINK_B)] {
            for &(upper, lower) in lids.iter() {
                let (u, l) = (at(upper), at(lower));
                rig.push(u, &[(param, scaled(sub(l, u), 0.9))]);
            }
        }
        for &i in ANCHORS.iter().chain(STILL_FACE.iter()) {
            rig.push(at(i), &[]);
        }
        // The region's border never moves, so the warp meets the untouched photo.
        let r = rig.region;
        let (rx0, ry0, rx1, ry1) = (
            r.x as f32,
            r.y as f32,
            (r.x + r.w - 1) as f32,
            (r.y + r.h - 1) as f32,
        );
        for k in 0..=6 {
            let f = k as f32 / 6.0;
            for p in [
                [rx0 + f * (rx1 - rx0), ry0],
                [rx0 + f * (rx1 - rx0), ry1],
                [rx0, ry0 + f * (ry1 - ry0)],
                [rx1, ry0 + f * (ry1 - ry0)],
            ] {
                rig.push(p, &[]);
            }
        }
        let lips = |p: [f32; 2], open: [f32; 2], round: [f32; 2], seal: [f32; 2]| {
            let mut b = [[0.0; 2]; PARAMS];
            b[OPEN] = open;
            b[WIDE] = sideways(p, STRETCH);
            b[ROUND] = round;
            b[SEAL] = seal;
            b
        };
        let [l, r_, t, b] = rig.mouth_sources;
        let corner_drop = scaled(down, 0.3 * LIP_DROP * mouth_width);
        rig.mouth_basis = [
            lips(l, corner_drop, sideways(l, -ROUNDING), [0.0; 2]),
            lips(r_, corner_drop, sideways(r_, -ROUNDING), [0.0; 2]),
            lips(
                t,
                scaled(down, -LIP_LIFT * mouth_width * profile(t)),
                rounded(t, -1.0),
                seal_upper(13),
            ),
            lips(
                b,
                scaled(down, LIP_DROP * mouth_width * profile(b)),
                rounded(b, 1.0),
                seal_lower(14),
            ),
        ];
        // The mouth box: the lips at their widest and lowest, plus a margin.
        let lips: Vec<[f32; 2]> = [61, 291, 0, 17, 78, 308]
            .iter()
            .map(|&i| at(i))
            .chain([sub(at(17), scaled(down, -(LIP_DROP + 0.1) * mouth_width))])
            .collect();
        let (mx0, my0, mx1, my1) = bounds(&lips);
        let pad = 0.12 * mouth_width;
        let mb = clamp_rect(
            mx0 - pad - STRETCH * mouth_width,
            my0 - pad,
            mx1 + pad + STRETCH * mouth_width,
            my1 + pad,
            size,
        );
        // In region coordinates, inside the region.
        let x = (mb.x - r.x).clamp(0, r.w - 1);
        let y = (mb.y - r.y).clamp(0, r.h - 1);
        rig.mouth_box = Rect {
            x,
            y,
            w: mb.w.min(r.w - x).max(1),
            h: mb.h.min(r.h - y).max(1),
        };
        rig
    }

    fn push(&mut self, p: [f32; 2], moves: &[(usize, [f32; 2])]) {
        // One control per place: a later duplicate of an earlier point is skipped.
        if self.sources.iter().any(|s| len(sub(*s, p)) < 0.5) {
            return;
        }
        let mut basis = [[0.0; 2]; PARAMS];
        for &(k, d) in moves {
            basis[k] = d;
        }
        self.sources.push(p);
        self.basis.push(basis);
        self.exact.push(false);
    }

    /// Marks the controls at the inner lips' points as followed exactly.
    fn pin(&mut self, points: &[[f32; 2]]) {
        for (source, exact) in self.sources.iter().zip(self.exact.iter_mut()) {
            if points.iter().any(|p| len(sub(*p, *source)) < 0.5) {
                *exact = true;
            }
        }
    }

    pub fn controls(&self) -> usize {
        self.sources.len()
    }
}

fn mean(points: &[[f32; 2]]) -> [f32; 2] {
    let n = points.len().max(1) as f32;
    let s = points
        .iter()
        .fold([0.0, 0.0], |a, p| [a[0] + p[0], a[1] + p[1]]);
    [s[0] / n, s[1] / n]
}

fn bounds(points: &[[f32; 2]]) -> (f32, f32, f32, f32) {
    points
        .iter()
        .fold((f32::MAX, f32::MAX, f32::MIN, f32::MIN), |b, p| {
            (b.0.min(p[0]), b.1.min(p[1]), b.2.max(p[0]), b.3.max(p[1]))
        })
}

/// The rectangle between the points, inside a `(width, height)` frame.
fn clamp_rect(x0: f32, y0: f32, x1: f32, y1: f32, (width, height): (i64, i64)) -> Rect {
    let x = (x0.floor() as i64).clamp(0, width - 2);
    let y = (y0.floor() as i64).clamp(0, height - 2);
    let x1 = (x1.ceil() as i64).clamp(x + 2, width);
    let y1 = (y1.ceil() as i64).clamp(y + 2, height);
    Rect {
        x,
        y,
        w: x1 - x,
        h: y1 - y,
    }
}
