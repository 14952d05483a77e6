//! Building the benchmark's S3 requests, signed with SigV4 the way an SDK signs them, so the
//! server does the work a real client causes: parse, look the key up, verify, then serve.
//!
//! The same signed request goes to the ceiling server too: the client's cost per request is
//! then identical on both sides and the comparison is about the servers.

use std::net::SocketAddr;
use std::time::SystemTime;

use bytes::Bytes;
use depot_sigv4::{
    Credentials, EMPTY_SHA256, PayloadMode, SignableBody, SigningParams, UNSIGNED_PAYLOAD,
    sign_headers, uri_encode, uri_encode_path,
};
use http::header::{CONTENT_LENGTH, HOST};
use http::{HeaderMap, HeaderValue, Method, Request};

use crate::Error;
use crate::body::Payload;

/// The header that tells the ceiling server how large a GET response to send. Depot ignores it
/// (it is signed like any other header, so both servers receive byte-identical requests).
pub const SIZE_HEADER: &str = "x-loadgen-size";

/// How a PUT body is covered by the signature (`x-amz-content-sha256`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadSigning {
    /// `UNSIGNED-PAYLOAD`: the server checks the signature of the headers only, as SDKs do over
    /// TLS.
    Unsigned,
    /// The body's SHA-256, computed once per benchmark body: the server must hash every byte it
    /// receives, as SDKs do over plain HTTP.
    Sha256,
}

/// A server under test: where it listens, and whom to sign as.
#[derive(Debug, Clone)]
pub struct Target {
    /// A name for reports (`depot`, `ceiling`).
    pub name: String,
    /// The socket address to connect to.
    pub addr: SocketAddr,
    /// The `Host` header (`127.0.0.1:9000`).
    host: HeaderValue,
    credentials: Credentials,
    region: String,
}

impl Target {
    /// A target at `endpoint` (`http://IP:PORT`, loopback only: a load generator aimed at
    /// another machine by mistake is a denial of service).
    pub fn new(
        name: &str,
        endpoint: &str,
        credentials: Credentials,
        region: &str,
    ) -> Result<Self, Error> {
        let addr = parse_endpoint(endpoint)?;
        let host = HeaderValue::from_str(&addr.to_string())
            .map_err(|_| Error::Invalid(format!("bad endpoint `{endpoint}`")))?;
        Ok(Self {
            name: name.to_owned(),
            addr,
            host,
            credentials,
            region: region.to_owned(),
        })
    }

    /// `call` with `body`, signed at `now`.
    pub fn signed(
        &self,
        call: &Call<'_>,
        body: Payload,
        now: SystemTime,
    ) -> Result<Request<Payload>, Error> {
        let Call {
            method,
            path,
            query,
            payload_hash,
            size,
        } = call;
        let method = method.clone();
        let mut headers = HeaderMap::with_capacity(8);
        // hyper's connection-level client writes the request as given: no Host unless we set
        // one. It must equal the host that is signed.
        headers.insert(HOST, self.host.clone());
        if !body.is_empty() || method == Method::PUT {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        if let Some(size) = size {
            headers.insert(SIZE_HEADER, HeaderValue::from(*size));
        }
        let host = self.host.to_str().unwrap_or_default();
        let mode = PayloadMode::parse(payload_hash)
            .map_err(|e| Error::Request(format!("payload hash: {e}")))?;
        sign_headers(
            method.as_str(),
            path,
            query,
            Some(host),
            &mut headers,
            SignableBody::Mode(mode),
            &SigningParams::s3(&self.credentials, &self.region, now),
        )
        .map_err(|e| Error::Request(e.to_string()))?;
        let uri = if query.is_empty() {
            (*path).to_owned()
        } else {
            format!("{path}?{query}")
        };
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .body(body)
            .map_err(|e| Error::Request(e.to_string()))?;
        *request.headers_mut() = headers;
        Ok(request)
    }
}

/// What to request, apart from the body.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// The method.
    pub method: Method,
    /// The raw (already encoded) path.
    pub path: &'a str,
    /// The raw query, possibly empty.
    pub query: &'a str,
    /// The value of `x-amz-content-sha256`.
    pub payload_hash: &'a str,
    /// The response size the ceiling should answer with, sent as [`SIZE_HEADER`].
    pub size: Option<u64>,
}

