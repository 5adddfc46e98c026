#!/usr/bin/env bash
# ctl_smoke: rfqctl end to end against mock_api.py (no engine needed): option handling, token
# minting, every subcommand, HTTP errors and exit codes.
# Usage: ctl_smoke.sh RFQCTL MOCK_API_PY [PYTHON]
set -u
RFQCTL=$1
MOCK=$2
PY=${3:-python3}
WORK=$(mktemp -d /tmp/rfqctl-smoke-XXXXXX)
MOCK_PID=
fails=0
checks=0

cleanup() {
    if [ -n "$MOCK_PID" ]; then
        kill "$MOCK_PID" 2>/dev/null
        wait "$MOCK_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

unset RFQ_TOKEN RFQ_API_URL RFQ_JWT_SIGNING_KEY

run() {
    "$RFQCTL" "$@" >"$WORK/out" 2>"$WORK/err"
    echo $? >"$WORK/rc"
}

show() {
    sed 's/^/    out| /' "$WORK/out"
    sed 's/^/    err| /' "$WORK/err"
}

fail() {
    echo "FAIL: $*"
    show
    fails=$((fails + 1))
}

# expect RC NAME: the last run exited with RC
expect_rc() {
    checks=$((checks + 1))
    local got
    got=$(cat "$WORK/rc")
    [ "$got" = "$1" ] || fail "$2: exit $got, wanted $1"
}

# expect_out NAME PATTERN / expect_err NAME PATTERN: fixed-string match
expect_out() {
    checks=$((checks + 1))
    grep -qF -- "$2" "$WORK/out" || fail "$1: stdout lacks '$2'"
}
expect_err() {
    checks=$((checks + 1))
    grep -qF -- "$2" "$WORK/err" || fail "$1: stderr lacks '$2'"
}
# expect_row NAME "A B C": a line whose fields, with runs of spaces squeezed, read "A B C"
expect_row() {
    checks=$((checks + 1))
    sed 's/^ *//; s/  */ /g' "$WORK/out" | grep -qxF -- "$2" || fail "$1: no row '$2'"
}
expect_no_out() {
    checks=$((checks + 1))
    ! grep -qF -- "$2" "$WORK/out" || fail "$1: stdout has '$2'"
}

# ---- help and usage errors (exit 2) ----
for cmd in "" token submit status quotes watch list; do
    # shellcheck disable=SC2086
    run $cmd --help
    expect_rc 0 "$cmd --help"
    expect_out "$cmd --help" "Usage: rfqctl"
done
run help submit
expect_rc 0 "help submit"
expect_out "help submit" "--pickup LAT,LON"
run --version
expect_rc 0 "--version"

usage_cases=(
    ""
    "bogus"
    "--bogus status x"
    "token"
    "token --tenant"
    "token --tenant acme"
    "token --tenant acme --tier gold"
    "token --tenant acme --tier basic --ttl 0"
    "token --tenant acme --tier basic --alg none"
    "submit"
    "submit --region eu-west --pickup 48.8,2.3"
    "submit --region eu-west --pickup 91,0 --dropoff 1,1"
    "submit --region eu-west --pickup abc --dropoff 1,1"
    "submit --region eu-west --pickup nan,1 --dropoff 1,1"
    "submit --region eu-west --pickup 1,2,3 --dropoff 1,1"
    "submit --region eu-west --pickup 1,1 --dropoff 1,1 --passengers two"
    "submit --region eu-west --pickup 1,1 --dropoff 1,1 --wants a,,b"
    "status"
    "status a.b"
    "status ../x"
    "status a b"
    "quotes *"
    "watch"
    "watch >"
    "list --limit 0"
    "list --limit 101"
    "list --status bogus"
    "list extra"
    "--api ftp://x status x"
    "status x --api file:///etc/passwd"
)
for args in "${usage_cases[@]}"; do
    # shellcheck disable=SC2086
    run $args
    expect_rc 2 "usage: rfqctl $args"
    checks=$((checks + 1))
    [ -s "$WORK/err" ] || fail "usage: rfqctl $args: no message on stderr"
done
run token --tenant Acme --tier basic --key /dev/null
expect_err "token upper-case tenant" "invalid tenant id 'Acme'"
run token --tenant 'acme*' --tier basic --key /dev/null
expect_rc 2 "token tenant with *"
run token --tenant acme --tier basic
expect_err "token without key" "RFQ_JWT_SIGNING_KEY"

# ---- token minting ----
if command -v openssl >/dev/null; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/es.key" 2>/dev/null
    openssl pkey -in "$WORK/es.key" -pubout -out "$WORK/es.pub" 2>/dev/null
    run token --tenant acme --tier premium --key "$WORK/es.key" --ttl 120 --sub svc-1
    expect_rc 0 "token ES256"
    tok=$(cat "$WORK/out")
    checks=$((checks + 1))
    claims=$("$PY" -c '
import base64, json, sys
h, p, s = sys.argv[1].split(".")
pad = lambda x: x + "=" * (-len(x) % 4)
hdr = json.loads(base64.urlsafe_b64decode(pad(h)))
c = json.loads(base64.urlsafe_b64decode(pad(p)))
assert hdr["alg"] == "ES256", hdr
assert len(base64.urlsafe_b64decode(pad(s))) == 64
assert c["exp"] - c["iat"] == 120, c
print(c["tenant_id"], c["tier"], c["iss"], c["aud"], c["sub"])
' "$tok")
    [ "$claims" = "acme premium rfq-dev rfq-engine svc-1" ] || fail "token claims: '$claims'"
    RFQ_JWT_SIGNING_KEY="$WORK/es.key" run token --tenant t-1 --tier enterprise --iss other --aud api2
    expect_rc 0 "token with RFQ_JWT_SIGNING_KEY"
    run token --tenant acme --tier basic --key "$WORK/es.pub"
    expect_rc 1 "token with a public key"
    expect_err "token with a public key" "cannot sign"
    run token --tenant acme --tier basic --key "$WORK/es.key" --alg RS256
    expect_rc 1 "token ES key as RS256"
fi

# ---- against the mock API ----
"$PY" "$MOCK" "$WORK/port" "$WORK/log" &
MOCK_PID=$!
for _ in $(seq 1 100); do
    [ -s "$WORK/port" ] && break
    sleep 0.05
done
[ -s "$WORK/port" ] || {
    echo "FAIL: mock API did not start"
    exit 1
}
export RFQ_API_URL="http://127.0.0.1:$(cat "$WORK/port")/"
TOKEN=aaa.bbb.ccc
last_log() { tail -n 1 "$WORK/log"; }

run --api http://127.0.0.1:1 status rfq-1
expect_rc 3 "unreachable API"
expect_err "unreachable API" "cannot reach the API"

run status rfq-1
expect_rc 1 "no token"
expect_err "no token" "HTTP 401 unauthorized"
expect_err "no token" '{"error":{"code":"unauthorized"'
expect_err "no token" "no token was sent"

run status rfq-1 --token $'aaa\r\nX-Evil: 1'
expect_rc 1 "token with CR/LF"
expect_err "token with CR/LF" "characters a JWT cannot have"

export RFQ_TOKEN=$TOKEN
run submit --region eu-west --pickup 48.8566,2.3522 --dropoff 48.8738,2.295 --passengers 2 \
    --wants free_drinks,quiet_ride --max-quotes 3 --timeout-ms 1500 --currency EUR
expect_rc 0 "submit"
expect_out "submit" '"rfq_id": "rfq-1"'
expect_out "submit" '"deadline_ms": 1760000001500'
checks=$((checks + 1))
last_log | "$PY" -c '
import json, sys
e = json.loads(sys.stdin.read())
assert e["method"] == "POST" and e["path"] == "/v1/rfqs", e
assert e["auth"] == "Bearer aaa.bbb.ccc", e
assert e["content_type"] == "application/json", e
b = json.loads(e["body"])
assert list(b) == ["region", "pickup", "dropoff", "passengers", "wants", "max_quotes",
                   "timeout_ms", "currency"], list(b)
assert b["pickup"] == {"lat": 48.8566, "lon": 2.3522}, b
assert b["dropoff"] == {"lat": 48.8738, "lon": 2.295}, b
assert b["passengers"] == 2 and b["wants"] == ["free_drinks", "quiet_ride"], b
assert b["max_quotes"] == 3 and b["timeout_ms"] == 1500 and b["currency"] == "EUR", b
' || fail "submit: request body"

run submit --region eu-west --pickup 1,1 --dropoff 2,2
expect_rc 0 "submit minimal"
checks=$((checks + 1))
last_log | "$PY" -c '
import json, sys
b = json.loads(json.loads(sys.stdin.read())["body"])
assert b == {"region": "eu-west", "pickup": {"lat": 1.0, "lon": 1.0},
             "dropoff": {"lat": 2.0, "lon": 2.0}, "passengers": 1}, b
' || fail "submit minimal: body has only what was given"

run submit --region nowhere --pickup 1,1 --dropoff 2,2
expect_rc 1 "submit 400"
expect_err "submit 400" "POST /v1/rfqs: HTTP 400 bad_request: region has an invalid value"
expect_err "submit 400" '{"error":{"code":"bad_request"'

run submit --region busy --pickup 1,1 --dropoff 2,2
expect_rc 1 "submit 429"
expect_err "submit 429" "retry after 3 s"

run submit --region eu-west --pickup 1,1 --dropoff 2,2 --timeout-ms 300 --wait
expect_rc 0 "submit --wait"
expect_out "submit --wait" "rfq rfq-1 completed: 3 quotes, 1 declines"
expect_row "submit --wait" "RANK RESPONDER PRICE CURRENCY ETA PERKS"
expect_out "submit --wait" "unicorn-3"
checks=$((checks + 1))
[ "$(grep -c '"method": "GET", "path": "/v1/rfqs/rfq-1"' "$WORK/log")" -ge 3 ] ||
    fail "submit --wait: did not poll until completed"

run quotes rfq-1
expect_rc 0 "quotes"
expect_row "quotes" "RANK RESPONDER PRICE CURRENCY ETA PERKS"
expect_row "quotes" "1 unicorn-3 9.80 USD 4m00s free_drinks,quiet_ride"
expect_row "quotes" "2 unicorn-11 12.50 USD 1m05s -"
expect_row "quotes" "3 unicorn-7 1234.56 USD 1h02m05s -"
checks=$((checks + 1))
[ "$(sed -n 2p "$WORK/out" | awk '{print $2}')" = "unicorn-3" ] || fail "quotes: cheapest first"
checks=$((checks + 1))
grep -qF "   9.80  USD" "$WORK/out" || fail "quotes: prices are right-aligned"

run quotes rfq-1 --json
expect_rc 0 "quotes --json"
checks=$((checks + 1))
"$PY" -c 'import json,sys; assert len(json.load(open(sys.argv[1]))["quotes"]) == 3' \
    "$WORK/out" || fail "quotes --json is the raw answer"

run quotes missing-id
expect_rc 1 "quotes 404"
expect_err "quotes 404" "GET /v1/rfqs/missing-id/quotes: HTTP 404 not_found"

run status rfq-1
expect_rc 0 "status"
expect_out "status" '"tenant": "acme"'

run list
expect_rc 0 "list"
expect_out "list" "RFQ_ID"
expect_row "list" "rfq-2 open 2025-10-09 08:53:25 2025-10-09 08:53:27 0 -"
expect_row "list" "rfq-1 completed 2025-10-09 08:53:20 2025-10-09 08:53:22 3 980"
run list --status completed --limit 5
expect_rc 0 "list --status"
expect_no_out "list --status" "rfq-2"
checks=$((checks + 1))
last_log | grep -qF '"path": "/v1/rfqs?status=completed&limit=5"' || fail "list query string"
run list --json
expect_out "list --json" '"rfqs"'

start=$(date +%s%N)
run watch rfq-1
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_rc 0 "watch"
expect_out "watch" "quote     #1   unicorn-3 9.80 USD eta 4m00s perks free_drinks,quiet_ride"
expect_out "watch" "quote     #2   unicorn-11 12.50 USD eta 1m05s"
expect_out "watch" "completed 2 quotes, best: unicorn-3 9.80 USD"
checks=$((checks + 1))
[ "$(wc -l <"$WORK/out")" -eq 3 ] || fail "watch: 3 event lines"
checks=$((checks + 1))
[ "$elapsed_ms" -lt 3000 ] || fail "watch did not stop after completed (${elapsed_ms} ms)"
checks=$((checks + 1))
last_log | grep -qF '"accept": "text/event-stream"' || fail "watch: Accept header"

run watch rfq-1 --json
expect_rc 0 "watch --json"
checks=$((checks + 1))
"$PY" -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert [json.loads(l)["type"] for l in lines] == ["quote", "quote", "completed"], lines
' "$WORK/out" || fail "watch --json lines"

run watch rfq-open
expect_rc 1 "watch stream cut"
expect_err "watch stream cut" "ended before the RFQ closed"

run watch nope
expect_rc 1 "watch 404"
expect_err "watch 404" "HTTP 404 not_found"

# global options after the command override the environment
RFQ_TOKEN=wrong.token.x run status rfq-1 --token $TOKEN --api "$RFQ_API_URL"
expect_rc 0 "global options after the command"

echo "ctl_smoke: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
