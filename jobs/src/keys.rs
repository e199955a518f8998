//! The one owner of every name the job plane stores things under: Redis keys (for Rust,
//! and for the Lua scripts through a prelude generated from the same names) and object-store
//! keys (uploads, job inputs, stage outputs, results). Nothing else builds either.

use spinbot_core::{JobClass, JobId, Stage, UserId};

/// What a Redis key holds; its name is the key's first part after the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `job:<id>`: the job's hash (fields of [`spinbot_core::Job`]).
    Job,
    /// `pending:<class>:<user>`: a user's waiting jobs, oldest first.
    Pending,
    /// `ring:<class>`: users with waiting jobs, in the order they came (the fewest started go
    /// first; among equals, the earliest).
    Ring,
    /// `work`: the work stream; a pending entry of group `workers` is a lease.
    Work,
    /// `events`: the job events stream.
    Events,
    /// `dead`: jobs that failed too often.
    Dead,
    /// `delayed`: jobs waiting out a retry back-off, scored by when they may run.
    Delayed,
    /// `workers`: worker name -> when it was last heard from (ms).
    Workers,
    /// `count:...`: farm-wide and per-user counters (`count:served:<user>`: jobs started since
    /// the user last had nothing queued or running, for the fair share).
    Count,
    /// `gcra:<user>`: a user's rate-limit state.
    Gcra,
    /// `user_jobs:<user>`: a user's jobs by submission time.
    UserJobs,
    /// `conv:<user>`: what the agent remembers of a person.
    Conversation,
    /// `bot:<platform>:...`: delivery claims of a chat platform.
    Bot,
    /// `expiring`: finished jobs by when they ended; their live records go after the
    /// retention.
    Expiring,
    /// `member:<role>:<name>`: a live process's hold on its name (recorder, bot).
    Member,
    /// `forgotten:<digest>`: users who asked to be forgotten (a digest, not the id).
    Forgotten,
    /// `blocked`: users an admin blocked -> the reason.
    Blocked,
    /// `transcript:<user>`: a web chat's messages, edits and videos (a stream).
    Transcript,
}

impl Key {
    const ALL: [Key; 18] = [
        Key::Job,
        Key::Pending,
        Key::Ring,
        Key::Work,
        Key::Events,
        Key::Dead,
        Key::Delayed,
        Key::Workers,
        Key::Count,
        Key::Gcra,
        Key::UserJobs,
        Key::Conversation,
        Key::Bot,
        Key::Expiring,
        Key::Member,
        Key::Forgotten,
        Key::Blocked,
        Key::Transcript,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Key::Job => "job",
            Key::Pending => "pending",
            Key::Ring => "ring",
            Key::Work => "work",
            Key::Events => "events",
            Key::Dead => "dead",
            Key::Delayed => "delayed",
            Key::Workers => "workers",
            Key::Count => "count",
            Key::Gcra => "gcra",
            Key::UserJobs => "user_jobs",
            Key::Conversation => "conv",
            Key::Bot => "bot",
            Key::Expiring => "expiring",
            Key::Member => "member",
            Key::Forgotten => "forgotten",
            Key::Blocked => "blocked",
            Key::Transcript => "transcript",
        }
    }
}

/// The consumer group of workers on the work stream.
pub const WORKERS_GROUP: &str = "workers";

