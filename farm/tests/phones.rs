//! Lips drawn from phones, judged from the outside: the speech engines' phone times add up
//! to their audio; the face mesh, run on the encoded video, sees the lips shut on every p, b
//! and m the engine spoke; "oo" rounds the mouth and
//! "ee" stretches it; a voice note is read by the recogniser (a five-minute one too), and
//! what it cannot read (music) falls back to the loudness, never to a failed render.

mod common;

use image::RgbImage;
use spinbot_core::{Crop, Plan, Speech, SpeechText};
use spinbot_farm::audio::Audio;
use spinbot_farm::face::{FaceAnalyzer, FaceData};
use spinbot_farm::lipsync::phones::{Phones, Timing};
use spinbot_farm::lipsync::track::{self, Choice, Source};
use spinbot_farm::lipsync::visemes::phone_track;
use spinbot_farm::lipsync::LipSync;
use spinbot_farm::pipeline::{MOUTH_FILE, PHONES_FILE};
use spinbot_farm::render::View;
use spinbot_farm::Pipeline;
use std::path::Path;
use tch::Device;

const SIZE: u32 = 512;
const FPS: u32 = 25;
/// Eight words with p, b or m, said fluently.
const BILABIALS: &str = "Bob made a map of Maple Bay, and Pam picked a plum by the pier.";

/// The mesh on every frame: the face found in the first, and every frame's mesh placed
/// from that one (the head stays still; a mesh placed from the frame before drifts, and its
/// lip gap jitters by a few hundredths on a small face).
fn mesh(frames: &[RgbImage]) -> Vec<FaceData> {
    let mut faces = FaceAnalyzer::load(&common::assets()).expect("face models");
    let first = faces
        .analyse(&frames[0])
        .expect("a face in the first frame");
    frames
        .iter()
        .map(|frame| faces.track(frame, &first).expect("a face in every frame"))
        .collect()
}

