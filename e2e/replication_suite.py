#!/usr/bin/env python3
"""Bucket replication between two depot-api processes, seen from boto3.

A is the server under test; this suite starts B itself (the same binary, its own data
directory and port, replication off) and configures A's source bucket with `depot-admin
replication set`, pointing at a bucket on B. Checks:

- objects written on A under the rule's prefix are readable on B within seconds, with their
  content type and metadata (a multipart object included); keys outside it are not copied;
- HEAD on A shows x-amz-replication-status: PENDING or already COMPLETED right after the write
  (the copy may be that quick), COMPLETED once it arrived, none outside the rule;
- a delete on A reaches B (DeleteMarkerReplication enabled);
- B stopped for a while: writes and deletes on A wait (PENDING), and once B is back they all
  arrive, nothing lost;
- removing the configuration stops replication.

Run by `cargo xtask e2e --suite replication` (S3_ENDPOINT, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, E2E_TMP, DEPOT_API_BIN, DEPOT_ADMIN_BIN). The harness starts A with
DEPOT_REPLICATION_MAX_RETRY_SECS=2, so a retry after B comes back is at most 2 s away.
"""

import json
import os
import subprocess
import sys
import time
import unittest
import uuid

from botocore.exceptions import ClientError

from depot_e2e import DepotServer, empty_and_delete, eventually, s3_client

ENDPOINT = os.environ["S3_ENDPOINT"]
ROOT_KEY = os.environ["AWS_ACCESS_KEY_ID"]
ROOT_SECRET = os.environ["AWS_SECRET_ACCESS_KEY"]
DEPOT_API = os.environ.get("DEPOT_API_BIN")
DEPOT_ADMIN = os.environ.get("DEPOT_ADMIN_BIN")


