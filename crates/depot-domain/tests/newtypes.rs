//! Property and table tests of every validated newtype: valid values round-trip through
//! `FromStr`/`Display` and serde, and each broken rule is refused with its own error variant.

use std::fmt::Debug;
use std::str::FromStr;

use depot_domain::{
    AccessKeyId, AccessKeyIdError, AccountName, AccountNameError, BucketName, BucketNameError,
    Currency, CurrencyError, Decimal, Email, EmailError, LocationCode, LocationCodeError,
    ObjectKey, ObjectKeyError, RateLimit, RateLimitError, S3Uid, S3UidError, SecretAccessKey,
    SecretAccessKeyError, StorageType, UserId, UserIdError, UserState,
};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

// ---- Helpers ----

/// `text` parses, prints back as `expected_display`, and survives a serde_json round trip.
fn assert_round_trips<T>(text: &str, expected_display: &str) -> Result<(), TestCaseError>
where
    T: FromStr + ToString + Serialize + DeserializeOwned + PartialEq + Debug,
    T::Err: Debug,
{
    let parsed = text
        .parse::<T>()
        .map_err(|error| TestCaseError::fail(format!("{text:?} refused: {error:?}")))?;
    prop_assert_eq!(parsed.to_string(), expected_display);
    let reparsed = parsed.to_string().parse::<T>().ok();
    prop_assert_eq!(reparsed.as_ref(), Some(&parsed));

    let json = serde_json::to_string(&parsed)
        .map_err(|error| TestCaseError::fail(format!("serialize: {error}")))?;
    prop_assert_eq!(
        &json,
        &serde_json::to_string(expected_display).unwrap_or_default()
    );
    let back: T = serde_json::from_str(&json)
        .map_err(|error| TestCaseError::fail(format!("deserialize {json}: {error}")))?;
    prop_assert_eq!(back, parsed);
    Ok(())
}

/// Every `(input, error)` row is refused by `FromStr` with exactly that error, and refused by
/// serde too.
fn assert_refused<T>(table: &[(&str, T::Err)])
where
    T: FromStr + DeserializeOwned + Debug,
    T::Err: Debug + PartialEq,
{
    for (input, expected) in table {
        let result = input.parse::<T>();
        assert_eq!(
            result.as_ref().err(),
            Some(expected),
            "input {input:?} gave {result:?}"
        );
        let json = serde_json::to_string(input).unwrap_or_default();
        assert!(
            serde_json::from_str::<T>(&json).is_err(),
            "serde accepted invalid {input:?}"
        );
    }
}

// ---- Strategies for valid values ----

fn looks_like_ipv4(name: &str) -> bool {
    let groups: Vec<&str> = name.split('.').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|g| (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit()))
}

fn valid_bucket_name() -> impl Strategy<Value = String> {
    let label = "[a-z0-9]([a-z0-9-]{0,12}[a-z0-9])?";
    prop::collection::vec(label, 1..6)
        .prop_map(|labels| labels.join("."))
        .prop_filter("3 to 63 characters", |name| (3..=63).contains(&name.len()))
        .prop_filter("not an IPv4 address", |name| !looks_like_ipv4(name))
        .prop_filter("no reserved prefix or suffix", |name| {
            !["xn--", "sthree-", "amzn-s3-demo-"]
                .iter()
                .any(|p| name.starts_with(p))
                && !["-s3alias", "--ol-s3", ".mrap", "--x-s3"]
                    .iter()
                    .any(|s| name.ends_with(s))
        })
}

fn valid_object_key() -> impl Strategy<Value = String> {
    prop_oneof![
        // Arbitrary Unicode, including control characters and NUL.
        prop::collection::vec(any::<char>(), 1..300).prop_map(|chars| chars.into_iter().collect()),
        // Path-like keys that must be kept verbatim.
        "(\\.\\./){0,6}[a-z/.]{1,40}",
        // Keys right at the 1024-byte limit.
        "[a-z]{1024}",
    ]
    .prop_filter("1 to 1024 bytes", |key: &String| {
        (1..=1024).contains(&key.len())
    })
}

