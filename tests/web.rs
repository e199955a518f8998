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
    _redis: RedisServer,
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
                .env("SPINBOT_WEB_ADDR", format!("127.0.0.1:{port}"))
                .env("SPINBOT_SKIP_VOICE_QUESTION", "1")
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
            _redis: redis,
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
        let mut args = vec!["-F".to_owned(), format!("text={text}")];
        if let Some(file) = file {
            args.push("-F".into());
            args.push(format!("file=@{}", file.display()));
        }
        args.push(chat.url("/api/messages"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.curl(&args)
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
            c["words"]
                .as_str()
                .and_then(|w| w.strip_prefix("/cancel "))
                .map(str::to_owned)
        })
        .expect("a Cancel button");
    let status = ann.curl(&[&chat.url(&format!("/api/jobs/{ann_job}"))]);
    assert_eq!(status.status, 200, "{}", status.text());
    assert_eq!(status.json()["state"], "done");
    let stranger = bob.curl(&[&chat.url(&format!("/api/jobs/{ann_job}"))]);
    assert_eq!(stranger.status, 404);
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
    // The cookie is HttpOnly and SameSite=Strict; the server is still up.
    let page = User::new().curl(&[&chat.url("/")]);
    assert_eq!(page.status, 200);
    let cookie = page
        .headers
        .lines()
        .find(|l| l.to_lowercase().starts_with("set-cookie: spinbot_id="))
        .expect("a cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
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
