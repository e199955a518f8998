//! A Redis server of the test's own on a free loopback port, stopped when dropped.

use crate::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
    aof: Option<&'static str>,
}

impl RedisServer {
    /// Starts `redis-server`; with `aof`, every write is fsynced to an append-only file.
    pub fn start(aof: bool) -> Self {
        Self::with_aof(aof.then_some("always"))
    }

    /// Starts `redis-server` with its append-only file synced every second, as
    /// `make services` runs it (a kill may lose the last second).
    pub fn start_everysec() -> Self {
        Self::with_aof(Some("everysec"))
    }

    fn with_aof(aof: Option<&'static str>) -> Self {
        let mut server = Self {
            port: free_port(),
            child: None,
            dir: tempfile::tempdir().expect("tempdir"),
            aof,
        };
        // The free port was released before redis-server binds it, so a parallel test can
        // take it in between: the first start moves to another free port when it fails.
        for _ in 0..4 {
            match server.try_launch() {
                Ok(()) => return server,
                Err(why) => {
                    eprintln!("{why}");
                    server.port = free_port();
                }
            }
        }
        server.launch();
        server
    }

    fn launch(&mut self) {
        if let Err(why) = self.try_launch() {
            panic!("{why}");
        }
    }

    /// Starts redis-server on `self.port` and waits until it answers, from our folder.
    fn try_launch(&mut self) -> Result<(), String> {
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--bind",
            "127.0.0.1",
            "--port",
            &self.port.to_string(),
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(self.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        match self.aof {
            Some(sync) => cmd.args(["--appendonly", "yes", "--appendfsync", sync]),
            None => cmd.args(["--appendonly", "no"]),
        };
        let mut child = cmd
            .spawn()
            .expect("redis-server (apt-get install redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "redis-server exited ({status}) on port {}",
                    self.port
                ));
            }
            if let Ok(client) = redis::Client::open(self.url().as_str()) {
                if let Ok(mut con) = client.get_connection() {
                    // Another test's server on this port would answer too: ours keeps its
                    // files in our folder.
                    let dir: Option<(String, String)> = redis::cmd("CONFIG")
                        .arg("GET")
                        .arg("dir")
                        .query(&mut con)
                        .ok();
                    if let Some((_, dir)) = dir {
                        let ours = std::fs::canonicalize(self.dir.path())
                            .unwrap_or_else(|_| self.dir.path().to_owned());
                        if Path::new(&dir) != ours {
                            let _ = child.kill();
                            let _ = child.wait();
                            return Err(format!(
                                "another redis-server answers on port {}",
                                self.port
                            ));
                        }
                        self.child = Some(child);
                        return Ok(());
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!("redis-server did not start on port {}", self.port))
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// SIGKILL: the server dies at once, keeping only what its append-only file holds.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and files (after [`RedisServer::kill`]).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        self.launch();
    }

    /// SHUTDOWN (which saves the append-only file), then start again on the same files.
    pub fn restart(&mut self) {
        if let Ok(client) = redis::Client::open(self.url().as_str()) {
            if let Ok(mut con) = client.get_connection() {
                let _ = redis::cmd("SHUTDOWN").query::<()>(&mut con);
            }
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
        self.launch();
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
