//! Shared plumbing for types whose wire form is their validated string form.
//!
//! Every validated newtype in this crate serializes as the string its `Display` prints and
//! deserializes through its `FromStr`, so a value that fails validation can never be
//! deserialized into existence. Writing that by hand a dozen times invites one copy to drift;
//! the macro below keeps them identical.

use rust_decimal::Decimal;

/// Implements `Serialize` (via `Display`) and `Deserialize` (via `FromStr`) for a type.
///
/// The deserializer asks for a string and hands it to `FromStr`, so the type's own validation
/// error becomes the serde error message.
macro_rules! serde_via_string {
    ($type:ty, $expecting:literal) => {
        impl ::serde::Serialize for $type {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $type {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                struct StringFormVisitor;

                impl ::serde::de::Visitor<'_> for StringFormVisitor {
                    type Value = $type;

                    fn expecting(
                        &self,
                        formatter: &mut ::std::fmt::Formatter<'_>,
                    ) -> ::std::fmt::Result {
                        formatter.write_str($expecting)
                    }

                    fn visit_str<E: ::serde::de::Error>(self, value: &str) -> Result<$type, E> {
                        value.parse::<$type>().map_err(E::custom)
                    }
                }

                deserializer.deserialize_str(StringFormVisitor)
            }
        }
    };
}

pub(crate) use serde_via_string;

/// Parses a plain decimal literal: an optional `-`, digits, and optionally `.` and more digits.
///
/// `Decimal::from_str` is more lenient than a money or limit field should be: it accepts `_`
/// separators, a leading `+`, a bare `.5`, and silently rounds digits beyond its precision.
/// Prices and limits come from operators and remote clusters, so anything but the plain form
/// is refused rather than guessed at, and digits that cannot be held exactly are an error.
pub(crate) fn parse_plain_decimal(text: &str) -> Option<Decimal> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !fraction.is_none_or(all_digits) {
        return None;
    }
    Decimal::from_str_exact(text).ok()
}

#[cfg(test)]
mod tests {
    use super::parse_plain_decimal;
    use rust_decimal::Decimal;

    #[test]
    fn accepts_plain_literals() {
        assert_eq!(parse_plain_decimal("12.50"), Some(Decimal::new(1250, 2)));
        assert_eq!(parse_plain_decimal("-0.5"), Some(Decimal::new(-5, 1)));
        assert_eq!(parse_plain_decimal("7"), Some(Decimal::new(7, 0)));
    }

    #[test]
    fn refuses_lenient_forms() {
        for text in [
            "", "-", "+1", ".5", "5.", "1_000", "1e3", " 1", "1 ", "1.2.3", "--1", "NaN",
        ] {
            assert_eq!(
                parse_plain_decimal(text),
                None,
                "{text:?} should be refused"
            );
        }
    }

    #[test]
    fn refuses_digits_beyond_precision() {
        assert_eq!(parse_plain_decimal("0.00000000000000000000000000001"), None);
        assert_eq!(
            parse_plain_decimal("99999999999999999999999999999999"),
            None
        );
    }
}
