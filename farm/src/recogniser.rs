//! Phones of a voice note with their times: PocketSphinx's US-English acoustic model and
//! phone loop (Debian's `libpocketsphinx3` and `pocketsphinx-en-us`, loaded at run time, so
//! the binary builds and runs without them and a voice note then keeps the acoustic mouth).
//! Blocking work: callers run it on a blocking thread.

use crate::audio::Audio;
use crate::lipsync::phones::{Phones, Timing};
use libloading::{Library, Symbol};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};

/// The rate PocketSphinx's models hear.
pub const RATE: u32 = 16_000;
/// Its frames: 100 a second.
const FRAME_S: f64 = 0.01;
/// Where Debian installs the models.
pub const DEFAULT_MODELS: &str = "/usr/share/pocketsphinx/model/en-us";
/// The decoder hears at most this many seconds at a time (its phone loop slows down and
/// loses its place on long utterances): longer speech is cut at its quietest moments.
const MAX_UTTERANCE_S: f64 = 3.2;
const MIN_UTTERANCE_S: f64 = 1.6;
/// Samples handed to the decoder at a time.
const BLOCK: usize = 16_000;

#[derive(Debug, thiserror::Error)]
pub enum RecogniserError {
    #[error("PocketSphinx is not installed ({0})")]
    Missing(String),
    #[error("PocketSphinx failed: {0}")]
    Failed(&'static str),
}

type ArgsFn = unsafe extern "C" fn() -> *const c_void;
type ParseFn =
    unsafe extern "C" fn(*mut c_void, *const c_void, i32, *mut *mut c_char, i32) -> *mut c_void;
type FreeConfigFn = unsafe extern "C" fn(*mut c_void) -> c_int;
type InitFn = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
type DecoderFn = unsafe extern "C" fn(*mut c_void) -> c_int;
type ProcessFn = unsafe extern "C" fn(*mut c_void, *const i16, usize, c_int, c_int) -> c_int;
type SegIterFn = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
type SegWordFn = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type SegFramesFn = unsafe extern "C" fn(*mut c_void, *mut c_int, *mut c_int);
type LogCallbackFn = unsafe extern "C" fn(*const c_void, *mut c_void);

/// PocketSphinx 0.8 keeps process-wide state: its log (a `-logfn` is opened by every
/// `ps_init` and closes the one before, under a decoder still writing to it: two threads
/// making decoders at once corrupted the C library's file list and hung the process) and
/// a few settings read while a decoder is made. So it logs nowhere (set once), and decoders
/// are made and freed one at a time; decoding runs in parallel.
static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
static QUIET: std::sync::Once = std::sync::Once::new();

/// Runs `f` while no other thread makes or frees a decoder.
fn one_at_a_time<T>(f: impl FnOnce() -> T) -> T {
    let _making = MAKING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f()
}

/// The phone recogniser: the library and where its models are.
pub struct Recogniser {
    library: Library,
    models: PathBuf,
}

impl Recogniser {
    /// The installed PocketSphinx with the models in `models` (an `en-us` acoustic model
    /// folder and `en-us-phone.lm.bin` in it).
    pub fn load(models: &Path) -> Result<Self, RecogniserError> {
        for needed in ["en-us/mdef", "en-us-phone.lm.bin"] {
            if !models.join(needed).is_file() {
                return Err(RecogniserError::Missing(format!(
                    "no {}",
                    models.join(needed).display()
                )));
            }
        }
        // SAFETY: loading a shared library runs its initialisers; libpocketsphinx has none
        // beyond the C runtime's.
        let library = unsafe { Library::new("libpocketsphinx.so.3") }
            .map_err(|e| RecogniserError::Missing(e.to_string()))?;
        let recogniser = Self {
            library,
            models: models.to_owned(),
        };
        let quiet: LogCallbackFn = *recogniser.symbol(b"err_set_callback\0")?;
        // SAFETY: `err_set_callback(NULL, NULL)` (sphinxbase, linked by libpocketsphinx)
        // only stores the two pointers; with no callback its logging returns at once.
        QUIET.call_once(|| unsafe { quiet(std::ptr::null(), std::ptr::null_mut()) });
        Ok(recogniser)
    }

