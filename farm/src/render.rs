//! The frames of a video: the face-centred square crop of the photo at the rendered size,
//! optionally upscaled, as tensors on the chosen device. In this version every frame is
//! the still crop; the lip-sync renderer animates it.

use crate::error::FarmError;
use crate::face::FaceData;
use image::RgbImage;
use tch::{Device, Kind, Tensor};

/// How much of the photo around the face the square crop shows, in face heights.
const CROP_FACE_HEIGHTS: f32 = 2.2;
/// Where the face centre sits in the crop, from its top (a little above the middle).
const FACE_CENTRE_FROM_TOP: f32 = 0.45;

/// A square window of the photo, in whole photo pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropWindow {
    pub x: u32,
    pub y: u32,
    pub side: u32,
}

/// The window centred on the face, as large as the face asks for and the photo allows.
pub fn crop_window(face: &FaceData) -> CropWindow {
    let (w, h) = (face.image_width, face.image_height);
    let b = face.mesh_box();
    let face_h = (b[3] - b[1]).max(b[2] - b[0]).max(1.0);
    let side = ((face_h * CROP_FACE_HEIGHTS).round() as u32).clamp(1, w.min(h));
    let cx = (b[0] + b[2]) / 2.0;
    let cy = (b[1] + b[3]) / 2.0;
    let x = (cx - side as f32 / 2.0)
        .round()
        .clamp(0.0, (w - side) as f32) as u32;
    let y = (cy - side as f32 * FACE_CENTRE_FROM_TOP)
        .round()
        .clamp(0.0, (h - side) as f32) as u32;
    CropWindow { x, y, side }
}

/// An RGB image as a `[1, 3, H, W]` float tensor in [0, 1] on `device`.
pub fn image_tensor(image: &RgbImage, device: Device) -> Result<Tensor, FarmError> {
    let (w, h) = (i64::from(image.width()), i64::from(image.height()));
    let t = Tensor::f_from_data_size(image.as_raw(), &[h, w, 3], Kind::Uint8)?
        .f_to_device(device)?
        .f_permute([2, 0, 1])?
        .f_unsqueeze(0)?
        .f_to_kind(Kind::Float)?
        .f_div_scalar(255.0)?;
    Ok(t)
}

/// `[B, 3, H, W]` floats in [0, 1] as packed RGB24 bytes, frame after frame.
pub fn to_rgb_bytes(frames: &Tensor) -> Result<Vec<u8>, FarmError> {
    let bytes = frames
        .f_clamp(0.0, 1.0)?
        .f_mul_scalar(255.0)?
        .f_round()?
        .f_to_kind(Kind::Uint8)?
        .f_permute([0, 2, 3, 1])?
        .f_contiguous()?
        .f_to_device(Device::Cpu)?;
    let n = bytes.numel();
    let mut out = vec![0u8; n];
    bytes.f_copy_data_u8(&mut out, n)?;
    Ok(out)
}

/// Resizes `[B, 3, H, W]` to `side x side` (antialiased bicubic).
pub fn resize(t: &Tensor, side: i64) -> Result<Tensor, FarmError> {
    Ok(t.f_internal_upsample_bicubic2d_aa([side, side], false, None, None)?)
}

/// Sharpens with an unsharp mask: `x + amount * (x - gaussian_blur(x))`.
pub fn unsharp(t: &Tensor, amount: f64) -> Result<Tensor, FarmError> {
    let k = [1.0f32, 4.0, 6.0, 4.0, 1.0];
    let mut w = Vec::with_capacity(25);
    for a in k {
        for b in k {
            w.push(a * b / 256.0);
        }
    }
    let kernel = Tensor::f_from_slice(&w)?
        .f_view([1, 1, 5, 5])?
        .f_repeat([3, 1, 1, 1])?
        .f_to_device(t.device())?;
    let padded = t.f_pad([2, 2, 2, 2], "replicate", None)?;
    let blurred = padded.f_conv2d(&kernel, None::<Tensor>, [1, 1], [0, 0], [1, 1], 3)?;
    let detail = t.f_sub(&blurred)?;
    Ok(t.f_add(&detail.f_mul_scalar(amount)?)?.f_clamp(0.0, 1.0)?)
}

/// Upscales packed RGB24 frames of `size` by `factor` (bicubic plus an unsharp mask).
pub fn upscale_frames(
    rgb: &[u8],
    size: u32,
    factor: u32,
    device: Device,
) -> Result<Vec<u8>, FarmError> {
    let side = i64::from(size);
    let count = (rgb.len() / (side * side * 3) as usize) as i64;
    let frames = Tensor::f_from_data_size(rgb, &[count, side, side, 3], Kind::Uint8)?
        .f_to_device(device)?
        .f_permute([0, 3, 1, 2])?
        .f_to_kind(Kind::Float)?
        .f_div_scalar(255.0)?;
    to_rgb_bytes(&unsharp(&resize(&frames, side * i64::from(factor))?, 0.6)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face_at(w: u32, h: u32, b: [f32; 4]) -> FaceData {
        FaceData {
            image_width: w,
            image_height: h,
            faces_found: 1,
            bbox: b,
            score: 1.0,
            keypoints: [[0.0; 2]; 5],
            presence: 1.0,
            landmarks: vec![[b[0], b[1], 0.0], [b[2], b[3], 0.0]],
        }
    }

    #[test]
    fn window_is_square_inside_the_photo_around_the_face() {
        let win = crop_window(&face_at(1000, 800, [400.0, 300.0, 500.0, 420.0]));
        assert_eq!(win.side, 264);
        assert!(win.x <= 400 && win.x + win.side >= 500);
        assert!(win.y <= 300 && win.y + win.side >= 420);
        // A face at the corner of a small photo: the window shrinks and stays inside.
        let win = crop_window(&face_at(200, 300, [0.0, 0.0, 150.0, 180.0]));
        assert_eq!((win.x, win.y, win.side), (0, 0, 200));
    }

    #[test]
    fn tensors_round_trip_to_bytes() {
        let img = RgbImage::from_fn(4, 3, |x, y| image::Rgb([x as u8 * 10, y as u8 * 20, 7]));
        let t = image_tensor(&img, Device::Cpu).expect("tensor");
        assert_eq!(t.size(), vec![1, 3, 3, 4]);
        assert_eq!(to_rgb_bytes(&t).expect("bytes"), img.into_raw());
    }

    #[test]
    fn resize_and_unsharp_keep_flat_images_flat() {
        let t = Tensor::full([1, 3, 8, 8], 0.5, (Kind::Float, Device::Cpu));
        let big = unsharp(&resize(&t, 16).expect("resize"), 0.6).expect("unsharp");
        assert_eq!(big.size(), vec![1, 3, 16, 16]);
        let err = (big - 0.5).abs().max().double_value(&[]);
        assert!(err < 1e-4, "{err}");
    }
}
