#!/usr/bin/env python3
"""boto3 against the S3 endpoint: every operation of the data plane, its success and its
error cases, with error codes and HTTP statuses asserted exactly as AWS S3 answers them.

Run by `cargo xtask e2e --suite boto3`, which sets S3_ENDPOINT, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION and E2E_TMP. Every test creates its own bucket (a
uuid in its name) and removes it. Path-style addressing, except VirtualHostedTests (when the
harness gives S3_VIRTUAL_DOMAIN); about 28 MiB uploaded.
Standard library and boto3 only: unittest, http.client for the raw HTTP a presigned URL or a
POST form needs.

E2E_REFERENCE=moto relaxes exactly the checks wrapped in `moto_gap(...)`: behaviours moto's
server mode lacks (it checks no signatures, for one). Against Depot nothing is relaxed.
"""

import base64
import contextlib
import datetime
import hashlib
import http.client
import io
import os
import socket
import sys
import time
import unittest
import urllib.parse
import uuid
import zlib

import boto3
import botocore
from boto3.s3.transfer import TransferConfig
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from depot_e2e import empty_and_delete

ENDPOINT = os.environ["S3_ENDPOINT"]
ACCESS_KEY = os.environ["AWS_ACCESS_KEY_ID"]
SECRET_KEY = os.environ["AWS_SECRET_ACCESS_KEY"]
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
ON_MOTO = os.environ.get("E2E_REFERENCE") == "moto"
# The server's virtual-hosted base domain, when the harness started the server with one.
VIRTUAL_DOMAIN = os.environ.get("S3_VIRTUAL_DOMAIN")

MiB = 1024 * 1024
BOTOCORE = tuple(int(part) for part in botocore.__version__.split(".")[:2])
GAPS = []  # (test, reason) of every moto gap met, printed at the end
UPLOADED = [0]  # object bytes sent, for the closing line


# ---- helpers ----


def make_client(signature_version="s3v4", access_key=ACCESS_KEY, secret_key=SECRET_KEY, **s3):
    """A client as users configure one for a non-AWS endpoint: path style, no retries, so a
    server error is seen as itself and not hidden behind a successful retry."""
    config = Config(
        signature_version=signature_version,
        s3={"addressing_style": "path", **s3},
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=10,
        read_timeout=120,
    )
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )


def new_bucket_name(tag="b"):
    return f"e2e-boto3-{tag}-{uuid.uuid4().hex[:16]}"


@contextlib.contextmanager
def moto_gap(reason):
    """Marks checks moto's server mode does not pass. Against Depot (E2E_REFERENCE unset)
    this does nothing: every check inside must hold. On moto a failure inside is reported
    and the rest of the block is skipped."""
    if not ON_MOTO:
        yield
        return
    try:
        yield
    except (AssertionError, ClientError, KeyError) as e:
        GAPS.append(reason)
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"\n    moto gap ({reason}): {first[:200]}", file=sys.stderr)


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def quoted_md5(data):
    return '"' + hashlib.md5(data).hexdigest() + '"'


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c_b64(data):
    """CRC32C (Castagnoli) in pure Python: botocore needs awscrt for it, and computing it
    here lets the test send the value itself, as an SDK with CRT would."""
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return base64.b64encode((c ^ 0xFFFFFFFF).to_bytes(4, "big")).decode()


