//! The `?replication` bucket sub-resource: the S3 `ReplicationConfiguration` document, read and
//! written by hand, and the `x-amz-geo-*` headers that name the remote region.
//!
//! The reference (and AWS) shape, as accepted here:
//!
//! ```xml
//! <ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
//!   <Role>arn:aws:iam::850b4943d62191a5:role/s3-replication-role</Role>
//!   <Rule>
//!     <ID>optional</ID>
//!     <Status>Enabled|Disabled</Status>
//!     <Priority>1</Priority>                      <!-- optional -->
//!     <DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>
//!     <Filter><Prefix /></Filter>                 <!-- or the older rule-level <Prefix> -->
//!     <Destination><Bucket>arn:aws:s3:::target</Bucket></Destination>
//!   </Rule>
//! </ReplicationConfiguration>
//! ```
//!
//! The document is read through quick-xml's event reader into a small element tree rather
//! than through serde, so that each broken rule gets its own [`ReplicationXmlError`] and both
//! prefix forms AWS allows are accepted. Elements this model does not know
//! (`ExistingObjectReplication`, `Destination/StorageClass`, …) are ignored; a tag filter is
//! refused, because ignoring it would replicate more than the owner asked for.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

pub use depot_domain::{
    RemoteEndpoint, ReplicationConfiguration, ReplicationRule, ReplicationSettings,
};
use quick_xml::Reader;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;

/// The namespace of the document, as S3 writes it.
pub const REPLICATION_NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// The most rules one configuration may hold (AWS's limit).
pub const MAX_RULES: usize = 1000;

/// What a destination bucket's ARN starts with; the bucket's name follows.
pub const DESTINATION_ARN_PREFIX: &str = "arn:aws:s3:::";

/// The header naming the remote region's S3 endpoint (request and response).
pub const GEO_ENDPOINT_HEADER: &str = "x-amz-geo-endpoint";

/// The header carrying the access key of the remote region's user (request and response).
pub const GEO_ACCESS_KEY_HEADER: &str = "x-amz-geo-access-key";

/// The header carrying the secret of the remote region's user (request and response).
pub const GEO_ACCESS_SECRET_HEADER: &str = "x-amz-geo-access-secret";

/// Writes `remote` into the `x-amz-geo-*` headers, the secret marked sensitive (kept out of
/// debug output and HTTP/2 header compression); `Err` names a header whose value cannot travel
/// in HTTP.
pub fn insert_remote_headers(
    headers: &mut http::HeaderMap,
    remote: &RemoteEndpoint,
) -> Result<(), &'static str> {
    for (name, value) in [
        (GEO_ENDPOINT_HEADER, &remote.endpoint),
        (GEO_ACCESS_KEY_HEADER, &remote.access_key),
        (GEO_ACCESS_SECRET_HEADER, &remote.secret),
    ] {
        let mut value = http::HeaderValue::from_str(value).map_err(|_| name)?;
        value.set_sensitive(name == GEO_ACCESS_SECRET_HEADER);
        headers.insert(name, value);
    }
    Ok(())
}

/// Elements nest no deeper than this in a valid document (`And/Prefix` is at depth 5); a
/// deeper one is refused before it costs anything.
const MAX_DEPTH: usize = 16;

