//! Money: checked arithmetic, explicit rounding, the text form and the serde shape.

use depot_domain::{
    BILLING_ROUNDING, Currency, CurrencyError, Decimal, Money, MoneyError, ParseMoneyError,
    PriceList, RoundingStrategy,
};
use proptest::prelude::*;

fn money(text: &str) -> Money {
    text.parse().expect("test literal is valid money")
}

fn eur(amount: Decimal) -> Money {
    Money::new(amount, Currency::Eur)
}

#[test]
fn adds_and_subtracts_exactly() {
    assert_eq!(
        money("0.10 EUR").checked_add(money("0.20 EUR")),
        Ok(money("0.30 EUR"))
    );
    assert_eq!(
        money("10.00 USD").checked_sub(money("12.50 USD")),
        Ok(money("-2.50 USD"))
    );
    assert!(money("-2.50 USD").is_negative());
    assert!(money("0 USD").is_zero());
}

#[test]
fn refuses_mixed_currencies() {
    let mismatch = MoneyError::CurrencyMismatch {
        left: Currency::Eur,
        right: Currency::Rub,
    };
    assert_eq!(money("1 EUR").checked_add(money("1 RUB")), Err(mismatch));
    assert_eq!(money("1 EUR").checked_sub(money("1 RUB")), Err(mismatch));
    assert_eq!(
        Money::sum(Currency::Eur, [money("1 EUR"), money("1 RUB")]),
        Err(mismatch)
    );
}

#[test]
fn refuses_overflow() {
    assert_eq!(
        eur(Decimal::MAX).checked_add(money("1 EUR")),
        Err(MoneyError::Overflow)
    );
    assert_eq!(
        eur(Decimal::MIN).checked_sub(money("1 EUR")),
        Err(MoneyError::Overflow)
    );
    assert_eq!(
        eur(Decimal::MAX).checked_mul(Decimal::TWO),
        Err(MoneyError::Overflow)
    );
}

#[test]
fn multiplies_by_quantities_without_rounding() {
    let per_gb = money("0.005 EUR");
    assert_eq!(
        per_gb.checked_mul(Decimal::new(1234, 1)),
        Ok(money("0.617 EUR"))
    );
    assert_eq!(
        money("49.99 EUR").checked_mul(Decimal::new(5, 1)),
        Ok(money("24.995 EUR"))
    );
}

#[test]
fn rounds_only_with_an_explicit_strategy() {
    let cases = [
        // (amount, banker's, billing)
        ("2.345 EUR", "2.34 EUR", "2.35 EUR"),
        ("2.355 EUR", "2.36 EUR", "2.36 EUR"),
        ("-2.345 EUR", "-2.34 EUR", "-2.35 EUR"),
        ("2.3449 EUR", "2.34 EUR", "2.34 EUR"),
        ("2.3 EUR", "2.30 EUR", "2.30 EUR"),
    ];
    for (amount, bankers, billing) in cases {
        let amount = money(amount);
        assert_eq!(
            amount
                .round_to_minor_units(RoundingStrategy::MidpointNearestEven)
                .to_string(),
            bankers
        );
        assert_eq!(amount.round_for_billing().to_string(), billing);
        assert_eq!(
            amount.round_to_minor_units(BILLING_ROUNDING),
            amount.round_for_billing()
        );
    }
    assert_eq!(
        money("0.001 RUB").round_to_minor_units(RoundingStrategy::AwayFromZero),
        money("0.01 RUB")
    );
}

#[test]
fn display_and_parse() {
    assert_eq!(money("12.5 EUR").to_string(), "12.50 EUR");
    assert_eq!(money("4500 rub").to_string(), "4500.00 RUB");
    assert_eq!(money("0.005 usd").to_string(), "0.005 USD");
    assert_eq!(money("12.5 EUR"), money("12.50 EUR"));
}

#[test]
fn parse_errors_are_precise() {
    let table = [
        ("12.50", ParseMoneyError::MissingCurrency),
        ("", ParseMoneyError::MissingCurrency),
        ("12.50EUR", ParseMoneyError::MissingCurrency),
        (
            "twelve EUR",
            ParseMoneyError::InvalidAmount("twelve".into()),
        ),
        ("1e3 EUR", ParseMoneyError::InvalidAmount("1e3".into())),
        ("+5 EUR", ParseMoneyError::InvalidAmount("+5".into())),
        ("1_000 EUR", ParseMoneyError::InvalidAmount("1_000".into())),
        (" 5 EUR", ParseMoneyError::InvalidAmount(String::new())),
        (
            "5 GBP",
            ParseMoneyError::Currency(CurrencyError::Unknown("GBP".into())),
        ),
        (
            "5  EUR",
            ParseMoneyError::Currency(CurrencyError::Unknown(" EUR".into())),
        ),
    ];
    for (input, expected) in table {
        assert_eq!(input.parse::<Money>(), Err(expected), "input {input:?}");
    }
}

