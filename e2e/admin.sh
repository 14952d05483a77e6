#!/usr/bin/env bash
# depot-admin, the operator CLI, end to end: the built binary ($DEPOT_ADMIN_BIN) against the
# running depot-api with the harness's root keys (a system user). Users (create, show, list,
# gen-key up to two and a third refused, revoke-key, disable/enable, delete), accounts,
# buckets, quotas (user, bucket, default), limits (ops and bandwidth), replication and usage
# objects (list, show, delete), the configuration file below variables
# and flags, --json parsed by python3, and the exit code and one-line message of each error
# status; then the local bootstrap `create-user -S` on a fresh data directory, no server.
# Uploads nothing.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

: "${DEPOT_ADMIN_BIN:?DEPOT_ADMIN_BIN is not set (run through cargo xtask e2e)}"

# depot-admin reads its connection from DEPOT_* variables, then a file under the user's
# configuration directory: the suite's own, so nothing of the developer's reaches it.
export DEPOT_ENDPOINT="$S3_ENDPOINT"
export DEPOT_ACCESS_KEY="$AWS_ACCESS_KEY_ID"
export DEPOT_SECRET_KEY="$AWS_SECRET_ACCESS_KEY"
export XDG_CONFIG_HOME="$E2E_TMP/config"
export HOME="$E2E_TMP/home"
mkdir -p "$XDG_CONFIG_HOME" "$HOME"
unset DEPOT_ADMIN_CONFIG DEPOT_DATA_DIR DEPOT_DATABASE_URL DEPOT_MASTER_KEY

admin() { "$DEPOT_ADMIN_BIN" "$@"; }

# run_json CMD…: runs a command that prints JSON; $OUT is its stdout alone, which must parse.
run_json() {
    local rc=0
    OUT=$("$@" 2>"$E2E_TMP/stderr") || rc=$?
    if ((rc != 0)); then
        printf '  FAIL (exit %d): %s\n' "$rc" "$*" >&2
        sed 's/^/       | /' "$E2E_TMP/stderr" >&2
        exit 1
    fi
    if ! python3 -c 'import json, sys; json.load(sys.stdin)' <<<"$OUT" 2>/dev/null; then
        fail "not JSON from $*:
$(printf '%s\n' "$OUT" | sed 's/^/       | /')"
    fi
}

# jq_py EXPR: evaluates a Python expression over the JSON in $OUT, bound to `d`;
# period_end(name) is when the period of a usage object's name ended (Unix seconds).
jq_py() {
    python3 -c '
import datetime, json, sys
def period_end(name):
    start, period = name.split("-", 3)[3].rsplit("-", 1)
    start = datetime.datetime.strptime(start, "%Y-%m-%dT%H:%M:%S.%fZ")
    return start.replace(tzinfo=datetime.timezone.utc).timestamp() + int(period)
d = json.loads(sys.stdin.read())
print(eval(sys.argv[1]))' "$1" <<<"$OUT"
}

# expect_exit CODE PATTERN CMD…: the command must exit with CODE, print nothing on stdout,
# and say PATTERN (grep -E) on stderr in exactly one line.
expect_exit() {
    expect_failure one-line "$@"
}

# expect_usage PATTERN CMD…: a usage error found by clap (exit 2), whose message spans lines.
expect_usage() {
    expect_failure any-length 2 "$@"
}

expect_failure() {
    local length=$1 want=$2 pattern=$3 rc=0 stdout
    shift 3
    stdout=$("$@" 2>"$E2E_TMP/stderr") || rc=$?
    OUT=$(cat "$E2E_TMP/stderr")
    if ((rc != want)); then
        printf '  FAIL (expected exit %d, got %d): %s\n' "$want" "$rc" "$*" >&2
        printf '%s\n%s\n' "$stdout" "$OUT" | sed 's/^/       | /' >&2
        exit 1
    fi
    [[ -z "$stdout" ]] || fail "$*: printed on stdout despite failing: $stdout"
    grep -Eq -- "$pattern" <<<"$OUT" || fail "$*: stderr does not match /$pattern/: $OUT"
    if [[ $length == one-line ]]; then
        (($(wc -l <<<"$OUT") == 1)) || fail "$*: the message is not one line: $OUT"
    fi
    ok "exit $want: $*"
}

EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# s3_as KEY SECRET METHOD PATH: an S3 request signed by curl; prints the HTTP status.
s3_as() {
    curl -sS -o /dev/null -w '%{http_code}' -X "$3" \
        --aws-sigv4 "aws:amz:$AWS_DEFAULT_REGION:s3" --user "$1:$2" \
        -H "x-amz-content-sha256: $EMPTY_SHA256" "$S3_ENDPOINT/$4"
}

STARTED=$(date +%s)
STAMP="$STARTED-$RANDOM"
EMAIL="e2e-admin-$STAMP@example.com"
B=$(unique_bucket)
D="$B-dst"
KEY1="" SECRET1=""

cleanup() {
    local status=$?
    if [[ -n "$KEY1" ]]; then
        admin replication delete "$B" >/dev/null 2>&1 || true
        s3_as "$KEY1" "$SECRET1" DELETE "$D" >/dev/null 2>&1 || true
        s3_as "$KEY1" "$SECRET1" DELETE "$B" >/dev/null 2>&1 || true
    fi
    admin quota delete --default bucket >/dev/null 2>&1 || true
    admin user delete -e "$EMAIL" >/dev/null 2>&1 || true
    exit "$status"
}
trap cleanup EXIT

step "version"
run admin --version
check_contains "$OUT" "depot-admin" "--version names the program"

step "user create, show, list"
run_json admin --json user create -e "$EMAIL"
check_eq "$(jq_py 'd["UserEmail"]')" "$EMAIL" "create answers the email"
USER_ID=$(jq_py 'd["UserId"]')
[[ "$USER_ID" =~ ^[0-9a-f]{16}$ ]] || fail "user id [$USER_ID] is not 16 hex digits"
ok "create answers a 16-hex-digit id"
check_eq "$(jq_py 'len(d["AWSAccessKeys"])')" 1 "a new user has one key pair"
KEY1=$(jq_py 'd["AWSAccessKeys"][0]["AWSAccessKeyId"]')
SECRET1=$(jq_py 'd["AWSAccessKeys"][0]["AWSSecretAccessKey"]')

run admin user show -e "$EMAIL"
check_contains "$OUT" "$USER_ID" "show (table) shows the id"
check_contains "$OUT" "enabled" "show (table) shows the state"
check_contains "$OUT" "$KEY1" "show (table) shows the access key"
check_lacks "$OUT" "$SECRET1" "show (table) masks the secret"
run_json admin --json user show --id "$USER_ID"
check_eq "$(jq_py 'd["UserEmail"]')" "$EMAIL" "show by id finds the user"
check_eq "$(jq_py 'd["State"]')" enabled "show --json: State"
check_eq "$(jq_py 'd["AWSAccessKeys"][0]["AWSSecretAccessKey"]')" "****" "show --json masks the secret"
run_json admin --json user show --id "$USER_ID" --show-secrets
check_eq "$(jq_py 'd["AWSAccessKeys"][0]["AWSSecretAccessKey"]')" "$SECRET1" "--show-secrets shows it"
run admin user list
check_contains "$OUT" "$EMAIL" "list (table) lists the user"
run_json admin --json user list
check_eq "$(jq_py "[u['UserId'] for u in d if u['UserEmail'] == '$EMAIL']")" "['$USER_ID']" \
    "list --json lists the user once"
check_eq "$(jq_py "any('system' in (u.get('Flags') or []) for u in d)")" True \
    "list --json flags the root user as system"

step "errors: conflict, not found, usage, bad request"
expect_exit 4 'UserAlreadyExists' admin user create -e "$EMAIL"
expect_exit 3 'NoSuchUser' admin user show -e "nobody-$STAMP@example.com"
expect_exit 3 'NoSuchUser' admin --json user delete --id 0123456789abcdef
expect_usage 'required' admin user show
expect_usage 'cannot be used with' admin user show -e "$EMAIL" --id "$USER_ID"
expect_exit 6 'InvalidArgument' admin user create -e "not-an-email"