def admin(*args):
    env = dict(os.environ)
    env.update(DEPOT_ENDPOINT=ENDPOINT, DEPOT_ACCESS_KEY=ROOT_KEY, DEPOT_SECRET_KEY=ROOT_SECRET)
    done = subprocess.run(
        [DEPOT_ADMIN, *args], env=env, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise AssertionError(f"depot-admin {' '.join(args)}: exit {done.returncode}: {done.stderr}")
    return done.stdout


def exists(client, bucket, key):
    try:
        client.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def status_of(client, bucket, key):
    return client.head_object(Bucket=bucket, Key=key).get("ReplicationStatus")


@unittest.skipUnless(DEPOT_API and DEPOT_ADMIN, "needs DEPOT_API_BIN and DEPOT_ADMIN_BIN")
class Replication(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.remote = DepotServer("b", DEPOT_REPLICATION_WORKERS="0")
        cls.remote.start()
        cls.b = s3_client(cls.remote.endpoint, cls.remote.key, cls.remote.secret)
        cls.a = s3_client(ENDPOINT, ROOT_KEY, ROOT_SECRET)
        tag = uuid.uuid4().hex[:8]
        cls.source = f"e2e-replication-source-{tag}"
        cls.target = f"e2e-replication-target-{tag}"
        cls.a.create_bucket(Bucket=cls.source)
        cls.b.create_bucket(Bucket=cls.target)
        admin(
            "replication", "set", cls.source,
            "--destination", cls.target,
            "--prefix", "docs/",
            "--delete-markers",
            "--role", "arn:aws:iam::0000000000000000:role/s3-replication-role",
            "--remote-endpoint", cls.remote.endpoint,
            "--remote-access-key", cls.remote.key,
            "--remote-secret-key", cls.remote.secret,
        )

    @classmethod
    def tearDownClass(cls):
        try:
            empty_and_delete(cls.a, cls.source)
        finally:
            cls.remote.stop()

    def test_1_writes_arrive_with_their_metadata(self):
        started = time.monotonic()
        self.a.put_object(
            Bucket=self.source, Key="docs/one.txt", Body=b"replicated bytes",
            ContentType="text/plain", Metadata={"colour": "blue"},
        )
        self.a.put_object(Bucket=self.source, Key="other/skip.txt", Body=b"not covered")
        # A 12 MiB multipart object: its ETag is not an MD5, so it travels without Content-MD5.
        big = os.urandom(12 * 1024 * 1024)
        upload = self.a.create_multipart_upload(Bucket=self.source, Key="docs/big.bin")
        parts = []
        for number, offset in enumerate(range(0, len(big), 6 * 1024 * 1024), start=1):
            part = self.a.upload_part(
                Bucket=self.source, Key="docs/big.bin", UploadId=upload["UploadId"],
                PartNumber=number, Body=big[offset:offset + 6 * 1024 * 1024],
            )
            parts.append({"PartNumber": number, "ETag": part["ETag"]})
        self.a.complete_multipart_upload(
            Bucket=self.source, Key="docs/big.bin", UploadId=upload["UploadId"],
            MultipartUpload={"Parts": parts},
        )
        self.assertIn(status_of(self.a, self.source, "docs/one.txt"), ("PENDING", "COMPLETED"))
        self.assertIsNone(status_of(self.a, self.source, "other/skip.txt"))

        arrived = eventually("docs/one.txt and docs/big.bin are on B", lambda: exists(
            self.b, self.target, "docs/one.txt") and exists(self.b, self.target, "docs/big.bin"))
        copy = self.b.get_object(Bucket=self.target, Key="docs/one.txt")
        self.assertEqual(copy["Body"].read(), b"replicated bytes")
        self.assertEqual(copy["ContentType"], "text/plain")
        self.assertEqual(copy["Metadata"], {"colour": "blue"})
        self.assertEqual(self.b.get_object(Bucket=self.target, Key="docs/big.bin")["Body"].read(), big)
        self.assertFalse(exists(self.b, self.target, "other/skip.txt"))
        eventually("A shows COMPLETED", lambda: status_of(
            self.a, self.source, "docs/one.txt") == "COMPLETED"
            and status_of(self.a, self.source, "docs/big.bin") == "COMPLETED")
        print(f"  written on A, readable on B after {arrived - started:.1f} s")

    def test_2_deletes_arrive(self):
        self.a.put_object(Bucket=self.source, Key="docs/doomed.txt", Body=b"short-lived")
        eventually("docs/doomed.txt is on B", lambda: exists(self.b, self.target, "docs/doomed.txt"))
        self.a.delete_object(Bucket=self.source, Key="docs/doomed.txt")
        eventually("the delete reaches B", lambda: not exists(
            self.b, self.target, "docs/doomed.txt"))

    def test_3_a_stopped_destination_catches_up(self):
        self.a.put_object(Bucket=self.source, Key="docs/before-stop.txt", Body=b"x")
        eventually("docs/before-stop.txt is on B", lambda: exists(
            self.b, self.target, "docs/before-stop.txt"))
        self.remote.stop()
        written = {f"docs/while-down-{n}.txt": os.urandom(1000 + n) for n in range(20)}
        for key, body in written.items():
            self.a.put_object(Bucket=self.source, Key=key, Body=body)
        self.a.delete_object(Bucket=self.source, Key="docs/before-stop.txt")
        time.sleep(3)  # several failed attempts, backing off
        self.assertEqual(status_of(self.a, self.source, "docs/while-down-0.txt"), "PENDING")
        self.remote.start()
        started = time.monotonic()
        eventually("everything written while B was down is on B", lambda: all(
            exists(self.b, self.target, key) for key in written))
        eventually("the delete made while B was down reaches B", lambda: not exists(
            self.b, self.target, "docs/before-stop.txt"))
        for key, body in written.items():
            self.assertEqual(self.b.get_object(Bucket=self.target, Key=key)["Body"].read(), body)
        eventually("A shows COMPLETED", lambda: all(
            status_of(self.a, self.source, key) == "COMPLETED" for key in written))
        print(f"  B back: {len(written)} writes and 1 delete caught up in "
              f"{time.monotonic() - started:.1f} s")

    def test_4_removing_the_configuration_stops_replication(self):
        shown = json.loads(admin("--json", "replication", "show", self.source))
        self.assertEqual(
            [(r["destination_bucket"], r["prefix"]) for r in shown["rules"]],
            [(self.target, "docs/")],
        )
        admin("replication", "delete", self.source)
        self.a.put_object(Bucket=self.source, Key="docs/after.txt", Body=b"stays home")
        self.assertIsNone(status_of(self.a, self.source, "docs/after.txt"))
        time.sleep(2)
        self.assertFalse(exists(self.b, self.target, "docs/after.txt"))


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    ran = result.testsRun - len(result.skipped)
    sys.exit(0 if result.wasSuccessful() and ran > 0 else 1)
