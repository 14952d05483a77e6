#!/usr/bin/env python3
"""The ostor admin API against a running depot-api, and its limits and quotas seen from boto3.

Admin requests are S3 requests to `/?ostor-…`, signed here with botocore's own SigV4 signer
by the harness's root key (a system user); the data plane is driven with boto3 by users the
admin API creates. Checks:

- users: create, get by email and id, list, genKey (a third refused), revokeKey (the key stops
  working at once), disable/enable (403 while disabled), delete; accounts: create, their keys
  reach only their own buckets, delete;
- a bucket quota of 1 GB: a PutObject past it is refused 403 QuotaExceeded, nothing stored;
- an operations limit of 60/min (1 op/s): back-to-back requests get 503 SlowDown, browser
  form (POST) uploads included;
- a bandwidth limit of 50 KB/s: a 200 KiB download takes at least 4 s.

Run by `cargo xtask e2e --suite ostor` (S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
E2E_TMP). Uploads about 1 GiB once (the quota check).
"""

import os
import sys
import time
import unittest
import uuid

import urllib3
from botocore.exceptions import ClientError

import depot_e2e
from depot_e2e import admin_request

ENDPOINT = os.environ["S3_ENDPOINT"]
ROOT_KEY = os.environ["AWS_ACCESS_KEY_ID"]
ROOT_SECRET = os.environ["AWS_SECRET_ACCESS_KEY"]
TMP = os.environ.get("E2E_TMP", "/tmp")
GiB = 1024 * 1024 * 1024


def admin(method, query, key=ROOT_KEY, secret=ROOT_SECRET, body=b""):
    """One signed admin request to the server under test."""
    return admin_request(ENDPOINT, key, secret, method, query, body)


def s3_client(key, secret):
    return depot_e2e.s3_client(ENDPOINT, key, secret, read_timeout=300)


def new_email(tag):
    return f"e2e-{tag}-{uuid.uuid4().hex[:12]}@example.com"


def new_bucket(tag):
    return f"e2e-ostor-{tag}-{uuid.uuid4().hex[:12]}"


def create_user(tag):
    email = new_email(tag)
    answer = admin("PUT", f"ostor-users&emailAddress={email}")
    assert answer.status == 200, (answer.status, answer.body)
    user = answer.json()
    pair = user["AWSAccessKeys"][0]
    return email, user, s3_client(pair["AWSAccessKeyId"], pair["AWSSecretAccessKey"])


def post_form(s3, bucket, key, data):
    """A browser form upload of `data` to `key`, signed for `s3`'s keys: (status, body)."""
    form = s3.generate_presigned_post(Bucket=bucket, Key=key, ExpiresIn=300)
    fields = dict(form["fields"])
    fields["file"] = ("upload.bin", data)  # last: S3 ignores fields after the file
    response = urllib3.PoolManager().request("POST", form["url"], fields=fields)
    return response.status, response.data


def error_code(error):
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


