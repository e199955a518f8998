//! The object store: inputs, stage outputs and results by key, so a job can move between
//! machines: S3 (any S3-compatible server, path-style, through aws-sdk-s3) or a local folder,
//! with presigned links and retention. Files stream to and from disk; nothing is read into
//! memory whole.

use crate::error::JobsError;
use spinbot_core::config::S3Settings;
use spinbot_core::Config;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Where objects live.
#[derive(Clone)]
pub enum Store {
    Local(LocalStore),
    S3(S3Store),
}

impl Store {
    /// S3 when the configuration names a bucket, else the local folder.
    pub fn from_config(config: &Config) -> Self {
        match &config.s3 {
            Some(s3) => Self::S3(S3Store::new(s3)),
            None => Self::Local(LocalStore::new(&config.store_dir)),
        }
    }

    /// Stores the file at `path` under `key`.
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<(), JobsError> {
        match self {
            Self::Local(s) => s.put_file(key, path).await,
            Self::S3(s) => s.put_file(key, path).await,
        }
    }

    /// Copies the object `key` to `path`; `false` when there is no such object.
    pub async fn get_file(&self, key: &str, path: &Path) -> Result<bool, JobsError> {
        match self {
            Self::Local(s) => s.get_file(key, path).await,
            Self::S3(s) => s.get_file(key, path).await,
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, JobsError> {
        match self {
            Self::Local(s) => Ok(s.path(key)?.is_file()),
            Self::S3(s) => s.exists(key).await,
        }
    }

    /// Removes the object `key` if it is there.
    pub async fn delete(&self, key: &str) -> Result<(), JobsError> {
        match self {
            Self::Local(s) => s.delete(key).await,
            Self::S3(s) => s.delete(key).await,
        }
    }

    /// Keys under `prefix` with their last-modified time, sorted.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, SystemTime)>, JobsError> {
        let mut all = match self {
            Self::Local(s) => s.list(prefix).await?,
            Self::S3(s) => s.list(prefix).await?,
        };
        all.sort();
        Ok(all)
    }

    /// A link that lets anyone download `key` until it expires, where the store has such.
    pub async fn link(&self, key: &str, expires_in: Duration) -> Result<Option<String>, JobsError> {
        match self {
            Self::Local(_) => Ok(None),
            Self::S3(s) => s.presigned_get(key, expires_in).await.map(Some),
        }
    }
}

/// Deletes the objects under `prefix` last modified before `cutoff`; returns their keys.
pub async fn expire(
    store: &Store,
    prefix: &str,
    cutoff: SystemTime,
) -> Result<Vec<String>, JobsError> {
    let mut removed = Vec::new();
    for (key, modified) in store.list(prefix).await? {
        if modified < cutoff {
            store.delete(&key).await?;
            removed.push(key);
        }
    }
    removed.sort();
    Ok(removed)
}

/// Objects as files under one folder.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> JobsError {
    move |source| JobsError::Store { context, source }
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
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

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), JobsError> {
        let dest = self.path(key)?;
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(io(format!("creating {}", parent.display())))?;
        }
        // Through a temporary name, so a reader never sees half an object.
        let tmp = dest.with_extension(format!("partial-{}", uuid::Uuid::new_v4().simple()));
        tokio::fs::copy(path, &tmp)
            .await
            .map_err(io(format!("writing {key}")))?;
        tokio::fs::rename(&tmp, &dest)
            .await
            .map_err(io(format!("writing {key}")))?;
        Ok(())
    }

    async fn get_file(&self, key: &str, path: &Path) -> Result<bool, JobsError> {
        let src = self.path(key)?;
        match tokio::fs::copy(&src, path).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !src.exists() => Ok(false),
            Err(e) => Err(io(format!("reading {key}"))(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), JobsError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io(format!("deleting {key}"))(e))
            }
            _ => Ok(()),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, SystemTime)>, JobsError> {
        let (root, prefix) = (self.root.clone(), prefix.to_owned());
        tokio::task::spawn_blocking(move || list_folder(&root, &prefix))
            .await
            .map_err(|e| JobsError::store("listing", e))
    }
}

