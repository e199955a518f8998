//! One module per subcommand, and what they share.

pub mod bench;
pub mod bench_queue;
pub mod queue;
pub mod render;
pub mod voices;
pub mod worker;

/// A request the job plane turned down (exit status 3): why, and when to try again.
#[derive(Debug)]
pub struct Refused {
    pub reason: String,
    pub retry_after_s: f64,
    pub json: bool,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason.as_str() {
            "rate_limited" => write!(
                f,
                "You have made too many videos for now; try again in {:.0} seconds.",
                self.retry_after_s.ceil()
            ),
            "too_many_queued" => write!(
                f,
                "You already have the most videos waiting; try again when one is done."
            ),
            "busy" => write!(
                f,
                "The render farm is busy; try again in {:.0} seconds.",
                self.retry_after_s.ceil()
            ),
            "not_found" => write!(f, "There is no such job of yours."),
            other => write!(f, "Refused: {other}."),
        }
    }
}

impl std::error::Error for Refused {}
