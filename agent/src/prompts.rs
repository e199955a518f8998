//! The model's texts (system prompt, examples, tool descriptions) and the help text, kept as
//! plain files in `prompts/`: built into the binary, or read from `SPINBOT_PROMPTS` at start
//! so they can be tuned without a rebuild.

use crate::error::AgentError;
use std::collections::BTreeMap;
use std::path::Path;

/// The tools, in the order the model sees them.
pub const TOOL_NAMES: [&str; 11] = [
    "say",
    "render",
    "use_photo",
    "use_voice_note",
    "choose_voice",
    "list_voices",
    "write_script",
    "status",
    "cancel",
    "forget_me",
    "help",
];

/// The tool that says yes to the question the person was asked, offered only while one is
/// open.
pub const CONFIRM_TOOL: &str = "confirm";

/// Environment variable naming a folder that replaces the built-in prompts.
pub const PROMPTS_ENV: &str = "SPINBOT_PROMPTS";

const BUILT_IN: [(&str, &str); 16] = [
    ("system.md", include_str!("../../prompts/system.md")),
    ("question.md", include_str!("../../prompts/question.md")),
    (
        "tools/confirm.md",
        include_str!("../../prompts/tools/confirm.md"),
    ),
    ("examples.md", include_str!("../../prompts/examples.md")),
    ("help.md", include_str!("../../prompts/help.md")),
    ("tools/say.md", include_str!("../../prompts/tools/say.md")),
    (
        "tools/render.md",
        include_str!("../../prompts/tools/render.md"),
    ),
    (
        "tools/use_photo.md",
        include_str!("../../prompts/tools/use_photo.md"),
    ),
    (
        "tools/use_voice_note.md",
        include_str!("../../prompts/tools/use_voice_note.md"),
    ),
    (
        "tools/choose_voice.md",
        include_str!("../../prompts/tools/choose_voice.md"),
    ),
    (
        "tools/list_voices.md",
        include_str!("../../prompts/tools/list_voices.md"),
    ),
    (
        "tools/write_script.md",
        include_str!("../../prompts/tools/write_script.md"),
    ),
    (
        "tools/status.md",
        include_str!("../../prompts/tools/status.md"),
    ),
    (
        "tools/cancel.md",
        include_str!("../../prompts/tools/cancel.md"),
    ),
    (
        "tools/forget_me.md",
        include_str!("../../prompts/tools/forget_me.md"),
    ),
    ("tools/help.md", include_str!("../../prompts/tools/help.md")),
];

#[derive(Debug, Clone)]
pub struct Prompts {
    /// The system prompt followed by the examples.
    pub preamble: String,
    pub help: String,
    /// Added to the preamble while a question waits for the person's answer; `{asked}` is
    /// what was asked.
    question: String,
    tools: BTreeMap<String, String>,
}

impl Prompts {
    /// The built-in texts.
    pub fn built_in() -> Self {
        Self::assemble(|name| {
            BUILT_IN
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| (*text).to_owned())
                .ok_or_else(|| AgentError::Prompts(format!("no built-in {name}")))
        })
        .unwrap_or_else(|_| Self {
            preamble: String::new(),
            help: String::new(),
            question: String::new(),
            tools: BTreeMap::new(),
        })
    }

    /// The texts from the configured folder (`SPINBOT_PROMPTS`), else the built-in ones.
    pub fn configured(dir: Option<&Path>) -> Result<Self, AgentError> {
        match dir {
            Some(dir) => Self::load(dir),
            None => Ok(Self::built_in()),
        }
    }

    /// The texts from a folder laid out like `prompts/`; every file must be there.
    pub fn load(dir: &Path) -> Result<Self, AgentError> {
        Self::assemble(|name| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| AgentError::Prompts(format!("{}: {e}", dir.join(name).display())))
        })
    }

    fn assemble(read: impl Fn(&str) -> Result<String, AgentError>) -> Result<Self, AgentError> {
        let mut tools = BTreeMap::new();
        for name in TOOL_NAMES.into_iter().chain([CONFIRM_TOOL]) {
            tools.insert(
                name.to_owned(),
                read(&format!("tools/{name}.md"))?.trim().to_owned(),
            );
        }
        Ok(Self {
            preamble: format!(
                "{}\n\n{}",
                read("system.md")?.trim(),
                read("examples.md")?.trim()
            ),
            help: read("help.md")?.trim().to_owned(),
            question: read("question.md")?.trim().to_owned(),
            tools,
        })
    }

    /// The preamble for a message that may answer the question `asked`.
    pub fn preamble_asking(&self, asked: &str) -> String {
        format!(
            "{}\n\n{}",
            self.preamble,
            self.question.replace("{asked}", asked)
        )
    }

    /// The description of a tool.
    pub fn tool(&self, name: &str) -> String {
        self.tools.get(name).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_a_description_and_a_folder_replaces_them() {
        let built_in = Prompts::built_in();
        for name in TOOL_NAMES.into_iter().chain([CONFIRM_TOOL]) {
            assert!(!built_in.tool(name).is_empty(), "{name}");
        }
        assert!(built_in.preamble.contains("spinbot"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            Prompts::load(dir.path()).is_err(),
            "an empty folder is refused"
        );
        std::fs::create_dir_all(dir.path().join("tools")).unwrap_or_default();
        for (name, text) in BUILT_IN {
            std::fs::write(dir.path().join(name), text.replace("spinbot", "testbot"))
                .unwrap_or_default();
        }
        let loaded = Prompts::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert!(loaded.preamble.contains("testbot"));
    }
}
