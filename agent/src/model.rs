//! The language model: Ollama's native `/api/chat` through rig, with every tool bound to
//! one run. Ollama is used when the configuration names it (`OLLAMA_API_BASE_URL` or
//! `OLLAMA_MODEL`).

use crate::error::AgentError;
use crate::executor::Caller;
use crate::prompts::Prompts;
use crate::run::Run;
use crate::tools::{self, ActionTool};
use futures::StreamExt;
use rig_agent::agent::MultiTurnStreamItem;
use rig_agent::AgentBuilder;
use rig_core::providers::ollama::OllamaConfig;
use rig_core::tool::ToolContext;
use spinbot_core::config::OllamaSettings;
use spinbot_core::limits::AGENT_MAX_TURNS;
use std::sync::Arc;
use std::time::Duration;

/// The model's settings and one HTTP client for all its runs (connections are reused).
pub struct Model {
    settings: OllamaSettings,
    http: rig_reqwest::reqwest::Client,
}

impl Model {
    pub fn new(settings: OllamaSettings) -> Result<Self, AgentError> {
        let http = rig_reqwest::reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .build()
            .map_err(|e| AgentError::Ollama(format!("http client: {e}")))?;
        Ok(Self { settings, http })
    }
}

/// Runs the model on `text` for `caller`; the tools act through `run`. An error means the
/// model could not be used (unreachable, too slow, missing, or unusable tool calls).
pub async fn run_model(
    model: &Model,
    prompts: &Prompts,
    run: &Arc<Run>,
    caller: &Caller,
    text: &str,
) -> Result<String, AgentError> {
    let settings = &model.settings;
    let ollama = OllamaConfig::new()
        .with_base_url(&settings.base_url)
        .connect(rig_reqwest::ReqwestClient::from(model.http.clone()));
    // A question asked before: the model hears it, and may say yes to it.
    let question = run.open_question();
    let preamble = match &question {
        Some(question) => prompts.preamble_asking(question.asked()),
        None => prompts.preamble.clone(),
    };
    let builder = AgentBuilder::new(ollama.native_completion(&settings.model))
        .preamble(&preamble)
        .temperature(0.0)
        .additional_params(serde_json::json!({"think": settings.think}))
        .tool(ActionTool::<tools::Say>::new(run, prompts))
        .tool(ActionTool::<tools::Render>::new(run, prompts))
        .tool(ActionTool::<tools::UsePhoto>::new(run, prompts))
        .tool(ActionTool::<tools::UseVoiceNote>::new(run, prompts))
        .tool(ActionTool::<tools::ChooseVoice>::new(run, prompts))
        .tool(ActionTool::<tools::ListVoices>::new(run, prompts))
        .tool(ActionTool::<tools::WriteScript>::new(run, prompts))
        .tool(ActionTool::<tools::Status>::new(run, prompts))
        .tool(ActionTool::<tools::CancelJob>::new(run, prompts))
        .tool(ActionTool::<tools::ForgetMe>::new(run, prompts))
        .tool(ActionTool::<tools::Help>::new(run, prompts));
    let agent = match question {
        Some(_) => builder.tool(ActionTool::<tools::Confirm>::new(run, prompts)),
        None => builder,
    }
    .build();
    let mut context = ToolContext::new();
    context
        .insert(caller.clone())
        .map_err(|e| AgentError::Ollama(format!("tool context: {e}")))?;
    let runner = agent
        .prompt(text)
        .max_turns(AGENT_MAX_TURNS)
        .max_consecutive_malformed_tool_calls(1)
        .tool_context(context);
    let whole_run = Duration::from_millis(settings.timeout_ms) * 3;
    let answer = async {
        if settings.stream {
            let mut stream = runner.stream();
            let mut last = Err(AgentError::Ollama(
                "the stream ended without an answer".into(),
            ));
            while let Some(item) = stream.next().await {
                match item {
                    Ok(MultiTurnStreamItem::FinalResponse(done)) => last = Ok(done.output()),
                    Ok(_) => {}
                    Err(e) => return Err(AgentError::Ollama(e.to_string())),
                }
            }
            last
        } else {
            runner
                .await
                .map(|done| done.output())
                .map_err(|e| AgentError::Ollama(e.to_string()))
        }
    };
    tokio::time::timeout(whole_run, answer)
        .await
        .map_err(|_| AgentError::Ollama(format!("no answer within {whole_run:?}")))?
}