    /// The installed recogniser, when there is one (`SPINBOT_PHONE_MODELS` overrides
    /// where the models are).
    pub fn installed() -> Result<Self, RecogniserError> {
        let models = std::env::var_os("SPINBOT_PHONE_MODELS")
            .map_or_else(|| PathBuf::from(DEFAULT_MODELS), PathBuf::from);
        Self::load(&models)
    }

    fn symbol<T>(&self, name: &[u8]) -> Result<Symbol<'_, T>, RecogniserError> {
        // SAFETY: every type this module asks for is the C prototype of that name in
        // pocketsphinx.h / cmd_ln.h of the version Debian ships (0.8+5prealpha).
        unsafe { self.library.get::<T>(name) }.map_err(|e| RecogniserError::Missing(e.to_string()))
    }

    /// The entry points this module calls.
    fn api(&self) -> Result<Api, RecogniserError> {
        Ok(Api {
            args: *self.symbol(b"ps_args\0")?,
            parse: *self.symbol(b"cmd_ln_parse_r\0")?,
            free_config: *self.symbol(b"cmd_ln_free_r\0")?,
            init: *self.symbol(b"ps_init\0")?,
            free: *self.symbol(b"ps_free\0")?,
            start: *self.symbol(b"ps_start_utt\0")?,
            process: *self.symbol(b"ps_process_raw\0")?,
            end: *self.symbol(b"ps_end_utt\0")?,
            seg_iter: *self.symbol(b"ps_seg_iter\0")?,
            seg_next: *self.symbol(b"ps_seg_next\0")?,
            seg_word: *self.symbol(b"ps_seg_word\0")?,
            seg_frames: *self.symbol(b"ps_seg_frames\0")?,
        })
    }

    /// The phones of `audio` (any rate; resampled to 16 kHz) with their times. The
    /// utterances are shared among a decoder per core.
    pub fn phones(&self, audio: &Audio) -> Result<Phones, RecogniserError> {
        let samples = to_pcm16(audio);
        let api = self.api()?;
        let text = |p: &Path| p.to_string_lossy().into_owned();
        // The phone loop of the context-dependent model with wide beams: narrower beams or
        // context-independent phones are several times faster but lose most closures.
        let argv: Vec<CString> = [
            "-hmm".into(),
            text(&self.models.join("en-us")),
            "-allphone".into(),
            text(&self.models.join("en-us-phone.lm.bin")),
            "-backtrace".into(),
            "yes".into(),
            "-beam".into(),
            "1e-20".into(),
            "-pbeam".into(),
            "1e-20".into(),
            "-lw".into(),
            "2.0".into(),
            "-samprate".into(),
            RATE.to_string(),
        ]
        .into_iter()
        .map(|a: String| CString::new(a).map_err(|_| RecogniserError::Failed("a model path")))
        .collect::<Result<_, _>>()?;
        let pieces = utterances(&samples);
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(pieces.len())
            .max(1);
        let per_worker = pieces.len().div_ceil(workers);
        let (api, argv) = (&api, &argv);
        let decoded: Vec<Result<Vec<Segment>, RecogniserError>> = std::thread::scope(|scope| {
            let running: Vec<_> = pieces
                .chunks(per_worker.max(1))
                .map(|chunk| scope.spawn(move || decode(api, argv, chunk)))
                .collect();
            running
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap_or(Err(RecogniserError::Failed("a decoding thread")))
                })
                .collect()
        });
        let mut phones = Phones::new(Timing::Recogniser);
        for segments in decoded {
            for Segment { phone, start, end } in segments? {
                // Fill any hole with a pause, then the phone.
                if start > phones.span() + 1e-9 {
                    phones.push_arpabet("SIL", start - phones.span());
                }
                phones.push_arpabet(&phone, end - phones.span().max(start));
            }
        }
        Ok(phones)
    }
}

