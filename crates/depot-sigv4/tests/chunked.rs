//! aws-chunked uploads end to end: the example of the S3 documentation ("Signature Calculations
//! for the Authorization Header: Transferring Payload in Multiple Chunks"), trailers, and every
//! way a body can be broken.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use depot_sigv4::{
    AmzDate, Authorization, ChecksumAlgorithm, Checksummer, ChunkSigner, ChunkedDecoder,
    Credentials, PayloadCheck, PayloadMode, SigV4Error, SignableBody, SigningParams, VerifiedBody,
    VerifiedRequest, Verifier, encode_unsigned_with_trailers, sign_request,
};
use http::{HeaderValue, Request};
use http_body_util::{BodyExt, StreamBody};
use proptest::prelude::*;

const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn example_time() -> SystemTime {
    AmzDate::parse("20130524T000000Z").unwrap().to_system_time()
}

/// The documented request: a PUT of 66,560 bytes of `a` in chunks of 64 KiB, 1 KiB and 0.
fn example_request() -> Request<()> {
    Request::builder()
        .method("PUT")
        .uri("https://s3.amazonaws.com/examplebucket/chunkObject.txt")
        .header("host", "s3.amazonaws.com")
        .header("x-amz-storage-class", "REDUCED_REDUNDANCY")
        .header("content-encoding", "aws-chunked")
        .header("x-amz-decoded-content-length", "66560")
        .header("content-length", "66824")
        .body(())
        .unwrap()
}

fn example_payload() -> Vec<u8> {
    vec![b'a'; 65_536 + 1_024]
}

/// Signs the example and returns it with its aws-chunked body.
fn signed_example() -> (Request<()>, Vec<u8>, Vec<String>) {
    let credentials = Credentials::new(ACCESS_KEY, SECRET);
    let mut request = example_request();
    let params = SigningParams::s3(&credentials, "us-east-1", example_time());
    let seed = sign_request(
        &mut request,
        SignableBody::Mode(PayloadMode::StreamingSigned),
        &params,
    )
    .unwrap();
    let mut signer = ChunkSigner::new(&seed);
    let payload = example_payload();
    let mut body = Vec::new();
    let mut signatures = vec![seed.signature.clone()];
    for chunk in [&payload[..65_536], &payload[65_536..], &[][..]] {
        let mut probe = signer.clone();
        signatures.push(probe.sign_chunk(chunk));
        body.extend(signer.encode_chunk(chunk));
    }
    (request, body, signatures)
}

fn verified(request: &Request<()>) -> VerifiedRequest {
    let auth = Authorization::from_request(request.uri(), request.headers()).unwrap();
    Verifier::new("s3")
        .verify(
            request.method(),
            request.uri(),
            request.headers(),
            &auth,
            SECRET,
            example_time(),
        )
        .unwrap()
}

#[test]
fn the_documented_example_signs_and_verifies() {
    let (request, body, signatures) = signed_example();
    assert_eq!(
        signatures,
        [
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
        ]
    );
    assert_eq!(body.len(), 66_824, "the documented Content-Length");
    let verified = verified(&request);
    assert_eq!(verified.access_key_id, ACCESS_KEY);
    assert_eq!(verified.payload, PayloadMode::StreamingSigned);
    let decoded = decode_in_pieces(&verified, &body, 7).unwrap();
    assert_eq!(decoded, example_payload());
}

fn decode_in_pieces(
    verified: &VerifiedRequest,
    body: &[u8],
    piece: usize,
) -> Result<Vec<u8>, SigV4Error> {
    let decoder =
        ChunkedDecoder::new(verified.payload, Some(&verified.seed))?.with_decoded_length(66_560);
    decode_with(decoder, body, piece)
}

fn decode_with(
    mut decoder: ChunkedDecoder,
    body: &[u8],
    piece: usize,
) -> Result<Vec<u8>, SigV4Error> {
    let mut out = Vec::new();
    for mut input in body.chunks(piece.max(1)) {
        while !input.is_empty() {
            let (consumed, data) = decoder.decode(input)?;
            out.extend_from_slice(data);
            input = &input[consumed..];
        }
    }
    decoder.finish()?;
    Ok(out)
}

