//! Media facts through ffprobe, for tests that check what a user would receive.

use std::path::Path;
use std::process::Command;

/// Duration of a media file's first stream of `kind` ("v" or "a"), in seconds.
pub fn stream_seconds(path: &Path, kind: &str) -> f64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", &format!("{kind}:0")])
        .args(["-show_entries", "stream=duration", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("ffprobe: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| {
            panic!(
                "no {kind} duration in {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            )
        })
}
