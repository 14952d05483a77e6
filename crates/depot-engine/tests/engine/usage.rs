//! Usage statistics: objects stored whole and merged by name, listed oldest first, read and
//! deleted; the meter cutting periods, writing each once, closing short, and keeping what the
//! database refused.

use chrono::{DateTime, Utc};
use depot_domain::{BucketRef, ServiceId, UsageCounters, UsageKey, UserId};
use depot_engine::{EngineError, UsageMeter, UsageMeterConfig, UsageReport};

use crate::common::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("an instant")
}

fn user(text: &str) -> UserId {
    text.parse().expect("a user id")
}

fn in_bucket(user_id: &str, name: &str, epoch: u64) -> UsageKey {
    UsageKey {
        user: user(user_id),
        bucket: Some(BucketRef {
            name: bucket(name),
            epoch,
        }),
    }
}

fn outside_buckets(user_id: &str) -> UsageKey {
    UsageKey {
        user: user(user_id),
        bucket: None,
    }
}

fn counters(put: u64, get: u64, uploaded: u64, downloaded: u64) -> UsageCounters {
    UsageCounters {
        ops_put: put,
        ops_get: get,
        bytes_uploaded: uploaded,
        bytes_downloaded: downloaded,
        ..UsageCounters::ZERO
    }
}

fn service(id: u64) -> ServiceId {
    ServiceId::new(id).expect("a service id")
}

/// Every counter of every stored report, summed per key.
async fn totals(engine: &depot_engine::Engine) -> Vec<(UsageKey, UsageCounters)> {
    let (names, truncated) = engine.usage_report_names(1000).await.expect("listed");
    assert!(!truncated);
    let mut totals: std::collections::BTreeMap<UsageKey, UsageCounters> = Default::default();
    for name in names {
        for (key, counters) in engine.usage_report(&name).await.expect("read").items {
            totals.entry(key).or_default().merge(&counters);
        }
    }
    totals.into_iter().collect()
}

