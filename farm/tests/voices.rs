//! Every installed voice speaks, whatever its engine, and Kokoro's output is the reference
//! onnxruntime's on the same symbols.

mod common;

use spinbot_core::timbre::{measure, nearest};
use spinbot_core::VoiceEntry;
use spinbot_farm::kokoro::{self, Model};
use spinbot_farm::voices::{list_voices, sample_sentence, Engine};
use spinbot_farm::Pipeline;
use std::process::Command;
use std::sync::{Arc, Mutex};
use tch::Device;

/// The share of 20 ms frames louder than a tenth of the clip's loudest frame.
fn voiced_share(samples: &[f32], rate: u32) -> f64 {
    let frame = (rate / 50) as usize;
    let energies: Vec<f64> = samples
        .chunks(frame)
        .map(|c| c.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / c.len() as f64)
        .collect();
    let loudest = energies.iter().cloned().fold(0.0, f64::max);
    energies.iter().filter(|e| **e > loudest / 100.0).count() as f64 / energies.len() as f64
}

#[test]
fn every_installed_voice_speaks_a_sentence() {
    let assets = common::assets();
    let voices = list_voices(&assets).expect("voices");
    let kokoro = voices.iter().filter(|v| v.engine == Engine::Kokoro).count();
    assert!(
        kokoro >= 40,
        "only {kokoro} Kokoro voices: run `make setup`"
    );
    assert!(voices.iter().any(|v| v.engine == Engine::Piper));
    let pipeline = Pipeline::new(assets, Device::Cpu);
    for info in &voices {
        let text = sample_sentence(&info.language);
        let voice = pipeline.models().voice(&info.name).expect("voice loads");
        let mut voice = voice.lock().expect("voice lock");
        let audio = voice
            .speak_str(text)
            .unwrap_or_else(|e| panic!("{}: {e}", info.name));
        assert_eq!(audio.rate, info.sample_rate, "{}", info.name);
        let seconds = audio.seconds();
        let per_char = seconds / text.chars().count() as f64;
        let rms = (audio
            .samples
            .iter()
            .map(|s| f64::from(*s).powi(2))
            .sum::<f64>()
            / audio.samples.len() as f64)
            .sqrt();
        let voiced = voiced_share(&audio.samples, audio.rate);
        let clipped = audio.samples.iter().filter(|s| s.abs() >= 0.999).count();
        println!(
            "{:22} {:6} {:6.2} s  {:.3} s/char  rms {rms:.3}  voiced {voiced:.2}  clipped {clipped}",
            info.name, info.language, seconds, per_char
        );
        // Duration in proportion to the text: a few characters per tenth of a second.
        assert!(
            (0.02..0.25).contains(&per_char),
            "{}: {seconds:.2} s for {} characters",
            info.name,
            text.chars().count()
        );
        assert!(rms > 0.03, "{}: rms {rms:.3}", info.name);
        assert!(
            (0.3..=1.0).contains(&voiced),
            "{}: voiced {voiced:.2}",
            info.name
        );
        assert!(audio
            .samples
            .iter()
            .all(|s| s.is_finite() && s.abs() <= 1.0));
        assert!(
            clipped < 20,
            "{}: {clipped} samples at full scale",
            info.name
        );
    }
}

