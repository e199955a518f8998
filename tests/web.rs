//! The web chat, as people and scripts use it: Debian's headless Chromium driven over
//! WebDriver (chromedriver) through a whole round trip, and the HTTP API through curl with a
//! cookie jar per user (two users at once, and bad input); with the real job plane (Redis, a
//! store folder) and a real `spinbot worker`.

mod common;

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use spinbot_testkit::{free_port, RedisServer};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RENDER_WAIT: Duration = Duration::from_secs(180);

/// `spinbot bot web` (and a worker, when asked) on a Redis and a store folder of its own.
struct WebChat {
    redis: RedisServer,
    store: tempfile::TempDir,
    port: u16,
    processes: Vec<Child>,
}

impl WebChat {
    fn start(worker: bool) -> Self {
        let redis = RedisServer::start(false);
        let store = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let command = |args: &[&str], log: &str| {
            let log = std::fs::File::create(store.path().join(log)).expect("log");
            common::spinbot()
                .args(args)
                .env("REDIS_URL", redis.url())
                .env("SPINBOT_STORE", store.path())
                // Chat flows, not pictures: small videos keep the suite quick.
                .env("SPINBOT_MAX_SIDE", "360")
                .env("SPINBOT_WEB_ADDR", format!("127.0.0.1:{port}"))
                .env("SPINBOT_SKIP_VOICE_QUESTION", "1")
                // Requests may name a visitor's address, as a proxy in front would.
                .env("SPINBOT_WEB_TRUSTED_PROXIES", "127.0.0.1")
                .env("RUST_LOG", "info")
                .env_remove("OLLAMA_API_BASE_URL")
                .env_remove("OLLAMA_MODEL")
                .env_remove("DATABASE_URL")
                .env_remove("S3_ENDPOINT")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spinbot")
        };
        let mut processes = vec![command(&["bot", "web"], "web.log")];
        if worker {
            processes.push(command(
                &["worker", "--device", "cpu", "--name", "w1"],
                "worker.log",
            ));
        }
        let chat = Self {
            redis,
            store,
            port,
            processes,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the web chat did not start:\n{}",
                chat.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        chat
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        ["web.log", "worker.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.store.path().join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n---\n")
    }

    /// The web process is the one started (it did not exit).
    fn assert_up(&mut self) {
        let log = self.log();
        assert!(
            matches!(self.processes[0].try_wait(), Ok(None)),
            "the web chat exited:\n{log}"
        );
    }

    /// The jobs Redis holds, of every user.
    fn jobs(&self) -> usize {
        let mut con = redis::Client::open(self.redis.url())
            .and_then(|c| c.get_connection())
            .expect("redis");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("spinbot:user_jobs:*")
            .query(&mut con)
            .expect("keys");
        keys.iter()
            .map(|k| {
                redis::cmd("ZCARD")
                    .arg(k)
                    .query::<usize>(&mut con)
                    .expect("zcard")
            })
            .sum()
    }

    /// The commands Redis has processed so far.
    fn redis_commands(&self) -> u64 {
        let mut con = redis::Client::open(self.redis.url())
            .and_then(|c| c.get_connection())
            .expect("redis");
        let info: String = redis::cmd("INFO")
            .arg("stats")
            .query(&mut con)
            .expect("info");
        info.lines()
            .find_map(|l| l.strip_prefix("total_commands_processed:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("total_commands_processed")
    }

    /// Files the store holds under `prefix` (relative paths).
    fn stored(&self, prefix: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut dirs = vec![self.store.path().join(prefix)];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    found.push(path);
                }
            }
        }
        found
    }
}

