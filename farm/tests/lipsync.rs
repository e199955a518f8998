//! The lip-sync renderer judged from the outside, on videos of the whole photo: the face
//! landmark model, run on the frames of the encoded video, must see the inner lips part with
//! the speech's loudness and stay closed in its pauses; outside the face region the video is
//! the photo; the warp never folds over (tears) and never jumps further between frames than a
//! jaw can move.

mod common;

use spinbot_core::limits::DEFAULT_MAX_SIDE;
use spinbot_core::{Plan, Speech};
use spinbot_farm::audio::Audio;
use spinbot_farm::face::{FaceAnalyzer, FaceData};
use spinbot_farm::lipsync::mouth::{mouth_track, MouthTrack};
use spinbot_farm::lipsync::LipSync;
use spinbot_farm::render::View;
use spinbot_farm::Pipeline;
use tch::{Device, Kind};

const FPS: u32 = 25;

/// Speech by `voice` with pauses: silence, a phrase, a second of silence, a phrase, silence.
fn speech_with_pauses(voice: &str) -> Audio {
    let pipeline = Pipeline::new(common::assets(), Device::Cpu);
    let voice = pipeline.models().voice(voice).expect("voice");
    let mut voice = voice.lock().expect("voice lock");
    let phrases = [
        "Hello there, how are you doing today?",
        "I hope you are having a wonderful week.",
    ];
    let mut samples = Vec::new();
    let mut rate = 22_050;
    for phrase in phrases {
        let audio = voice.speak_str(phrase).expect("speak");
        rate = audio.rate;
        samples.extend(std::iter::repeat_n(0.0, rate as usize));
        samples.extend(audio.samples.iter().map(|s| s * 0.8));
    }
    samples.extend(std::iter::repeat_n(0.0, rate as usize));
    Audio { samples, rate }
}

/// RMS of the speech around each video frame's time (40 ms window).
fn frame_loudness(audio: &Audio, frames: usize) -> Vec<f64> {
    let half = (audio.rate / 50) as i64;
    (0..frames)
        .map(|f| {
            let centre = (f as f64 / f64::from(FPS) * f64::from(audio.rate)) as i64;
            let window: Vec<f64> = (centre - half..centre + half)
                .filter_map(|i| usize::try_from(i).ok().and_then(|i| audio.samples.get(i)))
                .map(|&s| f64::from(s))
                .collect();
            (window.iter().map(|s| s * s).sum::<f64>() / window.len().max(1) as f64).sqrt()
        })
        .collect()
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va.sqrt() * vb.sqrt())
}

fn psnr(a: &[u8], b: &[u8], mask: impl Fn(usize) -> bool) -> f64 {
    let (mut sum, mut n) = (0f64, 0usize);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if mask(i / 3) {
            sum += (f64::from(*x) - f64::from(*y)).powi(2);
            n += 1;
        }
    }
    let mse = sum / n.max(1) as f64;
    10.0 * (255.0 * 255.0 / mse.max(1e-10)).log10()
}

#[test]
fn the_face_speaks_with_the_audio_and_the_rest_stays_still() {
    the_face_speaks_with("en_US-joe-medium");
}

/// Kokoro speaks at 24 kHz and at its own pace: the lips follow it the same way.
#[test]
fn the_face_speaks_with_a_kokoro_voice() {
    the_face_speaks_with("af_heart");
}

