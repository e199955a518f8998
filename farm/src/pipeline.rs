//! The farm's pipeline for one plan: speech -> face -> render, each stage writing its output
//! into the job's folder (`speech.wav` with the engine's `phones.json`, `face.json`,
//! `video.mp4` with `mouth.json` saying what the mouth followed) and skipped when that
//! output is already there, so an interrupted job resumes after its last finished stage.
//! The models are loaded once per process and shared by every render slot. All of it is
//! blocking work: async callers run it on a blocking thread.

use crate::assets::Assets;
use crate::audio::{decode_voice_note, Audio};
use crate::encode::{self, EncodeSettings, Encoder};
use crate::error::FarmError;
use crate::face::{FaceAnalyzer, FaceData};
use crate::input::{check_voice_note, load_photo};
use crate::kokoro;
use crate::lipsync::phones::{Phones, Timing};
use crate::lipsync::track::{self, Choice};
use crate::lipsync::LipSync;
use crate::render::{upscale_frames, View};
use crate::speech::Speaker;
use image::RgbImage;
use spinbot_core::limits::DEFAULT_MAX_SIDE;
use spinbot_core::{Plan, Speech, Stage};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tch::Device;

/// Frames handed to the encoder at a time.
const FRAME_BATCH: usize = 25;
/// Sample rate of voice notes once decoded.
pub const VOICE_NOTE_RATE: u32 = 22_050;
/// The speech engine's phone times, next to `speech.wav`.
pub const PHONES_FILE: &str = "phones.json";
/// What the mouth followed, next to `video.mp4`.
pub const MOUTH_FILE: &str = "mouth.json";

/// What a worker's render slot runs for a job: the pipeline, or, in `spinbot bench load`,
/// a stand-in that measures the job plane without rendering. Blocking: run on a blocking
/// thread.
pub trait Renders: Send + Sync {
    /// Where it runs (for the worker's log).
    fn device(&self) -> Device;

    /// Runs `plan` in `work_dir` (stored stage outputs are already there); returns the video.
    fn run(
        &self,
        plan: &Plan,
        work_dir: &Path,
        progress: &mut dyn Progress,
    ) -> Result<PathBuf, FarmError>;
}

impl Renders for Pipeline {
    fn device(&self) -> Device {
        self.device
    }

    fn run(
        &self,
        plan: &Plan,
        work_dir: &Path,
        progress: &mut dyn Progress,
    ) -> Result<PathBuf, FarmError> {
        Pipeline::run(self, plan, work_dir, progress)
    }
}

/// Told how far a job has come: the stage and the fraction of it done (0..=1). A stage
/// reports 0 only when it really runs (not when its stored output is reused) and 1 when its
/// output is stored. Asked between steps whether to stop.
pub trait Progress {
    fn update(&mut self, stage: Stage, fraction: f64);

    fn cancelled(&self) -> bool {
        false
    }
}

