//! The fake Bot API is strict in the ways the real one is: teloxide's calls that Telegram
//! would refuse come back refused and are noted as violations, so a round-trip test that
//! asserts no violations would fail on them.

use spinbot_testkit::fake_telegram::{Chat, DOWNLOAD_LIMIT};
use spinbot_testkit::FakeTelegram;
use teloxide::prelude::*;
use teloxide::types::{MessageId, UpdateKind};
use teloxide::{ApiError, RequestError};

fn bot(fake: &FakeTelegram, token: &str) -> Bot {
    Bot::new(token).set_api_url(fake.url().parse().expect("url"))
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_telegrams_and_are_noted() {
    let fake = FakeTelegram::start("1:good");
    let bot = bot(&fake, "1:good");
    let chat = ChatId(5);
    let sent = bot.send_message(chat, "first").await.expect("sent");
    // An edit that changes nothing.
    let same = bot.edit_message_text(chat, sent.id, "first").await;
    assert!(
        matches!(same, Err(RequestError::Api(ApiError::MessageNotModified))),
        "{same:?}"
    );
    // A message that is not there.
    assert!(bot
        .edit_message_text(chat, MessageId(999), "x")
        .await
        .is_err());
    // A method the fake does not serve.
    assert!(bot.send_dice(chat).await.is_err());
    // A text over 4,096 characters.
    assert!(bot.send_message(chat, "x".repeat(5000)).await.is_err());
    // A wrong token.
    assert!(self::bot(&fake, "1:bad").get_me().await.is_err());
    let violations = fake.violations();
    assert_eq!(violations.len(), 5, "{violations:#?}");
    assert!(violations[0].contains("not modified"));
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_files_and_uploads_round_trip() {
    let fake = FakeTelegram::start("1:good");
    let bot = bot(&fake, "1:good");
    let user = Chat::private(77, "Ann");
    fake.send_text(&user, "hello");
    fake.send_photo(
        &user,
        &[
            (10, 10, b"small".to_vec()),
            (100, 100, vec![7u8; DOWNLOAD_LIMIT + 1]),
        ],
        None,
    );
    let updates = bot.get_updates().timeout(1).await.expect("updates");
    assert_eq!(updates.len(), 2);
    // Asking from past the first confirms it.
    let next = updates[0].id.0 as i32 + 1;
    assert_eq!(
        bot.get_updates().offset(next).await.expect("updates").len(),
        1
    );
    let UpdateKind::Message(photo) = &updates[1].kind else {
        panic!("a message");
    };
    let sizes = photo.photo().expect("sizes");
    let small = bot
        .get_file(sizes[0].file.id.clone())
        .await
        .expect("small file");
    let mut bytes = Vec::new();
    teloxide::net::Download::download_file(&bot, &small.path, &mut bytes)
        .await
        .expect("download");
    assert_eq!(bytes, b"small");
    // Telegram refuses to hand a bot a file over 20 MB.
    assert!(bot.get_file(sizes[1].file.id.clone()).await.is_err());
    // An upload arrives whole.
    let dir = tempfile::tempdir().expect("tempdir");
    let video = dir.path().join("v.mp4");
    std::fs::write(&video, vec![1u8; 3_000_000]).expect("write");
    bot.send_video(ChatId(77), teloxide::types::InputFile::file(&video))
        .caption("hi")
        .await
        .expect("uploaded");
    let uploads: Vec<_> = fake
        .sent()
        .into_iter()
        .filter(|s| s.method == "sendvideo")
        .collect();
    assert_eq!(uploads[0].file.as_ref().map(Vec::len), Some(3_000_000));
    assert_eq!(uploads[0].caption.as_deref(), Some("hi"));
    assert_eq!(
        fake.violations(),
        vec!["Bad Request: file is too big".to_owned()]
    );
}
