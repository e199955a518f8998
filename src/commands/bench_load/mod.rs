//! `spinbot bench load`: many people chatting at once. The bots (Telegram and Discord
//! against their fakes, the web chat over HTTP) and workers run as processes of this binary
//! on the configured Redis (under a key prefix of their own, removed afterwards), store and
//! record; the workers' render is a stand-in that returns a clip prepared before the run
//! (`stand_in`), so what is measured is the chat side and the job plane. People arrive over
//! the run (`people`); the processes' memory, Redis's memory and the job plane's events are
//! watched (`watch`). With `--kill`, a bot and a worker are SIGKILLed halfway and started
//! again. Prints one JSON line.

mod people;
mod stand_in;
mod watch;

pub use stand_in::{run as run_stand_in, StandInArgs};

use anyhow::Context;
use clap::Args;
use people::{Door, Heard, Inboxes, Media, Platform, Story, Visit, WebVisitor};
use serde_json::json;
use spinbot_core::limits::PRUNE_EVERY_S;
use spinbot_core::Config;
use spinbot_jobs::{Queue, QueueConfig};
use spinbot_testkit::fake_discord::{Person, Place};
use spinbot_testkit::fake_telegram::Chat;
use spinbot_testkit::{FakeDiscord, FakeTelegram};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;
use watch::{since, Ledger, Process};

const TELEGRAM_TOKEN: &str = "100000:load-token";
const DISCORD_TOKEN: &str = "MTAwMDAw.bG9hZA.load-token";
/// What the prepared clip says.
const CLIP_TEXT: &str = "Hi, it's me!";
/// How long people wait after the run for the videos still owed them.
const DRAIN: Duration = Duration::from_secs(120);
/// Redis's memory (without people's state, kept for weeks by design) counts as back when
/// within this share of its idle size.
const IDLE_MARGIN: f64 = 0.10;

#[derive(Args)]
pub struct LoadArgs {
    /// People, spread over the platforms.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// How long people keep arriving and chatting.
    #[arg(long, default_value_t = 5.0)]
    minutes: f64,
    /// The same in seconds (for short runs; overrides --minutes).
    #[arg(long)]
    seconds: Option<f64>,
    #[arg(long, value_enum, default_value = "all")]
    platform: Platform,
    /// SIGKILL a bot and a worker halfway through and start them again.
    #[arg(long)]
    kill: bool,
    /// Worker processes, and the jobs each takes at once.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    #[arg(long, default_value_t = 8)]
    slots: usize,
    /// How long the stand-in render of one job takes, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    render_ms: u64,
    /// How long finished jobs stay in Redis in this run (the processes'
    /// `SPINBOT_RETENTION_S`), so that "after retention" comes within it.
    #[arg(long, default_value_t = 20)]
    retention_s: u64,
    /// The selfie (default: the sample photo from the assets).
    #[arg(long)]
    photo: Option<PathBuf>,
}

/// The fakes of the platforms in the run, and the readers handing on what their bots send.
struct Fakes {
    telegram: Option<(Arc<FakeTelegram>, Inboxes<i64>)>,
    discord: Option<(Arc<FakeDiscord>, Inboxes<u64>)>,
    /// The web chat's address, and the browsers' shared connection pool.
    web: Option<(String, reqwest::Client)>,
}

