//! What the agent's tests share: a real Redis job plane with a folder store, callers, and
//! agents pointed at a fake Ollama.

#![allow(dead_code)]

use redis::AsyncCommands;
use serde_json::Value;
use spinbot_agent::conversation::{Conversations, State};
use spinbot_agent::{Agent, Caller, Executor, Message, OllamaSettings, Prompts, Upload};
use spinbot_core::config::SecretUrl;
use spinbot_core::{JobId, JobState, UserId};
use spinbot_jobs::keys::uploads_prefix;
use spinbot_jobs::{LocalStore, Queue, QueueConfig, Record, Store};
pub use spinbot_testkit::{FakeOllama, RedisServer, Turn};
use std::sync::Arc;

pub const MODEL: &str = "qwen3:8b";
/// The voices the executor knows: name, language, gender, pitch (Hz).
pub const VOICES: [(&str, &str, &str, f32); 4] = [
    ("en_US-joe-medium", "en-US", "male", 100.0),
    ("en_US-amy-medium", "en-US", "female", 200.0),
    ("ef_dora", "es", "female", 240.0),
    ("em_alex", "es", "male", 125.0),
];

/// A job plane of its own: Redis, a store folder, and the executor over them.
pub struct World {
    pub redis: RedisServer,
    pub store_dir: tempfile::TempDir,
    pub store: Store,
    pub executor: Arc<Executor>,
}

pub fn config(redis: &RedisServer) -> QueueConfig {
    QueueConfig {
        redis_url: redis.url(),
        limits: spinbot_core::config::Limits {
            renders_per_hour: 100_000,
            render_burst: 1_000,
            max_queued_per_user: 1_000,
            flood_per_second: 1_000_000,
            ..Default::default()
        },
        ..QueueConfig::default()
    }
}

impl World {
    pub async fn new() -> Self {
        Self::with(config, None).await
    }

    pub async fn with(
        settings: impl Fn(&RedisServer) -> QueueConfig,
        record: Option<String>,
    ) -> Self {
        let redis = RedisServer::start(false);
        let store_dir = tempfile::tempdir().expect("a store folder");
        let store = Store::Local(LocalStore::new(store_dir.path()));
        let queue = Queue::new(settings(&redis)).expect("queue");
        let record = match record {
            Some(url) => {
                let r = Record::connect(&SecretUrl::new(url)).expect("record");
                r.migrate().await.expect("migrations");
                Some(r)
            }
            None => None,
        };
        let executor = Executor::new(
            queue,
            store.clone(),
            record,
            VOICES
                .iter()
                .map(
                    |(name, language, gender, pitch_hz)| spinbot_core::VoiceEntry {
                        name: name.to_string(),
                        language: language.to_string(),
                        accent: String::new(),
                        gender: gender.to_string(),
                        recommended: true,
                        timbre: Some(spinbot_core::Timbre {
                            pitch_hz: *pitch_hz,
                            brightness_hz: 1000.0,
                        }),
                    },
                )
                .collect(),
            Prompts::built_in().help,
        );
        Self {
            redis,
            store_dir,
            store,
            executor: Arc::new(executor),
        }
    }

    pub fn queue(&self) -> Queue {
        Queue::new(config(&self.redis)).expect("queue")
    }

    pub async fn state(&self, who: &Caller) -> State {
        let queue = self.queue();
        Conversations::new(queue.connection(), queue.keys().clone())
            .load(&who.user)
            .await
            .expect("state")
    }

    pub async fn job_state(&self, job: &JobId, who: &Caller) -> Option<JobState> {
        self.queue()
            .status(job, Some(&who.user))
            .await
            .expect("status")
            .map(|s| s.state)
    }

    /// The plan JSON a job was queued with.
    pub async fn plan_of(&self, job: &JobId) -> Value {
        let queue = self.queue();
        let plan: String = queue
            .connection()
            .hget(queue.keys().job(job), "plan")
            .await
            .expect("a plan");
        serde_json::from_str(&plan).expect("plan JSON")
    }

    /// Every job in Redis, of anyone.
    pub async fn all_jobs(&self) -> Vec<String> {
        let queue = self.queue();
        let jobs = queue.keys().key(spinbot_jobs::keys::Key::Job, &[]);
        queue
            .all_keys()
            .await
            .expect("keys")
            .into_iter()
            .filter(|k| k.starts_with(&jobs))
            .collect()
    }

    /// The jobs in Redis that belong to `who`.
    pub async fn jobs_of(&self, who: &Caller) -> Vec<String> {
        let mut con = self.queue().connection();
        let mut mine = Vec::new();
        for key in self.all_jobs().await {
            let owner: Option<String> = con.hget(&key, "user").await.expect("owner");
            if owner.as_deref() == Some(who.user.as_str()) {
                mine.push(key);
            }
        }
        mine
    }

    /// Files under a user's uploads prefix.
    pub async fn uploads(&self, who: &Caller) -> Vec<String> {
        let mut keys: Vec<String> = self
            .store
            .list(&uploads_prefix(&who.user))
            .await
            .expect("list")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        keys
    }

    /// Stores a photo the caller sent and tells the agent's hands about it.
    pub async fn send_photo(&self, who: &Caller) -> String {
        let key = format!("{}photo-{}.jpg", uploads_prefix(&who.user), JobId::new());
        let file = self.store_dir.path().join("incoming.jpg");
        std::fs::write(&file, b"\xff\xd8 not really a jpeg").expect("write");
        self.store.put_file(&key, &file).await.expect("put");
        self.executor
            .remember_upload(who, &Upload::Photo { key: key.clone() })
            .await
            .expect("remembered");
        self.executor
            .perform(who, &spinbot_agent::Action::UsePhoto)
            .await
            .expect("photo used");
        key
    }

    /// An agent whose model is `fake` (or none).
    pub fn agent(&self, fake: Option<&FakeOllama>) -> Agent {
        Agent::new(
            fake.map(|f| settings(f.url())),
            Prompts::built_in(),
            self.executor.clone().into(),
        )
    }
}

pub fn settings(url: &str) -> OllamaSettings {
    OllamaSettings {
        base_url: url.to_owned(),
        model: MODEL.to_owned(),
        timeout_ms: 5_000,
        stream: false,
        think: false,
    }
}

pub fn caller(id: u32) -> Caller {
    Caller {
        user: UserId::parse(&format!("telegram:{id}")).expect("user"),
        max_bytes: Some(50_000_000),
        reply: None,
        network: None,
    }
}

pub fn message(who: &Caller, text: &str) -> Message {
    Message {
        caller: who.clone(),
        text: text.to_owned(),
        uploads: Vec::new(),
        pressed: None,
    }
}

/// The messages of the `i`-th request the model got.
pub fn messages(fake: &FakeOllama, i: usize) -> Vec<Value> {
    fake.requests()[i]["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The tool results the model was shown in request `i`.
pub fn tool_results(fake: &FakeOllama, i: usize) -> Vec<String> {
    messages(fake, i)
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}