fn the_face_speaks_with(voice: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let audio = speech_with_pauses(voice);
    let note = dir.path().join("speech.wav");
    audio.write_wav(&note).expect("wav");
    let photo = common::photo("t1.jpg");
    let image = spinbot_farm::input::load_photo(&photo).expect("photo");
    let plan = Plan::new(
        Speech::VoiceNote {
            audio: note.to_string_lossy().into(),
        },
        photo.to_string_lossy(),
    );
    let work = dir.path().join("job");
    let pipeline = Pipeline::new(common::assets(), Device::Cpu);
    let video = pipeline.run(&plan, &work, &mut |_, _| {}).expect("render");
    let view = View::whole_photo(image.width(), image.height(), DEFAULT_MAX_SIDE);
    let (width, height) = (view.width, view.height);
    let frames = common::decode_frames(&video, (width, height));
    assert!(frames.len() > 100, "{} frames", frames.len());

    // The landmark model follows the face through the output frames.
    let mut faces = FaceAnalyzer::load(&common::assets()).expect("face models");
    let mut tracked: Vec<FaceData> = Vec::new();
    for frame in &frames {
        let face = match tracked.last() {
            None => faces.analyse(frame),
            Some(previous) => faces.track(frame, previous),
        }
        .expect("a face in every frame");
        tracked.push(face);
    }
    let mouth_width = tracked[0].mouth_width() as f64;
    let gaps: Vec<f64> = tracked
        .iter()
        .map(|f| f64::from(f.inner_lip_gap()) / mouth_width)
        .collect();
    let loudness = frame_loudness(&audio, frames.len());
    let r = pearson(&gaps, &loudness);
    println!(
        "MOUTH {}",
        std::fs::read_to_string(work.join("mouth.json")).unwrap_or_default()
    );
    let peak_gap = gaps.iter().cloned().fold(0.0, f64::max);
    println!(
                "{voice}: lip gap vs loudness: r = {r:.3} over {} frames; widest gap {peak_gap:.3} mouth widths",
        gaps.len()
    );
    assert!(r >= 0.5, "r = {r:.3}");
    // People open their lips about a tenth of the mouth's width on open vowels.
    assert!(
        peak_gap > 0.08,
        "the mouth never opened wide: {peak_gap:.3}"
    );

    // In the pauses (0.25 s away from any sound) the lips stay closed.
    let rest = gaps[0];
    let quiet = |f: usize| {
        let lo = f.saturating_sub(6);
        let hi = (f + 7).min(loudness.len());
        loudness[lo..hi].iter().all(|&l| l < 1e-3)
    };
    let silent: Vec<usize> = (0..gaps.len()).filter(|&f| quiet(f)).collect();
    assert!(silent.len() > 20, "{} silent frames", silent.len());
    for &f in &silent {
        assert!(
            gaps[f] <= rest + 0.04,
            "frame {f}: gap {:.3} in silence (rest {rest:.3})",
            gaps[f]
        );
    }

    // Outside the face region (and the label) the video is the photo.
    let face: FaceData =
        serde_json::from_slice(&std::fs::read(work.join("face.json")).expect("face.json"))
            .expect("json");
    let lipsync = LipSync::new(&image, &face, view, FPS, Device::Cpu).expect("lipsync");
    let r = lipsync.rig().region;
    // The "AI-GENERATED" label's corner (and one encoder block around it) is not the photo.
    let (left, top, right, bottom, _) = spinbot_farm::mark::label_box(width, height);
    let label = |x: i64, y: i64| {
        x + 16 >= left as i64
            && x < right as i64 + 16
            && y + 16 >= top as i64
            && y < bottom as i64 + 16
    };
    let outside = |p: usize| {
        let (x, y) = ((p % width as usize) as i64, (p / width as usize) as i64);
        (x < r.x || y < r.y || x >= r.x + r.w || y >= r.y + r.h) && !label(x, y)
    };
    let worst = frames
        .iter()
        .map(|f| psnr(f.as_raw(), lipsync.still(), outside))
        .fold(f64::MAX, f64::min);
    println!("outside the face region: worst frame PSNR {worst:.1} dB");
    assert!(worst >= 35.0, "PSNR {worst:.1} dB");
    // Before encoding, it is the crop exactly.
    let track = mouth_track(&audio, FPS, frames.len()).expect("track");
    let rendered = lipsync.render(&track, 60, 5).expect("render");
    let frame_len = (width * height * 3) as usize;
    for k in 0..5 {
        let frame = &rendered[k * frame_len..(k + 1) * frame_len];
        assert!(
            psnr(frame, lipsync.still(), outside).is_infinite()
                || psnr(frame, lipsync.still(), outside) > 90.0
        );
    }
}