#[test]
fn every_corruption_of_the_example_is_refused() {
    let (request, body, _) = signed_example();
    let verified = verified(&request);
    // One flipped byte in data, in a header's size or signature, or in framing.
    for position in [
        0usize, 5, 40, 90, 100, 30_000, 65_640, 65_700, 66_700, 66_823,
    ] {
        let mut broken = body.clone();
        broken[position] ^= 0x01;
        let outcome = decode_in_pieces(&verified, &broken, 4096);
        assert!(outcome.is_err(), "corruption at {position} went unnoticed");
    }
    // Truncated anywhere.
    for len in [0, 10, 86, 65_000, 66_700, 66_822] {
        assert!(
            decode_in_pieces(&verified, &body[..len], 1000).is_err(),
            "truncated to {len}"
        );
    }
    // Extra bytes after the end.
    let mut longer = body.clone();
    longer.extend_from_slice(b"0\r\n");
    assert!(decode_in_pieces(&verified, &longer, 1000).is_err());
    // A chunk replayed in place of another keeps its own signature, which no longer chains.
    let header_len = body.iter().position(|&b| b == b'\n').unwrap() + 1;
    let first_chunk = &body[..header_len + 65_536 + 2];
    let mut replayed = first_chunk.to_vec();
    replayed.extend_from_slice(first_chunk);
    let decoder = ChunkedDecoder::new(verified.payload, Some(&verified.seed)).unwrap();
    assert_eq!(
        decode_with(decoder, &replayed, 1000).unwrap_err(),
        SigV4Error::ChunkSignatureMismatch
    );
}

#[test]
fn small_signed_chunks_other_than_the_last_are_refused() {
    let (request, _, _) = signed_example();
    let verified = verified(&request);
    let credentials = Credentials::new(ACCESS_KEY, SECRET);
    let mut request = example_request();
    let seed = sign_request(
        &mut request,
        SignableBody::Mode(PayloadMode::StreamingSigned),
        &SigningParams::s3(&credentials, "us-east-1", example_time()),
    )
    .unwrap();
    let mut signer = ChunkSigner::new(&seed);
    let mut body = Vec::new();
    for chunk in example_payload().chunks(1024) {
        body.extend(signer.encode_chunk(chunk));
    }
    body.extend(signer.encode_chunk(&[]));
    let decoder = ChunkedDecoder::new(verified.payload, Some(&verified.seed)).unwrap();
    assert!(matches!(
        decode_with(decoder, &body, 4096),
        Err(SigV4Error::MalformedChunk(_))
    ));
}

#[test]
fn signed_trailers_are_verified() {
    let credentials = Credentials::new(ACCESS_KEY, SECRET);
    let mut request = example_request();
    request.headers_mut().insert(
        "x-amz-trailer",
        HeaderValue::from_static("x-amz-checksum-crc32c"),
    );
    let params = SigningParams::s3(&credentials, "us-east-1", example_time());
    let seed = sign_request(
        &mut request,
        SignableBody::Mode(PayloadMode::StreamingSignedTrailer),
        &params,
    )
    .unwrap();
    let payload = example_payload();
    let mut checksum = Checksummer::new(ChecksumAlgorithm::Crc32c);
    checksum.update(&payload);
    let crc = checksum.finalize_base64();
    let encode = |trailer_value: &str| {
        let mut signer = ChunkSigner::new(&seed);
        let mut body = signer.encode_chunk(&payload[..65_536]);
        body.extend(signer.encode_chunk(&payload[65_536..]));
        body.extend(signer.encode_final_with_trailers(&[("x-amz-checksum-crc32c", trailer_value)]));
        body
    };
    let verified = verified(&request);
    let decoder = || {
        ChunkedDecoder::new(verified.payload, Some(&verified.seed))
            .unwrap()
            .with_decoded_length(66_560)
            .expect_trailer("x-amz-checksum-crc32c")
    };
    let decoded = decode_with(decoder(), &encode(&crc), 333).unwrap();
    assert_eq!(decoded, payload);

    // A trailer nobody announced is refused, even when signed.
    let mut signer = ChunkSigner::new(&seed);
    let mut body = signer.encode_chunk(&payload[..65_536]);
    body.extend(signer.encode_chunk(&payload[65_536..]));
    body.extend(
        signer.encode_final_with_trailers(&[
            ("x-amz-checksum-crc32c", &crc),
            ("x-amz-meta-evil", "1"),
        ]),
    );
    assert!(matches!(
        decode_with(decoder(), &body, 333),
        Err(SigV4Error::MalformedChunk(_))
    ));

    // The trailer signature covers the trailer: change it after signing and it fails.
    let mut tampered = encode(&crc);
    let at = tampered
        .windows(crc.len())
        .rposition(|w| w == crc.as_bytes())
        .unwrap();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        decode_with(decoder(), &tampered, 333).unwrap_err(),
        SigV4Error::ChunkSignatureMismatch
    );
}

