//! `spinbot bench lips --clips DIR`: how well the render's lips follow a real person's. Each
//! clip of real speech (any video ffmpeg reads) gives its first frame as the selfie and its
//! audio as the voice note; the face mesh measures the inner-lip opening, in mouth widths,
//! in every frame of the clip and of the render. One JSON line per clip, then a summary:
//! `r_real` (correlation with the real opening, best over lags of -2..2 frames), `r_loud`
//! (the same for the audio's loudness: what a mouth that only follows loudness could reach),
//! `closed_ok` (of the real mouth's most closed fifth of frames, the share where the render
//! is in its own most closed 30%), `open_err` (mean difference of the openings), and the
//! mouth track the render used.

use anyhow::Context;
use serde_json::json;
use spinbot_core::limits::{DEFAULT_FPS, DEFAULT_MAX_SIDE};
use spinbot_core::{Plan, Speech};
use spinbot_farm::audio::Audio;
use spinbot_farm::face::{FaceData, INNER_LIP_BOTTOM, INNER_LIP_TOP, MOUTH_LEFT, MOUTH_RIGHT};
use spinbot_farm::lipsync::track::{pearson, Choice};
use spinbot_farm::pipeline::MOUTH_FILE;
use spinbot_farm::render::View;
use spinbot_farm::{device, Assets, Pipeline};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Lags tried between two openings, in frames.
const LAGS: i64 = 2;

pub fn run(assets: Assets, clips: &Path, device: &str) -> anyhow::Result<()> {
    let device = device::resolve(device.parse()?)?;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(clips)
        .with_context(|| format!("reading {}", clips.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "mpg" | "mp4" | "mov" | "mkv" | "webm" | "avi"))
        })
        .collect();
    paths.sort();
    anyhow::ensure!(!paths.is_empty(), "no video clips in {}", clips.display());
    let pipeline = Pipeline::new(assets, device);
    let mut rows = Vec::new();
    for path in &paths {
        let row = clip(&pipeline, path)?;
        println!("{}", row);
        rows.push(row);
    }
    let mean =
        |key: &str| rows.iter().filter_map(|r| r[key].as_f64()).sum::<f64>() / rows.len() as f64;
    let above = rows
        .iter()
        .filter(|r| r["r_real"].as_f64() > r["r_loud"].as_f64())
        .count();
    println!(
        "{}",
        json!({
            "bench": "lips",
            "clip": "summary",
            "clips": rows.len(),
            "r_real": mean("r_real"),
            "r_loud": mean("r_loud"),
            "closed_ok": mean("closed_ok"),
            "open_err": mean("open_err"),
            "above_loudness": above,
            "rtf": mean("rtf"),
        })
    );
    Ok(())
}

fn clip(pipeline: &Pipeline, path: &Path) -> anyhow::Result<serde_json::Value> {
    let dir = tempfile::Builder::new().prefix("spinbot-lips-").tempdir()?;
    let photo = dir.path().join("photo.png");
    let voice = dir.path().join("voice.wav");
    ffmpeg(&[
        "-i".as_ref(),
        path.as_os_str(),
        "-frames:v".as_ref(),
        "1".as_ref(),
        photo.as_os_str(),
    ])?;
    ffmpeg(&[
        "-i".as_ref(),
        path.as_os_str(),
        "-vn".as_ref(),
        "-ac".as_ref(),
        "1".as_ref(),
        "-ar".as_ref(),
        "16000".as_ref(),
        voice.as_os_str(),
    ])?;
    let image = image::open(&photo)?.to_rgb8();
    let real = frames(path, image.width(), image.height())?;
    let plan = Plan::new(
        Speech::VoiceNote {
            audio: voice.to_string_lossy().into(),
        },
        photo.to_string_lossy(),
    );
    let work = dir.path().join("job");
    let start = Instant::now();
    let video = pipeline.run(&plan, &work, &mut |_, _| {})?;
    let render_s = start.elapsed().as_secs_f64();
    let view = View::whole_photo(image.width(), image.height(), DEFAULT_MAX_SIDE);
    let rendered = frames(&video, view.width, view.height)?;
    let choice: Choice = serde_json::from_slice(&std::fs::read(work.join(MOUTH_FILE))?)?;

    let real_open = openings(pipeline, &real)?;
    let render_open = openings(pipeline, &rendered)?;
    let audio = Audio::read_wav(&voice)?;
    let n = real_open.len().min(render_open.len());
    anyhow::ensure!(n > 10, "{}: only {n} frames", path.display());
    let (real_open, render_open) = (&real_open[..n], &render_open[..n]);
    let loud = loudness(&audio, n);
    let r_real = best_over_lags(render_open, real_open);
    let r_loud = best_over_lags(&loud, real_open);
    let closed_ok = closed_kept(real_open, render_open);
    let open_err = real_open
        .iter()
        .zip(render_open)
        .map(|(a, b)| (a - b).abs())
        .sum::<f64>()
        / n as f64;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    Ok(json!({
        "bench": "lips",
        "clip": name,
        "frames": n,
        "mouth": choice.track.name(),
        "agreement": choice.agreement,
        "covered": choice.covered,
        "r_real": r_real,
        "r_loud": r_loud,
        "closed_ok": closed_ok,
        "open_err": open_err,
        "real_mean_open": real_open.iter().sum::<f64>() / n as f64,
        "render_mean_open": render_open.iter().sum::<f64>() / n as f64,
        "render_s": render_s,
        "rtf": render_s / audio.seconds(),
    }))
}

