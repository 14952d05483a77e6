//! aws-chunked bodies: decode them as they stream, verifying each chunk's signature, and encode
//! them for clients.
//!
//! Framing (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`):
//!
//! ```text
//! <hex size>;chunk-signature=<sig>\r\n<data>\r\n … 0;chunk-signature=<sig>\r\n\r\n
//! ```
//!
//! The trailer forms end instead with `0[;chunk-signature=<sig>]\r\n`, then trailer lines
//! `name:value\r\n` (with `x-amz-trailer-signature:<sig>\r\n` when signed) and an empty line.
//!
//! The decoder holds at most one header or trailer line; chunk data passes through without
//! being copied or buffered, whatever the chunk size. So a chunk's bytes reach the caller
//! before its signature (which covers the whole chunk) can be checked: a caller must treat any
//! error as invalidating the whole body, as a storage engine that writes to a temporary file
//! and discards it on error does.

use sha2::{Digest, Sha256};

use crate::key::signatures_match;
use crate::payload::EMPTY_SHA256;
use crate::{AmzDate, PayloadMode, Scope, SeedSignature, SigV4Error, SigningKey};

/// The longest chunk-header or trailer line accepted, CRLF included.
pub const MAX_LINE: usize = 4096;
/// The most trailer bytes accepted after the last chunk.
pub const MAX_TRAILER: usize = 16 * 1024;
/// The smallest signed chunk but the last, as S3 requires: each chunk costs an HMAC and a
/// SHA-256 finalisation, so tiny chunks would make a body expensive to check.
pub const MIN_SIGNED_CHUNK: u64 = 8 * 1024;

const TRAILER_SIGNATURE: &str = "x-amz-trailer-signature";

fn malformed(what: impl Into<String>) -> SigV4Error {
    SigV4Error::MalformedChunk(what.into())
}

/// The chain of signatures of a signed aws-chunked body, starting at the request's signature.
#[derive(Debug, Clone)]
struct SignatureChain {
    key: SigningKey,
    scope: Scope,
    date: AmzDate,
    previous: String,
}

impl SignatureChain {
    fn chunk_string_to_sign(&self, data_hash: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{data_hash}",
            self.date, self.scope, self.previous
        )
    }

    fn trailer_string_to_sign(&self, trailer_hash: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{trailer_hash}",
            self.date, self.scope, self.previous
        )
    }

    fn next_chunk(&mut self, data_hash: &str) -> String {
        self.previous = self.key.sign(&self.chunk_string_to_sign(data_hash));
        self.previous.clone()
    }

    fn next_trailer(&mut self, trailer_hash: &str) -> String {
        self.previous = self.key.sign(&self.trailer_string_to_sign(trailer_hash));
        self.previous.clone()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading `<hex size>[;chunk-signature=…]\r\n`.
    Header,
    /// Passing chunk data through; this many bytes remain.
    Data(u64),
    /// Expecting the CRLF after a chunk's data; this many of its two bytes were seen.
    DataEnd { seen: u8, last: bool },
    /// Reading trailer lines up to the empty line.
    Trailer,
    /// The body is complete.
    Done,
}

/// A streaming decoder of aws-chunked bodies.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    chain: Option<SignatureChain>,
    trailer_expected: bool,
    line: Vec<u8>,
    chunk_signature: Option<String>,
    chunk_size: u64,
    chunk_hash: Sha256,
    decoded_len: u64,
    expected_len: Option<u64>,
    trailer_bytes: usize,
    trailers: Vec<(String, String)>,
    expected_trailers: Vec<String>,
    trailer_signature: Option<String>,
    previous_chunk_size: Option<u64>,
}