impl<F: FnMut(Stage, f64)> Progress for F {
    fn update(&mut self, stage: Stage, fraction: f64) {
        self(stage, fraction)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The loaded models, each loaded on first use and kept for the life of the process;
/// render slots share them (one runs a model at a time; the frames are each slot's own).
pub struct Models {
    assets: Assets,
    voices: Mutex<HashMap<String, Arc<Mutex<Speaker>>>>,
    /// Kokoro's model, shared by its voices.
    kokoro: Mutex<Option<Arc<Mutex<kokoro::Model>>>>,
    faces: Mutex<Option<FaceAnalyzer>>,
}

impl Models {
    pub fn new(assets: Assets) -> Arc<Self> {
        Arc::new(Self {
            assets,
            voices: Mutex::new(HashMap::new()),
            kokoro: Mutex::new(None),
            faces: Mutex::new(None),
        })
    }

    /// The voice called `name` (Piper's or Kokoro's), loaded on first use.
    pub fn voice(&self, name: &str) -> Result<Arc<Mutex<Speaker>>, FarmError> {
        let mut voices = lock(&self.voices);
        if let Some(voice) = voices.get(name) {
            return Ok(voice.clone());
        }
        let speaker = Speaker::load(&self.assets, name, || self.kokoro_model())?;
        let voice = Arc::new(Mutex::new(speaker));
        voices.insert(name.to_owned(), voice.clone());
        Ok(voice)
    }

    /// Kokoro's model, loaded on first use.
    fn kokoro_model(&self) -> Result<Arc<Mutex<kokoro::Model>>, FarmError> {
        let mut model = lock(&self.kokoro);
        if let Some(model) = model.as_ref() {
            return Ok(model.clone());
        }
        let loaded = Arc::new(Mutex::new(kokoro::Model::load(&self.assets)?));
        *model = Some(loaded.clone());
        Ok(loaded)
    }

    /// Runs `work` with the face detector and mesh, loaded on first use.
    pub fn with_faces<T>(
        &self,
        work: impl FnOnce(&mut FaceAnalyzer) -> Result<T, FarmError>,
    ) -> Result<T, FarmError> {
        let mut faces = lock(&self.faces);
        if faces.is_none() {
            *faces = Some(FaceAnalyzer::load(&self.assets)?);
        }
        match faces.as_mut() {
            Some(analyzer) => work(analyzer),
            None => Err(FarmError::Model("face models did not stay loaded".into())),
        }
    }
}

/// The pipeline on one device, with the process's models.
pub struct Pipeline {
    models: Arc<Models>,
    device: Device,
    /// The visible "AI-GENERATED" label on its videos.
    mark: bool,
    /// The cap on the short side of a video of the whole photo.
    max_side: u32,
}

impl Pipeline {
    /// A pipeline with models of its own.
    pub fn new(assets: Assets, device: Device) -> Self {
        Self::with_models(Models::new(assets), device)
    }

    /// A pipeline sharing `models` with others (a worker's render slots).
    pub fn with_models(models: Arc<Models>, device: Device) -> Self {
        Self {
            models,
            device,
            mark: true,
            max_side: DEFAULT_MAX_SIDE,
        }
    }

    /// Its videos carry no visible label (`SPINBOT_MARK=off`; the tag stays).
    pub fn with_mark(self, mark: bool) -> Self {
        Self { mark, ..self }
    }

    /// Videos of the whole photo have their short side capped at `max_side` pixels
    /// (`SPINBOT_MAX_SIDE`, `spinbot render --max-side`).
    pub fn with_max_side(self, max_side: u32) -> Self {
        Self { max_side, ..self }
    }

    pub fn device(&self) -> Device {
        self.device
    }

    pub fn models(&self) -> &Models {
        &self.models
    }

    /// Runs `plan` in `work_dir`, resuming from stored stage outputs; returns the video.
    pub fn run(
        &self,
        plan: &Plan,
        work_dir: &Path,
        progress: &mut dyn Progress,
    ) -> Result<PathBuf, FarmError> {
        plan.validate()?;
        std::fs::create_dir_all(work_dir)
            .map_err(|e| FarmError::io(format!("creating {}", work_dir.display()), e))?;
        let output = |stage: Stage| work_dir.join(stage.output_file());

        // Cheap checks first, so a bad file is refused before any heavy work.
        let mut photo: Option<RgbImage> = None;
        if !output(Stage::Face).is_file() || !output(Stage::Render).is_file() {
            photo = Some(load_photo(Path::new(&plan.photo))?);
        }
        if let Speech::VoiceNote { audio } = &plan.speech {
            if !output(Stage::Speech).is_file() {
                check_voice_note(Path::new(audio))?;
            }
        }

        let stop = |progress: &dyn Progress| {
            if progress.cancelled() {
                Err(FarmError::Cancelled)
            } else {
                Ok(())
            }
        };
        let speech_path = output(Stage::Speech);
        stop(progress)?;
        if !speech_path.is_file() {
            progress.update(Stage::Speech, 0.0);
            let (audio, phones) = self.speech(&plan.speech)?;
            let _span = tracing::info_span!("stage", stage = "speech").entered();
            let phones_path = work_dir.join(PHONES_FILE);
            match &phones {
                Some(phones) => write_json(&phones_path, phones)?,
                None => remove_if_there(&phones_path)?,
            }
            write_atomically(&speech_path, |tmp| audio.write_wav(tmp))?;
            tracing::info!(seconds = audio.seconds(), "speech ready");
        }
        progress.update(Stage::Speech, 1.0);

        let face_path = output(Stage::Face);
        stop(progress)?;
        let face: FaceData = if face_path.is_file() {
            read_face(&face_path)?
        } else {
            progress.update(Stage::Face, 0.0);
            let image = photo_ref(&photo)?;
            let face = self.models.with_faces(|faces| faces.analyse(image))?;
            write_json(&face_path, &face)?;
            tracing::info!(faces = face.faces_found, "face ready");
            face
        };
        progress.update(Stage::Face, 1.0);

        let video_path = output(Stage::Render);
        stop(progress)?;
        if !video_path.is_file() {
            progress.update(Stage::Render, 0.0);
            let image = photo_ref(&photo)?;
            self.render(plan, image, &face, &speech_path, &video_path, progress)?;
        }
        progress.update(Stage::Render, 1.0);
        Ok(video_path)
    }

    /// The speech's audio, with the phones' times when an engine spoke it.
    fn speech(&self, speech: &Speech) -> Result<(Audio, Option<Phones>), FarmError> {
        match speech {
            Speech::Text { text, voice } => {
                let voice = self.models.voice(voice)?;
                let spoken = lock(&voice).speak(text)?;
                Ok((spoken.audio, Some(spoken.phones)))
            }
            Speech::VoiceNote { audio } => {
                Ok((decode_voice_note(Path::new(audio), VOICE_NOTE_RATE)?, None))
            }
        }
    }

    fn render(
        &self,
        plan: &Plan,
        image: &RgbImage,
        face: &FaceData,
        speech_path: &Path,
        video_path: &Path,
        progress: &mut dyn Progress,
    ) -> Result<(), FarmError> {
        let audio = Audio::read_wav(speech_path)?;
        let seconds = audio.seconds();
        let frames = ((seconds * f64::from(plan.fps)).round() as usize).max(1);
        let work_dir = video_path.parent().unwrap_or(Path::new("."));
        // The engine's phones when it spoke; a voice note is read by the recogniser.
        let phones_path = work_dir.join(PHONES_FILE);
        let spoken = read_json::<Phones>(&phones_path)
            .ok()
            .filter(|p| p.timing != Timing::Recogniser);
        let (track, choice, recognised) = track::choose(&audio, spoken, plan.fps, frames)?;
        if let Some(recognised) = &recognised {
            write_json(&phones_path, recognised)?;
        }
        write_json(&work_dir.join(MOUTH_FILE), &choice)?;
        log_choice(&choice);
        let view = View::of(plan.crop, face, plan.size, self.max_side);
        let lipsync = LipSync::new(image, face, view, plan.fps, self.device)?;
        let settings = EncodeSettings {
            width: view.width * plan.upscale,
            height: view.height * plan.upscale,
            fps: plan.fps,
            seconds,
            max_bytes: plan.target.max_bytes,
            mark: self.mark,
        };
        write_atomically(video_path, |tmp| {
            let mut encoder = Encoder::start(&settings, speech_path, tmp)?;
            let mut done = 0;
            while done < frames {
                if progress.cancelled() {
                    return Err(FarmError::Cancelled);
                }
                let n = FRAME_BATCH.min(frames - done);
                let mut rgb = lipsync.render(&track, done, n)?;
                if plan.upscale > 1 {
                    rgb =
                        upscale_frames(&rgb, (view.width, view.height), plan.upscale, self.device)?;
                }
                encoder.write_frames(&rgb)?;
                done += n;
                progress.update(Stage::Render, done as f64 / frames as f64 * 0.99);
            }
            encoder.finish()?;
            if let Some(max) = plan.target.max_bytes {
                fit_size(tmp, max, seconds)?;
            }
            Ok(())
        })?;
        tracing::info!(frames, seconds, "video ready");
        Ok(())
    }
}

fn photo_ref(photo: &Option<RgbImage>) -> Result<&RgbImage, FarmError> {
    photo
        .as_ref()
        .ok_or_else(|| FarmError::Model("photo was not loaded".into()))
}

fn read_face(path: &Path) -> Result<FaceData, FarmError> {
    read_json(path)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, FarmError> {
    let text =
        std::fs::read(path).map_err(|e| FarmError::io(format!("reading {}", path.display()), e))?;
    serde_json::from_slice(&text).map_err(|e| FarmError::Model(format!("{}: {e}", path.display())))
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), FarmError> {
    let json = serde_json::to_vec(value)
        .map_err(|e| FarmError::Model(format!("{}: {e}", path.display())))?;
    write_atomically(path, |tmp| {
        std::fs::write(tmp, &json)
            .map_err(|e| FarmError::io(format!("writing {}", tmp.display()), e))
    })
}

fn remove_if_there(path: &Path) -> Result<(), FarmError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(FarmError::io(format!("removing {}", path.display()), e))
        }
        _ => Ok(()),
    }
}