step "gen-key: two pairs at most; revoke-key"
run_json admin --json user gen-key -e "$EMAIL"
check_eq "$(jq_py 'len(d["AWSAccessKeys"])')" 2 "gen-key answers both pairs"
KEY2=$(jq_py 'd["AWSAccessKeys"][-1]["AWSAccessKeyId"]')
[[ "$KEY2" != "$KEY1" ]] || fail "the new key is the old one"
ok "the new pair comes last"
expect_exit 4 'KeyLimitReached' admin user gen-key -e "$EMAIL"
run admin user revoke-key -e "$EMAIL" -k "$KEY2"
check_contains "$OUT" "revoked key $KEY2" "revoke-key confirms"
expect_exit 3 'NoSuchAccessKey' admin user revoke-key -e "$EMAIL" -k "$KEY2"
run_json admin --json user show -e "$EMAIL"
check_eq "$(jq_py '[k["AWSAccessKeyId"] for k in d["AWSAccessKeys"]]')" "['$KEY1']" \
    "one pair is left"

step "a user that is not a system user is refused"
expect_exit 5 'AccessDenied.*system user' \
    admin --access-key "$KEY1" --secret-key "$SECRET1" user list
expect_exit 5 '403' admin --access-key "$KEY1" --secret-key "wrong-secret" user list

step "disable, enable"
run admin user disable -e "$EMAIL"
check_contains "$OUT" "disabled user $EMAIL" "disable confirms"
run_json admin --json user show -e "$EMAIL"
check_eq "$(jq_py 'd["State"]')" disabled "the user is disabled"
check_eq "$(s3_as "$KEY1" "$SECRET1" PUT "$B")" 403 "a disabled user's key is refused"
run admin --json user enable -e "$EMAIL"
check_eq "$OUT" "" "enable --json prints nothing"
run_json admin --json user show -e "$EMAIL"
check_eq "$(jq_py 'd["State"]')" enabled "the user is enabled again"

step "bucket list"
check_eq "$(s3_as "$KEY1" "$SECRET1" PUT "$B")" 200 "the user creates a bucket"
check_eq "$(s3_as "$KEY1" "$SECRET1" PUT "$D")" 200 "and a second one"
run_json admin --json bucket list -e "$EMAIL"
check_eq "$(jq_py 'sorted(b["name"] for b in d)')" "['$B', '$D']" "bucket list -e lists the user's buckets"
check_eq "$(jq_py "[b['owner_id'] for b in d if b['name'] == '$B']")" "['$USER_ID']" "with the owner"
check_eq "$(jq_py "[b['size']['current'] for b in d if b['name'] == '$B']")" "[0]" "and the size"
run admin bucket list
check_contains "$OUT" "$B" "bucket list (table) lists every bucket"
check_contains "$OUT" "BYTE-HOURS" "with its columns"
expect_exit 4 'UserHasBuckets' admin user delete -e "$EMAIL"

step "accounts"
run_json admin --json account create -e "$EMAIL" -a app
check_eq "$(jq_py 'd["Name"]')" app "account create answers the name"
check_eq "$(jq_py 'len(d["AWSAccessKeys"])')" 1 "and one key pair"
expect_exit 4 'AccountAlreadyExists' admin account create -e "$EMAIL" -a app
expect_exit 6 'InvalidArgument' admin account create -e "$EMAIL" -a "two words"
run_json admin --json user gen-key -e "$EMAIL" -a app
check_eq "$(jq_py 'len(d["AWSAccessKeys"])')" 2 "gen-key -a answers the account's two pairs"
run admin user show -e "$EMAIL"
check_contains "$OUT" "app" "show lists the account's keys"
run admin account delete -e "$EMAIL" -a app
check_contains "$OUT" "deleted account app" "account delete confirms"
expect_exit 3 'NoSuchAccount' admin account delete -e "$EMAIL" -a app

