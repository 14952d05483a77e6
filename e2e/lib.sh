# shellcheck shell=bash
# Helpers shared by the shell suites (awscli.sh, admin.sh, rclone.sh, s3cmd.sh): loud assertions that
# show the client's own output, unique bucket names, test files, and a closing count.
#
# Contract with `cargo xtask e2e` (xtask/src/e2e.rs), which sets these variables:
#   S3_ENDPOINT            http://127.0.0.1:<port> — always path-style, never DNS
#   AWS_ACCESS_KEY_ID      the root user's access key
#   AWS_SECRET_ACCESS_KEY  its secret key
#   AWS_DEFAULT_REGION     us-east-1
#   E2E_TMP                an empty directory of this suite's own, removed afterwards
#   E2E_REFERENCE          unset against Depot; `moto` when validating a suite against moto,
#                          which relaxes only the assertions marked `moto:` (moto lacks them)

: "${S3_ENDPOINT:?S3_ENDPOINT is not set (run through cargo xtask e2e)}"
: "${AWS_ACCESS_KEY_ID:?}" "${AWS_SECRET_ACCESS_KEY:?}" "${E2E_TMP:?}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
E2E_REFERENCE="${E2E_REFERENCE:-}"

E2E_SUITE="${E2E_SUITE:-$(basename "$0" .sh)}"
E2E_STARTED=$SECONDS
E2E_CHECKS=0
E2E_SKIPPED=0
E2E_BYTES=0   # bytes the suite sent to the server (object bodies only), for the closing line

# Every client call, in the order made, with its output: printed whole on failure.
OUT=""

on_moto() { [[ "$E2E_REFERENCE" == moto ]]; }

step() { printf '\n--- %s [%ds]: %s\n' "$E2E_SUITE" $((SECONDS - E2E_STARTED)) "$*"; }

ok() {
    E2E_CHECKS=$((E2E_CHECKS + 1))
    printf '  ok   %s\n' "$*"
}

fail() {
    printf '  FAIL %s\n' "$*" >&2
    exit 1
}

# A check moto does not pass: fails against Depot, is reported and skipped on moto.
# usage: moto_gap "what moto lacks" && return/skip-block
moto_gap() {
    if on_moto; then
        E2E_SKIPPED=$((E2E_SKIPPED + 1))
        printf '  skip (moto lacks: %s)\n' "$*"
        return 0
    fi
    return 1
}

# run CMD…: runs a client command, keeps its combined output in $OUT, and on failure prints
# the command, its exit status and everything it said, then stops the suite.
run() {
    local rc=0
    OUT=$("$@" 2>&1) || rc=$?
    if ((rc != 0)); then
        printf '  FAIL (exit %d): %s\n' "$rc" "$*" >&2
        printf '%s\n' "$OUT" | sed 's/^/       | /' >&2
        exit 1
    fi
}

# run_fails PATTERN CMD…: the command must fail and say PATTERN (grep -E) somewhere.
run_fails() {
    local pattern=$1 rc=0
    shift
    OUT=$("$@" 2>&1) || rc=$?
    if ((rc == 0)); then
        printf '  FAIL (expected an error matching /%s/, got success): %s\n' "$pattern" "$*" >&2
        printf '%s\n' "$OUT" | sed 's/^/       | /' >&2
        exit 1
    fi
    if ! grep -Eq -- "$pattern" <<<"$OUT"; then
        printf '  FAIL (error does not match /%s/): %s\n' "$pattern" "$*" >&2
        printf '%s\n' "$OUT" | sed 's/^/       | /' >&2
        exit 1
    fi
}

# check_eq ACTUAL EXPECTED WHAT
check_eq() {
    if [[ "$1" != "$2" ]]; then
        fail "$3: expected [$2], got [$1]"
    fi
    ok "$3"
}

# check_contains HAYSTACK NEEDLE WHAT (fixed string)
check_contains() {
    if ! grep -Fq -- "$2" <<<"$1"; then
        fail "$3: [$2] not found in:
$(printf '%s\n' "$1" | sed 's/^/       | /')"
    fi
    ok "$3"
}

# check_lacks HAYSTACK NEEDLE WHAT (fixed string)
check_lacks() {
    if grep -Fq -- "$2" <<<"$1"; then
        fail "$3: [$2] unexpectedly found in:
$(printf '%s\n' "$1" | sed 's/^/       | /')"
    fi
    ok "$3"
}