#[test]
fn the_warp_never_tears_or_jumps() {
    let image = spinbot_farm::input::load_photo(&common::photo("t1.jpg")).expect("photo");
    let face = FaceAnalyzer::load(&common::assets())
        .expect("models")
        .analyse(&image)
        .expect("face");
    let view = View::whole_photo(image.width(), image.height(), DEFAULT_MAX_SIDE);
    let lipsync = LipSync::new(&image, &face, view, FPS, Device::Cpu).expect("lipsync");
    let mouth_width = f64::from(face.mouth_width()) * f64::from(view.width) / f64::from(view.w);

    // The extremes: shut, wide open and stretched, wide open and rounded, during a blink.
    let mut extreme = MouthTrack::closed(64);
    for f in 0..64 {
        extreme.open[f] = if f % 2 == 0 { 0.0 } else { 1.0 };
        extreme.wide[f] = if f % 4 == 1 { 1.0 } else { 0.0 };
        extreme.round[f] = if f % 4 == 3 { 1.0 } else { 0.0 };
    }
    // Frames 20..40 contain the first blink (1.2 s in).
    let grid = lipsync.sampling_grid(&extreme, 20, 20).expect("grid");
    // A tear or fold is where the map from output to source turns over: its Jacobian
    // determinant must stay above zero everywhere (kept above 0.05, a twentyfold squeeze at
    // most, which a blinking lid reaches).
    let dx = grid.narrow(2, 1, grid.size()[2] - 1) - grid.narrow(2, 0, grid.size()[2] - 1);
    let dy = grid.narrow(1, 1, grid.size()[1] - 1) - grid.narrow(1, 0, grid.size()[1] - 1);
    let (h, w) = (dy.size()[1], dx.size()[2]);
    let dx = dx.narrow(1, 0, h);
    let dy = dy.narrow(2, 0, w);
    let det = dx.select(3, 0) * dy.select(3, 1) - dx.select(3, 1) * dy.select(3, 0);
    // Between parted lips there is nothing of the photo to show (the mouth is painted
    // there): the lips' own pixels and everything else must not fold.
    let m = lipsync.rig().mouth_box;
    let opening = lipsync.opening_mask(&extreme, 20, 20).expect("opening");
    let painted = opening
        .gt(0.0)
        .narrow(1, 0, m.h.min(h - m.y))
        .narrow(2, 0, m.w.min(w - m.x));
    let _ = det
        .narrow(1, m.y, m.h.min(h - m.y))
        .narrow(2, m.x, m.w.min(w - m.x))
        .masked_fill_(&painted, 1.0);
    let min_det = det.min().double_value(&[]);
    println!("smallest Jacobian determinant over extreme frames: {min_det:.3}");
    assert!(min_det > 0.05, "the warp folds over: {min_det:.3}");

    // Between two real frames no pixel moves more than a jaw can in 40 ms: the fastest
    // opening of a human jaw is about a quarter of the mouth's width per frame at 25 fps.
    let audio = speech_with_pauses("en_US-joe-medium");
    let frames = (audio.seconds() * f64::from(FPS)).round() as usize;
    let track = mouth_track(&audio, FPS, frames).expect("track");
    let grid = lipsync.sampling_grid(&track, 0, frames).expect("grid");
    let step = (grid.narrow(0, 1, frames as i64 - 1) - grid.narrow(0, 0, frames as i64 - 1))
        .square()
        .sum_dim_intlist(Some(&[3i64][..]), false, Kind::Float)
        .sqrt();
    let biggest = step.max().double_value(&[]);
    println!(
        "largest move of a pixel between frames: {biggest:.2} px ({:.3} mouth widths)",
        biggest / mouth_width
    );
    assert!(
        biggest <= 0.25 * mouth_width,
        "{biggest:.2} px > {:.2}",
        0.25 * mouth_width
    );
}
