//! Fuzzes the parsing of SigV4 authorization, in the header and in a presigned query, and the
//! verification that follows: any input is parsed or refused, never a panic.
#![no_main]

use std::time::SystemTime;

use depot_sigv4::{Authorization, Verifier};
use http::{HeaderMap, HeaderValue, Method, Uri};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (header, query) = text.split_once('\n').unwrap_or((&text, ""));
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(header) {
        headers.insert("authorization", value);
    }
    headers.insert("x-amz-date", HeaderValue::from_static("20130524T000000Z"));
    headers.insert("x-amz-content-sha256", HeaderValue::from_static("UNSIGNED-PAYLOAD"));
    let root: Uri = Uri::from_static("/bucket/key");
    let verifier = Verifier::new("s3");
    let now = SystemTime::UNIX_EPOCH;
    if let Ok(auth) = Authorization::from_request(&root, &headers) {
        let _ = verifier.verify(&Method::GET, &root, &headers, &auth, "secret", now);
    }
    if let Ok(uri) = format!("/bucket/key?{query}").parse::<Uri>() {
        let empty = HeaderMap::new();
        if let Ok(auth) = Authorization::from_request(&uri, &empty) {
            let _ = verifier.verify(&Method::GET, &uri, &empty, &auth, "secret", now);
        }
    }
});
