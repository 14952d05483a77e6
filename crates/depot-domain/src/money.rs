//! Money: exact decimal amounts tagged with a currency, and per-currency price lists.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::string_form::{parse_plain_decimal, serde_via_string};

/// A currency Depot bills in, named by its ISO 4217 code.
///
/// Parsing is case-insensitive (`"eur"`, `"EUR"`); display and serde use the uppercase code.
///
/// ```
/// use depot_domain::Currency;
///
/// assert_eq!("rub".parse::<Currency>(), Ok(Currency::Rub));
/// assert_eq!(Currency::Eur.to_string(), "EUR");
/// assert_eq!(Currency::Usd.minor_units(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Currency {
    /// Russian rouble, `RUB`.
    Rub,
    /// Euro, `EUR`.
    Eur,
    /// US dollar, `USD`.
    Usd,
}

/// Why a string is not a known [`Currency`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    /// Not the ISO 4217 code of a currency Depot supports.
    #[error("unknown currency {0:?}; expected one of RUB, EUR, USD")]
    Unknown(String),
}

impl Currency {
    /// Every supported currency, in a fixed order.
    pub const ALL: [Currency; 3] = [Currency::Rub, Currency::Eur, Currency::Usd];

    /// The ISO 4217 alphabetic code, in uppercase.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Rub => "RUB",
            Currency::Eur => "EUR",
            Currency::Usd => "USD",
        }
    }

    /// The number of decimal places of the currency's minor unit (ISO 4217 "E").
    ///
    /// Kopeks and cents: 2 for all three supported currencies. Kept per currency so that
    /// adding one with another exponent (JPY: 0) is a one-line change.
    pub fn minor_units(self) -> u32 {
        match self {
            Currency::Rub | Currency::Eur | Currency::Usd => 2,
        }
    }
}

impl FromStr for Currency {
    type Err = CurrencyError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Currency::ALL
            .into_iter()
            .find(|currency| currency.code().eq_ignore_ascii_case(code))
            .ok_or_else(|| CurrencyError::Unknown(code.to_owned()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.code())
    }
}

serde_via_string!(Currency, "an ISO 4217 currency code (RUB, EUR or USD)");

/// The rounding billing uses: half a minor unit rounds away from zero (12.345 → 12.35).
///
/// This is the "commercial" rounding customers and accountants expect on an invoice, rather
/// than banker's rounding (12.345 → 12.34), which is unbiased over many sums but surprises
/// anyone checking a single line by hand.
pub const BILLING_ROUNDING: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// An exact amount of money in one currency.
///
/// The amount is a [`Decimal`], never a float, so `0.1 + 0.2` is `0.3`. Amounts keep every
/// digit until rounded explicitly with [`Money::round_to_minor_units`] or
/// [`Money::round_for_billing`]: per-GB prices such as `0.005 EUR` and intermediate products
/// must not be rounded early.
///
/// Arithmetic is checked: adding or subtracting amounts in different currencies is a
/// [`MoneyError::CurrencyMismatch`], and overflow is a [`MoneyError::Overflow`], never a panic.
/// A `Decimal` holds 28 significant digits; a result needing more is rounded to 28 digits,
/// as `Decimal` itself does. Any amount below 10^26 therefore keeps every digit down to far
/// below its minor unit, so sums and invoice lines are exact to the cent.
///
/// The text form is `<amount> <CODE>`, such as `12.50 EUR`; amounts with fewer decimals than
/// the currency's minor unit are padded (`12.5` prints as `12.50`) and extra decimals are
/// printed, not hidden. Serde uses a struct with the amount as a string, so no JSON number —
/// and no float — is ever involved: `{"amount": "12.50", "currency": "EUR"}`.
///
/// Two amounts are equal when their values are equal: `12.5 EUR == 12.50 EUR`.
///
/// ```
/// use depot_domain::{Currency, Decimal, Money, MoneyError};
///
/// let price: Money = "0.005 EUR".parse()?;
/// let gigabytes = Decimal::from(1001);
/// let charge = price.checked_mul(gigabytes)?;       // 5.005 EUR
/// assert_eq!(charge.round_for_billing().to_string(), "5.01 EUR");
///
/// let total = charge.checked_add("10 EUR".parse()?)?;
/// assert_eq!(total.to_string(), "15.005 EUR");
///
/// let roubles = Money::new(Decimal::from(450), Currency::Rub);
/// assert!(matches!(total.checked_add(roubles), Err(MoneyError::CurrencyMismatch { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