/// Why a body is not an acceptable replication configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicationXmlError {
    /// Not well-formed XML (or not UTF-8); the text says where.
    #[error("the replication configuration is not well-formed XML: {0}")]
    Malformed(String),
    /// The root element is not `ReplicationConfiguration`.
    #[error("expected a ReplicationConfiguration document, found <{0}>")]
    WrongRoot(String),
    /// A required element is missing.
    #[error("the replication configuration lacks {0}")]
    MissingElement(&'static str),
    /// No `<Rule>` at all.
    #[error("a replication configuration needs at least one rule")]
    NoRules,
    /// More than [`MAX_RULES`] rules.
    #[error("a replication configuration holds at most {max} rules, this one {0}", max = MAX_RULES)]
    TooManyRules(usize),
    /// A `Status` other than `Enabled` or `Disabled`.
    #[error("invalid status {0:?}; expected Enabled or Disabled")]
    InvalidStatus(String),
    /// A `Priority` that is not a non-negative 32-bit integer.
    #[error("invalid rule priority {0:?}")]
    InvalidPriority(String),
    /// A destination that is not `arn:aws:s3:::<bucket>`.
    #[error("invalid destination {0:?}; expected arn:aws:s3:::<bucket>")]
    InvalidDestination(String),
    /// Two rules with the same `ID`.
    #[error("two rules have the ID {0:?}")]
    DuplicateRuleId(String),
    /// A rule gives its prefix both at rule level and in a `Filter`.
    #[error("a rule may give its prefix either in <Filter> or at rule level, not both")]
    ConflictingPrefix,
    /// A feature of the AWS schema this implementation does not support.
    #[error("unsupported replication feature: {0}")]
    Unsupported(&'static str),
}

/// The XML form of a [`ReplicationConfiguration`].
pub trait ReplicationXml: Sized {
    /// Parses and checks a document. Bounding the body's size is the caller's job.
    fn parse(body: &[u8]) -> Result<Self, ReplicationXmlError>;

    /// The document, with the XML declaration and the S3 namespace. An empty prefix is written
    /// `<Prefix></Prefix>` inside `<Filter>`.
    fn to_xml(&self) -> String;
}

impl ReplicationXml for ReplicationConfiguration {
    fn parse(body: &[u8]) -> Result<Self, ReplicationXmlError> {
        let root = parse_tree(body)?;
        if root.name != "ReplicationConfiguration" {
            return Err(ReplicationXmlError::WrongRoot(root.name));
        }
        let role = root
            .child("Role")
            .map(|role| role.text.trim().to_owned())
            .ok_or(ReplicationXmlError::MissingElement("Role"))?;
        let rule_nodes: Vec<&Node> = root.children_named("Rule").collect();
        if rule_nodes.is_empty() {
            return Err(ReplicationXmlError::NoRules);
        }
        if rule_nodes.len() > MAX_RULES {
            return Err(ReplicationXmlError::TooManyRules(rule_nodes.len()));
        }
        let mut ids = HashSet::new();
        let mut rules = Vec::with_capacity(rule_nodes.len());
        for node in rule_nodes {
            let rule = parse_rule(node)?;
            if let Some(id) = &rule.id
                && !ids.insert(id.clone())
            {
                return Err(ReplicationXmlError::DuplicateRuleId(id.clone()));
            }
            rules.push(rule);
        }
        Ok(Self { role, rules })
    }

    fn to_xml(&self) -> String {
        let mut out = String::with_capacity(256 + 256 * self.rules.len());
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str("<ReplicationConfiguration xmlns=\"");
        out.push_str(REPLICATION_NAMESPACE);
        out.push_str("\">");
        element(&mut out, "Role", &self.role);
        for rule in &self.rules {
            out.push_str("<Rule>");
            if let Some(id) = &rule.id {
                element(&mut out, "ID", id);
            }
            element(&mut out, "Status", status(rule.enabled));
            if let Some(priority) = rule.priority {
                element(&mut out, "Priority", &priority.to_string());
            }
            out.push_str("<DeleteMarkerReplication>");
            element(&mut out, "Status", status(rule.delete_marker_replication));
            out.push_str("</DeleteMarkerReplication>");
            out.push_str("<Filter>");
            element(&mut out, "Prefix", &rule.prefix);
            out.push_str("</Filter>");
            out.push_str("<Destination>");
            element(
                &mut out,
                "Bucket",
                &format!("{DESTINATION_ARN_PREFIX}{}", rule.destination_bucket),
            );
            out.push_str("</Destination>");
            out.push_str("</Rule>");
        }
        out.push_str("</ReplicationConfiguration>");
        out
    }
}

fn status(enabled: bool) -> &'static str {
    if enabled { "Enabled" } else { "Disabled" }
}

fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape(text));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn parse_status(node: &Node) -> Result<bool, ReplicationXmlError> {
    match node.text.trim() {
        "Enabled" => Ok(true),
        "Disabled" => Ok(false),
        other => Err(ReplicationXmlError::InvalidStatus(other.to_owned())),
    }
}

fn parse_rule(node: &Node) -> Result<ReplicationRule, ReplicationXmlError> {
    let id = node
        .child("ID")
        .map(|id| id.text.trim().to_owned())
        .filter(|id| !id.is_empty());
    let enabled = parse_status(
        node.child("Status")
            .ok_or(ReplicationXmlError::MissingElement("Rule/Status"))?,
    )?;
    let priority = node
        .child("Priority")
        .map(|p| {
            let text = p.text.trim();
            text.parse::<u32>()
                .map_err(|_| ReplicationXmlError::InvalidPriority(text.to_owned()))
        })
        .transpose()?;
    let delete_marker_replication = match node
        .child("DeleteMarkerReplication")
        .and_then(|d| d.child("Status"))
    {
        Some(status) => parse_status(status)?,
        None => false,
    };
    let prefix = match (node.child("Prefix"), node.child("Filter")) {
        (Some(_), Some(_)) => return Err(ReplicationXmlError::ConflictingPrefix),
        (Some(prefix), None) => prefix.text.clone(),
        (None, Some(filter)) => filter_prefix(filter)?,
        (None, None) => String::new(),
    };
    let destination = node
        .child("Destination")
        .and_then(|d| d.child("Bucket"))
        .ok_or(ReplicationXmlError::MissingElement(
            "Rule/Destination/Bucket",
        ))?;
    let arn = destination.text.trim();
    let destination_bucket = arn
        .strip_prefix(DESTINATION_ARN_PREFIX)
        .filter(|name| !name.is_empty() && !name.contains(['/', ':']))
        .ok_or_else(|| ReplicationXmlError::InvalidDestination(arn.to_owned()))?
        .to_owned();
    Ok(ReplicationRule {
        id,
        enabled,
        priority,
        delete_marker_replication,
        prefix,
        destination_bucket,
    })
}

/// The prefix of a `<Filter>`: `<Prefix>` directly or inside `<And>`; tags are refused.
fn filter_prefix(filter: &Node) -> Result<String, ReplicationXmlError> {
    let holder = match filter.child("And") {
        Some(and) => and,
        None => filter,
    };
    if holder.child("Tag").is_some() || filter.child("Tag").is_some() {
        return Err(ReplicationXmlError::Unsupported("tag filters"));
    }
    Ok(holder
        .child("Prefix")
        .map(|p| p.text.clone())
        .unwrap_or_default())
}

// ---- A minimal element tree ----

/// An element: its local name (namespace prefix dropped), its text (all text and CDATA
/// directly inside it, entities resolved) and its child elements.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn malformed(what: impl fmt::Display) -> ReplicationXmlError {
    ReplicationXmlError::Malformed(what.to_string())
}

