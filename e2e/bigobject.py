#!/usr/bin/env python3
"""A 5 GiB object through depot-api in bounded memory: one PutObject of exactly 5 GiB (S3's
single-PUT maximum) streamed in, the same 5 GiB streamed out, a ranged GET near its end, and
5 GiB + 1 byte refused with EntityTooLarge before any of the body is sent.

Run by `cargo xtask e2e --suite bigobject`, which sets S3_ENDPOINT, the keys, E2E_TMP and
DEPOT_PID, the process id of the depot-api under test. Before each phase the suite resets the
server's peak resident set size (`echo 5 > /proc/<pid>/clear_refs`), samples VmRSS/VmHWM
every 16 MiB as the bytes flow, and fails as soon as the peak passes the phase's starting RSS
plus an allowance derived below from the engine's own constants (about 34 MiB): 5 GiB must
not show up in memory. The server's CPU time per phase is printed for the record. The client holds no more than a piece (1 MiB) at a time either: the body comes from a
generator, and the PUT goes through a presigned SigV4 URL on http.client with an explicit
Content-Length (UNSIGNED-PAYLOAD: no aws-chunked framing, no MD5 up front); its MD5 is computed
as it is sent and compared with the ETag.

Standard library and boto3 only. Needs ~5 GiB free under the server's data directory.

E2E_REFERENCE=moto (a reference server, no DEPOT_PID) skips only the memory checks and the
"refused before the body" check, marked `reference_gap`.
"""

import contextlib
import hashlib
import http.client
import os
import random
import re
import resource
import sys
import time
import urllib.parse
import uuid

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["S3_ENDPOINT"]
ACCESS_KEY = os.environ["AWS_ACCESS_KEY_ID"]
SECRET_KEY = os.environ["AWS_SECRET_ACCESS_KEY"]
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
ON_REFERENCE = os.environ.get("E2E_REFERENCE") == "moto"
DEPOT_PID = os.environ.get("DEPOT_PID")

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

SIZE = 5 * GiB  # S3's largest single PUT, and Depot's MAX_PUT_SIZE
PIECE = MiB  # what the client generates, sends, reads and hashes at a time
SOCKET_TIMEOUT = 300  # seconds; generous: committing 5 GiB ends with an fsync
EARLY_ANSWER_TIMEOUT = 30  # seconds the server gets to refuse an oversized PUT unread

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- the bound ----


def rust_const(relative_path, name):
    """The value of `pub const NAME: <int type> = <a * b + c with _ separators>;` in the
    engine's source, so the bound follows the constants when they change."""
    path = os.path.join(ROOT, relative_path)
    with open(path, encoding="utf-8") as f:
        source = f.read()
    match = re.search(rf"pub const {name}: *(?:u64|usize) *= *([0-9_ *+]+);", source)
    if not match:
        sys.exit(f"bigobject: cannot find `pub const {name}` in {path}; update the suite's bound")
    total = 0
    for term in match.group(1).split("+"):
        product = 1
        for factor in term.split("*"):
            product *= int(factor.strip().replace("_", ""))
        total += product
    return total


# What the engine documents it holds per transfer (crates/depot-engine/src/stage.rs and
# reader.rs): a PUT, one WRITE_BATCH plus the chunk hyper has just yielded (at most hyper's
# read buffer, 400 KiB by default: rounded up to 1 MiB here); a GET, READ_BLOCK x 3 (the block
# the connection is writing, the one ready, the one being read).
WRITE_BATCH = rust_const("crates/depot-engine/src/stage.rs", "WRITE_BATCH")
READ_BLOCK = rust_const("crates/depot-engine/src/reader.rs", "READ_BLOCK")
ENGINE_PUT = WRITE_BATCH + MiB
ENGINE_GET = 3 * READ_BLOCK
# Beyond the engine's buffers the process is allowed fixed slack: allocator arenas (glibc may
# give each thread of tokio's worker and blocking pools its own), the runtime's and hyper's
# buffers, the metadata database's page cache, stacks of blocking threads first used. Measured
# (debug and release builds): PUT peaks 3.5-5 MiB above the starting RSS, most of it within
# the first 16 MiB of the body; GET +4 MiB with 256 KiB blocks, +12 MiB with 1 MiB blocks and
# read-ahead, reached within the first GiB and flat after it.
SLACK = 32 * MiB
# The bound asserted: the peak RSS of a phase is at most its starting RSS plus this. With
# today's constants, 34 MiB for a 5 GiB PUT and 35 MiB for a 5 GiB GET: under 0.7% of the
# object, so any buffering proportional to the body (or an mmap of the blob) fails it.
PUT_ALLOWANCE = SLACK + ENGINE_PUT
GET_ALLOWANCE = SLACK + ENGINE_GET
CLIENT_PEAK_LIMIT = 256 * MiB  # the suite's own peak RSS, boto3 included


