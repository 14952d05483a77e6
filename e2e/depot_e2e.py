"""What the Python suites share: signed admin requests, cleaning up a bucket, patience, and
starting a depot-api of their own (a replication destination, a server to stop and start again).

Not a suite: imported by the suites beside it (`python3 e2e/<suite>.py` puts `e2e/` first on
the module path).
"""

import json
import os
import secrets
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.httpsession import URLLib3Session

REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
TMP = os.environ.get("E2E_TMP", "/tmp")
DEPOT_API = os.environ.get("DEPOT_API_BIN")

HTTP = URLLib3Session()


class Answer:
    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers

    def json(self):
        return json.loads(self.body)

    def code(self):
        text = self.body.decode("utf-8", "replace")
        if "<Code>" not in text:
            return ""
        return text.split("<Code>", 1)[1].split("</Code>", 1)[0]


def admin_request(endpoint, key, secret, method, query, body=b""):
    """One signed admin request: `query` is the query string after `?`, encoded here."""
    parts = []
    for item in query.split("&"):
        name, sep, value = item.partition("=")
        parts.append(name + (sep + urllib.parse.quote(value, safe="") if sep else ""))
    url = f"{endpoint}/?{'&'.join(parts)}"
    request = AWSRequest(method=method, url=url, data=body)
    S3SigV4Auth(Credentials(key, secret), "s3", REGION).add_auth(request)
    response = HTTP.send(request.prepare())
    return Answer(response.status_code, response.content, response.headers)


def s3_client(endpoint, key, secret, read_timeout=60):
    """boto3 path-style, one attempt per call: a retry would hide an error, and be counted."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1, "mode": "standard"},
            read_timeout=read_timeout,
        ),
    )


def empty_and_delete(s3, bucket):
    """Best-effort cleanup: abort uploads, delete objects, delete the bucket."""
    try:
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
            for u in page.get("Uploads", []):
                s3.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
    except ClientError:
        pass
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        s3.delete_bucket(Bucket=bucket)
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("NoSuchBucket", "404"):
            print(f"    cleanup of {bucket} failed: {e}", file=sys.stderr)


def eventually(what, check, patience=30.0):
    deadline = time.monotonic() + patience
    while True:
        if check():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {patience:.0f} s waiting until {what}")
        time.sleep(0.2)


class DepotServer:
    """A depot-api of the suite's own (DEPOT_API_BIN): started, stopped and started again on
    the same port and data directory, its log in `E2E_TMP/<name>.log`. The first start lets
    the kernel pick the port and learns it from the JSON `listening` log line (no window
    between choosing a free port and binding it); later starts ask for that port again."""

    def __init__(self, name, **settings):
        self.name = name
        self.port = 0
        self.endpoint = None
        self.key = "E2E" + secrets.token_hex(8).upper()
        self.secret = secrets.token_urlsafe(30)
        self.data = os.path.join(TMP, f"{name}-data")
        self.log = open(os.path.join(TMP, f"{name}.log"), "ab")
        self.settings = settings
        self.process = None

    def start(self):
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("DEPOT_", "AWS_"))
        }
        env.update(
            DEPOT_DATA_DIR=self.data,
            DEPOT_S3_ADDR=f"127.0.0.1:{self.port}",
            DEPOT_CONTROL_ADDR="127.0.0.1:0",
            DEPOT_ROOT_ACCESS_KEY=self.key,
            DEPOT_ROOT_SECRET_KEY=self.secret,
            DEPOT_S3_REGION=REGION,
            DEPOT_LOG_FORMAT="json",
            DEPOT_SHUTDOWN_TIMEOUT_SECS="5",
        )
        env.update(self.settings)
        self.process = subprocess.Popen(
            [DEPOT_API], env=env, stdout=self.log, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        listening = queue.Queue()

        def copy_log(stream):
            # Keeps draining, so a full pipe never blocks the server; None when it closes.
            for line in stream:
                self.log.write(line)
                self.log.flush()
                if b'"message":"listening"' in line:
                    listening.put(line)
            listening.put(None)

        threading.Thread(target=copy_log, args=(self.process.stderr,), daemon=True).start()
        try:
            line = listening.get(timeout=60)
        except queue.Empty:
            line = None
        if line is None:
            raise AssertionError(
                f"depot-api {self.name} did not start listening; see {self.name}.log"
            )
        address = json.loads(line)["s3_addr"]
        self.port = int(address.rsplit(":", 1)[1])
        self.endpoint = f"http://{address}"

    def stop(self):
        """SIGTERM, and the exit status (0 for a clean stop)."""
        status = None
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            status = self.process.wait(timeout=30)
        self.process = None
        return status

    def admin(self, method, query, body=b""):
        return admin_request(self.endpoint, self.key, self.secret, method, query, body)
