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
fn deletions_plan_as_unconfirmed_and_misreadings_plan_no_destruction() {
    assert_eq!(
        plan(&[], "please delete all my data"),
        json!([{"action": "forget_me", "confirmed": false}])
    );
    for text in [
        "don't delete anything!!",
        "how do I delete my data?",
        "remove the background from my selfie",
        "delete that one video, it's awful",
        "let it finish please",
        "i dont want to cancel it, how long is left?",
    ] {
        let actions = plan(&[], text);
        let names: Vec<&str> = actions
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|a| a["action"].as_str())
            .collect();
        assert!(!names.is_empty(), "{text}");
        assert!(
            !names.contains(&"forget_me") && !names.contains(&"cancel"),
            "{text}: {actions}"
        );
    }
    assert_eq!(
        plan(&[], "actually don't make that video"),
        json!([{"action": "cancel"}])
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

fn json_lines(out: &std::process::Output) -> Vec<Value> {
    assert!(out.status.success(), "{}", common::stderr(out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn bench_agent_prints_the_parsers_accuracy_on_each_part() {
    let lines = json_lines(&common::run(&["bench", "agent"]));
    let parts: Vec<&str> = lines.iter().filter_map(|v| v["part"].as_str()).collect();
    assert_eq!(parts, ["tuning", "test"]);
    // The data's coverage: every phrase matched by a line of the set.
    let coverage = lines
        .iter()
        .find_map(|v| v.get("coverage"))
        .expect("a coverage line");
    assert!(
        coverage["phrases"].as_u64().unwrap_or(0) > 500,
        "{coverage}"
    );
    assert_eq!(coverage["uncovered"], json!([]), "{coverage}");
    for v in lines.iter().filter(|v| v.get("part").is_some()) {
        assert_eq!(v["bench"], "agent");
        assert_eq!(v["decider"], "parser");
        let n = v["utterances"].as_u64().unwrap_or(0);
        let correct = v["correct"].as_u64().unwrap_or(0);
        assert!(n >= 150, "{v}");
        let accuracy = v["accuracy"].as_f64().unwrap_or(0.0);
        assert!((accuracy - correct as f64 / n as f64).abs() < 1e-3, "{v}");
        assert_eq!(
            v["misses"].as_array().map(Vec::len),
            Some((n - correct) as usize)
        );
        assert!(
            v["per_action"]["render"]["recall"].as_f64().is_some(),
            "{v}"
        );
        assert!(v["confusion"]["render"].is_object(), "{v}");
        assert!(v["destructive_false_positives"].as_u64().is_some(), "{v}");
    }
}

#[test]
fn bench_agent_evaluates_a_real_ollama_with_the_same_report() {
    // A model that answers every message with a question back (no tool): nothing decided.
    let fake = FakeOllama::start(
        "qwen3:8b",
        vec![
            Turn::Text("Could you say that again?".into()),
            Turn::Text("Could you say that again?".into()),
        ],
    );
    let out = common::spinbot()
        .args([
            "bench",
            "agent",
            "--ollama",
            fake.url(),
            "--model",
            "qwen3:8b",
        ])
        .args(["--limit", "1"])
        .env_remove("OLLAMA_API_BASE_URL")
        .env_remove("OLLAMA_MODEL")
        .output()
        .expect("spinbot");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for v in &lines {
        assert_eq!(v["decider"], "ollama qwen3:8b");
        assert_eq!(v["utterances"], 1);
        assert_eq!(v["correct"], 0, "{v}");
        assert_eq!(v["destructive_false_positives"], 0, "{v}");
    }
    assert_eq!(fake.remaining(), 0);
    assert!(fake.requests().iter().all(|r| r["think"] == false));
    assert_eq!(fake.violations(), Vec::<String>::new());
}