step "quotas"
run admin quota set -b "$B" --size 5
run_json admin --json quota show -b "$B"
check_eq "$(jq_py '(d["type"], d["size"])')" "('1', '5')" "a bucket quota of 5 GB"
run admin quota show -b "$B"
check_contains "$OUT" "5 GB" "quota show (table)"
run admin quota set --default bucket --size 7
run admin quota delete -b "$B"
run_json admin --json quota show -b "$B"
check_eq "$(jq_py 'd["size"]')" 7 "without its own, the default bucket quota applies"
run admin quota delete --default bucket
run admin quota show -b "$B"
check_contains "$OUT" "unlimited" "with neither: unlimited"
run admin quota set -e "$EMAIL" --size 10
run_json admin --json quota show --id "$USER_ID"
check_eq "$(jq_py '(d["type"], d["size"])')" "('0', '10')" "a user quota of 10 GB"
run admin quota delete -e "$EMAIL"
expect_usage 'required' admin quota set -b "$B"
expect_exit 3 'NoSuchUser' admin quota show -e "nobody-$STAMP@example.com"

step "limits"
expect_exit 3 'NoSuchLimits' admin limits show -b "$B"
run admin limits set -b "$B" --ops-default 60 --ops-get 120 --bandwidth-out 50
run_json admin --json limits show -b "$B"
check_eq "$(jq_py '(d["ops:default"], d["ops:get"], d["ops:put"], d["bandwidth:out"])')" \
    "('1.00', '2.00', '1.00', '50.00')" "ops per minute in, per second out; bandwidth in KB/s"
run admin limits show -b "$B"
check_contains "$OUT" "2.00 ops/s" "limits show (table) gives units"
check_contains "$OUT" "50.00 KB/s" "and the bandwidth"
run admin limits delete -b "$B" --bandwidth
run_json admin --json limits show -b "$B"
check_eq "$(jq_py '(d["ops:get"], d["bandwidth:out"])')" "('2.00', '0')" "delete --bandwidth keeps ops"
run admin limits delete -b "$B"
run_json admin --json limits show -b "$B"
check_eq "$(jq_py 'sorted(set(d.values()))')" "['0']" "delete with neither flag resets both"
run admin limits set -e "$EMAIL" --ops-put 600
run_json admin --json limits show -e "$EMAIL"
check_eq "$(jq_py 'd["ops:put"]')" "10.00" "user limits"
run admin limits delete -e "$EMAIL"
expect_exit 6 'InvalidBucketName' admin limits show -b "Not_A_Bucket"

step "replication"
# The destination is reached over S3 even on this cluster, as a user there.
REMOTE=(--remote-endpoint "$S3_ENDPOINT" --remote-access-key "$KEY1" --remote-secret-key "$SECRET1")
expect_exit 3 'ReplicationConfigurationNotFound' admin replication show "$B"
run admin replication set "$B" --destination "$D" --prefix logs/ --delete-markers "${REMOTE[@]}"
run_json admin --json replication show "$B"
check_eq "$(jq_py '[(r["destination_bucket"], r["prefix"], r["enabled"], r["delete_marker_replication"]) for r in d["rules"]]')" \
    "[('$D', 'logs/', True, True)]" "replication show --json gives the rule"
check_eq "$(jq_py '(d["remote"]["endpoint"], d["remote"]["access_key"], d["remote"]["secret"])')" \
    "('$S3_ENDPOINT', '$KEY1', '****')" "and the remote region, its secret masked"
