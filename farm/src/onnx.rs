//! ONNX Runtime, loaded once per process from the assets folder, and sessions on it.

use crate::assets::Assets;
use crate::error::FarmError;
use ort::environment::Environment;
use ort::session::Session;
use std::path::Path;
use std::sync::OnceLock;

static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

fn environment(assets: &Assets) -> Result<&'static Environment, FarmError> {
    ENVIRONMENT
        .get_or_init(|| {
            let lib = assets.onnxruntime_library().map_err(|e| e.to_string())?;
            tracing::debug!(library = %lib.display(), "loading ONNX Runtime");
            ort::init_from(&lib)
                .map_err(|e| format!("cannot load {}: {e}", lib.display()))?
                .with_name("spinbot")
                .build()
                .map_err(|e| format!("cannot start ONNX Runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| FarmError::Assets(e.clone()))
}

/// A session for the model at `path`, using `threads` intra-op threads.
pub fn session(assets: &Assets, path: &Path, threads: usize) -> Result<Session, FarmError> {
    let env = environment(assets)?;
    let model_error = |e: String| FarmError::Model(format!("{}: {e}", path.display()));
    Session::builder(env)
        .map_err(|e| model_error(e.to_string()))?
        .with_intra_threads(threads)
        .map_err(|e| model_error(e.to_string()))?
        .commit_from_file(path)
        .map_err(|e| model_error(e.to_string()))
}

/// Threads for one model: the machine's cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
