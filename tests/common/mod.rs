//! What the binary's black-box tests share: running `spinbot`, the test photos, voice notes
//! made with espeak-ng and ffmpeg, and ffprobe's view of a video.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const FPS: f64 = 25.0;

pub fn assets_root() -> PathBuf {
    match std::env::var_os("SPINBOT_ASSETS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => std::env::home_dir()
            .expect("home folder")
            .join(".cache/spinbot"),
    }
}

pub fn photo(name: &str) -> PathBuf {
    let path = assets_root().join("photos").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `make setup`",
        path.display()
    );
    path
}

/// The sample face: the largest face of the group photo.
pub fn face_photo() -> PathBuf {
    photo("t1.jpg")
}

pub fn spinbot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_spinbot"))
}

pub fn run(args: &[&str]) -> Output {
    spinbot().args(args).output().expect("run spinbot")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a shell tool and insists it worked.
pub fn tool(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect("run tool");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Voice notes that are playlists behind an MP3 tag (an ffconcat script naming the file
/// relatively and absolutely, and an HLS playlist), each naming `secret.wav` in `dir`: a 3 s
/// 440 Hz tone that would pass every check if it were read.
pub fn playlist_notes(dir: &Path) -> Vec<Vec<u8>> {
    let secret = dir.join("secret.wav");
    let made = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=3",
        ])
        .arg(&secret)
        .status()
        .expect("ffmpeg");
    assert!(made.success());
    [
        "ffconcat version 1.0\nfile secret.wav\n".to_owned(),
        format!("ffconcat version 1.0\nfile '{}'\n", secret.display()),
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3,\n{}\n#EXT-X-ENDLIST\n",
            secret.display()
        ),
    ]
    .iter()
    .map(|body| [&b"ID3\x04\0\0\0\0\0\0"[..], body.as_bytes()].concat())
    .collect()
}

/// A voice note saying `text`, encoded as `ext` (ogg = Opus, mp3, m4a = AAC, wav).
pub fn voice_note(dir: &Path, text: &str, ext: &str) -> PathBuf {
    let wav = dir.join("note-source.wav");
    tool(
        "espeak-ng",
        &["-v", "en-us", "-w", wav.to_str().expect("utf-8"), text],
    );
    let out = dir.join(format!("note.{ext}"));
    let codec: &[&str] = match ext {
        "ogg" => &["-c:a", "libopus", "-b:a", "32k"],
        "mp3" => &["-c:a", "libmp3lame", "-b:a", "64k"],
        "m4a" => &["-c:a", "aac", "-b:a", "64k"],
        _ => &["-c:a", "pcm_s16le"],
    };
    let mut args = vec!["-v", "error", "-y", "-i", wav.to_str().expect("utf-8")];
    args.extend_from_slice(codec);
    args.push(out.to_str().expect("utf-8"));
    tool("ffmpeg", &args);
    out
}

#[allow(unused_imports)]
pub use spinbot_testkit::media::stream_seconds as duration;

/// A received video's stream lengths (video, audio), read by ffprobe from its bytes.
pub fn lengths(video: &[u8], dir: &Path) -> (f64, f64) {
    let path = dir.join("received.mp4");
    std::fs::write(&path, video).expect("write");
    (duration(&path, "v"), duration(&path, "a"))
}

/// One stream property as ffprobe prints it.
pub fn stream_field(path: &Path, kind: &str, field: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", &format!("{kind}:0")])
        .args([
            "-show_entries",
            &format!("stream={field}"),
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// One value from a test's Postgres (`psql -tA`).
pub fn psql(port: u16, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "postgres", "-d", "spinbot", "-tAc", sql])
        .output()
        .expect("psql");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The S3 store of a test's SeaweedFS.
pub fn s3_store(server: &spinbot_testkit::SeaweedServer) -> spinbot_jobs::Store {
    use spinbot_testkit::seaweed_server::{ACCESS_KEY, BUCKET, SECRET_KEY};
    spinbot_jobs::Store::S3(spinbot_jobs::S3Store::new(
        &spinbot_core::config::S3Settings {
            endpoint: server.endpoint(),
            bucket: BUCKET.to_owned(),
            access_key: ACCESS_KEY.to_owned(),
            secret_key: SECRET_KEY.to_owned().into(),
            region: "us-east-1".to_owned(),
        },
    ))
}

/// Runs a future from a plain test thread, on a runtime of its own.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// An object's bytes from a test's S3, if it is there.
pub fn s3_get(server: &spinbot_testkit::SeaweedServer, key: &str) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("object");
    let found = block_on(s3_store(server).get_file(key, &path)).expect("S3 get");
    found.then(|| std::fs::read(&path).expect("read"))
}

/// The keys under `prefix` in a test's S3.
pub fn s3_list(server: &spinbot_testkit::SeaweedServer, prefix: &str) -> Vec<String> {
    block_on(s3_store(server).list(prefix))
        .expect("S3 list")
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}
