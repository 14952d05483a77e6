//! Platform records: serde round trips, and validation reaching through nested fields.

use chrono::{DateTime, Utc};
use depot_domain::{
    Account, BYTES_PER_GB, Bucket, BucketStats, Customer, CustomerId, Limits, OpClass, Plan,
    PlanId, PriceList, Quota, QuotaScope, RateLimit, S3User, StorageSize, StorageType, UserFlags,
    UserState,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

fn parse<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: Debug,
{
    text.parse().expect("test literal is valid")
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let json = serde_json::to_string(value).expect("serializes");
    let back: T = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(&back, value, "through {json}");
}

fn prices(list: &[&str]) -> PriceList {
    list.iter().map(|price| parse(price)).collect()
}

/// The plan of the action RPC's `list_plans` example.
fn standard_plan() -> Plan {
    Plan {
        id: PlanId(1),
        name: "Standard S3".into(),
        quota_gb: 5000,
        storage_type: StorageType::Standard,
        locations: vec![parse("NL"), parse("DE")],
        monthly_price: prices(&["4500 RUB", "49.99 EUR", "54.99 USD"]),
        traffic_overage_price_per_gb: prices(&["10 RUB", "0.11 EUR", "0.12 USD"]),
        storage_overage_price_per_gb: prices(&["5 RUB", "0.05 EUR", "0.06 USD"]),
        bandwidth_limit_gb: 1000,
        tags: vec![],
        active: true,
    }
}

#[test]
fn plan_round_trips_and_answers_questions() {
    let plan = standard_plan();
    round_trip(&plan);
    assert!(plan.is_offered_in(&parse("nl")));
    assert!(!plan.is_offered_in(&parse("US")));
    assert!(!plan.has_tag("s3_test"));
    let quota = Quota {
        scope: QuotaScope::DefaultUser,
        size_gb: plan.quota_gb,
    };
    assert_eq!(quota.limit_bytes(), Some(5000 * BYTES_PER_GB));
}

#[test]
fn invalid_nested_values_fail_deserialization() {
    let json = serde_json::to_string(&standard_plan()).expect("serializes");
    let bad_location = json.replacen("\"NL\"", "\"N L\"", 1);
    assert!(serde_json::from_str::<Plan>(&bad_location).is_err());
    let float_price = json.replacen("\"49.99\"", "49.99", 1);
    assert!(serde_json::from_str::<Plan>(&float_price).is_err());
    let bad_type = json.replacen("\"Standard\"", "\"Glacier\"", 1);
    assert!(serde_json::from_str::<Plan>(&bad_type).is_err());
}

#[test]
fn users_accounts_buckets_and_customers_round_trip() {
    let created: DateTime<Utc> = parse("2018-05-25T17:12:00Z");
    let owner = parse("ba7eba06129464c5");
    let user = S3User {
        id: owner,
        email: parse("user1@email.com"),
        state: UserState::Disabled,
        flags: UserFlags { system: true },
        owner_id: None,
        created_at: None,
    };
    round_trip(&user);
    let json = serde_json::to_value(&user).expect("serializes");
    assert_eq!(json["state"], "disabled");
    assert_eq!(json["id"], "ba7eba06129464c5");

    let account = Account {
        name: parse("account1"),
        owner,
        keys: vec![depot_domain::AccessKeyPair::generate_for(owner)],
    };
    round_trip(&account);
    assert!(account.can_add_key());

    let bucket = BucketStats {
        bucket: Bucket {
            name: parse("bucket1"),
            owner,
            location: parse("NL"),
            created_at: created,
            epoch: 0,
        },
        size: StorageSize::from_parts(12_288, 12_288, 7_360_512.into(), created)
            .expect("consistent parts"),
    };
    round_trip(&bucket);

    round_trip(&Customer {
        id: CustomerId(125),
        email: parse("billing@example.com"),
        name: "Example B.V.".into(),
        created_at: created,
    });
}

#[test]
fn quotas_and_limits_round_trip() {
    round_trip(&Quota {
        scope: QuotaScope::Bucket(parse("bucket1")),
        size_gb: 256,
    });
    round_trip(&Quota::unlimited(QuotaScope::User(parse(
        "ba7eba06129464c5",
    ))));
    let limits = Limits {
        ops_list: parse("0.50"),
        bandwidth_out_kb: parse("3.33"),
        ..Limits::with_uniform_ops(Limits::UNLIMITED, parse("1"))
    };
    round_trip(&limits);
    let json = serde_json::to_value(limits).expect("serializes");
    assert_eq!(json["ops_list"], "0.50");
    assert_eq!(limits.ops_limit(OpClass::Delete), parse::<RateLimit>("1"));
    assert!(Limits::default().is_unlimited());
}
