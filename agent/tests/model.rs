//! The real rig agent against a fake Ollama speaking the documented wire format: a
//! tool-calling run yields the expected actions on the real job plane, and a model that is
//! unusable in any way (malformed arguments, an unknown tool, a missing model, too slow,
//! not there, no tool call) ends in the built-in parser's answer.

mod common;

use common::*;
use serde_json::json;
use spinbot_agent::prompts::TOOL_NAMES;
use spinbot_agent::{Action, Agent, Caller, DecidedBy, Message, Pressed, Upload};
use spinbot_core::JobState;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_call_renders_and_the_request_is_what_ollama_expects() {
    let world = World::new().await;
    let me = caller(1);
    world.send_photo(&me).await;
    let fake = FakeOllama::start(
        MODEL,
        vec![
            Turn::call("say", json!({"text": "hello there"})),
            Turn::Text("Your video is on its way!".into()),
        ],
    );
    let reply = world
        .agent(Some(&fake))
        .handle(message(&me, "make my avatar say hello there"))
        .await;
    assert_eq!(reply.decided_by, DecidedBy::Model);
    assert_eq!(reply.actions(), vec![Action::render("hello there")]);
    assert_eq!(reply.jobs.len(), 1);
    assert!(reply.text.contains("queued"), "{}", reply.text);
    let job = &reply.jobs[0];
    assert_eq!(world.job_state(job, &me).await, Some(JobState::Queued));
    let plan = world.plan_of(job).await;
    assert_eq!(plan["speech"]["text"], "hello there");
    assert_eq!(plan["target"]["max_bytes"], 50_000_000);
    assert_eq!(
        world.state(&me).await.last_job.as_deref(),
        Some(job.as_str())
    );

    // What rig sent, turn by turn.
    assert_eq!(fake.violations(), Vec::<String>::new());
    assert_eq!(fake.remaining(), 0);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first["model"], MODEL);
    assert_eq!(first["stream"], false);
    assert_eq!(first["options"]["temperature"], 0.0);
    let first_messages = messages(&fake, 0);
    assert_eq!(first_messages[0]["role"], "system");
    assert!(first_messages[0]["content"]
        .as_str()
        .unwrap_or_default()
        .contains("talking video"));
    assert_eq!(
        first_messages[1],
        json!({"role": "user", "content": "make my avatar say hello there"})
    );
    assert_eq!(tools_offered(&fake, 0), TOOL_NAMES.to_vec());
    for tool in first["tools"].as_array().into_iter().flatten() {
        assert_eq!(tool["type"], "function");
        let props = tool["function"]["parameters"]["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(
            !props.keys().any(|k| k.contains("user")),
            "a tool takes a user: {tool}"
        );
    }
    let second = messages(&fake, 1);
    assert_eq!(second.len(), 4);
    let call = &second[2];
    assert_eq!(call["role"], "assistant");
    assert_eq!(call["tool_calls"][0]["function"]["name"], "say");
    assert_eq!(
        call["tool_calls"][0]["function"]["arguments"],
        json!({"text": "hello there"})
    );
    assert_eq!(second[3]["role"], "tool");
    assert_eq!(second[3]["tool_name"], "say");
    assert_eq!(second[3]["tool_call_id"], call["tool_calls"][0]["id"]);
    assert!(second[3]["content"]
        .as_str()
        .unwrap_or_default()
        .contains("queued"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ndjson_stream_gives_the_same_run() {
    let world = World::new().await;
    let me = caller(1);
    world.send_photo(&me).await;
    let fake = FakeOllama::start(
        MODEL,
        vec![
            Turn::call("say", json!({"text": "streamed words", "voice": "amy"})),
            Turn::Text("Coming right up.".into()),
        ],
    );
    let mut settings = settings(fake.url());
    settings.stream = true;
    let agent = spinbot_agent::Agent::new(
        Some(settings),
        spinbot_agent::Prompts::built_in(),
        world.executor.clone().into(),
    );
    let reply = agent
        .handle(message(&me, "say streamed words in the amy voice"))
        .await;
    assert_eq!(reply.decided_by, DecidedBy::Model);
    assert_eq!(
        reply.actions(),
        vec![Action::Render {
            text: Some("streamed words".into()),
            voice: Some("amy".into())
        }]
    );
    let plan = world.plan_of(&reply.jobs[0]).await;
    assert_eq!(plan["speech"]["voice"], "en_US-amy-medium");
    assert_eq!(fake.requests()[0]["stream"], true);
    assert_eq!(fake.violations(), Vec::<String>::new());
    assert_eq!(fake.remaining(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn several_turns_of_tool_calls_run_in_order_in_one_run() {
    let world = World::new().await;
    let me = caller(1);
    world.send_photo(&me).await;
    let fake = FakeOllama::start(
        MODEL,
        vec![
            Turn::call("list_voices", json!({})),
            Turn::call("choose_voice", json!({"voice": "amy"})),
            Turn::call("say", json!({"text": "three turns"})),
            Turn::Text("Done.".into()),
        ],
    );
    let reply = world
        .agent(Some(&fake))
        .handle(message(&me, "pick a woman's voice and say three turns"))
        .await;
    let names: Vec<&str> = reply.steps.iter().map(|s| s.action.name()).collect();
    assert_eq!(names, ["list_voices", "choose_voice", "render"]);
    assert_eq!(
        world.plan_of(&reply.jobs[0]).await["speech"]["voice"],
        "en_US-amy-medium"
    );
    // Each turn saw the results of the turns before it.
    assert_eq!(tool_results(&fake, 3).len(), 3);
    assert!(tool_results(&fake, 1)[0].contains("en_US-amy-medium"));
    assert_eq!(fake.remaining(), 0);
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_written_script_waits_for_go_and_then_renders_those_words() {
    let world = World::new().await;
    let me = caller(1);
    world.send_photo(&me).await;
    let script = "Our summer sale starts Friday. Everything is twenty percent off. See you there!";
    let fake = FakeOllama::start(
        MODEL,
        vec![
            Turn::call(
                "write_script",
                json!({"topic": "our summer sale", "script": script}),
            ),
            Turn::Text("Here it is.".into()),
            Turn::call("render", json!({})),
            Turn::Text("Rendering.".into()),
        ],
    );
    let agent = world.agent(Some(&fake));
    let shown = agent
        .handle(message(&me, "write a script about our summer sale"))
        .await;
    assert!(shown.text.contains(script), "{}", shown.text);
    assert!(shown.jobs.is_empty(), "nothing renders before go");
    assert_eq!(world.state(&me).await.pending_text.as_deref(), Some(script));
    let go = agent.handle(message(&me, "looks good, go")).await;
    assert_eq!(go.jobs.len(), 1, "{}", go.text);
    assert_eq!(world.plan_of(&go.jobs[0]).await["speech"]["text"], script);
    assert_eq!(world.state(&me).await.pending_text, None);
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_overlong_script_from_the_model_is_refused() {
    let world = World::new().await;
    let me = caller(1);
    let fake = FakeOllama::start(
        MODEL,
        vec![
            Turn::call(
                "write_script",
                json!({"topic": "cats", "script": "Cats are great. ".repeat(60)}),
            ),
            Turn::Text("Sorry.".into()),
        ],
    );
    let reply = world
        .agent(Some(&fake))
        .handle(message(&me, "write something about cats"))
        .await;
    assert!(reply.text.contains("too long"), "{}", reply.text);
    assert_eq!(world.state(&me).await.pending_text, None);
    assert!(
        tool_results(&fake, 1)[0].contains("too long"),
        "the model is told why"
    );
}

/// The parser's answer to "say hello there" for a caller with a photo: one queued job.
async fn expect_parser_answer(world: &World, fake: Option<&FakeOllama>) {
    let me = caller(7);
    world.send_photo(&me).await;
    let reply = world
        .agent(fake)
        .handle(message(&me, "say hello there"))
        .await;
    assert_eq!(reply.decided_by, DecidedBy::Parser, "{}", reply.text);
    assert_eq!(reply.actions(), vec![Action::render("hello there")]);
    assert_eq!(reply.jobs.len(), 1, "{}", reply.text);
    assert_eq!(
        world.plan_of(&reply.jobs[0]).await["speech"]["text"],
        "hello there"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_arguments_end_in_the_parsers_answer() {
    let world = World::new().await;
    let malformed = json!("{\"text\": \"hel");
    let fake = FakeOllama::start(
        MODEL,
        vec![
            Turn::call("say", malformed.clone()),
            Turn::call("say", malformed),
        ],
    );
    expect_parser_answer(&world, Some(&fake)).await;
    assert_eq!(fake.remaining(), 0, "the model had one more try");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_tool_ends_in_the_parsers_answer() {
    let world = World::new().await;
    let fake = FakeOllama::start(MODEL, vec![Turn::call("delete_everything", json!({}))]);
    expect_parser_answer(&world, Some(&fake)).await;
    assert_eq!(world.all_jobs().await.len(), 1, "only the parser's job");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_model_ends_in_the_parsers_answer() {
    let world = World::new().await;
    let fake = FakeOllama::start(
        MODEL,
        vec![Turn::Error(
            404,
            format!("model \"{MODEL}\" not found, try pulling it first"),
        )],
    );
    expect_parser_answer(&world, Some(&fake)).await;
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_model_ends_in_the_parsers_answer() {
    let world = World::new().await;
    let fake = FakeOllama::start(
        MODEL,
        vec![Turn::Slow(
            Duration::from_secs(3),
            Box::new(Turn::call("say", json!({"text": "too late"}))),
        )],
    );
    let me = caller(7);
    world.send_photo(&me).await;
    let mut settings = settings(fake.url());
    settings.timeout_ms = 300;
    let agent = spinbot_agent::Agent::new(
        Some(settings),
        spinbot_agent::Prompts::built_in(),
        world.executor.clone().into(),
    );
    let reply = agent.handle(message(&me, "say hello there")).await;
    assert_eq!(reply.decided_by, DecidedBy::Parser);
    assert_eq!(reply.actions(), vec![Action::render("hello there")]);
    assert_eq!(
        world.all_jobs().await.len(),
        1,
        "the late tool call never ran"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_server_ends_in_the_parsers_answer() {
    let world = World::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let me = caller(7);
    world.send_photo(&me).await;
    let agent = spinbot_agent::Agent::new(
        Some(settings(&format!("http://127.0.0.1:{port}"))),
        spinbot_agent::Prompts::built_in(),
        world.executor.clone().into(),
    );
    let reply = agent.handle(message(&me, "say hello there")).await;
    assert_eq!(reply.decided_by, DecidedBy::Parser);
    assert_eq!(reply.jobs.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_that_calls_no_tool_has_its_words_delivered_and_nothing_done() {
    let world = World::new().await;
    let question = "Do you want me to delete everything, or just stop your video?";
    let fake = FakeOllama::start(MODEL, vec![Turn::Text(question.into())]);
    let me = caller(3);
    world.send_photo(&me).await;
    // The parser alone would read this as a deletion; the model chose to ask instead.
    let reply = world
        .agent(Some(&fake))
        .handle(message(&me, "ugh just delete it all"))
        .await;
    assert_eq!(reply.decided_by, DecidedBy::Model);
    assert_eq!(reply.actions(), Vec::<Action>::new());
    assert_eq!(reply.text, question);
    assert!(world.all_jobs().await.is_empty());
    assert!(
        world.state(&me).await.photo.is_some(),
        "nothing was deleted"
    );
    // Thinking is off unless configured.
    let requests = fake.requests();
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|r| r["think"] == false), "{requests:?}");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_model_the_parser_handles_a_selfie_then_words() {
    let world = World::new().await;
    let me = caller(5);
    let agent = world.agent(None);
    let no_photo = agent.handle(message(&me, "say hi")).await;
    assert!(no_photo.text.contains("selfie"), "{}", no_photo.text);
    assert!(no_photo.jobs.is_empty());
    world.send_photo(&me).await;
    let reply = agent.handle(message(&me, "now say hi")).await;
    assert_eq!(reply.jobs.len(), 1, "{}", reply.text);
    let status = agent.handle(message(&me, "/status")).await;
    assert!(status.text.contains("next in line"), "{}", status.text);
    let cancel = agent.handle(message(&me, "cancel")).await;
    assert!(cancel.text.contains("Cancelled"), "{}", cancel.text);
    assert_eq!(
        world.job_state(&reply.jobs[0], &me).await,
        Some(JobState::Cancelled)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forgetting_asks_first_and_only_a_yes_deletes() {
    let world = World::new().await;
    let me = caller(11);
    world.send_photo(&me).await;
    let agent = world.agent(None);
    // Misreadings act on nothing.
    for text in [
        "please don't delete anything of mine",
        "how do I delete my data?",
        "delete that last video, it's awful",
        "can you remove the background from my photo?",
        "erase the red eye please",
        "never forget me bot",
    ] {
        let reply = agent.handle(message(&me, text)).await;
        assert!(
            !reply
                .actions()
                .iter()
                .any(|a| matches!(a, Action::ForgetMe { .. } | Action::Cancel { .. })),
            "{text}: {:?}",
            reply.actions()
        );
    }
    assert!(world.state(&me).await.photo.is_some());
    // Asked, then answered with something else: the question is dropped.
    let asked = agent.handle(message(&me, "delete all my data")).await;
    assert_eq!(asked.actions(), vec![Action::ForgetMe { confirmed: false }]);
    assert!(asked.text.contains("Reply \"yes\""), "{}", asked.text);
    agent
        .handle(message(&me, "hmm, what voices do you have?"))
        .await;
    let late_yes = agent.handle(message(&me, "yes")).await;
    assert!(!late_yes.text.contains("deleted"), "{}", late_yes.text);
    assert!(
        world.state(&me).await.photo.is_some(),
        "nothing was deleted"
    );
    // Asked again, answered yes (from another process's agent: the question is in Redis).
    agent.handle(message(&me, "wipe all my data")).await;
    let other = world.agent(None);
    let done = other.handle(message(&me, "yes, delete everything")).await;
    assert_eq!(done.actions(), vec![Action::ForgetMe { confirmed: true }]);
    assert!(done.text.contains("deleted"), "{}", done.text);
    assert_eq!(
        world.state(&me).await,
        spinbot_agent::conversation::State::default()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_gos_at_once_from_two_processes_make_one_video() {
    let world = World::new().await;
    let me = caller(12);
    world.send_photo(&me).await;
    world
        .executor
        .perform(
            &me,
            &Action::WriteScript {
                topic: "our bakery".into(),
                text: Some("Fresh bread every morning!".into()),
            },
        )
        .await
        .expect("a script waits for go");
    // Two bot processes take "go" for the same person at the same moment.
    let (a, b) = (world.agent(None), world.agent(None));
    let (first, second) = tokio::join!(a.handle(message(&me, "go")), b.handle(message(&me, "go")));
    let jobs = first.jobs.len() + second.jobs.len();
    assert_eq!(jobs, 1, "{} / {}", first.text, second.text);
    assert_eq!(world.all_jobs().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_times_out_after_its_tool_acts_once() {
    let world = World::new().await;
    let me = caller(13);
    world.send_photo(&me).await;
    // The tool call is made, then the model's next turn comes too late for the run.
    let fake = FakeOllama::start(
        MODEL,
        vec![
            Turn::call("say", json!({"text": "only once"})),
            Turn::Slow(Duration::from_secs(3), Box::new(Turn::Text("Done.".into()))),
        ],
    );
    let mut settings = settings(fake.url());
    settings.timeout_ms = 400;
    let agent = spinbot_agent::Agent::new(
        Some(settings),
        spinbot_agent::Prompts::built_in(),
        world.executor.clone().into(),
    );
    let reply = agent
        .handle(message(&me, "make my avatar say only once"))
        .await;
    assert_eq!(reply.decided_by, DecidedBy::Model);
    assert_eq!(reply.actions(), vec![Action::render("only once")]);
    assert_eq!(
        world.all_jobs().await.len(),
        1,
        "the parser did not do it again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_with_several_videos_says_which_stopped_and_which_go_on() {
    let world = World::new().await;
    let me = caller(14);
    world.send_photo(&me).await;
    let agent = world.agent(None);
    let first = agent.handle(message(&me, "say the first one")).await;
    let second = agent.handle(message(&me, "say the second one")).await;
    let (first, second) = (&first.jobs[0], &second.jobs[0]);
    let reply = agent.handle(message(&me, "cancel")).await;
    assert_eq!(reply.actions(), vec![Action::Cancel { job: None }]);
    // The latest stopped; the first goes on, and the answer says both.
    assert!(reply.text.contains(&second.as_str()[..8]), "{}", reply.text);
    assert!(
        reply
            .text
            .contains(&format!("Still on their way: {}", &first.as_str()[..8])),
        "{}",
        reply.text
    );
    assert_eq!(world.job_state(first, &me).await, Some(JobState::Queued));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_times_out_during_its_tool_still_acts_once() {
    let world = World::new().await;
    let me = caller(15);
    world.send_photo(&me).await;
    // The model asks for a render after 300 ms; Redis then holds every write for 2.5 s, so
    // the render's submission is still waiting when the run (1.2 s) is given up.
    let fake = FakeOllama::start(
        MODEL,
        vec![
            Turn::Slow(
                Duration::from_millis(300),
                Box::new(Turn::call("say", json!({"text": "in flight"}))),
            ),
            Turn::Text("Done.".into()),
        ],
    );
    let mut settings = settings(fake.url());
    settings.timeout_ms = 400;
    let agent = spinbot_agent::Agent::new(
        Some(settings),
        spinbot_agent::Prompts::built_in(),
        world.executor.clone().into(),
    );
    let url = world.redis.url();
    let pause = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let client = redis::Client::open(url.as_str()).expect("redis");
        let mut con = client
            .get_multiplexed_async_connection()
            .await
            .expect("connection");
        let _: () = redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(2500)
            .arg("WRITE")
            .query_async(&mut con)
            .await
            .expect("pause");
    });
    let reply = agent
        .handle(message(&me, "make my avatar say in flight"))
        .await;
    pause.await.expect("paused");
    // The tool's render finished on its own; the parser never did it a second time.
    assert_eq!(world.all_jobs().await.len(), 1, "{}", reply.text);
    assert_ne!(
        reply.actions(),
        vec![Action::render("make my avatar say in flight")]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_voice_is_chosen_by_description_by_name_or_with_slash_voice_and_remembered() {
    let world = World::new().await;
    let (me, other) = (caller(21), caller(22));
    let agent = world.agent(None);
    // By description: a woman's voice is the woman's (amy), a deeper one the man's (joe).
    let reply = agent
        .handle(message(&me, "please use a woman's voice"))
        .await;
    assert!(reply.text.contains("en_US-amy-medium"), "{}", reply.text);
    assert_eq!(
        world.state(&me).await.voice.as_deref(),
        Some("en_US-amy-medium")
    );
    let reply = agent
        .handle(message(&me, "hmm, switch to a deeper voice"))
        .await;
    assert!(reply.text.contains("en_US-joe-medium"), "{}", reply.text);
    // By name, and with /voice.
    agent.handle(message(&me, "use amy")).await;
    assert_eq!(
        world.state(&me).await.voice.as_deref(),
        Some("en_US-amy-medium")
    );
    agent.handle(message(&me, "/voice en_US-joe-medium")).await;
    assert_eq!(
        world.state(&me).await.voice.as_deref(),
        Some("en_US-joe-medium")
    );
    // A question about the voices lists them and chooses nothing; an unknown one is named.
    let before = world.state(&other).await.voice;
    let reply = agent.handle(message(&other, "any female voices?")).await;
    assert!(reply.text.contains("Voices:"), "{}", reply.text);
    assert_eq!(world.state(&other).await.voice, before);
    let reply = agent.handle(message(&other, "use the zorro voice")).await;
    assert!(reply.text.contains("no voice called"), "{}", reply.text);
    // The next render speaks with the remembered voice.
    world.send_photo(&me).await;
    let reply = agent.handle(message(&me, "say hello there")).await;
    assert_eq!(reply.jobs.len(), 1, "{}", reply.text);
    let plan = world.plan_of(&reply.jobs[0]).await;
    assert_eq!(plan["speech"]["voice"], "en_US-joe-medium", "{plan}");
}

/// The voice of the one video `text` starts.
async fn voice_of_the_video(world: &World, agent: &Agent, who: &Caller, text: &str) -> String {
    let reply = agent.handle(message(who, text)).await;
    assert_eq!(reply.jobs.len(), 1, "{text}: {}", reply.text);
    let plan = world.plan_of(&reply.jobs[0]).await;
    plan["speech"]["voice"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spanish_text_gets_a_spanish_voice_unless_one_was_asked_for() {
    let world = World::new().await;
    let me = caller(23);
    world.send_photo(&me).await;
    let agent = world.agent(None);
    let spanish = "say Hola mamá, feliz cumpleaños. Te quiero mucho y nos vemos el sábado.";
    // The default voice (a man's) does not speak Spanish: the Spanish man speaks it.
    assert_eq!(
        voice_of_the_video(&world, &agent, &me, spanish).await,
        "em_alex"
    );
    // A voice named in the request is used as asked.
    let named = format!("{spanish} with the voice amy");
    assert_eq!(
        voice_of_the_video(&world, &agent, &me, &named).await,
        "en_US-amy-medium"
    );
    // A language no voice speaks: one sentence, no job.
    let reply = agent
        .handle(message(
            &me,
            "say Alles Gute zum Geburtstag, liebe Oma! Wir sehen uns am Wochenende in Berlin.",
        ))
        .await;
    assert!(reply.jobs.is_empty(), "{}", reply.text);
    assert!(reply.text.contains("German"), "{}", reply.text);
    // English keeps the user's voice.
    let english = "say Happy birthday Anna, I hope you have a wonderful day.";
    assert_eq!(
        voice_of_the_video(&world, &agent, &me, english).await,
        "en_US-joe-medium"
    );
}

/// A caller from a chat (whose videos go back to it).
fn chat_caller(id: u32) -> Caller {
    Caller {
        reply: Some(spinbot_core::job::ReplyTo {
            platform: "telegram".into(),
            chat: id.to_string(),
            message: None,
        }),
        ..caller(id)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_chat_user_is_asked_for_a_voice_once_before_the_first_video() {
    let world = World::new().await;
    let agent = world.agent(None);
    let (ana, ben, cli) = (chat_caller(31), chat_caller(32), caller(33));
    for who in [&ana, &ben, &cli] {
        world.send_photo(who).await;
    }
    // The first video waits for the answer, with the choices offered; nothing is queued.
    let reply = agent
        .handle(message(&ana, "say hello from the beach"))
        .await;
    assert!(reply.jobs.is_empty(), "{}", reply.text);
    assert!(reply.text.contains("which voice"), "{}", reply.text);
    assert!(reply.text.contains("en_US-amy-medium"), "{}", reply.text);
    assert!(world.jobs_of(&ana).await.is_empty());
    // A description answers it: the voice is kept and the video made with it.
    let reply = agent.handle(message(&ana, "a woman please")).await;
    assert_eq!(reply.jobs.len(), 1, "{}", reply.text);
    let plan = world.plan_of(&reply.jobs[0]).await;
    assert_eq!(plan["speech"]["voice"], "en_US-amy-medium", "{plan}");
    assert_eq!(plan["speech"]["text"], "hello from the beach", "{plan}");
    // Not asked again.
    let voice = voice_of_the_video(&world, &agent, &ana, "say see you soon").await;
    assert_eq!(voice, "en_US-amy-medium");

    // "go" makes it with the default voice; the next video is not asked about either.
    let reply = agent.handle(message(&ben, "say good morning team")).await;
    assert!(reply.jobs.is_empty(), "{}", reply.text);
    let reply = agent.handle(message(&ben, "go")).await;
    assert_eq!(reply.jobs.len(), 1, "{}", reply.text);
    let plan = world.plan_of(&reply.jobs[0]).await;
    assert_eq!(plan["speech"]["voice"], "en_US-joe-medium", "{plan}");
    let voice = voice_of_the_video(&world, &agent, &ben, "say good night team").await;
    assert_eq!(voice, "en_US-joe-medium");

    // An unknown voice asks again; the menu's "/voice NAME" answers.
    let dan = chat_caller(34);
    world.send_photo(&dan).await;
    agent
        .handle(message(&dan, "say we are open on sunday"))
        .await;
    let reply = agent.handle(message(&dan, "/voice zorro")).await;
    assert!(reply.text.contains("no voice called"), "{}", reply.text);
    assert!(world.jobs_of(&dan).await.is_empty());
    let reply = agent.handle(message(&dan, "/voice en_US-amy-medium")).await;
    assert_eq!(reply.jobs.len(), 1, "{}", reply.text);
    assert_eq!(
        world.plan_of(&reply.jobs[0]).await["speech"]["text"],
        "we are open on sunday"
    );

    // The command line (no chat) is never asked.
    let voice = voice_of_the_video(&world, &agent, &cli, "say hello").await;
    assert_eq!(voice, "en_US-joe-medium");
}

/// A message carrying a voice note whose speaker has `pitch_hz`.
fn voice_note(who: &Caller, pitch_hz: f32) -> Message {
    let key = format!(
        "{}voice-note-{}.ogg",
        spinbot_jobs::keys::uploads_prefix(&who.user),
        spinbot_core::JobId::new()
    );
    Message {
        caller: who.clone(),
        text: String::new(),
        uploads: vec![Upload::VoiceNote {
            key,
            timbre: Some(spinbot_core::Timbre {
                pitch_hz,
                brightness_hz: 1000.0,
            }),
        }],
        pressed: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_voice_note_gives_a_new_user_the_voice_nearest_theirs() {
    let world = World::new().await;
    let agent = world.agent(None);
    let (kim, lou, max) = (chat_caller(41), chat_caller(42), chat_caller(43));
    for who in [&kim, &lou, &max] {
        world.send_photo(who).await;
    }
    // A high voice gets the nearest woman's voice, and is told so; no question follows.
    let reply = agent.handle(voice_note(&kim, 205.0)).await;
    assert!(reply.text.contains("en_US-amy-medium"), "{}", reply.text);
    assert_eq!(
        world.state(&kim).await.voice.as_deref(),
        Some("en_US-amy-medium")
    );
    let voice = voice_of_the_video(&world, &agent, &kim, "say hello everyone").await;
    assert_eq!(voice, "en_US-amy-medium");
    // A low one the nearest man's.
    agent.handle(voice_note(&lou, 95.0)).await;
    assert_eq!(
        world.state(&lou).await.voice.as_deref(),
        Some("en_US-joe-medium")
    );
    // A voice they chose is kept.
    agent.handle(message(&max, "use amy")).await;
    let reply = agent.handle(voice_note(&max, 95.0)).await;
    assert!(!reply.text.contains("nearest"), "{}", reply.text);
    assert_eq!(
        world.state(&max).await.voice.as_deref(),
        Some("en_US-amy-medium")
    );
}

/// A press (a button, a menu, a slash command's options) with words beside it that mean
/// something else.
fn press(who: &Caller, pressed: Pressed) -> Message {
    Message {
        caller: who.clone(),
        text: "delete all my data".into(),
        uploads: Vec::new(),
        pressed: Some(pressed),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn presses_and_command_options_are_done_as_typed_and_never_read_as_text() {
    let world = World::new().await;
    let me = caller(41);
    world.send_photo(&me).await;
    // A model that is not to be asked: any request to it is a violation.
    let fake = FakeOllama::start(MODEL, Vec::new());
    let agent = world.agent(Some(&fake));
    // Words that read as a voice choice and a deletion are spoken as they are.
    let words = "cancel everything, then say it with the voice amy";
    let render = Action::Render {
        text: Some(words.into()),
        voice: None,
    };
    let reply = agent.handle(press(&me, Pressed::Act(render.clone()))).await;
    assert_eq!(reply.decided_by, DecidedBy::Pressed);
    assert_eq!(reply.actions(), vec![render]);
    assert_eq!(reply.jobs.len(), 1, "{}", reply.text);
    assert_eq!(world.plan_of(&reply.jobs[0]).await["speech"]["text"], words);
    // Its Cancel button stops that job.
    let job = reply.jobs[0].clone();
    let cancel = Action::Cancel {
        job: Some(job.to_string()),
    };
    let reply = agent.handle(press(&me, Pressed::Act(cancel.clone()))).await;
    assert_eq!(reply.actions(), vec![cancel]);
    assert_eq!(world.job_state(&job, &me).await, Some(JobState::Cancelled));
    // A yes with no question open deletes nothing; the confirm button after the question does.
    let reply = agent.handle(press(&me, Pressed::Yes)).await;
    assert!(reply.text.contains("no longer open"), "{}", reply.text);
    assert!(world.state(&me).await.photo.is_some());
    let asked = Action::ForgetMe { confirmed: false };
    let reply = agent.handle(press(&me, Pressed::Act(asked))).await;
    assert!(reply.text.contains("Reply \"yes\""), "{}", reply.text);
    let done = agent.handle(press(&me, Pressed::Yes)).await;
    assert_eq!(done.actions(), vec![Action::ForgetMe { confirmed: true }]);
    assert!(world.state(&me).await.photo.is_none());
    // Nothing of it reached the model (nor, had it, the parser: its reading of the words
    // beside each press would have been a deletion).
    assert_eq!(fake.requests().len(), 0);
    assert_eq!(fake.violations(), Vec::<String>::new());
}

/// The tools offered in the model's `i`-th request.
fn tools_offered(fake: &FakeOllama, i: usize) -> Vec<String> {
    fake.requests()[i]["tools"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_model_the_answer_to_the_bots_question_is_the_models_to_read() {
    let world = World::new().await;
    let me = caller(43);
    world.send_photo(&me).await;
    let fake = FakeOllama::start(
        MODEL,
        vec![
            Turn::call("forget_me", json!({})),
            Turn::Text("This deletes everything; reply yes to go ahead.".into()),
            Turn::call("confirm", json!({})),
            Turn::Text("Everything is deleted.".into()),
        ],
    );
    let agent = world.agent(Some(&fake));
    let asked = agent
        .handle(message(&me, "wipe me from your servers"))
        .await;
    assert_eq!(asked.actions(), vec![Action::ForgetMe { confirmed: false }]);
    assert!(world.state(&me).await.photo.is_some());
    // No yes the parser knows; the model hears the question with it, and says yes.
    let done = agent.handle(message(&me, "for sure, go for it")).await;
    assert_eq!(done.decided_by, DecidedBy::Model);
    assert_eq!(done.actions(), vec![Action::ForgetMe { confirmed: true }]);
    assert!(done.text.contains("deleted"), "{}", done.text);
    assert!(world.state(&me).await.photo.is_none());
    // It was told what it asked, and offered `confirm` only then.
    assert!(!tools_offered(&fake, 0).contains(&"confirm".to_owned()));
    assert!(tools_offered(&fake, 2).contains(&"confirm".to_owned()));
    let system = messages(&fake, 2)[0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(system.contains("whether to delete everything"), "{system}");
    assert_eq!(fake.remaining(), 0);
    assert_eq!(fake.violations(), Vec::<String>::new());

    // A confirm with no question open deletes nothing.
    let you = caller(44);
    world.send_photo(&you).await;
    let eager = FakeOllama::start(
        MODEL,
        vec![Turn::call("confirm", json!({})), Turn::Text("Done!".into())],
    );
    let reply = world.agent(Some(&eager)).handle(message(&you, "yes")).await;
    assert!(!reply.text.contains("deleted"), "{}", reply.text);
    assert!(world.state(&you).await.photo.is_some());
}