#[test]
fn serde_shape_is_a_struct_with_a_string_amount() {
    let json = serde_json::to_string(&money("12.50 EUR")).expect("money serializes");
    assert_eq!(json, r#"{"amount":"12.50","currency":"EUR"}"#);
    let back: Money = serde_json::from_str(&json).expect("money deserializes");
    assert_eq!(back, money("12.50 EUR"));
    assert_eq!(back.amount().scale(), 2);
}

#[test]
fn serde_refuses_numbers_and_bad_amounts() {
    for json in [
        r#"{"amount":12.5,"currency":"EUR"}"#,
        r#"{"amount":"12,5","currency":"EUR"}"#,
        r#"{"amount":"12.5","currency":"GBP"}"#,
        r#"{"amount":"12.5"}"#,
        r#"{"amount":"12.5","currency":"EUR","rate":"1"}"#,
    ] {
        assert!(
            serde_json::from_str::<Money>(json).is_err(),
            "accepted {json}"
        );
    }
}

#[test]
fn price_list_keeps_one_price_per_currency() {
    let mut list: PriceList = [money("49.99 EUR"), money("4500 RUB"), money("54.99 USD")]
        .into_iter()
        .collect();
    assert_eq!(list.len(), 3);
    assert_eq!(list.set(money("45 EUR")), Some(money("49.99 EUR")));
    assert_eq!(list.get(Currency::Eur), Some(money("45 EUR")));
    assert_eq!(list.remove(Currency::Usd), Some(money("54.99 USD")));
    assert_eq!(
        list.currencies().collect::<Vec<_>>(),
        [Currency::Rub, Currency::Eur]
    );

    let json = serde_json::to_string(&list).expect("price list serializes");
    assert_eq!(json, r#"{"RUB":"4500","EUR":"45"}"#);
    assert_eq!(serde_json::from_str::<PriceList>(&json).ok(), Some(list));
    assert!(serde_json::from_str::<PriceList>(r#"{"EUR":0.02}"#).is_err());
    assert!(serde_json::from_str::<PriceList>(r#"{"GBP":"1"}"#).is_err());
}

/// Any amount `Decimal` can hold in an `i64` mantissa, for text and serde round trips.
fn any_money() -> impl Strategy<Value = Money> {
    (any::<i64>(), 0..=12u32, 0..3usize).prop_map(|(mantissa, scale, currency)| {
        Money::new(Decimal::new(mantissa, scale), Currency::ALL[currency])
    })
}

/// Amounts below 10^18 with up to six decimals: every realistic price or total, and
/// small enough that sums stay within `Decimal`'s 28 significant digits, hence exact.
fn realistic_money() -> impl Strategy<Value = Money> {
    (
        -1_000_000_000_000_000_000i64..=1_000_000_000_000_000_000,
        0..=6u32,
        0..3usize,
    )
        .prop_map(|(mantissa, scale, currency)| {
            Money::new(Decimal::new(mantissa, scale), Currency::ALL[currency])
        })
}

proptest! {
    #[test]
    fn text_and_serde_round_trip(amount in any_money()) {
        prop_assert_eq!(amount.to_string().parse::<Money>(), Ok(amount));
        let json = serde_json::to_string(&amount).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Money = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, amount);
        prop_assert_eq!(back.amount().scale(), amount.amount().scale());
    }

    #[test]
    fn addition_then_subtraction_is_identity(a in realistic_money(), b in realistic_money()) {
        let b = Money::new(b.amount(), a.currency());
        let sum = a.checked_add(b).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(sum.checked_sub(b), Ok(a));
    }

    #[test]
    fn rounding_lands_on_minor_units_within_half_a_unit(amount in any_money()) {
        let rounded = amount.round_for_billing();
        prop_assert!(rounded.amount().scale() <= 2);
        let half_unit = Decimal::new(5, 3);
        prop_assert!((rounded.amount() - amount.amount()).abs() <= half_unit);
        prop_assert_eq!(rounded.round_for_billing(), rounded);
    }
}
