//! A request the farm's policy turned down (rate limit, caps, a busy farm, not yours), with
//! the one table of sentences every front end shows for it.

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Too many renders lately; the next one may start after `retry_after_s`.
    RateLimited { retry_after_s: f64 },
    /// The user has as many jobs waiting as allowed.
    TooManyQueued,
    /// The whole farm has as many jobs waiting as allowed.
    Busy { retry_after_s: f64 },
    /// No such job of this user's (another user's job looks the same).
    NotFound,
    /// An admin blocked this user (`spinbot admin block`).
    Blocked,
}

impl Refusal {
    /// The reason as a short code (`--json`, metrics): `rate_limited`, `too_many_queued`,
    /// `busy`, `not_found`, `blocked`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::TooManyQueued => "too_many_queued",
            Self::Busy { .. } => "busy",
            Self::NotFound => "not_found",
            Self::Blocked => "blocked",
        }
    }

    /// Seconds until trying again makes sense (0 when waiting does not help).
    pub fn retry_after_s(&self) -> f64 {
        match self {
            Self::RateLimited { retry_after_s } | Self::Busy { retry_after_s } => *retry_after_s,
            Self::TooManyQueued | Self::NotFound | Self::Blocked => 0.0,
        }
    }

    /// The refusal from its code, as the admission script answers.
    pub fn from_code(code: &str, retry_after_s: f64) -> Option<Self> {
        Some(match code {
            "rate_limited" => Self::RateLimited { retry_after_s },
            "too_many_queued" => Self::TooManyQueued,
            "busy" => Self::Busy { retry_after_s },
            "not_found" => Self::NotFound,
            "blocked" => Self::Blocked,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RateLimited { retry_after_s } => write!(
                f,
                "You've made a lot of videos lately; please try again in {}.",
                human_wait(*retry_after_s)
            ),
            Self::TooManyQueued => write!(
                f,
                "You already have several videos waiting; cancel one or wait for them to finish."
            ),
            Self::Busy { retry_after_s } => write!(
                f,
                "The render farm is very busy right now; please try again in {}.",
                human_wait(*retry_after_s)
            ),
            Self::NotFound => write!(f, "I can't find that video among yours."),
            Self::Blocked => write!(
                f,
                "Sorry, you can't make videos here any more; the people who run this bot have turned it off for you."
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// `40 seconds`, `3 minutes`, `2 hours`.
pub fn human_wait(seconds: f64) -> String {
    let s = seconds.max(1.0).ceil() as u64;
    match s {
        1 => "a second".into(),
        2..=59 => format!("{s} seconds"),
        60..=119 => "a minute".into(),
        120..=5399 => format!("{} minutes", s.div_ceil(60)),
        _ => format!("{} hours", s.div_ceil(3600)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_and_codes() {
        let r = Refusal::RateLimited {
            retry_after_s: 170.0,
        };
        assert_eq!(r.code(), "rate_limited");
        assert!(r.to_string().ends_with("try again in 3 minutes."));
        assert_eq!(
            Refusal::from_code("busy", 60.0),
            Some(Refusal::Busy {
                retry_after_s: 60.0
            })
        );
        assert_eq!(Refusal::from_code("other", 0.0), None);
        assert_eq!(human_wait(0.2), "a second");
        assert_eq!(human_wait(45.0), "45 seconds");
        assert_eq!(human_wait(7200.0), "2 hours");
    }
}
