//! Every limit and default, written once.

/// Largest photo file accepted, in bytes (20 MB).
pub const MAX_PHOTO_BYTES: u64 = 20 * 1_000_000;
/// Largest photo accepted, in pixels (40 megapixels), read from the header before decoding.
pub const MAX_PHOTO_PIXELS: u64 = 40_000_000;
/// Longest text to speak, in characters after trimming.
pub const MAX_TEXT_CHARS: usize = 1_000;
/// Longest script the agent's model may write for a topic, in characters.
pub const MAX_SCRIPT_CHARS: usize = 600;
/// Longest topic for a script, in characters.
pub const MAX_TOPIC_CHARS: usize = 200;
/// Longest chat message the agent reads, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// How long the agent waits for one answer of the model before the built-in parser answers.
pub const DEFAULT_OLLAMA_TIMEOUT_MS: u64 = 20_000;
/// Ollama when only `OLLAMA_MODEL` is set, and the model when only the URL is.
pub const DEFAULT_OLLAMA_URL: &str = "http://localhost:11434";
pub const DEFAULT_OLLAMA_MODEL: &str = "qwen3:8b";
/// Model calls in one agent run (tool calls and the final answer).
pub const AGENT_MAX_TURNS: usize = 6;

/// Largest voice note accepted, in bytes (20 MB).
pub const MAX_VOICE_NOTE_BYTES: u64 = 20 * 1_000_000;
/// Longest voice note accepted, in seconds (5 minutes).
pub const MAX_VOICE_NOTE_SECONDS: f64 = 300.0;

/// Default side of the rendered square face crop (`--crop face`), in pixels.
pub const DEFAULT_SIZE: u32 = 512;
/// Default cap on the short side of a video of the whole photo, in pixels.
pub const DEFAULT_MAX_SIDE: u32 = 720;
/// Smallest and largest rendered crop side accepted.
pub const MIN_SIZE: u32 = 64;
pub const MAX_SIZE: u32 = 2048;
/// Default video frame rate.
pub const DEFAULT_FPS: u32 = 25;
pub const MAX_FPS: u32 = 60;
/// Largest upscale factor.
pub const MAX_UPSCALE: u32 = 4;

/// Name of the default Piper voice.
pub const DEFAULT_VOICE: &str = "en_US-joe-medium";

/// Environment variable naming the assets folder (default `~/.cache/spinbot`).
pub const ASSETS_ENV: &str = "SPINBOT_ASSETS";
/// Environment variable choosing the compute device (`auto`, `cpu`, `cuda`).
pub const DEVICE_ENV: &str = "SPINBOT_DEVICE";

/// Redis when `REDIS_URL` is not set.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379/";
/// Sustained renders per user per hour.
pub const DEFAULT_RENDERS_PER_HOUR: u32 = 30;
/// Renders a user may start back to back.
pub const DEFAULT_RENDER_BURST: u32 = 3;
pub const DEFAULT_MAX_RUNNING_PER_USER: u32 = 1;
pub const DEFAULT_MAX_QUEUED_PER_USER: u32 = 5;
/// Queued jobs in all before new ones are answered "busy".
pub const DEFAULT_MAX_QUEUE: u32 = 500;
/// A worker silent this long (no heartbeat) loses its job to another.
pub const DEFAULT_LEASE_MS: u64 = 15_000;
/// Attempts before a job is dead-lettered.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// First retry delay (doubled per attempt).
pub const DEFAULT_RETRY_BACKOFF_MS: u64 = 2_000;
/// How long a finished job's live record stays in Redis (2 days), in seconds.
pub const DEFAULT_RETENTION_S: u64 = 2 * 24 * 3600;
/// Submissions per second per user that one process passes on to Redis.
pub const DEFAULT_FLOOD_PER_SECOND: u32 = 5;
/// How often a bot drops the in-memory state (flood limits, edit turns) of people and chats
/// that is no different from a fresh one's, in seconds; it also does so at once past
/// [`KEPT_ENTRIES_BEFORE_PRUNING`] entries.
pub const PRUNE_EVERY_S: u64 = 10;
pub const KEPT_ENTRIES_BEFORE_PRUNING: usize = 10_000;

/// Anonymous users (the web chat's, whose identity costs nothing to make) also count against
/// their network's limit (the same rate and burst as one user) and against this bound for all
/// of them together: renders per hour...
pub const ANONYMOUS_RENDERS_PER_HOUR: u32 = 120;
/// ...and back to back.
pub const ANONYMOUS_RENDER_BURST: u32 = 20;
/// New web identities one network may make per hour (a visitor without a cookie).
pub const NEW_WEB_IDENTITIES_PER_HOUR: u32 = 10;
/// Open event streams (live pages) per web identity, and per network.
pub const EVENT_STREAMS_PER_IDENTITY: usize = 8;
pub const EVENT_STREAMS_PER_NETWORK: usize = 64;
/// An anonymous user's transcript and uploads are forgotten after this long without a visit
/// (30 days), in seconds.
pub const ANONYMOUS_KEEP_S: u64 = 30 * 24 * 3600;
