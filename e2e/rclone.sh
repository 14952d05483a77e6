#!/usr/bin/env bash
# rclone against the S3 endpoint, configured as users configure a non-AWS provider (type s3,
# provider Other, path style): mkdir, sync of a tree with awkward names and a 110 MiB file
# (multipart: 64 MiB cutoff, 16 MiB chunks), check, copy --checksum, server-side copy,
# lsf/lsjson, delete, purge, rmdir. Uploads about 120 MiB in all.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# The remote `depot:` lives in the environment only; no config file is read or written.
export RCLONE_CONFIG="$E2E_TMP/rclone.conf"
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_DEPOT_TYPE=s3
export RCLONE_CONFIG_DEPOT_PROVIDER=Other
export RCLONE_CONFIG_DEPOT_ENDPOINT="$S3_ENDPOINT"
export RCLONE_CONFIG_DEPOT_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID"
export RCLONE_CONFIG_DEPOT_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
export RCLONE_CONFIG_DEPOT_REGION="$AWS_DEFAULT_REGION"
export RCLONE_CONFIG_DEPOT_FORCE_PATH_STYLE=true
export RCLONE_CONFIG_DEPOT_UPLOAD_CUTOFF=64M
export RCLONE_CONFIG_DEPOT_CHUNK_SIZE=16M
# moto answers a multipart completion with `x-amz-version-id: null` in an unversioned bucket
# and then refuses the `HEAD ?versionId=null` rclone verifies the upload with (AWS serves
# it). On moto only, rclone skips that HEAD.
if on_moto; then
    export RCLONE_CONFIG_DEPOT_NO_HEAD=true
fi
# rclone's AWS SDK refuses to start over plain HTTP with a CA bundle it cannot load.
unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN

# One try each, so a failure surfaces instead of being retried into a success.
rc() { command rclone --retries 1 --low-level-retries 1 --contimeout 10s --timeout 120s "$@"; }

B=$(unique_bucket)
R="depot:$B"
W="$E2E_TMP/work"
mkdir -p "$W"

cleanup() {
    local status=$?
    command rclone --retries 1 --low-level-retries 1 purge "$R" >/dev/null 2>&1 || true
    exit "$status"
}
trap cleanup EXIT

step "versions"
# sed reads to the end: head would close the pipe early and rclone would die of SIGPIPE.
command rclone version | sed -n 1p

# ---- mkdir ----
step "mkdir"
run rc mkdir "$R"
run rc lsd depot:
check_contains "$OUT" " $B" "lsd lists the new bucket"

# ---- sync up, check ----
step "sync a tree (awkward names, a few MiB files, a 110 MiB file) up"
make_awkward_tree "$W/tree"
make_file "$W/tree/mib/two.bin" $((2 * 1024 * 1024))
make_file "$W/tree/mib/three.bin" $((3 * 1024 * 1024 + 17))
make_file "$W/tree/mib/five.bin" $((5 * 1024 * 1024))
make_file "$W/tree/big/big.bin" $((110 * 1024 * 1024))
find "$W/tree" -exec touch -d '2 hours ago' {} +
count_tree_bytes "$W/tree"
nfiles=$(find "$W/tree" -type f | wc -l)
run rc sync "$W/tree" "$R/tree" --stats-one-line -v
check_eq "$(grep -c ': Copied (new)' <<<"$OUT")" "$nfiles" "sync copies all $nfiles files"
run rc check "$W/tree" "$R/tree"
check_contains "$OUT" "0 differences found" "check (size and MD5) finds no difference"
check_contains "$OUT" "$nfiles matching files" "check matches every file"
run rc sync "$W/tree" "$R/tree" -v
check_lacks "$OUT" "Copied" "a second sync copies nothing"