impl ChunkedDecoder {
    /// A decoder for a body of the given mode. Signed modes need the request's verified seed
    /// signature.
    pub fn new(mode: PayloadMode, seed: Option<&SeedSignature>) -> Result<Self, SigV4Error> {
        if !mode.is_chunked() {
            return Err(malformed(format!(
                "{} is not an aws-chunked mode",
                mode.header_value()
            )));
        }
        let chain = if mode.has_chunk_signatures() {
            let seed = seed
                .ok_or_else(|| malformed("a signed aws-chunked body needs the seed signature"))?;
            Some(SignatureChain {
                key: seed.signing_key.clone(),
                scope: seed.scope.clone(),
                date: seed.date,
                previous: seed.signature.clone(),
            })
        } else {
            None
        };
        Ok(Self {
            state: State::Header,
            chain,
            trailer_expected: mode.has_trailer(),
            line: Vec::new(),
            chunk_signature: None,
            chunk_size: 0,
            chunk_hash: Sha256::new(),
            decoded_len: 0,
            expected_len: None,
            trailer_bytes: 0,
            trailers: Vec::new(),
            expected_trailers: Vec::new(),
            trailer_signature: None,
            previous_chunk_size: None,
        })
    }

    /// Requires the decoded body to be exactly `len` bytes (`x-amz-decoded-content-length`).
    pub fn with_decoded_length(mut self, len: u64) -> Self {
        self.expected_len = Some(len);
        self
    }

    /// Accepts a trailer of this name (as announced by `x-amz-trailer`); any other trailer is
    /// refused, so that nothing unannounced reaches the consumer.
    pub fn expect_trailer(mut self, name: &str) -> Self {
        self.expected_trailers
            .push(name.trim().to_ascii_lowercase());
        self
    }

    /// Whether the final chunk (and trailer) has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Payload bytes decoded so far.
    pub fn decoded_len(&self) -> u64 {
        self.decoded_len
    }

    /// The trailing headers (lowercase names, trimmed values), once [`Self::is_done`].
    pub fn trailers(&self) -> &[(String, String)] {
        &self.trailers
    }