fn ffmpeg(args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .output()
        .context("running ffmpeg")?;
    anyhow::ensure!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// Every frame of `video` at 25 fps as `width` x `height` RGB.
fn frames(video: &Path, width: u32, height: u32) -> anyhow::Result<Vec<image::RgbImage>> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(video)
        .args(["-r", &DEFAULT_FPS.to_string()])
        .args(["-s", &format!("{width}x{height}")])
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .context("running ffmpeg")?;
    anyhow::ensure!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let size = (width * height * 3) as usize;
    Ok(out
        .stdout
        .chunks_exact(size)
        .filter_map(|c| image::RgbImage::from_raw(width, height, c.to_vec()))
        .collect())
}

/// The inner-lip opening of each frame in mouth widths: `(y14 - y13) / |p291 - p61|`.
fn openings(pipeline: &Pipeline, frames: &[image::RgbImage]) -> anyhow::Result<Vec<f64>> {
    pipeline
        .models()
        .with_faces(|faces| {
            let mut previous: Option<FaceData> = None;
            let mut out = Vec::with_capacity(frames.len());
            for frame in frames {
                let face = match &previous {
                    Some(p) => faces.track(frame, p).or_else(|_| faces.analyse(frame))?,
                    None => faces.analyse(frame)?,
                };
                let (top, bottom) = (face.point(INNER_LIP_TOP), face.point(INNER_LIP_BOTTOM));
                let (l, r) = (face.point(MOUTH_LEFT), face.point(MOUTH_RIGHT));
                let width = ((r[0] - l[0]).powi(2) + (r[1] - l[1]).powi(2))
                    .sqrt()
                    .max(1.0);
                out.push(f64::from((bottom[1] - top[1]) / width));
                previous = Some(face);
            }
            Ok(out)
        })
        .context("the face mesh on a clip's frames")
}

/// RMS of the audio in a 40 ms window around each frame.
fn loudness(audio: &Audio, frames: usize) -> Vec<f64> {
    let half = i64::from(audio.rate / 50);
    (0..frames)
        .map(|f| {
            let centre = (f as f64 / f64::from(DEFAULT_FPS) * f64::from(audio.rate)) as i64;
            let window: Vec<f64> = (centre - half..centre + half)
                .filter_map(|i| usize::try_from(i).ok().and_then(|i| audio.samples.get(i)))
                .map(|&s| f64::from(s))
                .collect();
            (window.iter().map(|s| s * s).sum::<f64>() / window.len().max(1) as f64).sqrt()
        })
        .collect()
}

/// The best correlation of `a` shifted by -2..=2 frames against `b`.
fn best_over_lags(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as i64;
    (-LAGS..=LAGS)
        .filter_map(|lag| {
            let (sa, sb) = if lag >= 0 {
                (lag as usize, 0)
            } else {
                (0, (-lag) as usize)
            };
            let len = (n - lag.abs()) as usize;
            pearson(&a[sa..sa + len], &b[sb..sb + len])
        })
        .fold(f64::NAN, f64::max)
}

/// Of the frames where the real mouth is in its lowest 20% of openings, the share where the
/// render's is in its own lowest 30%.
fn closed_kept(real: &[f64], render: &[f64]) -> f64 {
    let cut = |v: &[f64], q: f64| {
        let mut sorted = v.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    };
    let (real_cut, render_cut) = (cut(real, 0.2), cut(render, 0.3));
    let closed: Vec<usize> = (0..real.len()).filter(|&f| real[f] <= real_cut).collect();
    if closed.is_empty() {
        return 0.0;
    }
    closed.iter().filter(|&&f| render[f] <= render_cut).count() as f64 / closed.len() as f64
}