/// Files under `root` whose key starts with `prefix` (a walk of the folder; blocking).
fn list_folder(root: &Path, prefix: &str) -> Vec<(String, SystemTime)> {
    let mut out = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                folders.push(path);
            } else if let (Ok(rel), Ok(modified)) = (path.strip_prefix(root), meta.modified()) {
                let key = rel.to_string_lossy().into_owned();
                if key.starts_with(prefix) && !key.contains(".partial-") {
                    out.push((key, modified));
                }
            }
        }
    }
    out
}

/// Objects in an S3 bucket (path-style, any S3-compatible server).
#[derive(Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

fn s3_error<E>(context: String) -> impl FnOnce(E) -> JobsError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| JobsError::store(context, aws_sdk_s3::error::DisplayErrorContext(e))
}

impl S3Store {
    pub fn new(settings: &S3Settings) -> Self {
        use secrecy::ExposeSecret;
        let credentials = aws_sdk_s3::config::Credentials::new(
            &settings.access_key,
            settings.secret_key.expose_secret(),
            None,
            None,
            "spinbot",
        );
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(&settings.endpoint)
            .region(aws_sdk_s3::config::Region::new(settings.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(true)
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(conf),
            bucket: settings.bucket.clone(),
        }
    }

    /// A link that lets anyone GET `key` until it expires.
    pub async fn presigned_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<String, JobsError> {
        let presigning = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires_in)
            .map_err(|e| JobsError::store(format!("presigning {key}"), e))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning)
            .await
            .map_err(s3_error(format!("presigning {key}")))?;
        Ok(request.uri().to_owned())
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), JobsError> {
        let body = aws_sdk_s3::primitives::ByteStream::from_path(path)
            .await
            .map_err(|e| JobsError::store(format!("reading {}", path.display()), e))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body)
            .send()
            .await
            .map_err(s3_error(format!("writing {key}")))?;
        Ok(())
    }

    async fn get_file(&self, key: &str, path: &Path) -> Result<bool, JobsError> {
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(false),
            Err(e) => return Err(s3_error(format!("reading {key}"))(e)),
        };
        let mut body = object.body.into_async_read();
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(io(format!("writing {}", path.display())))?;
        tokio::io::copy(&mut body, &mut file)
            .await
            .map_err(io(format!("reading {key}")))?;
        // tokio writes in the background: the last bytes are on disk only after a flush.
        tokio::io::AsyncWriteExt::flush(&mut file)
            .await
            .map_err(io(format!("writing {}", path.display())))?;
        Ok(true)
    }

    async fn exists(&self, key: &str) -> Result<bool, JobsError> {
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
            Err(e) => Err(s3_error(format!("checking {key}"))(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), JobsError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(s3_error(format!("deleting {key}")))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, SystemTime)>, JobsError> {
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
                .map_err(s3_error(format!("listing {prefix}")))?;
            for object in page.contents() {
                if let (Some(key), Some(modified)) = (object.key(), object.last_modified()) {
                    let at =
                        std::time::UNIX_EPOCH + Duration::from_secs(modified.secs().max(0) as u64);
                    out.push((key.to_owned(), at));
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated().unwrap_or(false) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stores_and_refuses_unsafe_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::Local(LocalStore::new(dir.path().join("store")));
        let src = dir.path().join("a.txt");
        std::fs::write(&src, b"hello").expect("write");
        store
            .put_file("jobs/abc/inputs/photo", &src)
            .await
            .expect("put");
        assert!(store.exists("jobs/abc/inputs/photo").await.expect("exists"));
        let back = dir.path().join("b.txt");
        assert!(store
            .get_file("jobs/abc/inputs/photo", &back)
            .await
            .expect("get"));
        assert_eq!(std::fs::read(&back).expect("read"), b"hello");
        assert!(!store
            .get_file("jobs/abc/none", &back)
            .await
            .expect("missing"));
        let listed = store.list("jobs/").await.expect("list");
        assert_eq!(listed.len(), 1);
        for bad in ["../x", "/etc/passwd", "a//b", "a/../b", "", "a b"] {
            assert!(store.put_file(bad, &src).await.is_err(), "{bad}");
        }
    }
}
