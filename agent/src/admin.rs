//! The admins' chat commands: `/block USER [reason]`, `/unblock USER` and `/blocked`, for
//! the users named in `SPINBOT_ADMINS`. A user is `platform:id`; a bare id means one on
//! the admin's own platform. Anyone else who tries them is told they are for admins.

use crate::executor::{Caller, Declined, Hands};
use spinbot_core::UserId;

/// An admin's command, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Block { user: String, reason: String },
    Unblock { user: String },
    Blocked,
}

/// The command `text` is, when it is one (`/block@spinbot_bot 123` too).
pub fn parse(text: &str) -> Option<Command> {
    let text = text.trim();
    let (head, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let name = head.strip_prefix('/')?;
    let name = name.split_once('@').map_or(name, |(n, _)| n).to_lowercase();
    let rest = rest.trim();
    let (user, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let (user, reason) = (user.to_owned(), reason.trim().to_owned());
    match name.as_str() {
        "block" => Some(Command::Block { user, reason }),
        "unblock" => Some(Command::Unblock { user }),
        "blocked" => Some(Command::Blocked),
        _ => None,
    }
}

/// Carries out `command` for `caller`: the sentence for the chat.
pub async fn run(hands: &Hands, caller: &Caller, command: Command) -> Result<String, Declined> {
    let Hands::Live(executor) = hands else {
        return Ok("An admin command (nothing is done in a dry run).".into());
    };
    let queue = executor.queue();
    if !queue.config().limits.admins.contains(&caller.user) {
        tracing::info!("an admin command from someone who is not an admin");
        return Err(Declined("Only this bot's admins can do that.".into()));
    }
    let user = |raw: &str| -> Result<UserId, Declined> {
        if raw.is_empty() {
            return Err(Declined(
                "Whom? Write the user after the command, like /block 12345.".into(),
            ));
        }
        let full = if raw.contains(':') {
            raw.to_owned()
        } else {
            format!("{}:{raw}", caller.user.parts().0)
        };
        Ok(UserId::parse(&full)?)
    };
    match command {
        Command::Block { user: raw, reason } => {
            let user = user(&raw)?;
            if user == caller.user {
                return Err(Declined("You can't block yourself.".into()));
            }
            let reason = if reason.is_empty() {
                format!("blocked from chat by {}", caller.user)
            } else {
                reason.chars().take(200).collect()
            };
            queue.block(&user, &reason).await?;
            tracing::info!(blocked = %user, "blocked from chat");
            Ok(format!(
                "Blocked {user}: they get one sentence and no videos until /unblock {user}."
            ))
        }
        Command::Unblock { user: raw } => {
            let user = user(&raw)?;
            if queue.unblock(&user).await? {
                tracing::info!(unblocked = %user, "unblocked from chat");
                Ok(format!("Unblocked {user}."))
            } else {
                Ok(format!("{user} was not blocked."))
            }
        }
        Command::Blocked => {
            let blocked = queue.blocked().await?;
            if blocked.is_empty() {
                return Ok("Nobody is blocked.".into());
            }
            let lines: Vec<String> = blocked
                .iter()
                .take(50)
                .map(|(user, reason)| format!("{user}: {reason}"))
                .collect();
            Ok(format!(
                "Blocked ({}):\n{}",
                blocked.len(),
                lines.join("\n")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_are_read_with_or_without_the_bot_name() {
        assert_eq!(
            parse("/block 12345 spamming everyone"),
            Some(Command::Block {
                user: "12345".into(),
                reason: "spamming everyone".into()
            })
        );
        assert_eq!(
            parse("/Block@spinbot_bot discord:99"),
            Some(Command::Block {
                user: "discord:99".into(),
                reason: String::new()
            })
        );
        assert_eq!(
            parse(" /unblock telegram:7 "),
            Some(Command::Unblock {
                user: "telegram:7".into()
            })
        );
        assert_eq!(parse("/blocked"), Some(Command::Blocked));
        for other in [
            "/status",
            "block 12345",
            "please /block me",
            "/blockade 1",
            "",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
    }
}