impl Drop for WebChat {
    fn drop(&mut self) {
        for p in &mut self.processes {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

/// An HTTP answer: status, headers and body.
struct Answer {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A user of the API: curl with a cookie jar of its own.
struct User {
    jar: PathBuf,
    _dir: tempfile::TempDir,
}

impl User {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        Self {
            jar: dir.path().join("cookies"),
            _dir: dir,
        }
    }

    fn curl(&self, args: &[&str]) -> Answer {
        let dir = tempfile::tempdir().expect("tempdir");
        let headers = dir.path().join("headers");
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "240", "-c"])
            .arg(&self.jar)
            .arg("-b")
            .arg(&self.jar)
            .arg("-D")
            .arg(&headers)
            .args(["-w", "\n%{http_code}"])
            .args(args)
            .output()
            .expect("curl");
        let mut body = out.stdout;
        let cut = body.iter().rposition(|b| *b == b'\n').unwrap_or(0);
        let status = String::from_utf8_lossy(&body[cut..])
            .trim()
            .parse()
            .unwrap_or(0);
        body.truncate(cut);
        Answer {
            status,
            headers: std::fs::read_to_string(headers).unwrap_or_default(),
            body,
        }
    }

    fn send(&self, chat: &WebChat, text: &str, file: Option<&Path>) -> Answer {
        self.send_from(chat, "127.0.0.1", text, file)
    }

    /// [`User::send`] from `address`, as the trusted proxy in front says.
    fn send_from(&self, chat: &WebChat, address: &str, text: &str, file: Option<&Path>) -> Answer {
        let mut args = vec![
            "-H".to_owned(),
            format!("X-Forwarded-For: {address}"),
            "-F".to_owned(),
            format!("text={text}"),
        ];
        if let Some(file) = file {
            args.push("-F".into());
            args.push(format!("file=@{}", file.display()));
        }
        args.push(chat.url("/api/messages"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.curl(&args)
    }

    /// Presses the control `id` (a button the bot showed), labelled `label` in the chat.
    fn press(&self, chat: &WebChat, id: &str, label: &str) -> Answer {
        let (control, text) = (format!("control={id}"), format!("text={label}"));
        self.curl(&["-F", &text, "-F", &control, &chat.url("/api/messages")])
    }

    fn history(&self, chat: &WebChat) -> Vec<serde_json::Value> {
        let answer = self.curl(&[&chat.url("/api/history")]);
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits for a video in the history; its path.
    fn wait_for_video(&self, chat: &WebChat) -> String {
        let deadline = Instant::now() + RENDER_WAIT;
        loop {
            let events = self.history(chat);
            if let Some(video) = events.iter().find_map(|e| e["video"].as_str()) {
                return video.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no video: {events:#?}\n{}",
                chat.log()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The cookie as a browser sends it back (`spinbot_id=...`).
    fn cookie(&self) -> String {
        let jar = std::fs::read_to_string(&self.jar).expect("cookie jar");
        let value = jar
            .lines()
            .find(|l| l.contains("spinbot_id"))
            .and_then(|l| l.split('\t').next_back())
            .expect("the cookie")
            .to_owned();
        format!("spinbot_id={value}")
    }

    /// The chat id in this user's signed cookie (its last 32 characters).
    fn chat_id(&self) -> String {
        let jar = std::fs::read_to_string(&self.jar).expect("cookie jar");
        let value = jar
            .lines()
            .find(|l| l.contains("spinbot_id"))
            .and_then(|l| l.split('\t').next_back())
            .expect("the cookie")
            .to_owned();
        value[value.len() - 32..].to_owned()
    }
}

fn texts(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e["text"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn two_users_at_once_each_see_only_their_own_chat() {
    let chat = WebChat::start(true);
    let (ann, bob) = (User::new(), User::new());
    let selfie = common::face_photo();
    for (user, words) in [(&ann, "say hello from Ann"), (&bob, "say hello from Bob")] {
        let answer = user.send(&chat, words, Some(&selfie));
        assert_eq!(answer.status, 200, "{}\n{}", answer.text(), chat.log());
        let answers: Vec<String> = answer.json()["answers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        assert!(
            answers.iter().any(|t| t.contains("queued")),
            "{}\n{}",
            answer.text(),
            chat.log()
        );
    }
    let (ann_video, bob_video) = (ann.wait_for_video(&chat), bob.wait_for_video(&chat));
    assert_ne!(ann_video, bob_video);
    let (ann_all, bob_all) = (texts(&ann.history(&chat)), texts(&bob.history(&chat)));
    assert!(
        ann_all.iter().any(|t| t.contains("from Ann")),
        "{ann_all:?}"
    );
    assert!(
        !ann_all.iter().any(|t| t.contains("from Bob")),
        "{ann_all:?}"
    );
    assert!(
        bob_all.iter().any(|t| t.contains("from Bob")),
        "{bob_all:?}"
    );
    assert!(
        !bob_all.iter().any(|t| t.contains("from Ann")),
        "{bob_all:?}"
    );
    // Each gets their own video, and the other's is not found.
    let own = ann.curl(&[&chat.url(&ann_video)]);
    assert_eq!(own.status, 200);
    assert!(
        own.headers
            .to_lowercase()
            .contains("content-type: video/mp4"),
        "{}",
        own.headers
    );
    assert_eq!(&own.body[4..8], b"ftyp");
    let range = ann.curl(&["-H", "Range: bytes=0-99", &chat.url(&ann_video)]);
    assert_eq!((range.status, range.body.len()), (206, 100));
    assert_eq!(bob.curl(&[&chat.url(&ann_video)]).status, 404);
    assert_eq!(ann.curl(&[&chat.url(&bob_video)]).status, 404);
    // Jobs too: Ann's job id (on her status message's Cancel button) is hers alone.
    let ann_job = ann
        .history(&chat)
        .iter()
        .flat_map(|e| e["controls"].as_array().cloned().unwrap_or_default())
        .find_map(|c| {
            c["id"]
                .as_str()
                .and_then(|w| w.strip_prefix("cancel:"))
                .map(str::to_owned)
        })
        .expect("a Cancel button");
    let status = ann.curl(&[&chat.url(&format!("/api/jobs/{ann_job}"))]);
    assert_eq!(status.status, 200, "{}", status.text());
    assert_eq!(status.json()["state"], "done");
    let stranger = bob.curl(&[&chat.url(&format!("/api/jobs/{ann_job}"))]);
    assert_eq!(stranger.status, 404);
    // A press is typed, and its owner's: Bob pressing a copy of Ann's Cancel reaches no job
    // of hers, and a control the bot never made is refused.
    let pressed = bob.press(&chat, &format!("cancel:{ann_job}"), "Cancel");
    assert_eq!(pressed.status, 200, "{}", pressed.text());
    assert!(
        pressed.text().contains("can't find that video"),
        "{}",
        pressed.text()
    );
    let made_up = bob.press(&chat, "delete-everyone", "Delete");
    assert_eq!(made_up.status, 400, "{}", made_up.text());
    assert!(
        made_up.text().contains("not one of mine"),
        "{}",
        made_up.text()
    );
    // And the events: each stream is its own chat.
    for (user, mine, theirs) in [
        (&ann, "from Ann", "from Bob"),
        (&bob, "from Bob", "from Ann"),
    ] {
        let events = user.curl(&["-N", "--max-time", "3", &chat.url("/api/events?after=0-0")]);
        let text = events.text();
        assert!(
            text.contains("event: chat") && text.contains(mine),
            "{text}"
        );
        assert!(!text.contains(theirs), "{text}");
    }
}

#[test]
fn bad_input_gets_one_sentence_and_nothing_is_stored() {
    let mut chat = WebChat::start(false);
    let user = User::new();
    let dir = tempfile::tempdir().expect("tempdir");
    // Text pretending to be a selfie.
    let fake = dir.path().join("selfie.jpg");
    std::fs::write(&fake, "this is not a photo at all").expect("write");
    let answer = user.send(&chat, "here is my face", Some(&fake));
    assert_eq!(answer.status, 415, "{}", answer.text());
    assert!(answer.json()["error"]
        .as_str()
        .is_some_and(|e| e.contains("neither a photo")));
    // 60 MB that start like a JPEG.
    let huge = dir.path().join("huge.jpg");
    let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0];
    bytes.resize(60_000_000, 0);
    std::fs::write(&huge, bytes).expect("write");
    let answer = user.send(&chat, "", Some(&huge));
    assert_eq!(answer.status, 413, "{}", answer.text());
    assert!(answer.json()["error"]
        .as_str()
        .is_some_and(|e| e.contains("too big")));
    // Playlists behind an ID3 tag, naming a neighbouring file whose sound would pass.
    let notes = common::playlist_notes(dir.path());
    assert!(!notes.is_empty());
    for bytes in notes {
        let note = dir.path().join("note.mp3");
        std::fs::write(&note, bytes).expect("write");
        let answer = user.send(&chat, "", Some(&note));
        assert_eq!(answer.status, 422, "{}", answer.text());
        let said = answer.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            said.contains("damaged or truncated") || said.contains("silent or empty"),
            "{said}"
        );
    }
    // Nothing at all.
    let answer = user.send(&chat, "   ", None);
    assert_eq!(answer.status, 400);
    assert!(answer.json()["error"]
        .as_str()
        .is_some_and(|e| e.contains("Write a message")));
    assert!(
        chat.stored("users").is_empty(),
        "{:?}",
        chat.stored("users")
    );
    assert!(user.history(&chat).is_empty());
    // A real message, then a forged cookie (the id without its signature): a new user.
    let answer = user.send(&chat, "hello", None);
    assert_eq!(answer.status, 200);
    let id = user.chat_id();
    let forger = User::new();
    let forged = forger.curl(&[
        "-H",
        &format!("Cookie: spinbot_id={id}"),
        &chat.url("/api/history"),
    ]);
    assert_eq!(forged.status, 200);
    assert_eq!(forged.json()["events"], serde_json::json!([]));
    assert!(forged.headers.contains("spinbot_id="), "{}", forged.headers);
    assert!(!forged.headers.contains(&format!("spinbot_id={id}")));
    // A write from another site, even with the user's cookie.
    let before = user.history(&chat).len();
    let cross = user.curl(&[
        "-H",
        "Origin: http://evil.example",
        "-F",
        "text=say I was forged",
        &chat.url("/api/messages"),
    ]);
    assert_eq!(cross.status, 403);
    assert!(cross.json()["error"]
        .as_str()
        .is_some_and(|e| e.contains("other sites")));
    assert_eq!(user.history(&chat).len(), before);
    // The cookie is HttpOnly and SameSite=Lax (a link from another site keeps the chat);
    // the server is still up.
    let page = User::new().curl(&[&chat.url("/")]);
    assert_eq!(page.status, 200);
    let cookie = page
        .headers
        .lines()
        .find(|l| l.to_lowercase().starts_with("set-cookie: spinbot_id="))
        .expect("a cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    // The store is looked at in the right place: a real selfie lands there.
    let answer = user.send(&chat, "", Some(&common::face_photo()));
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(!chat.stored("users").is_empty());
    chat.assert_up();
}

/// chromedriver on a port of its own, stopped when dropped.
struct Driver {
    port: u16,
    child: Child,
}

impl Driver {
    fn start() -> Self {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is missing: run `make setup`");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { port, child }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the page shows of its videos: (source, duration), when it knows the duration.
const VIDEOS: &str = "return [...document.querySelectorAll('video')]\
    .map(v => [v.currentSrc || v.src, isNaN(v.duration) ? 0 : v.duration]);";

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_sends_a_selfie_and_words_and_gets_the_video_after_a_reload_too() {
    let chat = WebChat::start(true);
    let driver = Driver::start();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=430,900"],
        }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a browser session");
    client.goto(&chat.url("/")).await.expect("the page");
    // Every text the bot's bubbles show, as it changes.
    client
        .execute(
            "window.seen = []; new MutationObserver(() => document.querySelectorAll('.bubble.bot .text')\
               .forEach(e => { if (!window.seen.includes(e.textContent)) window.seen.push(e.textContent); }))\
               .observe(document.getElementById('transcript'), {childList: true, subtree: true, characterData: true});\
             return true;",
            vec![],
        )
        .await
        .expect("observer");
    // The file input hides behind its paper-clip label; WebDriver types into it directly.
    let selfie = common::face_photo();
    client
        .find(Locator::Id("file"))
        .await
        .expect("file input")
        .send_keys(&selfie.display().to_string())
        .await
        .expect("attach");
    client
        .find(Locator::Id("text"))
        .await
        .expect("text box")
        .send_keys("make my avatar say: hello from the browser")
        .await
        .expect("type");
    client
        .find(Locator::Id("send"))
        .await
        .expect("send")
        .click()
        .await
        .expect("click");

    let wait_for_video = || async {
        let deadline = Instant::now() + RENDER_WAIT;
        loop {
            let videos: Vec<(String, f64)> = client
                .execute(VIDEOS, vec![])
                .await
                .ok()
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            if let Some(done) = videos.into_iter().find(|(_, d)| *d > 0.0) {
                return done;
            }
            assert!(
                Instant::now() < deadline,
                "no playable video:\n{}",
                chat.log()
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let (source, duration) = wait_for_video().await;
    assert!(duration > 0.5, "{duration}");
    assert!(source.contains("/api/videos/"), "{source}");
    // The status text changed as the render went on, and ends "Done" (its last edit may
    // come just after the video).
    let deadline = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let seen: Vec<String> = client
            .execute("return window.seen;", vec![])
            .await
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        if seen.iter().any(|t| t.contains("Done")) || Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        seen.iter()
            .any(|t| t.contains("Making your video") && t.contains('%')),
        "{seen:#?}"
    );
    assert!(seen.iter().any(|t| t.contains("Done")), "{seen:#?}");
    // The video is the rendered MP4: as many bytes as the job's result.
    let served: u64 = client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => done(b.byteLength));",
            vec![serde_json::json!(source)],
        )
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let results: Vec<u64> = chat
        .stored("results")
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .filter_map(|p| std::fs::metadata(p).ok().map(|m| m.len()))
        .collect();
    assert_eq!(results, vec![served], "{:?}", chat.stored(""));
    let shot = client.screenshot().await.expect("screenshot");
    let shot_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-chat.png");
    std::fs::write(&shot_path, shot).expect("screenshot file");
    eprintln!("screenshot: {}", shot_path.display());

    // After a reload, the history shows it all again.
    client.refresh().await.expect("reload");
    let (again, _) = wait_for_video().await;
    assert_eq!(again, source);
    let page = client.source().await.expect("page source");
    assert!(page.contains("hello from the browser"), "{page}");
    client.close().await.expect("close");
}

#[test]
fn cookie_less_visitors_from_one_network_get_one_visitors_share() {
    let chat = WebChat::start(false);
    let selfie = common::face_photo();
    let mut statuses = Vec::new();
    for n in 0..40 {
        // A fresh cookie jar each time: a script that drops its cookie.
        let visitor = User::new();
        let answer = visitor.send_from(
            &chat,
            "203.0.113.7",
            &format!("make my avatar say: visitor number {n}"),
            Some(&selfie),
        );
        statuses.push(answer.status);
    }
    let jobs = chat.jobs();
    let burst = spinbot_core::limits::DEFAULT_RENDER_BURST as usize;
    assert!(
        (1..=2 * burst).contains(&jobs),
        "{jobs} jobs from one network; statuses {statuses:?}\n{}",
        chat.log()
    );
    let new_ones = spinbot_core::limits::NEW_WEB_IDENTITIES_PER_HOUR as usize;
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        40 - new_ones,
        "{statuses:?}"
    );
    // Someone elsewhere who kept their cookie is served as usual.
    let kept = User::new();
    let page = kept.curl(&["-H", "X-Forwarded-For: 198.51.100.2", &chat.url("/")]);
    assert_eq!(page.status, 200);
    let answer = kept.send_from(&chat, "198.51.100.2", "here is my selfie", Some(&selfie));
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer = kept.send_from(
        &chat,
        "198.51.100.2",
        "make my avatar say: still served",
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(
        answer.json()["answers"].as_array().is_some_and(|a| a
            .iter()
            .any(|t| t.as_str().is_some_and(|t| t.contains("queued")))),
        "{}",
        answer.text()
    );
    assert_eq!(chat.jobs(), jobs + 1);
}

#[test]
fn three_hundred_idle_pages_cost_redis_almost_nothing() {
    use std::io::{Read, Write};
    let mut chat = WebChat::start(false);
    // 30 networks, two visitors each, five open pages each.
    let mut pages = Vec::new();
    let mut first = None;
    for net in 1..=30 {
        let address = format!("203.0.113.{net}");
        for _ in 0..2 {
            let visitor = User::new();
            let page =
                visitor.curl(&["-H", &format!("X-Forwarded-For: {address}"), &chat.url("/")]);
            assert_eq!(page.status, 200, "{}", page.text());
            let cookie = visitor.cookie();
            let open = || {
                let mut stream =
                    std::net::TcpStream::connect(("127.0.0.1", chat.port)).expect("connect");
                write!(
                    stream,
                    "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\
                     X-Forwarded-For: {address}\r\nAccept: text/event-stream\r\n\r\n"
                )
                .expect("request");
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .expect("timeout");
                let mut head = [0u8; 12];
                stream.read_exact(&mut head).expect("status line");
                (stream, String::from_utf8_lossy(&head).into_owned())
            };
            for _ in 0..5 {
                let (stream, status) = open();
                assert_eq!(status, "HTTP/1.1 200", "{}", chat.log());
                pages.push(stream);
            }
            if first.is_none() {
                // One identity may have only so many pages open.
                for _ in 5..spinbot_core::limits::EVENT_STREAMS_PER_IDENTITY {
                    let (stream, status) = open();
                    assert_eq!(status, "HTTP/1.1 200");
                    pages.push(stream);
                }
                let (_, status) = open();
                assert_eq!(status, "HTTP/1.1 429");
                first = Some(visitor);
            }
        }
    }
    assert!(pages.len() >= 300, "{}", pages.len());
    std::thread::sleep(Duration::from_secs(2));
    let (before, began) = (chat.redis_commands(), Instant::now());
    std::thread::sleep(Duration::from_secs(10));
    let spent = chat.redis_commands() - before - 1;
    let per_second = spent as f64 / began.elapsed().as_secs_f64();
    eprintln!(
        "{} idle pages: {per_second:.1} Redis commands a second",
        pages.len()
    );
    assert!(per_second <= 20.0, "{per_second:.1} commands a second");
    // The chat still answers, and the pages of the one who wrote hear of it.
    let writer = first.expect("a visitor");
    let began = Instant::now();
    let answer = writer.send_from(&chat, "203.0.113.1", "hello", None);
    let took = began.elapsed();
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(took < Duration::from_secs(2), "{took:?}");
    let mut heard = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !heard.contains("hello") && Instant::now() < deadline {
        let mut buf = vec![0u8; 4096];
        let got = pages[0].read(&mut buf).expect("an event");
        heard.push_str(&String::from_utf8_lossy(&buf[..got]));
    }
    assert!(heard.contains("hello"), "{heard}");
    chat.assert_up();
}

/// How much of `samples` (mono, `rate`) is at `hz`: Goertzel's power, per sample.
fn power_at(samples: &[f32], rate: f32, hz: f32) -> f32 {
    let w = 2.0 * std::f32::consts::PI * hz / rate;
    let (mut s1, mut s2) = (0f32, 0f32);
    for &x in samples {
        let s = x + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2) / samples.len().max(1) as f32
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_records_a_voice_note_and_a_link_from_elsewhere_keeps_the_chat() {
    let chat = WebChat::start(true);
    let dir = tempfile::tempdir().expect("tempdir");
    // The microphone hears a 440 Hz tone: the video must carry it.
    let tone = dir.path().join("tone.wav");
    let made = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=10",
        ])
        .args(["-ac", "1", "-ar", "48000", "-c:a", "pcm_s16le"])
        .arg(&tone)
        .status()
        .expect("ffmpeg");
    assert!(made.success());
    let driver = Driver::start();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=430,900", "--use-fake-ui-for-media-stream",
                     "--use-fake-device-for-media-stream",
                     format!("--use-file-for-fake-audio-capture={}", tone.display())],
        }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a browser session");
    client.goto(&chat.url("/")).await.expect("the page");
    let bot_bubbles = || async {
        client
            .execute(
                "return document.querySelectorAll('.bubble.bot').length;",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
    };
    // A selfie sent with words about it gets one answer, not one for each.
    client
        .find(Locator::Id("file"))
        .await
        .expect("file input")
        .send_keys(&common::face_photo().display().to_string())
        .await
        .expect("attach");
    client
        .find(Locator::Id("text"))
        .await
        .expect("text box")
        .send_keys("here is my selfie")
        .await
        .expect("type");
    client
        .find(Locator::Id("send"))
        .await
        .expect("send")
        .click()
        .await
        .expect("click");
    let deadline = Instant::now() + Duration::from_secs(30);
    while bot_bubbles().await == 0 {
        assert!(Instant::now() < deadline, "no answer:\n{}", chat.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let answers: Vec<String> = client
        .execute(
            "return [...document.querySelectorAll('.bubble.bot .text')].map(e => e.textContent);",
            vec![],
        )
        .await
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    assert_eq!(answers.len(), 1, "{answers:#?}");
    let lines: Vec<&str> = answers[0].lines().collect();
    let mut once = lines.clone();
    once.sort_unstable();
    once.dedup();
    assert_eq!(
        once.len(),
        lines.len(),
        "a sentence said twice: {answers:#?}"
    );

    // Three seconds from the microphone, with the page's own button.
    let record = client.find(Locator::Id("record")).await.expect("record");
    record.click().await.expect("start recording");
    tokio::time::sleep(Duration::from_secs(3)).await;
    record.click().await.expect("stop recording");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attached: String = client
            .execute(
                "return document.getElementById('attached').textContent;",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        if attached.contains("voice note") {
            break;
        }
        assert!(Instant::now() < deadline, "nothing recorded: {attached:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    client
        .find(Locator::Id("send"))
        .await
        .expect("send")
        .click()
        .await
        .expect("click");
    let deadline = Instant::now() + RENDER_WAIT;
    let result = loop {
        let results: Vec<PathBuf> = chat
            .stored("results")
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
            .collect();
        if let Some(result) = results.into_iter().next() {
            break result;
        }
        let said: Vec<String> = client
            .execute(
                "return [...document.querySelectorAll('.bubble.bot .text')].map(e => e.textContent);",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        assert!(
            Instant::now() < deadline,
            "no video: {said:#?}\n{}",
            chat.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // The video's sound is the microphone's tone.
    let decoded = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(&result)
        .args(["-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "-"])
        .output()
        .expect("ffmpeg");
    let samples: Vec<f32> = decoded
        .stdout
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect();
    assert!(samples.len() > 16_000, "{} samples", samples.len());
    let tone_power = power_at(&samples, 16_000.0, 440.0);
    for other in [250.0, 700.0, 1_000.0, 2_000.0] {
        let power = power_at(&samples, 16_000.0, other);
        assert!(
            tone_power > 20.0 * power,
            "440 Hz {tone_power} against {other} Hz {power}"
        );
    }

    // Following a link to the chat from another site keeps it: history, photo and video.
    let elsewhere = format!(
        "data:text/html,<a id=go href='{}'>my chat</a>",
        chat.url("/")
    );
    client.goto(&elsewhere).await.expect("another site");
    client
        .find(Locator::Id("go"))
        .await
        .expect("the link")
        .click()
        .await
        .expect("follow");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = client.source().await.unwrap_or_default();
        if page.contains("here is my selfie") && page.contains("/api/videos/") {
            break;
        }
        assert!(Instant::now() < deadline, "the chat is gone:\n{page}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    client.close().await.expect("close");
}
