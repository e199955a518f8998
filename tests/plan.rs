//! `spinbot plan` and `spinbot bench agent` through the binary: the actions as JSON, from
//! the parser without a model, from the model when Ollama answers (nothing is done and no
//! state is read), and from the parser again when Ollama is configured but dead.

mod common;

use serde_json::{json, Value};
use spinbot_testkit::{FakeOllama, Turn};

fn plan(envs: &[(&str, &str)], text: &str) -> Value {
    let mut cmd = common::spinbot();
    cmd.args(["plan", "--user", "telegram:42", "--json", text])
        .env_remove("OLLAMA_API_BASE_URL")
        .env_remove("OLLAMA_MODEL")
        .env("REDIS_URL", "redis://127.0.0.1:1/");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("spinbot runs");
    assert!(out.status.success(), "{}", common::stderr(&out));
    serde_json::from_slice(&out.stdout).expect("one JSON list")
}

#[test]
fn without_a_model_the_parser_plans() {
    assert_eq!(
        plan(&[], "make my avatar say: Happy birthday, Anna!"),
        json!([{"action": "render", "text": "Happy birthday, Anna!"}])
    );
    assert_eq!(plan(&[], "/cancel"), json!([{"action": "cancel"}]));
    assert_eq!(
        plan(&[], "what's the weather?"),
        json!([{"action": "unsupported"}])
    );
    assert_eq!(
        plan(&[], &"x".repeat(5_000)),
        json!([{"action": "unsupported"}]),
        "a giant message is answered, not planned"
    );
}

#[test]
fn with_a_model_its_tool_calls_are_the_plan_and_nothing_is_done() {
    let fake = FakeOllama::start(
        "llama3.1:8b",
        vec![
            Turn::Calls(vec![
                ("choose_voice".into(), json!({"voice": "amy"})),
                (
                    "write_script".into(),
                    json!({"topic": "our bakery", "script": "Fresh bread every morning!"}),
                ),
            ]),
            Turn::Text("Here is your script.".into()),
        ],
    );
    let actions = plan(
        &[
            ("OLLAMA_API_BASE_URL", fake.url()),
            ("OLLAMA_MODEL", "llama3.1:8b"),
        ],
        "use amy and write something about our bakery",
    );
    assert_eq!(
        actions,
        json!([
            {"action": "choose_voice", "voice": "amy"},
            {"action": "write_script", "topic": "our bakery", "text": "Fresh bread every morning!"}
        ])
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
    let results: Vec<String> = fake.requests()[1]["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r.contains("would")), "{results:?}");
}

#[test]
fn a_dead_model_leaves_the_plan_to_the_parser() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let url = format!("http://127.0.0.1:{port}");
    assert_eq!(
        plan(&[("OLLAMA_API_BASE_URL", &url)], "status"),
        json!([{"action": "status"}])
    );
}

#[test]
fn bench_agent_prints_the_parsers_accuracy() {
    let out = common::run(&["bench", "agent"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["bench"], "agent");
    let n = v["utterances"].as_u64().unwrap_or(0);
    let correct = v["correct"].as_u64().unwrap_or(0);
    assert!(n >= 60, "{v}");
    let accuracy = v["accuracy"].as_f64().unwrap_or(0.0);
    assert!((accuracy - correct as f64 / n as f64).abs() < 1e-3, "{v}");
    assert_eq!(
        v["misses"].as_array().map(Vec::len),
        Some((n - correct) as usize)
    );
}
