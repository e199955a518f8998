//! The object store: inputs, stage outputs and results by key, so a job can move between
//! machines: S3 (any S3-compatible server, path-style) or a local folder, with presigned
//! links and retention.

use crate::error::JobsError;
use std::path::{Path, PathBuf};

pub trait ObjectStore: Send + Sync {
    /// Stores the file at `path` under `key`.
    fn put_file(&self, key: &str, path: &Path) -> Result<(), JobsError>;
    /// Copies the object `key` to `path`; `false` when there is no such object.
    fn get_file(&self, key: &str, path: &Path) -> Result<bool, JobsError>;
    fn exists(&self, key: &str) -> Result<bool, JobsError>;
    /// Removes the object `key` if it is there.
    fn delete(&self, key: &str) -> Result<(), JobsError>;
    /// Keys under `prefix` with their last-modified time.
    fn list(&self, prefix: &str) -> Result<Vec<(String, std::time::SystemTime)>, JobsError>;
    /// A link that lets anyone download `key` until it expires, where the store has such.
    fn link(&self, key: &str, expires_in: std::time::Duration)
        -> Result<Option<String>, JobsError>;
}

/// Objects as files under one folder.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `$SPINBOT_STORE`, else `~/.local/share/spinbot/store`.
    pub fn from_env() -> Self {
        match std::env::var_os("SPINBOT_STORE") {
            Some(dir) if !dir.is_empty() => Self::new(dir),
            _ => Self::new(
                std::env::home_dir()
                    .unwrap_or_else(|| PathBuf::from("."))
                    .join(".local/share/spinbot/store"),
            ),
        }
    }

    /// Keys are relative paths of safe segments; anything else never reaches the disk.
    fn path(&self, key: &str) -> Result<PathBuf, JobsError> {
        let safe = !key.is_empty()
            && key.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            });
        if !safe {
            return Err(JobsError::Store {
                context: format!("bad key {key:?}"),
                source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
            });
        }
        Ok(self.root.join(key))
    }
}