/// `http://IP:PORT` (a trailing slash allowed) as a loopback socket address.
pub fn parse_endpoint(endpoint: &str) -> Result<SocketAddr, Error> {
    let rest = endpoint.strip_prefix("http://").ok_or_else(|| {
        Error::Invalid(format!(
            "endpoint `{endpoint}` must be http://IP:PORT (no TLS)"
        ))
    })?;
    let addr: SocketAddr = rest.trim_end_matches('/').parse().map_err(|_| {
        Error::Invalid(format!(
            "endpoint `{endpoint}` must be http://IP:PORT with an IP address"
        ))
    })?;
    if !addr.ip().is_loopback() {
        return Err(Error::Invalid(format!(
            "endpoint `{endpoint}` is not a loopback address; the load generator only runs on \
             this machine"
        )));
    }
    Ok(addr)
}

/// A PUT body and the `x-amz-content-sha256` to sign it with.
#[derive(Debug, Clone)]
pub struct PutBody {
    /// The bytes every PUT of the scenario sends.
    pub bytes: Bytes,
    /// `UNSIGNED-PAYLOAD` or the body's SHA-256 in hex.
    pub payload_hash: String,
}

impl PutBody {
    /// `size` random bytes (incompressible, so nothing on the way can cheat), with the payload
    /// hash `signing` asks for.
    pub fn random(size: usize, signing: PayloadSigning) -> Self {
        let mut buffer = vec![0u8; size];
        rand::Rng::fill(&mut rand::thread_rng(), &mut buffer[..]);
        Self::new(Bytes::from(buffer), signing)
    }

    /// `bytes` with the payload hash `signing` asks for.
    pub fn new(bytes: Bytes, signing: PayloadSigning) -> Self {
        let payload_hash = match signing {
            PayloadSigning::Unsigned => UNSIGNED_PAYLOAD.to_owned(),
            PayloadSigning::Sha256 if bytes.is_empty() => EMPTY_SHA256.to_owned(),
            PayloadSigning::Sha256 => SignableBody::Bytes(&bytes).payload_hash(),
        };
        Self {
            bytes,
            payload_hash,
        }
    }
}

/// The path of `key` in `bucket`, path-style.
pub fn object_path(bucket: &str, key: &str) -> String {
    format!("/{bucket}/{}", uri_encode_path(key))
}

