//! `EngineConfig`: where the engine keeps its metadata and bytes, and how long it waits
//! before calling leftovers garbage.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How to open an [`Engine`](crate::Engine).
#[derive(Clone)]
pub struct EngineConfig {
    /// The data directory: `blobs/`, `tmp/` and (unless [`EngineConfig::master_key`] is given)
    /// `master.key` live here. Created if missing.
    pub data_dir: PathBuf,
    /// A sea-orm URL: `sqlite://…?mode=rwc`, `sqlite::memory:` or `postgres://…`.
    pub database_url: String,
    /// The key that encrypts secret access keys at rest. `None` loads
    /// `data_dir/master.key`, creating it (32 random bytes, mode 0600) on first start.
    pub master_key: Option<[u8; 32]>,
    /// How old a staging file or an unreferenced blob must be before the sweep removes it.
    /// The grace covers writes in flight: a blob is committed to disk moments before the row
    /// that references it. Default one hour.
    pub orphan_grace: Duration,
    /// How old a multipart upload must be before the sweep aborts it. Default seven days.
    pub abandoned_upload_age: Duration,
}

impl EngineConfig {
    /// The default [`EngineConfig::orphan_grace`].
    pub const DEFAULT_ORPHAN_GRACE: Duration = Duration::from_secs(60 * 60);
    /// The default [`EngineConfig::abandoned_upload_age`].
    pub const DEFAULT_ABANDONED_UPLOAD_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

    /// A configuration with default durations and the master key in the data directory.
    pub fn new(data_dir: impl Into<PathBuf>, database_url: impl Into<String>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: database_url.into(),
            master_key: None,
            orphan_grace: Self::DEFAULT_ORPHAN_GRACE,
            abandoned_upload_age: Self::DEFAULT_ABANDONED_UPLOAD_AGE,
        }
    }

    /// The embedded setup: SQLite at `data_dir/depot.sqlite3`, everything else default.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        let database_url = format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("depot.sqlite3").display()
        );
        Self::new(data_dir, database_url)
    }
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("EngineConfig")
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url_password(&self.database_url))
            .field("master_key", &self.master_key.map(|_| "****"))
            .field("orphan_grace", &self.orphan_grace)
            .field("abandoned_upload_age", &self.abandoned_upload_age)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:****@host/db`, so a `{:?}` of the
/// configuration in a log line does not leak the database password.
pub fn redact_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}{}:****{}",
            &url[..authority_start],
            &userinfo[..colon],
            &url[authority_start + at..]
        ),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url_password("postgres://depot:hunter2@db.internal:5432/depot"),
            "postgres://depot:****@db.internal:5432/depot"
        );
        assert_eq!(
            redact_url_password("postgres://depot@db/depot"),
            "postgres://depot@db/depot"
        );
        assert_eq!(
            redact_url_password("sqlite:///var/lib/depot/depot.sqlite3?mode=rwc"),
            "sqlite:///var/lib/depot/depot.sqlite3?mode=rwc"
        );
        let config = EngineConfig {
            master_key: Some([7; 32]),
            ..EngineConfig::new("/data", "postgres://u:p4ss@h/d")
        };
        let debug = format!("{config:?}");
        assert!(!debug.contains("p4ss") && debug.contains("****"), "{debug}");
        assert!(!debug.contains("[7, 7"), "{debug}");
    }
}