#[test]
fn kokoro_matches_the_reference_onnxruntime_on_the_same_symbols() {
    let assets = common::assets();
    let model = Arc::new(Mutex::new(Model::load(&assets).expect("kokoro model")));
    let sentences = [
        (
            "af_heart",
            "Happy birthday, Anna! I hope you have a wonderful day.",
        ),
        (
            "bm_george",
            "Please call me back when you get this message.",
        ),
        ("ef_dora", "¿Nos vemos mañana a las diez?"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in sentences {
        let mut voice = kokoro::Voice::load(&assets, name, model.clone()).expect("voice");
        let symbols = voice.symbols(text).expect("symbols");
        assert!(!symbols.is_empty());
        let ids: Vec<Vec<i64>> = symbols
            .iter()
            .map(|s| model.lock().expect("model").ids(s))
            .collect();
        assert!(ids.iter().all(|i| i.len() > 5));
        let ours = voice.speak(text).expect("speak");

        // The reference runs each piece and peak-normalises it, as ours does.
        let script = r#"
import json, sys, numpy as np, onnxruntime as ort
model, voice, pieces, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
styles = np.fromfile(voice, dtype="<f4").reshape(-1, 256)
session = ort.InferenceSession(model)
audio = []
for ids in pieces:
    clip = session.run(None, {
        "tokens": np.array([[0] + ids + [0]], dtype=np.int64),
        "style": styles[min(len(ids), len(styles) - 1)][None, :].astype(np.float32),
        "speed": np.array([1.0], dtype=np.float32),
    })[0].reshape(-1)
    peak = np.abs(clip).max()
    assert 0.05 < peak < 4.0, peak
    audio.append(clip / peak)
np.concatenate(audio).astype("<f4").tofile(out)
"#;
        let out = dir.path().join(format!("{name}.f32"));
        let status = Command::new(common::reference_python())
            .arg("-c")
            .arg(script)
            .arg(assets.kokoro_dir().join("kokoro.onnx"))
            .arg(
                assets
                    .kokoro_dir()
                    .join("voices")
                    .join(format!("{name}.bin")),
            )
            .arg(serde_json::to_string(&ids).expect("json"))
            .arg(&out)
            .status()
            .expect("run the reference");
        assert!(status.success(), "the reference failed");
        let reference: Vec<f32> = std::fs::read(&out)
            .expect("reference output")
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(ours.samples.len(), reference.len(), "{name}: length");
        let (mut dot, mut aa, mut bb) = (0f64, 0f64, 0f64);
        for (a, b) in ours.samples.iter().zip(&reference) {
            dot += f64::from(*a) * f64::from(*b);
            aa += f64::from(*a).powi(2);
            bb += f64::from(*b).powi(2);
        }
        let corr = dot / (aa.sqrt() * bb.sqrt());
        println!("{name}: {} samples, correlation {corr:.5}", reference.len());
        assert!(corr > 0.999, "{name}: correlation {corr:.5}");
    }
}

/// A voice note from a speaker espeak-ng makes, at a base pitch (0-99), as Telegram sends
/// them (OGG/Opus), decoded as the bot decodes notes.
fn espeak_note(dir: &std::path::Path, variant: &str, pitch: &str) -> spinbot_farm::audio::Audio {
    let wav = dir.join(format!("{variant}-{pitch}.wav"));
    let ogg = dir.join(format!("{variant}-{pitch}.ogg"));
    let said = Command::new("espeak-ng")
        .args(["-v", variant, "-p", pitch, "-w"])
        .arg(&wav)
        .arg("Hi, it's me. Can you make my video say happy birthday to my sister tomorrow?")
        .status()
        .expect("espeak-ng runs");
    assert!(said.success());
    let encoded = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&wav)
        .args(["-c:a", "libopus", "-b:a", "32k"])
        .arg(&ogg)
        .status()
        .expect("ffmpeg runs");
    assert!(encoded.success());
    spinbot_farm::audio::decode_voice_note(&ogg, 16_000).expect("the note decodes")
}

#[test]
fn a_voice_note_picks_the_voice_nearest_its_pitch() {
    let assets = common::assets();
    let voices = list_voices(&assets).expect("voices");
    let pipeline = Pipeline::new(assets, Device::Cpu);
    let figures = spinbot_farm::voices::measure(&pipeline, &voices, |_| {}).expect("measured");
    assert_eq!(figures.len(), voices.len(), "every voice has figures");
    let entries: Vec<VoiceEntry> = voices
        .iter()
        .map(|v| VoiceEntry {
            timbre: figures.get(&v.name).copied(),
            ..v.entry()
        })
        .collect();
    let median = |gender: &str| {
        let mut p: Vec<f32> = entries
            .iter()
            .filter(|v| v.gender == gender)
            .filter_map(|v| v.timbre.map(|t| t.pitch_hz))
            .collect();
        p.sort_by(f32::total_cmp);
        p[p.len() / 2]
    };
    let (women, men) = (median("female"), median("male"));
    println!("median pitch: women {women:.0} Hz, men {men:.0} Hz");
    assert!(women > 1.4 * men, "women {women:.0} Hz, men {men:.0} Hz");
    let dir = tempfile::tempdir().expect("tempdir");
    for (variant, base, high) in [("en-us+f3", "80", true), ("en-us", "10", false)] {
        let note = espeak_note(dir.path(), variant, base);
        let timbre = measure(&note.samples, note.rate).expect("the note is voiced");
        let chosen = nearest(&timbre, &entries).expect("a voice");
        let pitch = chosen.timbre.map_or(0.0, |t| t.pitch_hz);
        println!(
            "{variant} -p {base}: note {:.0} Hz {:.0} Hz -> {} {pitch:.0} Hz",
            timbre.pitch_hz, timbre.brightness_hz, chosen.name
        );
        if high {
            assert!(pitch > 170.0, "{}: {pitch:.0} Hz", chosen.name);
        } else {
            assert!(pitch < 140.0, "{}: {pitch:.0} Hz", chosen.name);
        }
    }
}
