//! The spinbot render farm: assets and models, input checks, speech (Piper or Kokoro TTS
//! behind one interface, or a voice note), the face (detection and mesh), frames on
//! libtorch, and the encode, joined by the pipeline that runs a plan's stages with stored
//! outputs (models shared by a process's render slots), the devices, and the worker that
//! takes jobs from the job plane.

pub mod assets;
pub mod audio;
pub mod device;
pub mod encode;
pub mod error;
pub mod face;
pub mod input;
pub mod kokoro;
pub mod lipsync;
pub mod mark;
pub mod onnx;
pub mod phonemize;
pub mod pipeline;
pub mod recogniser;
pub mod render;
pub mod speech;
pub mod tts;
pub mod voices;
pub mod worker;

pub use assets::Assets;
pub use error::FarmError;
pub use pipeline::{Models, Pipeline, Progress, Renders};