impl ObjectStore for LocalStore {
    fn put_file(&self, key: &str, path: &Path) -> Result<(), JobsError> {
        let dest = self.path(key)?;
        let io = |context: String| move |source| JobsError::Store { context, source };
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io(format!("creating {}", parent.display())))?;
        }
        // Through a temporary name, so a reader never sees half an object.
        let tmp = dest.with_extension(format!("partial-{}", std::process::id()));
        std::fs::copy(path, &tmp).map_err(io(format!("writing {key}")))?;
        std::fs::rename(&tmp, &dest).map_err(io(format!("writing {key}")))?;
        Ok(())
    }

    fn get_file(&self, key: &str, path: &Path) -> Result<bool, JobsError> {
        let src = self.path(key)?;
        if !src.is_file() {
            return Ok(false);
        }
        std::fs::copy(&src, path).map_err(|source| JobsError::Store {
            context: format!("reading {key}"),
            source,
        })?;
        Ok(true)
    }

    fn exists(&self, key: &str) -> Result<bool, JobsError> {
        Ok(self.path(key)?.is_file())
    }

    fn list(&self, prefix: &str) -> Result<Vec<(String, std::time::SystemTime)>, JobsError> {
        let mut out = Vec::new();
        let mut folders = vec![self.root.clone()];
        while let Some(folder) = folders.pop() {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    folders.push(path);
                } else if let (Ok(rel), Ok(modified)) =
                    (path.strip_prefix(&self.root), meta.modified())
                {
                    let key = rel.to_string_lossy().into_owned();
                    if key.starts_with(prefix) && !key.contains(".partial-") {
                        out.push((key, modified));
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn link(
        &self,
        _key: &str,
        _expires_in: std::time::Duration,
    ) -> Result<Option<String>, JobsError> {
        Ok(None)
    }

    fn delete(&self, key: &str) -> Result<(), JobsError> {
        match std::fs::remove_file(self.path(key)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(JobsError::Store {
                context: format!("deleting {key}"),
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_refuses_unsafe_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::new(dir.path().join("store"));
        let src = dir.path().join("a.txt");
        std::fs::write(&src, b"hello").expect("write");
        store.put_file("jobs/abc/inputs/photo", &src).expect("put");
        assert!(store.exists("jobs/abc/inputs/photo").expect("exists"));
        let back = dir.path().join("b.txt");
        assert!(store.get_file("jobs/abc/inputs/photo", &back).expect("get"));
        assert_eq!(std::fs::read(&back).expect("read"), b"hello");
        assert!(!store.get_file("jobs/abc/none", &back).expect("missing"));
        for bad in ["../x", "/etc/passwd", "a//b", "a/../b", "", "a b"] {
            assert!(store.put_file(bad, &src).is_err(), "{bad}");
        }
    }
}

/// Objects in an S3 bucket (path-style, any S3-compatible server).
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    runtime: crate::runtime::BlockingRuntime,
}

/// How to reach an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl S3Config {
    /// `S3_ENDPOINT` and `S3_BUCKET` with `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
    /// (`AWS_REGION` defaults to us-east-1); `None` when the endpoint or bucket is unset.
    pub fn from_env() -> Option<Self> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        Some(Self {
            endpoint: var("S3_ENDPOINT")?,
            bucket: var("S3_BUCKET")?,
            access_key: var("AWS_ACCESS_KEY_ID").unwrap_or_default(),
            secret_key: var("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
            region: var("AWS_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
        })
    }
}

fn s3_error(context: String, e: impl std::fmt::Display) -> JobsError {
    JobsError::Store {
        context,
        source: std::io::Error::other(e.to_string()),
    }
}

impl S3Store {
    pub fn new(config: &S3Config) -> Result<Self, JobsError> {
        let runtime =
            crate::runtime::BlockingRuntime::new().map_err(|e| s3_error("runtime".into(), e))?;
        let credentials = aws_sdk_s3::config::Credentials::new(
            &config.access_key,
            &config.secret_key,
            None,
            None,
            "spinbot",
        );
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(&config.endpoint)
            .region(aws_sdk_s3::config::Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(true)
            .build();
        Ok(Self {
            client: aws_sdk_s3::Client::from_conf(conf),
            bucket: config.bucket.clone(),
            runtime,
        })
    }

    /// A link that lets anyone GET `key` until it expires.
    pub fn presigned_get(
        &self,
        key: &str,
        expires_in: std::time::Duration,
    ) -> Result<String, JobsError> {
        let presigning = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires_in)
            .map_err(|e| s3_error(format!("presigning {key}"), e))?;
        let request = self
            .runtime
            .block_on(
                self.client
                    .get_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .presigned(presigning),
            )
            .map_err(|e| s3_error(format!("presigning {key}"), e))?;
        Ok(request.uri().to_owned())
    }

    fn list_objects(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, std::time::SystemTime)>, JobsError> {
        self.runtime.block_on(async {
            let mut out = Vec::new();
            let mut token = None;
            loop {
                let page = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix)
                    .set_continuation_token(token.take())
                    .send()
                    .await
                    .map_err(|e| {
                        s3_error(
                            format!("listing {prefix}"),
                            aws_sdk_s3::error::DisplayErrorContext(e),
                        )
                    })?;
                for object in page.contents() {
                    if let (Some(key), Some(modified)) = (object.key(), object.last_modified()) {
                        let at = std::time::UNIX_EPOCH
                            + std::time::Duration::from_secs(modified.secs().max(0) as u64);
                        out.push((key.to_owned(), at));
                    }
                }
                match page.next_continuation_token() {
                    Some(t) if page.is_truncated().unwrap_or(false) => token = Some(t.to_owned()),
                    _ => break,
                }
            }
            Ok(out)
        })
    }
}

impl ObjectStore for S3Store {
    fn put_file(&self, key: &str, path: &Path) -> Result<(), JobsError> {
        self.runtime.block_on(async {
            let body = aws_sdk_s3::primitives::ByteStream::from_path(path)
                .await
                .map_err(|e| s3_error(format!("reading {}", path.display()), e))?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    s3_error(
                        format!("writing {key}"),
                        aws_sdk_s3::error::DisplayErrorContext(e),
                    )
                })?;
            Ok(())
        })
    }

    fn get_file(&self, key: &str, path: &Path) -> Result<bool, JobsError> {
        self.runtime.block_on(async {
            let object = match self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(o) => o,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                    return Ok(false)
                }
                Err(e) => {
                    return Err(s3_error(
                        format!("reading {key}"),
                        aws_sdk_s3::error::DisplayErrorContext(e),
                    ))
                }
            };
            let bytes = object
                .body
                .collect()
                .await
                .map_err(|e| s3_error(format!("reading {key}"), e))?
                .into_bytes();
            std::fs::write(path, &bytes).map_err(|source| JobsError::Store {
                context: format!("writing {}", path.display()),
                source,
            })?;
            Ok(true)
        })
    }

    fn exists(&self, key: &str) -> Result<bool, JobsError> {
        self.runtime.block_on(async {
            match self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
                Err(e) => Err(s3_error(
                    format!("checking {key}"),
                    aws_sdk_s3::error::DisplayErrorContext(e),
                )),
            }
        })
    }

    fn list(&self, prefix: &str) -> Result<Vec<(String, std::time::SystemTime)>, JobsError> {
        let mut all = self.list_objects(prefix)?;
        all.sort();
        Ok(all)
    }

    fn link(
        &self,
        key: &str,
        expires_in: std::time::Duration,
    ) -> Result<Option<String>, JobsError> {
        self.presigned_get(key, expires_in).map(Some)
    }

    fn delete(&self, key: &str) -> Result<(), JobsError> {
        self.runtime.block_on(async {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| {
                    s3_error(
                        format!("deleting {key}"),
                        aws_sdk_s3::error::DisplayErrorContext(e),
                    )
                })?;
            Ok(())
        })
    }
}

/// The store the environment names: S3 when `S3_ENDPOINT` and `S3_BUCKET` are set, else the
/// local folder.
pub fn from_env() -> Result<std::sync::Arc<dyn ObjectStore>, JobsError> {
    Ok(match S3Config::from_env() {
        Some(config) => std::sync::Arc::new(S3Store::new(&config)?),
        None => std::sync::Arc::new(LocalStore::from_env()),
    })
}

/// Deletes the objects under `prefix` last modified before `cutoff`; returns their keys.
pub fn expire(
    store: &dyn ObjectStore,
    prefix: &str,
    cutoff: std::time::SystemTime,
) -> Result<Vec<String>, JobsError> {
    let mut removed = Vec::new();
    for (key, modified) in store.list(prefix)? {
        if modified < cutoff {
            store.delete(&key)?;
            removed.push(key);
        }
    }
    removed.sort();
    Ok(removed)
}
