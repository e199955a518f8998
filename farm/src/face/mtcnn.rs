//! Face detection with MTCNN (the three cascaded networks P, R and O as ONNX, Keras layout:
//! images are fed x-major, `[N, width, height, 3]`, pixels scaled to about [-1, 1]).

use crate::assets::Assets;
use crate::error::FarmError;
use crate::onnx;
use image::imageops::{self, FilterType};
use image::RgbImage;
use ort::session::Session;
use ort::value::Tensor;

/// A detected face: its box, confidence and five points (eyes, nose, mouth corners).
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// `[x1, y1, x2, y2]` in pixels.
    pub bbox: [f32; 4],
    pub score: f32,
    /// Left eye, right eye (as seen in the image), nose, left and right mouth corner.
    pub points: [[f32; 2]; 5],
}

impl Detection {
    pub fn area(&self) -> f32 {
        (self.bbox[2] - self.bbox[0]).max(0.0) * (self.bbox[3] - self.bbox[1]).max(0.0)
    }
}

const MIN_FACE: f32 = 20.0;
const SCALE_FACTOR: f32 = 0.709;
const THRESHOLDS: [f32; 3] = [0.6, 0.7, 0.7];

/// The three networks.
pub struct Mtcnn {
    pnet: Session,
    rnet: Session,
    onet: Session,
}

/// A candidate box during the cascade: `[x1, y1, x2, y2]`, score, regression offsets.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    b: [f32; 4],
    score: f32,
    reg: [f32; 4],
}

fn model_error(e: ort::Error) -> FarmError {
    FarmError::Model(format!("mtcnn: {e}"))
}

impl Mtcnn {
    pub fn load(assets: &Assets) -> Result<Self, FarmError> {
        let threads = onnx::default_threads();
        Ok(Self {
            pnet: onnx::session(assets, &assets.face_model("pnet")?, threads)?,
            rnet: onnx::session(assets, &assets.face_model("rnet")?, threads)?,
            onet: onnx::session(assets, &assets.face_model("onet")?, threads)?,
        })
    }

    /// All faces in the image, most confident first.
    pub fn detect(&mut self, image: &RgbImage) -> Result<Vec<Detection>, FarmError> {
        let boxes = self.stage1(image)?;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let boxes = self.stage2(image, boxes)?;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        self.stage3(image, boxes)
    }

    fn stage1(&mut self, image: &RgbImage) -> Result<Vec<Candidate>, FarmError> {
        let (w, h) = image.dimensions();
        let m = 12.0 / MIN_FACE;
        let mut min_layer = w.min(h) as f32 * m;
        let mut scales = Vec::new();
        let mut scale = m;
        while min_layer >= 12.0 {
            scales.push(scale);
            scale *= SCALE_FACTOR;
            min_layer *= SCALE_FACTOR;
        }
        let mut all = Vec::new();
        for scale in scales {
            let sw = (w as f32 * scale).ceil() as u32;
            let sh = (h as f32 * scale).ceil() as u32;
            let scaled = imageops::resize(image, sw, sh, FilterType::Triangle);
            let input = x_major_tensor(&[scaled])?;
            let outputs = self.pnet.run(ort::inputs![input]).map_err(model_error)?;
            let (reg_shape, reg) = outputs[0]
                .try_extract_tensor::<f32>()
                .map_err(model_error)?;
            let (_, prob) = outputs[1]
                .try_extract_tensor::<f32>()
                .map_err(model_error)?;
            // Output layout [1, A (over x), B (over y), C].
            let (a, b) = (reg_shape[1] as usize, reg_shape[2] as usize);
            let mut found = Vec::new();
            for i in 0..a {
                for j in 0..b {
                    let cell = i * b + j;
                    let score = prob[cell * 2 + 1];
                    if score < THRESHOLDS[0] {
                        continue;
                    }
                    let (x, y) = (i as f32, j as f32);
                    found.push(Candidate {
                        b: [
                            ((2.0 * x + 1.0) / scale).trunc(),
                            ((2.0 * y + 1.0) / scale).trunc(),
                            ((2.0 * x + 12.0) / scale).trunc(),
                            ((2.0 * y + 12.0) / scale).trunc(),
                        ],
                        score,
                        reg: [
                            reg[cell * 4],
                            reg[cell * 4 + 1],
                            reg[cell * 4 + 2],
                            reg[cell * 4 + 3],
                        ],
                    });
                }
            }
            all.extend(nms(found, 0.5, Overlap::Union));
        }
        let mut boxes = nms(all, 0.7, Overlap::Union);
        for c in &mut boxes {
            let (rw, rh) = (c.b[2] - c.b[0], c.b[3] - c.b[1]);
            c.b = [
                c.b[0] + c.reg[0] * rw,
                c.b[1] + c.reg[1] * rh,
                c.b[2] + c.reg[2] * rw,
                c.b[3] + c.reg[3] * rh,
            ];
            square(&mut c.b);
            c.b = c.b.map(f32::trunc);
        }
        Ok(boxes)
    }

