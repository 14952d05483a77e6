//! How fast a server verifies signatures and decodes aws-chunked uploads, with plain SHA-256
//! over the same bytes as the ceiling the decoder cannot beat (it must hash every byte).

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use depot_sigv4::{
    Authorization, ChunkSigner, ChunkedDecoder, Credentials, PayloadMode, SignableBody,
    SigningParams, Verifier, sign_request,
};
use sha2::{Digest, Sha256};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn signed_get() -> http::Request<()> {
    let credentials = Credentials::new("AKIDEXAMPLE", SECRET);
    let mut request =
        http::Request::get("http://127.0.0.1:9000/bucket/some/object/key.txt?versionId=3")
            .header("user-agent", "aws-cli/2.15")
            .header("range", "bytes=0-1023")
            .body(())
            .unwrap();
    let params = SigningParams::s3(&credentials, "us-east-1", SystemTime::now());
    sign_request(
        &mut request,
        SignableBody::Mode(PayloadMode::Unsigned),
        &params,
    )
    .unwrap();
    request
}

fn verification(c: &mut Criterion) {
    let request = signed_get();
    let now = SystemTime::now();
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    let verifier = Verifier::new("s3");
    group.bench_function("header, cached signing key", |b| {
        b.iter(|| {
            let auth = Authorization::from_request(request.uri(), request.headers()).unwrap();
            black_box(
                verifier
                    .verify(
                        request.method(),
                        request.uri(),
                        request.headers(),
                        &auth,
                        SECRET,
                        now,
                    )
                    .unwrap(),
            );
        })
    });
    group.bench_function("header, key derived each time", |b| {
        b.iter(|| {
            let verifier = Verifier::new("s3");
            let auth = Authorization::from_request(request.uri(), request.headers()).unwrap();
            black_box(
                verifier
                    .verify(
                        request.method(),
                        request.uri(),
                        request.headers(),
                        &auth,
                        SECRET,
                        now,
                    )
                    .unwrap(),
            );
        })
    });
    group.finish();
}

fn chunked_decode(c: &mut Criterion) {
    const SIZE: usize = 8 << 20;
    const CHUNK: usize = 64 << 10;
    let payload = vec![0x5a_u8; SIZE];
    let credentials = Credentials::new("AKIDEXAMPLE", SECRET);
    let mut request = http::Request::put("http://127.0.0.1:9000/bucket/key")
        .body(())
        .unwrap();
    let now = SystemTime::now();
    let params = SigningParams::s3(&credentials, "us-east-1", now);
    let seed = sign_request(
        &mut request,
        SignableBody::Mode(PayloadMode::StreamingSigned),
        &params,
    )
    .unwrap();
    let mut signer = ChunkSigner::new(&seed);
    let mut body = Vec::with_capacity(SIZE + SIZE / CHUNK * 100);
    for chunk in payload.chunks(CHUNK) {
        body.extend(signer.encode_chunk(chunk));
    }
    body.extend(signer.encode_chunk(&[]));
    let verified = Verifier::new("s3")
        .verify_request(
            request.method(),
            request.uri(),
            request.headers(),
            now,
            |_| Some(SECRET),
        )
        .unwrap();

    let mut group = c.benchmark_group("aws-chunked 8 MiB in 64 KiB chunks");
    group.throughput(Throughput::Bytes(SIZE as u64));
    group.sample_size(20);
    group.bench_function("ceiling: plain SHA-256", |b| {
        b.iter(|| black_box(Sha256::digest(&payload)))
    });
    group.bench_function("decode and verify", |b| {
        b.iter(|| {
            let mut decoder = ChunkedDecoder::new(verified.payload, Some(&verified.seed)).unwrap();
            let mut produced = 0;
            // Socket-sized reads, as a server sees them.
            for mut input in body.chunks(16 << 10) {
                while !input.is_empty() {
                    let (consumed, data) = decoder.decode(input).unwrap();
                    produced += data.len();
                    input = &input[consumed..];
                }
            }
            decoder.finish().unwrap();
            black_box(produced)
        })
    });
    group.finish();
}

criterion_group!(benches, verification, chunked_decode);
criterion_main!(benches);
