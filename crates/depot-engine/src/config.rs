//! `EngineConfig`: where the engine keeps its metadata and bytes, and how long it waits
//! before calling leftovers garbage.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The data directory of a node that names none (`depot-api`, `depot-admin create-user`).
pub const DEFAULT_DATA_DIR: &str = "./depot-data";

/// A master key that is not 64 hex digits. Its `Display` never shows the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the master key must be 64 hex digits")]
pub struct InvalidMasterKey;

/// The 32 bytes of a master key written as 64 hex digits (surrounding blanks ignored).
pub fn parse_master_key(hex_digits: &str) -> Result<[u8; 32], InvalidMasterKey> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(hex_digits.trim(), &mut key).map_err(|_| InvalidMasterKey)?;
    Ok(key)
}

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

    /// The embedded setup: SQLite at `data_dir/depot.db`, everything else default.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        let database_url = format!("sqlite://{}?mode=rwc", data_dir.join("depot.db").display());
        Self::new(data_dir, database_url)
    }

    /// A node's engine from the settings it was given, the same for every binary: the data
    /// directory ([`DEFAULT_DATA_DIR`] if none) and the database URL (if none, the embedded
    /// SQLite file in the data directory, so one data directory setting moves all local state).
    pub fn for_node(data_dir: Option<PathBuf>, database_url: Option<&str>) -> Self {
        let data_dir = data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        match database_url {
            Some(url) => Self::new(data_dir, url),
            None => Self::embedded(data_dir),
        }
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
    fn a_node_keeps_its_database_in_its_data_directory_unless_told() {
        let config = EngineConfig::for_node(None, None);
        assert_eq!(config.data_dir, PathBuf::from("./depot-data"));
        assert_eq!(
            config.database_url,
            "sqlite://./depot-data/depot.db?mode=rwc"
        );
        let config = EngineConfig::for_node(Some("/var/lib/depot".into()), None);
        assert_eq!(
            config.database_url,
            "sqlite:///var/lib/depot/depot.db?mode=rwc"
        );
        let config = EngineConfig::for_node(
            Some("/var/lib/depot".into()),
            Some("postgres://depot@db/depot"),
        );
        assert_eq!(config.database_url, "postgres://depot@db/depot");
    }

    #[test]
    fn a_master_key_is_64_hex_digits() {
        let key =
            parse_master_key(" 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n")
                .expect("64 digits");
        assert_eq!((key[0], key[1], key[31]), (0x00, 0x11, 0xff));
        let error = parse_master_key("c0ffee").expect_err("short");
        assert!(!error.to_string().contains("c0ffee"));
        assert!(parse_master_key(&"g".repeat(64)).is_err());
    }

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