/// The inner-lip gap in mouth widths, over the middle three pairs of inner-lip points (one
/// pair alone is a few hundredths noisy on a small face).
fn gap(face: &FaceData) -> f64 {
    let d = |a: usize, b: usize| {
        let (p, q) = (face.point(a), face.point(b));
        f64::from(((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt())
    };
    (d(13, 14) + d(82, 87) + d(312, 317)) / 3.0 / f64::from(face.mouth_width())
}

#[test]
fn the_engines_phone_times_add_up_to_their_audio() {
    let pipeline = Pipeline::new(common::assets(), Device::Cpu);
    for (voice, timing) in [
        ("en_US-joe-medium", Timing::Piper),
        ("af_heart", Timing::Kokoro),
    ] {
        let speaker = pipeline.models().voice(voice).expect("voice");
        let spoken = speaker
            .lock()
            .expect("voice lock")
            .speak_timed("Bob made a map. Then he rode home, happy!")
            .expect("speak");
        let phones = &spoken.phones;
        assert_eq!(phones.timing, timing);
        let symbols: String = phones.phones.iter().map(|p| p.symbol.as_str()).collect();
        assert!(
            symbols.matches(['b', 'm', 'p']).count() >= 4,
            "{voice}: {symbols}"
        );
        let one_sample = 1.0 / f64::from(spoken.audio.rate);
        println!(
            "{voice}: {} phones over {:.4} s, audio {:.4} s",
            phones.phones.len(),
            phones.span(),
            spoken.audio.seconds()
        );
        assert!(
            (phones.span() - spoken.audio.seconds()).abs() <= one_sample,
            "{voice}: phones {:.5} s, audio {:.5} s",
            phones.span(),
            spoken.audio.seconds()
        );
        assert_eq!(phones.phones[0].start, 0.0);
        for pair in phones.phones.windows(2) {
            assert!(pair[0].end <= pair[1].start + 1e-9 && pair[0].start <= pair[0].end);
        }
    }
}

/// Renders `BILABIALS` in `voice` on `photo` and checks every p, b and m shuts the lips:
/// within a frame of its time, the mesh's inner-lip gap is in the render's lowest tenth.
fn every_bilabial_shuts_the_lips(voice: &str, photo: &str, timing: Timing) {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = Plan {
        crop: Crop::Face,
        size: SIZE,
        ..Plan::new(
            Speech::Text {
                text: SpeechText::parse(BILABIALS).expect("text"),
                voice: voice.into(),
            },
            common::photo(photo).to_string_lossy(),
        )
    };
    let work = dir.path().join("job");
    let pipeline = Pipeline::new(common::assets(), Device::Cpu);
    let video = pipeline.run(&plan, &work, &mut |_, _| {}).expect("render");
    let choice: Choice =
        serde_json::from_slice(&std::fs::read(work.join(MOUTH_FILE)).expect("mouth.json"))
            .expect("json");
    assert_eq!(choice.track, Source::from(timing));
    let phones: Phones =
        serde_json::from_slice(&std::fs::read(work.join(PHONES_FILE)).expect("phones.json"))
            .expect("json");

    let faces = mesh(&common::decode_frames(&video, (SIZE, SIZE)));
    let gaps: Vec<f64> = faces.iter().map(gap).collect();
    // The lowest tenth of the range the lips move through in this render. A shut mouth
    // reads a few hundredths on the mesh, the same in every shut frame (p, b, m and pauses
    // alike, so a share of the frames cannot be the measure), and that reading drifts by
    // a hundredth as the head sways: the tenth is counted from the narrowest gap within a
    // second of the sound.
    let narrowest = gaps.iter().copied().fold(f64::MAX, f64::min);
    let widest = gaps.iter().copied().fold(0.0, f64::max);
    let tenth = (widest - narrowest) / 10.0;
    let second = FPS as usize;
    let bilabials: Vec<_> = phones
        .phones
        .iter()
        .filter(|p| matches!(p.symbol.as_str(), "p" | "b" | "m"))
        .collect();
    assert!(bilabials.len() >= 10, "{} bilabials", bilabials.len());
    let lead = timing.lead();
    let mut report = Vec::new();
    for b in &bilabials {
        let first = (((b.start - lead) * f64::from(FPS)).floor() as usize).saturating_sub(1);
        let last = (((b.end - lead) * f64::from(FPS)).ceil() as usize + 1).min(gaps.len() - 1);
        let shut = (first..=last).map(|f| gaps[f]).fold(f64::MAX, f64::min);
        let near = gaps[first.saturating_sub(second)..(last + second).min(gaps.len())]
            .iter()
            .copied()
            .fold(f64::MAX, f64::min);
        let lowest_tenth = near + tenth;
        report.push(format!("{}@{:.2}s:{shut:.3}", b.symbol, b.start));
        assert!(
            shut <= lowest_tenth,
            "{voice} on {photo}: '{}' at {:.2} s: narrowest gap {shut:.3} in frames \
             {first}..={last}, lowest tenth {lowest_tenth:.3}; gaps {gaps:.3?}",
            b.symbol,
            b.start
        );
    }
    println!(
        "{voice} on {photo}: {} bilabials shut (a tenth of the range {tenth:.3}, narrowest \
         {narrowest:.3}, widest {widest:.3}): {}",
        bilabials.len(),
        report.join(" ")
    );
    // A closure and an open vowel as numbers: the inner-lip gap and the mouth's width.
    let frame_of = |g: f64| gaps.iter().position(|&x| x == g).unwrap_or(0);
    for (what, f) in [("closure", frame_of(narrowest)), ("open", frame_of(widest))] {
        let face = &faces[f];
        println!(
            "{what}: frame {f}, inner-lip gap {:.1} px ({:.3} mouth widths), mouth width {:.1} px",
            face.inner_lip_gap(),
            gaps[f],
            face.mouth_width()
        );
    }
    assert!(
        widest > narrowest + 0.1,
        "the mouth never opened: {widest:.3}"
    );
}

#[test]
fn every_bilabial_shuts_the_lips_with_piper() {
    every_bilabial_shuts_the_lips("en_US-joe-medium", "t1.jpg", Timing::Piper);
}

#[test]
fn every_bilabial_shuts_the_lips_with_kokoro() {
    every_bilabial_shuts_the_lips("af_heart", "t1.jpg", Timing::Kokoro);
}

#[test]
fn oo_is_rounder_and_narrower_than_ee() {
    let image = spinbot_farm::input::load_photo(&common::photo("t1.jpg")).expect("photo");
    let face = FaceAnalyzer::load(&common::assets())
        .expect("models")
        .analyse(&image)
        .expect("face");
    let lipsync =
        LipSync::new(&image, &face, View::face(&face, SIZE), FPS, Device::Cpu).expect("lipsync");
    // "_ w oo _ ee _": half a second of each vowel.
    let mut phones = Phones::new(Timing::Recogniser);
    for (symbol, seconds) in [("_", 0.4), ("u", 0.5), ("_", 0.4), ("i", 0.5), ("_", 0.4)] {
        phones.push(symbol, seconds);
    }
    let track = phone_track(&phones, FPS, 55);
    let (oo, ee) = (16, 36); // the middle of each vowel
    let mut faces = FaceAnalyzer::load(&common::assets()).expect("models");
    let mut shape = |frame: usize| {
        let rgb = lipsync.render(&track, frame, 1).expect("render");
        let image = RgbImage::from_raw(SIZE, SIZE, rgb).expect("frame");
        let face = faces.analyse(&image).expect("face");
        let width = f64::from(face.mouth_width());
        let p = |i| face.point(i);
        let height = f64::from(p(17)[1] - p(0)[1]);
        (width, height / width)
    };
    let (oo_width, oo_round) = shape(oo);
    let (ee_width, ee_round) = shape(ee);
    println!(
        "oo: width {oo_width:.1} px, height/width {oo_round:.3}; ee: width {ee_width:.1} px, \
         height/width {ee_round:.3}"
    );
    assert!(oo_width < ee_width * 0.98, "{oo_width:.1} vs {ee_width:.1}");
    assert!(oo_round > ee_round * 1.05, "{oo_round:.3} vs {ee_round:.3}");
}

/// A voice note: the speech of `voice` saying `text`, as a WAV file in `dir`.
fn voice_note(dir: &Path, voice: &str, text: &str) -> std::path::PathBuf {
    let pipeline = Pipeline::new(common::assets(), Device::Cpu);
    let speaker = pipeline.models().voice(voice).expect("voice");
    let audio = speaker
        .lock()
        .expect("lock")
        .speak_str(text)
        .expect("speak");
    let path = dir.join(format!("{voice}.wav"));
    audio.write_wav(&path).expect("wav");
    path
}

fn render_note(note: &Path, work: &Path) -> Choice {
    let plan = Plan {
        crop: Crop::Face,
        size: 256,
        ..Plan::new(
            Speech::VoiceNote {
                audio: note.to_string_lossy().into(),
            },
            common::photo("t1.jpg").to_string_lossy(),
        )
    };
    let pipeline = Pipeline::new(common::assets(), Device::Cpu);
    let video = pipeline.run(&plan, work, &mut |_, _| {}).expect("render");
    assert!(std::fs::metadata(video).expect("video").len() > 1000);
    serde_json::from_slice(&std::fs::read(work.join(MOUTH_FILE)).expect("mouth.json"))
        .expect("json")
}

#[test]
fn voice_notes_are_read_by_the_recogniser_and_music_falls_back_to_loudness() {
    let dir = tempfile::tempdir().expect("tempdir");
    let english = voice_note(
        dir.path(),
        "af_heart",
        "Bob made a map of Maple Bay. Then he went home.",
    );
    let choice = render_note(&english, &dir.path().join("en"));
    println!("English: {choice:?}");
    assert_eq!(choice.track, Source::Recogniser);
    assert!(choice.phones > 20, "{choice:?}");
    let phones: Phones = serde_json::from_slice(
        &std::fs::read(dir.path().join("en").join(PHONES_FILE)).expect("phones.json"),
    )
    .expect("json");
    assert_eq!(phones.timing, Timing::Recogniser);

    // French: read as the nearest English phones (its p, b, m and vowels are the same
    // shapes), or the loudness; either way it renders and says which.
    let french = voice_note(
        dir.path(),
        "ff_siwis",
        "Bonjour à tous. Mon papa mange une pomme et boit du bon vin.",
    );
    let choice = render_note(&french, &dir.path().join("fr"));
    println!("French: {choice:?}");
    assert!(choice.phones > 0 || choice.track == Source::Loudness);

    // Chords over a kick drum: no speech to read.
    let rate = 16_000;
    let samples: Vec<f32> = (0..rate * 6)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let beat = t % 0.5;
            let root = [220.0, 262.0, 330.0, 294.0][(t / 0.5) as usize % 4];
            let chord: f32 = [1.0, 1.25, 1.5]
                .iter()
                .flat_map(|k| (1..5).map(move |h| (k, h as f32)))
                .map(|(k, h)| 0.06 / h * (2.0 * std::f32::consts::PI * root * k * h * t).sin())
                .sum();
            let kick =
                0.6 * (2.0 * std::f32::consts::PI * 60.0 * beat).sin() * (-beat * 30.0).exp();
            chord + kick
        })
        .collect();
    let music = dir.path().join("music.wav");
    Audio {
        samples,
        rate: rate as u32,
    }
    .write_wav(&music)
    .expect("wav");
    let choice = render_note(&music, &dir.path().join("music"));
    println!("music: {choice:?}");
    assert_eq!(choice.track, Source::Loudness);
    assert!(choice.reason.is_some());
}

