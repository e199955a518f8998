//! Every kind of bad input gets one clear sentence on stderr and exit status 2, never a
//! panic, and no output file.

mod common;

use common::{face_photo, photo, run, stderr, tool, voice_note};
use std::path::{Path, PathBuf};

/// Runs a render that must be refused with exit 2 and a sentence containing `expected`.
fn refused(args: &[&str], out: &Path, expected: &str) {
    let mut full = vec!["render"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["-o", out.to_str().expect("utf-8")]);
    let result = run(&full);
    let err = stderr(&result);
    assert_eq!(result.status.code(), Some(2), "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: not one line: {err}");
    let line = lines[0];
    assert!(
        line.contains(expected),
        "{args:?}: {line:?} lacks {expected:?}"
    );
    assert!(line.ends_with('.'), "{args:?}: {line:?}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(!out.exists(), "{args:?}: an output was written");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// A file of `len` bytes that starts with `head` (sparse, so it costs no disk).
fn big_file(dir: &Path, name: &str, head: &[u8], len: u64) -> PathBuf {
    let path = write(dir, name, head);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(len))
        .expect("grow");
    path
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

#[test]
fn bad_photos_are_refused_with_a_sentence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.mp4");
    let say = ["--say", "hello"];

    let text_file = write(dir.path(), "photo.jpg", b"this is not a picture at all");
    refused(
        &[&["--photo", s(&text_file)][..], &say].concat(),
        &out,
        "isn't a JPEG, PNG or WebP",
    );

    let missing = dir.path().join("nope.jpg");
    refused(
        &[&["--photo", s(&missing)][..], &say].concat(),
        &out,
        "does not exist",
    );

    let huge = big_file(
        dir.path(),
        "huge.jpg",
        &[0xFF, 0xD8, 0xFF, 0xE0],
        21_000_000,
    );
    refused(
        &[&["--photo", s(&huge)][..], &say].concat(),
        &out,
        "the limit is 20 MB",
    );

    // A real JPEG whose frame header claims 10000 x 5000 pixels (no checksum to fix).
    let mut jpeg = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(8, 8)
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .expect("jpeg");
    let mut jpeg = jpeg.into_inner();
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("SOF0 marker");
    jpeg[sof + 5..sof + 7].copy_from_slice(&5_000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&10_000u16.to_be_bytes());
    let bomb = write(dir.path(), "bomb.jpg", &jpeg);
    refused(
        &[&["--photo", s(&bomb)][..], &say].concat(),
        &out,
        "50.0 megapixels",
    );

    let full = std::fs::read(face_photo()).expect("photo");
    let truncated = write(dir.path(), "cut.jpg", &full[..full.len() / 3]);
    refused(
        &[&["--photo", s(&truncated)][..], &say].concat(),
        &out,
        "damaged or truncated",
    );

    let fruits = photo("fruits.jpg");
    refused(
        &[&["--photo", s(&fruits)][..], &say].concat(),
        &out,
        "I couldn't find a face in that photo.",
    );
}

#[test]
fn bad_text_and_options_are_refused_with_a_sentence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.mp4");
    let photo = face_photo();
    let p = ["--photo", s(&photo)];
    refused(
        &[&p[..], &["--say", "   \n "]].concat(),
        &out,
        "There is no text to speak.",
    );
    let giant = "word ".repeat(300);
    refused(
        &[&p[..], &["--say", &giant]].concat(),
        &out,
        "the limit is 1000",
    );
    refused(
        &[&p[..], &["--say", "hi", "--voice", "../../etc/passwd"]].concat(),
        &out,
        "There is no voice called",
    );
    refused(
        &[&p[..], &["--say", "hi", "--voice", "nobody"]].concat(),
        &out,
        "There is no voice called",
    );
    refused(
        &[&p[..], &["--say", "hi", "--size", "513"]].concat(),
        &out,
        "The size must be",
    );
    refused(
        &[&p[..], &["--say", "hi", "--device", "tpu"]].concat(),
        &out,
        "The device must be",
    );
}

#[test]
fn bad_voice_notes_are_refused_with_a_sentence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.mp4");
    let photo = face_photo();
    let p = ["--photo", s(&photo)];

    let not_audio = write(
        dir.path(),
        "note.ogg",
        b"plain text pretending to be a voice note",
    );
    refused(
        &[&p[..], &["--voice-note", s(&not_audio)]].concat(),
        &out,
        "isn't OGG/Opus, WebM, MP3, M4A or WAV",
    );

    let huge = big_file(dir.path(), "huge.ogg", b"OggS", 21_000_000);
    refused(
        &[&p[..], &["--voice-note", s(&huge)]].concat(),
        &out,
        "the limit is 20 MB",
    );

    let long = dir.path().join("long.ogg");
    tool(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=220:duration=310",
            "-c:a",
            "libopus",
            "-b:a",
            "16k",
            s(&long),
        ],
    );
    refused(
        &[&p[..], &["--voice-note", s(&long)]].concat(),
        &out,
        "the limit is 5 minutes",
    );

    let good = voice_note(
        dir.path(),
        "A voice note that will be cut short in the middle.",
        "ogg",
    );
    let bytes = std::fs::read(&good).expect("note");
    let cut = write(dir.path(), "cut.ogg", &bytes[..bytes.len() / 2]);
    refused(
        &[&p[..], &["--voice-note", s(&cut)]].concat(),
        &out,
        "damaged or truncated",
    );

    let silent = dir.path().join("silent.wav");
    tool(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=22050:cl=mono",
            "-t",
            "3",
            s(&silent),
        ],
    );
    refused(
        &[&p[..], &["--voice-note", s(&silent)]].concat(),
        &out,
        "silent or empty",
    );
}

#[test]
fn playlists_posing_as_voice_notes_never_reach_their_neighbour() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.mp4");
    let photo = face_photo();
    let notes = common::playlist_notes(dir.path());
    assert!(!notes.is_empty());
    for bytes in &notes {
        let body = String::from_utf8_lossy(bytes);
        let note = write(dir.path(), "note.mp3", bytes);
        let result = run(&[
            "render",
            "--photo",
            s(&photo),
            "--voice-note",
            s(&note),
            "-o",
            s(&out),
        ]);
        let err = stderr(&result);
        assert_eq!(result.status.code(), Some(2), "{body}: {err}");
        assert!(
            err.contains("damaged or truncated") || err.contains("silent or empty"),
            "{body}: {err}"
        );
        assert!(!out.exists(), "{body}: a video was made from the neighbour");
    }
}