def sha256_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def raw_http(method, url, body=None, headers=None):
    """One request outside boto3 (presigned URLs, POST forms): (status, headers, body)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        path = parts.path + ("?" + parts.query if parts.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def multipart_form(fields, file_field, filename, content):
    """Encodes a POST-object form; the file must be the last field (S3 ignores any after)."""
    boundary = "----depot-e2e-" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f"--{boundary}\r\n".encode())
        out.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(str(value).encode() + b"\r\n")
    out.write(f"--{boundary}\r\n".encode())
    out.write(
        f'Content-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def flip_signature(url):
    """The presigned URL with the first character of its signature changed: same length, same
    alphabet (hex for SigV4, base64 for SigV2), so only the value is wrong."""
    head, sep, tail = url.partition("Signature=")
    assert sep, url
    if tail.startswith("%"):  # an escaped base64 `+`, `/` or `=`
        tail = "A" + tail[3:]
    else:
        tail = ("1" if tail[0] == "0" else "0") + tail[1:]
    return head + sep + tail


def error_code_in(body):
    """The <Code> of an S3 XML error body, or None."""
    text = body.decode("utf-8", "replace")
    start = text.find("<Code>")
    end = text.find("</Code>")
    return text[start + 6 : end] if start >= 0 and end > start else None


class S3Case(unittest.TestCase):
    """A test with a fresh client and a fresh bucket of its own."""

    def setUp(self):
        self.s3 = make_client()
        self.bucket = new_bucket_name()
        self.s3.create_bucket(Bucket=self.bucket)
        self.addCleanup(empty_and_delete, self.s3, self.bucket)

    def put(self, key, body=b"", **kw):
        UPLOADED[0] += len(body)
        return self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, **kw)

    def get_body(self, key, **kw):
        return self.s3.get_object(Bucket=self.bucket, Key=key, **kw)["Body"].read()

    def assert_error(self, code, status, fn, *args, **kwargs):
        """Calls fn and checks the S3 error code and HTTP status exactly."""
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        response = cm.exception.response
        got = (response["Error"].get("Code"), response["ResponseMetadata"]["HTTPStatusCode"])
        self.assertEqual(got, (code, status), f"full error response: {response}")
        return response

    def assert_status(self, response, status):
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], status, response)


# ---- buckets ----


class BucketTests(S3Case):
    def test_create_list_head_location(self):
        listed = self.s3.list_buckets()
        names = [b["Name"] for b in listed["Buckets"]]
        self.assertIn(self.bucket, names)
        self.assertIsInstance(listed["Buckets"][names.index(self.bucket)]["CreationDate"], datetime.datetime)
        self.assertTrue(listed["Owner"]["ID"], listed)
        self.assert_status(self.s3.head_bucket(Bucket=self.bucket), 200)
        # us-east-1 is reported as an empty LocationConstraint, which boto3 gives as None.
        self.assertIsNone(self.s3.get_bucket_location(Bucket=self.bucket).get("LocationConstraint"))

    def test_create_existing_bucket_is_already_owned(self):
        # AWS keeps a legacy 200 for this in us-east-1 only; Depot answers as every other
        # region does (and MinIO everywhere). moto copies the us-east-1 quirk.
        with moto_gap("409 BucketAlreadyOwnedByYou in us-east-1"):
            self.assert_error("BucketAlreadyOwnedByYou", 409, self.s3.create_bucket, Bucket=self.bucket)

    def test_invalid_bucket_names(self):
        # Names botocore lets through to the server; the server must refuse each.
        bad = [
            "ab",  # shorter than 3
            "a" * 64,  # longer than 63
            "Upper-Case",
            "under_score",
            "-leading-dash",
            "trailing-dash-",
            "double..dots",
            "192.168.5.4",  # formatted as an IP address
            "dot-.dash",
            "xn--reserved-prefix",
        ]
        for name in bad:
            with self.subTest(name=name), moto_gap("bucket name validation"):
                try:
                    self.assert_error("InvalidBucketName", 400, self.s3.create_bucket, Bucket=name)
                finally:
                    if ON_MOTO:
                        with contextlib.suppress(ClientError):
                            self.s3.delete_bucket(Bucket=name)

    def test_missing_bucket(self):
        missing = new_bucket_name("missing")
        # HEAD has no body, so botocore reports the status as the code.
        self.assert_error("404", 404, self.s3.head_bucket, Bucket=missing)
        self.assert_error("NoSuchBucket", 404, self.s3.list_objects_v2, Bucket=missing)
        self.assert_error("NoSuchBucket", 404, self.s3.get_object, Bucket=missing, Key="k")
        self.assert_error("NoSuchBucket", 404, self.s3.put_object, Bucket=missing, Key="k", Body=b"x")
        self.assert_error("NoSuchBucket", 404, self.s3.delete_bucket, Bucket=missing)
        self.assert_error("NoSuchBucket", 404, self.s3.get_bucket_location, Bucket=missing)

    def test_delete_bucket(self):
        self.put("k", b"x")
        self.assert_error("BucketNotEmpty", 409, self.s3.delete_bucket, Bucket=self.bucket)
        self.s3.delete_object(Bucket=self.bucket, Key="k")
        self.assert_status(self.s3.delete_bucket(Bucket=self.bucket), 204)
        self.assert_error("404", 404, self.s3.head_bucket, Bucket=self.bucket)
        self.assertNotIn(self.bucket, [b["Name"] for b in self.s3.list_buckets()["Buckets"]])

    def test_request_id_on_every_response(self):
        ok = self.s3.head_bucket(Bucket=self.bucket)["ResponseMetadata"]
        with moto_gap("x-amz-request-id (moto sends x-amzn-requestid)"):
            self.assertTrue(ok["HTTPHeaders"].get("x-amz-request-id"), ok)
            self.assertTrue(ok.get("RequestId"), ok)
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket=self.bucket, Key="missing")
        meta = cm.exception.response["ResponseMetadata"]
        with moto_gap("x-amz-request-id on errors"):
            self.assertTrue(meta["HTTPHeaders"].get("x-amz-request-id"), meta)
            # The error document carries the same id as the header.
            self.assertEqual(meta.get("RequestId"), meta["HTTPHeaders"]["x-amz-request-id"])


# ---- PutObject ----


class PutObjectTests(S3Case):
    def test_put_get_etag_is_quoted_md5(self):
        body = os.urandom(1000)
        put = self.put("obj", body)
        self.assertEqual(put["ETag"], quoted_md5(body))
        got = self.s3.get_object(Bucket=self.bucket, Key="obj")
        self.assertEqual(got["Body"].read(), body)
        self.assertEqual(got["ETag"], quoted_md5(body))
        self.assertEqual(got["ContentLength"], 1000)
        # No Content-Type given: S3 stores and returns binary/octet-stream.
        self.assertEqual(got["ContentType"], "binary/octet-stream")

    def test_empty_object(self):
        put = self.put("empty", b"")
        self.assertEqual(put["ETag"], '"d41d8cd98f00b204e9800998ecf8427e"')
        self.assertEqual(self.get_body("empty"), b"")
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="empty")["ContentLength"], 0)

    def test_overwrite(self):
        self.put("k", b"first")
        self.put("k", b"second")
        self.assertEqual(self.get_body("k"), b"second")

    def test_content_md5(self):
        body = b"checked body"
        self.put("good", body, ContentMD5=md5_b64(body))
        self.assertEqual(self.get_body("good"), body)
        # A well-formed digest of other bytes: the body was damaged in transit.
        with moto_gap("Content-MD5 verification"):
            self.assert_error("BadDigest", 400, self.put, "bad", body, ContentMD5=md5_b64(b"other"))
            self.assert_error("404", 404, self.s3.head_object, Bucket=self.bucket, Key="bad")
        # Not a base64 MD5 at all.
        with moto_gap("InvalidDigest"):
            self.assert_error("InvalidDigest", 400, self.put, "bad", body, ContentMD5="not-an-md5")
            self.assert_error("InvalidDigest", 400, self.put, "bad", body, ContentMD5=base64.b64encode(b"short").decode())

    def test_metadata_limit(self):
        # S3 limits user metadata to 2 KB: the UTF-8 bytes of every key and value, summed
        # (docs: "Working with object metadata"). Exactly 2048 passes, 2049 does not.
        self.put("at-limit", b"x", Metadata={"k": "v" * 2047})
        head = self.s3.head_object(Bucket=self.bucket, Key="at-limit")
        self.assertEqual(head["Metadata"], {"k": "v" * 2047})
        with moto_gap("MetadataTooLarge"):
            self.assert_error("MetadataTooLarge", 400, self.put, "over", b"x", Metadata={"k": "v" * 2048})
            self.assert_error(
                "MetadataTooLarge", 400, self.put, "over", b"x", Metadata={f"key{i}": "v" * 100 for i in range(20)}
            )

    def test_metadata_round_trip(self):
        meta = {"color": "blue", "with-dash": "a b  c", "number": "42", "empty": ""}
        self.put("m", b"x", Metadata=meta)
        got = self.s3.get_object(Bucket=self.bucket, Key="m")
        got["Body"].read()
        with moto_gap("empty metadata values"):
            self.assertEqual(got["Metadata"], meta)
        # Metadata names are case-insensitive HTTP headers: S3 lowercases them.
        self.put("upper", b"x", Metadata={"MixedCase": "Value"})
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="upper")["Metadata"], {"mixedcase": "Value"})

    def test_standard_headers_round_trip(self):
        expires = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        headers = dict(
            ContentType="text/html; charset=utf-8",
            ContentEncoding="gzip",
            ContentDisposition='attachment; filename="a b.html"',
            ContentLanguage="de-DE",
            CacheControl="no-cache, max-age=0",
            Expires=expires,
        )
        self.put("h", b"<p>x</p>", **headers)
        for op in (self.s3.head_object, self.s3.get_object):
            with self.subTest(op=op.__name__):
                got = op(Bucket=self.bucket, Key="h")
                for name, value in headers.items():
                    if name == "Expires":
                        self.assertEqual(got["ResponseMetadata"]["HTTPHeaders"]["expires"], "Wed, 02 Jan 2030 03:04:05 GMT")
                    else:
                        self.assertEqual(got[name], value, name)

    def test_if_none_match_star(self):
        # Conditional write: create only if absent (S3 since 2024).
        self.assert_status(self.put("once", b"1", IfNoneMatch="*"), 200)
        with moto_gap("If-None-Match on PutObject"):
            self.assert_error("PreconditionFailed", 412, self.put, "once", b"2", IfNoneMatch="*")
            self.assertEqual(self.get_body("once"), b"1")

    def test_if_match(self):
        etag = self.put("cas", b"1")["ETag"]
        self.assert_status(self.put("cas", b"2", IfMatch=etag), 200)
        self.assertEqual(self.get_body("cas"), b"2")
        with moto_gap("If-Match on PutObject"):
            self.assert_error("PreconditionFailed", 412, self.put, "cas", b"3", IfMatch=etag)
            self.assertEqual(self.get_body("cas"), b"2")
            # If-Match on a key that does not exist: there is nothing to match.
            self.assert_error("NoSuchKey", 404, self.put, "absent", b"x", IfMatch=etag)

    def test_keys_are_just_names(self):
        # Keys with path-like, URL-special and unicode characters round-trip and list as sent;
        # `..` is a name, never a directory traversal.
        keys = [
            "../../etc/passwd",
            "a/../b",
            "./dot",
            "with space",
            "plus+sign",
            "percent%2Fencoded",
            "hash#tag",
            "question?mark",
            "amp&eq=",
            "semi;colon",
            "ü/日本語/🎉",
            "back\\slash",
            "trailing/",
            "double//slash",
            "tab\tand~tilde",
            "k" * 1024,  # the longest key S3 allows (1024 bytes of UTF-8)
        ]
        for key in keys:
            with self.subTest(key=key[:40]):
                self.put(key, key.encode())
                self.assertEqual(self.get_body(key), key.encode())
                self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key=key)["ContentLength"], len(key.encode()))
        listed = [o["Key"] for p in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket) for o in p["Contents"]]
        self.assertEqual(sorted(listed, key=lambda k: k.encode()), sorted(keys, key=lambda k: k.encode()))
        with moto_gap("KeyTooLongError"):
            self.assert_error("KeyTooLongError", 400, self.put, "k" * 1025, b"x")
        if ON_MOTO:
            self.s3.delete_object(Bucket=self.bucket, Key="k" * 1025)
        for key in keys:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.bucket)["KeyCount"], 0)


# ---- GetObject, HeadObject, DeleteObject ----


class GetObjectTests(S3Case):
    BODY = bytes(range(100))

    def setUp(self):
        super().setUp()
        self.etag = self.put("r", self.BODY)["ETag"]
        self.modified = self.s3.head_object(Bucket=self.bucket, Key="r")["LastModified"]

    def test_ranges(self):
        cases = [
            ("bytes=0-9", "bytes 0-9/100", self.BODY[0:10]),
            ("bytes=10-10", "bytes 10-10/100", self.BODY[10:11]),
            ("bytes=90-", "bytes 90-99/100", self.BODY[90:]),
            ("bytes=-5", "bytes 95-99/100", self.BODY[95:]),
            ("bytes=95-200", "bytes 95-99/100", self.BODY[95:]),  # end clipped to the size
            ("bytes=-500", "bytes 0-99/100", self.BODY),  # suffix longer than the object
        ]
        for rng, content_range, expected in cases:
            with self.subTest(range=rng):
                got = self.s3.get_object(Bucket=self.bucket, Key="r", Range=rng)
                self.assert_status(got, 206)
                self.assertEqual(got["ContentRange"], content_range)
                self.assertEqual(got["ContentLength"], len(expected))
                self.assertEqual(got["Body"].read(), expected)
                self.assertEqual(got["ETag"], self.etag)
                self.assertEqual(got["AcceptRanges"], "bytes")

    def test_unsatisfiable_ranges(self):
        for rng in ("bytes=100-", "bytes=100-200", "bytes=1000-1001"):
            with self.subTest(range=rng):
                self.assert_error("InvalidRange", 416, self.s3.get_object, Bucket=self.bucket, Key="r", Range=rng)

    def test_range_of_empty_object(self):
        # No byte of an empty object can be satisfied.
        self.put("empty", b"")
        self.assert_error("InvalidRange", 416, self.s3.get_object, Bucket=self.bucket, Key="empty", Range="bytes=0-0")
        self.assertEqual(self.get_body("empty"), b"")

    def test_range_not_understood_is_ignored(self):
        # RFC 9110: a Range a server does not support is ignored — the whole object, 200.
        for rng in ("bytes=5-2", "items=0-1", "bytes=a-b"):
            with self.subTest(range=rng), moto_gap("ignoring a Range it cannot parse"):
                got = self.s3.get_object(Bucket=self.bucket, Key="r", Range=rng)
                self.assert_status(got, 200)
                self.assertEqual(got["Body"].read(), self.BODY)

    def test_conditionals(self):
        day = datetime.timedelta(days=1)
        get = lambda **kw: self.s3.get_object(Bucket=self.bucket, Key="r", **kw)  # noqa: E731
        self.assert_status(get(IfMatch=self.etag), 200)
        self.assert_status(get(IfNoneMatch='"0123456789abcdef0123456789abcdef"'), 200)
        self.assert_status(get(IfModifiedSince=self.modified - day), 200)
        self.assert_status(get(IfUnmodifiedSince=self.modified + day), 200)
        self.assert_error("PreconditionFailed", 412, get, IfMatch='"0123456789abcdef0123456789abcdef"')
        self.assert_error("304", 304, get, IfNoneMatch=self.etag)
        # Equal to Last-Modified (whole seconds on the wire) is "not modified since".
        self.assert_error("304", 304, get, IfModifiedSince=self.modified)
        self.assert_error("PreconditionFailed", 412, get, IfUnmodifiedSince=self.modified - day)
        # Precedence (RFC 7232 §6, as the S3 GetObject page spells it out): If-Match true
        # wins over If-Unmodified-Since false; If-None-Match false wins over
        # If-Modified-Since true.
        with moto_gap("conditional precedence"):
            self.assert_status(get(IfMatch=self.etag, IfUnmodifiedSince=self.modified - day), 200)
            self.assert_error("304", 304, get, IfNoneMatch=self.etag, IfModifiedSince=self.modified - day)
        # The same conditions on HEAD.
        head = lambda **kw: self.s3.head_object(Bucket=self.bucket, Key="r", **kw)  # noqa: E731
        self.assert_error("304", 304, head, IfNoneMatch=self.etag)
        self.assert_error("412", 412, head, IfMatch='"0123456789abcdef0123456789abcdef"')

    def test_response_overrides(self):
        with moto_gap("response-* overrides"):
            got = self.s3.get_object(
                Bucket=self.bucket,
                Key="r",
                ResponseContentType="text/plain",
                ResponseContentLanguage="fr",
                ResponseExpires=datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc),
                ResponseCacheControl="no-store",
                ResponseContentDisposition='inline; filename="x.txt"',
                ResponseContentEncoding="identity",
            )
            self.assertEqual(got["ContentType"], "text/plain")
            self.assertEqual(got["ContentLanguage"], "fr")
            self.assertEqual(got["CacheControl"], "no-store")
            self.assertEqual(got["ContentDisposition"], 'inline; filename="x.txt"')
            self.assertEqual(got["ContentEncoding"], "identity")
            self.assertEqual(got["ResponseMetadata"]["HTTPHeaders"]["expires"], "Tue, 06 May 2031 07:08:09 GMT")
            self.assertEqual(got["Body"].read(), self.BODY)

    def test_head_object(self):
        head = self.s3.head_object(Bucket=self.bucket, Key="r")
        self.assertEqual(head["ContentLength"], 100)
        self.assertEqual(head["ETag"], self.etag)
        self.assertIsInstance(head["LastModified"], datetime.datetime)
        # A missing key: 404, and HEAD carries no error body, so the code is the status.
        missing = self.assert_error("404", 404, self.s3.head_object, Bucket=self.bucket, Key="nope")
        self.assertEqual(missing["Error"].get("Message"), "Not Found")

    def test_missing_key(self):
        response = self.assert_error("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="nope")
        with moto_gap("Key in the NoSuchKey error"):
            self.assertEqual(response["Error"].get("Key"), "nope")
        # A prefix of existing keys is not itself an object.
        self.put("dir/file", b"x")
        self.assert_error("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="dir/")
        self.assert_error("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="dir")

    def test_delete_object(self):
        self.assert_status(self.s3.delete_object(Bucket=self.bucket, Key="r"), 204)
        self.assert_error("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="r")
        # Deleting what is not there is still a success.
        self.assert_status(self.s3.delete_object(Bucket=self.bucket, Key="r"), 204)
        self.assert_status(self.s3.delete_object(Bucket=self.bucket, Key="never/was"), 204)


# ---- CopyObject ----


class CopyObjectTests(S3Case):
    def setUp(self):
        super().setUp()
        self.body = os.urandom(2000)
        self.etag = self.put(
            "src", self.body, ContentType="text/x-src", Metadata={"origin": "src"}, CacheControl="max-age=5"
        )["ETag"]
        self.modified = self.s3.head_object(Bucket=self.bucket, Key="src")["LastModified"]

    def source(self, key="src"):
        return {"Bucket": self.bucket, "Key": key}

    def test_copy_directive(self):
        out = self.s3.copy_object(Bucket=self.bucket, Key="dst", CopySource=self.source())
        self.assertEqual(out["CopyObjectResult"]["ETag"], self.etag)
        self.assertIsInstance(out["CopyObjectResult"]["LastModified"], datetime.datetime)
        got = self.s3.get_object(Bucket=self.bucket, Key="dst")
        self.assertEqual(got["Body"].read(), self.body)
        self.assertEqual(got["ContentType"], "text/x-src")
        self.assertEqual(got["Metadata"], {"origin": "src"})
        self.assertEqual(got["CacheControl"], "max-age=5")
        self.assertEqual(got["ETag"], self.etag)
        # COPY ignores metadata sent with the request.
        self.s3.copy_object(
            Bucket=self.bucket, Key="dst2", CopySource=self.source(), MetadataDirective="COPY", Metadata={"x": "y"}
        )
        with moto_gap("metadata ignored under COPY"):
            self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="dst2")["Metadata"], {"origin": "src"})

    def test_replace_directive(self):
        self.s3.copy_object(
            Bucket=self.bucket,
            Key="dst",
            CopySource=self.source(),
            MetadataDirective="REPLACE",
            ContentType="application/x-new",
            Metadata={"fresh": "1"},
        )
        head = self.s3.head_object(Bucket=self.bucket, Key="dst")
        self.assertEqual(head["ContentType"], "application/x-new")
        self.assertEqual(head["Metadata"], {"fresh": "1"})
        self.assertNotIn("CacheControl", head)
        self.assertEqual(self.get_body("dst"), self.body)

    def test_copy_onto_itself(self):
        # Without REPLACE nothing would change, which S3 refuses.
        with moto_gap("InvalidRequest for a copy onto itself"):
            self.assert_error(
                "InvalidRequest", 400, self.s3.copy_object, Bucket=self.bucket, Key="src", CopySource=self.source()
            )
        self.s3.copy_object(
            Bucket=self.bucket, Key="src", CopySource=self.source(), MetadataDirective="REPLACE", Metadata={"v": "2"}
        )
        head = self.s3.head_object(Bucket=self.bucket, Key="src")
        self.assertEqual(head["Metadata"], {"v": "2"})
        self.assertEqual(head["ETag"], self.etag)
        self.assertEqual(self.get_body("src"), self.body)

    def test_copy_source_conditionals(self):
        day = datetime.timedelta(days=1)
        copy = lambda **kw: self.s3.copy_object(Bucket=self.bucket, Key="dst", CopySource=self.source(), **kw)  # noqa: E731
        copy(CopySourceIfMatch=self.etag)
        copy(CopySourceIfNoneMatch='"0123456789abcdef0123456789abcdef"')
        copy(CopySourceIfModifiedSince=self.modified - day)
        copy(CopySourceIfUnmodifiedSince=self.modified + day)
        with moto_gap("copy-source conditionals"):
            # Unlike GET, a failed copy condition is always 412.
            self.assert_error("PreconditionFailed", 412, copy, CopySourceIfMatch='"0123456789abcdef0123456789abcdef"')
            self.assert_error("PreconditionFailed", 412, copy, CopySourceIfNoneMatch=self.etag)
            self.assert_error("PreconditionFailed", 412, copy, CopySourceIfModifiedSince=self.modified + day)
            self.assert_error("PreconditionFailed", 412, copy, CopySourceIfUnmodifiedSince=self.modified - day)

    def test_copy_between_buckets_and_awkward_keys(self):
        other = new_bucket_name("copy")
        self.s3.create_bucket(Bucket=other)
        self.addCleanup(empty_and_delete, self.s3, other)
        src_key = "ü dir/a+b%c#d?.txt"
        self.put(src_key, self.body)
        self.s3.copy_object(Bucket=other, Key="copied/ä ö+%.bin", CopySource=self.source(src_key))
        self.assertEqual(self.s3.get_object(Bucket=other, Key="copied/ä ö+%.bin")["Body"].read(), self.body)

    def test_copy_errors(self):
        self.assert_error("NoSuchKey", 404, self.s3.copy_object, Bucket=self.bucket, Key="d", CopySource=self.source("nope"))
        self.assert_error(
            "NoSuchBucket",
            404,
            self.s3.copy_object,
            Bucket=self.bucket,
            Key="d",
            CopySource={"Bucket": new_bucket_name("missing"), "Key": "src"},
        )
        self.assert_error(
            "NoSuchBucket", 404, self.s3.copy_object, Bucket=new_bucket_name("missing"), Key="d", CopySource=self.source()
        )


# ---- listings ----


class ListTests(S3Case):
    KEYS = ["a/1", "a/2", "a/b/3", "b/1", "c", "d", "e f", "ü", "z+z"]

    def setUp(self):
        super().setUp()
        for key in self.KEYS:
            self.put(key, key.encode())

    def test_list_objects_v1(self):
        out = self.s3.list_objects(Bucket=self.bucket)
        self.assertEqual([o["Key"] for o in out["Contents"]], sorted(self.KEYS, key=str.encode))
        self.assertFalse(out["IsTruncated"])
        first = out["Contents"][0]
        self.assertEqual(first["Size"], 3)
        self.assertEqual(first["ETag"], quoted_md5(b"a/1"))
        self.assertEqual(first["StorageClass"], "STANDARD")
        # v1 always names the owner.
        self.assertTrue(first["Owner"]["ID"])

        out = self.s3.list_objects(Bucket=self.bucket, Prefix="a/", Delimiter="/")
        self.assertEqual([o["Key"] for o in out["Contents"]], ["a/1", "a/2"])
        self.assertEqual([p["Prefix"] for p in out["CommonPrefixes"]], ["a/b/"])
        self.assertEqual(out["Prefix"], "a/")
        self.assertEqual(out["Delimiter"], "/")

        out = self.s3.list_objects(Bucket=self.bucket, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in out["CommonPrefixes"]], ["a/", "b/"])
        self.assertEqual([o["Key"] for o in out["Contents"]], ["c", "d", "e f", "z+z", "ü"])

        out = self.s3.list_objects(Bucket=self.bucket, Marker="c")
        self.assertEqual([o["Key"] for o in out["Contents"]], ["d", "e f", "z+z", "ü"])

    def test_list_objects_v1_pagination(self):
        seen, marker, pages = [], "", 0
        while pages < 20:
            pages += 1
            out = self.s3.list_objects(Bucket=self.bucket, MaxKeys=2, Marker=marker)
            self.assertEqual(out["MaxKeys"], 2)
            keys = [o["Key"] for o in out.get("Contents", [])]
            self.assertLessEqual(len(keys), 2)
            seen += keys
            if not out["IsTruncated"]:
                break
            # Without a delimiter S3 sends no NextMarker: the last key is the marker.
            marker = keys[-1]
        self.assertEqual(seen, sorted(self.KEYS, key=str.encode))
        self.assertEqual(pages, 5)
        # With a delimiter, NextMarker says where to go on (it may be a common prefix).
        with moto_gap("NextMarker with a delimiter"):
            out = self.s3.list_objects(Bucket=self.bucket, Delimiter="/", MaxKeys=1)
            self.assertTrue(out["IsTruncated"])
            self.assertEqual(out["NextMarker"], "a/")
            out = self.s3.list_objects(Bucket=self.bucket, Delimiter="/", MaxKeys=2, Marker="a/")
            self.assertEqual([p["Prefix"] for p in out.get("CommonPrefixes", [])], ["b/"])
            self.assertEqual([o["Key"] for o in out.get("Contents", [])], ["c"])
            self.assertEqual(out["NextMarker"], "c")

    def test_max_keys_zero(self):
        out = self.s3.list_objects_v2(Bucket=self.bucket, MaxKeys=0)
        self.assertEqual(out["KeyCount"], 0)
        self.assertNotIn("Contents", out)

    def test_encoding_type_url(self):
        # Asked for explicitly, botocore leaves the keys encoded as the server sent them. A
        # space may come as %20 or + (AWS has been seen sending each; clients decode with
        # unquote_plus), so a literal + must come as %2B and non-ASCII as UTF-8 escapes.
        space = ("e%20f", "e+f")
        out = self.s3.list_objects(Bucket=self.bucket, EncodingType="url", Delimiter="/")
        self.assertEqual(out["EncodingType"], "url")
        keys = [o["Key"] for o in out["Contents"]]
        self.assertEqual([urllib.parse.unquote_plus(k) for k in keys], ["c", "d", "e f", "z+z", "ü"])
        self.assertIn(keys[2], space)
        self.assertEqual(keys[3:], ["z%2Bz", "%C3%BC"])
        out = self.s3.list_objects_v2(Bucket=self.bucket, EncodingType="url", Prefix="e f")
        self.assertEqual(out["EncodingType"], "url")
        self.assertEqual(len(out["Contents"]), 1)
        self.assertIn(out["Contents"][0]["Key"], space)
        self.assertIn(out["Prefix"], space)
        # Without EncodingType botocore asks for url itself and decodes: keys come back exact.
        out = self.s3.list_objects_v2(Bucket=self.bucket)
        self.assertEqual([o["Key"] for o in out["Contents"]], sorted(self.KEYS, key=str.encode))

    def test_list_objects_v2(self):
        out = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="a/")
        self.assertEqual(out["KeyCount"], 3)
        self.assertEqual([o["Key"] for o in out["Contents"]], ["a/1", "a/2", "a/b/3"])
        # v2 names the owner only when asked to.
        self.assertNotIn("Owner", out["Contents"][0])
        owned = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="a/", FetchOwner=True)
        self.assertTrue(owned["Contents"][0]["Owner"]["ID"])
        out = self.s3.list_objects_v2(Bucket=self.bucket, StartAfter="d")
        self.assertEqual([o["Key"] for o in out["Contents"]], ["e f", "z+z", "ü"])
        self.assertEqual(out["StartAfter"], "d")
        out = self.s3.list_objects_v2(Bucket=self.bucket, Delimiter="/")
        self.assertEqual(out["KeyCount"], 7)  # 5 keys and 2 prefixes

    def test_list_objects_v2_pagination(self):
        seen, token, pages = [], None, 0
        while pages < 20:
            pages += 1
            kw = {"ContinuationToken": token} if token else {}
            out = self.s3.list_objects_v2(Bucket=self.bucket, MaxKeys=2, **kw)
            if token:
                with moto_gap("ContinuationToken echoed"):
                    self.assertEqual(out["ContinuationToken"], token)
            self.assertEqual(out["KeyCount"], len(out.get("Contents", [])))
            seen += [o["Key"] for o in out.get("Contents", [])]
            if not out["IsTruncated"]:
                self.assertNotIn("NextContinuationToken", out)
                break
            token = out["NextContinuationToken"]
        self.assertEqual(seen, sorted(self.KEYS, key=str.encode))
        self.assertEqual(pages, 5)
        # The paginator, with a delimiter: prefixes and keys, each once.
        pages = list(
            self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Delimiter="/", PaginationConfig={"PageSize": 1}
            )
        )
        prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
        self.assertEqual(prefixes, ["a/", "b/"])
        self.assertEqual(keys, ["c", "d", "e f", "z+z", "ü"])
        with moto_gap("continuation token validation"):
            self.assert_error(
                "InvalidArgument", 400, self.s3.list_objects_v2, Bucket=self.bucket, ContinuationToken="not-a-token"
            )

    def test_list_object_versions(self):
        # An unversioned bucket lists each object as its one `null` version.
        out = self.s3.list_object_versions(Bucket=self.bucket, Prefix="a/")
        versions = out["Versions"]
        self.assertEqual([v["Key"] for v in versions], ["a/1", "a/2", "a/b/3"])
        for v in versions:
            with moto_gap("null version ids"):
                self.assertEqual(v["VersionId"], "null")
            self.assertTrue(v["IsLatest"])
            self.assertEqual(v["ETag"], quoted_md5(v["Key"].encode()))
        self.assertNotIn("DeleteMarkers", out)
        out = self.s3.list_object_versions(Bucket=self.bucket, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in out["CommonPrefixes"]], ["a/", "b/"])
        out = self.s3.list_object_versions(Bucket=self.bucket, MaxKeys=2)
        self.assertTrue(out["IsTruncated"])
        self.assertEqual(out["NextKeyMarker"], "a/2")
        with moto_gap("KeyMarker on ListObjectVersions"):
            out = self.s3.list_object_versions(Bucket=self.bucket, KeyMarker="e f")
            self.assertEqual([v["Key"] for v in out["Versions"]], ["z+z", "ü"])


# ---- DeleteObjects ----


class DeleteObjectsTests(S3Case):
    def test_delete_objects(self):
        for key in ("x1", "x2", "x3"):
            self.put(key, b"x")
        out = self.s3.delete_objects(
            Bucket=self.bucket, Delete={"Objects": [{"Key": "x1"}, {"Key": "x2"}, {"Key": "never-was"}]}
        )
        # Every key is reported deleted, whether it existed or not.
        self.assertEqual(sorted(d["Key"] for d in out["Deleted"]), ["never-was", "x1", "x2"])
        self.assertNotIn("Errors", out)
        self.assertEqual([o["Key"] for o in self.s3.list_objects_v2(Bucket=self.bucket)["Contents"]], ["x3"])

    def test_quiet_mode(self):
        self.put("q", b"x")
        out = self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": "q"}], "Quiet": True})
        with moto_gap("Quiet DeleteObjects"):
            self.assertNotIn("Deleted", out)
        self.assertNotIn("Errors", out)
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.bucket)["KeyCount"], 0)

    def test_errors_per_key(self):
        # A version that does not exist fails for that key alone; the request and the other
        # keys succeed, and Quiet mode still reports the failure.
        self.put("good", b"x")
        self.put("versioned", b"x")
        with moto_gap("per-key errors in DeleteObjects"):
            out = self.s3.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": "good"}, {"Key": "versioned", "VersionId": "no-such-version"}], "Quiet": True},
            )
            self.assert_status(out, 200)
            self.assertNotIn("Deleted", out)
            errors = out["Errors"]
            self.assertEqual([e["Key"] for e in errors], ["versioned"])
            self.assertEqual(errors[0]["Code"], "NoSuchVersion", errors)
            self.assertEqual([o["Key"] for o in self.s3.list_objects_v2(Bucket=self.bucket)["Contents"]], ["versioned"])

    def test_too_many_keys(self):
        # S3 takes at most 1000 keys per request.
        keys = [{"Key": f"k{i}"} for i in range(1001)]
        with moto_gap("1000-key limit of DeleteObjects"):
            self.assert_error("MalformedXML", 400, self.s3.delete_objects, Bucket=self.bucket, Delete={"Objects": keys})


# ---- multipart ----


class MultipartTests(S3Case):
    def create(self, key="mp", **kw):
        return self.s3.create_multipart_upload(Bucket=self.bucket, Key=key, **kw)["UploadId"]

    def upload(self, upload_id, number, body, key="mp"):
        UPLOADED[0] += len(body)
        return self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)["ETag"]

    def complete(self, upload_id, parts, key="mp", **kw):
        return self.s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]},
            **kw,
        )

    def test_conditional_complete(self):
        # If-None-Match: * and If-Match hold for a completion as for a PutObject.
        current = self.put("mp", b"current")["ETag"]
        upload_id = self.create()
        etag = self.upload(upload_id, 1, b"next")
        with moto_gap("conditional CompleteMultipartUpload"):
            self.assert_error("PreconditionFailed", 412, self.complete, upload_id, [(1, etag)], IfNoneMatch="*")
            self.assert_error("PreconditionFailed", 412, self.complete, upload_id, [(1, etag)],
                              IfMatch='"0123456789abcdef0123456789abcdef"')
            self.assertEqual(self.get_body("mp"), b"current")
            self.assert_status(self.complete(upload_id, [(1, etag)], IfMatch=current), 200)
            self.assertEqual(self.get_body("mp"), b"next")

    def test_complete(self):
        p1, p2 = os.urandom(5 * MiB), os.urandom(1234)
        upload_id = self.create(ContentType="application/x-mp", Metadata={"m": "1"})
        e1 = self.upload(upload_id, 1, p1)
        e2 = self.upload(upload_id, 2, p2)
        self.assertEqual((e1, e2), (quoted_md5(p1), quoted_md5(p2)))
        out = self.complete(upload_id, [(1, e1), (2, e2)])
        expected = '"' + hashlib.md5(hashlib.md5(p1).digest() + hashlib.md5(p2).digest()).hexdigest() + '-2"'
        self.assertEqual(out["ETag"], expected)
        self.assertEqual(out["Key"], "mp")
        self.assertEqual(out["Bucket"], self.bucket)
        got = self.s3.get_object(Bucket=self.bucket, Key="mp")
        self.assertEqual(got["Body"].read(), p1 + p2)
        self.assertEqual(got["ETag"], expected)
        self.assertEqual(got["ContentType"], "application/x-mp")
        self.assertEqual(got["Metadata"], {"m": "1"})
        self.assertEqual(got["ContentLength"], 5 * MiB + 1234)
        # A range across the part boundary.
        got = self.s3.get_object(Bucket=self.bucket, Key="mp", Range=f"bytes={5 * MiB - 3}-{5 * MiB + 2}")
        self.assertEqual(got["Body"].read(), p1[-3:] + p2[:3])
        # The upload is gone once completed.
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket=self.bucket))
        self.assert_error("NoSuchUpload", 404, self.s3.list_parts, Bucket=self.bucket, Key="mp", UploadId=upload_id)

    def test_reupload_part_replaces_it(self):
        upload_id = self.create()
        self.upload(upload_id, 1, b"old")
        e1 = self.upload(upload_id, 1, b"new")
        parts = self.s3.list_parts(Bucket=self.bucket, Key="mp", UploadId=upload_id)["Parts"]
        self.assertEqual([(p["PartNumber"], p["ETag"], p["Size"]) for p in parts], [(1, e1, 3)])
        self.complete(upload_id, [(1, e1)])
        self.assertEqual(self.get_body("mp"), b"new")

    def test_upload_part_copy(self):
        source = os.urandom(6 * MiB)
        self.put("source", source)
        upload_id = self.create()
        out = self.s3.upload_part_copy(
            Bucket=self.bucket,
            Key="mp",
            UploadId=upload_id,
            PartNumber=1,
            CopySource={"Bucket": self.bucket, "Key": "source"},
            CopySourceRange=f"bytes=0-{5 * MiB - 1}",
        )
        e1 = out["CopyPartResult"]["ETag"]
        self.assertEqual(e1, quoted_md5(source[: 5 * MiB]))
        out = self.s3.upload_part_copy(
            Bucket=self.bucket,
            Key="mp",
            UploadId=upload_id,
            PartNumber=2,
            CopySource={"Bucket": self.bucket, "Key": "source"},
            CopySourceRange=f"bytes={6 * MiB - 100}-{6 * MiB - 1}",
        )
        e2 = out["CopyPartResult"]["ETag"]
        self.complete(upload_id, [(1, e1), (2, e2)])
        self.assertEqual(self.get_body("mp"), source[: 5 * MiB] + source[-100:])
        # A range outside the source, or not of the form bytes=first-last: unlike GET, S3
        # answers both with 400 InvalidArgument ("Range specified is not valid for source
        # object of size: N").
        upload_id = self.create("mp2")
        for rng in (f"bytes={6 * MiB}-{7 * MiB}", f"bytes=0-{6 * MiB}", "bytes=10-5", "0-10", "bytes=0-"):
            with self.subTest(range=rng), moto_gap("copy-source-range validation"):
                self.assert_error(
                    "InvalidArgument",
                    400,
                    self.s3.upload_part_copy,
                    Bucket=self.bucket,
                    Key="mp2",
                    UploadId=upload_id,
                    PartNumber=1,
                    CopySource={"Bucket": self.bucket, "Key": "source"},
                    CopySourceRange=rng,
                )

    def test_abort(self):
        upload_id = self.create()
        self.upload(upload_id, 1, b"x")
        self.assert_status(self.s3.abort_multipart_upload(Bucket=self.bucket, Key="mp", UploadId=upload_id), 204)
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket=self.bucket))
        with moto_gap("NoSuchUpload for a part of an aborted upload (moto: 500)"):
            self.assert_error("NoSuchUpload", 404, self.upload, upload_id, 2, b"y")
        self.assert_error("NoSuchUpload", 404, self.s3.list_parts, Bucket=self.bucket, Key="mp", UploadId=upload_id)
        self.assert_error("404", 404, self.s3.head_object, Bucket=self.bucket, Key="mp")
        with moto_gap("NoSuchUpload on a second abort"):
            self.assert_error(
                "NoSuchUpload", 404, self.s3.abort_multipart_upload, Bucket=self.bucket, Key="mp", UploadId=upload_id
            )

    def test_list_parts_paginated(self):
        upload_id = self.create()
        etags = [self.upload(upload_id, n, bytes([n]) * n) for n in (1, 2, 3, 5)]
        out = self.s3.list_parts(Bucket=self.bucket, Key="mp", UploadId=upload_id, MaxParts=2)
        self.assertEqual([p["PartNumber"] for p in out["Parts"]], [1, 2])
        self.assertEqual([p["Size"] for p in out["Parts"]], [1, 2])
        self.assertEqual([p["ETag"] for p in out["Parts"]], etags[:2])
        self.assertTrue(out["IsTruncated"])
        self.assertEqual(out["NextPartNumberMarker"], 2)
        self.assertEqual(out["MaxParts"], 2)
        out = self.s3.list_parts(Bucket=self.bucket, Key="mp", UploadId=upload_id, MaxParts=2, PartNumberMarker=2)
        self.assertEqual([p["PartNumber"] for p in out["Parts"]], [3, 5])
        self.assertFalse(out["IsTruncated"])

    def test_list_multipart_uploads(self):
        ids = {key: self.create(key) for key in ("dir/a", "dir/b", "other")}
        out = self.s3.list_multipart_uploads(Bucket=self.bucket)
        self.assertEqual(sorted((u["Key"], u["UploadId"]) for u in out["Uploads"]), sorted(ids.items()))
        out = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix="dir/")
        self.assertEqual([u["Key"] for u in out["Uploads"]], ["dir/a", "dir/b"])
        with moto_gap("delimiter and pagination of ListMultipartUploads"):
            out = self.s3.list_multipart_uploads(Bucket=self.bucket, Delimiter="/")
            self.assertEqual([p["Prefix"] for p in out["CommonPrefixes"]], ["dir/"])
            self.assertEqual([u["Key"] for u in out["Uploads"]], ["other"])
            out = self.s3.list_multipart_uploads(Bucket=self.bucket, MaxUploads=1)
            self.assertTrue(out["IsTruncated"])
            self.assertEqual([u["Key"] for u in out["Uploads"]], ["dir/a"])
            self.assertEqual(out["NextKeyMarker"], "dir/a")
            out = self.s3.list_multipart_uploads(
                Bucket=self.bucket, KeyMarker=out["NextKeyMarker"], UploadIdMarker=out["NextUploadIdMarker"]
            )
            self.assertEqual([u["Key"] for u in out["Uploads"]], ["dir/b", "other"])

    def test_entity_too_small(self):
        upload_id = self.create()
        e1 = self.upload(upload_id, 1, b"a" * 1024)
        e2 = self.upload(upload_id, 2, b"b")
        with moto_gap("EntityTooSmall"):
            self.assert_error("EntityTooSmall", 400, self.complete, upload_id, [(1, e1), (2, e2)])
        # A single small part is fine: only the last part may be small.
        upload_id = self.create("single")
        e1 = self.upload(upload_id, 1, b"tiny", key="single")
        self.complete(upload_id, [(1, e1)], key="single")
        self.assertEqual(self.get_body("single"), b"tiny")

    def test_invalid_part(self):
        upload_id = self.create()
        e1 = self.upload(upload_id, 1, os.urandom(5 * MiB))
        e2 = self.upload(upload_id, 2, b"end")
        wrong = '"0123456789abcdef0123456789abcdef"'
        self.assert_error("InvalidPart", 400, self.complete, upload_id, [(1, e1), (2, wrong)])
        self.assert_error("InvalidPart", 400, self.complete, upload_id, [(1, e1), (3, e2)])
        with moto_gap("InvalidPartOrder"):
            self.assert_error("InvalidPartOrder", 400, self.complete, upload_id, [(2, e2), (1, e1)])
        # Failed completions leave the upload usable.
        self.complete(upload_id, [(1, e1), (2, e2)])
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="mp")["ContentLength"], 5 * MiB + 3)

    def test_part_number_range(self):
        upload_id = self.create()
        for number in (0, 10001):
            with self.subTest(part=number), moto_gap("part number range"):
                self.assert_error("InvalidArgument", 400, self.upload, upload_id, number, b"x")

    def test_no_such_upload(self):
        bogus = "bm90LWFuLXVwbG9hZC1pZA"
        with moto_gap("NoSuchUpload on complete and upload-part (moto: 500)"):
            self.assert_error("NoSuchUpload", 404, self.complete, bogus, [(1, '"0123456789abcdef0123456789abcdef"')])
            self.assert_error("NoSuchUpload", 404, self.upload, bogus, 1, b"x")
        self.assert_error("NoSuchUpload", 404, self.s3.list_parts, Bucket=self.bucket, Key="mp", UploadId=bogus)
        with moto_gap("NoSuchUpload on abort"):
            self.assert_error("NoSuchUpload", 404, self.s3.abort_multipart_upload, Bucket=self.bucket, Key="mp", UploadId=bogus)
        # An upload id belongs to its key.
        upload_id = self.create("mine")
        with moto_gap("upload ids bound to their key"):
            self.assert_error("NoSuchUpload", 404, self.upload, upload_id, 1, b"x", key="not-mine")

    def test_complete_without_parts(self):
        upload_id = self.create()
        with moto_gap("MalformedXML for an empty part list"):
            self.assert_error("MalformedXML", 400, self.complete, upload_id, [])

    def test_transfer_manager(self):
        # boto3's managed transfer: concurrent parts up, concurrent ranged GETs down.
        data = os.urandom(12 * MiB)
        config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
        UPLOADED[0] += len(data)
        self.s3.upload_fileobj(io.BytesIO(data), self.bucket, "managed", Config=config)
        head = self.s3.head_object(Bucket=self.bucket, Key="managed")
        self.assertTrue(head["ETag"].endswith('-3"'), head["ETag"])
        out = io.BytesIO()
        self.s3.download_fileobj(self.bucket, "managed", out, Config=config)
        self.assertEqual(out.getvalue(), data)


# ---- checksums ----


class ChecksumTests(S3Case):
    @unittest.skipIf(BOTOCORE < (1, 36), "botocore < 1.36 sends no checksum by default")
    def test_default_crc32(self):
        # botocore >= 1.36 sends a CRC32 of every PutObject by default.
        body = b"default checksum body"
        out = self.put("c", body)
        self.assertEqual(out.get("ChecksumCRC32"), crc32_b64(body))
        got = self.s3.get_object(Bucket=self.bucket, Key="c", ChecksumMode="ENABLED")
        self.assertEqual(got["Body"].read(), body)  # botocore also validates it on read
        self.assertEqual(got.get("ChecksumCRC32"), crc32_b64(body))

    def test_sha256(self):
        body = os.urandom(4096)
        out = self.put("s", body, ChecksumAlgorithm="SHA256")
        self.assertEqual(out.get("ChecksumSHA256"), sha256_b64(body))
        got = self.s3.get_object(Bucket=self.bucket, Key="s", ChecksumMode="ENABLED")
        self.assertEqual(got["Body"].read(), body)
        self.assertEqual(got.get("ChecksumSHA256"), sha256_b64(body))
        head = self.s3.head_object(Bucket=self.bucket, Key="s", ChecksumMode="ENABLED")
        self.assertEqual(head.get("ChecksumSHA256"), sha256_b64(body))

    def test_crc32c(self):
        body = b"123456789" * 50
        self.assertEqual(crc32c_b64(b"123456789"), base64.b64encode(bytes.fromhex("e3069283")).decode())
        out = self.put("c32c", body, ChecksumCRC32C=crc32c_b64(body))
        with moto_gap("CRC32C checksums"):
            self.assertEqual(out.get("ChecksumCRC32C"), crc32c_b64(body))
            got = self.s3.get_object(Bucket=self.bucket, Key="c32c", ChecksumMode="ENABLED")
            self.assertEqual(got.get("ChecksumCRC32C"), crc32c_b64(body))
        self.assertEqual(self.get_body("c32c"), body)

    def test_wrong_checksum_is_refused(self):
        body = b"the real body"
        with moto_gap("checksum verification"):
            self.assert_error("BadDigest", 400, self.put, "w", body, ChecksumSHA256=sha256_b64(b"another body"))
            self.assert_error("BadDigest", 400, self.put, "w", body, ChecksumCRC32C=crc32c_b64(b"another body"))
            self.assert_error("404", 404, self.s3.head_object, Bucket=self.bucket, Key="w")



class MultipartChecksumTests(S3Case):
    """Checksums of multipart uploads as S3 makes them: COMPOSITE (the algorithm over the
    parts' raw checksums, then -<parts>) and FULL_OBJECT (the CRC of the whole object)."""

    def create(self, key, **kw):
        return self.s3.create_multipart_upload(Bucket=self.bucket, Key=key, **kw)["UploadId"]

    def upload(self, key, upload_id, number, body, **kw):
        UPLOADED[0] += len(body)
        return self.s3.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body, **kw
        )

    def complete(self, key, upload_id, parts, **kw):
        return self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}, **kw
        )

    def test_composite_sha256(self):
        key = "composite"
        p1, p2 = os.urandom(5 * MiB), b"the tail of the object"
        upload_id = self.create(key, ChecksumAlgorithm="SHA256")
        # The part checksum given by the caller, then one botocore computes itself.
        r1 = self.upload(key, upload_id, 1, p1, ChecksumSHA256=sha256_b64(p1))
        r2 = self.upload(key, upload_id, 2, p2, ChecksumAlgorithm="SHA256")
        with moto_gap("part checksums of multipart uploads"):
            self.assertEqual(r1.get("ChecksumSHA256"), sha256_b64(p1))
            self.assertEqual(r2.get("ChecksumSHA256"), sha256_b64(p2))
        with moto_gap("ListParts checksums"):
            listed = self.s3.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id)
            self.assertEqual(listed.get("ChecksumAlgorithm"), "SHA256")
            self.assertEqual([p.get("ChecksumSHA256") for p in listed["Parts"]], [sha256_b64(p1), sha256_b64(p2)])
        parts = [
            {"PartNumber": 1, "ETag": r1["ETag"], "ChecksumSHA256": sha256_b64(p1)},
            {"PartNumber": 2, "ETag": r2["ETag"], "ChecksumSHA256": sha256_b64(p2)},
        ]
        composite = base64.b64encode(
            hashlib.sha256(hashlib.sha256(p1).digest() + hashlib.sha256(p2).digest()).digest()
        ).decode() + "-2"
        with moto_gap("completion checks part checksums"):
            # A part checksum that is not the part's: S3 answers InvalidPart.
            wrong = [dict(parts[0]), dict(parts[1], ChecksumSHA256=sha256_b64(b"another part"))]
            self.assert_error("InvalidPart", 400, self.complete, key, upload_id, wrong)
            # A composite upload's completion must list every part's checksum.
            missing = [parts[0], {"PartNumber": 2, "ETag": r2["ETag"]}]
            response = self.assert_error("InvalidRequest", 400, self.complete, key, upload_id, missing)
            self.assertIn("It was missing for part 2", response["Error"]["Message"])
        out = self.complete(key, upload_id, parts)
        with moto_gap("composite checksum of a multipart object"):
            self.assertEqual(out.get("ChecksumSHA256"), composite)
            if BOTOCORE >= (1, 36):
                self.assertEqual(out.get("ChecksumType"), "COMPOSITE")
            head = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
            self.assertEqual(head.get("ChecksumSHA256"), composite)
            if BOTOCORE >= (1, 36):
                self.assertEqual(head.get("ChecksumType"), "COMPOSITE")
            self.assertNotIn("ChecksumSHA256", self.s3.head_object(Bucket=self.bucket, Key=key))
        # botocore does not validate a composite checksum on read (it is no digest of the
        # bytes), and the bytes are the parts'.
        got = self.s3.get_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        self.assertEqual(got["Body"].read(), p1 + p2)

    def test_part_checksums_must_be_of_the_upload_algorithm(self):
        key = "strict"
        upload_id = self.create(key, ChecksumAlgorithm="SHA256")
        with moto_gap("part checksum algorithm of a composite upload"):
            # botocore >= 1.36 sends a CRC32 by default, older ones nothing: either way not
            # the SHA-256 the upload was created with.
            response = self.assert_error("InvalidRequest", 400, self.upload, key, upload_id, 1, b"part")
            self.assertIn("Checksum Type mismatch occurred", response["Error"]["Message"])
            self.assert_error(
                "BadDigest", 400, self.upload, key, upload_id, 1, b"part", ChecksumSHA256=sha256_b64(b"other")
            )

    @unittest.skipIf(BOTOCORE < (1, 36), "ChecksumType needs botocore >= 1.36")
    def test_full_object_crc32_through_the_transfer_manager(self):
        # Given the object's CRC32, s3transfer makes a FULL_OBJECT upload and sends the value
        # with the completion, which checks it against the CRC combined from the parts'.
        data = os.urandom(11 * MiB)
        config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=3)
        UPLOADED[0] += len(data)
        self.s3.upload_fileobj(
            io.BytesIO(data), self.bucket, "full", ExtraArgs={"ChecksumCRC32": crc32_b64(data)}, Config=config
        )
        head = self.s3.head_object(Bucket=self.bucket, Key="full", ChecksumMode="ENABLED")
        self.assertTrue(head["ETag"].endswith('-3"'), head["ETag"])
        with moto_gap("full-object checksum of a multipart object"):
            self.assertEqual(head.get("ChecksumCRC32"), crc32_b64(data))
            self.assertEqual(head.get("ChecksumType"), "FULL_OBJECT")
        # A full-object CRC is one botocore validates as the body streams.
        got = self.s3.get_object(Bucket=self.bucket, Key="full", ChecksumMode="ENABLED")
        self.assertEqual(got["Body"].read(), data)
        # A whole-object checksum that is not the object's is refused.
        UPLOADED[0] += len(data)
        with moto_gap("full-object checksum verification"):
            with self.assertRaises(ClientError) as cm:
                self.s3.upload_fileobj(
                    io.BytesIO(data),
                    self.bucket,
                    "full-wrong",
                    ExtraArgs={"ChecksumCRC32": crc32_b64(b"not the data")},
                    Config=config,
                )
            self.assertEqual(cm.exception.response["Error"]["Code"], "BadDigest")
            self.assert_error("404", 404, self.s3.head_object, Bucket=self.bucket, Key="full-wrong")

    @unittest.skipIf(BOTOCORE < (1, 36), "ChecksumType needs botocore >= 1.36")
    def test_full_object_crc32c_low_level(self):
        key = "full-c"
        p1, p2 = os.urandom(5 * MiB), os.urandom(4321)
        upload_id = self.create(key, ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT")
        r1 = self.upload(key, upload_id, 1, p1, ChecksumCRC32C=crc32c_b64(p1))
        r2 = self.upload(key, upload_id, 2, p2, ChecksumCRC32C=crc32c_b64(p2))
        whole = crc32c_b64(p1 + p2)
        # Part checksums are optional in a full-object completion.
        parts = [{"PartNumber": 1, "ETag": r1["ETag"]}, {"PartNumber": 2, "ETag": r2["ETag"]}]
        out = self.complete(key, upload_id, parts, ChecksumCRC32C=whole, ChecksumType="FULL_OBJECT")
        with moto_gap("full-object CRC32C of a multipart object"):
            self.assertEqual(out.get("ChecksumCRC32C"), whole)
            self.assertEqual(out.get("ChecksumType"), "FULL_OBJECT")
            head = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
            self.assertEqual(head.get("ChecksumCRC32C"), whole)
        self.assertEqual(self.get_body(key), p1 + p2)


# ---- presigned URLs and POST ----


class PresignTests(S3Case):
    def test_presigned_get_and_put(self):
        for sig in ("s3v4", "s3"):
            with self.subTest(signature=sig):
                signer = make_client(signature_version=sig)
                key = f"presigned/{sig}/ü +%#.txt"
                body = f"put via {sig}".encode()
                url = signer.generate_presigned_url(
                    "put_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=300
                )
                self.assertIn("X-Amz-Signature=" if sig == "s3v4" else "Signature=", url)
                UPLOADED[0] += len(body)
                status, _, data = raw_http("PUT", url, body=body)
                self.assertEqual(status, 200, data)
                self.assertEqual(self.get_body(key), body)
                url = signer.generate_presigned_url(
                    "get_object",
                    Params={"Bucket": self.bucket, "Key": key, "ResponseContentDisposition": "attachment"},
                    ExpiresIn=300,
                )
                status, headers, data = raw_http("GET", url)
                self.assertEqual((status, data), (200, body))
                with moto_gap("response-* overrides"):
                    self.assertEqual(headers.get("content-disposition"), "attachment")

    def test_presigned_refusals(self):
        self.put("k", b"secret")
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": "k"}, ExpiresIn=300)
        with moto_gap("presigned URL signatures"):
            tampered = flip_signature(url)
            status, _, data = raw_http("GET", tampered)
            self.assertEqual((status, error_code_in(data)), (403, "SignatureDoesNotMatch"), data)
            v2_url = make_client(signature_version="s3").generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": "k"}, ExpiresIn=300
            )
            status, _, data = raw_http("GET", flip_signature(v2_url))
            self.assertEqual((status, error_code_in(data)), (403, "SignatureDoesNotMatch"), data)
            # Another key under the same signature.
            status, _, data = raw_http("GET", url.replace("/k?", "/other?"))
            self.assertEqual((status, error_code_in(data)), (403, "SignatureDoesNotMatch"), data)
            short = self.s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": "k"}, ExpiresIn=1
            )
            time.sleep(2.5)
            status, _, data = raw_http("GET", short)
            self.assertEqual((status, error_code_in(data)), (403, "AccessDenied"), data)
            self.assertIn(b"expired", data)

    def test_post_object(self):
        post = self.s3.generate_presigned_post(
            Bucket=self.bucket,
            Key="uploads/${filename}",
            Fields={"Content-Type": "text/plain", "success_action_status": "201"},
            Conditions=[
                ["starts-with", "$key", "uploads/"],
                {"Content-Type": "text/plain"},
                {"success_action_status": "201"},
                ["content-length-range", 1, 1024],
            ],
            ExpiresIn=300,
        )
        body, content_type = multipart_form(post["fields"], "file", "hello.txt", b"posted content")
        UPLOADED[0] += len(b"posted content")
        status, headers, data = raw_http("POST", post["url"], body=body, headers={"Content-Type": content_type})
        self.assertEqual(status, 201, data)
        with moto_gap("PostResponse document"):
            self.assertIn(b"<Key>uploads/hello.txt</Key>", data)
            self.assertIn(f"<Bucket>{self.bucket}</Bucket>".encode(), data)
            self.assertIn(hashlib.md5(b"posted content").hexdigest().encode(), data)
        head = self.s3.head_object(Bucket=self.bucket, Key="uploads/hello.txt")
        self.assertEqual(head["ContentType"], "text/plain")
        self.assertEqual(self.get_body("uploads/hello.txt"), b"posted content")

        # Larger than content-length-range allows: refused, nothing stored.
        body, content_type = multipart_form(post["fields"], "file", "big.txt", b"x" * 2048)
        status, _, data = raw_http("POST", post["url"], body=body, headers={"Content-Type": content_type})
        with moto_gap("POST policy content-length-range"):
            self.assertEqual((status, error_code_in(data)), (400, "EntityTooLarge"), data)
            self.assert_error("404", 404, self.s3.head_object, Bucket=self.bucket, Key="uploads/big.txt")

        # A field the policy does not allow.
        fields = dict(post["fields"], **{"Content-Type": "text/html"})
        body, content_type = multipart_form(fields, "file", "evil.html", b"<script>")
        status, _, data = raw_http("POST", post["url"], body=body, headers={"Content-Type": content_type})
        with moto_gap("POST policy conditions"):
            self.assertEqual((status, error_code_in(data)), (403, "AccessDenied"), data)

    def test_post_object_default_status(self):
        post = self.s3.generate_presigned_post(Bucket=self.bucket, Key="plain.bin", ExpiresIn=300)
        body, content_type = multipart_form(post["fields"], "file", "x", b"abc")
        UPLOADED[0] += 3
        status, _, data = raw_http("POST", post["url"], body=body, headers={"Content-Type": content_type})
        self.assertEqual(status, 204, data)
        self.assertEqual(self.get_body("plain.bin"), b"abc")