fn valid_email() -> impl Strategy<Value = (String, String)> {
    (
        "[A-Za-z0-9._%+-]{1,64}",
        prop::collection::vec("[A-Za-z0-9-]{1,20}", 1..4),
        "[A-Za-z]{2,6}",
    )
        .prop_map(|(local, labels, tld)| {
            let domain = format!("{}.{tld}", labels.join("."));
            let written = format!("{local}@{domain}");
            let normalised = format!("{local}@{}", domain.to_lowercase());
            (written, normalised)
        })
        .prop_filter("at most 254 bytes", |(written, _)| written.len() <= 254)
}

fn any_case(text: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), text.len()).prop_map(move |uppers| {
        text.chars()
            .zip(uppers)
            .map(|(c, upper)| {
                if upper {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn bucket_names_round_trip(name in valid_bucket_name()) {
        assert_round_trips::<BucketName>(&name, &name)?;
    }

    #[test]
    fn object_keys_round_trip_verbatim(key in valid_object_key()) {
        assert_round_trips::<ObjectKey>(&key, &key)?;
        let from_bytes = ObjectKey::from_utf8(key.clone().into_bytes());
        prop_assert_eq!(from_bytes.map(ObjectKey::into_string), Ok(key));
    }

    #[test]
    fn emails_round_trip_with_lowercase_domain((written, normalised) in valid_email()) {
        assert_round_trips::<Email>(&written, &normalised)?;
    }

    #[test]
    fn user_ids_round_trip(value in any::<u64>()) {
        let text = format!("{value:016x}");
        assert_round_trips::<UserId>(&text, &text)?;
    }

    #[test]
    fn s3_uids_round_trip(uid in "[A-Za-z0-9]{32}") {
        assert_round_trips::<S3Uid>(&uid, &uid)?;
    }

    #[test]
    fn access_key_ids_round_trip(owner in any::<u64>(), suffix in "[A-Z0-9]{4}") {
        let text = format!("{owner:016x}{suffix}");
        assert_round_trips::<AccessKeyId>(&text, &text)?;
        let parsed: AccessKeyId = text.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(parsed.owner().to_string(), format!("{owner:016x}"));
        prop_assert_eq!(parsed.suffix(), suffix.as_str());
    }

    #[test]
    fn secret_keys_round_trip_through_serde_but_never_print(secret in "[A-Za-z0-9+/]{40}") {
        let parsed: SecretAccessKey =
            secret.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(parsed.expose_secret(), secret.as_str());
        prop_assert_eq!(parsed.to_string(), "****");
        prop_assert_eq!(format!("{parsed:?}"), "SecretAccessKey(****)");

        let json = serde_json::to_string(&parsed).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&json, &format!("\"{secret}\""));
        let back: SecretAccessKey =
            serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, parsed);
    }

    #[test]
    fn currencies_parse_in_any_case(index in 0..3usize, uppers in prop::collection::vec(any::<bool>(), 3)) {
        let currency = Currency::ALL[index];
        let written: String = currency
            .code()
            .chars()
            .zip(uppers)
            .map(|(c, upper)| if upper { c } else { c.to_ascii_lowercase() })
            .collect();
        assert_round_trips::<Currency>(&written, currency.code())?;
    }

    #[test]
    fn location_codes_round_trip_in_uppercase(code in "[A-Za-z0-9]([A-Za-z0-9-]{0,14}[A-Za-z0-9])?") {
        prop_assume!(code.len() >= 2);
        assert_round_trips::<LocationCode>(&code, &code.to_ascii_uppercase())?;
    }

    #[test]
    fn account_names_round_trip(name in "[!-~]{1,64}") {
        assert_round_trips::<AccountName>(&name, &name)?;
    }

    #[test]
    fn rate_limits_round_trip(mantissa in 0..i64::MAX, scale in 0..=6u32) {
        let text = Decimal::new(mantissa, scale).to_string();
        assert_round_trips::<RateLimit>(&text, &text)?;
    }

    #[test]
    fn storage_types_and_states_parse_in_any_case(
        standard in any_case("standard"),
        cold in any_case("cold"),
        disabled in any_case("disabled"),
    ) {
        assert_round_trips::<StorageType>(&standard, "Standard")?;
        assert_round_trips::<StorageType>(&cold, "Cold")?;
        assert_round_trips::<UserState>(&disabled, "disabled")?;
    }

    #[test]
    fn generated_identifiers_are_valid(_run in 0..32u8) {
        let user = UserId::generate();
        prop_assert!(!user.is_nil());
        assert_round_trips::<UserId>(&user.to_string(), &user.to_string())?;
        let uid = S3Uid::generate();
        assert_round_trips::<S3Uid>(uid.as_str(), uid.as_str())?;
        let key = AccessKeyId::generate_for(user);
        prop_assert_eq!(key.owner(), user);
        assert_round_trips::<AccessKeyId>(key.as_str(), key.as_str())?;
        let secret = SecretAccessKey::generate();
        prop_assert_eq!(secret.expose_secret().parse::<SecretAccessKey>().ok(), Some(secret));
    }
}

// ---- Known-invalid inputs ----

#[test]
fn invalid_bucket_names() {
    use BucketNameError::*;
    let long = "a".repeat(64);
    assert_refused::<BucketName>(&[
        ("", TooShort { len: 0 }),
        ("ab", TooShort { len: 2 }),
        (&long, TooLong { len: 64 }),
        ("My-bucket", InvalidCharacter('M')),
        ("my_bucket", InvalidCharacter('_')),
        ("my bucket", InvalidCharacter(' ')),
        ("bücket", InvalidCharacter('ü')),
        ("-bucket", BadStart),
        (".bucket", BadStart),
        ("bucket-", BadEnd),
        ("bucket.", BadEnd),
        ("my..bucket", ConsecutiveDots),
        ("my.-bucket", DotNextToHyphen),
        ("my-.bucket", DotNextToHyphen),
        ("192.168.5.4", LooksLikeIpAddress),
        ("999.0.0.1", LooksLikeIpAddress),
        ("xn--bucket", ReservedPrefix("xn--")),
        ("sthree-bucket", ReservedPrefix("sthree-")),
        ("amzn-s3-demo-bucket", ReservedPrefix("amzn-s3-demo-")),
        ("bucket-s3alias", ReservedSuffix("-s3alias")),
        ("bucket--ol-s3", ReservedSuffix("--ol-s3")),
        ("bucket.mrap", ReservedSuffix(".mrap")),
        ("bucket--x-s3", ReservedSuffix("--x-s3")),
    ]);
}

#[test]
fn invalid_object_keys() {
    let long = "k".repeat(1025);
    assert_refused::<ObjectKey>(&[
        ("", ObjectKeyError::Empty),
        (&long, ObjectKeyError::TooLong { len: 1025 }),
    ]);
    assert_eq!(
        ObjectKey::from_utf8(vec![b'o', b'k', 0xc3]),
        Err(ObjectKeyError::InvalidUtf8 { valid_up_to: 2 })
    );
}

#[test]
fn invalid_emails() {
    use EmailError::*;
    let long_local = format!("{}@example.com", "l".repeat(65));
    let too_long = format!("{}@{}.com", "l".repeat(64), "d".repeat(186));
    assert_refused::<Email>(&[
        (&too_long, TooLong { len: 255 }),
        ("ann lee@example.com", InvalidCharacter(' ')),
        ("ann@example.com\n", InvalidCharacter('\n')),
        ("ann\u{7}@example.com", InvalidCharacter('\u{7}')),
        ("ann.example.com", MissingAt),
        ("", MissingAt),
        ("ann@lee@example.com", MultipleAt),
        ("@example.com", EmptyLocalPart),
        (&long_local, LocalPartTooLong { len: 65 }),
        ("ann@", EmptyDomain),
        ("ann@localhost", DomainWithoutDot),
        ("ann@.example.com", EmptyDomainLabel),
        ("ann@example.com.", EmptyDomainLabel),
        ("ann@example..com", EmptyDomainLabel),
    ]);
}

#[test]
fn invalid_user_ids() {
    use UserIdError::*;
    assert_refused::<UserId>(&[
        ("", WrongLength { len: 0 }),
        ("bf0b3b15eb7c901", WrongLength { len: 15 }),
        ("bf0b3b15eb7c90190", WrongLength { len: 17 }),
        ("BF0B3B15EB7C9019", InvalidCharacter('B')),
        ("bf0b3b15eb7c901g", InvalidCharacter('g')),
        ("+f0b3b15eb7c9019", InvalidCharacter('+')),
        ("bf0b3b15eb7c90é", InvalidCharacter('é')),
    ]);
}

#[test]
fn invalid_s3_uids() {
    use S3UidError::*;
    assert_refused::<S3Uid>(&[
        ("", WrongLength { len: 0 }),
        ("b8815337-test", WrongLength { len: 13 }),
        ("7VT1xrnQbWSIQhoOrAngpLUL5reuFcX", WrongLength { len: 31 }),
        ("7VT1xrnQbWSIQhoOrAngpLUL5reuFcX-", InvalidCharacter('-')),
        ("7VT1xrnQbWSIQhoOrAngpLUL5reuFc_Y", InvalidCharacter('_')),
    ]);
}

#[test]
fn invalid_access_key_ids() {
    use AccessKeyIdError::*;
    assert_refused::<AccessKeyId>(&[
        ("", WrongLength { len: 0 }),
        ("AKIAIOSFODNN7EXAMPL", WrongLength { len: 19 }),
        ("b09693b73b3c7686FIGHX", WrongLength { len: 21 }),
        ("AKIAIOSFODNN7EXAMPLE", InvalidOwnerCharacter('A')),
        ("b09693b73b3c768gFIGH", InvalidOwnerCharacter('g')),
        ("b09693b73b3c7686figh", InvalidSuffixCharacter('f')),
        ("b09693b73b3c7686FIG-", InvalidSuffixCharacter('-')),
    ]);
}

#[test]
fn invalid_secret_keys() {
    use SecretAccessKeyError::*;
    let short = "a".repeat(39);
    let with_equals = format!("{}=", "a".repeat(39));
    let with_dash = format!("ab-{}", "c".repeat(37));
    assert_refused::<SecretAccessKey>(&[
        ("", WrongLength { len: 0 }),
        (&short, WrongLength { len: 39 }),
        (&with_equals, InvalidCharacter { position: 39 }),
        (&with_dash, InvalidCharacter { position: 2 }),
    ]);
}

#[test]
fn invalid_currencies() {
    assert_refused::<Currency>(&[
        ("", CurrencyError::Unknown(String::new())),
        ("GBP", CurrencyError::Unknown("GBP".into())),
        ("EURO", CurrencyError::Unknown("EURO".into())),
        (" EUR", CurrencyError::Unknown(" EUR".into())),
    ]);
}

#[test]
fn invalid_location_codes() {
    use LocationCodeError::*;
    assert_refused::<LocationCode>(&[
        ("", TooShort { len: 0 }),
        ("N", TooShort { len: 1 }),
        ("EU-WEST-1-AMSTERDAM", TooLong { len: 19 }),
        ("EU_WEST", InvalidCharacter('_')),
        ("NL ", InvalidCharacter(' ')),
        ("-NL", HyphenAtEdge),
        ("NL-", HyphenAtEdge),
    ]);
}

#[test]
fn invalid_account_names() {
    use AccountNameError::*;
    let long = "a".repeat(65);
    assert_refused::<AccountName>(&[
        ("", Empty),
        (&long, TooLong { len: 65 }),
        ("two words", InvalidCharacter(' ')),
        ("tab\there", InvalidCharacter('\t')),
    ]);
}

#[test]
fn invalid_rate_limits() {
    use RateLimitError::*;
    assert_refused::<RateLimit>(&[
        ("-0.5", Negative),
        ("", NotADecimal(String::new())),
        ("0,5", NotADecimal("0,5".into())),
        ("1e3", NotADecimal("1e3".into())),
        (".5", NotADecimal(".5".into())),
        ("unlimited", NotADecimal("unlimited".into())),
    ]);
}