async fn collect(
    body: Vec<u8>,
    piece: usize,
    check: PayloadCheck,
) -> Result<(Vec<u8>, http::HeaderMap), depot_sigv4::BoxError> {
    let frames: Vec<Result<http_body::Frame<Bytes>, std::convert::Infallible>> = body
        .chunks(piece)
        .map(|c| Ok(http_body::Frame::data(Bytes::copy_from_slice(c))))
        .collect();
    let inner = StreamBody::new(futures_util::stream::iter(frames));
    let collected = VerifiedBody::new(inner, check).collect().await?;
    let trailers = collected.trailers().cloned().unwrap_or_default();
    Ok((collected.to_bytes().to_vec(), trailers))
}

#[tokio::test]
async fn verified_body_checks_the_trailing_checksum_of_unsigned_chunked_uploads() {
    let payload = b"hello, depot".repeat(1000);
    let mut crc = Checksummer::new(ChecksumAlgorithm::Crc32);
    crc.update(&payload);
    let good = crc.finalize_base64();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-amz-trailer",
        HeaderValue::from_static("x-amz-checksum-crc32"),
    );
    headers.insert(
        "x-amz-decoded-content-length",
        HeaderValue::from(payload.len()),
    );
    let check = PayloadCheck::unsigned(PayloadMode::StreamingUnsignedTrailer, &headers).unwrap();

    // Only the announced trailer may come, once.
    let body = encode_unsigned_with_trailers(
        &payload,
        4096,
        &[
            ("x-amz-checksum-crc32", &good),
            ("x-amz-checksum-sha256", "AAAA"),
        ],
    );
    assert!(collect(body, 1000, check.clone()).await.is_err());
    let body = encode_unsigned_with_trailers(
        &payload,
        4096,
        &[
            ("x-amz-checksum-crc32", &good),
            ("x-amz-checksum-crc32", &good),
        ],
    );
    assert!(collect(body, 1000, check.clone()).await.is_err());
    let unannounced = PayloadCheck::unsigned(
        PayloadMode::StreamingUnsignedTrailer,
        &http::HeaderMap::new(),
    )
    .unwrap();
    let body = encode_unsigned_with_trailers(&payload, 4096, &[("x-amz-checksum-crc32", &good)]);
    assert!(collect(body, 1000, unannounced).await.is_err());

    let body = encode_unsigned_with_trailers(&payload, 4096, &[("x-amz-checksum-crc32", &good)]);
    let (decoded, trailers) = collect(body, 1000, check.clone()).await.unwrap();
    assert_eq!(decoded, payload);
    assert_eq!(trailers["x-amz-checksum-crc32"], good.as_str());
    assert_eq!(trailers.len(), 1);

    let body =
        encode_unsigned_with_trailers(&payload, 4096, &[("x-amz-checksum-crc32", "AAAAAA==")]);
    let err = collect(body, 1000, check.clone()).await.unwrap_err();
    assert_eq!(
        err.downcast_ref::<SigV4Error>(),
        Some(&SigV4Error::ChecksumMismatch("CRC32"))
    );

    let body = encode_unsigned_with_trailers(&payload, 4096, &[]);
    let err = collect(body, 1000, check).await.unwrap_err();
    assert!(matches!(
        err.downcast_ref::<SigV4Error>(),
        Some(SigV4Error::InvalidChecksum(_))
    ));
}

