//! XML for the S3 wire: a small writer for responses and serde-based readers for the few
//! request bodies S3 defines, each bounded in size before it is parsed.

use serde::de::DeserializeOwned;

use crate::{S3Error, S3ErrorCode};

/// The namespace of every S3 response document.
pub const S3_NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// Appends `text` with the five XML special characters escaped.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are written as character references of
            // XML 1.1 would not parse either; S3 escapes control characters this way.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                out.push_str(&format!("&#x{:X};", c as u32));
            }
            c => out.push(c),
        }
    }
}

/// Builds an S3 response document element by element.
#[derive(Debug)]
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    /// A document whose root element is `root`, in the S3 namespace.
    pub fn new(root: &str) -> Self {
        let mut out = String::with_capacity(1024);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
        out.push_str(root);
        out.push_str(" xmlns=\"");
        out.push_str(S3_NAMESPACE);
        out.push_str("\">");
        Self { out }
    }

    /// Opens a child element.
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// Opens a child element with attributes (values escaped).
    pub fn open_with(&mut self, name: &str, attributes: &[(&str, &str)]) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        for (attribute, value) in attributes {
            self.out.push(' ');
            self.out.push_str(attribute);
            self.out.push_str("=\"");
            escape_into(&mut self.out, value);
            self.out.push('"');
        }
        self.out.push('>');
        self
    }

    /// Writes `<element><ID>id</ID><DisplayName>id</DisplayName></element>`: an owner,
    /// initiator or grantee, whose display name Depot gives as its id.
    pub fn user(&mut self, element: &str, id: &str) -> &mut Self {
        self.open(element)
            .element("ID", id)
            .element("DisplayName", id)
            .close(element)
    }

    /// Closes an element.
    pub fn close(&mut self, name: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// Writes `<name>text</name>`.
    pub fn element(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name);
        escape_into(&mut self.out, text);
        self.close(name)
    }

    /// Writes the element only when there is a value.
    pub fn optional(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.element(name, text);
        }
        self
    }

    /// Closes the root and returns the document.
    pub fn finish(mut self, root: &str) -> String {
        self.close(root);
        self.out
    }
}

/// Parses a request body as `T`. Anything that is not well-formed XML of the expected shape is
/// `MalformedXML`, as S3 answers.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, S3Error> {
    let text = std::str::from_utf8(body).map_err(|_| S3Error::new(S3ErrorCode::MalformedXML))?;
    quick_xml::de::from_str(text).map_err(|_| S3Error::new(S3ErrorCode::MalformedXML))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_escaped_documents() {
        let mut xml = XmlWriter::new("ListAllMyBucketsResult");
        xml.open("Owner")
            .element("ID", "a&b")
            .close("Owner")
            .optional("Nothing", None);
        assert_eq!(
            xml.finish("ListAllMyBucketsResult"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult \
             xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>a&amp;b</ID></Owner>\
             </ListAllMyBucketsResult>"
        );
        let mut out = String::new();
        escape_into(&mut out, "a\u{1}b");
        assert_eq!(out, "a&#x1;b");
    }
}