step "the 110 MiB file went up in parts"
run rc lsjson --hash --stat "$R/tree/big/big.bin"
python3 - "$W/tree/big/big.bin" "$OUT" <<'PY' || fail "lsjson of the big file: $OUT"
import hashlib, json, sys
entry = json.loads(sys.argv[2])
size = 110 * 1024 * 1024
assert entry["Size"] == size, entry
md5 = hashlib.md5(open(sys.argv[1], "rb").read()).hexdigest()
# rclone keeps the whole-file MD5 of a multipart upload in its own metadata.
assert entry["Hashes"]["md5"] == md5, (entry, md5)
PY
ok "lsjson reports size and whole-file MD5 of the multipart object"
etag=$(head_etag "$B" tree/big/big.bin)
[[ "$etag" =~ ^\"[0-9a-f]{32}-7\"$ ]] || fail "ETag of a 110 MiB upload in 16 MiB chunks should end in -7, got $etag"
ok "multipart ETag has 7 parts ($etag)"

# ---- copy down, compare ----
step "copy the tree down and diff -r"
run rc copy "$R/tree" "$W/down"
check_same_tree "$W/tree" "$W/down" "downloaded tree equals the original"
rm -rf "$W/down"

# ---- copy --checksum ----
step "copy --checksum notices a same-size change"
f="$W/tree/ünïcödé/with space.txt"
size=$(stat -c %s "$f")
make_file "$f" "$size"
touch -d '2 hours ago' "$f"
count_bytes "$f"
run rc copy --checksum "$W/tree" "$R/tree" -v
check_eq "$(grep -c ': Copied (replaced existing)' <<<"$OUT")" "1" "copy --checksum re-uploads only the changed file"
rc cat "$R/tree/ünïcödé/with space.txt" >"$W/cat.out" 2>"$W/cat.err" || fail "cat: $(cat "$W/cat.err")"
check_same_file "$f" "$W/cat.out" "cat returns the new content"
run rc copy --checksum "$W/tree" "$R/tree" -v
check_lacks "$OUT" "Copied" "a second copy --checksum copies nothing"

# ---- server-side copy, moveto ----
step "server-side copyto and moveto"
run rc copyto "$R/tree/big/big.bin" "$R/copies/big copy.bin" -v
run rc md5sum "$R/copies/big copy.bin"
check_eq "${OUT%% *}" "$(md5_of "$W/tree/big/big.bin")" "server-side copy of the 110 MiB object keeps its content"
run rc moveto "$R/tree/plain/with space.txt" "$R/moved/ß+%#.txt"
rc cat "$R/moved/ß+%#.txt" >"$W/moved.out" 2>"$W/cat.err" || fail "cat: $(cat "$W/cat.err")"
check_same_file "$W/tree/plain/with space.txt" "$W/moved.out" "moveto to a key with ß + % #"
run rc lsf "$R/tree/plain"
check_lacks "$OUT" "with space.txt" "moveto removed the source"

# ---- lsf, lsjson ----
step "lsf and lsjson"
run rc lsf -R --files-only "$R/tree"
remote=$(sort <<<"$OUT")
expected=$(cd "$W/tree" && find . -type f ! -path './plain/with space.txt' -printf '%P\n' | sort)
check_eq "$remote" "$expected" "lsf -R lists exactly the local files (less the moved one)"
run rc lsf "$R/tree"
check_contains "$OUT" "with space/" "lsf shows a directory with a space"
check_contains "$OUT" "hash#dir/" "lsf shows a directory with #"
check_contains "$OUT" "plus+sign.txt" "lsf shows a file with +"
run rc lsjson -R --hash --files-only "$R/tree"
python3 - "$W/tree" "$OUT" <<'PY' || fail "lsjson does not match the local tree"
import hashlib, json, os, sys
root, entries = sys.argv[1], json.loads(sys.argv[2])
for e in entries:
    path = os.path.join(root, e["Path"])
    data = open(path, "rb").read()
    assert e["Size"] == len(data), (e, len(data))
    assert e["Hashes"]["md5"] == hashlib.md5(data).hexdigest(), e
    assert e["Name"] == os.path.basename(e["Path"]), e
print(f"{len(entries)} entries checked")
PY
ok "lsjson sizes and MD5s match every local file"

# ---- delete, purge, rmdir ----
step "delete, purge, rmdir"
run rc delete "$R/tree" --include "*.txt" -v
run rc lsf -R --files-only "$R/tree"
check_lacks "$OUT" ".txt" "delete --include *.txt removed every .txt"
check_contains "$OUT" "big/big.bin" "delete left the other files"
run rc purge "$R/tree"
run rc lsf -R "$R/tree"
check_eq "$OUT" "" "purge removed everything under tree/"
run_fails 'not empty|BucketNotEmpty' rc rmdir "$R"
ok "rmdir of a non-empty bucket fails"
run rc purge "$R/copies"
run rc purge "$R/moved"
run rc rmdir "$R"
run rc lsd depot:
check_lacks "$OUT" " $B" "rmdir removed the bucket"

finish