class UsersAndAccounts(unittest.TestCase):
    def test_user_lifecycle(self):
        email, user, s3 = create_user("life")
        print(f"  created {email} ({user['UserId']})")
        by_email = admin("GET", f"ostor-users&emailAddress={email}")
        by_id = admin("GET", f"ostor-users&id={user['UserId']}")
        self.assertEqual(by_email.status, 200)
        self.assertEqual(by_email.json(), by_id.json())
        self.assertEqual(by_email.json()["State"], "enabled")
        listed = admin("GET", "ostor-users").json()["Users"]
        self.assertIn(email, [entry["UserEmail"] for entry in listed])
        both = admin("GET", f"ostor-users&emailAddress={email}&id={user['UserId']}")
        self.assertEqual(both.status, 400)

        bucket = new_bucket("life")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
        self.assertEqual(s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"hello")

        # Not a system user: the admin API says 403.
        pair = user["AWSAccessKeys"][0]
        denied = admin("GET", "ostor-users", pair["AWSAccessKeyId"], pair["AWSSecretAccessKey"])
        self.assertEqual((denied.status, denied.code()), (403, "AccessDenied"))

        second = admin("POST", f"ostor-users&emailAddress={email}&genKey")
        self.assertEqual(len(second.json()["AWSAccessKeys"]), 2)
        third = admin("POST", f"ostor-users&emailAddress={email}&genKey")
        self.assertEqual((third.status, third.code()), (409, "KeyLimitReached"))

        # Disabled, the user's keys get 403; enabled, they work again.
        self.assertEqual(admin("POST", f"ostor-users&emailAddress={email}&disable").status, 200)
        with self.assertRaises(ClientError) as raised:
            s3.list_objects_v2(Bucket=bucket)
        self.assertEqual(error_code(raised.exception), ("AccessDenied", 403))
        self.assertEqual(admin("POST", f"ostor-users&emailAddress={email}&enable").status, 200)
        s3.head_object(Bucket=bucket, Key="k")

        # Revoked, the first key stops at once.
        revoked = admin("POST", f"ostor-users&emailAddress={email}&revokeKey={pair['AWSAccessKeyId']}")
        self.assertEqual(revoked.status, 200)
        with self.assertRaises(ClientError) as raised:
            s3.list_objects_v2(Bucket=bucket)
        self.assertEqual(error_code(raised.exception), ("InvalidAccessKeyId", 403))

        new_pair = second.json()["AWSAccessKeys"][1]
        s3 = s3_client(new_pair["AWSAccessKeyId"], new_pair["AWSSecretAccessKey"])
        blocked = admin("DELETE", f"ostor-users&emailAddress={email}")
        self.assertEqual((blocked.status, blocked.code()), (409, "UserHasBuckets"))
        s3.delete_object(Bucket=bucket, Key="k")
        s3.delete_bucket(Bucket=bucket)
        self.assertEqual(admin("DELETE", f"ostor-users&emailAddress={email}").status, 204)
        gone = admin("GET", f"ostor-users&emailAddress={email}")
        self.assertEqual((gone.status, gone.code()), (404, "NoSuchUser"))

    def test_account_keys_reach_only_their_buckets(self):
        email, _, s3 = create_user("acct")
        account = admin("POST", f"ostor-accounts&emailAddress={email}&accountName=robot")
        self.assertEqual(account.status, 200)
        pair = account.json()["AWSAccessKeys"][0]
        robot = s3_client(pair["AWSAccessKeyId"], pair["AWSSecretAccessKey"])
        own, robots = new_bucket("own"), new_bucket("robot")
        s3.create_bucket(Bucket=own)
        robot.create_bucket(Bucket=robots)
        self.assertEqual([b["Name"] for b in robot.list_buckets()["Buckets"]], [robots])
        self.assertEqual(
            sorted(b["Name"] for b in s3.list_buckets()["Buckets"]), sorted([own, robots])
        )
        with self.assertRaises(ClientError) as raised:
            robot.put_object(Bucket=own, Key="k", Body=b"x")
        self.assertEqual(error_code(raised.exception), ("AccessDenied", 403))
        s3.put_object(Bucket=robots, Key="k", Body=b"x")
        s3.delete_object(Bucket=robots, Key="k")
        for bucket in (own, robots):
            s3.delete_bucket(Bucket=bucket)
        self.assertEqual(
            admin("DELETE", f"ostor-accounts&emailAddress={email}&accountName=robot").status, 204
        )
        self.assertEqual(admin("DELETE", f"ostor-users&emailAddress={email}").status, 204)