# ---- authentication ----


# ---- ACLs (Object Ownership "BucketOwnerEnforced": the owner's full control only) ----


class AclTests(S3Case):
    def owner_grant(self, acl):
        grants = acl["Grants"]
        self.assertEqual(len(grants), 1, acl)
        self.assertEqual(grants[0]["Permission"], "FULL_CONTROL")
        self.assertEqual(grants[0]["Grantee"]["Type"], "CanonicalUser")
        self.assertEqual(grants[0]["Grantee"]["ID"], acl["Owner"]["ID"])
        return acl["Owner"]["ID"]

    def test_get_acls_show_the_owner_with_full_control(self):
        owner = self.owner_grant(self.s3.get_bucket_acl(Bucket=self.bucket))
        self.put("k", b"acl")
        self.assertEqual(self.owner_grant(self.s3.get_object_acl(Bucket=self.bucket, Key="k")), owner)
        self.assert_error("NoSuchKey", 404, self.s3.get_object_acl, Bucket=self.bucket, Key="missing")
        self.assert_error("NoSuchBucket", 404, self.s3.get_bucket_acl, Bucket=new_bucket_name("gone"))

    def test_put_acls_take_owner_only_grants(self):
        self.put("k", b"acl")
        for acl in ("private", "bucket-owner-full-control"):
            self.assert_status(self.s3.put_bucket_acl(Bucket=self.bucket, ACL=acl), 200)
            self.assert_status(self.s3.put_object_acl(Bucket=self.bucket, Key="k", ACL=acl), 200)
        policy = self.s3.get_bucket_acl(Bucket=self.bucket)
        document = {"Grants": policy["Grants"], "Owner": policy["Owner"]}
        self.assert_status(self.s3.put_bucket_acl(Bucket=self.bucket, AccessControlPolicy=document), 200)
        self.assert_status(self.s3.put_object_acl(Bucket=self.bucket, Key="k", AccessControlPolicy=document), 200)

    def test_grants_to_others_are_refused(self):
        self.put("k", b"acl")
        for acl in ("public-read", "public-read-write", "authenticated-read"):
            self.assert_error("AccessControlListNotSupported", 400, self.s3.put_bucket_acl, Bucket=self.bucket, ACL=acl)
            self.assert_error("AccessControlListNotSupported", 400, self.s3.put_object_acl, Bucket=self.bucket, Key="k", ACL=acl)
        self.assert_error(
            "AccessControlListNotSupported", 400, self.s3.put_bucket_acl, Bucket=self.bucket,
            GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"',
        )
        owner = self.s3.get_bucket_acl(Bucket=self.bucket)["Owner"]
        public = {
            "Owner": owner,
            "Grants": [
                {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
                {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"},
            ],
        }
        self.assert_error("AccessControlListNotSupported", 400, self.s3.put_object_acl, Bucket=self.bucket, Key="k", AccessControlPolicy=public)
        # Nothing changed: the owner alone, with full control.
        self.owner_grant(self.s3.get_object_acl(Bucket=self.bucket, Key="k"))


class AuthTests(S3Case):
    def test_anonymous_is_denied(self):
        self.put("k", b"x")
        anon = boto3.client(
            "s3",
            endpoint_url=ENDPOINT,
            region_name=REGION,
            config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
        )
        with moto_gap("authentication"):
            self.assert_error("AccessDenied", 403, anon.get_object, Bucket=self.bucket, Key="k")
            self.assert_error("AccessDenied", 403, anon.put_object, Bucket=self.bucket, Key="k2", Body=b"x")
            self.assert_error("AccessDenied", 403, anon.list_objects_v2, Bucket=self.bucket)
            self.assert_error("AccessDenied", 403, anon.list_buckets)
            self.assert_error("403", 403, anon.head_object, Bucket=self.bucket, Key="k")

    def test_wrong_secret(self):
        bad = make_client(secret_key=SECRET_KEY[:-1] + ("A" if SECRET_KEY[-1] != "A" else "B"))
        with moto_gap("signature verification"):
            self.assert_error("SignatureDoesNotMatch", 403, bad.list_objects_v2, Bucket=self.bucket)
            self.assert_error("SignatureDoesNotMatch", 403, bad.put_object, Bucket=self.bucket, Key="k", Body=b"x")
            self.assert_error("SignatureDoesNotMatch", 403, bad.list_buckets)
            bad_v2 = make_client(signature_version="s3", secret_key="wrong" + SECRET_KEY)
            self.assert_error("SignatureDoesNotMatch", 403, bad_v2.list_buckets)

    def test_unknown_access_key(self):
        stranger = make_client(access_key="AKIAIOSFODNN7EXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        with moto_gap("access key check"):
            self.assert_error("InvalidAccessKeyId", 403, stranger.list_objects_v2, Bucket=self.bucket)
            self.assert_error("InvalidAccessKeyId", 403, stranger.list_buckets)

    def test_signature_v2_client(self):
        # Older tools sign with Signature Version 2; Depot accepts it alongside SigV4.
        v2 = make_client(signature_version="s3")
        UPLOADED[0] += 7
        v2.put_object(Bucket=self.bucket, Key="v2 key+ü", Body=b"v2 body", ContentType="text/plain", Metadata={"a": "b"})
        got = v2.get_object(Bucket=self.bucket, Key="v2 key+ü")
        self.assertEqual(got["Body"].read(), b"v2 body")
        self.assertEqual(got["Metadata"], {"a": "b"})
        self.assertEqual([o["Key"] for o in v2.list_objects(Bucket=self.bucket)["Contents"]], ["v2 key+ü"])
        v2.delete_object(Bucket=self.bucket, Key="v2 key+ü")


# ---- virtual-hosted-style addressing ----


@contextlib.contextmanager
def resolved_to_loopback(domain):
    """Makes `domain` and every name under it resolve to 127.0.0.1 in this process, as a DNS
    wildcard record does in production (urllib3 and http.client look names up through
    socket.getaddrinfo)."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and (host == domain or host.endswith("." + domain)):
            host = "127.0.0.1"
        return real_getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real_getaddrinfo


@unittest.skipUnless(VIRTUAL_DOMAIN, "S3_VIRTUAL_DOMAIN is not set (the harness did not start the server)")
class VirtualHostedTests(unittest.TestCase):
    """boto3 addressing buckets as `<bucket>.<domain>`, the default of AWS SDKs."""

    def setUp(self):
        patch = resolved_to_loopback(VIRTUAL_DOMAIN)
        patch.__enter__()
        self.addCleanup(patch.__exit__, None, None, None)
        port = urllib.parse.urlsplit(ENDPOINT).port
        self.endpoint = f"http://{VIRTUAL_DOMAIN}:{port}"
        self.bucket = new_bucket_name("vhost")

    def client(self, signature_version="s3v4"):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(
                signature_version=signature_version,
                s3={"addressing_style": "virtual"},
                retries={"total_max_attempts": 1, "mode": "standard"},
            ),
        )

    def test_bucket_in_the_host_name(self):
        s3 = self.client()
        requests = []
        s3.meta.events.register("before-send.s3", lambda request, **_: requests.append(request.url))
        s3.create_bucket(Bucket=self.bucket)
        self.addCleanup(empty_and_delete, make_client(), self.bucket)
        UPLOADED[0] += 11
        s3.put_object(Bucket=self.bucket, Key="dir/hello.txt", Body=b"hello vhost", ContentType="text/plain")
        got = s3.get_object(Bucket=self.bucket, Key="dir/hello.txt")
        self.assertEqual(got["Body"].read(), b"hello vhost")
        self.assertEqual(got["ContentType"], "text/plain")
        self.assertEqual(s3.head_object(Bucket=self.bucket, Key="dir/hello.txt")["ContentLength"], 11)
        listed = s3.list_objects_v2(Bucket=self.bucket, Prefix="dir/")
        self.assertEqual([o["Key"] for o in listed["Contents"]], ["dir/hello.txt"])
        self.assertEqual(s3.list_objects_v2(Bucket=self.bucket, Delimiter="/")["CommonPrefixes"], [{"Prefix": "dir/"}])
        # The requests really named the bucket in the host, not the path.
        host = f"{self.bucket}.{VIRTUAL_DOMAIN}"
        self.assertTrue(requests and all(urllib.parse.urlsplit(url).hostname == host for url in requests), requests)
        self.assertTrue(all(not urllib.parse.urlsplit(url).path.startswith(f"/{self.bucket}") for url in requests), requests)
        # What one addressing style wrote, the other reads.
        self.assertEqual(make_client().get_object(Bucket=self.bucket, Key="dir/hello.txt")["Body"].read(), b"hello vhost")
        # Errors name the bucket and key as S3 does.
        with self.assertRaises(ClientError) as cm:
            s3.get_object(Bucket=self.bucket, Key="missing")
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchKey")
        s3.delete_object(Bucket=self.bucket, Key="dir/hello.txt")
        s3.delete_bucket(Bucket=self.bucket)
        with self.assertRaises(ClientError) as cm:
            s3.head_bucket(Bucket=self.bucket)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)

    def test_presigned_urls_and_signature_v2(self):
        s3 = self.client()
        s3.create_bucket(Bucket=self.bucket)
        self.addCleanup(empty_and_delete, make_client(), self.bucket)
        for signature_version in ("s3v4", "s3"):
            with self.subTest(signature=signature_version):
                signer = self.client(signature_version)
                key = f"signed/{signature_version}/ü +.txt"
                body = f"presigned {signature_version}".encode()
                put_url = signer.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=300)
                self.assertTrue(urllib.parse.urlsplit(put_url).hostname.startswith(self.bucket + "."), put_url)
                UPLOADED[0] += len(body)
                status, _, data = raw_http("PUT", put_url, body=body)
                self.assertEqual(status, 200, data)
                get_url = signer.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=300)
                status, _, data = raw_http("GET", get_url)
                self.assertEqual((status, data), (200, body))
                self.assertEqual(signer.get_object(Bucket=self.bucket, Key=key)["Body"].read(), body)


def main():
    print(f"boto3 {boto3.__version__}, botocore {botocore.__version__}, endpoint {ENDPOINT}"
          + (" (reference: moto)" if ON_MOTO else ""), flush=True)
    started = time.monotonic()
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, failfast=False).run(suite)
    if GAPS:
        print(f"\nmoto gaps tolerated ({len(GAPS)}): " + "; ".join(sorted(set(GAPS))))
    print(
        f"\nboto3: {result.testsRun} tests, {len(result.failures)} failures, {len(result.errors)} errors, "
        f"{len(result.skipped)} skipped, {UPLOADED[0]} bytes uploaded, {time.monotonic() - started:.0f}s"
    )
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
