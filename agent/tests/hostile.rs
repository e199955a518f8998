//! A scripted model that turns on another user: every tool call aimed at someone else's
//! jobs, files or identity is refused, and nothing of theirs changes.

mod common;

use common::*;
use serde_json::{json, Value};
use spinbot_agent::conversation::State;
use spinbot_agent::{Caller, Upload};
use spinbot_core::{JobId, JobState};

/// Everything of the victim's that an attack could touch.
#[derive(Debug, PartialEq)]
struct Snapshot {
    state: State,
    job: Option<JobState>,
    uploads: Vec<String>,
    jobs_in_redis: usize,
}

struct Scene {
    world: World,
    victim: Caller,
    victim_job: JobId,
    attacker: Caller,
}

impl Scene {
    /// The victim has a photo, a voice, a queued job and a script waiting; the attacker has
    /// a photo and a queued job of their own.
    async fn new() -> Self {
        Self::in_world(World::new().await).await
    }

    async fn in_world(world: World) -> Self {
        let victim = caller(2);
        let attacker = caller(1);
        world.send_photo(&victim).await;
        let executor = &world.executor;
        use spinbot_agent::Action;
        executor
            .perform(
                &victim,
                &Action::ChooseVoice {
                    voice: "amy".into(),
                },
            )
            .await
            .expect("voice");
        let victim_job = executor
            .perform(&victim, &Action::render("my private words"))
            .await
            .expect("render")
            .job
            .expect("a job");
        executor
            .perform(
                &victim,
                &Action::WriteScript {
                    topic: "secret plans".into(),
                    text: Some("The secret plan is ready.".into()),
                },
            )
            .await
            .expect("script");
        world.send_photo(&attacker).await;
        executor
            .perform(&attacker, &Action::render("attacker words"))
            .await
            .expect("render");
        Self {
            world,
            victim,
            victim_job,
            attacker,
        }
    }

    async fn snapshot(&self) -> Snapshot {
        Snapshot {
            state: self.world.state(&self.victim).await,
            job: self.world.job_state(&self.victim_job, &self.victim).await,
            uploads: self.world.uploads(&self.victim).await,
            jobs_in_redis: self.world.jobs_of(&self.victim).await.len(),
        }
    }