pub async fn run(args: LoadArgs, config: &Config, assets_root: &Path) -> anyhow::Result<()> {
    let photo = args
        .photo
        .clone()
        .unwrap_or_else(|| assets_root.join("photos").join("t1.jpg"));
    let dir = tempfile::tempdir()?;
    let media = Arc::new(prepare(&photo, dir.path()).await?);
    let prefix = format!("spinbot-bench-load-{}", std::process::id());
    let queue = Queue::new(QueueConfig {
        prefix: prefix.clone(),
        ..QueueConfig::from_config(config)
    })?;
    let record = crate::commands::record(config)?;
    if let Some(record) = &record {
        record.migrate().await?;
    }
    let rows_before = match &record {
        Some(r) => r.row_counts().await?,
        None => Vec::new(),
    };
    let result = measure(&args, config, &queue, &prefix, media, dir.path()).await;
    let rows_after = match &record {
        Some(r) => r.row_counts().await?,
        None => Vec::new(),
    };
    queue.delete_all().await?;
    let mut report = result?;
    let accepted = report["jobs"]["accepted"].as_u64().unwrap_or(0).max(1) as f64;
    let per_job: serde_json::Map<String, serde_json::Value> = rows_before
        .iter()
        .zip(&rows_after)
        .map(|((table, before), (_, after))| {
            let per = (after - before) as f64 / accepted;
            ((*table).to_owned(), json!((per * 100.0).round() / 100.0))
        })
        .collect();
    report["postgres_rows_per_job"] = if record.is_some() {
        json!(per_job)
    } else {
        json!(null)
    };
    println!("{report}");
    Ok(())
}

/// The prepared clip (a real render of a short sentence with the selfie) and a voice note
/// cut from its sound.
async fn prepare(photo: &Path, dir: &Path) -> anyhow::Result<Media> {
    let selfie = tokio::fs::read(photo)
        .await
        .with_context(|| format!("{}", photo.display()))?;
    let clip = dir.join("clip.mp4");
    let exe = std::env::current_exe()?;
    let rendered = tokio::process::Command::new(&exe)
        .arg("render")
        .arg("--photo")
        .arg(photo)
        .args(["--say", CLIP_TEXT, "-o"])
        .arg(&clip)
        .stdout(std::process::Stdio::null())
        .status()
        .await?;
    anyhow::ensure!(rendered.success(), "the clip could not be rendered");
    let note = dir.join("note.ogg");
    let cut = tokio::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&clip)
        .args(["-vn", "-c:a", "libopus", "-b:a", "32k"])
        .arg(&note)
        .status()
        .await?;
    anyhow::ensure!(
        cut.success(),
        "the voice note could not be cut from the clip"
    );
    Ok(Media {
        selfie,
        note: tokio::fs::read(&note).await?,
        note_s: spinbot_testkit::media::stream_seconds(&note, "a"),
    })
}

