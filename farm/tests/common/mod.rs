//! What the farm's tests share: the assets folder and its test photos.

#![allow(dead_code)]

use spinbot_farm::Assets;
use std::path::PathBuf;

pub fn assets() -> Assets {
    Assets::at(spinbot_core::Config::load().expect("configuration").assets)
}

/// A test photo that `make setup` put in the assets folder.
pub fn photo(name: &str) -> PathBuf {
    let path = assets().root().join("photos").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `make setup`",
        path.display()
    );
    path
}

/// The pinned Python with piper-tts that `make setup` installed.
pub fn reference_python() -> PathBuf {
    let path = assets().root().join("venv").join("bin").join("python");
    assert!(
        path.is_file(),
        "{} is missing: run `make setup`",
        path.display()
    );
    path
}