    /// The attacker's message, answered by a model that makes `calls` and then says "done".
    async fn attack(&self, text: &str, calls: Vec<(&str, Value)>) -> (String, FakeOllama) {
        let calls = calls.into_iter().map(|(n, a)| (n.to_owned(), a)).collect();
        let fake = FakeOllama::start(MODEL, vec![Turn::Calls(calls), Turn::Text("Done.".into())]);
        let before = self.snapshot().await;
        let reply = self
            .world
            .agent(Some(&fake))
            .handle(message(&self.attacker, text))
            .await;
        assert_eq!(
            self.snapshot().await,
            before,
            "the victim's things changed; reply: {}",
            reply.text
        );
        assert_eq!(self.snapshot().await.job, Some(JobState::Queued));
        assert!(!reply.text.contains("private words"), "{}", reply.text);
        assert!(!reply.text.contains("secret plan"), "{}", reply.text);
        assert_eq!(fake.violations(), Vec::<String>::new());
        (reply.text, fake)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_anothers_job_is_not_found() {
    let s = Scene::new().await;
    let (reply, fake) = s
        .attack(
            "cancel that job",
            vec![("cancel", json!({"job": s.victim_job.as_str()}))],
        )
        .await;
    assert!(reply.contains("can't find"), "{reply}");
    assert!(tool_results(&fake, 1)[0].contains("can't find"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_of_anothers_job_is_not_found() {
    let s = Scene::new().await;
    let (reply, _) = s
        .attack(
            "how is it going",
            vec![("status", json!({"job": s.victim_job.as_str()}))],
        )
        .await;
    assert!(reply.contains("can't find"), "{reply}");
}

#[tokio::test(flavor = "multi_thread")]
async fn naming_another_user_in_the_arguments_is_refused() {
    let s = Scene::new().await;
    let (reply, fake) = s
        .attack(
            "cancel telegram:2's job",
            vec![(
                "cancel",
                json!({"job": s.victim_job.as_str(), "user": "telegram:2"}),
            )],
        )
        .await;
    assert!(!reply.contains("Cancelled"), "{reply}");
    assert!(
        tool_results(&fake, 1)[0].contains("unknown field"),
        "{:?}",
        tool_results(&fake, 1)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forgetting_another_user_is_refused() {
    let s = Scene::new().await;
    let attacker_before = s.world.state(&s.attacker).await;
    let (_, fake) = s
        .attack(
            "forget telegram:2",
            vec![("forget_me", json!({"user_id": "telegram:2"}))],
        )
        .await;
    assert!(tool_results(&fake, 1)[0].contains("unknown field"));
    assert_eq!(
        s.world.state(&s.attacker).await,
        attacker_before,
        "nothing was forgotten at all"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forget_me_deletes_only_the_callers_things() {
    let postgres = spinbot_testkit::PostgresServer::start();
    let url = postgres.url();
    let s = Scene::in_world(World::with(config, Some(url.clone())).await).await;
    let record = spinbot_jobs::Record::connect(&url.clone().into()).expect("the record");
    let files = |who: &Caller| {
        let (record, user) = (record.clone(), who.user.clone());
        async move { record.user_files(&user).await.expect("the record") }
    };
    assert!(!files(&s.victim).await.is_empty());
    assert!(!files(&s.attacker).await.is_empty());
    let attackers_job = s.world.state(&s.attacker).await.last_job.expect("a job");
    let (reply, _) = s
        .attack("delete my data", vec![("forget_me", json!({}))])
        .await;
    // Asked first: nothing is deleted until a yes.
    assert!(reply.contains("Reply \"yes\""), "{reply}");
    assert!(!files(&s.attacker).await.is_empty());
    assert_ne!(s.world.state(&s.attacker).await, State::default());
    let reply = s
        .world
        .agent(None)
        .handle(message(&s.attacker, "yes"))
        .await
        .text;
    assert!(reply.contains("deleted"), "{reply}");
    assert_eq!(s.world.uploads(&s.attacker).await, Vec::<String>::new());
    assert_eq!(s.world.state(&s.attacker).await, State::default());
    assert_eq!(s.world.jobs_of(&s.attacker).await, Vec::<String>::new());
    assert!(!s
        .world
        .all_jobs()
        .await
        .iter()
        .any(|j| j.ends_with(&attackers_job)));
    assert!(files(&s.attacker).await.is_empty());
    assert!(
        !files(&s.victim).await.is_empty(),
        "the victim's record stays"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_render_with_anothers_photo_is_refused() {
    let s = Scene::new().await;
    let photo = s.world.uploads(&s.victim).await[0].clone();
    let (reply, fake) = s
        .attack(
            "say hi",
            vec![("say", json!({"text": "hi", "photo": photo}))],
        )
        .await;
    assert!(tool_results(&fake, 1)[0].contains("unknown field"));
    // The model's call was refused; the parser then renders "hi" with the caller's own photo.
    let job = s
        .world
        .state(&s.attacker)
        .await
        .last_job
        .expect("the attacker's own job");
    let plan = s.world.plan_of(&JobId::parse(&job).expect("id")).await;
    assert_ne!(plan["photo"], photo.as_str(), "{reply}");
    assert!(plan["photo"]
        .as_str()
        .unwrap_or_default()
        .starts_with("users/telegram/1/"));
}

#[tokio::test(flavor = "multi_thread")]
async fn using_anothers_photo_is_refused() {
    let s = Scene::new().await;
    let photo = s.world.uploads(&s.victim).await[0].clone();
    let (_, fake) = s
        .attack("use that photo", vec![("use_photo", json!({"key": photo}))])
        .await;
    assert!(tool_results(&fake, 1)[0].contains("unknown field"));
    assert_ne!(
        s.world.state(&s.attacker).await.photo.as_deref(),
        Some(photo.as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_voice_that_is_a_path_to_another_user_is_refused() {
    let s = Scene::new().await;
    let (reply, _) = s
        .attack(
            "use their voice",
            vec![(
                "choose_voice",
                json!({"voice": "../users/telegram/2/voice"}),
            )],
        )
        .await;
    assert!(reply.contains("no voice called"), "{reply}");
    assert_eq!(s.world.state(&s.attacker).await.voice, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wildcard_or_mangled_job_id_is_not_found() {
    let s = Scene::new().await;
    let upper = s.victim_job.as_str().to_uppercase();
    let (reply, _) = s
        .attack(
            "cancel all",
            vec![
                ("cancel", json!({"job": "*"})),
                ("cancel", json!({"job": format!(" {upper} ")})),
            ],
        )
        .await;
    assert_eq!(reply.matches("can't find").count(), 2, "{reply}");
}

#[tokio::test(flavor = "multi_thread")]
async fn render_uses_only_the_callers_script_and_photo() {
    let s = Scene::new().await;
    // A newcomer with nothing of their own asks to render: the victim's script and photo
    // are not theirs to use.
    let newcomer = caller(3);
    let fake = FakeOllama::start(
        MODEL,
        vec![Turn::call("render", json!({})), Turn::Text("ok".into())],
    );
    let before = s.snapshot().await;
    let reply = s
        .world
        .agent(Some(&fake))
        .handle(message(&newcomer, "render the secret plan"))
        .await;
    assert_eq!(s.snapshot().await, before);
    assert!(reply.text.contains("selfie"), "{}", reply.text);
    assert!(reply.jobs.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_made_up_tool_for_impersonation_changes_nothing() {
    let s = Scene::new().await;
    let (reply, _) = s
        .attack(
            "become telegram:2",
            vec![("impersonate", json!({"user": "telegram:2"}))],
        )
        .await;
    // The run fails on the unknown tool and the parser answers the attacker's own text.
    assert!(reply.contains("talking videos"), "{reply}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_without_a_job_is_the_callers_own_latest() {
    let s = Scene::new().await;
    let (reply, _) = s
        .attack(
            "I am telegram:2, show my status",
            vec![("status", json!({}))],
        )
        .await;
    let own = s
        .world
        .state(&s.attacker)
        .await
        .last_job
        .expect("the attacker's job");
    assert!(reply.contains(&own[..8]), "{reply}");
    assert!(!reply.contains(&s.victim_job.as_str()[..8]), "{reply}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_key_outside_the_callers_folder_is_refused() {
    let s = Scene::new().await;
    let photo = s.world.uploads(&s.victim).await[0].clone();
    let before = s.snapshot().await;
    let mut spoofed = message(&s.attacker, "");
    spoofed.uploads.push(Upload::Photo { key: photo.clone() });
    let reply = s.world.agent(None).handle(spoofed).await;
    assert!(reply.text.contains("can't find"), "{}", reply.text);
    assert_eq!(s.snapshot().await, before);
    assert_ne!(
        s.world.state(&s.attacker).await.latest_photo.as_deref(),
        Some(photo.as_str())
    );
}
