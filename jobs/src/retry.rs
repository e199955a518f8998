//! Waiting out an outage (Redis, Postgres or S3 away): a back-off between tries that
//! doubles up to a few seconds, cut short when the process is asked to stop.

use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Doubling waits from 100 ms up to 5 s.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

const FIRST: Duration = Duration::from_millis(100);
const LONGEST: Duration = Duration::from_secs(5);

impl Default for Backoff {
    fn default() -> Self {
        Self { next: FIRST }
    }
}

impl Backoff {
    /// After a success: the next wait is short again.
    pub fn reset(&mut self) {
        self.next = FIRST;
    }

    /// The next interval (each is twice the last, up to 5 s).
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(LONGEST);
        wait
    }

    /// Waits the next interval; `false` when `stop` came first.
    pub async fn wait(&mut self, stop: &CancellationToken) -> bool {
        let wait = self.next_wait();
        pause(stop, wait).await
    }
}

/// Sleeps for `wait`; `false` when `stop` came first.
pub async fn pause(stop: &CancellationToken, wait: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(wait) => true,
        _ = stop.cancelled() => false,
    }
}
