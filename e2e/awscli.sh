#!/usr/bin/env bash
# aws-cli against the S3 endpoint: the high-level `aws s3` commands (mb, cp, sync, ls, rm,
# presign, rb) as people type them, and the `aws s3api` calls behind them, checked as AWS S3
# answers them. Path-style addressing throughout. Uploads about 107 MiB in all.
# SC2016: the backquotes in --query are JMESPath literals, not shell. SC2218: `command aws`
# before the `aws` wrapper is defined is deliberate (it bypasses the wrapper).
# shellcheck disable=SC2016,SC2218
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# The CLI's own configuration lives in the suite's temp dir, never the developer's ~/.aws.
export AWS_CONFIG_FILE="$E2E_TMP/aws-config"
export AWS_SHARED_CREDENTIALS_FILE="$E2E_TMP/aws-credentials"
export AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
command aws configure set default.region "$AWS_DEFAULT_REGION"
command aws configure set default.s3.addressing_style path
command aws configure set default.s3.multipart_threshold 8MB
command aws configure set default.s3.multipart_chunksize 8MB
# One retry at most, so a server error surfaces as an error rather than a slow success.
command aws configure set default.max_attempts 2
cp "$AWS_CONFIG_FILE" "$E2E_TMP/aws-config-v4"
AWS_CONFIG_FILE="$E2E_TMP/aws-config-v4" command aws configure set default.s3.signature_version s3v4

aws() { command aws --endpoint-url "$S3_ENDPOINT" "$@"; }
# s3api with text output of one JMESPath query: `q head-object --bucket b --key k ContentType`.
q() {
    local query=${*: -1}
    run aws s3api "${@:1:$#-1}" --query "$query" --output text
    printf '%s' "$OUT"
}

B=$(unique_bucket)
W="$E2E_TMP/work"
mkdir -p "$W"

cleanup() {
    local rc=$?
    # Best effort: abort unfinished uploads, then empty and remove the bucket.
    local ids
    ids=$(command aws --endpoint-url "$S3_ENDPOINT" s3api list-multipart-uploads --bucket "$B" \
        --query 'Uploads[].[Key,UploadId]' --output text 2>/dev/null || true)
    while IFS=$'\t' read -r key id; do
        [[ -n "$id" && "$key" != None ]] || continue
        command aws --endpoint-url "$S3_ENDPOINT" s3api abort-multipart-upload --bucket "$B" \
            --key "$key" --upload-id "$id" >/dev/null 2>&1 || true
    done <<<"$ids"
    command aws --endpoint-url "$S3_ENDPOINT" s3 rb "s3://$B" --force >/dev/null 2>&1 || true
    exit "$rc"
}
trap cleanup EXIT

step "versions"
command aws --version

# ---- mb, ls ----
step "s3 mb / s3 ls"
run aws s3 mb "s3://$B"
check_contains "$OUT" "make_bucket: $B" "mb says make_bucket"
run aws s3 ls
check_contains "$OUT" " $B" "ls lists the new bucket"
# AWS answers 409 BucketAlreadyOwnedByYou in every region but us-east-1, which keeps a legacy
# 200; Depot (like MinIO) answers 409 everywhere. moto copies the us-east-1 quirk.
moto_gap "409 on re-creating an owned bucket in us-east-1" || {
    run_fails 'BucketAlreadyOwnedByYou' aws s3 mb "s3://$B"
    ok "second mb of the same bucket is BucketAlreadyOwnedByYou"
}
moto_gap "bucket name validation (it creates Bad_Bucket)" || {
    run_fails 'InvalidBucketName' aws s3 mb "s3://Bad_Bucket"
    ok "invalid bucket name is InvalidBucketName"
}

