//! The courier posts a finished video once per job and chat, however often the done event
//! arrives and however many bot processes see it.

use spinbot_bots::telegram::Telegram;
use spinbot_bots::{Courier, Platform};
use spinbot_core::job::ReplyTo;
use spinbot_core::{JobClass, JobId, Plan, SpeechText, UserId};
use spinbot_jobs::{keys, Admission, LocalStore, Outcome, Queue, QueueConfig, Store};
use spinbot_testkit::{FakeTelegram, RedisServer};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_done_event_posts_the_video_once() {
    let redis = RedisServer::start(false);
    let telegram = FakeTelegram::start("1:t");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::Local(LocalStore::new(dir.path().join("store")));
    let queue = Queue::new(QueueConfig {
        redis_url: redis.url(),
        ..QueueConfig::default()
    })
    .expect("queue");
    // A job that is done already, its video in the store.
    let user = UserId::parse("telegram:42").expect("user");
    let plan = Plan::say(SpeechText::parse("hi").expect("text"), "photo");
    let chat = ReplyTo {
        platform: "telegram".into(),
        chat: "42".into(),
        message: None,
    };
    let Admission::Accepted { job, .. } = queue
        .submit_as(JobId::new(), &user, &plan, JobClass::Any, Some(&chat), None)
        .await
        .expect("submit")
    else {
        panic!("refused");
    };
    let lease = queue
        .dispatch("w", false)
        .await
        .expect("dispatch")
        .expect("the job");
    let result = keys::result(&job);
    let video = dir.path().join("v.mp4");
    std::fs::write(&video, b"not really a video").expect("write");
    store.put_file(&result, &video).await.expect("put");
    queue
        .finish("w", &lease, &Outcome::Done { result })
        .await
        .expect("finish");

    let platform = Arc::new(Telegram::new("1:t", Some(telegram.url())).expect("bot"));
    let status = platform
        .send_text("42", "On it!")
        .await
        .expect("status message");
    // Two bot processes' couriers each register the watch twice (as when a watch is
    // registered while another process handles the event): each time they find the job
    // done and deliver.
    let mut couriers = Vec::new();
    for _ in 0..2 {
        let me = queue
            .join("bot-telegram", "telegram", None)
            .await
            .expect("a name");
        couriers.push(Courier::new(
            platform.clone(),
            store.clone(),
            queue.clone(),
            me,
        ));
    }
    for courier in couriers.iter().chain(couriers.iter()) {
        courier.watch(&job, "42", &status).await.expect("watch");
    }
    // Stopping a courier waits for what it started.
    let stopped = CancellationToken::new();
    stopped.cancel();
    for courier in couriers {
        courier.run(stopped.clone()).await.expect("courier");
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
