//! The configuration: every variable spinbot reads, with its default and what it must be.
//! Read once at start from the environment and a `.env` file (the environment wins), each
//! value checked; a bad one is one sentence naming the variable. Secrets (bot tokens, the S3
//! secret key, passwords in URLs) are kept in types that never print. The list of variables
//! is the reader itself: [`Config::variables`] runs it on an empty environment and reports
//! every variable it asked for, which `spinbot config`, the README check and the table test
//! all use, so none can be forgotten.

use crate::job::UserId;
use crate::limits;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// A variable that is malformed or out of range: one sentence naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Environment,
    DotEnv,
    Default,
}

/// What a variable's value must be; also gives values that break the rule (for tests).
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    Number {
        min: u64,
        max: u64,
    },
    Flag,
    Choice(&'static [&'static str]),
    Url(&'static [&'static str]),
    Addr,
    /// Letters, digits and `extra`.
    Name {
        extra: &'static str,
    },
    Users,
    /// A folder; `existing` when it must be there already.
    Folder {
        existing: bool,
    },
    Token,
    DiscordToken,
    LogFilter,
}

impl Rule {
    /// What the value must be, as the end of a sentence.
    pub fn must_be(&self) -> String {
        match self {
            Rule::Number { min, max } => format!("a whole number from {min} to {max}"),
            Rule::Flag => "true or false (also 1/0, yes/no)".into(),
            Rule::Choice(options) => format!("one of {}", options.join(", ")),
            Rule::Url(schemes) => format!("a URL starting with {}://", schemes.join(":// or ")),
            Rule::Addr => "an address and port like 127.0.0.1:9100".into(),
            Rule::Name { extra: "" } => "letters and digits only".into(),
            Rule::Name { extra } => format!("letters, digits and {extra} only"),
            Rule::Users => "a comma-separated list of users like telegram:12345,cli:anna".into(),
            Rule::Folder { existing: true } => "a folder that exists".into(),
            Rule::Folder { existing: false } => {
                "a folder (it may not exist yet), not a file".into()
            }
            Rule::Token => "a bot token like 123456:ABC-def_ghi".into(),
            Rule::DiscordToken => "a Discord bot token like MTA4.GhIj.KlMn_op (three parts)".into(),
            Rule::LogFilter => "a log filter like warn or spinbot=debug,info".into(),
        }
    }

    /// Values that break the rule: what the table test feeds each variable.
    pub fn malformed(&self) -> Vec<String> {
        match self {
            Rule::Number { max, .. } => vec!["abc".into(), (max + 1).to_string()],
            Rule::Flag => vec!["maybe".into()],
            Rule::Choice(_) => vec!["tpu".into()],
            Rule::Url(_) => vec!["not a url".into(), "ftp://example.com/".into()],
            Rule::Addr => vec!["nowhere".into()],
            Rule::Name { .. } => vec!["bad name!".into()],
            Rule::Users => vec!["anna".into()],
            Rule::Folder { .. } => vec!["/etc/hostname".into()],
            Rule::Token => vec!["not a token".into()],
            Rule::DiscordToken => vec!["not a token".into(), "only.two".into()],
            Rule::LogFilter => vec!["spinbot=loud".into()],
        }
    }
}

/// One variable as the reader saw it.
#[derive(Debug, Clone)]
pub struct Setting {
    pub name: &'static str,
    pub meaning: &'static str,
    pub rule: Rule,
    pub secret: bool,
    /// The value in effect as `spinbot config` shows it (secrets redacted); empty when unset.
    pub shown: String,
    pub source: Source,
}

/// A URL that may carry a password: shown with the password masked.
#[derive(Clone)]
pub struct SecretUrl(SecretString);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretString::from(url.into()))
    }

    /// The whole URL, password included: only for the client that connects.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        match url::Url::parse(self.expose()) {
            Ok(mut url) => {
                if url.password().is_some() {
                    let _ = url.set_password(Some("***"));
                }
                url.to_string()
            }
            Err(_) => "[redacted]".into(),
        }
    }
}

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl From<String> for SecretUrl {
    fn from(url: String) -> Self {
        Self::new(url)
    }
}

