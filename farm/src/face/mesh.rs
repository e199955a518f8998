//! The MediaPipe face mesh (468 points with the inner and outer lips, eyes and jaw) run on
//! an upright 192x192 crop around a face, rotated so the eyes are level.

use crate::assets::Assets;
use crate::error::FarmError;
use crate::onnx;
use image::RgbImage;
use ort::session::Session;
use ort::value::Tensor;

const INPUT: usize = 192;
pub const POINTS: usize = 468;
/// A face is there when the mesh's own face score passes this.
const PRESENCE: f32 = 0.5;

/// A square region of the photo, possibly rotated: centre, side and angle (radians).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    pub cx: f32,
    pub cy: f32,
    pub side: f32,
    pub angle: f32,
}

impl Roi {
    /// Photo coordinates of a point given in crop pixels.
    fn to_photo(self, u: f32, v: f32) -> [f32; 2] {
        let s = self.side / INPUT as f32;
        let (dx, dy) = ((u - INPUT as f32 / 2.0) * s, (v - INPUT as f32 / 2.0) * s);
        let (sin, cos) = self.angle.sin_cos();
        [self.cx + dx * cos - dy * sin, self.cy + dx * sin + dy * cos]
    }
}

pub struct FaceMesh {
    session: Session,
}

/// Mesh points in photo pixels (`z` in the same scale) and the mesh's face score.
pub struct MeshResult {
    pub points: Vec<[f32; 3]>,
    pub presence: f32,
}

impl MeshResult {
    pub fn is_face(&self) -> bool {
        self.presence > PRESENCE
    }
}

impl FaceMesh {
    pub fn load(assets: &Assets) -> Result<Self, FarmError> {
        let path = assets.face_model("face_landmark")?;
        Ok(Self {
            session: onnx::session(assets, &path, onnx::default_threads())?,
        })
    }

    pub fn run(&mut self, image: &RgbImage, roi: Roi) -> Result<MeshResult, FarmError> {
        let model_error = |e: ort::Error| FarmError::Model(format!("face mesh: {e}"));
        let input = Tensor::from_array(([1usize, 3, INPUT, INPUT], sample_crop(image, roi)))
            .map_err(model_error)?;
        let outputs = self.session.run(ort::inputs![input]).map_err(model_error)?;
        let (_, raw) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(model_error)?;
        let (_, flag) = outputs[1]
            .try_extract_tensor::<f32>()
            .map_err(model_error)?;
        if raw.len() < POINTS * 3 {
            return Err(FarmError::Model(format!(
                "face mesh: {} outputs",
                raw.len()
            )));
        }
        let scale = roi.side / INPUT as f32;
        let points = raw
            .chunks_exact(3)
            .take(POINTS)
            .map(|p| {
                let [x, y] = roi.to_photo(p[0], p[1]);
                [x, y, p[2] * scale]
            })
            .collect();
        let presence = 1.0 / (1.0 + (-flag.first().copied().unwrap_or(-10.0)).exp());
        Ok(MeshResult { points, presence })
    }
}

/// The ROI as a `[3, 192, 192]` planar RGB crop in [0, 1], bilinear, black outside the photo.
fn sample_crop(image: &RgbImage, roi: Roi) -> Vec<f32> {
    let mut out = vec![0f32; 3 * INPUT * INPUT];
    let (w, h) = (image.width() as i64, image.height() as i64);
    let pixel = |x: i64, y: i64, c: usize| -> f32 {
        if x < 0 || y < 0 || x >= w || y >= h {
            0.0
        } else {
            f32::from(image.get_pixel(x as u32, y as u32).0[c]) / 255.0
        }
    };
    for v in 0..INPUT {
        for u in 0..INPUT {
            let [sx, sy] = roi.to_photo(u as f32 + 0.5, v as f32 + 0.5);
            let (sx, sy) = (sx - 0.5, sy - 0.5);
            let (x0, y0) = (sx.floor() as i64, sy.floor() as i64);
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            for c in 0..3 {
                let top = pixel(x0, y0, c) * (1.0 - fx) + pixel(x0 + 1, y0, c) * fx;
                let bottom = pixel(x0, y0 + 1, c) * (1.0 - fx) + pixel(x0 + 1, y0 + 1, c) * fx;
                out[c * INPUT * INPUT + v * INPUT + u] = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roi_maps_crop_centre_and_corners() {
        let roi = Roi {
            cx: 100.0,
            cy: 50.0,
            side: 96.0,
            angle: 0.0,
        };
        assert_eq!(roi.to_photo(96.0, 96.0), [100.0, 50.0]);
        assert_eq!(roi.to_photo(0.0, 0.0), [52.0, 2.0]);
        let turned = Roi {
            angle: std::f32::consts::FRAC_PI_2,
            ..roi
        };
        let [x, y] = turned.to_photo(192.0, 96.0);
        assert!(
            (x - 100.0).abs() < 1e-3 && (y - 98.0).abs() < 1e-3,
            "{x} {y}"
        );
    }
}