class Enforcement(unittest.TestCase):
    def setUp(self):
        self.email, _, self.s3 = create_user("limits")
        self.bucket = new_bucket("limits")
        self.s3.create_bucket(Bucket=self.bucket)

    def tearDown(self):
        admin("DELETE", f"ostor-limits&emailAddress={self.email}")
        admin("DELETE", f"ostor-limits&bucket={self.bucket}")
        for entry in self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", []):
            self.s3.delete_object(Bucket=self.bucket, Key=entry["Key"])
        self.s3.delete_bucket(Bucket=self.bucket)
        admin("DELETE", f"ostor-users&emailAddress={self.email}")

    def test_a_write_past_the_bucket_quota_is_refused_and_nothing_stored(self):
        answer = admin("PUT", f"ostor-quotas&bucket={self.bucket}&quota-size=1")
        self.assertEqual(answer.status, 200)
        self.assertEqual(admin("GET", f"ostor-quotas&bucket={self.bucket}").json()["size"], "1")
        path = os.path.join(TMP, "quota-object")
        with open(path, "wb") as sparse:
            sparse.truncate(GiB + 1)
        try:
            with open(path, "rb") as body:
                with self.assertRaises(ClientError) as raised:
                    self.s3.put_object(Bucket=self.bucket, Key="too-big", Body=body)
        finally:
            os.remove(path)
        self.assertEqual(error_code(raised.exception), ("QuotaExceeded", 403))
        self.assertIn("quota", raised.exception.response["Error"]["Message"])
        with self.assertRaises(ClientError) as raised:
            self.s3.head_object(Bucket=self.bucket, Key="too-big")
        self.assertEqual(error_code(raised.exception)[1], 404)
        buckets = admin("GET", f"ostor-buckets&emailAddress={self.email}").json()["Buckets"]
        self.assertEqual(buckets[0]["size"]["current"], 0)
        # Within the quota, writes go on.
        self.s3.put_object(Bucket=self.bucket, Key="small", Body=b"fits")
        print("  1 GiB + 1 byte refused with QuotaExceeded; nothing stored")

    def test_operations_over_the_rate_slow_down(self):
        answer = admin("PUT", f"ostor-limits&emailAddress={self.email}&ops&default=60")
        self.assertEqual(answer.status, 200)
        limits = admin("GET", f"ostor-limits&emailAddress={self.email}").json()
        self.assertEqual(limits["ops:list"], "1.00")
        time.sleep(1.1)  # a full bucket of tokens
        statuses = []
        for _ in range(3):
            try:
                self.s3.list_objects_v2(Bucket=self.bucket)
                statuses.append(200)
            except ClientError as error:
                self.assertEqual(error_code(error), ("SlowDown", 503))
                statuses.append(503)
        self.assertEqual(statuses[0], 200)
        self.assertIn(503, statuses)
        # Browser form uploads too, though they name their signer only inside the body.
        time.sleep(1.1)
        posts = []
        for index in range(3):
            status, body = post_form(self.s3, self.bucket, f"posted-{index}", b"form")
            if status == 503:
                self.assertIn(b"<Code>SlowDown</Code>", body)
            posts.append(status)
        self.assertEqual(posts[0], 204)
        self.assertIn(503, posts)
        self.assertEqual(admin("DELETE", f"ostor-limits&emailAddress={self.email}&ops").status, 204)
        self.s3.list_objects_v2(Bucket=self.bucket)
        print(f"  at 1 op/s: {statuses}, POST uploads {posts}")

    def test_downloads_are_paced_to_the_bandwidth_limit(self):
        self.s3.put_object(Bucket=self.bucket, Key="paced", Body=os.urandom(200 * 1024))
        answer = admin("PUT", f"ostor-limits&bucket={self.bucket}&bandwidth&out=50")
        self.assertEqual(answer.status, 200)
        started = time.monotonic()
        data = self.s3.get_object(Bucket=self.bucket, Key="paced")["Body"].read()
        elapsed = time.monotonic() - started
        self.assertEqual(len(data), 200 * 1024)
        self.assertGreaterEqual(elapsed, 4.0)
        self.assertLess(elapsed, 30.0)
        print(f"  200 KiB at 50 KB/s in {elapsed:.1f} s")


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
