//! What tests and benchmarks share: services they start for themselves on loopback, fakes
//! of the platforms that cannot be reached from here (speaking their real protocols,
//! strictly), and media checks.

pub mod fake_discord;
pub mod fake_ollama;
pub mod fake_telegram;
pub mod media;
pub mod postgres_server;
pub mod prometheus_server;
pub mod redis_server;
pub mod seaweed_server;
pub mod served;

pub use fake_discord::FakeDiscord;
pub use fake_ollama::{FakeOllama, Turn};
pub use fake_telegram::FakeTelegram;
pub use postgres_server::PostgresServer;
pub use prometheus_server::{PrometheusServer, ScrapeJob};
pub use redis_server::RedisServer;
pub use seaweed_server::SeaweedServer;

/// A loopback port that was free a moment ago (released again, so a server can bind it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
