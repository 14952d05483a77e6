//! Bucket replication as data: which keys of a bucket are copied to which destination bucket,
//! and the remote region that holds it. The S3 `ReplicationConfiguration` document that carries
//! it is read and written in `depot-ostor`; the engine stores it and queues the work.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A bucket's replication configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationConfiguration {
    /// The `Role` ARN (`arn:aws:iam::<user id>:role/s3-replication-role`), kept verbatim.
    pub role: String,
    /// The rules, in document order; at least one.
    pub rules: Vec<ReplicationRule>,
}

/// One `<Rule>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationRule {
    /// The rule's `ID`, if it has one.
    pub id: Option<String>,
    /// `Status`: `Enabled` (true) or `Disabled` (false).
    pub enabled: bool,
    /// `Priority`, if given; among matching rules the highest wins.
    pub priority: Option<u32>,
    /// `DeleteMarkerReplication/Status` is `Enabled`: deletes are replicated too.
    pub delete_marker_replication: bool,
    /// The key prefix the rule covers; empty for every key.
    pub prefix: String,
    /// The destination bucket's bare name (without `arn:aws:s3:::`).
    pub destination_bucket: String,
}

impl ReplicationRule {
    /// Whether the rule covers `key` (ignoring whether it is enabled).
    pub fn matches(&self, key: &str) -> bool {
        key.starts_with(self.prefix.as_str())
    }
}

impl ReplicationConfiguration {
    /// The rule that governs `key`: among the enabled rules whose prefix matches, the one
    /// with the highest priority; a rule without a priority ranks below any with one, and
    /// between equals the first in the document wins.
    pub fn rule_for(&self, key: &str) -> Option<&ReplicationRule> {
        let mut best: Option<&ReplicationRule> = None;
        for rule in self.rules.iter().filter(|r| r.enabled && r.matches(key)) {
            // Strictly greater, so the earlier rule keeps an equal priority.
            if best.is_none_or(|b| rule.priority > b.priority) {
                best = Some(rule);
            }
        }
        best
    }
}

/// Where and as whom a bucket replicates: the remote region's S3 endpoint and the key pair of
/// its user (the `x-amz-geo-*` headers of `?replication`).
///
/// `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteEndpoint {
    /// The remote region's S3 endpoint, `http(s)://host[:port]`.
    pub endpoint: String,
    /// The access key of the remote user.
    pub access_key: String,
    /// The secret of the remote user.
    pub secret: String,
}

impl fmt::Debug for RemoteEndpoint {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RemoteEndpoint")
            .field("endpoint", &self.endpoint)
            .field("access_key", &self.access_key)
            .field("secret", &"****")
            .finish()
    }
}

/// A bucket's replication: the configuration and the remote region, when there is one
/// (without it, the destination bucket is on the same cluster).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationSettings {
    /// The configuration document.
    pub config: ReplicationConfiguration,
    /// The remote region, if any.
    pub remote: Option<RemoteEndpoint>,
}

/// Where an object stands in its replication, as `x-amz-replication-status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplicationStatus {
    /// Queued or being retried.
    Pending,
    /// Copied to the destination.
    Completed,
    /// The destination refused it; retried with back-off until it takes it.
    Failed,
}

impl ReplicationStatus {
    /// The header's value: `PENDING`, `COMPLETED` or `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
        }
    }

    /// The status a header value names, if any.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "PENDING" => Some(Self::Pending),
            "COMPLETED" => Some(Self::Completed),
            "FAILED" => Some(Self::Failed),
            _ => None,
        }
    }
}

impl fmt::Display for ReplicationStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_to(prefix: &str, priority: Option<u32>, destination: &str) -> ReplicationRule {
        ReplicationRule {
            id: None,
            enabled: true,
            priority,
            delete_marker_replication: false,
            prefix: prefix.to_owned(),
            destination_bucket: destination.to_owned(),
        }
    }

    #[test]
    fn rule_for_picks_the_highest_priority_enabled_match() {
        let mut disabled = rule_to("logs/", Some(100), "never");
        disabled.enabled = false;
        let config = ReplicationConfiguration {
            role: String::new(),
            rules: vec![
                rule_to("", None, "catch-all"),
                rule_to("logs/", Some(1), "logs-low"),
                rule_to("logs/", Some(5), "logs-high"),
                rule_to("logs/", Some(5), "logs-high-later"),
                disabled,
                rule_to("img/", None, "images"),
            ],
        };
        let pick = |key: &str| config.rule_for(key).map(|r| r.destination_bucket.as_str());
        assert_eq!(pick("logs/today"), Some("logs-high"));
        assert_eq!(pick("img/cat.png"), Some("catch-all"));
        assert_eq!(pick("other"), Some("catch-all"));

        let config = ReplicationConfiguration {
            role: String::new(),
            rules: vec![rule_to("a/", None, "first"), rule_to("a/", None, "second")],
        };
        assert_eq!(
            config
                .rule_for("a/x")
                .map(|r| r.destination_bucket.as_str()),
            Some("first")
        );
        assert_eq!(config.rule_for("b"), None);
    }

    #[test]
    fn remote_endpoint_debug_hides_the_secret() {
        let remote = RemoteEndpoint {
            endpoint: "https://s3.remote.example".into(),
            access_key: "AKIDEXAMPLE".into(),
            secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        };
        let shown = format!("{remote:?}");
        assert!(!shown.contains("wJalr"));
        assert!(shown.contains("AKIDEXAMPLE"));
    }

    #[test]
    fn statuses_round_trip() {
        for status in [
            ReplicationStatus::Pending,
            ReplicationStatus::Completed,
            ReplicationStatus::Failed,
        ] {
            assert_eq!(ReplicationStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ReplicationStatus::parse("pending"), None);
    }
}
