//! Fuzzes the aws-chunked decoder in every mode, fed in pieces of varying size: any input is
//! decoded or refused, never a panic, and never more output than input.
#![no_main]

use depot_sigv4::{
    AmzDate, ChunkedDecoder, PayloadMode, Scope, SeedSignature, SigningKey,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&control, body)) = data.split_first() else { return };
    let mode = match control % 3 {
        0 => PayloadMode::StreamingSigned,
        1 => PayloadMode::StreamingSignedTrailer,
        _ => PayloadMode::StreamingUnsignedTrailer,
    };
    let piece = usize::from(control / 3).max(1);
    let date = AmzDate::parse("20130524T000000Z").expect("fixed date");
    let scope = Scope::new(date, "us-east-1", "s3");
    let seed = SeedSignature {
        signature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9".into(),
        signing_key: SigningKey::derive("secret", &scope),
        scope,
        date,
    };
    let Ok(mut decoder) = ChunkedDecoder::new(mode, Some(&seed)) else { return };
    let mut produced = 0;
    for mut input in body.chunks(piece) {
        while !input.is_empty() {
            match decoder.decode(input) {
                Ok((consumed, out)) => {
                    assert!(consumed > 0 && consumed <= input.len());
                    produced += out.len();
                    input = &input[consumed..];
                }
                Err(_) => return,
            }
        }
    }
    assert!(produced <= body.len());
    let _ = decoder.finish();
});
