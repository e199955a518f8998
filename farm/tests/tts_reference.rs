//! Our Piper synthesis against the reference implementation, `piper-tts==1.8.0`, with the
//! noise scales at zero so both are deterministic: same length within 2% and the same
//! spectrum.

mod common;

use spinbot_farm::audio::Audio;
use spinbot_farm::tts::{Scales, Voice};
use std::path::Path;
use std::process::Command;
use tch::{Kind, Tensor};

const SENTENCES: [&str; 5] = [
    "Happy birthday, Anna! I hope you have a wonderful day.",
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back when you get this message; it's about Friday's meeting.",
    "Hello there",
    "Wait... really? That costs 3.5 dollars: I can't believe it!",
];

const VOICE: &str = "en_US-joe-medium";

/// Runs piper-tts on each sentence, writing `ref-N.wav` into `dir`.
fn reference_wavs(dir: &Path) {
    let model = common::assets()
        .root()
        .join("voices")
        .join(format!("{VOICE}.onnx"));
    let script = r#"
import json, sys, wave
from piper import PiperVoice, SynthesisConfig
voice = PiperVoice.load(sys.argv[1])
config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, length_scale=1.0)
for i, text in enumerate(json.loads(sys.argv[3])):
    with wave.open(f"{sys.argv[2]}/ref-{i}.wav", "wb") as w:
        voice.synthesize_wav(text, w, syn_config=config)
"#;
    let status = Command::new(common::reference_python())
        .arg("-c")
        .arg(script)
        .arg(&model)
        .arg(dir)
        .arg(serde_json::to_string(&SENTENCES).expect("json"))
        .status()
        .expect("run piper-tts");
    assert!(status.success(), "piper-tts failed");
}

/// Log-magnitude spectrogram `[bins, frames]` (1024-point STFT, hop 256).
fn log_spectrogram(audio: &Audio) -> Tensor {
    let signal = Tensor::from_slice(&audio.samples);
    let window = Tensor::hann_window(1024, (Kind::Float, tch::Device::Cpu));
    let spec = signal.stft(1024, 256, 1024, Some(&window), false, true, true, false);
    (spec.abs() + 1e-5).log10() * 20.0
}

#[test]
fn matches_piper_reference_in_length_and_spectrum() {
    let dir = tempfile::tempdir().expect("tempdir");
    reference_wavs(dir.path());
    let mut voice = Voice::load(&common::assets(), VOICE).expect("voice");
    let quiet = Scales {
        noise_scale: 0.0,
        length_scale: 1.0,
        noise_w: 0.0,
    };
    for (i, text) in SENTENCES.iter().enumerate() {
        let reference = Audio::read_wav(&dir.path().join(format!("ref-{i}.wav"))).expect("ref wav");
        let ours = voice.speak_with(text, quiet).expect("speak");
        assert_eq!(ours.rate, reference.rate);

        let ratio = ours.seconds() / reference.seconds();
        assert!(
            (ratio - 1.0).abs() <= 0.02,
            "{text:?}: ours {:.3} s, reference {:.3} s",
            ours.seconds(),
            reference.seconds()
        );

        // Spectrum: frame by frame over the common length, in decibels.
        let (a, b) = (log_spectrogram(&ours), log_spectrogram(&reference));
        let frames = a.size()[1].min(b.size()[1]);
        let (a, b) = (a.narrow(1, 0, frames), b.narrow(1, 0, frames));
        let mean_db = (&a - &b).abs().mean(Kind::Float).double_value(&[]);
        let stacked = Tensor::stack(&[a.flatten(0, -1), b.flatten(0, -1)], 0);
        let corr = stacked.corrcoef().double_value(&[0, 1]);
        println!("{text:?}: length ratio {ratio:.4}, spectral distance {mean_db:.2} dB, correlation {corr:.4}");
        assert!(corr > 0.95, "{text:?}: spectrogram correlation {corr:.4}");
        assert!(
            mean_db < 3.0,
            "{text:?}: mean spectral distance {mean_db:.2} dB"
        );
    }
}
