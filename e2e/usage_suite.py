#!/usr/bin/env python3
"""Usage statistics (`?ostor-usage`): counters that equal exactly the operations performed.

- The server under test (the harness runs it with DEPOT_USAGE_PERIOD_SECS=2) writes a usage
  object every period: a new user's requests made with boto3 — writes, reads, a ranged read,
  HEAD, listings, a copy, a delete, an error — summed over the objects written, equal what
  the suite did, per bucket and per operation class, bytes included.
- A depot-api of the suite's own, with a period longer than the test, stopped cleanly: the
  period cut short is written on the way out; after a restart it is listed, read and deleted
  (204), then gone (404).
- Bad requests get their errors: a malformed name (400), an unknown object (404), DELETE
  without a name (400), another method (405), a user who is not a system user (403).

Run by `cargo xtask e2e --suite usage` (S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
E2E_TMP, DEPOT_API_BIN).
"""

import math
import os
import re
import sys
import time
import unittest
import uuid
from collections import defaultdict
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from depot_e2e import DEPOT_API, DepotServer, admin_request, s3_client

ENDPOINT = os.environ["S3_ENDPOINT"]
ROOT_KEY = os.environ["AWS_ACCESS_KEY_ID"]
ROOT_SECRET = os.environ["AWS_SECRET_ACCESS_KEY"]

# The period the harness gives the server under test.
PERIOD = 2
LONGEST_PERIOD = 366 * 86_400

COUNTERS = ("put", "get", "list", "other", "uploaded", "downloaded")


class Tally:
    """What the suite did, per bucket name, as the usage counters should show it."""

    def __init__(self):
        self.by_bucket = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))

    def count(self, bucket, op, answer, uploaded=0, head=False):
        counters = self.by_bucket[bucket]
        counters[op] += 1
        counters["uploaded"] += uploaded
        if not head:
            headers = answer["ResponseMetadata"]["HTTPHeaders"]
            counters["downloaded"] += int(headers.get("content-length", "0"))

    def run(self, bucket, op, call, uploaded=0, head=False, error=None):
        """Makes the call and counts it. It must succeed, or fail with the S3 code `error`."""
        try:
            answer = call()
        except ClientError as failure:
            answer = failure.response
            if answer["Error"]["Code"] != error:
                raise
        else:
            assert error is None, f"expected {error}, got a success"
        self.count(bucket, op, answer, uploaded, head)
        return answer


def create_user(admin):
    email = f"e2e-usage-{uuid.uuid4().hex[:12]}@example.com"
    answer = admin("PUT", f"ostor-users&emailAddress={email}")
    assert answer.status == 200, (answer.status, answer.body)
    user = answer.json()
    pair = user["AWSAccessKeys"][0]
    return user["UserId"], pair["AWSAccessKeyId"], pair["AWSSecretAccessKey"]


