//! The rate limiter's state in the database: token buckets that run out and refill, bandwidth
//! reservations that queue, and both shared by two engines on one PostgreSQL database as by
//! two `depot-api` nodes.

use std::time::Duration;

use crate::common::*;

/// A rate so slow that nothing refills while a test runs.
const NEVER: f64 = 0.000_1;

engine_tests! {
    async fn only_a_database_other_nodes_may_write_is_shared(harness) {
        // What `depot-api` chooses its limiter by: a SQLite file is locked to one engine.
        assert_eq!(harness.engine.is_shared(), harness.is_postgres());
    }

    async fn token_buckets_run_out_and_refill(harness) {
        let engine = &harness.engine;
        let take = |key: &'static str, rate: f64, burst: f64| {
            let engine = engine.clone();
            async move { engine.take_limiter_token(key, rate, burst).await.expect("take") }
        };

        // Full at first: three taken, the fourth refused; another key is another bucket.
        for _ in 0..3 {
            assert!(take("user/a/ops/get", NEVER, 3.0).await);
        }
        assert!(!take("user/a/ops/get", NEVER, 3.0).await);
        assert!(!take("user/a/ops/get", NEVER, 3.0).await, "a refusal takes nothing back");
        assert!(take("user/a/ops/put", NEVER, 3.0).await);

        // Two a second, one at most: refused at once, admitted again after half a second.
        assert!(take("user/b/ops/get", 2.0, 1.0).await);
        assert!(!take("user/b/ops/get", 2.0, 1.0).await);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(take("user/b/ops/get", 2.0, 1.0).await);

        // A bucket holds at least one operation, and no rate is no limit.
        assert!(take("user/c/ops/get", NEVER, 0.2).await);
        assert!(!take("user/c/ops/get", NEVER, 0.2).await);
        for _ in 0..3 {
            assert!(take("user/d/ops/get", 0.0, 1.0).await);
        }
    }

    async fn a_slow_bucket_taken_from_often_still_refills(harness) {
        // A millionth of a token short of one, refilling a millionth a second: the next token
        // is due in a second, though each refused take, a fraction of a millisecond after the
        // last, gains less than a millionth.
        let now_us = chrono::Utc::now().timestamp_micros();
        harness
            .execute(&format!(
                "INSERT INTO limiter_tokens (\"key\", micro_tokens, at_us, admitted) \
                 VALUES ('user/e/ops/get', 999999, {now_us}, TRUE)"
            ))
            .await;
        let started = std::time::Instant::now();
        while !harness
            .engine
            .take_limiter_token("user/e/ops/get", 0.000_001, 1.0)
            .await
            .expect("take")
        {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "no refill after five seconds of refused takes"
            );
        }
    }

    async fn bandwidth_reservations_queue(harness) {
        let engine = &harness.engine;
        let reserve = |key: &'static str, bytes: u64, rate: f64| {
            let engine = engine.clone();
            async move {
                engine
                    .reserve_limiter_bandwidth(key, bytes, rate)
                    .await
                    .expect("reserve")
            }
        };

        // 1000 bytes at 1000 B/s: the first may go in a second, the next a second after it.
        let first = reserve("user/a/out", 1000, 1000.0).await;
        assert_eq!(first, Duration::from_secs(1));
        let second = reserve("user/a/out", 1000, 1000.0).await;
        assert!(
            second > Duration::from_millis(1500) && second <= Duration::from_secs(2),
            "{second:?}"
        );
        // Another clock is free; no rate is no wait.
        assert_eq!(reserve("user/b/out", 500, 1000.0).await, Duration::from_millis(500));
        assert_eq!(reserve("user/c/out", 500, 0.0).await, Duration::ZERO);
        // Once its reservations have passed, a clock starts again from now.
        let short = reserve("user/d/out", 100, 1000.0).await;
        assert_eq!(short, Duration::from_millis(100));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(reserve("user/d/out", 100, 1000.0).await, Duration::from_millis(100));
        // A rate too small to express waits its longest, and the clock stops there.
        let closed = reserve("user/e/out", 1_000_000, 1e-12).await;
        assert_eq!(closed, Duration::from_secs(u64::from(u32::MAX)));
        assert!(reserve("user/e/out", 1_000_000, 1e-12).await <= closed);
    }
}

/// PostgreSQL only: a SQLite database admits one engine, so there is no second node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgresql_share_one_state() {
    let Some(harness) = Harness::start(Backend::Postgres).await else {
        return; // DEPOT_TEST_POSTGRES_URL=off
    };
    let other = harness.second_node().await;
    let engine = &harness.engine;
    assert!(
        engine
            .take_limiter_token("bucket/b/ops/put", NEVER, 2.0)
            .await
            .expect("take")
    );
    assert!(
        other
            .take_limiter_token("bucket/b/ops/put", NEVER, 2.0)
            .await
            .expect("take")
    );
    assert!(
        !engine
            .take_limiter_token("bucket/b/ops/put", NEVER, 2.0)
            .await
            .expect("take")
    );
    assert!(
        !other
            .take_limiter_token("bucket/b/ops/put", NEVER, 2.0)
            .await
            .expect("take")
    );

    let first = engine
        .reserve_limiter_bandwidth("bucket/b/out", 1000, 1000.0)
        .await
        .expect("reserve");
    let second = other
        .reserve_limiter_bandwidth("bucket/b/out", 1000, 1000.0)
        .await
        .expect("reserve");
    assert_eq!(first, Duration::from_secs(1));
    assert!(second > Duration::from_millis(1500), "{second:?}");
}