/// The counter sees the decoded payload, not the chunk framing around it.
#[tokio::test]
async fn verified_body_counts_the_payload_it_yields() {
    let payload = b"counted once".repeat(2000);
    let body = encode_unsigned_with_trailers(&payload, 4096, &[]);
    assert!(body.len() > payload.len());
    let check = PayloadCheck::unsigned(
        PayloadMode::StreamingUnsignedTrailer,
        &http::HeaderMap::new(),
    )
    .unwrap();
    let frames: Vec<Result<http_body::Frame<Bytes>, std::convert::Infallible>> = body
        .chunks(777)
        .map(|c| Ok(http_body::Frame::data(Bytes::copy_from_slice(c))))
        .collect();
    let delivered = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let collected = VerifiedBody::new(StreamBody::new(futures_util::stream::iter(frames)), check)
        .counting_into(delivered.clone())
        .collect()
        .await
        .unwrap();
    assert_eq!(collected.to_bytes().len(), payload.len());
    assert_eq!(
        delivered.load(std::sync::atomic::Ordering::Relaxed),
        payload.len() as u64
    );
}

#[tokio::test]
async fn verified_body_checks_the_declared_sha256_and_header_checksums() {
    let payload = b"streamed, never buffered".repeat(500);
    let credentials = Credentials::new(ACCESS_KEY, SECRET);
    let mut request = Request::builder()
        .method("PUT")
        .uri("http://127.0.0.1:9000/b/k")
        .body(())
        .unwrap();
    let mut sha1 = Checksummer::new(ChecksumAlgorithm::Sha1);
    sha1.update(&payload);
    request.headers_mut().insert(
        "x-amz-checksum-sha1",
        HeaderValue::from_str(&sha1.finalize_base64()).unwrap(),
    );
    let params = SigningParams::s3(&credentials, "us-east-1", SystemTime::now());
    sign_request(&mut request, SignableBody::Bytes(&payload), &params).unwrap();
    let auth = Authorization::from_request(request.uri(), request.headers()).unwrap();
    let verified = Verifier::new("s3")
        .verify(
            request.method(),
            request.uri(),
            request.headers(),
            &auth,
            SECRET,
            SystemTime::now(),
        )
        .unwrap();
    let check = PayloadCheck::new(&verified, request.headers()).unwrap();
    let (decoded, trailers) = collect(payload.clone(), 777, check.clone()).await.unwrap();
    assert_eq!(decoded, payload);
    assert_eq!(
        trailers["x-amz-checksum-sha1"],
        sha1.finalize_base64().as_str()
    );

    let mut other = payload.clone();
    other[100] ^= 1;
    let err = collect(other, 777, check).await.unwrap_err();
    assert_eq!(
        err.downcast_ref::<SigV4Error>(),
        Some(&SigV4Error::PayloadHashMismatch)
    );
}

#[test]
fn verification_failures_are_distinct() {
    let (request, _, _) = signed_example();
    let verifier = Verifier::new("s3");
    let now = example_time();
    let auth = Authorization::from_request(request.uri(), request.headers()).unwrap();
    let check = |verifier: &Verifier, now| {
        verifier
            .verify(
                request.method(),
                request.uri(),
                request.headers(),
                &auth,
                SECRET,
                now,
            )
            .map(|_| ())
    };
    assert_eq!(check(&verifier, now), Ok(()));
    assert_eq!(
        check(&verifier, now + Duration::from_secs(16 * 60)),
        Err(SigV4Error::RequestTimeTooSkewed)
    );
    assert_eq!(
        check(&verifier, now - Duration::from_secs(16 * 60)),
        Err(SigV4Error::RequestTimeTooSkewed)
    );
    assert_eq!(check(&verifier, now + Duration::from_secs(14 * 60)), Ok(()));
    assert!(matches!(
        check(&Verifier::new("s3").with_region("eu-west-1"), now),
        Err(SigV4Error::ScopeMismatch(_))
    ));
    assert!(matches!(
        check(&Verifier::new("iam"), now),
        Err(SigV4Error::ScopeMismatch(_))
    ));

    let lookup = |key: &str| (key == ACCESS_KEY).then_some(SECRET);
    assert!(
        verifier
            .verify_request(
                request.method(),
                request.uri(),
                request.headers(),
                now,
                lookup
            )
            .is_ok()
    );
    assert_eq!(
        verifier
            .verify_request(
                request.method(),
                request.uri(),
                request.headers(),
                now,
                |_| None::<&str>
            )
            .map(|_| ())
            .unwrap_err(),
        SigV4Error::UnknownAccessKey
    );

    let unsigned = Request::builder().uri("/b/k").body(()).unwrap();
    assert_eq!(
        Authorization::from_request(unsigned.uri(), unsigned.headers()),
        Err(SigV4Error::MissingAuthorization)
    );
    let mut headers = request.headers().clone();
    headers.insert(
        "authorization",
        HeaderValue::from_static("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg="),
    );
    assert!(matches!(
        Authorization::from_request(request.uri(), &headers),
        Err(SigV4Error::UnsupportedAlgorithm(_))
    ));
    for malformed in [
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=xyz",
        "AWS4-HMAC-SHA256 Credential=AK, SignedHeaders=host, Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=Host, Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    ] {
        headers.insert("authorization", HeaderValue::from_static(malformed));
        assert!(
            matches!(
                Authorization::from_request(request.uri(), &headers),
                Err(SigV4Error::MalformedAuthorization(_))
            ),
            "{malformed}"
        );
    }
    headers.insert(
        "authorization",
        HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=x-amz-date, Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"),
    );
    assert_eq!(
        Authorization::from_request(request.uri(), &headers),
        Err(SigV4Error::MissingSignedHeader("host".into()))
    );
}

