//! The face stage: find the faces in a photo (MTCNN), take the largest, and place the
//! 468-point mesh on it. The result is stored once per photo as `face.json`.

pub mod mesh;
pub mod mtcnn;

use crate::assets::Assets;
use crate::error::FarmError;
use image::imageops::{self, FilterType};
use image::RgbImage;
use mesh::{FaceMesh, Roi};
use mtcnn::{Detection, Mtcnn};
use serde::{Deserialize, Serialize};
use spinbot_core::InputError;

/// Outer lip contour, mesh indices, clockwise from the left corner.
pub const LIPS_OUTER: [usize; 20] = [
    61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146,
];
/// Inner lip contour, mesh indices, clockwise from the left corner.
pub const LIPS_INNER: [usize; 20] = [
    78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95,
];
/// Middle of the upper and lower inner lip.
pub const INNER_LIP_TOP: usize = 13;
pub const INNER_LIP_BOTTOM: usize = 14;
/// Mouth corners.
pub const MOUTH_LEFT: usize = 61;
pub const MOUTH_RIGHT: usize = 291;
/// Eye contours (the eye on the image's left, then the right).
pub const EYE_LEFT: [usize; 16] = [
    33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
];
pub const EYE_RIGHT: [usize; 16] = [
    263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466,
];
/// The face outline from the forehead round the jaw.
pub const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];
/// Chin tip.
pub const CHIN: usize = 152;

/// One photo's face, in photo pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceData {
    pub image_width: u32,
    pub image_height: u32,
    /// How many faces the detector found; the largest is the one described.
    pub faces_found: usize,
    /// Detector box `[x1, y1, x2, y2]` and confidence.
    pub bbox: [f32; 4],
    pub score: f32,
    /// Detector points: eyes, nose, mouth corners.
    pub keypoints: [[f32; 2]; 5],
    /// The mesh's face score (0..1).
    pub presence: f32,
    /// The 468 mesh points `[x, y, z]`.
    pub landmarks: Vec<[f32; 3]>,
}

impl FaceData {
    pub fn point(&self, index: usize) -> [f32; 2] {
        let p = self.landmarks.get(index).copied().unwrap_or_default();
        [p[0], p[1]]
    }

    /// Bounding box of the mesh `[x1, y1, x2, y2]`.
    pub fn mesh_box(&self) -> [f32; 4] {
        bounds(self.landmarks.iter().map(|p| [p[0], p[1]]))
    }

    /// Distance between the middles of the inner lips.
    pub fn inner_lip_gap(&self) -> f32 {
        distance(self.point(INNER_LIP_TOP), self.point(INNER_LIP_BOTTOM))
    }

    /// Distance between the mouth corners.
    pub fn mouth_width(&self) -> f32 {
        distance(self.point(MOUTH_LEFT), self.point(MOUTH_RIGHT))
    }
}

fn distance(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

fn bounds(points: impl Iterator<Item = [f32; 2]>) -> [f32; 4] {
    points.fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |b, p| {
        [
            b[0].min(p[0]),
            b[1].min(p[1]),
            b[2].max(p[0]),
            b[3].max(p[1]),
        ]
    })
}

/// Longest side of the image the detector looks at; faces in chat photos are large.
const DETECT_SIDE: u32 = 1024;
/// The mesh wants the face with this much margin around the detector box.
const ROI_SCALE: f32 = 1.5;

/// The detector and the mesh, loaded once.
pub struct FaceAnalyzer {
    detector: Mtcnn,
    mesh: FaceMesh,
}

impl FaceAnalyzer {
    pub fn load(assets: &Assets) -> Result<Self, FarmError> {
        Ok(Self {
            detector: Mtcnn::load(assets)?,
            mesh: FaceMesh::load(assets)?,
        })
    }

    /// Every face the detector finds, in photo pixels, largest first.
    pub fn detect(&mut self, image: &RgbImage) -> Result<Vec<Detection>, FarmError> {
        let (w, h) = image.dimensions();
        let longest = w.max(h);
        let mut found = if longest > DETECT_SIDE {
            let s = DETECT_SIDE as f32 / longest as f32;
            let small = imageops::resize(
                image,
                ((w as f32 * s).round() as u32).max(1),
                ((h as f32 * s).round() as u32).max(1),
                FilterType::Triangle,
            );
            let mut found = self.detector.detect(&small)?;
            for d in &mut found {
                d.bbox = d.bbox.map(|v| v / s);
                d.points = d.points.map(|p| [p[0] / s, p[1] / s]);
            }
            found
        } else {
            self.detector.detect(image)?
        };
        found.sort_by(|a, b| b.area().total_cmp(&a.area()));
        Ok(found)
    }

    /// The largest face with its mesh, or "no face".
    pub fn analyse(&mut self, image: &RgbImage) -> Result<FaceData, FarmError> {
        let found = self.detect(image)?;
        for d in &found {
            let [le, re] = [d.points[0], d.points[1]];
            let side = (d.bbox[2] - d.bbox[0]).max(d.bbox[3] - d.bbox[1]) * ROI_SCALE;
            let roi = Roi {
                cx: (d.bbox[0] + d.bbox[2]) / 2.0,
                cy: (d.bbox[1] + d.bbox[3]) / 2.0,
                side,
                angle: (re[1] - le[1]).atan2(re[0] - le[0]),
            };
            let first = self.mesh.run(image, roi)?;
            if !first.is_face() {
                continue;
            }
            // A second pass on the region the first mesh outlines, as MediaPipe tracks it.
            let refined = self.mesh.run(image, roi_from_points(&first.points))?;
            let best = if refined.is_face() { refined } else { first };
            return Ok(FaceData {
                image_width: image.width(),
                image_height: image.height(),
                faces_found: found.len(),
                bbox: d.bbox,
                score: d.score,
                keypoints: d.points,
                presence: best.presence,
                landmarks: best.points,
            });
        }
        Err(InputError::NoFace.into())
    }
}

impl FaceAnalyzer {
    /// The face in the next frame of a video, following `previous` with the mesh alone (as
    /// MediaPipe tracks a face): no detection, so it is fast enough to run on every frame.
    pub fn track(&mut self, image: &RgbImage, previous: &FaceData) -> Result<FaceData, FarmError> {
        let found = self.mesh.run(image, roi_from_points(&previous.landmarks))?;
        if !found.is_face() {
            return Err(InputError::NoFace.into());
        }
        Ok(FaceData {
            image_width: image.width(),
            image_height: image.height(),
            presence: found.presence,
            landmarks: found.points,
            ..previous.clone()
        })
    }
}

/// The mesh's region from its own points: level eyes, 1.5 times the outline.
fn roi_from_points(points: &[[f32; 3]]) -> Roi {
    let at = |i: usize| points.get(i).map_or([0.0, 0.0], |p| [p[0], p[1]]);
    let (le, re) = (at(33), at(263));
    let angle = (re[1] - le[1]).atan2(re[0] - le[0]);
    let b = bounds(points.iter().map(|p| [p[0], p[1]]));
    let (cx, cy) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    // The outline's extent along the face's own axes.
    let (sin, cos) = angle.sin_cos();
    let (mut w, mut h) = (0f32, 0f32);
    for p in points {
        let (dx, dy) = (p[0] - cx, p[1] - cy);
        w = w.max((dx * cos + dy * sin).abs() * 2.0);
        h = h.max((-dx * sin + dy * cos).abs() * 2.0);
    }
    Roi {
        cx,
        cy,
        side: w.max(h) * ROI_SCALE,
        angle,
    }
}