/// The compute device asked for: `auto`, `cpu`, `cuda` (every visible GPU) or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    #[default]
    Auto,
    Cpu,
    /// A GPU: `None` for every visible one, `Some(n)` for `cuda:n`.
    Cuda(Option<usize>),
}

impl FromStr for DeviceChoice {
    type Err = crate::InputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "auto" | "" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(None)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(|n| Self::Cuda(Some(n)))
                .ok_or_else(|| {
                    crate::InputError::Option(format!(
                        "The device must be auto, cpu, cuda or cuda:N, not \"{}\".",
                        other.chars().take(20).collect::<String>()
                    ))
                }),
        }
    }
}

/// The per-user limits and the farm's lease and retry settings.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Sustained renders per user per hour (GCRA).
    pub renders_per_hour: u32,
    /// How many renders a user may start back to back.
    pub render_burst: u32,
    pub max_running_per_user: u32,
    pub max_queued_per_user: u32,
    /// Above this many queued jobs in all, submissions are answered "busy".
    pub max_queue: u32,
    /// Users the limits do not apply to.
    pub admins: Vec<UserId>,
    /// A worker silent this long loses its job to another.
    pub lease_ms: u64,
    /// Attempts before a job goes to the dead-letter stream.
    pub max_attempts: u32,
    /// First retry delay; doubled on every further attempt.
    pub retry_backoff_ms: u64,
    /// How long a finished job's live record (and its delivery claims) stays in Redis;
    /// afterwards the Postgres record answers for it.
    pub retention_ms: u64,
    /// Submissions per second one user may make through one process before it refuses
    /// them without asking Redis (a flood guard in front of the shared limits).
    pub flood_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Config::defaults().limits
    }
}

/// An S3 bucket (path-style; SeaweedFS, MinIO, AWS).
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: SecretString,
    pub region: String,
}

/// The agent's model on Ollama.
#[derive(Debug, Clone)]
pub struct OllamaSettings {
    pub base_url: String,
    pub model: String,
    /// Milliseconds for one answer of the model (the whole run gets three times as long).
    pub timeout_ms: u64,
    pub stream: bool,
    /// Sent as Ollama's `think`: off unless asked for (a thinking model otherwise reasons
    /// on every turn).
    pub think: bool,
}

/// The Telegram bot.
#[derive(Debug, Clone)]
pub struct TelegramSettings {
    pub token: Option<SecretString>,
    pub api_url: Option<String>,
}

/// The Discord bot.
#[derive(Debug, Clone)]
pub struct DiscordSettings {
    pub token: Option<SecretString>,
    pub api_url: Option<String>,
    /// Slash commands registered in this guild only (at once), else globally (within an hour).
    pub guild: Option<u64>,
    /// The privileged MESSAGE_CONTENT intent is granted: replies to the bot are read too.
    pub message_content: bool,
}

/// Everything spinbot reads from its environment.
/// Where the web chat is served unless `SPINBOT_WEB_ADDR` says otherwise.
pub const DEFAULT_WEB_ADDR: &str = "127.0.0.1:8080";

#[derive(Debug, Clone)]
pub struct Config {
    /// The assets folder (libtorch, ONNX Runtime, voices, face models).
    pub assets: PathBuf,
    pub device: DeviceChoice,
    pub log: String,
    pub redis_url: SecretUrl,
    pub redis_prefix: String,
    pub database_url: Option<SecretUrl>,
    pub metrics_addr: Option<SocketAddr>,
    /// Where the web chat is served.
    pub web_addr: SocketAddr,
    /// The web chat's public address as browsers see it (behind a proxy): requests must come
    /// from its origin, and its cookie is `Secure` when it is https.
    pub web_public_url: Option<String>,
    /// Proxies in front of the web chat whose `X-Forwarded-For` names the visitor's address.
    pub web_trusted_proxies: Vec<std::net::IpAddr>,
    pub s3: Option<S3Settings>,
    /// The object store folder when there is no S3.
    pub store_dir: PathBuf,
    pub limits: Limits,
    pub ollama: Option<OllamaSettings>,
    pub prompts: Option<PathBuf>,
    pub telegram: TelegramSettings,
    pub discord: DiscordSettings,
    /// This bot process's name among the bots of its platform (unset: the lowest free one,
    /// `telegram-1`, `telegram-2`, ...).
    pub bot_id: Option<String>,
    /// New chat users get the default voice without being asked which one first.
    pub skip_voice_question: bool,
    /// Videos carry the visible "AI-GENERATED" label (their metadata tag always says so).
    pub mark: bool,
    /// The cap on the short side of a video of the whole photo, in pixels.
    pub max_side: u32,
    settings: Vec<Setting>,
}