/// Why an arithmetic operation on [`Money`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The operands are in different currencies; converting would need an exchange rate.
    #[error("cannot combine {left} with {right}: the currencies differ")]
    CurrencyMismatch {
        /// The currency of the left-hand operand.
        left: Currency,
        /// The currency of the right-hand operand.
        right: Currency,
    },
    /// The result does not fit in a [`Decimal`].
    #[error("money arithmetic overflowed")]
    Overflow,
}

/// Why a string is not a valid [`Money`] text form (`<amount> <CODE>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseMoneyError {
    /// There is no single space separating the amount from the currency code.
    #[error("money must be written as '<amount> <currency>', such as '12.50 EUR'")]
    MissingCurrency,
    /// The amount is not a plain decimal number (`-`, digits, optionally `.` and digits).
    #[error("invalid money amount {0:?}; expected a plain decimal such as 12.50")]
    InvalidAmount(String),
    /// The currency code is not supported.
    #[error(transparent)]
    Currency(#[from] CurrencyError),
}

impl Money {
    /// An amount in a currency, kept exactly as given (its scale included).
    ///
    /// A negative zero, which `Decimal` can represent, becomes zero so that it never prints
    /// as `-0.00`.
    pub fn new(mut amount: Decimal, currency: Currency) -> Self {
        if amount.is_zero() {
            amount.set_sign_positive(true);
        }
        Self { amount, currency }
    }

    /// Zero in `currency`: the start of a sum.
    pub fn zero(currency: Currency) -> Self {
        Self::new(Decimal::ZERO, currency)
    }

    /// The amount.
    pub fn amount(self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    pub fn is_zero(self) -> bool {
        self.amount.is_zero()
    }

    /// Whether the amount is below zero (a credit or a refund).
    pub fn is_negative(self) -> bool {
        self.amount.is_sign_negative()
    }

    /// `self + other`, refusing different currencies and overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.amount
            .checked_add(other.amount)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// `self - other`, refusing different currencies and overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.amount
            .checked_sub(other.amount)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// `self × quantity`, such as a per-GB price times a number of GB; refuses overflow.
    ///
    /// The product is not rounded.
    pub fn checked_mul(self, quantity: Decimal) -> Result<Money, MoneyError> {
        self.amount
            .checked_mul(quantity)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// The sum of `amounts`, all of which must be in `currency`; zero when empty.
    ///
    /// ```
    /// use depot_domain::{Currency, Money};
    ///
    /// let lines: Vec<Money> = vec!["1.10 USD".parse()?, "2.20 USD".parse()?];
    /// assert_eq!(Money::sum(Currency::Usd, lines)?.to_string(), "3.30 USD");
    /// assert_eq!(Money::sum(Currency::Rub, [])?.to_string(), "0.00 RUB");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sum(
        currency: Currency,
        amounts: impl IntoIterator<Item = Money>,
    ) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    /// The amount rounded to the currency's minor unit with an explicit strategy.
    ///
    /// ```
    /// use depot_domain::{Money, RoundingStrategy};
    ///
    /// let amount: Money = "2.345 EUR".parse()?;
    /// assert_eq!(amount.round_to_minor_units(RoundingStrategy::MidpointNearestEven).to_string(), "2.34 EUR");
    /// assert_eq!(amount.round_to_minor_units(RoundingStrategy::MidpointAwayFromZero).to_string(), "2.35 EUR");
    /// # Ok::<(), depot_domain::ParseMoneyError>(())
    /// ```
    pub fn round_to_minor_units(self, strategy: RoundingStrategy) -> Money {
        Money::new(
            self.amount
                .round_dp_with_strategy(self.currency.minor_units(), strategy),
            self.currency,
        )
    }

    /// The amount rounded for an invoice line, with [`BILLING_ROUNDING`].
    pub fn round_for_billing(self) -> Money {
        self.round_to_minor_units(BILLING_ROUNDING)
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Padding to the minor unit only adds zeros, so it never changes the value.
        let mut amount = self.amount;
        let minor_units = self.currency.minor_units();
        if amount.scale() < minor_units {
            amount.rescale(minor_units);
        }
        write!(formatter, "{amount} {}", self.currency)
    }
}

impl FromStr for Money {
    type Err = ParseMoneyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (amount, code) = text
            .split_once(' ')
            .ok_or(ParseMoneyError::MissingCurrency)?;
        let amount = parse_plain_decimal(amount)
            .ok_or_else(|| ParseMoneyError::InvalidAmount(amount.to_owned()))?;
        Ok(Money::new(amount, code.parse()?))
    }
}