/// A ListObjectsV2 query for one page of `max_keys` after `start_after`.
pub fn list_query(max_keys: u32, start_after: &str) -> String {
    format!(
        "list-type=2&max-keys={max_keys}&start-after={}",
        uri_encode(start_after)
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use depot_sigv4::{Authorization, Verifier};

    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn target() -> Target {
        Target::new(
            "depot",
            "http://127.0.0.1:9000",
            Credentials::new("AKIDEXAMPLE", SECRET),
            "us-east-1",
        )
        .expect("valid target")
    }

    /// Verifies a generated request as Depot's server does: parse, then check the signature.
    fn verify(request: &Request<Payload>, now: SystemTime) -> depot_sigv4::VerifiedRequest {
        let auth = Authorization::from_request(request.uri(), request.headers())
            .expect("has an Authorization header");
        assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
        Verifier::new("s3")
            .verify(
                request.method(),
                request.uri(),
                request.headers(),
                &auth,
                SECRET,
                now,
            )
            .expect("signature verifies")
    }

    #[test]
    fn signed_put_verifies_with_unsigned_payload() {
        let now = SystemTime::now();
        let body = PutBody::random(4096, PayloadSigning::Unsigned);
        let request = target()
            .signed(
                &Call {
                    method: Method::PUT,
                    path: &object_path("bench", "dir/obj 1"),
                    query: "",
                    payload_hash: &body.payload_hash,
                    size: None,
                },
                Payload::full(body.bytes.clone()),
                now,
            )
            .expect("signs");
        assert_eq!(request.uri(), "/bench/dir/obj%201");
        assert_eq!(request.headers()[HOST], "127.0.0.1:9000");
        assert_eq!(request.headers()[CONTENT_LENGTH], "4096");
        assert_eq!(
            request.headers()["x-amz-content-sha256"],
            "UNSIGNED-PAYLOAD"
        );
        let verified = verify(&request, now);
        assert_eq!(verified.payload, PayloadMode::Unsigned);
    }

    #[test]
    fn signed_put_carries_the_precomputed_digest_of_its_body() {
        let now = SystemTime::now();
        let body = PutBody::new(Bytes::from_static(b"hello"), PayloadSigning::Sha256);
        // sha256("hello")
        let digest = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        assert_eq!(body.payload_hash, digest);
        let request = target()
            .signed(
                &Call {
                    method: Method::PUT,
                    path: "/bench/k",
                    query: "",
                    payload_hash: &body.payload_hash,
                    size: None,
                },
                Payload::full(body.bytes),
                now,
            )
            .expect("signs");
        let verified = verify(&request, now);
        let mut expected = [0u8; 32];
        for (i, byte) in expected.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&digest[2 * i..2 * i + 2], 16).expect("hex");
        }
        assert_eq!(verified.payload, PayloadMode::Sha256(expected));
        assert_eq!(
            PutBody::new(Bytes::new(), PayloadSigning::Sha256).payload_hash,
            EMPTY_SHA256
        );
    }

    #[test]
    fn signed_listing_with_start_after_and_size_hint_verifies() {
        let now = SystemTime::now();
        let query = list_query(1000, "obj-0005000/a+b");
        assert_eq!(
            query,
            "list-type=2&max-keys=1000&start-after=obj-0005000%2Fa%2Bb"
        );
        let request = target()
            .signed(
                &Call {
                    method: Method::GET,
                    path: "/bench",
                    query: &query,
                    payload_hash: EMPTY_SHA256,
                    size: Some(250_000),
                },
                Payload::empty(),
                now,
            )
            .expect("signs");
        assert_eq!(request.uri().query(), Some(query.as_str()));
        assert_eq!(request.headers()[SIZE_HEADER], "250000");
        assert!(request.headers().get(CONTENT_LENGTH).is_none());
        // The size header is signed like any other, so a server that checks signatures accepts
        // the request unchanged.
        let auth = request.headers()["authorization"].to_str().expect("ascii");
        assert!(auth.contains(SIZE_HEADER), "{auth}");
        verify(&request, now);
    }

    #[test]
    fn a_stale_signature_is_rejected_so_each_request_signs_afresh() {
        let signed_at = SystemTime::now() - Duration::from_secs(3600);
        let request = target()
            .signed(
                &Call {
                    method: Method::GET,
                    path: "/bench/k",
                    query: "",
                    payload_hash: EMPTY_SHA256,
                    size: None,
                },
                Payload::empty(),
                signed_at,
            )
            .expect("signs");
        let auth = Authorization::from_request(request.uri(), request.headers()).expect("parses");
        let result = Verifier::new("s3").verify(
            request.method(),
            request.uri(),
            request.headers(),
            &auth,
            SECRET,
            SystemTime::now(),
        );
        assert!(result.is_err());
    }

    #[test]
    fn endpoints_must_be_loopback_ip_and_port() {
        assert_eq!(
            parse_endpoint("http://127.0.0.1:9000/")
                .map(|a| a.port())
                .ok(),
            Some(9000)
        );
        assert!(parse_endpoint("http://[::1]:9000").is_ok());
        for bad in [
            "https://127.0.0.1:9000",
            "127.0.0.1:9000",
            "http://localhost:9000",
            "http://10.0.0.1:9000",
            "http://127.0.0.1",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }
}
