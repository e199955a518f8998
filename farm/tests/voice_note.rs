//! Voice notes in every accepted container decode to the note's own length.

mod common;

use spinbot_farm::audio::decode_voice_note;
use std::process::Command;

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect("run");
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_container_decodes_at_its_length() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source.wav");
    let text = "Testing one two three, this is a voice note in several containers.";
    run(
        "espeak-ng",
        &["-v", "en-us", "-w", source.to_str().expect("utf-8"), text],
    );
    for (ext, codec) in [
        ("ogg", "libopus"),
        ("mp3", "libmp3lame"),
        ("m4a", "aac"),
        ("wav", "pcm_s16le"),
    ] {
        let note = dir.path().join(format!("note.{ext}"));
        run(
            "ffmpeg",
            &[
                "-v",
                "error",
                "-y",
                "-i",
                source.to_str().expect("utf-8"),
                "-c:a",
                codec,
                note.to_str().expect("utf-8"),
            ],
        );
        let audio = decode_voice_note(&note, 22_050).unwrap_or_else(|e| panic!("{ext}: {e}"));
        assert_eq!(audio.rate, 22_050);
        let expected = spinbot_testkit::media::stream_seconds(&source, "a");
        // Lossy codecs pad a few milliseconds at the ends.
        assert!(
            (audio.seconds() - expected).abs() < 0.06,
            "{ext}: {} s vs {expected} s",
            audio.seconds()
        );
        assert!(audio.rms() > 0.01, "{ext}: silent");
    }
}