run_json admin --json replication show "$B" --show-secrets
check_eq "$(jq_py 'd["remote"]["secret"]')" "$SECRET1" "--show-secrets shows it"
run admin replication show "$B"
check_contains "$OUT" "logs/" "replication show (table) gives the prefix"
check_lacks "$OUT" "$SECRET1" "and masks the secret"
run admin replication show "$B" --xml
check_contains "$OUT" "<Bucket>arn:aws:s3:::$D</Bucket>" "--xml gives the document"
printf '%s\n' "$OUT" >"$E2E_TMP/replication.xml"
run admin replication delete "$B"
expect_exit 3 'NotFound' admin replication show "$B"
run admin replication set "$B" --file "$E2E_TMP/replication.xml" "${REMOTE[@]}"
run_json admin --json replication show "$B"
check_eq "$(jq_py 'd["rules"][0]["destination_bucket"]')" "$D" "set --file takes show --xml back"
run admin replication delete "$B"
expect_exit 2 'r.xml' admin replication set "$B" --file "$E2E_TMP/r.xml"
expect_exit 2 'remote-secret-key' admin replication set "$B" --destination "$D" \
    --remote-endpoint "$S3_ENDPOINT" --remote-access-key "$KEY1"

step "usage"
# user_usage: the counters of $USER_ID summed over the usage objects of periods that ended
# after this suite started, as "bucket:put,get,list,other" lines after a first line
# "OBJ=<the newest object that has any>".
user_usage() {
    run_json admin --json usage list
    : >"$E2E_TMP/usage.jsonl"
    for name in $(jq_py "' '.join(n for n in d['items'] if period_end(n) >= $STARTED)"); do
        run_json admin --json usage show "$name"
        jq_py "json.dumps(dict(d, name='$name'))" >>"$E2E_TMP/usage.jsonl"
    done
    python3 - "$USER_ID" "$E2E_TMP/usage.jsonl" <<'PY'
import collections, json, sys
user, path = sys.argv[1], sys.argv[2]
totals, newest = collections.defaultdict(lambda: [0, 0, 0, 0]), ""
for line in open(path):
    report = json.loads(line)
    for item in report["items"]:
        if item["key"]["user_id"] == user:
            newest = report["name"]
            ops = item["counters"]["ops"]
            for i, op in enumerate(("put", "get", "list", "other")):
                totals[item["key"]["bucket"]][i] += ops[op]
print("OBJ=" + newest)
for bucket in sorted(totals):
    print(bucket + ":" + ",".join(map(str, totals[bucket])))
PY
}
# The harness's server writes a usage object every 2 s: this suite's user's requests that
# authenticated — its refused `user list` (outside any bucket) and its two bucket creations;
# the wrong secret and the disabled key proved no one — show up within a few seconds,
# counted once each as "other".
WANT="OBJ=
:0,0,0,1
$B:0,0,0,1
$D:0,0,0,1"
for _ in $(seq 10); do
    GOT=$(user_usage)
    [[ "$(sed 1d <<<"$GOT")" == "$(sed 1d <<<"$WANT")" ]] && break
    sleep 1
done
check_eq "$(sed 1d <<<"$GOT")" "$(sed 1d <<<"$WANT")" \
    "usage counts this suite's user's three authenticated requests, once each"
OBJ=$(head -1 <<<"$GOT" | cut -d= -f2)
run_json admin --json usage list
check_eq "$(jq_py 'd["nr_items"] == len(d["items"])')" True \
    "usage list --json: nr_items counts the names"
[[ "$OBJ" =~ ^s3-usage-0000000000000001-[0-9T:.-]+Z-[0-9]+$ ]] || fail "usage object name [$OBJ]"
ok "usage objects are named s3-usage-<service id>-<start>-<period>"
run admin usage list
check_contains "$OUT" "$OBJ" "usage list (table) names the object"
run_json admin --json usage show "$OBJ"
check_eq "$(jq_py '(d["fmt_version"], d["service_id"], d["nr_items"] == len(d["items"]))')" \
    "(1, 1, True)" "usage show --json gives the counters"
run admin usage show "$OBJ"
check_contains "$OUT" "UPLOADED" "usage show (table) gives the traffic"
run admin usage delete "$OBJ"
check_contains "$OUT" "deleted usage object $OBJ" "usage delete confirms"
expect_exit 3 'NoSuchUsageObject' admin usage show "$OBJ"
expect_exit 3 'NoSuchUsageObject' admin usage delete "$OBJ"
expect_exit 6 'InvalidArgument' admin usage show not-a-usage-object