# ---- cp small files ----
step "s3 cp of small files, up and down"
printf 'hello depot\n' >"$W/small.txt"
make_file "$W/empty" 0
make_file "$W/kib.bin" 1024
count_bytes "$W/small.txt" "$W/empty" "$W/kib.bin"
for f in small.txt empty kib.bin; do
    run aws s3 cp --no-progress "$W/$f" "s3://$B/small/$f"
    check_contains "$OUT" "upload: " "cp uploads $f"
    run aws s3 cp --no-progress "s3://$B/small/$f" "$W/$f.down"
    check_same_file "$W/$f" "$W/$f.down" "$f round-trips"
done
check_eq "$(q head-object --bucket "$B" --key small/small.txt ETag)" "\"$(md5_of "$W/small.txt")\"" \
    "single-part ETag is the quoted MD5"
check_eq "$(q head-object --bucket "$B" --key small/empty ContentLength)" "0" "empty object has length 0"
run aws s3 cp --no-progress - "s3://$B/small/stdin.txt" <"$W/small.txt"
count_bytes "$W/small.txt"
run aws s3 cp --no-progress "s3://$B/small/stdin.txt" -
check_eq "$OUT" "hello depot" "cp from stdin and to stdout"

# ---- cp of a 100 MiB file: multipart ----
step "s3 cp of a 100 MiB file (multipart, 8 MiB parts)"
make_file "$W/big.bin" $((100 * 1024 * 1024))
count_bytes "$W/big.bin"
run aws s3 cp --no-progress "$W/big.bin" "s3://$B/big/big.bin"
etag=$(q head-object --bucket "$B" --key big/big.bin ETag)
# 100 MiB in 8 MiB parts: 12 full parts and a 4 MiB one.
[[ "$etag" =~ ^\"[0-9a-f]{32}-13\"$ ]] || fail "multipart ETag should be \"<md5>-13\", got $etag"
ok "multipart ETag is \"<md5 of md5s>-13\""
expected_etag=$(python3 - "$W/big.bin" <<'PY'
import hashlib, sys
part = 8 * 1024 * 1024
digests = b""
n = 0
with open(sys.argv[1], "rb") as f:
    while chunk := f.read(part):
        digests += hashlib.md5(chunk).digest()
        n += 1
print(f'"{hashlib.md5(digests).hexdigest()}-{n}"')
PY
)
check_eq "$etag" "$expected_etag" "multipart ETag is the MD5 of the parts' MD5s"
check_eq "$(q head-object --bucket "$B" --key big/big.bin ContentLength)" "104857600" "ContentLength of the big object"
run aws s3 cp --no-progress "s3://$B/big/big.bin" "$W/big.down"
check_same_file "$W/big.bin" "$W/big.down" "100 MiB object round-trips"
rm -f "$W/big.down"

# ---- sync both ways ----
step "s3 sync of a tree with awkward names, both ways"
make_awkward_tree "$W/tree"
nfiles=$(find "$W/tree" -type f | wc -l)
count_tree_bytes "$W/tree"
run aws s3 sync --no-progress "$W/tree" "s3://$B/tree/"
check_eq "$(grep -c '^upload: ' <<<"$OUT")" "$nfiles" "sync uploads all $nfiles files"
run aws s3 sync --no-progress "s3://$B/tree/" "$W/tree.down"
check_same_tree "$W/tree" "$W/tree.down" "tree synced down equals the original (diff -r)"
run aws s3 sync --no-progress "$W/tree" "s3://$B/tree/" --dryrun
check_eq "$OUT" "" "second sync finds nothing to upload"
printf 'changed\n' >"$W/tree/plain/with space.txt"
rm -- "$W/tree/ünïcödé/percent%41.txt" "$W/tree/hash#dir/x y/hash#tag.txt"
nfiles=$(find "$W/tree" -type f | wc -l)
run aws s3 sync --no-progress "$W/tree" "s3://$B/tree/" --delete
check_contains "$OUT" "upload: " "sync uploads the changed file"
check_contains "$OUT" "delete: " "sync --delete removes what was deleted locally"
rm -rf "$W/tree.down"
run aws s3 sync --no-progress "s3://$B/tree/" "$W/tree.down"
check_same_tree "$W/tree" "$W/tree.down" "tree after sync --delete equals the local one"

# ---- ls ----
step "s3 ls: prefixes, recursive, summarize"
run aws s3 ls "s3://$B/"
check_contains "$OUT" "PRE big/" "top level shows big/ as a prefix"
check_contains "$OUT" "PRE tree/" "top level shows tree/ as a prefix"
check_contains "$OUT" "PRE small/" "top level shows small/ as a prefix"
run aws s3 ls "s3://$B/tree/"
check_contains "$OUT" "PRE with space/" "prefix with a space"
check_contains "$OUT" "PRE ünïcödé/" "unicode prefix"
check_contains "$OUT" "PRE hash#dir/" "prefix with #"
run aws s3 ls "s3://$B/tree/plain/l"
check_contains "$OUT" " 300000 larger.bin" "ls of a partial key prefix shows size and name"
run aws s3 ls "s3://$B/tree/" --recursive --summarize
check_contains "$OUT" "Total Objects: $nfiles" "recursive ls counts every object"

# ---- presign ----
step "s3 presign (SigV2 default and SigV4), downloaded with curl"
for cfg in aws-config aws-config-v4; do
    for key in "small/small.txt" "tree/ünïcödé/ü-é-ß-文件-ファイル.txt"; do
        run env AWS_CONFIG_FILE="$E2E_TMP/$cfg" aws --endpoint-url "$S3_ENDPOINT" \
            s3 presign "s3://$B/$key" --expires-in 300
        url=$OUT
        case $cfg in
            aws-config) check_contains "$url" "Signature=" "$cfg presign is a query-signed URL" ;;
            *) check_contains "$url" "X-Amz-Signature=" "$cfg presign is a SigV4 URL" ;;
        esac
        run curl -sS -f -o "$W/presigned.down" "$url"
        if [[ $key == small/* ]]; then
            check_same_file "$W/small.txt" "$W/presigned.down" "curl of the presigned URL ($cfg, $key)"
        else
            check_same_file "$W/tree/ünïcödé/ü-é-ß-文件-ファイル.txt" "$W/presigned.down" \
                "curl of the presigned URL ($cfg, unicode key)"
        fi
        # A tampered URL: the signature no longer matches.
        bad=$(flip_signature "$url")
        status=$(curl -sS -o "$W/presigned.err" -w '%{http_code}' "$bad")
        if [[ $status == 403 ]] && grep -q '<Code>SignatureDoesNotMatch</Code>' "$W/presigned.err"; then
            ok "tampered presigned URL is refused: 403 SignatureDoesNotMatch"
        else
            moto_gap "presigned URL signatures are not checked" ||
                fail "tampered presigned URL: expected 403, got $status: $(cat "$W/presigned.err")"
        fi
    done
done

# ---- s3api: put-object with metadata, head-object ----
step "s3api put-object with metadata and content type, head-object"
printf '{"a": 1}\n' >"$W/doc.json"
count_bytes "$W/doc.json"
etag=$(q put-object --bucket "$B" --key api/doc.json --body "$W/doc.json" \
    --content-type application/json --cache-control "max-age=60" \
    --content-disposition 'attachment; filename="doc.json"' \
    --metadata color=blue,shape=round ETag)
check_eq "$etag" "\"$(md5_of "$W/doc.json")\"" "put-object returns the quoted MD5 as ETag"
head=$(q head-object --bucket "$B" --key api/doc.json \
    '[ContentType, ContentLength, Metadata.color, Metadata.shape, CacheControl, ContentDisposition, ETag]')
check_eq "$head" "$(printf 'application/json\t9\tblue\tround\tmax-age=60\tattachment; filename="doc.json"\t%s' "$etag")" \
    "head-object returns content type, length, metadata, cache-control, disposition, ETag"
run_fails '\(404\)|Not Found|NoSuchKey' aws s3api head-object --bucket "$B" --key api/missing
ok "head-object of a missing key is 404"

# ---- get-object --range ----
step "s3api get-object --range"
run aws s3api get-object --bucket "$B" --key small/kib.bin --range bytes=100-199 "$W/range.bin" \
    --query '[ContentRange, ContentLength]' --output text
check_eq "$OUT" "$(printf 'bytes 100-199/1024\t100')" "Content-Range and length of bytes=100-199"
dd if="$W/kib.bin" of="$W/range.expected" bs=1 skip=100 count=100 status=none
check_same_file "$W/range.expected" "$W/range.bin" "the range's bytes"
run aws s3api get-object --bucket "$B" --key small/kib.bin --range bytes=-10 "$W/range.bin" \
    --query ContentRange --output text
check_eq "$OUT" "bytes 1014-1023/1024" "suffix range bytes=-10"
run_fails 'InvalidRange|416' aws s3api get-object --bucket "$B" --key small/kib.bin --range bytes=5000-6000 "$W/range.bin"
ok "unsatisfiable range is InvalidRange"

# ---- list-objects-v2: prefix, delimiter, pagination ----
step "s3api list-objects-v2: prefix, delimiter, pagination"
for k in p/a/1 p/a/2 p/b/1 p/c p/d p/e; do
    run aws s3api put-object --bucket "$B" --key "$k" --body "$W/small.txt"
    count_bytes "$W/small.txt"
done
check_eq "$(q list-objects-v2 --bucket "$B" --prefix p/ --delimiter / 'CommonPrefixes[].Prefix')" \
    "$(printf 'p/a/\tp/b/')" "delimiter groups p/a/ and p/b/ as common prefixes"
check_eq "$(q list-objects-v2 --bucket "$B" --prefix p/ --delimiter / 'Contents[].Key')" \
    "$(printf 'p/c\tp/d\tp/e')" "delimiter leaves p/c p/d p/e as contents"
check_eq "$(q list-objects-v2 --bucket "$B" --prefix p/ --delimiter / --no-paginate KeyCount)" "5" "KeyCount counts keys and prefixes"
page=$(q list-objects-v2 --bucket "$B" --prefix p/ --max-keys 2 --no-paginate \
    '[IsTruncated, KeyCount, join(`,`, Contents[].Key), NextContinuationToken]')
IFS=$'\t' read -r truncated count keys token <<<"$page"
check_eq "$truncated/$count/$keys" "True/2/p/a/1,p/a/2" "max-keys 2: first page truncated with 2 keys"
[[ -n "$token" && "$token" != None ]] || fail "no NextContinuationToken on a truncated page"
page=$(q list-objects-v2 --bucket "$B" --prefix p/ --max-keys 10 --continuation-token "$token" --no-paginate \
    '[IsTruncated, join(`,`, Contents[].Key)]')
check_eq "$page" "$(printf 'False\tp/b/1,p/c,p/d,p/e')" "continuation token resumes after the first page"
page=$(q list-objects-v2 --bucket "$B" --prefix p/ --start-after p/c --no-paginate 'join(`,`, Contents[].Key)')
check_eq "$page" "p/d,p/e" "start-after"
# --max-items and --starting-token: the CLI's paginator, over small server pages.
run aws s3api list-objects-v2 --bucket "$B" --prefix p/ --page-size 2 --max-items 3 --output json
read -r keys token < <(python3 -c 'import json,sys; d=json.load(sys.stdin); print(",".join(o["Key"] for o in d["Contents"]), d.get("NextToken",""))' <<<"$OUT")
check_eq "$keys" "p/a/1,p/a/2,p/b/1" "--max-items 3 over 2-key pages"
[[ -n "$token" ]] || fail "--max-items gave no NextToken"
run aws s3api list-objects-v2 --bucket "$B" --prefix p/ --page-size 2 --starting-token "$token" --output json
keys=$(python3 -c 'import json,sys; print(",".join(o["Key"] for o in json.load(sys.stdin)["Contents"]))' <<<"$OUT")
check_eq "$keys" "p/c,p/d,p/e" "--starting-token resumes"
check_eq "$(q list-objects --bucket "$B" --prefix p/ --delimiter / --no-paginate 'join(`,`, CommonPrefixes[].Prefix)')" \
    "p/a/,p/b/" "list-objects (v1) with delimiter"

# ---- delete-objects ----
step "s3api delete-objects"
run aws s3api delete-objects --bucket "$B" \
    --delete '{"Objects":[{"Key":"p/c"},{"Key":"p/d"},{"Key":"p/never-existed"}]}' \
    --query 'join(`,`, sort(Deleted[].Key))' --output text
check_eq "$OUT" "p/c,p/d,p/never-existed" "delete-objects reports each key deleted (missing ones too)"
check_eq "$(q list-objects-v2 --bucket "$B" --prefix p/ 'join(`,`, Contents[].Key)')" \
    "p/a/1,p/a/2,p/b/1,p/e" "deleted keys are gone"
run aws s3api delete-objects --bucket "$B" --delete '{"Objects":[{"Key":"p/e"}],"Quiet":true}' --output json
moto_gap "Quiet mode of DeleteObjects" || check_lacks "$OUT" '"Deleted"' "quiet delete-objects lists nothing deleted"
run aws s3api delete-object --bucket "$B" --key p/never-existed
ok "delete-object of a missing key succeeds"

# ---- multipart by hand ----
step "s3api multipart: create, upload-part, list-parts, complete"
make_file "$W/part1" $((5 * 1024 * 1024))
make_file "$W/part2" $((1024 * 1024 + 7))
count_bytes "$W/part1" "$W/part2"
upload_id=$(q create-multipart-upload --bucket "$B" --key mpu/obj --content-type application/x-test \
    --metadata origin=mpu UploadId)
[[ -n "$upload_id" && "$upload_id" != None ]] || fail "no UploadId"
ok "create-multipart-upload returns an UploadId"
check_contains "$(q list-multipart-uploads --bucket "$B" 'Uploads[].UploadId')" "$upload_id" \
    "list-multipart-uploads shows the upload"
e1=$(q upload-part --bucket "$B" --key mpu/obj --upload-id "$upload_id" --part-number 1 --body "$W/part1" ETag)
e2=$(q upload-part --bucket "$B" --key mpu/obj --upload-id "$upload_id" --part-number 2 --body "$W/part2" ETag)
check_eq "$e1" "\"$(md5_of "$W/part1")\"" "upload-part ETag is the part's quoted MD5"
check_eq "$(q list-parts --bucket "$B" --key mpu/obj --upload-id "$upload_id" \
    '[join(`,`, Parts[].to_string(PartNumber)), join(`,`, Parts[].to_string(Size))]')" \
    "$(printf '1,2\t5242880,1048583')" "list-parts shows both parts with their sizes"
printf '{"Parts":[{"PartNumber":1,"ETag":%s},{"PartNumber":2,"ETag":%s}]}' \
    "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$e1")" \
    "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$e2")" >"$W/parts.json"
etag=$(q complete-multipart-upload --bucket "$B" --key mpu/obj --upload-id "$upload_id" \
    --multipart-upload "file://$W/parts.json" ETag)
[[ "$etag" =~ ^\"[0-9a-f]{32}-2\"$ ]] || fail "complete ETag should be \"<md5>-2\", got $etag"
ok "complete-multipart-upload ETag is \"…-2\""
run aws s3api get-object --bucket "$B" --key mpu/obj "$W/mpu.down" \
    --query '[ContentType, Metadata.origin, ContentLength]' --output text
check_eq "$OUT" "$(printf 'application/x-test\tmpu\t6291463')" "completed object keeps the upload's content type and metadata"
cat "$W/part1" "$W/part2" >"$W/mpu.expected"
check_same_file "$W/mpu.expected" "$W/mpu.down" "completed object is the parts concatenated"
check_lacks "$(q list-multipart-uploads --bucket "$B" 'Uploads[].UploadId')" "$upload_id" \
    "completed upload no longer listed"

step "s3api multipart: abort"
upload_id=$(q create-multipart-upload --bucket "$B" --key mpu/aborted UploadId)
run aws s3api upload-part --bucket "$B" --key mpu/aborted --upload-id "$upload_id" --part-number 1 --body "$W/part2"
count_bytes "$W/part2"
run aws s3api abort-multipart-upload --bucket "$B" --key mpu/aborted --upload-id "$upload_id"
ok "abort-multipart-upload"
run_fails 'NoSuchUpload' aws s3api list-parts --bucket "$B" --key mpu/aborted --upload-id "$upload_id"
ok "list-parts of an aborted upload is NoSuchUpload"
run_fails 'NoSuchKey|\(404\)' aws s3api head-object --bucket "$B" --key mpu/aborted
ok "aborted upload left no object"

# ---- copy-object ----
step "s3api copy-object: COPY and REPLACE metadata"
run aws s3api copy-object --bucket "$B" --key api/copy.json --copy-source "$B/api/doc.json"
check_eq "$(q head-object --bucket "$B" --key api/copy.json '[ContentType, Metadata.color, ETag]')" \
    "$(printf 'application/json\tblue\t"%s"' "$(md5_of "$W/doc.json")")" "COPY keeps content type, metadata and ETag"
run aws s3api copy-object --bucket "$B" --key api/replaced.json --copy-source "$B/api/doc.json" \
    --metadata-directive REPLACE --content-type text/plain --metadata color=red
check_eq "$(q head-object --bucket "$B" --key api/replaced.json '[ContentType, Metadata.color, Metadata.shape]')" \
    "$(printf 'text/plain\tred\tNone')" "REPLACE takes the new content type and metadata only"
# The copy source of a key with awkward characters is URL-encoded by the CLI.
src_key="tree/ünïcödé/ü-é-ß-文件-ファイル.txt"
run aws s3api copy-object --bucket "$B" --key "api/copy of ü+%#.txt" --copy-source "$B/$src_key"
run aws s3 cp --no-progress "s3://$B/api/copy of ü+%#.txt" "$W/copy.down"
check_same_file "$W/$src_key" "$W/copy.down" "copy of a unicode key to a key with + % # and a space"
run_fails 'NoSuchKey|\(404\)' aws s3api copy-object --bucket "$B" --key api/x --copy-source "$B/api/missing"
ok "copy from a missing source is NoSuchKey"

# ---- rm --recursive ----
step "s3 rm --recursive"
run aws s3 rm "s3://$B/tree/" --recursive
check_eq "$(grep -c '^delete: ' <<<"$OUT")" "$nfiles" "rm --recursive deletes all $nfiles tree objects"
check_eq "$(q list-objects-v2 --bucket "$B" --prefix tree/ --no-paginate KeyCount)" "0" "nothing left under tree/"
run aws s3 rm "s3://$B/small/small.txt"
check_contains "$OUT" "delete: s3://$B/small/small.txt" "rm of one object"

# ---- rb ----
step "s3 rb"
run_fails 'BucketNotEmpty' aws s3 rb "s3://$B"
ok "rb of a non-empty bucket is BucketNotEmpty"
run aws s3 rb "s3://$B" --force
check_contains "$OUT" "remove_bucket: $B" "rb --force empties and removes the bucket"
run_fails '\(404\)|Not Found|NoSuchBucket' aws s3api head-bucket --bucket "$B"
ok "head-bucket of the removed bucket is 404"
run_fails 'NoSuchBucket' aws s3 ls "s3://$B"
ok "ls of the removed bucket is NoSuchBucket"

finish
