//! `spinbot render` end to end with the real weights: from text and from a voice note, the
//! MP4's streams, lengths and layout, sizes, a size budget, and resuming from stored stages.

mod common;

use common::{duration, face_photo, run, stderr, stream_field, voice_note, FPS};
use std::path::Path;

struct Finished {
    stdout_text: String,
    stderr_text: String,
}

fn render_ok(args: &[&str]) -> Finished {
    let out = run(args);
    assert!(out.status.success(), "render failed: {}", stderr(&out));
    Finished {
        stdout_text: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr_text: stderr(&out),
    }
}

/// The top-level MP4 boxes in file order.
fn top_level_boxes(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).expect("read mp4");
    let mut boxes = Vec::new();
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        boxes.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
        if size < 8 {
            break;
        }
        at += size;
    }
    boxes
}

fn assert_lengths_match(video: &Path, speech_seconds: f64) {
    let v = duration(video, "v");
    let a = duration(video, "a");
    assert!(
        (v - a).abs() <= 1.0 / FPS + 1e-6,
        "video {v:.3} s, audio {a:.3} s"
    );
    assert!(
        (a - speech_seconds).abs() <= 1.0 / FPS,
        "audio {a:.3} s, speech {speech_seconds:.3} s"
    );
}

#[test]
fn renders_text_into_a_playable_mp4() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.mp4");
    let work = dir.path().join("job");
    let photo = face_photo();
    let last = render_ok(&[
        "render",
        "--photo",
        photo.to_str().expect("utf-8"),
        "--say",
        "Happy birthday, Anna! I hope your day is wonderful.",
        "--work-dir",
        work.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    // Not a terminal: no progress bar, no logs; stdout is the output path alone.
    assert_eq!(last.stderr_text, "", "stderr not quiet");
    assert_eq!(last.stdout_text.trim(), out.to_str().expect("utf-8"));
    assert_eq!(stream_field(&out, "v", "codec_name"), "h264");
    assert_eq!(stream_field(&out, "v", "pix_fmt"), "yuv420p");
    // The whole photo (1280 x 886) at its own aspect, its short side capped at 720.
    assert_eq!(stream_field(&out, "v", "width"), "1040");
    assert_eq!(stream_field(&out, "v", "height"), "720");
    assert_eq!(stream_field(&out, "v", "r_frame_rate"), "25/1");
    assert_eq!(stream_field(&out, "a", "codec_name"), "aac");
    // +faststart: the index comes before the media data.
    let boxes = top_level_boxes(&out);
    let moov = boxes.iter().position(|b| b == "moov").expect("moov box");
    let mdat = boxes.iter().position(|b| b == "mdat").expect("mdat box");
    assert!(moov < mdat, "{boxes:?}");
    // Every stage left its output; the speech is a few seconds long.
    for file in ["speech.wav", "face.json", "video.mp4"] {
        assert!(work.join(file).is_file(), "{file} missing");
    }
    let speech = hound::WavReader::open(work.join("speech.wav")).expect("speech.wav");
    let seconds = f64::from(speech.duration()) / f64::from(speech.spec().sample_rate);
    assert!(seconds > 2.0 && seconds < 8.0, "speech {seconds} s");
    assert_lengths_match(&out, seconds);
}

#[test]
fn renders_a_voice_note_at_its_own_length() {
    let dir = tempfile::tempdir().expect("tempdir");
    let note = voice_note(
        dir.path(),
        "This is my voice note. It should come back as a video.",
        "ogg",
    );
    let note_seconds = duration(&note, "a");
    let out = dir.path().join("out.mp4");
    let photo = face_photo();
    render_ok(&[
        "render",
        "--photo",
        photo.to_str().expect("utf-8"),
        "--voice-note",
        note.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_lengths_match(&out, note_seconds);
}

#[test]
fn sizes_and_a_size_budget_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let photo = face_photo();
    let out = dir.path().join("up.mp4");
    render_ok(&[
        "render",
        "--photo",
        photo.to_str().expect("utf-8"),
        "--say",
        "Small and sharp.",
        "--crop",
        "face",
        "--size",
        "192",
        "--upscale",
        "2",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(stream_field(&out, "v", "width"), "384");
    assert_eq!(stream_field(&out, "v", "height"), "384");
    let out = dir.path().join("capped.mp4");
    render_ok(&[
        "render",
        "--photo",
        photo.to_str().expect("utf-8"),
        "--say",
        "Small.",
        "--max-side",
        "300",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(stream_field(&out, "v", "width"), "432");
    assert_eq!(stream_field(&out, "v", "height"), "300");

    let budget = 60_000u64;
    let out = dir.path().join("small.mp4");
    render_ok(&[
        "render",
        "--photo",
        photo.to_str().expect("utf-8"),
        "--say",
        "This clip has to fit into a very small file, so the bitrate must be low.",
        "--max-bytes",
        &budget.to_string(),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    let size = std::fs::metadata(&out).expect("size").len();
    assert!(size <= budget, "{size} bytes > {budget}");
    assert!(size > budget / 4, "{size} bytes: the budget was not used");
}

#[test]
fn resumes_from_stored_stage_outputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("job");
    let photo = face_photo();
    let out = dir.path().join("out.mp4");
    let args = [
        "render",
        "--photo",
        photo.to_str().expect("utf-8"),
        "--say",
        "Say it once.",
        "--work-dir",
        work.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ];
    render_ok(&args);
    let speech_before = std::fs::read(work.join("speech.wav")).expect("speech");
    let face_before = std::fs::metadata(work.join("face.json"))
        .and_then(|m| m.modified())
        .expect("face");
    // The render stage is lost (as when a worker dies mid-render): only it runs again.
    std::fs::remove_file(work.join("video.mp4")).expect("remove video");
    render_ok(&args);
    assert_eq!(
        std::fs::read(work.join("speech.wav")).expect("speech"),
        speech_before
    );
    let face_after = std::fs::metadata(work.join("face.json"))
        .and_then(|m| m.modified())
        .expect("face");
    assert_eq!(face_before, face_after);
    assert!(work.join("video.mp4").is_file());
}

#[test]
fn runs_from_an_empty_environment_with_only_the_libtorch_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let note = voice_note(dir.path(), "Nothing but the library path.", "mp3");
    let photo = face_photo();
    let libtorch = std::env::var("LD_LIBRARY_PATH").expect("the cargo runner sets LD_LIBRARY_PATH");
    for speech in [
        ["--say", "Nothing but the library path."],
        ["--voice-note", note.to_str().expect("utf-8")],
    ] {
        let out_file = dir.path().join("bare.mp4");
        let mut cmd = common::spinbot();
        cmd.env_clear().env("LD_LIBRARY_PATH", &libtorch);
        if let Some(assets) = std::env::var_os("SPINBOT_ASSETS") {
            cmd.env("SPINBOT_ASSETS", assets);
        }
        let out = cmd
            .args(["render", "--photo", photo.to_str().expect("utf-8")])
            .args(speech)
            .args(["-o", out_file.to_str().expect("utf-8")])
            .output()
            .expect("run");
        assert!(out.status.success(), "{speech:?}: {}", stderr(&out));
        assert!(duration(&out_file, "v") > 1.0);
        std::fs::remove_file(&out_file).expect("remove");
    }
    // `voices` and `plan` need nothing else either.
    for args in [
        &["voices"][..],
        &["plan", "--user", "cli:anna", "say hello"],
    ] {
        let mut cmd = common::spinbot();
        cmd.env_clear().env("LD_LIBRARY_PATH", &libtorch);
        if let Some(assets) = std::env::var_os("SPINBOT_ASSETS") {
            cmd.env("SPINBOT_ASSETS", assets);
        }
        let out = cmd.args(args).output().expect("run");
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn lists_voices() {
    let out = run(&["voices", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let voices: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<&str> = voices
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert!(names.contains(&"en_US-joe-medium"), "{names:?}");
}

/// Frame `n` of `video` as RGB24 bytes.
fn frame_rgb(video: &Path, n: u32) -> Vec<u8> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(video)
        .args(["-vf", &format!("select=eq(n\\,{n})"), "-frames:v", "1"])
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg");
    assert!(out.status.success(), "{}", stderr(&out));
    out.stdout
}

#[test]
fn every_video_is_marked_ai_generated_in_a_corner_and_in_its_tags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let photo = face_photo();
    // One voice note for both: synthesised speech varies from run to run (Piper's noise),
    // and so would the mouth.
    let note = voice_note(dir.path(), "Hello there, this is marked.", "ogg");
    let render = |name: &str, mark: &str| {
        let path = dir.path().join(name);
        let out = common::spinbot()
            .args(["render", "--photo", photo.to_str().expect("utf-8")])
            .args(["--voice-note", note.to_str().expect("utf-8")])
            .args(["-o", path.to_str().expect("utf-8")])
            .env("SPINBOT_MARK", mark)
            .output()
            .expect("render");
        assert!(out.status.success(), "{}", stderr(&out));
        path
    };
    let (marked, plain) = (render("marked.mp4", "on"), render("plain.mp4", "off"));
    let width: u32 = stream_field(&marked, "v", "width").parse().expect("width");
    let height: u32 = stream_field(&marked, "v", "height")
        .parse()
        .expect("height");
    let (a, b) = (frame_rgb(&marked, 10), frame_rgb(&plain, 10));
    assert_eq!(a.len(), (width * height * 3) as usize);
    assert_eq!(a.len(), b.len());
    // Clear differences (beyond the encoder's noise) lie in the label's box (with one
    // 16-pixel block around it for the encoder's own), and there are many of them there.
    let (left, top, right, bottom, _) = spinbot_farm::mark::label_box(width, height);
    let near =
        |x: usize, y: usize| x + 16 >= left && x < right + 16 && y + 16 >= top && y < bottom + 16;
    let (mut inside, mut outside) = (0, Vec::new());
    for (i, (p, q)) in a.chunks(3).zip(b.chunks(3)).enumerate() {
        let diff = p
            .iter()
            .zip(q)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0);
        if diff > 48 {
            let (x, y) = (i % width as usize, i / width as usize);
            if near(x, y) {
                inside += 1;
            } else {
                outside.push((x, y));
            }
        }
    }
    // Two renders of one input may still differ in a few isolated pixels (threads in the
    // renderer and the encoder): a handful, against hundreds in the label.
    assert!(
        outside.len() <= 20,
        "{} pixels changed outside the corner: {:?}",
        outside.len(),
        &outside[..outside.len().min(10)]
    );
    assert!(inside > 200, "{inside} pixels marked");
    // The tag is there with or without the visible label.
    for video in [&marked, &plain] {
        let out = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-show_entries", "format_tags=comment"])
            .args(["-of", "default=nw=1:nk=1"])
            .arg(video)
            .output()
            .expect("ffprobe");
        let tag = String::from_utf8_lossy(&out.stdout);
        assert!(tag.contains("AI-generated"), "{tag}");
    }
}