/// PocketSphinx's entry points (plain function pointers, shared by the decoding threads).
#[derive(Clone, Copy)]
struct Api {
    args: ArgsFn,
    parse: ParseFn,
    free_config: FreeConfigFn,
    init: InitFn,
    free: DecoderFn,
    start: DecoderFn,
    process: ProcessFn,
    end: DecoderFn,
    seg_iter: SegIterFn,
    seg_next: SegIterFn,
    seg_word: SegWordFn,
    seg_frames: SegFramesFn,
}

/// One recognised phone, seconds from the start of the audio.
struct Segment {
    phone: String,
    start: f64,
    end: f64,
}

/// Decodes `pieces` (offset, samples) in order with a decoder of its own.
fn decode(
    api: &Api,
    argv: &[CString],
    pieces: &[(usize, &[i16])],
) -> Result<Vec<Segment>, RecogniserError> {
    let mut pointers: Vec<*mut c_char> = argv.iter().map(|a| a.as_ptr().cast_mut()).collect();
    let argc = i32::try_from(pointers.len()).map_err(|_| RecogniserError::Failed("args"))?;
    // SAFETY: the arguments are NUL-terminated strings that outlive the call; the
    // definitions come from the library itself; the config and decoder are this thread's
    // own, freed once below, and no pointer from them is kept past that.
    unsafe {
        let config = one_at_a_time(|| {
            (api.parse)(
                std::ptr::null_mut(),
                (api.args)(),
                argc,
                pointers.as_mut_ptr(),
                1,
            )
        });
        if config.is_null() {
            return Err(RecogniserError::Failed("its settings"));
        }
        let free_config = || one_at_a_time(|| (api.free_config)(config));
        let mut out = Vec::new();
        for &(offset, piece) in pieces {
            // A fresh decoder for every utterance: this version of the phone loop reports
            // wrong frames for a second utterance fed in blocks.
            let decoder = one_at_a_time(|| (api.init)(config));
            if decoder.is_null() {
                free_config();
                return Err(RecogniserError::Failed("loading the models"));
            }
            let decoded = utterance(api, decoder, offset, piece, &mut out);
            one_at_a_time(|| (api.free)(decoder));
            if let Err(e) = decoded {
                free_config();
                return Err(e);
            }
        }
        free_config();
        Ok(out)
    }
}

/// Decodes one utterance at `offset` (samples) with `decoder`, appending its phones.
///
/// # Safety
/// `decoder` is a live decoder of this thread.
unsafe fn utterance(
    api: &Api,
    decoder: *mut c_void,
    offset: usize,
    piece: &[i16],
    out: &mut Vec<Segment>,
) -> Result<(), RecogniserError> {
    // SAFETY: the caller's decoder; the segment iterator is walked to its end (which frees
    // it) and its strings are copied before the next step.
    unsafe {
        if (api.start)(decoder) < 0 {
            return Err(RecogniserError::Failed("starting"));
        }
        // In blocks, as a live stream (measured on real speakers: closer to their lips than
        // the whole utterance at once).
        for block in piece.chunks(BLOCK) {
            if (api.process)(decoder, block.as_ptr(), block.len(), 0, 0) < 0 {
                return Err(RecogniserError::Failed("decoding"));
            }
        }
        if (api.end)(decoder) < 0 {
            return Err(RecogniserError::Failed("ending"));
        }
        let offset_s = offset as f64 / f64::from(RATE);
        let mut seg = (api.seg_iter)(decoder);
        while !seg.is_null() {
            let (mut first, mut last) = (0 as c_int, 0 as c_int);
            (api.seg_frames)(seg, &mut first, &mut last);
            let word = (api.seg_word)(seg);
            let phone = if word.is_null() {
                String::new()
            } else {
                CStr::from_ptr(word).to_string_lossy().into_owned()
            };
            out.push(Segment {
                phone,
                start: offset_s + f64::from(first.max(0)) * FRAME_S,
                end: offset_s + f64::from(last.max(first) + 1) * FRAME_S,
            });
            seg = (api.seg_next)(seg);
        }
        Ok(())
    }
}

