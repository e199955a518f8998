//! `spinbot plan --user U "TEXT"`: what the agent would do with a message, done by nothing
//! and read from nothing (the model when Ollama is configured, else the built-in parser).

use crate::commands::bot::prompts;
use clap::Args;
use spinbot_agent::{Action, Agent, Caller};
use spinbot_core::{Config, UserId};

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

pub async fn run(args: PlanArgs, config: &Config) -> anyhow::Result<()> {
    let caller = Caller {
        user: UserId::parse(&args.user)?,
        max_bytes: None,
        reply: None,
        network: None,
    };
    let agent = Agent::planner(config.ollama.clone(), prompts(config)?);
    let (actions, decided_by) = agent.plan(&caller, &args.text).await;
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