def period_end(name):
    """When the period a usage object's name describes ended, in seconds since the epoch."""
    found = re.fullmatch(r"s3-usage-[0-9A-Za-z]+-(.+Z)-([0-9]+)", name)
    assert found, name
    start = datetime.strptime(found[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return start.timestamp() + int(found[2])


def usage_names(admin, since):
    """Every usage object's name. The list holds the oldest 1,000: while it is truncated,
    objects whose period ended before `since` (they cannot hold this test's counters) are
    deleted to make room, as a consumer would after reading them."""
    while True:
        listed = admin("GET", "ostor-usage")
        assert listed.status == 200, (listed.status, listed.body)
        names = listed.json()
        assert names["nr_items"] == len(names["items"]), names
        if not names["truncated"]:
            return names["items"]
        older = [name for name in names["items"] if period_end(name) < since]
        assert older, "the usage list is truncated and holds nothing older than this test"
        for name in older:
            deleted = admin("DELETE", f"ostor-usage&obj={name}")
            assert deleted.status == 204, (name, deleted.status, deleted.body)


def usage_of(admin, user_id, since):
    """The user's counters summed over every usage object, per (bucket, epoch); and the
    objects read."""
    totals = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    reports = []
    for name in usage_names(admin, since):
        answer = admin("GET", f"ostor-usage&obj={name}")
        assert answer.status == 200, (name, answer.status, answer.body)
        report = answer.json()
        reports.append((name, report))
        assert report["nr_items"] == len(report["items"]), report
        for item in report["items"]:
            key = item["key"]
            if key["user_id"] != user_id:
                continue
            assert key["tag"] == "", item
            ops, net = item["counters"]["ops"], item["counters"]["net_io"]
            total = totals[(key["bucket"], key["epoch"])]
            for op in ("put", "get", "list", "other"):
                total[op] += ops[op]
            total["uploaded"] += net["uploaded"]
            total["downloaded"] += net["downloaded"]
    return dict(totals), reports


def epoch_of(admin, user_id, bucket):
    answer = admin("GET", f"ostor-buckets&id={user_id}")
    assert answer.status == 200, (answer.status, answer.body)
    (found,) = [b for b in answer.json()["Buckets"] if b["name"] == bucket]
    return found["epoch"]


def root_admin(method, query):
    return admin_request(ENDPOINT, ROOT_KEY, ROOT_SECRET, method, query)


class Periodic(unittest.TestCase):
    def test_counters_equal_the_operations_performed(self):
        began = time.time() - 1
        user_id, key, secret = create_user(root_admin)
        s3 = s3_client(ENDPOINT, key, secret)
        bucket = f"e2e-usage-{uuid.uuid4().hex[:12]}"
        tally = Tally()
        tally.run(bucket, "other", lambda: s3.create_bucket(Bucket=bucket))
        small, large = os.urandom(1_000), os.urandom(123_457)
        tally.run(bucket, "put", lambda: s3.put_object(Bucket=bucket, Key="a", Body=small),
                  uploaded=len(small))
        tally.run(bucket, "put", lambda: s3.put_object(Bucket=bucket, Key="b", Body=large),
                  uploaded=len(large))
        got = tally.run(bucket, "get", lambda: s3.get_object(Bucket=bucket, Key="b"))
        self.assertEqual(got["Body"].read(), large)
        ranged = tally.run(bucket, "get",
                           lambda: s3.get_object(Bucket=bucket, Key="b", Range="bytes=0-99"))
        self.assertEqual(len(ranged["Body"].read()), 100)
        tally.run(bucket, "get", lambda: s3.head_object(Bucket=bucket, Key="a"), head=True)
        tally.run(bucket, "list", lambda: s3.list_objects_v2(Bucket=bucket))
        tally.run(bucket, "list", lambda: s3.list_objects(Bucket=bucket, Prefix="a"))
        tally.run(bucket, "get", lambda: s3.get_object(Bucket=bucket, Key="missing"),
                  error="NoSuchKey")
        tally.run(bucket, "put", lambda: s3.copy_object(
            Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "a"}))
        tally.run(bucket, "other", lambda: s3.delete_object(Bucket=bucket, Key="a"))
        tally.run("", "list", lambda: s3.list_buckets())
        done = time.monotonic()

        epoch = epoch_of(root_admin, user_id, bucket)
        expected = {(bucket, epoch): tally.by_bucket[bucket], ("", 0): tally.by_bucket[""]}
        # The last request's period ends within PERIOD seconds and is written at once.
        time.sleep(max(0.0, done + 2 * PERIOD + 1 - time.monotonic()))
        totals, reports = usage_of(root_admin, user_id, began)
        self.assertEqual(totals, expected)
        for name, report in reports:
            self.assertTrue(name.startswith("s3-usage-0000000000000001-"), name)
            self.assertTrue(name.endswith(f"-{report['period']}"), name)
            self.assertEqual(report["fmt_version"], 1)
            self.assertEqual(report["service_id"], 1)
            self.assertLessEqual(report["period"], PERIOD)
        print(f"  {sum(c['put'] + c['get'] + c['list'] + c['other'] for c in expected.values())}"
              f" operations counted exactly, over {len(reports)} usage objects")

    def test_bad_requests_get_their_errors(self):
        self.assertEqual(root_admin("GET", "ostor-usage&obj=not-a-usage-object").status, 400)
        unknown = root_admin(
            "GET", "ostor-usage&obj=s3-usage-0000000000000001-2000-01-01T00:00:00.000Z-2")
        self.assertEqual((unknown.status, unknown.code()), (404, "NoSuchUsageObject"))
        self.assertEqual(root_admin("DELETE", "ostor-usage").status, 400)
        self.assertEqual(root_admin("POST", "ostor-usage").status, 405)
        _, key, secret = create_user(root_admin)
        self.assertEqual(admin_request(ENDPOINT, key, secret, "GET", "ostor-usage").status, 403)


class CleanShutdown(unittest.TestCase):
    def test_the_period_cut_short_is_written_on_a_clean_stop(self):
        # The harness gives the binary whenever it started the server; without it (a server
        # given with --endpoint) this check cannot run, and the suite says so by failing.
        self.assertTrue(DEPOT_API, "DEPOT_API_BIN is not set: no depot-api to stop and start")
        # The longest period there is (366 days): none ends while the test runs.
        server = DepotServer(
            "usage", DEPOT_USAGE_PERIOD_SECS=str(LONGEST_PERIOD), DEPOT_SERVICE_ID="42",
            DEPOT_REPLICATION_WORKERS="0",
        )
        began = time.time()
        server.start()
        try:
            user_id, key, secret = create_user(server.admin)
            s3 = s3_client(server.endpoint, key, secret)
            bucket = f"e2e-usage-{uuid.uuid4().hex[:12]}"
            tally = Tally()
            tally.run(bucket, "other", lambda: s3.create_bucket(Bucket=bucket))
            for index in range(5):
                body = os.urandom(10_000 + index)
                tally.run(bucket, "put",
                          lambda: s3.put_object(Bucket=bucket, Key=f"k{index}", Body=body),
                          uploaded=len(body))
            tally.run(bucket, "get", lambda: s3.get_object(Bucket=bucket, Key="k0"))["Body"].read()
            tally.run(bucket, "list", lambda: s3.list_objects_v2(Bucket=bucket))
            epoch = epoch_of(server.admin, user_id, bucket)
            # Nothing is written before the period is up...
            self.assertEqual(server.admin("GET", "ostor-usage").json()["nr_items"], 0)
            # ...but a clean stop writes it.
            self.assertEqual(server.stop(), 0)
            ran = math.ceil(time.time() - began)
            server.start()
            totals, reports = usage_of(server.admin, user_id, began)
            self.assertEqual(totals, {(bucket, epoch): tally.by_bucket[bucket]})
            for name, report in reports:
                self.assertTrue(name.startswith("s3-usage-0000000000000042-"), name)
                # Cut short: from the first start to the stop, not the configured period.
                self.assertLessEqual(report["period"], ran + 1)
                deleted = server.admin("DELETE", f"ostor-usage&obj={name}")
                self.assertEqual(deleted.status, 204, deleted.body)
                gone = server.admin("GET", f"ostor-usage&obj={name}")
                self.assertEqual(gone.status, 404)
                self.assertEqual(server.admin("DELETE", f"ostor-usage&obj={name}").status, 404)
            self.assertEqual(server.admin("GET", "ostor-usage").json()["nr_items"], 0)
            self.assertEqual(server.stop(), 0)
            print(f"  {len(reports)} usage object(s) written on SIGTERM, read and deleted")
        finally:
            server.stop()


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() and not result.skipped else 1)