impl Config {
    /// The configuration of this process: its environment, then `./.env` (or a parent
    /// folder's) for what the environment does not set.
    pub fn load() -> Result<Self, ConfigError> {
        let mut env = BTreeMap::new();
        for (name, value) in std::env::vars_os() {
            if let Some(name) = name.to_str() {
                env.insert(name.to_owned(), value.into_string());
            }
        }
        let mut dotenv = BTreeMap::new();
        if let Ok(items) = dotenvy::dotenv_iter() {
            for item in items {
                let (name, value) =
                    item.map_err(|e| ConfigError(format!("The .env file can't be read: {e}.")))?;
                dotenv.insert(name, value);
            }
        }
        Self::from_sources(env, dotenv)
    }

    /// The configuration from an environment (values that are not UTF-8 are `Err`) and the
    /// lines of a `.env` file.
    pub fn from_sources(
        env: BTreeMap<String, Result<String, std::ffi::OsString>>,
        dotenv: BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let reader = Reader {
            env,
            dotenv,
            settings: std::cell::RefCell::new(Vec::new()),
        };
        let mut config = read(&reader)?;
        config.settings = reader.settings.into_inner();
        Ok(config)
    }

    /// The defaults (an empty environment).
    pub fn defaults() -> Self {
        match Self::from_sources(BTreeMap::new(), BTreeMap::new()) {
            Ok(config) => config,
            // Every default is valid: `defaults_are_valid` below checks it.
            Err(e) => unreachable!("the defaults are invalid: {e}"),
        }
    }

    /// Every variable, as read with nothing set.
    pub fn variables() -> Vec<Setting> {
        Self::defaults().settings
    }

    /// Every variable with the value in effect (secrets redacted) and where it came from.
    pub fn settings(&self) -> &[Setting] {
        &self.settings
    }
}

/// The sources, and what was asked of them.
struct Reader {
    env: BTreeMap<String, Result<String, std::ffi::OsString>>,
    dotenv: BTreeMap<String, String>,
    settings: std::cell::RefCell<Vec<Setting>>,
}

fn invalid(name: &str, rule: &Rule, value: Option<&str>) -> ConfigError {
    match value {
        Some(v) => ConfigError(format!(
            "{name} must be {}, not \"{}\".",
            rule.must_be(),
            v.chars().take(40).collect::<String>()
        )),
        None => ConfigError(format!("{name} must be {}.", rule.must_be())),
    }
}

impl Reader {
    /// The raw value of `name` (empty counts as unset), noted with its rule.
    fn raw(
        &self,
        name: &'static str,
        meaning: &'static str,
        rule: Rule,
        secret: bool,
        default: &str,
    ) -> Result<Option<String>, ConfigError> {
        let (value, source) = match self.env.get(name) {
            Some(Ok(v)) if !v.trim().is_empty() => (Some(v.trim().to_owned()), Source::Environment),
            Some(Err(_)) => {
                return Err(ConfigError(format!("{name} must be UTF-8 text.")));
            }
            _ => match self.dotenv.get(name) {
                Some(v) if !v.trim().is_empty() => (Some(v.trim().to_owned()), Source::DotEnv),
                _ => (None, Source::Default),
            },
        };
        let shown = match (&value, secret) {
            (Some(_), true) => "[redacted]".to_owned(),
            (Some(v), false) => v.clone(),
            (None, _) => default.to_owned(),
        };
        self.settings.borrow_mut().push(Setting {
            name,
            meaning,
            rule,
            secret,
            shown,
            source,
        });
        Ok(value)
    }

