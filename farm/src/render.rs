//! What a video shows of the photo and at what size (`View`: the whole photo, its short side
//! capped, or a square around the face), and the tensor helpers the renderer shares: images
//! to tensors and back, resizing, sharpening and the optional upscale.

use crate::error::FarmError;
use crate::face::FaceData;
use image::RgbImage;
use spinbot_core::Crop;
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

/// The part of the photo a video shows (`x`, `y`, `w`, `h` in photo pixels) and the frame it
/// is drawn into (`width` x `height`, even, as the encoder wants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub width: u32,
    pub height: u32,
}

impl View {
    /// What `crop` asks for: the whole photo with its short side at most `max_side`, or the
    /// face's square at `size`.
    pub fn of(crop: Crop, face: &FaceData, size: u32, max_side: u32) -> Self {
        match crop {
            Crop::Photo => Self::whole_photo(face.image_width, face.image_height, max_side),
            Crop::Face => Self::face(face, size),
        }
    }

    /// The whole `w` x `h` photo. When its short side is within `max_side` the frame is the
    /// photo's own pixels (an odd last row or column left out); otherwise it is scaled down.
    pub fn whole_photo(w: u32, h: u32, max_side: u32) -> Self {
        let (w, h) = (w.max(2), h.max(2));
        let short = w.min(h);
        let even = |v: u32| (v & !1).max(2);
        if short <= max_side {
            let (width, height) = (even(w), even(h));
            return Self {
                x: 0,
                y: 0,
                w: width,
                h: height,
                width,
                height,
            };
        }
        let scale = f64::from(max_side) / f64::from(short);
        let side = |v: u32| even((f64::from(v) * scale).round() as u32);
        Self {
            x: 0,
            y: 0,
            w,
            h,
            width: side(w),
            height: side(h),
        }
    }

    /// The square around the face, drawn `size` pixels a side.
    pub fn face(face: &FaceData, size: u32) -> Self {
        let win = crop_window(face);
        Self {
            x: win.x,
            y: win.y,
            w: win.side,
            h: win.side,
            width: size,
            height: size,
        }
    }

    /// A photo point in frame pixels.
    pub fn to_frame(&self, p: [f32; 2]) -> [f32; 2] {
        [
            (p[0] - self.x as f32) * self.width as f32 / self.w.max(1) as f32,
            (p[1] - self.y as f32) * self.height as f32 / self.h.max(1) as f32,
        ]
    }

    /// Whether the frame is the photo's pixels as they are (no resampling).
    pub fn is_native(&self) -> bool {
        self.w == self.width && self.h == self.height
    }

    /// The photo's part drawn at the frame's size, `[1, 3, height, width]` in [0, 1].
    pub fn frame_tensor(&self, image: &RgbImage, device: Device) -> Result<Tensor, FarmError> {
        let part = image::imageops::crop_imm(image, self.x, self.y, self.w, self.h).to_image();
        let t = image_tensor(&part, device)?;
        if self.is_native() {
            return Ok(t);
        }
        Ok(resize(&t, i64::from(self.height), i64::from(self.width))?.f_clamp(0.0, 1.0)?)
    }
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

/// Resizes `[B, 3, H, W]` to `height x width` (antialiased bicubic).
pub fn resize(t: &Tensor, height: i64, width: i64) -> Result<Tensor, FarmError> {
    Ok(t.f_internal_upsample_bicubic2d_aa([height, width], false, None, None)?)
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

/// Upscales packed RGB24 frames of `width` x `height` by `factor` (bicubic plus an unsharp
/// mask).
pub fn upscale_frames(
    rgb: &[u8],
    (width, height): (u32, u32),
    factor: u32,
    device: Device,
) -> Result<Vec<u8>, FarmError> {
    let (w, h) = (i64::from(width), i64::from(height));
    let count = (rgb.len() / (w * h * 3).max(1) as usize) as i64;
    let frames = Tensor::f_from_data_size(rgb, &[count, h, w, 3], Kind::Uint8)?
        .f_to_device(device)?
        .f_permute([0, 3, 1, 2])?
        .f_to_kind(Kind::Float)?
        .f_div_scalar(255.0)?;
    let k = i64::from(factor);
    to_rgb_bytes(&unsharp(&resize(&frames, h * k, w * k)?, 0.6)?)
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
    fn the_whole_photo_keeps_its_pixels_up_to_the_cap() {
        // A small portrait and a small landscape are their own pixels, an odd side evened.
        let v = View::whole_photo(420, 524, 720);
        assert_eq!((v.w, v.h, v.width, v.height), (420, 524, 420, 524));
        assert!(v.is_native());
        let v = View::whole_photo(361, 288, 720);
        assert_eq!((v.w, v.width, v.height), (360, 360, 288));
        assert!(v.is_native());
        // A large landscape is scaled so its short side is the cap, at its own aspect.
        let v = View::whole_photo(1280, 886, 720);
        assert_eq!((v.w, v.h, v.width, v.height), (1280, 886, 1040, 720));
        assert!(!v.is_native());
        assert_eq!(v.to_frame([640.0, 443.0]), [520.0, 360.0]);
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
        let big = unsharp(&resize(&t, 16, 16).expect("resize"), 0.6).expect("unsharp");
        assert_eq!(big.size(), vec![1, 3, 16, 16]);
        let err = (big - 0.5).abs().max().double_value(&[]);
        assert!(err < 1e-4, "{err}");
    }
}