fn log_choice(choice: &Choice) {
    tracing::info!(
        track = choice.track.name(),
        phones = choice.phones,
        agreement = choice.agreement,
        reason = choice.reason.as_deref(),
        "mouth track"
    );
}

/// Re-encodes at lower bitrates until the file fits `max_bytes`.
fn fit_size(path: &Path, max_bytes: u64, seconds: f64) -> Result<(), FarmError> {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(u64::MAX);
    let mut factor = 0.8;
    for _ in 0..3 {
        if size(path) <= max_bytes {
            return Ok(());
        }
        let smaller = path.with_extension("smaller.mp4");
        encode::shrink(path, &smaller, max_bytes, seconds, factor)?;
        std::fs::rename(&smaller, path).map_err(|e| FarmError::io("replacing the video", e))?;
        factor *= 0.7;
    }
    if size(path) <= max_bytes {
        Ok(())
    } else {
        Err(FarmError::tool(
            "ffmpeg",
            format!("could not fit the video in {max_bytes} bytes"),
        ))
    }
}

/// Writes `path` through a temporary name in the same folder, so a stored output is
/// either whole or absent.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), FarmError>,
) -> Result<(), FarmError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    let tmp = path.with_file_name(format!(".partial-{name}"));
    let result = write(&tmp);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    std::fs::rename(&tmp, path).map_err(|e| FarmError::io(format!("writing {}", path.display()), e))
}
