//! The courier posts a finished video once per job and chat, however often the done event
//! arrives and however many bot processes see it.

use spinbot_bots::courier::Watch;
use spinbot_bots::telegram::Telegram;
use spinbot_bots::{Courier, Platform};
use spinbot_core::{JobEvent, JobId, UserId};
use spinbot_jobs::{LocalStore, ObjectStore, QueueConfig};
use spinbot_testkit::{FakeTelegram, RedisServer};
use std::sync::Arc;

#[test]
fn a_replayed_done_event_posts_the_video_once() {
    let redis = RedisServer::start(false);
    let telegram = FakeTelegram::start("1:t");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::new(dir.path().join("store")));
    let video = dir.path().join("v.mp4");
    std::fs::write(&video, b"not really a video").expect("write");
    let job = JobId::new();
    let result = format!("results/{job}.mp4");
    store.put_file(&result, &video).expect("put");
    let config = QueueConfig {
        redis_url: redis.url(),
        ..QueueConfig::default()
    };
    let platform = Arc::new(Telegram::new("1:t", Some(telegram.url())).expect("bot"));
    // Two bot processes' couriers.
    let couriers: Vec<Courier<Telegram>> = ["a", "b"]
        .iter()
        .map(|name| {
            Courier::new(
                platform.clone(),
                store.clone(),
                None,
                config.clone(),
                name,
                runtime.handle().clone(),
            )
            .expect("courier")
        })
        .collect();
    let status = runtime
        .block_on(platform.send_text("42", "On it!"))
        .expect("status message");
    let watch = Watch {
        chat: "42".into(),
        message: status,
    };
    let done = JobEvent::Done {
        job: job.clone(),
        user: UserId::parse("telegram:42").expect("user"),
        result,
    };
    // Each courier finds the job watched (as when a watch is registered while another
    // process handles the event) and gets the done event, twice.
    for courier in couriers.iter().chain(couriers.iter()) {
        courier.watch(&job, &watch).expect("watch");
        courier.handle(&done).expect("handled");
    }
    let videos: Vec<_> = telegram
        .sent()
        .into_iter()
        .filter(|s| s.method == "sendvideo")
        .collect();
    assert_eq!(videos.len(), 1);
    assert_eq!(videos[0].file.as_deref(), Some(&b"not really a video"[..]));
    assert_eq!(telegram.violations(), Vec::<String>::new());
}