#[test]
fn what_a_signature_does_not_cover_is_refused() {
    let credentials = Credentials::new(ACCESS_KEY, SECRET);
    let now = SystemTime::now();
    let params = SigningParams::s3(&credentials, "us-east-1", now);
    let mut request = Request::builder()
        .method("PUT")
        .uri("/bucket/key")
        .header("host", "bucket.s3.local")
        .header("x-amz-meta-a", "1")
        .body(())
        .unwrap();
    sign_request(
        &mut request,
        SignableBody::Mode(PayloadMode::Unsigned),
        &params,
    )
    .unwrap();
    let verifier = Verifier::new("s3");
    let verify = |uri: &http::Uri, headers: &http::HeaderMap| {
        verifier
            .verify_request(&http::Method::PUT, uri, headers, now, |_| Some(SECRET))
            .map(|v| v.host)
    };
    assert_eq!(
        verify(request.uri(), request.headers()),
        Ok(Some("bucket.s3.local".into()))
    );

    // An x-amz-* header added after signing.
    let mut added = request.headers().clone();
    added.insert("x-amz-acl", HeaderValue::from_static("public-read"));
    assert_eq!(
        verify(request.uri(), &added),
        Err(SigV4Error::UnsignedHeader("x-amz-acl".into()))
    );
    // An unsigned header outside x-amz-* is not part of the contract and passes.
    let mut other = request.headers().clone();
    other.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
    assert!(verify(request.uri(), &other).is_ok());

    // The authority of an absolute URI (or HTTP/2 :authority) must be the signed Host.
    let absolute: http::Uri = "http://other.s3.local/bucket/key".parse().unwrap();
    assert_eq!(
        verify(&absolute, request.headers()),
        Err(SigV4Error::HostMismatch)
    );
    let same: http::Uri = "http://bucket.s3.local:80/bucket/key".parse().unwrap();
    assert!(verify(&same, request.headers()).is_ok());

    // A signed value that is not UTF-8 cannot be verified (lossy decoding would let it change).
    let mut bytes = request.headers().clone();
    bytes.insert("x-amz-meta-a", HeaderValue::from_bytes(b"\xff").unwrap());
    assert!(matches!(
        verify(request.uri(), &bytes),
        Err(SigV4Error::MalformedAuthorization(_))
    ));
}

