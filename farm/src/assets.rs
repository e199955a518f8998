//! Where the farm's files live: the assets folder that `make setup` fills (ONNX Runtime,
//! Piper voices, Kokoro, face models), named by the configuration (`SPINBOT_ASSETS`, default
//! `~/.cache/spinbot`).

use crate::error::FarmError;
use spinbot_core::limits::ASSETS_ENV;
use std::path::{Path, PathBuf};

/// The assets folder.
#[derive(Debug, Clone)]
pub struct Assets {
    root: PathBuf,
}

impl Assets {
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// ONNX Runtime's shared library (`onnxruntime/libonnxruntime.so.*`).
    pub fn onnxruntime_library(&self) -> Result<PathBuf, FarmError> {
        let dir = self.root.join("onnxruntime");
        let entries = std::fs::read_dir(&dir).map_err(|_| self.missing(&dir))?;
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("libonnxruntime.so."))
            })
            .ok_or_else(|| self.missing(&dir.join("libonnxruntime.so.*")))
    }

    /// The folder of Piper voices (`NAME.onnx` with `NAME.onnx.json`).
    pub fn voices_dir(&self) -> PathBuf {
        self.root.join("voices")
    }

    /// Kokoro-82M: `kokoro.onnx`, `vocab.json` and `voices/NAME.bin`.
    pub fn kokoro_dir(&self) -> PathBuf {
        self.root.join("kokoro")
    }

    /// A face model (`pnet`, `rnet`, `onet`, `face_landmark`) as an ONNX file.
    pub fn face_model(&self, name: &str) -> Result<PathBuf, FarmError> {
        self.existing(self.root.join("face").join(format!("{name}.onnx")))
    }

    /// A file that must exist, or an error that says how to get it.
    pub fn existing(&self, path: PathBuf) -> Result<PathBuf, FarmError> {
        if path.is_file() {
            Ok(path)
        } else {
            Err(self.missing(&path))
        }
    }

    fn missing(&self, path: &Path) -> FarmError {
        FarmError::Assets(format!(
            "{} is missing; run `make setup` (or set {ASSETS_ENV} to the assets folder)",
            path.display()
        ))
    }
}