    /// Decodes from `input`: returns how many bytes were consumed and the payload bytes found,
    /// which are a sub-slice of `input` ending at the consumed position. Call again with the
    /// rest; an empty payload slice with nothing consumed means more input is needed.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, &'a [u8]), SigV4Error> {
        let mut pos = 0;
        while pos < input.len() {
            match self.state {
                State::Header | State::Trailer => {
                    let Some(line) = self.take_line(input, &mut pos)? else {
                        break;
                    };
                    if self.state == State::Header {
                        self.on_header(&line)?;
                    } else {
                        self.on_trailer_line(&line)?;
                    }
                }
                State::Data(remaining) => {
                    let available = (input.len() - pos) as u64;
                    let take = remaining.min(available) as usize;
                    let data = &input[pos..pos + take];
                    if self.chain.is_some() {
                        self.chunk_hash.update(data);
                    }
                    pos += take;
                    let remaining = remaining - take as u64;
                    self.state = State::Data(remaining);
                    if remaining == 0 {
                        self.end_chunk_data()?;
                    }
                    if take > 0 {
                        return Ok((pos, data));
                    }
                }
                State::DataEnd { seen, last } => {
                    let expected = if seen == 0 { b'\r' } else { b'\n' };
                    if input[pos] != expected {
                        return Err(malformed("chunk data is not followed by CRLF"));
                    }
                    pos += 1;
                    self.state = match (seen, last) {
                        (0, _) => State::DataEnd { seen: 1, last },
                        (_, false) => State::Header,
                        (_, true) => {
                            self.finish_body()?;
                            State::Done
                        }
                    };
                }
                State::Done => return Err(malformed("bytes after the final chunk")),
            }
        }
        Ok((pos, &[]))
    }

    /// Confirms the body ended at the right place; call when the input ends.
    pub fn finish(&self) -> Result<(), SigV4Error> {
        if self.state == State::Done {
            Ok(())
        } else {
            Err(malformed("the body ended before the final chunk"))
        }
    }

    /// Appends input to the current line; returns the line (without CRLF) once complete.
    fn take_line(&mut self, input: &[u8], pos: &mut usize) -> Result<Option<Vec<u8>>, SigV4Error> {
        let rest = &input[*pos..];
        let newline = rest.iter().position(|&b| b == b'\n');
        let end = newline.map_or(rest.len(), |i| i + 1);
        if self.line.len() + end > MAX_LINE {
            return Err(malformed("a chunk header or trailer line is too long"));
        }
        if self.state == State::Trailer {
            self.trailer_bytes += end;
            if self.trailer_bytes > MAX_TRAILER {
                return Err(malformed("the trailer is too long"));
            }
        }
        self.line.extend_from_slice(&rest[..end]);
        *pos += end;
        if newline.is_none() {
            return Ok(None);
        }
        let mut line = std::mem::take(&mut self.line);
        if line.len() < 2 || line[line.len() - 2] != b'\r' {
            return Err(malformed("a line does not end with CRLF"));
        }
        line.truncate(line.len() - 2);
        Ok(Some(line))
    }

    fn on_header(&mut self, line: &[u8]) -> Result<(), SigV4Error> {
        let line = std::str::from_utf8(line).map_err(|_| malformed("chunk header is not ASCII"))?;
        let (size, extension) = match line.split_once(';') {
            Some((size, ext)) => (size, Some(ext)),
            None => (line, None),
        };
        if size.is_empty() || size.len() > 16 || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed("chunk size is not a hex number"));
        }
        let size = u64::from_str_radix(size, 16)
            .map_err(|_| malformed("chunk size is not a hex number"))?;
        self.chunk_signature = match (self.chain.is_some(), extension) {
            (true, Some(ext)) => {
                let signature = ext
                    .strip_prefix("chunk-signature=")
                    .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
                    .ok_or_else(|| malformed("chunk header has no valid chunk-signature"))?;
                Some(signature.to_ascii_lowercase())
            }
            (true, None) => return Err(malformed("chunk header has no chunk-signature")),
            (false, Some(_)) => {
                return Err(malformed("unexpected chunk extension in an unsigned body"));
            }
            (false, None) => None,
        };
        self.decoded_len = self
            .decoded_len
            .checked_add(size)
            .ok_or_else(|| malformed("chunk sizes overflow"))?;
        if self
            .expected_len
            .is_some_and(|expected| self.decoded_len > expected)
        {
            return Err(malformed(
                "the body is longer than x-amz-decoded-content-length",
            ));
        }
        if self.chain.is_some() && size > 0 {
            if self
                .previous_chunk_size
                .is_some_and(|previous| previous < MIN_SIGNED_CHUNK)
            {
                return Err(malformed(
                    "a signed chunk other than the last is smaller than 8 KiB",
                ));
            }
            self.previous_chunk_size = Some(size);
        }
        self.chunk_size = size;
        self.state = State::Data(size);
        if size == 0 {
            self.end_chunk_data()?;
        }
        Ok(())
    }

    /// Checks the signature of the chunk whose data just ended, and moves past it.
    fn end_chunk_data(&mut self) -> Result<(), SigV4Error> {
        let last = self.chunk_size == 0;
        if let Some(chain) = self.chain.as_mut() {
            let data_hash =
                hex::encode(std::mem::replace(&mut self.chunk_hash, Sha256::new()).finalize());
            let computed = chain.next_chunk(&data_hash);
            let provided = self.chunk_signature.take().unwrap_or_default();
            if !signatures_match(&computed, &provided) {
                return Err(SigV4Error::ChunkSignatureMismatch);
            }
        }
        self.state = if last && self.trailer_expected {
            State::Trailer
        } else {
            State::DataEnd { seen: 0, last }
        };
        Ok(())
    }

    fn on_trailer_line(&mut self, line: &[u8]) -> Result<(), SigV4Error> {
        if line.is_empty() {
            self.verify_trailer()?;
            self.finish_body()?;
            self.state = State::Done;
            return Ok(());
        }
        let line = std::str::from_utf8(line).map_err(|_| malformed("trailer is not UTF-8"))?;
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| malformed("trailer line without `:`"))?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim().to_owned();
        if name == TRAILER_SIGNATURE {
            if self.chain.is_none() || self.trailer_signature.replace(value).is_some() {
                return Err(malformed("unexpected x-amz-trailer-signature"));
            }
        } else if self.trailer_signature.is_some() {
            return Err(malformed("trailer after x-amz-trailer-signature"));
        } else if !self.expected_trailers.contains(&name) {
            return Err(malformed(format!(
                "trailer `{name}` was not announced in x-amz-trailer"
            )));
        } else if self.trailers.iter().any(|(seen, _)| *seen == name) {
            return Err(malformed(format!("trailer `{name}` is repeated")));
        } else {
            self.trailers.push((name, value));
        }
        Ok(())
    }

    fn verify_trailer(&mut self) -> Result<(), SigV4Error> {
        let Some(chain) = self.chain.as_mut() else {
            return Ok(());
        };
        let provided = self
            .trailer_signature
            .take()
            .ok_or_else(|| malformed("missing x-amz-trailer-signature"))?;
        let canonical: String = self
            .trailers
            .iter()
            .map(|(name, value)| format!("{name}:{value}\n"))
            .collect();
        let computed = chain.next_trailer(&hex::encode(Sha256::digest(canonical.as_bytes())));
        if !signatures_match(&computed, &provided.to_ascii_lowercase()) {
            return Err(SigV4Error::ChunkSignatureMismatch);
        }
        Ok(())
    }

    fn finish_body(&self) -> Result<(), SigV4Error> {
        match self.expected_len {
            Some(expected) if expected != self.decoded_len => Err(malformed(
                "the body is shorter than x-amz-decoded-content-length",
            )),
            _ => Ok(()),
        }
    }
}

