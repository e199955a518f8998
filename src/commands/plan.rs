//! `spinbot plan --user U "TEXT"`: what the agent would do with a message, done by nothing
//! and read from nothing (the model when Ollama is configured, else the built-in parser).

use clap::Args;
use spinbot_agent::{Action, Agent, Caller, OllamaSettings, Prompts};
use spinbot_core::UserId;

#[derive(Args)]
pub struct PlanArgs {
    /// Who writes (namespace:id).
    #[arg(long)]
    user: String,
    /// Print the actions as one JSON list.
    #[arg(long)]
    json: bool,
    /// The message.
    text: String,
}

pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    let caller = Caller {
        user: UserId::parse(&args.user)?,
        max_bytes: None,
    };
    let agent = Agent::planner(OllamaSettings::from_env(), Prompts::from_env()?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (actions, decided_by) = runtime.block_on(agent.plan(&caller, &args.text));
    tracing::info!(?decided_by, "planned");
    if args.json {
        println!("{}", serde_json::to_string(&actions)?);
    } else {
        for action in &actions {
            println!("{}", describe(action));
        }
    }
    Ok(())
}

/// One line for a person: the action and its arguments.
fn describe(action: &Action) -> String {
    let mut line = action.name().to_owned();
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(action) {
        for (key, value) in fields.iter().filter(|(k, _)| *k != "action") {
            line.push_str(&format!(" {key}={value}"));
        }
    }
    line
}