# ---- helpers ----


@contextlib.contextmanager
def reference_gap(reason):
    """Checks only Depot can pass (they need its process, or an early refusal moto does not
    make). Against Depot every check inside must hold; on a reference server a failure is
    reported and the rest of the block skipped."""
    if not ON_REFERENCE:
        yield
        return
    try:
        yield
    except (AssertionError, ClientError, OSError, http.client.HTTPException) as e:
        first = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        print(f"    reference gap ({reason}): {first}")


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def mib(n):
    return f"{n / MiB:.1f} MiB"


class Body:
    """The object's bytes, generated a piece at a time: a 1 MiB random block, rotated by an
    offset of its own for each piece and stamped with the piece's index, so no two pieces (nor
    their 4 KiB pages) are equal, at the cost of one copy per MiB."""

    def __init__(self, size, seed=20240505):
        self.size = size
        self.block = random.Random(seed).randbytes(PIECE)

    def piece(self, index):
        shift = (index * 40503 + 1) % PIECE  # never a multiple of 4 KiB
        rotated = self.block[shift:] + self.block[:shift]
        stamped = index.to_bytes(8, "big") + rotated[8:]
        end = min(PIECE, self.size - index * PIECE)
        return stamped[:end]

    def pieces(self):
        for index in range((self.size + PIECE - 1) // PIECE):
            yield self.piece(index)

    def range(self, start, end):
        """Bytes start..end (exclusive)."""
        out = bytearray()
        for index in range(start // PIECE, (end - 1) // PIECE + 1):
            base = index * PIECE
            piece = self.piece(index)
            out += piece[max(start - base, 0) : min(end - base, len(piece))]
        return bytes(out)


class ServerMemory:
    """The server's VmRSS and VmHWM through /proc/<pid>/status, the peak reset per phase."""

    def __init__(self, pid):
        self.pid = pid

    def status_kib(self, field):
        with open(f"/proc/{self.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    value, unit = line.split()[1:3]
                    assert unit == "kB", line
                    return int(value)
        raise AssertionError(f"no {field} in /proc/{self.pid}/status")

    def rss(self):
        return self.status_kib("VmRSS") * KiB

    def peak(self):
        return self.status_kib("VmHWM") * KiB

    def cpu_seconds(self):
        """User + system CPU time of all its threads (fields 14 and 15 of /proc/<pid>/stat,
        counted after the closing parenthesis of the command name)."""
        with open(f"/proc/{self.pid}/stat", encoding="ascii") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset_peak(self):
        """The peak becomes the current RSS, so the next reading is the peak of what follows."""
        with open(f"/proc/{self.pid}/clear_refs", "w", encoding="ascii") as f:
            f.write("5")


class Phase:
    """One transfer's memory watch: baseline at the start, samples as it goes, the kernel's
    own high-water mark at the end, compared with baseline + allowance."""

    def __init__(self, name, memory, allowance):
        self.name, self.memory, self.allowance = name, memory, allowance
        self.baseline = self.max_rss = None
        if memory:
            memory.reset_peak()
            self.baseline = memory.rss()
            self.max_rss = self.baseline
            self.cpu = memory.cpu_seconds()
            print(
                f"    {name}: server RSS at start {mib(self.baseline)}, bound "
                f"{mib(self.baseline + allowance)} (start + {mib(allowance)})",
                flush=True,
            )
        self.started = time.monotonic()

    def sample(self, done):
        """Called as bytes flow; fails as soon as the peak passes the bound."""
        if not self.memory:
            return
        rss, peak = self.memory.rss(), self.memory.peak()
        self.max_rss = max(self.max_rss, rss)
        check(
            peak <= self.baseline + self.allowance,
            f"{self.name}: after {mib(done)} the server's peak RSS is {mib(peak)}, above the "
            f"bound {mib(self.baseline + self.allowance)}",
        )
        return rss, peak

    def progress(self, done):
        sampled = self.sample(done)
        elapsed = time.monotonic() - self.started
        line = f"    {self.name}: {done / GiB:.0f} GiB in {elapsed:.1f} s"
        if sampled:
            line += f", server RSS {mib(sampled[0])}, peak {mib(sampled[1])}"
        print(line, flush=True)

    def finish(self, size):
        elapsed = time.monotonic() - self.started
        rate = size / MiB / elapsed if elapsed else 0
        if not self.memory:
            print(f"    {self.name}: {mib(size)} in {elapsed:.1f} s ({rate:.0f} MiB/s); memory not measured")
            return
        self.sample(size)
        peak = self.memory.peak()
        print(
            f"    {self.name}: {mib(size)} in {elapsed:.1f} s ({rate:.0f} MiB/s); server peak RSS "
            f"{mib(peak)} = start {mib(self.baseline)} + {mib(peak - self.baseline)} "
            f"(bound + {mib(self.allowance)}; highest VmRSS sampled {mib(self.max_rss)}); "
            f"server CPU {self.memory.cpu_seconds() - self.cpu:.1f} s",
            flush=True,
        )
        return peak - self.baseline


def make_client():
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=10,
        read_timeout=SOCKET_TIMEOUT,
    )
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=config,
    )


def error_code_in(body):
    text = body.decode("utf-8", "replace")
    start, end = text.find("<Code>"), text.find("</Code>")
    return text[start + 6 : end] if start >= 0 and end > start else None


def open_put(url, length, timeout=SOCKET_TIMEOUT):
    """Sends a presigned PUT's request line and headers, with Content-Length `length` and
    nothing else: the body is the caller's to send."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    conn.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
    conn.putheader("Content-Length", str(length))
    conn.putheader("Content-Type", "application/octet-stream")
    conn.endheaders()
    return conn


# ---- the phases ----


def put_5gib(s3, bucket, key, body, memory):
    print(f"PUT {SIZE} bytes (5 GiB) as one PutObject, presigned SigV4, Content-Length set", flush=True)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600)
    phase = Phase("PUT", memory, PUT_ALLOWANCE)
    md5 = hashlib.md5()
    sent = 0
    conn = open_put(url, SIZE)
    try:
        try:
            for piece in body.pieces():
                conn.send(piece)
                md5.update(piece)
                sent += len(piece)
                if sent % (16 * MiB) == 0:
                    if sent % GiB == 0:
                        phase.progress(sent)
                    else:
                        phase.sample(sent)
        except OSError as e:
            # The server stopped reading: its answer says why.
            response = conn.getresponse()
            raise AssertionError(
                f"PUT: the server closed after {sent} bytes ({e}): {response.status} {response.read()[:500]!r}"
            ) from e
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    check(response.status == 200, f"PUT: {response.status} {answer[:500]!r}")
    etag = response.getheader("ETag", "")
    check(etag == f'"{md5.hexdigest()}"', f"PUT: ETag {etag}, MD5 of the bytes sent {md5.hexdigest()}")
    growth = phase.finish(SIZE)
    print(f"    PUT: ETag {etag} is the MD5 of the 5 GiB sent", flush=True)
    return md5.hexdigest(), growth


def get_5gib(s3, bucket, key, expected_md5, memory):
    print("GET it back, streamed in 1 MiB reads", flush=True)
    head = s3.head_object(Bucket=bucket, Key=key)
    check(head["ContentLength"] == SIZE, f"HEAD: ContentLength {head['ContentLength']}")
    check(head["ETag"] == f'"{expected_md5}"', f"HEAD: ETag {head['ETag']}")
    phase = Phase("GET", memory, GET_ALLOWANCE)
    got = s3.get_object(Bucket=bucket, Key=key)
    check(got["ContentLength"] == SIZE, f"GET: ContentLength {got['ContentLength']}")
    stream = got["Body"]
    md5 = hashlib.md5()
    received = 0
    next_sample = 16 * MiB
    try:
        while True:
            data = stream.read(PIECE)
            if not data:
                break
            md5.update(data)
            received += len(data)
            if received >= next_sample:
                if next_sample % GiB == 0:
                    phase.progress(next_sample)
                else:
                    phase.sample(received)
                next_sample += 16 * MiB
    finally:
        stream.close()
    check(received == SIZE, f"GET: {received} bytes, expected {SIZE}")
    check(md5.hexdigest() == expected_md5, f"GET: MD5 {md5.hexdigest()}, PUT's {expected_md5}")
    growth = phase.finish(SIZE)
    print(f"    GET: {received} bytes, MD5 {md5.hexdigest()} as sent", flush=True)
    return growth


def ranged_gets(s3, bucket, key, body):
    print("ranged GETs near the end", flush=True)
    # Across the last piece boundary, ending 500 bytes short of the end.
    start, end = SIZE - PIECE - 1000, SIZE - 501
    got = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end}")
    data = got["Body"].read()
    check(got["ResponseMetadata"]["HTTPStatusCode"] == 206, f"Range: status {got['ResponseMetadata']['HTTPStatusCode']}")
    check(got["ContentRange"] == f"bytes {start}-{end}/{SIZE}", f"Range: Content-Range {got['ContentRange']}")
    check(data == body.range(start, end + 1), f"Range {start}-{end}: {len(data)} bytes, not the ones sent")
    print(f"    bytes={start}-{end}: 206, {len(data)} bytes as sent", flush=True)
    # The last 4097 bytes, as a suffix range.
    got = s3.get_object(Bucket=bucket, Key=key, Range="bytes=-4097")
    data = got["Body"].read()
    check(got["ContentRange"] == f"bytes {SIZE - 4097}-{SIZE - 1}/{SIZE}", f"suffix: Content-Range {got['ContentRange']}")
    check(data == body.range(SIZE - 4097, SIZE), "suffix range: not the bytes sent")
    print(f"    bytes=-4097: 206, Content-Range {got['ContentRange']}, bytes as sent", flush=True)


def too_large_refused_unread(s3, bucket):
    print("PUT of 5 GiB + 1 byte: EntityTooLarge, answered before any of the body is sent", flush=True)
    key = "too-large"
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600)
    conn = open_put(url, SIZE + 1, timeout=EARLY_ANSWER_TIMEOUT)
    started = time.monotonic()
    try:
        with reference_gap("refuses an oversized PUT from its Content-Length"):
            try:
                response = conn.getresponse()  # not one byte of the body sent
            except TimeoutError as e:
                raise AssertionError(
                    f"no answer within {EARLY_ANSWER_TIMEOUT} s to Content-Length {SIZE + 1} with no body "
                    "sent: the server waits for the body before refusing it"
                ) from e
            answer = response.read()
            code = error_code_in(answer)
            check(
                (response.status, code) == (400, "EntityTooLarge"),
                f"expected 400 EntityTooLarge, got {response.status} {answer[:500]!r}",
            )
            print(
                f"    400 EntityTooLarge after {time.monotonic() - started:.2f} s with 0 body bytes sent; "
                f"connection: {response.getheader('Connection', '(no header)')}",
                flush=True,
            )
    finally:
        conn.close()
    try:
        s3.head_object(Bucket=bucket, Key=key)
        raise AssertionError("the refused object exists")
    except ClientError as e:
        check(e.response["Error"]["Code"] in ("404", "NoSuchKey"), f"HEAD of the refused key: {e}")
    print("    nothing stored under the refused key", flush=True)


def main():
    started = time.monotonic()
    print(f"boto3 {boto3.__version__}, botocore {botocore.__version__}, endpoint {ENDPOINT}", flush=True)
    print(
        f"engine constants: WRITE_BATCH {mib(WRITE_BATCH)}, READ_BLOCK {READ_BLOCK // KiB} KiB; allowances over "
        f"the starting RSS: PUT {mib(PUT_ALLOWANCE)}, GET {mib(GET_ALLOWANCE)} (engine + {mib(SLACK)} slack)",
        flush=True,
    )
    memory = None
    if DEPOT_PID:
        memory = ServerMemory(int(DEPOT_PID))
        print(f"depot-api pid {DEPOT_PID}: RSS {mib(memory.rss())}, peak so far {mib(memory.peak())}", flush=True)
    elif not ON_REFERENCE:
        sys.exit("bigobject: DEPOT_PID is not set; run it through `cargo xtask e2e --suite bigobject`")
    else:
        print("no DEPOT_PID (reference server): memory not measured")

    s3 = make_client()
    bucket = f"e2e-bigobject-{uuid.uuid4().hex[:16]}"
    key = "five-gib.bin"
    body = Body(SIZE)
    s3.create_bucket(Bucket=bucket)
    print(f"created bucket {bucket}", flush=True)
    try:
        md5, put_growth = put_5gib(s3, bucket, key, body, memory)
        get_growth = get_5gib(s3, bucket, key, md5, memory)
        ranged_gets(s3, bucket, key, body)
        too_large_refused_unread(s3, bucket)
        s3.delete_object(Bucket=bucket, Key=key)
        s3.delete_bucket(Bucket=bucket)
        print(f"deleted {key} and bucket {bucket}", flush=True)
        bucket = None
    finally:
        if bucket:
            with contextlib.suppress(ClientError):
                s3.delete_object(Bucket=bucket, Key=key)
                s3.delete_bucket(Bucket=bucket)

    client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KiB
    check(client_peak <= CLIENT_PEAK_LIMIT, f"the suite's own peak RSS {mib(client_peak)} > {mib(CLIENT_PEAK_LIMIT)}")
    summary = f"\nbigobject: passed in {time.monotonic() - started:.0f} s; {SIZE} bytes up and down"
    if memory:
        summary += (
            f"; server peak above start: PUT +{mib(put_growth)} (bound +{mib(PUT_ALLOWANCE)}), "
            f"GET +{mib(get_growth)} (bound +{mib(GET_ALLOWANCE)})"
        )
    print(summary + f"; client peak RSS {mib(client_peak)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"\nbigobject: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