/// The client side of signed aws-chunked uploads: frames and signs chunks, chained from the
/// request's seed signature.
#[derive(Debug, Clone)]
pub struct ChunkSigner {
    chain: SignatureChain,
}

impl ChunkSigner {
    /// Starts the chain at a request signature made with
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` as its payload hash.
    pub fn new(seed: &crate::Signature) -> Self {
        Self {
            chain: SignatureChain {
                key: seed.signing_key.clone(),
                scope: seed.scope.clone(),
                date: seed.date,
                previous: seed.signature.clone(),
            },
        }
    }

    /// The signature of the next chunk, which holds `data` (empty for the final chunk).
    pub fn sign_chunk(&mut self, data: &[u8]) -> String {
        self.chain.next_chunk(&hex::encode(Sha256::digest(data)))
    }

    /// The next chunk framed: `<hex size>;chunk-signature=<sig>\r\n<data>\r\n`. Pass an empty
    /// `data` for the final chunk of a body without trailers.
    pub fn encode_chunk(&mut self, data: &[u8]) -> Vec<u8> {
        let signature = self.sign_chunk(data);
        let mut out = format!("{:x};chunk-signature={signature}\r\n", data.len()).into_bytes();
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The final chunk followed by `trailers` and their signature, for
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`.
    pub fn encode_final_with_trailers(&mut self, trailers: &[(&str, &str)]) -> Vec<u8> {
        let signature = self.sign_chunk(&[]);
        let mut out = format!("0;chunk-signature={signature}\r\n").into_bytes();
        let mut canonical = String::new();
        for (name, value) in trailers {
            canonical.push_str(&format!("{}:{}\n", name.to_ascii_lowercase(), value.trim()));
            out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
        }
        let trailer_signature = self
            .chain
            .next_trailer(&hex::encode(Sha256::digest(canonical.as_bytes())));
        out.extend_from_slice(
            format!("{TRAILER_SIGNATURE}:{trailer_signature}\r\n\r\n").as_bytes(),
        );
        out
    }
}

/// Frames `data` as an unsigned aws-chunked body with trailers
/// (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`), in chunks of `chunk_size` bytes.
pub fn encode_unsigned_with_trailers(
    data: &[u8],
    chunk_size: usize,
    trailers: &[(&str, &str)],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    for chunk in data.chunks(chunk_size.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    for (name, value) in trailers {
        out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}