/// The serde form of [`Money`]: the amount travels as a string so that no JSON number, and no
/// float in a parser along the way, ever touches it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoneyWire {
    amount: String,
    currency: Currency,
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MoneyWire {
            amount: self.amount.to_string(),
            currency: self.currency,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = MoneyWire::deserialize(deserializer)?;
        let amount = parse_plain_decimal(&wire.amount).ok_or_else(|| {
            serde::de::Error::custom(ParseMoneyError::InvalidAmount(wire.amount.clone()))
        })?;
        Ok(Money::new(amount, wire.currency))
    }
}

/// One price per currency, such as a plan's monthly fee in RUB, EUR and USD.
///
/// Prices are kept as amounts keyed by currency, so an entry can never disagree with its key.
/// Serde writes a map from code to amount string: `{"EUR": "49.99", "RUB": "4500"}`.
///
/// ```
/// use depot_domain::{Currency, Money, PriceList};
///
/// let mut monthly = PriceList::new();
/// monthly.set("49.99 EUR".parse()?);
/// monthly.set("4500 RUB".parse()?);
/// assert_eq!(monthly.get(Currency::Eur).map(|m| m.to_string()), Some("49.99 EUR".to_owned()));
/// assert_eq!(monthly.get(Currency::Usd), None);
/// # Ok::<(), depot_domain::ParseMoneyError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceList {
    prices: BTreeMap<Currency, Decimal>,
}

impl PriceList {
    /// An empty price list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the price in `price`'s currency, returning the one it replaces.
    pub fn set(&mut self, price: Money) -> Option<Money> {
        self.prices
            .insert(price.currency(), price.amount())
            .map(|old| Money::new(old, price.currency()))
    }

    /// The price in `currency`, if the list has one.
    pub fn get(&self, currency: Currency) -> Option<Money> {
        self.prices
            .get(&currency)
            .map(|amount| Money::new(*amount, currency))
    }

    /// Removes the price in `currency`, returning it.
    pub fn remove(&mut self, currency: Currency) -> Option<Money> {
        self.prices
            .remove(&currency)
            .map(|amount| Money::new(amount, currency))
    }

    /// The currencies the list has a price in, in [`Currency`] order.
    pub fn currencies(&self) -> impl Iterator<Item = Currency> + '_ {
        self.prices.keys().copied()
    }

    /// Every price, in [`Currency`] order.
    pub fn iter(&self) -> impl Iterator<Item = Money> + '_ {
        self.prices
            .iter()
            .map(|(currency, amount)| Money::new(*amount, *currency))
    }

    /// Whether the list has no prices.
    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }

    /// The number of currencies priced.
    pub fn len(&self) -> usize {
        self.prices.len()
    }
}

impl FromIterator<Money> for PriceList {
    /// Collects prices; a later price in the same currency replaces an earlier one.
    fn from_iter<I: IntoIterator<Item = Money>>(prices: I) -> Self {
        let mut list = PriceList::new();
        for price in prices {
            list.set(price);
        }
        list
    }
}

impl Serialize for PriceList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.prices.len()))?;
        for (currency, amount) in &self.prices {
            map.serialize_entry(currency, &amount.to_string())?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for PriceList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = BTreeMap::<Currency, String>::deserialize(deserializer)?;
        let mut prices = BTreeMap::new();
        for (currency, amount) in wire {
            let amount = parse_plain_decimal(&amount).ok_or_else(|| {
                serde::de::Error::custom(ParseMoneyError::InvalidAmount(amount.clone()))
            })?;
            prices.insert(currency, amount);
        }
        Ok(Self { prices })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_pads_but_never_hides_digits() {
        assert_eq!(
            Money::new(Decimal::new(125, 1), Currency::Eur).to_string(),
            "12.50 EUR"
        );
        assert_eq!(
            Money::new(Decimal::new(7, 0), Currency::Rub).to_string(),
            "7.00 RUB"
        );
        assert_eq!(
            Money::new(Decimal::new(5005, 3), Currency::Usd).to_string(),
            "5.005 USD"
        );
    }

    #[test]
    fn negative_zero_is_plain_zero() {
        let mut minus_zero = Decimal::ZERO;
        minus_zero.set_sign_negative(true);
        let money = Money::new(minus_zero, Currency::Eur);
        assert!(!money.is_negative());
        assert_eq!(money.to_string(), "0.00 EUR");
        assert_eq!(
            "-0.00 EUR".parse::<Money>().map(|m| m.to_string()),
            Ok("0.00 EUR".into())
        );
    }
}