step "transport and configuration errors"
expect_exit 8 'transport error' admin --endpoint http://127.0.0.1:1 user list
expect_exit 2 'invalid endpoint' admin --endpoint ftp://127.0.0.1 user list
expect_exit 2 'no access key' env -u DEPOT_ACCESS_KEY "$DEPOT_ADMIN_BIN" user list
expect_exit 2 'admin.toml' admin --config "$E2E_TMP/missing/admin.toml" user list

step "configuration file: below variables and flags"
mkdir -p "$XDG_CONFIG_HOME/depot"
cat >"$XDG_CONFIG_HOME/depot/admin.toml" <<EOF
endpoint = "$S3_ENDPOINT"
access_key = "$AWS_ACCESS_KEY_ID"
secret_key = "$AWS_SECRET_ACCESS_KEY"
region = "$AWS_DEFAULT_REGION"
EOF
chmod 600 "$XDG_CONFIG_HOME/depot/admin.toml"
run env -u DEPOT_ENDPOINT -u DEPOT_ACCESS_KEY -u DEPOT_SECRET_KEY "$DEPOT_ADMIN_BIN" user list
check_contains "$OUT" "$EMAIL" "the default file alone is enough"
expect_exit 5 'AccessDenied' env -u DEPOT_ENDPOINT DEPOT_ACCESS_KEY="$KEY1" \
    DEPOT_SECRET_KEY="$SECRET1" "$DEPOT_ADMIN_BIN" user list
run env -u DEPOT_ENDPOINT DEPOT_ACCESS_KEY="$KEY1" DEPOT_SECRET_KEY="$SECRET1" \
    "$DEPOT_ADMIN_BIN" --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" \
    user list
ok "flags win over variables, variables over the file"
rm "$XDG_CONFIG_HOME/depot/admin.toml"

step "user delete"
check_eq "$(s3_as "$KEY1" "$SECRET1" DELETE "$D")" 204 "the user deletes a bucket"
check_eq "$(s3_as "$KEY1" "$SECRET1" DELETE "$B")" 204 "and the other"
run admin user delete -e "$EMAIL"
check_contains "$OUT" "deleted user $EMAIL" "user delete confirms"
expect_exit 3 'NoSuchUser' admin user delete -e "$EMAIL"
check_eq "$(s3_as "$KEY1" "$SECRET1" PUT "$B")" 403 "a deleted user's key is refused"
KEY1=""

step "bootstrap: create-user -S on a fresh data directory, no server"
BOOT="$E2E_TMP/bootstrap/data"
run_json admin --json create-user -S -e "boot@example.com" --data-dir "$BOOT"
check_eq "$(jq_py 'd["UserEmail"]')" boot@example.com "create-user answers the email"
check_eq "$(jq_py 'd["Flags"]')" "['system']" "a system user"
check_eq "$(jq_py 'd["State"]')" enabled "enabled"
check_eq "$(jq_py 'len(d["AWSAccessKeys"][0]["AWSSecretAccessKey"]) >= 40')" True "with its secret"
[[ -f "$BOOT/depot.db" && -f "$BOOT/master.key" ]] || fail "no database or master key in $BOOT"
ok "the database and the master key are created where depot-api looks"
expect_exit 4 'already exists' admin create-user -S -e "boot@example.com" --data-dir "$BOOT"
run env DEPOT_DATA_DIR="$BOOT" "$DEPOT_ADMIN_BIN" create-user -e "plain@example.com"
check_contains "$OUT" "plain@example.com" "create-user (table), data dir from DEPOT_DATA_DIR"
check_contains "$OUT" "SECRET KEY" "prints the pair"
expect_exit 4 'already exists' env DEPOT_DATA_DIR="$BOOT" "$DEPOT_ADMIN_BIN" create-user -e "plain@example.com"
expect_exit 2 'invalid email' admin create-user -S -e "not-an-email" --data-dir "$BOOT"
expect_usage 'required' admin create-user -S

finish