#[test]
fn a_five_minute_voice_note_is_read_whole() {
    let pipeline = Pipeline::new(common::assets(), Device::Cpu);
    let speaker = pipeline.models().voice("af_heart").expect("voice");
    let paragraph = speaker
        .lock()
        .expect("lock")
        .speak_str(
            "Happy birthday, Anna! I hope your day is full of sunshine, good friends and far \
             too much cake. We should meet up soon: how about next Friday?",
        )
        .expect("speak");
    let mut samples = Vec::new();
    while samples.len() < paragraph.rate as usize * 300 {
        samples.extend_from_slice(&paragraph.samples);
        samples.extend(std::iter::repeat_n(0.0, paragraph.rate as usize / 3));
    }
    samples.truncate(paragraph.rate as usize * 300);
    let audio = Audio {
        samples,
        rate: paragraph.rate,
    };
    let frames = (audio.seconds() * f64::from(FPS)) as usize;
    let start = std::time::Instant::now();
    let (track, choice, phones) = track::choose(&audio, None, FPS, frames).expect("track");
    println!(
        "5 minutes read in {:.1} s: {choice:?}",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(choice.track, Source::Recogniser);
    let phones = phones.expect("phones");
    assert!(phones.span() > 295.0, "{:.1} s", phones.span());
    assert!(choice.phones > 2000, "{choice:?}");
    // The bilabials of every repetition shut the mouth, to the end.
    let shut_late = (frames * 9 / 10..frames)
        .filter(|&f| track.seal[f] >= 1.0)
        .count();
    assert!(shut_late > 10, "{shut_late} shut frames in the last 30 s");
}

#[test]
fn recognisers_on_several_threads_at_once_all_finish() {
    // PocketSphinx keeps process-wide state; decoders made on several threads at once once
    // closed each other's log file, corrupted the C library's file list and hung a render.
    let recogniser = std::sync::Arc::new(
        spinbot_farm::recogniser::Recogniser::installed().expect("PocketSphinx (make setup)"),
    );
    let pipeline = Pipeline::new(common::assets(), Device::Cpu);
    let speaker = pipeline.models().voice("af_heart").expect("voice");
    let audio = speaker
        .lock()
        .expect("lock")
        .speak_str("Bob made a map of Maple Bay. Then he went home to bake a pie for Pam.")
        .expect("speak");
    let audio = std::sync::Arc::new(audio);
    let (done, finished) = std::sync::mpsc::channel();
    let threads = 3;
    for _ in 0..threads {
        let (recogniser, audio, done) = (recogniser.clone(), audio.clone(), done.clone());
        std::thread::spawn(move || {
            let read = (0..2).all(|_| recogniser.phones(&audio).is_ok_and(|p| p.span() > 1.0));
            let _ = done.send(read);
        });
    }
    for _ in 0..threads {
        let read = finished.recv_timeout(std::time::Duration::from_secs(300));
        assert_eq!(read, Ok(true), "a recogniser hung or read nothing");
    }
}