    fn stage2(
        &mut self,
        image: &RgbImage,
        boxes: Vec<Candidate>,
    ) -> Result<Vec<Candidate>, FarmError> {
        let crops: Vec<RgbImage> = boxes.iter().map(|c| crop_resized(image, c.b, 24)).collect();
        let input = x_major_tensor(&crops)?;
        let outputs = self.rnet.run(ort::inputs![input]).map_err(model_error)?;
        let (_, reg) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(model_error)?;
        let (_, prob) = outputs[1]
            .try_extract_tensor::<f32>()
            .map_err(model_error)?;
        let kept: Vec<Candidate> = boxes
            .iter()
            .enumerate()
            .filter(|(k, _)| prob[k * 2 + 1] > THRESHOLDS[1])
            .map(|(k, c)| Candidate {
                b: c.b,
                score: prob[k * 2 + 1],
                reg: [reg[k * 4], reg[k * 4 + 1], reg[k * 4 + 2], reg[k * 4 + 3]],
            })
            .collect();
        let mut kept = nms(kept, 0.7, Overlap::Union);
        for c in &mut kept {
            regress(&mut c.b, c.reg);
            square(&mut c.b);
        }
        Ok(kept)
    }

    fn stage3(
        &mut self,
        image: &RgbImage,
        boxes: Vec<Candidate>,
    ) -> Result<Vec<Detection>, FarmError> {
        let boxes: Vec<Candidate> = boxes
            .into_iter()
            .map(|c| Candidate {
                b: c.b.map(f32::trunc),
                ..c
            })
            .collect();
        let crops: Vec<RgbImage> = boxes.iter().map(|c| crop_resized(image, c.b, 48)).collect();
        let input = x_major_tensor(&crops)?;
        let outputs = self.onet.run(ort::inputs![input]).map_err(model_error)?;
        let (_, reg) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(model_error)?;
        let (_, pts) = outputs[1]
            .try_extract_tensor::<f32>()
            .map_err(model_error)?;
        let (_, prob) = outputs[2]
            .try_extract_tensor::<f32>()
            .map_err(model_error)?;
        let mut found = Vec::new();
        for (k, c) in boxes.iter().enumerate() {
            let score = prob[k * 2 + 1];
            if score <= THRESHOLDS[2] {
                continue;
            }
            let w = c.b[2] - c.b[0] + 1.0;
            let h = c.b[3] - c.b[1] + 1.0;
            let mut points = [[0f32; 2]; 5];
            for (p, point) in points.iter_mut().enumerate() {
                *point = [
                    w * pts[k * 10 + p] + c.b[0] - 1.0,
                    h * pts[k * 10 + 5 + p] + c.b[1] - 1.0,
                ];
            }
            let mut b = c.b;
            regress(
                &mut b,
                [reg[k * 4], reg[k * 4 + 1], reg[k * 4 + 2], reg[k * 4 + 3]],
            );
            found.push((
                Candidate {
                    b,
                    score,
                    reg: [0.0; 4],
                },
                points,
            ));
        }
        let kept = nms_indices(
            &found.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
            0.7,
            Overlap::Min,
        );
        Ok(kept
            .into_iter()
            .map(|k| {
                let (c, points) = found[k];
                Detection {
                    bbox: c.b,
                    score: c.score,
                    points,
                }
            })
            .collect())
    }
}

