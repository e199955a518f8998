//! A PostgreSQL 15 server of the test's own, in a temporary folder on a free loopback port,
//! that a test can stop and start again; stopped when dropped. Runs as the `postgres` user
//! (PostgreSQL refuses root).

use crate::free_port;
use std::path::Path;
use std::process::Command;

const PGBIN: &str = "/usr/lib/postgresql/15/bin";

pub struct PostgresServer {
    pub port: u16,
    dir: tempfile::TempDir,
    running: bool,
}

fn as_postgres(program: &str, args: &[&str]) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", "postgres", "--", &format!("{PGBIN}/{program}")])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (apt-get install postgresql-15)"))
}

impl PostgresServer {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = Command::new("chown")
            .arg("postgres:postgres")
            .arg(dir.path())
            .status()
            .expect("chown");
        assert!(status.success(), "chown");
        let data = dir.path().join("data");
        let out = as_postgres(
            "initdb",
            &[
                "-D",
                path(&data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut server = Self {
            port: free_port(),
            dir,
            running: false,
        };
        // The free port was released before PostgreSQL binds it, so a parallel test can
        // take it in between: the first start moves to another free port when it fails.
        for _ in 0..4 {
            match server.try_resume() {
                Ok(()) => break,
                Err(why) => {
                    eprintln!("PostgreSQL did not start on port {}: {why}", server.port);
                    server.port = free_port();
                }
            }
        }
        if !server.running {
            server.resume();
        }
        let port = server.port;
        let out = Command::new("psql")
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-c",
                "CREATE DATABASE spinbot",
            ])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "create database: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        server
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/spinbot", self.port)
    }

    /// Stops the server (fast shutdown: clients are cut off).
    pub fn pause(&mut self) {
        let data = self.dir.path().join("data");
        let out = as_postgres(
            "pg_ctl",
            &["-D", path(&data), "-m", "fast", "-w", "-s", "stop"],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.running = false;
    }

    /// Starts the server again on the same data and port.
    pub fn resume(&mut self) {
        if let Err(why) = self.try_resume() {
            panic!("pg_ctl start: {why}");
        }
    }

    /// Starts the server on `self.port`; the error holds pg_ctl's words and the end of
    /// the server's log.
    fn try_resume(&mut self) -> Result<(), String> {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("pg.log");
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            path(self.dir.path())
        );
        let out = as_postgres(
            "pg_ctl",
            &[
                "-D",
                path(&data),
                "-l",
                path(&log),
                "-o",
                &opts,
                "-w",
                "-s",
                "start",
            ],
        );
        if !out.status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            return Err(format!(
                "{} / log: {}",
                String::from_utf8_lossy(&out.stderr).trim(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ));
        }
        self.running = true;
        Ok(())
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if self.running {
            let data = self.dir.path().join("data");
            let _ = as_postgres(
                "pg_ctl",
                &["-D", path(&data), "-m", "immediate", "-w", "-s", "stop"],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_reported_with_the_servers_own_words_and_a_free_one_works() {
        let mut server = PostgresServer::start();
        server.pause();
        let taken =
            std::net::TcpListener::bind(("127.0.0.1", server.port)).expect("the stopped port");
        let why = server.try_resume().expect_err("the port is taken");
        assert!(why.contains("could not bind"), "{why}");
        assert!(!server.running);
        drop(taken);
        server.try_resume().expect("the port is free again");
        assert!(server.running);
    }
}
