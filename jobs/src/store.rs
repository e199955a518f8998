//! The object store: inputs, stage outputs and results by key, so a job can move between
//! machines. A local folder here; S3 arrives with the record.

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