engine_tests! {
    async fn reports_are_stored_merged_listed_read_and_deleted(harness) {
        let engine = &harness.engine;
        let a = "f82c23f7823589eb";
        let b = "0123456789abcdef";
        let report = UsageReport {
            service: service(8_000_000_000_000_003),
            start: at("2026-11-22T10:00:00Z"),
            period_seconds: 300,
            items: vec![
                (in_bucket(a, "photos", 16_394), counters(15, 0, 99_785, 0)),
                (outside_buckets(a), counters(0, 2, 0, 0)),
            ],
        };
        let name = report.name().to_string();
        assert_eq!(name, "s3-usage-8000000000000003-2026-11-22T10:00:00.000Z-300");
        engine.store_usage_report(&report).await.expect("stored");
        let read = engine.usage_report(&name).await.expect("read");
        let mut sorted = report.items.clone();
        sorted.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(read, UsageReport { items: sorted, ..report.clone() });

        // The same name again adds up, key by key.
        let more = UsageReport {
            items: vec![
                (in_bucket(a, "photos", 16_394), counters(1, 3, 10, 20)),
                (in_bucket(b, "photos", 16_395), counters(0, 1, 0, 7)),
            ],
            ..report.clone()
        };
        engine.store_usage_report(&more).await.expect("merged");
        let read = engine.usage_report(&name).await.expect("read");
        assert_eq!(
            read.items,
            vec![
                (in_bucket(b, "photos", 16_395), counters(0, 1, 0, 7)),
                (outside_buckets(a), counters(0, 2, 0, 0)),
                (in_bucket(a, "photos", 16_394), counters(16, 3, 99_795, 20)),
            ]
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect::<Vec<_>>()
        );

        // Listed oldest first; a limit truncates.
        let earlier = UsageReport {
            start: at("2026-11-22T09:55:00Z"),
            ..report.clone()
        };
        engine.store_usage_report(&earlier).await.expect("stored");
        let earlier_name = earlier.name().to_string();
        assert_eq!(
            engine.usage_report_names(10).await.expect("listed"),
            (vec![earlier_name.clone(), name.clone()], false)
        );
        assert_eq!(
            engine.usage_report_names(1).await.expect("listed"),
            (vec![earlier_name.clone()], true)
        );

        engine.delete_usage_report(&name).await.expect("deleted");
        assert!(matches!(
            engine.delete_usage_report(&name).await,
            Err(EngineError::NoSuchUsageReport)
        ));
        assert!(matches!(
            engine.usage_report(&name).await,
            Err(EngineError::NoSuchUsageReport)
        ));
        assert_eq!(
            engine.usage_report_names(10).await.expect("listed"),
            (vec![earlier_name], false)
        );
    }

    async fn the_meter_writes_each_period_once_and_closes_short(harness) {
        let engine = &harness.engine;
        let a = "f82c23f7823589eb";
        let meter = UsageMeter::starting_at(
            engine.clone(),
            UsageMeterConfig { service: service(3), period_seconds: 60 },
            at("2026-11-22T10:17:23.400Z"),
        )
        .expect("a meter");
        assert_eq!(meter.period_end(), at("2026-11-22T10:18:00Z"));
        meter.record_at(at("2026-11-22T10:17:30Z"), in_bucket(a, "photos", 1), &counters(1, 0, 100, 0));
        meter.record_at(at("2026-11-22T10:17:59.900Z"), in_bucket(a, "photos", 1), &counters(0, 1, 0, 50));
        assert_eq!(meter.flush_at(at("2026-11-22T10:17:59.950Z")).await.expect("flushed"), 0);
        assert_eq!(engine.usage_report_names(10).await.expect("listed").0.len(), 0);

        // The first request of the next period ends the first.
        meter.record_at(at("2026-11-22T10:18:00Z"), outside_buckets(a), &counters(0, 0, 0, 0));
        assert_eq!(meter.flush_at(at("2026-11-22T10:18:01Z")).await.expect("flushed"), 1);
        let first = engine
            .usage_report("s3-usage-0000000000000003-2026-11-22T10:17:23.000Z-37")
            .await
            .expect("the first period, 37 s long");
        assert_eq!(first.items, vec![(in_bucket(a, "photos", 1), counters(1, 1, 100, 50))]);
        // Flushing again writes nothing twice.
        assert_eq!(meter.flush_at(at("2026-11-22T10:18:02Z")).await.expect("flushed"), 0);

        // An idle period writes nothing; closing cuts the current one at the next second.
        meter.record_at(at("2026-11-22T10:20:30Z"), in_bucket(a, "photos", 1), &counters(2, 0, 5, 0));
        assert_eq!(meter.close_at(at("2026-11-22T10:20:45.200Z")).await.expect("closed"), 2);
        let (names, _) = engine.usage_report_names(10).await.expect("listed");
        assert_eq!(
            names,
            [
                "s3-usage-0000000000000003-2026-11-22T10:17:23.000Z-37",
                "s3-usage-0000000000000003-2026-11-22T10:18:00.000Z-60",
                "s3-usage-0000000000000003-2026-11-22T10:20:00.000Z-46",
            ]
        );
        // Every request counted exactly once.
        assert_eq!(
            totals(engine).await,
            vec![
                (outside_buckets(a), counters(0, 0, 0, 0)),
                (in_bucket(a, "photos", 1), counters(3, 1, 105, 50)),
            ]
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect::<Vec<_>>()
        );
    }

    async fn a_refused_write_keeps_its_counters_for_the_next_flush(harness) {
        let engine = &harness.engine;
        let a = "f82c23f7823589eb";
        let meter = UsageMeter::starting_at(
            engine.clone(),
            UsageMeterConfig { service: service(4), period_seconds: 10 },
            at("2026-11-22T10:00:00Z"),
        )
        .expect("a meter");
        meter.record_at(at("2026-11-22T10:00:01Z"), outside_buckets(a), &counters(1, 0, 0, 0));
        meter.record_at(at("2026-11-22T10:00:11Z"), outside_buckets(a), &counters(0, 1, 0, 0));
        harness.execute("ALTER TABLE usage_counters RENAME TO usage_counters_away").await;
        assert!(meter.flush_at(at("2026-11-22T10:00:25Z")).await.is_err());
        harness.execute("ALTER TABLE usage_counters_away RENAME TO usage_counters").await;
        // Both ended periods, in order, each once.
        assert_eq!(meter.flush_at(at("2026-11-22T10:00:26Z")).await.expect("flushed"), 2);
        let (names, _) = engine.usage_report_names(10).await.expect("listed");
        assert_eq!(
            names,
            [
                "s3-usage-0000000000000004-2026-11-22T10:00:00.000Z-10",
                "s3-usage-0000000000000004-2026-11-22T10:00:10.000Z-10",
            ]
        );
        assert_eq!(totals(engine).await, vec![(outside_buckets(a), counters(1, 1, 0, 0))]);
    }

    async fn the_meter_refuses_periods_it_cannot_name(harness) {
        for period_seconds in [0, 366 * 86_400 + 1] {
            assert!(matches!(
                UsageMeter::new(
                    harness.engine.clone(),
                    UsageMeterConfig { service: service(1), period_seconds },
                ),
                Err(EngineError::InvalidArgument(_))
            ));
        }
    }
}