/// The environment every process of the run gets.
fn base_env(prefix: &str, retention_s: u64) -> Vec<(String, String)> {
    [
        ("SPINBOT_REDIS_PREFIX", prefix.to_owned()),
        // People are not asked which voice first: every answer is one round trip.
        ("SPINBOT_SKIP_VOICE_QUESTION", "1".to_owned()),
        ("SPINBOT_RETENTION_S", retention_s.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Starts the fakes and the processes, lets the people chat, and reports.
async fn measure(
    args: &LoadArgs,
    config: &Config,
    queue: &Queue,
    prefix: &str,
    media: Arc<Media>,
    dir: &Path,
) -> anyhow::Result<serde_json::Value> {
    let logs = config.log != "warn";
    let env = base_env(prefix, args.retention_s);
    let platforms = args.platform.each();
    let mut fakes = Fakes {
        telegram: None,
        discord: None,
        web: None,
    };
    let mut processes = Vec::new();
    let mut bot_metrics = Vec::new();
    for n in 1..=args.workers {
        let name = format!("worker-{n}");
        processes.push(Process::start(
            &name,
            &[
                "bench",
                "load-worker",
                "--clip",
                &dir.join("clip.mp4").to_string_lossy(),
                "--render-ms",
                &args.render_ms.to_string(),
                "--concurrency",
                &args.slots.to_string(),
                "--name",
                &format!("{prefix}-{name}"),
            ],
            env.clone(),
            logs,
        )?);
    }
    for platform in &platforms {
        let mut bot_env = env.clone();
        bot_env.push(("SPINBOT_BOT_ID".into(), format!("load-{}", platform.name())));
        let metrics = format!("127.0.0.1:{}", spinbot_testkit::free_port());
        bot_env.push(("SPINBOT_METRICS_ADDR".into(), metrics.clone()));
        bot_metrics.push((format!("bot-{}", platform.name()), metrics));
        match platform {
            Platform::Telegram => {
                let fake = Arc::new(FakeTelegram::start(TELEGRAM_TOKEN));
                bot_env.push(("TELEGRAM_BOT_TOKEN".into(), TELEGRAM_TOKEN.into()));
                bot_env.push(("TELEGRAM_API_URL".into(), fake.url().to_owned()));
                fakes.telegram = Some((fake, Inboxes::default()));
            }
            Platform::Discord => {
                let fake = Arc::new(FakeDiscord::start(DISCORD_TOKEN));
                bot_env.push(("DISCORD_BOT_TOKEN".into(), DISCORD_TOKEN.into()));
                bot_env.push(("DISCORD_API_URL".into(), fake.url().to_owned()));
                fakes.discord = Some((fake, Inboxes::default()));
            }
            Platform::Web | Platform::All => {
                let address = format!("127.0.0.1:{}", spinbot_testkit::free_port());
                bot_env.push(("SPINBOT_WEB_ADDR".into(), address.clone()));
                // The people arrive from many networks, through a proxy on this machine.
                bot_env.push(("SPINBOT_WEB_TRUSTED_PROXIES".into(), "127.0.0.1".into()));
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(64)
                    .build()?;
                fakes.web = Some((format!("http://{address}"), client));
            }
        }
        processes.push(Process::start(
            &format!("bot-{}", platform.name()),
            &["bot", platform.name()],
            bot_env,
            logs,
        )?);
    }
    ready(&fakes).await?;
    let stop = CancellationToken::new();
    let readers = start_readers(&fakes, &stop);
    warm_up(args, &fakes, media.clone(), &stop).await?;
    // Idle: every process up and warm, the warm-up's job past its retention.
    tokio::time::sleep(
        Duration::from_secs(args.retention_s) + 2 * spinbot_jobs::housekeeping::EVERY,
    )
    .await;
    let began = Instant::now();
    let processes = Arc::new(Mutex::new(processes));
    let idle = Idle::measure(queue).await?;
    let sampler = tokio::spawn(sample(
        processes.clone(),
        queue.clone(),
        began,
        stop.clone(),
    ));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let reader = tokio::spawn(read_events(queue.clone(), ledger.clone(), stop.clone()));
    let run_s = args.seconds.unwrap_or(args.minutes * 60.0).max(1.0);
    let killer = args.kill.then(|| {
        let (processes, platform) = (processes.clone(), platforms[0]);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs_f64(run_s / 2.0)).await;
            let mut processes = processes.lock().await;
            let mut killed = Vec::new();
            for process in processes.iter_mut() {
                if process.name == "worker-1" || process.name == format!("bot-{}", platform.name())
                {
                    if let Err(e) = process.kill_and_restart().await {
                        tracing::warn!(error = %e, "a process was not restarted");
                    }
                    killed.push(process.name.clone());
                }
            }
            killed
        })
    });
    let stories = chat(args, &fakes, media, run_s, &stop).await?;
    let last_message = Instant::now();
    let killed = match killer {
        Some(k) => k.await?,
        None => Vec::new(),
    };
    let chatted_s = since(began);
    // Settled: every accepted job ended and its video was posted (or the wait ran out).
    let settle_until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < settle_until {
        let l = ledger.lock().await;
        let (_, never) = l.posts();
        if l.lost() == 0 && never == 0 {
            break;
        }
        drop(l);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let redis_after = after_retention(args, config, queue, &idle).await?;
    // What the bots keep per person and chat, once the last message is older than the
    // longest flood window (a minute) and a pruning.
    let quiet = Duration::from_secs(60 + 2 * PRUNE_EVERY_S);
    let mut kept;
    loop {
        kept = serde_json::Map::new();
        for (name, addr) in &bot_metrics {
            let entries = watch::kept_entries(addr)
                .await
                .unwrap_or_else(|e| json!(e.to_string()));
            kept.insert(name.clone(), entries);
        }
        let pruned = kept.values().all(|maps| {
            maps.as_object()
                .is_some_and(|m| m.values().all(|n| n.as_f64() == Some(0.0)))
        });
        if pruned || last_message.elapsed() > quiet {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    stop.cancel();
    for reader in readers {
        let _ = reader.await;
    }
    let _ = reader.await;
    let (redis_peak_mb, processes_report) = sampler.await??;
    for process in processes.lock().await.iter_mut() {
        process.stop(Duration::from_secs(10)).await;
    }
    let ledger = ledger.lock().await;
    Ok(report(
        args,
        &stories,
        &ledger,
        Figures {
            chatted_s,
            redis_idle: idle,
            redis_peak_mb,
            redis_after,
            processes: processes_report,
            killed,
            kept: json!(kept),
        },
    ))
}

/// Waits until each bot is connected (Discord says so; the others answer at once).
async fn ready(fakes: &Fakes) -> anyhow::Result<()> {
    if let Some((discord, _)) = &fakes.discord {
        let discord = discord.clone();
        let up = tokio::task::spawn_blocking(move || discord.wait_ready(Duration::from_secs(60)))
            .await?;
        anyhow::ensure!(up, "the Discord bot never connected");
    }
    if let Some((base, client)) = &fakes.web {
        let until = Instant::now() + Duration::from_secs(60);
        while client
            .get(format!("{base}/style.css"))
            .send()
            .await
            .is_err()
        {
            anyhow::ensure!(Instant::now() < until, "the web chat never answered");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

fn start_readers(fakes: &Fakes, stop: &CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
    let mut readers = Vec::new();
    if let Some((fake, inboxes)) = &fakes.telegram {
        readers.push(tokio::spawn(people::read_telegram(
            fake.clone(),
            inboxes.clone(),
            stop.clone(),
        )));
    }
    if let Some((fake, inboxes)) = &fakes.discord {
        readers.push(tokio::spawn(people::read_discord(
            fake.clone(),
            inboxes.clone(),
            stop.clone(),
        )));
    }
    readers
}

/// The people, arriving evenly over the first 80% of the run; returns their stories.
async fn chat(
    args: &LoadArgs,
    fakes: &Fakes,
    media: Arc<Media>,
    run_s: f64,
    stop: &CancellationToken,
) -> anyhow::Result<Vec<Story>> {
    let platforms = args.platform.each();
    let users = args.users.max(1);
    let gap = Duration::from_secs_f64(run_s * 0.8 / users as f64);
    let linger = Instant::now() + Duration::from_secs_f64(run_s) + DRAIN;
    let mut visits = tokio::task::JoinSet::new();
    for index in 0..users {
        let platform = platforms[index % platforms.len()];
        let visit = arrive(fakes, platform, index, stop).await?;
        visits.spawn(visit.run(media.clone(), linger));
        tokio::time::sleep(gap).await;
    }
    let mut stories = Vec::with_capacity(users);
    while let Some(story) = visits.join_next().await {
        stories.push(story?);
    }
    Ok(stories)
}

/// One person who sends a selfie, asks for a video and gets it, before the run: Redis's
/// idle size is that of a farm that has served (its scripts loaded, its streams made).
async fn warm_up(
    args: &LoadArgs,
    fakes: &Fakes,
    media: Arc<Media>,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    // A person who only asks for one video (see `people`'s roles), numbered after the run's.
    let index = (args.users / 10 + 1) * 10 + 6;
    let visit = arrive(fakes, args.platform.each()[0], index, stop).await?;
    let story = visit.run(media, Instant::now() + DRAIN).await;
    anyhow::ensure!(
        story.videos == 1,
        "the warm-up request got {} videos, not one",
        story.videos
    );
    Ok(())
}

/// Person `index` arrives on `platform`: their chat, and where the bot's answers reach them.
async fn arrive(
    fakes: &Fakes,
    platform: Platform,
    index: usize,
    stop: &CancellationToken,
) -> anyhow::Result<Visit> {
    let id = u64::from(std::process::id() % 10_000) * 1_000_000 + 1_000_000_000 + index as u64;
    let (tx, rx) = mpsc::unbounded_channel::<Heard>();
    let (door, user) = match platform {
        Platform::Telegram => {
            let (fake, inboxes) = fakes.telegram.as_ref().context("no Telegram")?;
            let chat = Chat::private(id as i64, &format!("Person {index}"));
            inboxes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(chat.id, tx);
            (Door::Telegram(fake.clone(), chat), format!("telegram:{id}"))
        }
        Platform::Discord => {
            let (fake, inboxes) = fakes.discord.as_ref().context("no Discord")?;
            let (place, person) = (Place::dm(id), Person::new(id, &format!("person{index}")));
            inboxes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, tx);
            (
                Door::Discord(fake.clone(), place, person),
                format!("discord:{id}"),
            )
        }
        Platform::Web | Platform::All => {
            let (base, client) = fakes.web.clone().context("no web chat")?;
            let mut visitor = WebVisitor {
                client,
                base,
                // Each visitor from a network of their own.
                address: format!(
                    "10.{}.{}.{}",
                    (index >> 16) & 255,
                    (index >> 8) & 255,
                    index & 255
                ),
                cookie: None,
            };
            people::open_web(&mut visitor, tx, stop.clone()).await?;
            (Door::Web(visitor), format!("web:{index}"))
        }
    };
    Ok(Visit {
        platform,
        index,
        user,
        door,
        heard: rx,
    })
}

/// Follows the job plane's events into the ledger until `stop`.
async fn read_events(queue: Queue, ledger: Arc<Mutex<Ledger>>, stop: CancellationToken) {
    let Ok(mut events) = queue.reader("bench-load", "bench-load") else {
        return;
    };
    while !stop.is_cancelled() {
        match events.next(500).await {
            Ok(batch) => {
                let mut ledger = ledger.lock().await;
                for (_, event) in &batch {
                    ledger.take(event);
                }
                drop(ledger);
                let ids: Vec<&str> = batch.iter().map(|(id, _)| id.as_str()).collect();
                let _ = events.ack(&ids).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading events failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Each process's resident memory and Redis's every second until `stop`; returns Redis's
/// peak and each process's figures.
async fn sample(
    processes: Arc<Mutex<Vec<Process>>>,
    queue: Queue,
    began: Instant,
    stop: CancellationToken,
) -> anyhow::Result<(f64, serde_json::Value)> {
    let mut peak: f64 = 0.0;
    while !stop.is_cancelled() {
        let t = since(began);
        for process in processes.lock().await.iter_mut() {
            if process.running() {
                process.sample(t);
            }
        }
        if let Ok(mb) = watch::redis_memory_mb(&queue).await {
            peak = peak.max(mb);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.cancelled() => {}
        }
    }
    let processes = processes.lock().await;
    let figures: serde_json::Map<String, serde_json::Value> = processes
        .iter()
        .map(|p| (p.name.clone(), memory_figures(&p.lives)))
        .collect();
    Ok((peak, json!(figures)))
}

/// A process's memory: its peak, and per life the resident size a minute in and at the end
/// (growth after the first minute is the difference).
fn memory_figures(lives: &[Vec<(f64, f64)>]) -> serde_json::Value {
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let lives: Vec<serde_json::Value> = lives
        .iter()
        .map(|samples| {
            let started = samples.first().map_or(0.0, |s| s.0);
            let peak = samples.iter().map(|s| s.1).fold(0.0, f64::max);
            let at_minute = samples.iter().find(|s| s.0 >= started + 60.0).map(|s| s.1);
            let last = samples.last().map(|s| s.1);
            // Growth after the first minute: the most it rose above its size then.
            let after_minute = samples
                .iter()
                .filter(|s| s.0 >= started + 60.0)
                .map(|s| s.1)
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
            json!({
                "peak_rss_mb": round(peak),
                "rss_at_1min_mb": at_minute.map(round),
                "rss_end_mb": last.map(round),
                "growth_after_1min_mb": at_minute.zip(after_minute).map(|(a, m)| round(m - a)),
                "seconds": samples.last().map(|s| round(s.0 - started)),
            })
        })
        .collect();
    json!(lives)
}

/// The bytes of the run's keys that are not people's state kept by design.
fn plane_bytes(families: &std::collections::BTreeMap<String, (usize, u64)>) -> u64 {
    families
        .iter()
        .filter(|(family, _)| *family != "people")
        .map(|(_, (_, bytes))| bytes)
        .sum()
}

/// Redis once finished jobs have passed their retention and the per-user rate limits their
/// window: the run's keys polled until those of the job plane, the bots and the limits are
/// back within the margin of their idle size, or until the longest of those times has
/// passed. People's state (kept for weeks by design) is reported beside it.
async fn after_retention(
    args: &LoadArgs,
    config: &Config,
    queue: &Queue,
    idle: &Idle,
) -> anyhow::Result<serde_json::Value> {
    let limits = &config.limits;
    let window_s =
        3600.0 / f64::from(limits.renders_per_hour.max(1)) * f64::from(limits.render_burst.max(1));
    let longest = args.retention_s as f64
        + 2.0 * spinbot_jobs::housekeeping::EVERY.as_secs_f64()
        + window_s
        + 5.0;
    let waited = Instant::now();
    let allowed = Idle::without_people(idle.used_mb, idle.people_bytes) * (1.0 + IDLE_MARGIN);
    let mut now = Idle::measure(queue).await?;
    while Idle::without_people(now.used_mb, now.people_bytes) > allowed && since(waited) < longest {
        tokio::time::sleep(Duration::from_secs(2)).await;
        now = Idle::measure(queue).await?;
    }
    let families = watch::key_bytes(queue).await?;
    let without_people = Idle::without_people(now.used_mb, now.people_bytes);
    Ok(json!({
        "waited_s": since(waited).round(),
        "used_memory_mb": (now.used_mb * 100.0).round() / 100.0,
        "without_people_mb": (without_people * 100.0).round() / 100.0,
        "back_to_idle": without_people <= allowed,
        "plane_bytes": now.plane_bytes,
        "people_bytes": now.people_bytes,
        "keys": families
            .iter()
            .map(|(f, (n, b))| (f.clone(), json!({"keys": n, "bytes": b})))
            .collect::<serde_json::Map<_, _>>(),
    }))
}

/// Redis with every process up and warm, and nobody chatting.
struct Idle {
    used_mb: f64,
    plane_bytes: u64,
    people_bytes: u64,
}

impl Idle {
    async fn measure(queue: &Queue) -> anyhow::Result<Self> {
        let families = watch::key_bytes(queue).await?;
        Ok(Self {
            used_mb: watch::redis_memory_mb(queue).await?,
            plane_bytes: plane_bytes(&families),
            people_bytes: families.get("people").map_or(0, |f| f.1),
        })
    }

    /// Redis's memory without people's state, in MiB.
    fn without_people(used_mb: f64, people_bytes: u64) -> f64 {
        used_mb - people_bytes as f64 / MIB
    }
}

const MIB: f64 = 1024.0 * 1024.0;

/// Figures gathered beside the stories and the ledger.
struct Figures {
    chatted_s: f64,
    redis_idle: Idle,
    redis_peak_mb: f64,
    redis_after: serde_json::Value,
    processes: serde_json::Value,
    killed: Vec<String>,
    /// What each bot keeps in memory per person or chat at the end, by map.
    kept: serde_json::Value,
}

/// Percentiles (50, 95, 99) of `values`, in seconds to the millisecond.
fn percentiles(mut values: Vec<f64>) -> serde_json::Value {
    if values.is_empty() {
        return json!(null);
    }
    values.sort_by(f64::total_cmp);
    let at = |p: f64| {
        let i = ((values.len() as f64 * p).ceil() as usize).clamp(1, values.len()) - 1;
        (values[i] * 1000.0).round() / 1000.0
    };
    json!({"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "n": values.len()})
}

fn report(args: &LoadArgs, stories: &[Story], ledger: &Ledger, f: Figures) -> serde_json::Value {
    let exchanges = || stories.iter().flat_map(|s| s.exchanges.iter());
    let replies: Vec<f64> = exchanges().filter_map(|e| e.reply_s).collect();
    let unanswered = exchanges().filter(|e| e.reply_s.is_none()).count();
    let mut refusals: std::collections::BTreeMap<&str, usize> = Default::default();
    for refusal in exchanges().filter_map(|e| e.refusal) {
        *refusals.entry(refusal).or_default() += 1;
    }
    let over = stories.iter().filter(|s| s.over_limit);
    let over_limit_users = over.clone().count();
    let over_limit_refused = over
        .filter(|s| s.exchanges.iter().any(|e| e.refusal.is_some()))
        .count();
    let videos_received: usize = stories.iter().map(|s| s.videos).sum();
    let (posted_twice, never_posted) = ledger.posts();
    let messages = exchanges().count();
    let by_platform: serde_json::Map<String, serde_json::Value> = args
        .platform
        .each()
        .into_iter()
        .map(|p| {
            let replies = stories
                .iter()
                .filter(|s| s.platform == p)
                .flat_map(|s| s.exchanges.iter().filter_map(|e| e.reply_s))
                .collect();
            (p.name().to_owned(), percentiles(replies))
        })
        .collect();
    json!({
        "bench": "load",
        "platform": args.platform.name(),
        "users": stories.len(),
        "seconds": (f.chatted_s * 10.0).round() / 10.0,
        "messages": messages,
        "replies_per_s": ((replies.len() as f64 / f.chatted_s) * 100.0).round() / 100.0,
        "first_reply_s": percentiles(replies),
        "first_reply_s_by_platform": by_platform,
        "unanswered": unanswered,
        "video_s": percentiles(stories.iter().flat_map(|s| s.videos_s.iter().copied()).collect()),
        "refusals": refusals,
        "over_limit_users": over_limit_users,
        "over_limit_users_refused": over_limit_refused,
        "jobs": {
            "accepted": ledger.accepted_count(),
            "done": ledger.done.len(),
            "cancelled": ledger.cancelled.len(),
            "failed": ledger.failed.len(),
            "lost": ledger.lost(),
            "restarted": ledger.restarts,
            "posted_twice": posted_twice,
            "never_posted": never_posted,
            "videos_received": videos_received,
        },
        "fair_share": {
            "first_starts": ledger.first_starts,
            "later_job_before_someones_first": ledger.unfair_starts,
        },
        "killed": f.killed,
        "kept_entries_at_end": f.kept,
        "processes": f.processes,
        "redis": {
            "idle_used_memory_mb": (f.redis_idle.used_mb * 100.0).round() / 100.0,
            "idle_without_people_mb": (Idle::without_people(f.redis_idle.used_mb, f.redis_idle.people_bytes) * 100.0).round() / 100.0,
            "idle_plane_bytes": f.redis_idle.plane_bytes,
            "peak_used_memory_mb": (f.redis_peak_mb * 100.0).round() / 100.0,
            "after_retention": f.redis_after,
        },
    })
}