# check_same_file A B WHAT: byte-for-byte equal.
check_same_file() {
    if ! cmp -- "$1" "$2"; then
        fail "$3: $1 and $2 differ (sizes $(stat -c %s -- "$1" 2>/dev/null || echo '?') and $(stat -c %s -- "$2" 2>/dev/null || echo '?'))"
    fi
    ok "$3"
}

# check_same_tree A B WHAT: `diff -r`, whose output is the failure message.
check_same_tree() {
    local diff_out
    if ! diff_out=$(diff -r -- "$1" "$2" 2>&1); then
        fail "$3: trees differ:
$(printf '%s\n' "$diff_out" | sed -n '1,40s/^/       | /p')"
    fi
    ok "$3"
}

# unique_bucket: a fresh, valid bucket name for this suite (lowercase, digits, dashes).
unique_bucket() {
    printf 'e2e-%s-%s-%04x%04x' "$E2E_SUITE" "$(date +%s)" "$RANDOM" "$RANDOM" |
        tr '[:upper:]_' '[:lower:]-'
}

# make_file PATH BYTES: random content (so a wrong range or a mixed-up part shows).
make_file() {
    mkdir -p -- "$(dirname -- "$1")"
    head -c "$2" /dev/urandom >"$1"
}

# count_bytes PATH…: adds the files' sizes to the suite's upload total.
count_bytes() {
    local f
    for f in "$@"; do
        E2E_BYTES=$((E2E_BYTES + $(stat -c %s -- "$f")))
    done
}

count_tree_bytes() {
    E2E_BYTES=$((E2E_BYTES + $(find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')))
}

# head_etag BUCKET KEY: the ETag of an object, by a HEAD that curl signs itself (SigV4), for
# clients that do not show it. KEY must need no URL encoding. curl does not send the payload
# hash S3 requires with SigV4, so it is given (that of the empty body) and signed as x-amz-*.
head_etag() {
    run curl -sS -f -I --aws-sigv4 "aws:amz:$AWS_DEFAULT_REGION:s3" \
        --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
        "$S3_ENDPOINT/$1/$2"
    tr -d '\r' <<<"$OUT" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p'
}

# flip_signature URL: the presigned URL with the first character of its signature changed,
# keeping its length and alphabet (hex for SigV4, base64 for SigV2): only the value is wrong.
flip_signature() {
    local url=$1 head tail
    head=${url%%Signature=*}Signature=
    tail=${url#*Signature=}
    case ${tail:0:1} in
        %) tail=A${tail:3} ;; # an escaped base64 + / or =
        0) tail=1${tail:1} ;;
        *) tail=0${tail:1} ;;
    esac
    printf '%s%s' "$head" "$tail"
}

md5_of() { md5sum -- "$1" | cut -d' ' -f1; }

# The awkward names a tree of test files uses: spaces, unicode (NFC, several scripts), and
# the characters URL encoders get wrong (`+`, `%`, `#`, `&`, `=`, `?`, `;`, quotes, `~`).
make_awkward_tree() {
    local root=$1
    local dirs=("" "plain/" "with space/" "ünïcödé/" "深/层/目录/" "a+b/c%20d/" "hash#dir/x y/")
    local names=("file.txt" "with space.txt" "plus+sign.txt" "percent%41.txt" "hash#tag.txt"
        "amp&eq=.txt" "semi;colon.txt" "quote'single.txt" "tilde~.txt" "ü-é-ß-文件-ファイル.txt"
        "emoji-🎉.bin" "question?.txt" "comma,paren(1).txt" "dollar\$at@.txt")
    mkdir -p -- "$root"
    local d n
    for d in "${!dirs[@]}"; do
        for n in "${!names[@]}"; do
            # 7 dirs × 14 names, taken as a checkerboard: 49 files, every name in some dir.
            (((d + n) % 2 == 0)) || continue
            make_file "$root/${dirs[d]}${names[n]}" $((RANDOM % 4096))
        done
    done
    make_file "$root/plain/larger.bin" 300000
    make_file "$root/plain/empty" 0
    # Older than any upload, so tools that compare modification times (aws s3 sync, whose
    # remote LastModified has whole seconds) see the remote copies as up to date.
    find "$root" -exec touch -d '2 hours ago' {} +
}

# finish: the closing line of a suite; xtask prints its own summary after it.
finish() {
    printf '\n%s: %d checks passed, %d skipped (moto gaps), %d bytes uploaded, %ds\n' \
        "$E2E_SUITE" "$E2E_CHECKS" "$E2E_SKIPPED" "$E2E_BYTES" $((SECONDS - E2E_STARTED))
}