/// Redis key names under one prefix (several deployments, or tests, share one Redis).
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>:<name>:<parts...>`.
    pub fn key(&self, key: Key, parts: &[&str]) -> String {
        let mut out = format!("{}:{}", self.prefix, key.name());
        for part in parts {
            out.push(':');
            out.push_str(part);
        }
        out
    }

    pub fn job(&self, job: &JobId) -> String {
        self.key(Key::Job, &[job.as_str()])
    }

    pub fn pending(&self, class: JobClass, user: &UserId) -> String {
        self.key(Key::Pending, &[class.as_str(), user.as_str()])
    }

    pub fn work(&self) -> String {
        self.key(Key::Work, &[])
    }

    pub fn events(&self) -> String {
        self.key(Key::Events, &[])
    }

    pub fn dead(&self) -> String {
        self.key(Key::Dead, &[])
    }

    pub fn workers(&self) -> String {
        self.key(Key::Workers, &[])
    }

    /// Blocked users -> the reason an admin gave.
    pub fn blocked(&self) -> String {
        self.key(Key::Blocked, &[])
    }

    pub fn count(&self, parts: &[&str]) -> String {
        self.key(Key::Count, parts)
    }

    pub fn conversation(&self, user: &UserId) -> String {
        self.key(Key::Conversation, &[user.as_str()])
    }

    /// A user's queued and running jobs, by submission time.
    pub fn user_jobs(&self, user: &UserId) -> String {
        self.key(Key::UserJobs, &[user.as_str()])
    }

    /// The question waiting for a user's yes (an action to carry out), until it expires.
    pub fn question(&self, user: &UserId) -> String {
        self.key(Key::Conversation, &[user.as_str(), "question"])
    }

    /// A web chat's transcript (forgotten with its user).
    pub fn transcript(&self, user: &UserId) -> String {
        self.key(Key::Transcript, &[user.as_str()])
    }

    /// The secret that signs the web chat's cookies, shared by every web process.
    pub fn web_cookie_key(&self) -> String {
        self.key(Key::Bot, &["web", "cookie-key"])
    }

    /// How many new web identities `network` made in the current hour.
    pub fn web_new_identities(&self, network: &str) -> String {
        self.key(Key::Bot, &["web", "new-identities", network])
    }

    /// The channel on which every web process hears which transcript grew.
    pub fn web_appended(&self) -> String {
        self.key(Key::Bot, &["web", "appended"])
    }

    /// The claim on posting a job's video into a chat.
    pub fn delivery(&self, platform: &str, job: &JobId, chat: &str) -> String {
        self.key(Key::Bot, &[platform, "delivered", job.as_str(), chat])
    }

    /// The hold of a live process on its name in `role`.
    pub fn member(&self, role: &str, name: &str) -> String {
        self.key(Key::Member, &[role, name])
    }

    /// The marker of a user who asked to be forgotten: a digest of the id, so no key names
    /// them.
    pub fn forgotten(&self, user: &UserId) -> String {
        use sha1_smol::Sha1;
        let digest = Sha1::from(format!("{}:{}", self.prefix, user.as_str()))
            .digest()
            .to_string();
        self.key(Key::Forgotten, &[&digest])
    }

    /// Every key of this prefix, for `SCAN MATCH`.
    pub fn all_pattern(&self) -> String {
        format!("{}:*", self.prefix)
    }

    /// The Lua the scripts start with: `P` (the prefix, `ARGV[1]`), `K` (the key names
    /// above) and `k(name, ...)`, which builds a key exactly as [`Keys::key`] does.
    pub fn lua_prelude() -> String {
        let mut names = String::new();
        for key in Key::ALL {
            names.push_str(&format!("{0} = '{0}', ", key.name()));
        }
        format!(
            "local P = ARGV[1]\n\
             local K = {{ {names}}}\n\
             local function k(name, ...)\n  \
               local parts = {{P, name, ...}}\n  \
               return table.concat(parts, ':')\n\
             end\n\
             local WORKERS = '{WORKERS_GROUP}'\n"
        )
    }
}

/// Where a user's uploads are kept (`users/<platform>/<id>/`): one folder per user, never
/// shared (the parts of a user id are never `.` or `..`, and the colon is the only
/// separator, so no two users map to one folder).
pub fn uploads_prefix(user: &UserId) -> String {
    let (platform, id) = user.parts();
    format!("users/{platform}/{id}/")
}

/// A new upload of `user`'s: `what` is `photo` or `voice-note`, `ext` its type.
pub fn upload(user: &UserId, what: &str, ext: &str) -> String {
    format!(
        "{}{what}-{}.{ext}",
        uploads_prefix(user),
        uuid::Uuid::new_v4().simple()
    )
}

/// Everything stored for one job (inputs and stage outputs).
pub fn job_prefix(job: &JobId) -> String {
    format!("jobs/{job}/")
}

/// An input of a job submitted from a terminal (`photo`, `voice-note`).
pub fn job_input(job: &JobId, name: &str) -> String {
    format!("{}inputs/{name}", job_prefix(job))
}

/// A finished stage's output, so another worker can resume after it.
pub fn stage_output(job: &JobId, stage: Stage) -> String {
    format!("{}stages/{}", job_prefix(job), stage.output_file())
}

/// The finished video.
pub fn result(job: &JobId) -> String {
    format!("results/{job}.mp4")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_never_share_an_uploads_folder() {
        let users = ["cli:a.b", "cli:a_b", "cli_a:b", "cli:a-b", "cli.a:b"];
        let prefixes: std::collections::HashSet<String> = users
            .iter()
            .map(|u| uploads_prefix(&UserId::parse(u).expect("user")))
            .collect();
        assert_eq!(prefixes.len(), users.len(), "{prefixes:?}");
        assert!(prefixes.contains("users/cli/a.b/"));
    }

    #[test]
    fn the_lua_prelude_builds_the_same_keys() {
        let prelude = Keys::lua_prelude();
        for key in Key::ALL {
            assert!(prelude.contains(&format!("'{}'", key.name())), "{prelude}");
        }
        let keys = Keys::new("p");
        assert_eq!(
            keys.key(Key::Count, &["queued", "cli:a"]),
            "p:count:queued:cli:a"
        );
    }
}