/// Reads `body` into a tree, without recursion: open elements live on a stack.
fn parse_tree(body: &[u8]) -> Result<Node, ReplicationXmlError> {
    let text = std::str::from_utf8(body).map_err(|_| malformed("the body is not UTF-8"))?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;

    // Places a finished element under its parent, or makes it the root.
    let finish = |node: Node,
                  stack: &mut Vec<Node>,
                  root: &mut Option<Node>|
     -> Result<(), ReplicationXmlError> {
        match stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None if root.is_none() => *root = Some(node),
            None => return Err(malformed("more than one root element")),
        }
        Ok(())
    };

    loop {
        let event = reader
            .read_event()
            .map_err(|e| malformed(format_args!("{e} at byte {}", reader.error_position())))?;
        match event {
            Event::Start(start) => {
                if root.is_some() && stack.is_empty() {
                    return Err(malformed("more than one root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed("elements nest too deeply"));
                }
                stack.push(Node::named(start.local_name().into_inner()));
            }
            Event::Empty(start) => {
                if root.is_some() && stack.is_empty() {
                    return Err(malformed("more than one root element"));
                }
                finish(
                    Node::named(start.local_name().into_inner()),
                    &mut stack,
                    &mut root,
                )?;
            }
            Event::End(_) => {
                let node = stack.pop().ok_or_else(|| malformed("unexpected end tag"))?;
                finish(node, &mut stack, &mut root)?;
            }
            Event::Text(text) => push_text(&mut stack, text.xml10_content())?,
            Event::CData(data) => push_text(&mut stack, data.xml10_content())?,
            Event::GeneralRef(reference) => {
                let resolved: Cow<'_, str> = match reference.resolve_char_ref() {
                    Ok(Some(c)) => Cow::Owned(c.to_string()),
                    Ok(None) => resolve_predefined_entity(&reference)
                        .map(Cow::Borrowed)
                        .ok_or_else(|| {
                            malformed(format_args!("unknown entity &{};", &*reference))
                        })?,
                    Err(e) => return Err(malformed(e)),
                };
                push_text(&mut stack, resolved)?;
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(malformed("the document ends inside an element"));
    }
    root.ok_or_else(|| malformed("no root element"))
}

fn push_text(stack: &mut [Node], text: Cow<'_, str>) -> Result<(), ReplicationXmlError> {
    match stack.last_mut() {
        Some(node) => node.text.push_str(&text),
        // Whitespace around the root is fine; anything else is not XML.
        None if text.trim().is_empty() => {}
        None => return Err(malformed("text outside the root element")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's sample body (GET and PUT), verbatim apart from indentation.
    const REFERENCE_SAMPLE: &str = r#"<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Role>arn:aws:iam::850b4943d62191a5:role/s3-replication-role</Role>
  <Rule>
    <Status>Enabled</Status>
    <Priority>1</Priority>
    <DeleteMarkerReplication>
      <Status>Disabled</Status>
    </DeleteMarkerReplication>
    <Filter>
      <Prefix />
    </Filter>
    <Destination>
      <Bucket>arn:aws:s3:::AWSDOC-EXAMPLE-BUCKET2</Bucket>
    </Destination>
  </Rule>
</ReplicationConfiguration>"#;

    fn rule(prefix: &str, priority: Option<u32>, destination: &str) -> ReplicationRule {
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
    fn parses_the_reference_sample() {
        let config = ReplicationConfiguration::parse(REFERENCE_SAMPLE.as_bytes())
            .expect("the reference's sample parses");
        assert_eq!(
            config,
            ReplicationConfiguration {
                role: "arn:aws:iam::850b4943d62191a5:role/s3-replication-role".into(),
                rules: vec![rule("", Some(1), "AWSDOC-EXAMPLE-BUCKET2")],
            }
        );
    }

    #[test]
    fn parses_the_sample_with_a_declaration() {
        let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{REFERENCE_SAMPLE}");
        let config = ReplicationConfiguration::parse(body.as_bytes()).expect("parses");
        assert_eq!(config.rules.len(), 1);
    }

    #[test]
    fn round_trips() {
        let config = ReplicationConfiguration {
            role: "arn:aws:iam::850b4943d62191a5:role/s3-replication-role".into(),
            rules: vec![
                ReplicationRule {
                    id: Some("logs & <more>".into()),
                    enabled: false,
                    priority: Some(7),
                    delete_marker_replication: true,
                    prefix: "logs/ a&b".into(),
                    destination_bucket: "backup".into(),
                },
                rule("", None, "everything"),
            ],
        };
        let xml = config.to_xml();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        assert!(xml.contains(
            "<ReplicationConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        ));
        assert!(xml.contains("<Filter><Prefix></Prefix></Filter>"));
        assert!(xml.contains("<Bucket>arn:aws:s3:::backup</Bucket>"));
        assert_eq!(
            ReplicationConfiguration::parse(xml.as_bytes()).expect("own output parses"),
            config
        );
    }

    #[test]
    fn writes_the_reference_shape() {
        let config = ReplicationConfiguration {
            role: "arn:aws:iam::850b4943d62191a5:role/s3-replication-role".into(),
            rules: vec![rule("", Some(1), "target")],
        };
        assert_eq!(
            config.to_xml(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ReplicationConfiguration \
             xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Role>arn:aws:iam::\
             850b4943d62191a5:role/s3-replication-role</Role><Rule><Status>Enabled</Status>\
             <Priority>1</Priority><DeleteMarkerReplication><Status>Disabled</Status>\
             </DeleteMarkerReplication><Filter><Prefix></Prefix></Filter><Destination>\
             <Bucket>arn:aws:s3:::target</Bucket></Destination></Rule>\
             </ReplicationConfiguration>"
        );
    }

    #[test]
    fn accepts_the_rule_level_prefix_and_and_filters() {
        let body = r#"<ReplicationConfiguration><Role>r</Role>
            <Rule><ID>one</ID><Status>Enabled</Status><Prefix>docs/</Prefix>
              <Destination><Bucket>arn:aws:s3:::a</Bucket><StorageClass>STANDARD</StorageClass>
              </Destination></Rule>
            <Rule><ID>two</ID><Status>Disabled</Status>
              <Filter><And><Prefix>img/</Prefix></And></Filter>
              <Destination><Bucket>arn:aws:s3:::b</Bucket></Destination></Rule>
            <Rule><Status>Enabled</Status><Filter/>
              <Destination><Bucket>arn:aws:s3:::c</Bucket></Destination></Rule>
          </ReplicationConfiguration>"#;
        let config = ReplicationConfiguration::parse(body.as_bytes()).expect("parses");
        let prefixes: Vec<&str> = config.rules.iter().map(|r| r.prefix.as_str()).collect();
        assert_eq!(prefixes, ["docs/", "img/", ""]);
        assert_eq!(config.rules[0].id.as_deref(), Some("one"));
        assert!(!config.rules[1].enabled);
        assert_eq!(config.rules[2].destination_bucket, "c");
    }

    #[test]
    fn resolves_entities_and_namespace_prefixes() {
        let body = r#"<s3:ReplicationConfiguration xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">
            <s3:Role>r</s3:Role><s3:Rule><s3:Status>Enabled</s3:Status>
            <s3:Filter><s3:Prefix>a&amp;b&#x2F;<![CDATA[<c>]]></s3:Prefix></s3:Filter>
            <s3:Destination><s3:Bucket>arn:aws:s3:::d</s3:Bucket></s3:Destination>
            </s3:Rule></s3:ReplicationConfiguration>"#;
        let config = ReplicationConfiguration::parse(body.as_bytes()).expect("parses");
        assert_eq!(config.rules[0].prefix, "a&b/<c>");
    }

    #[test]
    fn refuses_what_it_must() {
        let with_rules = |rules: &str| {
            format!("<ReplicationConfiguration><Role>r</Role>{rules}</ReplicationConfiguration>")
        };
        let destination = "<Destination><Bucket>arn:aws:s3:::d</Bucket></Destination>";
        let cases: Vec<(String, ReplicationXmlError)> = vec![
            (
                "not xml at all <".into(),
                ReplicationXmlError::Malformed(String::new()),
            ),
            (
                "<ReplicationConfiguration><Role>r</Role>".into(),
                ReplicationXmlError::Malformed(String::new()),
            ),
            (
                "<Other/>".into(),
                ReplicationXmlError::WrongRoot("Other".into()),
            ),
            (with_rules(""), ReplicationXmlError::NoRules),
            (
                "<ReplicationConfiguration><Rule/></ReplicationConfiguration>".into(),
                ReplicationXmlError::MissingElement("Role"),
            ),
            (
                with_rules(&format!(
                    "<Rule><Status>enabled</Status>{destination}</Rule>"
                )),
                ReplicationXmlError::InvalidStatus("enabled".into()),
            ),
            (
                with_rules(&format!(
                    "<Rule><Status>Enabled</Status><DeleteMarkerReplication><Status>On</Status>\
                     </DeleteMarkerReplication>{destination}</Rule>"
                )),
                ReplicationXmlError::InvalidStatus("On".into()),
            ),
            (
                with_rules(
                    "<Rule><Status>Enabled</Status><Destination><Bucket>backup</Bucket>\
                     </Destination></Rule>",
                ),
                ReplicationXmlError::InvalidDestination("backup".into()),
            ),
            (
                with_rules(
                    "<Rule><Status>Enabled</Status><Destination><Bucket>arn:aws:s3:::</Bucket>\
                     </Destination></Rule>",
                ),
                ReplicationXmlError::InvalidDestination("arn:aws:s3:::".into()),
            ),
            (
                with_rules("<Rule><Status>Enabled</Status></Rule>"),
                ReplicationXmlError::MissingElement("Rule/Destination/Bucket"),
            ),
            (
                with_rules(&format!(
                    "<Rule><Status>Enabled</Status><Priority>-1</Priority>{destination}</Rule>"
                )),
                ReplicationXmlError::InvalidPriority("-1".into()),
            ),
            (
                with_rules(&format!(
                    "<Rule><ID>x</ID><Status>Enabled</Status>{destination}</Rule>\
                     <Rule><ID>x</ID><Status>Enabled</Status>{destination}</Rule>"
                )),
                ReplicationXmlError::DuplicateRuleId("x".into()),
            ),
            (
                with_rules(&format!(
                    "<Rule><Status>Enabled</Status><Prefix>a</Prefix>\
                     <Filter><Prefix>b</Prefix></Filter>{destination}</Rule>"
                )),
                ReplicationXmlError::ConflictingPrefix,
            ),
            (
                with_rules(&format!(
                    "<Rule><Status>Enabled</Status><Filter><Tag><Key>k</Key><Value>v</Value>\
                     </Tag></Filter>{destination}</Rule>"
                )),
                ReplicationXmlError::Unsupported("tag filters"),
            ),
        ];
        for (body, expected) in cases {
            let error = ReplicationConfiguration::parse(body.as_bytes())
                .expect_err(&format!("{body} must be refused"));
            match (&error, &expected) {
                // The reader's wording is its own; only the kind matters.
                (ReplicationXmlError::Malformed(_), ReplicationXmlError::Malformed(_)) => {}
                _ => assert_eq!(error, expected, "for {body}"),
            }
        }
    }

    #[test]
    fn refuses_more_than_a_thousand_rules() {
        let one = "<Rule><Status>Enabled</Status><Destination><Bucket>arn:aws:s3:::d</Bucket>\
                   </Destination></Rule>";
        let body = format!(
            "<ReplicationConfiguration><Role>r</Role>{}</ReplicationConfiguration>",
            one.repeat(MAX_RULES + 1)
        );
        assert_eq!(
            ReplicationConfiguration::parse(body.as_bytes()),
            Err(ReplicationXmlError::TooManyRules(MAX_RULES + 1))
        );
        let body = format!(
            "<ReplicationConfiguration><Role>r</Role>{}</ReplicationConfiguration>",
            one.repeat(MAX_RULES)
        );
        assert!(ReplicationConfiguration::parse(body.as_bytes()).is_ok());
    }

    #[test]
    fn refuses_deep_nesting() {
        let body = format!(
            "<ReplicationConfiguration>{}{}</ReplicationConfiguration>",
            "<a>".repeat(100),
            "</a>".repeat(100)
        );
        assert!(matches!(
            ReplicationConfiguration::parse(body.as_bytes()),
            Err(ReplicationXmlError::Malformed(_))
        ));
    }
}