    fn number(
        &self,
        name: &'static str,
        meaning: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<u64, ConfigError> {
        let rule = Rule::Number { min, max };
        match self.raw(name, meaning, rule.clone(), false, &default.to_string())? {
            None => Ok(default),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(invalid(name, &rule, Some(&v))),
            },
        }
    }

    fn number32(
        &self,
        name: &'static str,
        meaning: &'static str,
        default: u32,
        min: u32,
        max: u32,
    ) -> Result<u32, ConfigError> {
        let n = self.number(name, meaning, default.into(), min.into(), max.into())?;
        // In range, so it fits.
        Ok(u32::try_from(n).unwrap_or(max))
    }

    fn flag(&self, name: &'static str, meaning: &'static str) -> Result<bool, ConfigError> {
        self.flag_or(name, meaning, false)
    }

    /// A flag that is `default` when unset.
    fn flag_or(
        &self,
        name: &'static str,
        meaning: &'static str,
        default: bool,
    ) -> Result<bool, ConfigError> {
        let shown = if default { "on" } else { "false" };
        match self.raw(name, meaning, Rule::Flag, false, shown)? {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(invalid(name, &Rule::Flag, Some(&v))),
            },
        }
    }

    fn url(
        &self,
        name: &'static str,
        meaning: &'static str,
        schemes: &'static [&'static str],
        default: Option<&str>,
    ) -> Result<Option<SecretUrl>, ConfigError> {
        let rule = Rule::Url(schemes);
        let value = self.raw(name, meaning, rule.clone(), false, default.unwrap_or(""))?;
        let Some(text) = value.or(default.map(str::to_owned)) else {
            return Ok(None);
        };
        let url = SecretUrl::new(text);
        let parsed = url::Url::parse(url.expose()).ok();
        match parsed {
            Some(u) if schemes.contains(&u.scheme()) && u.has_host() => {
                // What `spinbot config` shows: the password masked.
                if let Some(s) = self.settings.borrow_mut().last_mut() {
                    if s.source != Source::Default {
                        s.shown = url.redacted();
                    }
                }
                Ok(Some(url))
            }
            // The value may hold a password: it is never repeated.
            _ => Err(invalid(name, &rule, None)),
        }
    }

    fn name(
        &self,
        name: &'static str,
        meaning: &'static str,
        extra: &'static str,
        default: &str,
    ) -> Result<String, ConfigError> {
        let rule = Rule::Name { extra };
        match self.raw(name, meaning, rule.clone(), false, default)? {
            None => Ok(default.to_owned()),
            Some(v)
                if v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || extra.contains(c)) =>
            {
                Ok(v)
            }
            Some(v) => Err(invalid(name, &rule, Some(&v))),
        }
    }

    fn optional_name(
        &self,
        name: &'static str,
        meaning: &'static str,
        extra: &'static str,
    ) -> Result<Option<String>, ConfigError> {
        let value = self.name(name, meaning, extra, "")?;
        Ok(Some(value).filter(|v| !v.is_empty()))
    }

    fn folder(
        &self,
        name: &'static str,
        meaning: &'static str,
        existing: bool,
        default: &str,
    ) -> Result<Option<PathBuf>, ConfigError> {
        let rule = Rule::Folder { existing };
        let Some(v) = self.raw(name, meaning, rule.clone(), false, default)? else {
            return Ok(None);
        };
        let path = PathBuf::from(&v);
        let ok = if existing {
            path.is_dir()
        } else {
            !path.exists() || path.is_dir()
        };
        if ok {
            Ok(Some(path))
        } else {
            Err(invalid(name, &rule, Some(&v)))
        }
    }

    fn secret(
        &self,
        name: &'static str,
        meaning: &'static str,
        rule: Rule,
        valid: impl Fn(&str) -> bool,
    ) -> Result<Option<SecretString>, ConfigError> {
        match self.raw(name, meaning, rule.clone(), true, "")? {
            None => Ok(None),
            Some(v) if valid(&v) => Ok(Some(SecretString::from(v))),
            // Never repeat a secret, even a malformed one.
            Some(_) => Err(invalid(name, &rule, None)),
        }
    }
}

