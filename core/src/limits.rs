//! Every limit and default, written once.

/// Largest photo file accepted, in bytes (20 MB).
pub const MAX_PHOTO_BYTES: u64 = 20 * 1_000_000;
/// Largest photo accepted, in pixels (40 megapixels), read from the header before decoding.
pub const MAX_PHOTO_PIXELS: u64 = 40_000_000;
/// Longest text to speak, in characters after trimming.
pub const MAX_TEXT_CHARS: usize = 1_000;
/// Largest voice note accepted, in bytes (20 MB).
pub const MAX_VOICE_NOTE_BYTES: u64 = 20 * 1_000_000;
/// Longest voice note accepted, in seconds (5 minutes).
pub const MAX_VOICE_NOTE_SECONDS: f64 = 300.0;

/// Default side of the rendered square face crop, in pixels.
pub const DEFAULT_SIZE: u32 = 512;
/// Smallest and largest rendered crop side accepted.
pub const MIN_SIZE: u32 = 64;
pub const MAX_SIZE: u32 = 2048;
/// Default video frame rate.
pub const DEFAULT_FPS: u32 = 25;
pub const MAX_FPS: u32 = 60;
/// Largest upscale factor.
pub const MAX_UPSCALE: u32 = 4;

/// Upload limits of the chat platforms, in bytes.
pub const DISCORD_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
pub const TELEGRAM_UPLOAD_BYTES: u64 = 50 * 1_000_000;

/// Name of the default Piper voice.
pub const DEFAULT_VOICE: &str = "en_US-joe-medium";

/// Environment variable naming the assets folder (default `~/.cache/spinbot`).
pub const ASSETS_ENV: &str = "SPINBOT_ASSETS";
/// Environment variable choosing the compute device (`auto`, `cpu`, `cuda`).
pub const DEVICE_ENV: &str = "SPINBOT_DEVICE";
