//! What the farm's tests share: the assets folder, its test photos, and the frames of a
//! rendered video.

#![allow(dead_code)]

use image::RgbImage;
use spinbot_farm::Assets;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn assets() -> Assets {
    Assets::at(spinbot_core::Config::load().expect("configuration").assets)
}

/// A test photo that `make setup` put in the assets folder.
pub fn photo(name: &str) -> PathBuf {
    let path = assets().root().join("photos").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `make setup`",
        path.display()
    );
    path
}

/// The pinned Python with piper-tts that `make setup` installed.
pub fn reference_python() -> PathBuf {
    let path = assets().root().join("venv").join("bin").join("python");
    assert!(
        path.is_file(),
        "{} is missing: run `make setup`",
        path.display()
    );
    path
}

/// Decodes every frame of an MP4 as RGB images of `width` x `height`.
pub fn decode_frames(video: &Path, (width, height): (u32, u32)) -> Vec<RgbImage> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(video)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frame = (width * height * 3) as usize;
    assert_eq!(out.stdout.len() % frame, 0, "frames of {width} x {height}");
    out.stdout
        .chunks_exact(frame)
        .map(|c| RgbImage::from_raw(width, height, c.to_vec()).expect("frame"))
        .collect()
}