/// `samples` cut into utterances of at most [`MAX_UTTERANCE_S`], each at the quietest 20 ms
/// of the part where a cut may fall, with its offset.
fn utterances(samples: &[i16]) -> Vec<(usize, &[i16])> {
    let rate = RATE as usize;
    let (min, max) = (
        (MIN_UTTERANCE_S * rate as f64) as usize,
        (MAX_UTTERANCE_S * rate as f64) as usize,
    );
    let window = rate / 50;
    let energy = |at: usize| -> i64 {
        samples[at..(at + window).min(samples.len())]
            .iter()
            .map(|&s| i64::from(s) * i64::from(s))
            .sum()
    };
    let mut out = Vec::new();
    let mut start = 0;
    while samples.len() - start > max {
        let cut = (start + min..start + max - window)
            .step_by(window / 2)
            .min_by_key(|&at| energy(at))
            .map_or(start + max, |at| at + window / 2);
        out.push((start, &samples[start..cut]));
        start = cut;
    }
    out.push((start, &samples[start..]));
    out
}

/// `audio` as 16-bit samples at [`RATE`]: a windowed-sinc low-pass at the new Nyquist
/// frequency, then linear interpolation.
fn to_pcm16(audio: &Audio) -> Vec<i16> {
    let ratio = f64::from(audio.rate) / f64::from(RATE);
    let filtered: Vec<f32> = if ratio > 1.0 {
        low_pass(&audio.samples, 0.5 / ratio)
    } else {
        audio.samples.clone()
    };
    let n = (filtered.len() as f64 / ratio).floor() as usize;
    let mut pcm: Vec<i16> = (0..n)
        .map(|i| {
            let x = i as f64 * ratio;
            let k = x.floor() as usize;
            let frac = (x - k as f64) as f32;
            let a = filtered.get(k).copied().unwrap_or(0.0);
            let b = filtered.get(k + 1).copied().unwrap_or(a);
            let v = a + (b - a) * frac;
            (v.clamp(-1.0, 1.0) * 32_767.0) as i16
        })
        .collect();
    fill_digital_silence(&mut pcm);
    pcm
}

/// Digital silence (a synthesised note, a muted stretch) has no spectrum for the decoder
/// to normalise, and it loses its place in the speech around it: runs of 10 ms or more of
/// exact zeros get a trace of noise (one step either way, the same every time). Recorded
/// sound is never exactly zero that long, and is left as it is.
fn fill_digital_silence(pcm: &mut [i16]) {
    let run = RATE as usize / 100;
    let mut state: u32 = 0x2545_f491;
    let mut start = 0;
    while start < pcm.len() {
        if pcm[start] != 0 {
            start += 1;
            continue;
        }
        let end = pcm[start..]
            .iter()
            .position(|&s| s != 0)
            .map_or(pcm.len(), |n| start + n);
        if end - start >= run {
            for s in &mut pcm[start..end] {
                // xorshift32
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                *s = (state % 3) as i16 - 1;
            }
        }
        start = end;
    }
}

/// A 31-tap Hann-windowed sinc low-pass with cut-off `cutoff` (cycles per sample).
fn low_pass(x: &[f32], cutoff: f64) -> Vec<f32> {
    const TAPS: usize = 31;
    let mid = (TAPS / 2) as f64;
    let mut taps: Vec<f32> = (0..TAPS)
        .map(|i| {
            let t = i as f64 - mid;
            let sinc = if t == 0.0 {
                2.0 * cutoff
            } else {
                (2.0 * std::f64::consts::PI * cutoff * t).sin() / (std::f64::consts::PI * t)
            };
            let hann =
                0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (TAPS - 1) as f64).cos();
            (sinc * hann) as f32
        })
        .collect();
    let sum: f32 = taps.iter().sum();
    taps.iter_mut().for_each(|t| *t /= sum);
    let half = TAPS / 2;
    let mut out = vec![0f32; x.len()];
    for (i, o) in out.iter_mut().enumerate() {
        // Taps k reach x[i + k - half], inside the signal.
        let k0 = half.saturating_sub(i);
        let k1 = TAPS.min(x.len() + half - i);
        let mut sum = 0f32;
        for k in k0..k1 {
            sum += x[i + k - half] * taps[k];
        }
        *o = sum;
    }
    out
}