fn home() -> PathBuf {
    std::env::home_dir().unwrap_or_else(|| PathBuf::from("/"))
}

/// Every variable, in the order `spinbot config` lists them.
fn read(r: &Reader) -> Result<Config, ConfigError> {
    const KEY_CHARS: &str = "+/=_-";
    let default_assets = home().join(".cache/spinbot");
    let assets = r
        .folder(
            limits::ASSETS_ENV,
            "assets folder (libtorch, ONNX Runtime, voices, face models)",
            true,
            &default_assets.to_string_lossy(),
        )?
        .unwrap_or(default_assets);
    let device = {
        let rule = Rule::Choice(&["auto", "cpu", "cuda", "cuda:N"]);
        let value = r.raw(
            limits::DEVICE_ENV,
            "compute device",
            rule.clone(),
            false,
            "auto",
        )?;
        match value {
            None => DeviceChoice::Auto,
            Some(v) => v
                .parse()
                .map_err(|_| invalid(limits::DEVICE_ENV, &rule, Some(&v)))?,
        }
    };
    let log = r
        .raw(
            "RUST_LOG",
            "log filter (logs go to stderr)",
            Rule::LogFilter,
            false,
            "warn",
        )?
        .unwrap_or_else(|| "warn".to_owned());
    let redis_url = r
        .url(
            "REDIS_URL",
            "the job plane's Redis",
            &["redis", "rediss"],
            Some(limits::DEFAULT_REDIS_URL),
        )?
        .unwrap_or_else(|| SecretUrl::new(limits::DEFAULT_REDIS_URL));
    let redis_prefix = r.name(
        "SPINBOT_REDIS_PREFIX",
        "prefix of every Redis key (several deployments in one Redis)",
        "_-",
        "spinbot",
    )?;
    let database_url = r.url(
        "DATABASE_URL",
        "the Postgres record (unset: no record)",
        &["postgres", "postgresql"],
        None,
    )?;
    let metrics_addr = {
        let rule = Rule::Addr;
        match r.raw(
            "SPINBOT_METRICS_ADDR",
            "where this process serves Prometheus /metrics (unset: nowhere)",
            rule.clone(),
            false,
            "",
        )? {
            None => None,
            Some(v) => Some(
                v.parse::<SocketAddr>()
                    .map_err(|_| invalid("SPINBOT_METRICS_ADDR", &rule, Some(&v)))?,
            ),
        }
    };
    let web_addr = {
        let rule = Rule::Addr;
        let raw = r.raw(
            "SPINBOT_WEB_ADDR",
            "where the web chat is served (bot web, up)",
            rule.clone(),
            false,
            DEFAULT_WEB_ADDR,
        )?;
        let v = raw.as_deref().unwrap_or(DEFAULT_WEB_ADDR);
        v.parse::<SocketAddr>()
            .map_err(|_| invalid("SPINBOT_WEB_ADDR", &rule, Some(v)))?
    };
    let web_public_url = r
        .url(
            "SPINBOT_WEB_PUBLIC_URL",
            "the web chat's address as browsers see it, e.g. https://chat.example.com (unset: the Host header's)",
            &["http", "https"],
            None,
        )?
        .map(|u| u.expose().trim_end_matches('/').to_owned());
    let web_trusted_proxies = {
        let rule = Rule::Name { extra: ".:," };
        let raw = r.raw(
            "SPINBOT_WEB_TRUSTED_PROXIES",
            "addresses of proxies in front of the web chat, comma-separated (unset: none)",
            rule.clone(),
            false,
            "",
        )?;
        raw.unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<std::net::IpAddr>()
                    .map_err(|_| invalid("SPINBOT_WEB_TRUSTED_PROXIES", &rule, Some(v)))
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    let s3_endpoint = r.url(
        "S3_ENDPOINT",
        "S3 endpoint for inputs, stage outputs and results (unset: a local folder)",
        &["http", "https"],
        None,
    )?;
    let bucket = r.optional_name("S3_BUCKET", "the S3 bucket", ".-")?;
    let access_key = r.optional_name("AWS_ACCESS_KEY_ID", "the S3 access key", KEY_CHARS)?;
    let secret_key = r.secret(
        "AWS_SECRET_ACCESS_KEY",
        "the S3 secret key",
        Rule::Name { extra: KEY_CHARS },
        |v| {
            v.chars()
                .all(|c| c.is_ascii_alphanumeric() || KEY_CHARS.contains(c))
        },
    )?;
    let region = r.name("AWS_REGION", "the S3 region", "-", "us-east-1")?;
    let s3 = match (s3_endpoint, bucket) {
        (Some(endpoint), Some(bucket)) => Some(S3Settings {
            endpoint: endpoint.expose().to_owned(),
            bucket,
            access_key: access_key.unwrap_or_default(),
            secret_key: secret_key.unwrap_or_else(|| SecretString::from(String::new())),
            region,
        }),
        (Some(_), None) => {
            return Err(ConfigError(
                "S3_BUCKET must be set when S3_ENDPOINT is.".into(),
            ))
        }
        (None, _) => None,
    };
    let default_store = home().join(".local/share/spinbot/store");
    let store_dir = r
        .folder(
            "SPINBOT_STORE",
            "object store folder when S3 is not configured",
            false,
            &default_store.to_string_lossy(),
        )?
        .unwrap_or(default_store);
    let limits = Limits {
        renders_per_hour: r.number32(
            "SPINBOT_RENDERS_PER_HOUR",
            "renders per user per hour, sustained",
            limits::DEFAULT_RENDERS_PER_HOUR,
            1,
            1_000_000,
        )?,
        render_burst: r.number32(
            "SPINBOT_RENDER_BURST",
            "renders a user may start back to back",
            limits::DEFAULT_RENDER_BURST,
            1,
            1_000_000,
        )?,
        max_running_per_user: r.number32(
            "SPINBOT_MAX_RUNNING_PER_USER",
            "renders of one user at once",
            limits::DEFAULT_MAX_RUNNING_PER_USER,
            1,
            10_000,
        )?,
        max_queued_per_user: r.number32(
            "SPINBOT_MAX_QUEUED_PER_USER",
            "renders one user may have waiting",
            limits::DEFAULT_MAX_QUEUED_PER_USER,
            1,
            1_000_000,
        )?,
        max_queue: r.number32(
            "SPINBOT_MAX_QUEUE",
            "renders waiting in all before new ones are refused as busy",
            limits::DEFAULT_MAX_QUEUE,
            1,
            10_000_000,
        )?,
        admins: {
            let rule = Rule::Users;
            match r.raw(
                "SPINBOT_ADMINS",
                "users the limits do not apply to, who can block users from chat (comma-separated)",
                rule.clone(),
                false,
                "",
            )? {
                None => Vec::new(),
                Some(v) => v
                    .split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(|u| {
                        UserId::parse(u).map_err(|_| invalid("SPINBOT_ADMINS", &rule, Some(u)))
                    })
                    .collect::<Result<_, _>>()?,
            }
        },
        lease_ms: r.number(
            "SPINBOT_LEASE_MS",
            "a worker silent this long loses its job to another (ms)",
            limits::DEFAULT_LEASE_MS,
            100,
            3_600_000,
        )?,
        max_attempts: r.number32(
            "SPINBOT_MAX_ATTEMPTS",
            "attempts before a job is dead-lettered",
            limits::DEFAULT_MAX_ATTEMPTS,
            1,
            100,
        )?,
        retry_backoff_ms: r.number(
            "SPINBOT_RETRY_BACKOFF_MS",
            "first wait before a failed job is tried again, doubled each time (ms)",
            limits::DEFAULT_RETRY_BACKOFF_MS,
            1,
            3_600_000,
        )?,
        retention_ms: r.number(
            "SPINBOT_RETENTION_S",
            "how long a finished job stays in Redis; afterwards Postgres answers for it (s)",
            limits::DEFAULT_RETENTION_S,
            1,
            365 * 24 * 3600,
        )? * 1000,
        flood_per_second: r.number32(
            "SPINBOT_FLOOD_PER_SECOND",
            "submissions per user per second one process passes on",
            limits::DEFAULT_FLOOD_PER_SECOND,
            1,
            1_000_000,
        )?,
    };
    let ollama_url = r.url(
        "OLLAMA_API_BASE_URL",
        "Ollama for the agent's model (either this or OLLAMA_MODEL set: use Ollama)",
        &["http", "https"],
        None,
    )?;
    let ollama_model = r.optional_name("OLLAMA_MODEL", "the model on Ollama", "._:/-")?;
    let ollama_timeout_ms = r.number(
        "OLLAMA_TIMEOUT_MS",
        "wait for one answer of the model before the built-in parser answers (ms)",
        limits::DEFAULT_OLLAMA_TIMEOUT_MS,
        100,
        600_000,
    )?;
    let ollama_stream = r.flag("OLLAMA_STREAM", "ask Ollama for NDJSON streaming answers")?;
    let ollama_think = r.flag(
        "OLLAMA_THINK",
        "let a thinking model (qwen3) reason before each answer: slower, rarely better here",
    )?;
    let ollama = (ollama_url.is_some() || ollama_model.is_some()).then(|| OllamaSettings {
        base_url: ollama_url.map_or_else(
            || limits::DEFAULT_OLLAMA_URL.to_owned(),
            |u| u.expose().to_owned(),
        ),
        model: ollama_model.unwrap_or_else(|| limits::DEFAULT_OLLAMA_MODEL.to_owned()),
        timeout_ms: ollama_timeout_ms,
        stream: ollama_stream,
        think: ollama_think,
    });
    let prompts = r.folder(
        "SPINBOT_PROMPTS",
        "a folder laid out like prompts/ that replaces the built-in texts",
        true,
        "",
    )?;
    let token = r.secret(
        "TELEGRAM_BOT_TOKEN",
        "the Telegram bot's token (spinbot up runs the bot when set)",
        Rule::Token,
        valid_token,
    )?;
    let api_url = r
        .url(
            "TELEGRAM_API_URL",
            "another Bot API server (a local one, or a test fake)",
            &["http", "https"],
            None,
        )?
        .map(|u| u.expose().to_owned());
    let discord_token = r.secret(
        "DISCORD_BOT_TOKEN",
        "the Discord bot's token (spinbot up runs the bot when set)",
        Rule::DiscordToken,
        valid_discord_token,
    )?;
    let discord_api_url = r
        .url(
            "DISCORD_API_URL",
            "another Discord API server (a local one, or a test fake)",
            &["http", "https"],
            None,
        )?
        .map(|u| u.expose().to_owned());
    let guild = r.number(
        "DISCORD_GUILD_ID",
        "the guild whose slash commands are registered at once (0: globally, within an hour)",
        0,
        0,
        // Snowflakes are signed 64-bit numbers.
        i64::MAX as u64,
    )?;
    let message_content = r.flag(
        "DISCORD_MESSAGE_CONTENT",
        "the privileged MESSAGE_CONTENT intent is granted: replies to the bot are read too",
    )?;
    let bot_id = r.optional_name(
        "SPINBOT_BOT_ID",
        "this bot process's name among the bots of its platform (unset: the lowest free one)",
        "_-.",
    )?;
    let skip_voice_question = r.flag(
        "SPINBOT_SKIP_VOICE_QUESTION",
        "new chat users get the default voice without being asked which one before their first video",
    )?;
    let mark = r.flag_or(
        "SPINBOT_MARK",
        "videos carry a visible AI-GENERATED label (off: only the MP4's metadata tag says so)",
        true,
    )?;
    let max_side = r.number32(
        "SPINBOT_MAX_SIDE",
        "the cap on the short side of a video of the whole photo, in pixels (a larger photo is scaled down)",
        limits::DEFAULT_MAX_SIDE,
        limits::MIN_SIZE,
        limits::MAX_SIZE,
    )?;
    Ok(Config {
        assets,
        device,
        log,
        redis_url,
        redis_prefix,
        database_url,
        metrics_addr,
        web_addr,
        web_public_url,
        web_trusted_proxies,
        s3,
        store_dir,
        limits,
        ollama,
        prompts,
        telegram: TelegramSettings { token, api_url },
        discord: DiscordSettings {
            token: discord_token,
            api_url: discord_api_url,
            guild: Some(guild).filter(|g| *g > 0),
            message_content,
        },
        bot_id,
        skip_voice_question,
        mark,
        max_side,
        settings: Vec::new(),
    })
}

/// `123456:ABC-def_ghi`: the bot's id, a colon, and its secret.
fn valid_token(token: &str) -> bool {
    match token.split_once(':') {
        Some((id, secret)) => {
            !id.is_empty()
                && id.chars().all(|c| c.is_ascii_digit())
                && !secret.is_empty()
                && secret
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        }
        None => false,
    }
}

/// `MTA4.GhIj.KlMn_op`: three base64url parts, dot-separated.
fn valid_discord_token(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Ok((*v).to_owned())))
            .collect();
        Config::from_sources(env, BTreeMap::new())
    }

    #[test]
    fn defaults_are_valid() {
        let config = with(&[]).expect("defaults");
        assert_eq!(
            config.limits.renders_per_hour,
            limits::DEFAULT_RENDERS_PER_HOUR
        );
        assert!(config.s3.is_none() && config.ollama.is_none());
        assert!(Config::variables().len() > 25);
    }

    #[test]
    fn every_malformed_value_names_its_variable() {
        let variables = Config::variables();
        assert!(!variables.is_empty());
        for var in variables {
            // RUST_LOG is checked by the log filter itself, in the binary.
            if var.rule == Rule::LogFilter {
                continue;
            }
            let bad = var.rule.malformed();
            assert!(!bad.is_empty(), "{}", var.name);
            for value in bad {
                let err = with(&[(var.name, value.as_str())])
                    .expect_err(&format!("{}={value}", var.name));
                assert!(err.0.starts_with(var.name), "{err}");
            }
        }
    }

    #[test]
    fn secrets_never_show() {
        let config = with(&[
            ("TELEGRAM_BOT_TOKEN", "123:SECRETTOKEN"),
            ("DISCORD_BOT_TOKEN", "MTA4.GhIj.DISCORDSECRET"),
            ("DATABASE_URL", "postgres://me:hunter2@db/spinbot"),
            ("S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("S3_BUCKET", "b"),
            ("AWS_SECRET_ACCESS_KEY", "topsecretkey"),
        ])
        .expect("config");
        let all = format!("{config:?} {:?}", config.settings());
        for secret in ["SECRETTOKEN", "DISCORDSECRET", "hunter2", "topsecretkey"] {
            assert!(!all.contains(secret), "{secret} shows");
        }
        let db = config.settings().iter().find(|s| s.name == "DATABASE_URL");
        assert_eq!(
            db.map(|s| s.shown.as_str()),
            Some("postgres://me:***@db/spinbot")
        );
        // A bad token is refused without repeating it.
        let err = with(&[("TELEGRAM_BOT_TOKEN", "SECRET TOKEN")]).expect_err("bad token");
        assert!(!err.0.contains("SECRET"), "{err}");
    }

    #[test]
    fn devices_parse() {
        assert_eq!("CPU".parse::<DeviceChoice>(), Ok(DeviceChoice::Cpu));
        assert_eq!("cuda".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda(None)));
        assert_eq!(
            "cuda:1".parse::<DeviceChoice>(),
            Ok(DeviceChoice::Cuda(Some(1)))
        );
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
    }

    #[test]
    fn the_environment_wins_over_dotenv() {
        let env = [("SPINBOT_RENDER_BURST".to_owned(), Ok("7".to_owned()))]
            .into_iter()
            .collect();
        let dotenv = [
            ("SPINBOT_RENDER_BURST".to_owned(), "9".to_owned()),
            ("SPINBOT_MAX_QUEUE".to_owned(), "12".to_owned()),
        ]
        .into_iter()
        .collect();
        let config = Config::from_sources(env, dotenv).expect("config");
        assert_eq!(config.limits.render_burst, 7);
        assert_eq!(config.limits.max_queue, 12);
    }
}