/// Images of equal size as one `[N, width, height, 3]` tensor scaled to about [-1, 1].
fn x_major_tensor(images: &[RgbImage]) -> Result<Tensor<f32>, FarmError> {
    let (w, h) = images.first().map_or((0, 0), |i| i.dimensions());
    let mut data = Vec::with_capacity(images.len() * (w * h * 3) as usize);
    for img in images {
        for x in 0..w {
            for y in 0..h {
                let p = img.get_pixel(x, y).0;
                data.extend(p.iter().map(|&v| (f32::from(v) - 127.5) * 0.0078125));
            }
        }
    }
    Tensor::from_array(([images.len(), w as usize, h as usize, 3], data)).map_err(model_error)
}

/// The box's pixels (MTCNN's 1-based convention, zero outside the image) resized to `side`.
fn crop_resized(image: &RgbImage, b: [f32; 4], side: u32) -> RgbImage {
    let (iw, ih) = (image.width() as i64, image.height() as i64);
    let (x1, y1) = (b[0] as i64, b[1] as i64);
    let tw = ((b[2] - b[0] + 1.0) as i64).clamp(1, 4096);
    let th = ((b[3] - b[1] + 1.0) as i64).clamp(1, 4096);
    let mut tmp = RgbImage::new(tw as u32, th as u32);
    for r in 0..th {
        let sy = y1 - 1 + r;
        if !(0..ih).contains(&sy) {
            continue;
        }
        for c in 0..tw {
            let sx = x1 - 1 + c;
            if (0..iw).contains(&sx) {
                tmp.put_pixel(c as u32, r as u32, *image.get_pixel(sx as u32, sy as u32));
            }
        }
    }
    imageops::resize(&tmp, side, side, FilterType::Triangle)
}

fn regress(b: &mut [f32; 4], reg: [f32; 4]) {
    let w = b[2] - b[0] + 1.0;
    let h = b[3] - b[1] + 1.0;
    *b = [
        b[0] + reg[0] * w,
        b[1] + reg[1] * h,
        b[2] + reg[2] * w,
        b[3] + reg[3] * h,
    ];
}

/// Makes a box square around its centre, on its longer side.
fn square(b: &mut [f32; 4]) {
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    let side = w.max(h);
    b[0] += w * 0.5 - side * 0.5;
    b[1] += h * 0.5 - side * 0.5;
    b[2] = b[0] + side;
    b[3] = b[1] + side;
}

#[derive(Clone, Copy)]
enum Overlap {
    Union,
    Min,
}

fn nms(boxes: Vec<Candidate>, threshold: f32, overlap: Overlap) -> Vec<Candidate> {
    nms_indices(&boxes, threshold, overlap)
        .into_iter()
        .map(|k| boxes[k])
        .collect()
}

/// Non-maximum suppression: indices kept, best score first.
fn nms_indices(boxes: &[Candidate], threshold: f32, overlap: Overlap) -> Vec<usize> {
    let area = |b: &[f32; 4]| (b[2] - b[0] + 1.0) * (b[3] - b[1] + 1.0);
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&a, &b| boxes[b].score.total_cmp(&boxes[a].score));
    let mut keep = Vec::new();
    while let Some((&i, rest)) = order.split_first() {
        keep.push(i);
        let bi = &boxes[i].b;
        order = rest
            .iter()
            .copied()
            .filter(|&j| {
                let bj = &boxes[j].b;
                let w = (bi[2].min(bj[2]) - bi[0].max(bj[0]) + 1.0).max(0.0);
                let h = (bi[3].min(bj[3]) - bi[1].max(bj[1]) + 1.0).max(0.0);
                let inter = w * h;
                let o = match overlap {
                    Overlap::Union => inter / (area(bi) + area(bj) - inter),
                    Overlap::Min => inter / area(bi).min(area(bj)),
                };
                o <= threshold
            })
            .collect();
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(b: [f32; 4], score: f32) -> Candidate {
        Candidate {
            b,
            score,
            reg: [0.0; 4],
        }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let boxes = vec![
            cand([0.0, 0.0, 10.0, 10.0], 0.8),
            cand([1.0, 1.0, 11.0, 11.0], 0.9),
            cand([50.0, 50.0, 60.0, 60.0], 0.7),
        ];
        assert_eq!(nms_indices(&boxes, 0.5, Overlap::Union), vec![1, 2]);
    }

    #[test]
    fn square_keeps_the_centre() {
        let mut b = [10.0, 20.0, 30.0, 60.0];
        square(&mut b);
        assert_eq!(b, [0.0, 20.0, 40.0, 60.0]);
    }
}