#[test]
fn presigned_urls_expire_and_are_not_valid_before_their_date() {
    let credentials = Credentials::new(ACCESS_KEY, SECRET);
    let request = Request::builder()
        .uri("http://127.0.0.1:9000/bucket/key?versionId=1")
        .body(())
        .unwrap();
    let params = SigningParams::s3(&credentials, "us-east-1", example_time());
    let (uri, _) = depot_sigv4::presign_request(
        &request,
        SignableBody::Mode(PayloadMode::Unsigned),
        &params,
        Duration::from_secs(3600),
    )
    .unwrap();
    let headers = http::HeaderMap::new();
    let auth = Authorization::from_request(&uri, &headers).unwrap();
    let verify = |now| {
        Verifier::new("s3")
            .verify(&http::Method::GET, &uri, &headers, &auth, SECRET, now)
            .map(|_| ())
    };
    assert_eq!(verify(example_time()), Ok(()));
    assert_eq!(verify(example_time() + Duration::from_secs(3600)), Ok(()));
    assert_eq!(
        verify(example_time() + Duration::from_secs(3601)),
        Err(SigV4Error::Expired)
    );
    assert_eq!(
        verify(example_time() - Duration::from_secs(16 * 60)),
        Err(SigV4Error::NotYetValid)
    );
    // Any change to the query is a different request.
    let changed: http::Uri = uri
        .to_string()
        .replace("versionId=1", "versionId=2")
        .parse()
        .unwrap();
    assert_eq!(
        Verifier::new("s3")
            .verify(
                &http::Method::GET,
                &changed,
                &headers,
                &auth,
                SECRET,
                example_time()
            )
            .map(|_| ()),
        Err(SigV4Error::SignatureMismatch)
    );
    for expires in ["0", "604801", "-1", "soon"] {
        let bad: http::Uri = uri
            .to_string()
            .replace("X-Amz-Expires=3600", &format!("X-Amz-Expires={expires}"))
            .parse()
            .unwrap();
        assert_eq!(
            Authorization::from_request(&bad, &headers),
            Err(SigV4Error::InvalidExpires),
            "{expires}"
        );
    }
    assert!(
        depot_sigv4::presign_request(
            &request,
            SignableBody::Mode(PayloadMode::Unsigned),
            &params,
            Duration::from_secs(604_801)
        )
        .is_err()
    );
}

proptest! {
    /// Any payload, chunked any way and fed in any pieces, decodes to itself.
    #[test]
    fn chunked_round_trip(payload in prop::collection::vec(any::<u8>(), 0..40_000), chunk in 8192usize..12_000, piece in 1usize..3000) {
        let credentials = Credentials::new(ACCESS_KEY, SECRET);
        let mut request = example_request();
        request.headers_mut().remove("x-amz-decoded-content-length");
        let params = SigningParams::s3(&credentials, "us-east-1", example_time());
        let seed = sign_request(&mut request, SignableBody::Mode(PayloadMode::StreamingSigned), &params).unwrap();
        let mut signer = ChunkSigner::new(&seed);
        let mut body = Vec::new();
        for c in payload.chunks(chunk) {
            body.extend(signer.encode_chunk(c));
        }
        body.extend(signer.encode_chunk(&[]));
        let verified = verified(&request);
        let mut decoder = ChunkedDecoder::new(verified.payload, Some(&verified.seed)).unwrap();
        let mut out = Vec::new();
        for mut input in body.chunks(piece) {
            while !input.is_empty() {
                let (consumed, data) = decoder.decode(input).unwrap();
                out.extend_from_slice(data);
                input = &input[consumed..];
            }
        }
        prop_assert!(decoder.finish().is_ok());
        prop_assert_eq!(out, payload);
    }

    /// Arbitrary bytes never panic the decoder, and it never yields more than it was given.
    #[test]
    fn chunked_decoder_survives_garbage(body in prop::collection::vec(any::<u8>(), 0..2000), piece in 1usize..100, signed in any::<bool>()) {
        let (request, _, _) = signed_example();
        let verified = verified(&request);
        let mode = if signed { PayloadMode::StreamingSigned } else { PayloadMode::StreamingUnsignedTrailer };
        let mut decoder = ChunkedDecoder::new(mode, Some(&verified.seed)).unwrap();
        let mut yielded = 0;
        'outer: for mut input in body.chunks(piece) {
            while !input.is_empty() {
                match decoder.decode(input) {
                    Ok((consumed, data)) => {
                        prop_assert!(consumed > 0 && consumed <= input.len());
                        yielded += data.len();
                        input = &input[consumed..];
                    }
                    Err(_) => break 'outer,
                }
            }
        }
        prop_assert!(yielded <= body.len());
    }

    /// Arbitrary Authorization headers and queries are parsed or refused, never a panic.
    #[test]
    fn authorization_parser_survives_garbage(header in "\\PC{0,300}", query in "[ -~]{0,300}") {
        let mut headers = http::HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&header) {
            headers.insert("authorization", value);
        }
        headers.insert("x-amz-date", HeaderValue::from_static("20130524T000000Z"));
        headers.insert("x-amz-content-sha256", HeaderValue::from_static("UNSIGNED-PAYLOAD"));
        let _ = Authorization::from_request(&"/".parse().unwrap(), &headers);
        if let Ok(uri) = format!("/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&{query}").parse::<http::Uri>() {
            let _ = Authorization::from_request(&uri, &http::HeaderMap::new());
        }
    }
}
