#!/usr/bin/env bash
# ctl_e2e: rfqctl end to end against the real engine. Brings a whole local stack up with
# deploy/local/stack (nats-server, redis-server, aggregator, requester, responder fleet) in a
# temporary run directory on free loopback ports, then checks option handling, token minting
# with the stack's dev key, every subcommand, real HTTP errors (400, 401, 404) and the exit
# codes, and tenant administration (rfqctl tenant: registration, suspension, live defaults).
# The stack is always taken down again, and no process it started may survive.
#
# Usage: ctl_e2e.sh RFQCTL BUILD_DIR REQUESTER RESPONDER AGGREGATOR [PYTHON]
#   BUILD_DIR is handed to the stack as RFQ_BUILD_DIR; REQUESTER, RESPONDER and AGGREGATOR are
#   the engine binaries the build produced, checked to be the ones the stack will start.
# Environment: RFQ_E2E_KEEP=1 keeps the run directory (logs, data) for a look afterwards.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
STACK=$ROOT/deploy/local/stack
if [ $# -lt 5 ]; then
    sed -n '8,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
RFQCTL=$1
BUILD_DIR=$2
PY=${6:-python3}

BUDGET_S=150     # no new command starts after this; CTest's TIMEOUT is above it
CMD_TIMEOUT_S=30 # bound of any single rfqctl run (the longest legitimate one takes ~3 s)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rfqctl-e2e.XXXXXX")
RUN=$WORK/run
fails=0
checks=0
stack_pids=() # "name pid exe" of every process the stack started
bg_pid=

# ---- the stack's environment: only what this test sets ----
# Every RFQ_* variable passes through the stack to the engine processes: drop the caller's.
for v in $(compgen -e | grep '^RFQ_'); do
    [ "$v" = RFQ_E2E_KEEP ] || unset "$v"
done
export RFQ_RUN_DIR=$RUN RFQ_BUILD_DIR=$BUILD_DIR
export RFQ_FLEET_SIZE=20 RFQ_REGIONS=eu-west,us-east RFQ_DECLINE_PCT=10 RFQ_LOG_LEVEL=info

# ---- helpers ----

run() {
    if [ "$SECONDS" -gt "$BUDGET_S" ]; then
        echo "FAIL: out of time (${BUDGET_S} s) before: rfqctl $*"
        exit 1
    fi
    timeout -k 5 "$CMD_TIMEOUT_S" "$RFQCTL" "$@" >"$WORK/out" 2>"$WORK/err"
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

# expect_rc RC NAME: the last run exited with RC
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
expect_no_out() {
    checks=$((checks + 1))
    ! grep -qF -- "$2" "$WORK/out" || fail "$1: stdout has '$2'"
}
# expect_row NAME "A B C": a line whose fields, with runs of spaces squeezed, read "A B C"
expect_row() {
    checks=$((checks + 1))
    sed 's/^ *//; s/  */ /g' "$WORK/out" | grep -qxF -- "$2" || fail "$1: no row '$2'"
}

# An HTTP error: exit 1, the summary line and the JSON error body on stderr, nothing on stdout.
expect_http_error() {
    local name=$1 summary=$2 code=$3
    expect_rc 1 "$name"
    expect_err "$name" "$summary"
    expect_err "$name" "{\"error\":{\"code\":\"$code\""
    checks=$((checks + 1))
    [ ! -s "$WORK/out" ] || fail "$name: output on stdout"
}

# py NAME SCRIPT ARGS...: one check written in Python (exit status 0 = pass)
py() {
    local name=$1 script=$2
    shift 2
    checks=$((checks + 1))
    "$PY" -c "$script" "$@" || fail "$name"
}

# Field of a JSON file, e.g. jget out rfq_id / jget out request.max_quotes
jget() {
    "$PY" -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(v if not isinstance(v, (dict, list)) else json.dumps(v))
' "$WORK/$1" "$2" 2>/dev/null
}

save() { cp "$WORK/out" "$WORK/$1"; }

# Alive and not a zombie.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# The stack's processes that still run what was started, as "name pid" lines.
survivors() {
    local name pid exe now
    for entry in "${stack_pids[@]}"; do
        read -r name pid exe <<<"$entry"
        alive "$pid" || continue
        now=$(readlink "/proc/$pid/exe" 2>/dev/null) || now=
        [ -z "$exe" ] || [ "${now% (deleted)}" = "$exe" ] || continue
        echo "$name $pid"
    done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p=$1
    while port_open "$p"; do p=$((p + 1)); done
    printf '%s' "$p"
}

# Bring the stack up on free ports. A port taken between the check and the bind (another test
# running at the same time) makes `up` fail and stop what it started: try again on others.
stack_up() {
    local attempt http_port
    for attempt in 1 2 3; do
        RFQ_NATS_PORT=$(free_port $((20000 + RANDOM % 12000)))
        RFQ_REDIS_PORT=$(free_port $((RFQ_NATS_PORT + 1)))
        http_port=$(free_port $((RFQ_REDIS_PORT + 1)))
        export RFQ_NATS_PORT RFQ_REDIS_PORT RFQ_HTTP_ADDR=127.0.0.1:$http_port
        "$STACK" up >"$WORK/up.log" 2>&1 && return 0
        if ! grep -qi 'in use' "$WORK/up.log" "$RUN"/logs/*.log 2>/dev/null; then
            break
        fi
        echo "ctl_e2e: a port was taken during start-up (attempt $attempt), trying others"
        "$STACK" down >/dev/null 2>&1
    done
    echo "FAIL: deploy/local/stack up"
    sed 's/^/    up| /' "$WORK/up.log"
    return 1
}

# Record every pid the stack wrote, with the executable it runs, for the survivor check.
record_pids() {
    local f name pid
    for f in "$RUN"/pids/*.pid; do
        [ -f "$f" ] || continue
        name=$(basename "$f" .pid)
        pid=$(cat "$f")
        stack_pids+=("$name $pid $(cat "$RUN/pids/$name.exe" 2>/dev/null)")
    done
}

# Wait (up to 10 s) for every recorded pid to be gone. Prints the survivors and returns 1
# when some remain.
all_gone() {
    local i left
    for ((i = 0; i < 100; i++)); do
        left=$(survivors)
        [ -z "$left" ] && return 0
        sleep 0.1
    done
    echo "$left"
    return 1
}

# Take the stack down (output in down.log), then check nothing of it survives.
stack_down() {
    "$STACK" down >"$WORK/down.log" 2>&1
    all_gone
}

cleanup() {
    local rc=$?
    if [ -n "$bg_pid" ] && kill -0 "$bg_pid" 2>/dev/null; then
        kill "$bg_pid" 2>/dev/null
        wait "$bg_pid" 2>/dev/null
    fi
    # Always down (a no-op when the test already took the stack down), then make sure.
    local left name pid
    if [ -d "$RUN/pids" ] && [ -n "$(ls -A "$RUN/pids" 2>/dev/null)" ]; then
        "$STACK" down >>"$WORK/down.log" 2>&1
    fi
    if ! left=$(all_gone); then
        echo "FAIL: still running after deploy/local/stack down: $left"
        sed 's/^/    down| /' "$WORK/down.log"
        # Started by this test: stop them by pid so that nothing is left behind.
        while read -r name pid; do
            kill -KILL "$pid" 2>/dev/null
        done <<<"$left"
        rc=1
    fi
    if [ "$rc" -ne 0 ] && [ -d "$RUN/logs" ]; then
        for f in "$RUN"/logs/*.log; do
            [ -s "$f" ] || continue
            printf '\nctl_e2e: last lines of %s:\n' "$(basename "$f")"
            tail -n 15 "$f" | sed 's/^/    /'
        done
    fi
    if [ "${RFQ_E2E_KEEP:-0}" = 1 ]; then
        echo "ctl_e2e: kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- preconditions ----
for b in "$RFQCTL" "$3" "$4" "$5"; do
    [ -x "$b" ] || {
        echo "FAIL: $b is not an executable"
        exit 1
    }
done
for pair in "requester/rfq-requester $3" "responder/rfq-responder $4" \
    "aggregator/rfq-aggregator $5"; do
    read -r rel built <<<"$pair"
    [ "$BUILD_DIR/$rel" -ef "$built" ] || {
        echo "FAIL: deploy/local/stack would start $BUILD_DIR/$rel, not the built $built"
        exit 1
    }
done
"$PY" -c 'import json, base64' || {
    echo "FAIL: $PY cannot run"
    exit 1
}

# ---- help and usage errors (exit 2), no server needed ----
for cmd in "" token submit status quotes watch list tenant; do
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
expect_out "--version" "rfqctl "

usage_cases=(
    ""
    "bogus"
    "help bogus"
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
    "submit --region eu-west --pickup 1,1 --dropoff 1,1 extra"
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
    "tenant"
    "tenant bogus acme"
    "tenant create"
    "tenant create Acme"
    "tenant create acme extra"
    "tenant create acme --tier gold"
    "tenant create acme --rate -1"
    "tenant create acme --default-max-quotes 101"
    "tenant create acme --clear tier"
    "tenant set acme --clear bogus"
    "tenant suspend acme --tier basic"
    "tenant get acme --rate 5"
    "tenant list acme"
)
for args in "${usage_cases[@]}"; do
    # shellcheck disable=SC2086
    run $args
    expect_rc 2 "usage: rfqctl $args"
    checks=$((checks + 1))
    [ -s "$WORK/err" ] || fail "usage: rfqctl $args: no message on stderr"
done
RFQ_API_URL=ftp://x run status x
expect_rc 2 "RFQ_API_URL not http"
run token --tenant Acme --tier basic --key /dev/null
expect_rc 2 "token upper-case tenant"
expect_err "token upper-case tenant" "invalid tenant id 'Acme'"
run token --tenant 'acme*' --tier basic --key /dev/null
expect_rc 2 "token tenant with *"
run token --tenant acme --tier basic
expect_rc 2 "token without key"
expect_err "token without key" "RFQ_JWT_SIGNING_KEY"

# ---- token minting with a key of our own (offline: the claims as written) ----
if ! openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/other.key" 2>/dev/null ||
    ! openssl pkey -in "$WORK/other.key" -pubout -out "$WORK/other.pub" 2>/dev/null; then
    echo "FAIL: openssl cannot make a test key"
    exit 1
fi
run token --tenant acme --tier premium --key "$WORK/other.key" --ttl 120 --sub svc-1
expect_rc 0 "token ES256"
OTHER_KEY_TOKEN=$(cat "$WORK/out")
py "token claims" '
import base64, json, sys
h, p, s = sys.argv[1].split(".")
pad = lambda x: x + "=" * (-len(x) % 4)
hdr = json.loads(base64.urlsafe_b64decode(pad(h)))
c = json.loads(base64.urlsafe_b64decode(pad(p)))
assert hdr["alg"] == "ES256", hdr
assert len(base64.urlsafe_b64decode(pad(s))) == 64
assert c["exp"] - c["iat"] == 120, c
got = (c["tenant_id"], c["tier"], c["iss"], c["aud"], c["sub"])
assert got == ("acme", "premium", "rfq-dev", "rfq-engine", "svc-1"), got
' "$OTHER_KEY_TOKEN"
run token --tenant acme --tier basic --key "$WORK/other.pub"
expect_rc 1 "token with a public key"
expect_err "token with a public key" "cannot sign"
run token --tenant acme --tier basic --key "$WORK/other.key" --alg RS256
expect_rc 1 "token ES key as RS256"

# ---- the real stack ----
echo "ctl_e2e: run directory $RUN"
stack_up || exit 1
record_pids
# Only these two from stack.env: the test keeps its own environment otherwise.
# shellcheck disable=SC1091
API=$(. "$RUN/stack.env" && printf '%s' "$RFQ_API_URL")
# shellcheck disable=SC1091
DEV_KEY=$(. "$RUN/stack.env" && printf '%s' "${RFQ_JWT_SIGNING_KEY:-}")
if [ -z "$API" ] || [ ! -s "$DEV_KEY" ]; then
    echo "FAIL: stack.env names no API URL or dev signing key"
    exit 1
fi
echo "ctl_e2e: stack up at $API (${#stack_pids[@]} processes) after ${SECONDS} s"
export RFQ_API_URL=$API

# Tokens from the stack's dev key, by --key and by RFQ_JWT_SIGNING_KEY.
run token --tenant acme --tier basic --key "$DEV_KEY"
expect_rc 0 "token acme"
ACME=$(cat "$WORK/out")
RFQ_JWT_SIGNING_KEY=$DEV_KEY run token --tenant globex --tier enterprise
expect_rc 0 "token globex with RFQ_JWT_SIGNING_KEY"
GLOBEX=$(cat "$WORK/out")
run token --tenant acme --tier basic --key "$DEV_KEY" --aud api2
WRONG_AUD=$(cat "$WORK/out")
run token --tenant acme --tier basic --key "$DEV_KEY" --iss other
WRONG_ISS=$(cat "$WORK/out")

# ---- tenants: the administrator registers them over NATS and Redis (rfqctl tenant) ----
# The admin URLs and the tenant secret come from stack.env when the stack names them; without
# a Redis admin URL the stack's Redis has no password and its default user is the admin.
# shellcheck disable=SC1091
ADMIN_NATS=$(. "$RUN/stack.env" && printf '%s' "${RFQ_NATS_ADMIN_URL:-$RFQ_NATS_URL}")
# shellcheck disable=SC1091
ADMIN_REDIS=$(. "$RUN/stack.env" && printf '%s' "${RFQ_REDIS_ADMIN_URL:-$RFQ_REDIS_URL}")
# shellcheck disable=SC1091
SECRET_FILE=$(. "$RUN/stack.env" && printf '%s' "${RFQ_TENANT_SECRET_FILE:-}")
if [ -z "$SECRET_FILE" ]; then
    SECRET_FILE=$WORK/tenant.secret
    head -c 48 /dev/urandom | base64 -w0 >"$SECRET_FILE"
fi
tenant() {
    RFQ_NATS_URL=$ADMIN_NATS RFQ_REDIS_ADMIN_URL=$ADMIN_REDIS RFQ_TENANT_SECRET_FILE=$SECRET_FILE \
        run tenant "$@"
}
# No secret or password on any output of the admin tool.
expect_no_secret() {
    checks=$((checks + 1))
    ! grep -qF -- "$(cat "$SECRET_FILE")" "$WORK/out" "$WORK/err" || fail "$1: the secret printed"
    local pw=${ADMIN_REDIS#*://}
    pw=${pw%@*}
    pw=${pw#*:}
    [ "$pw" = "${ADMIN_REDIS#*://}" ] || [ -z "$pw" ] ||
        ! grep -qF -- "$pw" "$WORK/out" "$WORK/err" || fail "$1: the Redis password printed"
}
# until_rc RC CMD...: repeat `run CMD` (every 20 ms, up to 1 s) until it exits with RC
until_rc() {
    local want=$1 i
    shift
    for ((i = 0; i < 50; i++)); do
        run "$@"
        [ "$(cat "$WORK/rc")" = "$want" ] && return 0
        sleep 0.02
    done
    return 1
}

run token --tenant initech --tier enterprise --key "$DEV_KEY"
INITECH=$(cat "$WORK/out")
tenant delete initech
expect_rc 0 "tenant delete (none yet)"
run list --token "$INITECH"
expect_http_error "unregistered tenant" "GET /v1/rfqs: HTTP 403 forbidden" forbidden
expect_err "unregistered tenant" "tenant is not registered"
tenant create initech --tier enterprise --default-max-quotes 2 --default-timeout-ms 1500
expect_rc 0 "tenant create"
expect_out "tenant create" "tenant initech created (tier enterprise)"
expect_out "tenant create" "redis user rfq-t-initech set up"
expect_no_secret "tenant create"
tenant create initech --tier enterprise
expect_rc 0 "tenant create again (idempotent)"
expect_out "tenant create again (idempotent)" "exists already"
tenant create initech --tier basic
expect_rc 1 "tenant create with other settings"
expect_err "tenant create with other settings" "rfqctl tenant set initech"
tenant get initech --json
expect_rc 0 "tenant get --json"
save tenant_json
py "tenant get --json: the stored record" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["tenant_id"] == "initech" and r["status"] == "active", r
assert r["tier"] == "enterprise" and r["default_max_quotes"] == 2, r
assert r["default_timeout_ms"] == 1500 and r["created_ms"] <= r["updated_ms"], r
' "$WORK/tenant_json"
tenant get initech
expect_rc 0 "tenant get"
expect_row "tenant get" "status active"
expect_row "tenant get" "burst 0 (unlimited) (enterprise default)"
# Registered at once, with its own defaults for what the body leaves out.
run submit --region eu-west --pickup 1,1 --dropoff 2,2 --token "$INITECH"
expect_rc 0 "submit of a registered tenant"
save initech_submit
py "submit: the tenant's defaults" '
import json, sys
a = json.load(open(sys.argv[1]))
assert a["max_quotes"] == 2 and a["deadline_ms"] - a["created_ms"] == 1500, a
' "$WORK/initech_submit"
INITECH_RFQ=$(jget initech_submit rfq_id)
tenant set initech --clear default-max-quotes,default-timeout-ms --max-open 50
expect_rc 0 "tenant set"
expect_out "tenant set" "tenant initech updated"
tenant suspend initech
expect_rc 0 "tenant suspend"
checks=$((checks + 1))
until_rc 1 status "$INITECH_RFQ" --token "$INITECH" || fail "suspension not applied within 1 s"
expect_http_error "suspended tenant" "HTTP 403 forbidden" forbidden
expect_err "suspended tenant" "tenant is suspended"
tenant list
expect_rc 0 "tenant list"
expect_row "tenant list" "TENANT STATUS TIER UPDATED (UTC)"
checks=$((checks + 1))
grep -qE '^initech +suspended +enterprise ' "$WORK/out" || fail "tenant list: no suspended initech"
tenant resume initech
expect_rc 0 "tenant resume"
checks=$((checks + 1))
until_rc 0 status "$INITECH_RFQ" --token "$INITECH" || fail "resume not applied within 1 s"
tenant delete initech
expect_rc 0 "tenant delete"
expect_out "tenant delete" "tenant initech deleted"
expect_out "tenant delete" "redis user rfq-t-initech removed"
checks=$((checks + 1))
until_rc 1 list --token "$INITECH" || fail "delete not applied within 1 s"
expect_err "deleted tenant" "tenant is not registered"
tenant get initech
expect_rc 1 "tenant get a deleted tenant"
expect_err "tenant get a deleted tenant" "tenant initech is not registered"
RFQ_NATS_URL="nats://127.0.0.1:$(free_port 1)" run tenant list
expect_rc 3 "tenant list without NATS"

# The tenants the rest of this test uses (idempotent when the stack registered them).
for t in acme globex; do
    tenant create "$t"
    expect_rc 0 "tenant create $t"
done

# ---- unreachable API (exit 3) ----
run --api "http://127.0.0.1:$(free_port 1)" status x --token "$ACME"
expect_rc 3 "unreachable API"
expect_err "unreachable API" "cannot reach the API"

# ---- 401: no token, a malformed one, another key, wrong audience or issuer ----
run status some-id
expect_http_error "no token" "GET /v1/rfqs/some-id: HTTP 401 unauthorized" unauthorized
expect_err "no token" "no token was sent"
run list --token aaa.bbb.ccc
expect_http_error "malformed token" "GET /v1/rfqs: HTTP 401 unauthorized" unauthorized
run list --token "$OTHER_KEY_TOKEN"
expect_http_error "token of another key" "GET /v1/rfqs: HTTP 401 unauthorized" unauthorized
run list --token "$WRONG_AUD"
expect_http_error "token for another audience" "HTTP 401 unauthorized" unauthorized
run list --token "$WRONG_ISS"
expect_http_error "token of another issuer" "HTTP 401 unauthorized" unauthorized
run submit --region eu-west --pickup 1,1 --dropoff 2,2 --token aaa.bbb.ccc
expect_http_error "submit 401" "POST /v1/rfqs: HTTP 401 unauthorized" unauthorized
run status some-id --token $'aaa\r\nX-Evil: 1'
expect_rc 1 "token with CR/LF"
expect_err "token with CR/LF" "characters a JWT cannot have"

export RFQ_TOKEN=$ACME

# ---- submit: every option reaches the engine ----
run submit --region eu-west --pickup 48.8566,2.3522 --dropoff 48.8738,2.295 --passengers 2 \
    --wants free_drinks,quiet_ride --max-quotes 3 --timeout-ms 1500 --currency EUR
expect_rc 0 "submit"
expect_out "submit" '"status": "open"'
save submit_full
FULL=$(jget submit_full rfq_id)
py "submit answer" '
import json, sys
a = json.load(open(sys.argv[1]))
assert a["max_quotes"] == 3, a
assert a["deadline_ms"] - a["created_ms"] == 1500, a
assert a["links"]["self"] == "/v1/rfqs/" + a["rfq_id"], a
' "$WORK/submit_full"
run status "$FULL"
expect_rc 0 "status"
save status_full
py "status: the request as submitted" '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["rfq_id"] == sys.argv[2] and s["tenant"] == "acme", s
r = s["request"]
assert r["region"] == "eu-west", r
for k, want in (("pickup", (48.8566, 2.3522)), ("dropoff", (48.8738, 2.295))):
    assert abs(r[k]["lat"] - want[0]) < 1e-9 and abs(r[k]["lon"] - want[1]) < 1e-9, r
assert r["passengers"] == 2 and r["wants"] == ["free_drinks", "quiet_ride"], r
assert r["max_quotes"] == 3 and r["currency"] == "EUR", r
assert s["deadline_ms"] - s["created_ms"] == 1500, s
' "$WORK/status_full" "$FULL"

# Only what was given is sent: the engine fills in its defaults.
run submit --region us-east --pickup 40.758,-73.9855 --dropoff 40.6413,-73.7781
expect_rc 0 "submit minimal"
save submit_min
MIN=$(jget submit_min rfq_id)
run status "$MIN"
save status_min
py "submit minimal: server defaults" '
import json, sys
s = json.load(open(sys.argv[1]))
r = s["request"]
assert r["passengers"] == 1 and r["wants"] == [] and r["currency"] == "USD", r
assert s["max_quotes"] == 5 and s["deadline_ms"] - s["created_ms"] == 2000, s
' "$WORK/status_min"

# ---- 400: values only the engine refuses ----
run submit --region EU-WEST --pickup 1,1 --dropoff 2,2
expect_http_error "submit bad region" \
    "POST /v1/rfqs: HTTP 400 bad_request: region has an invalid value" bad_request
run submit --region eu-west --pickup 1,1 --dropoff 2,2 --passengers 0
expect_http_error "submit 0 passengers" "POST /v1/rfqs: HTTP 400 bad_request" bad_request
run submit --region eu-west --pickup 1,1 --dropoff 2,2 --timeout-ms 1
expect_http_error "submit timeout too short" "POST /v1/rfqs: HTTP 400 bad_request" bad_request

# ---- submit --wait: polls to the end, then the ranked table ----
run submit --region eu-west --pickup 51.5308,-0.1238 --dropoff 51.4723,-0.4887 \
    --max-quotes 3 --timeout-ms 3000 --wait
expect_rc 0 "submit --wait"
save wait_out
WAITED=$(sed -n 's/.*"rfq_id": "\([^"]*\)".*/\1/p' "$WORK/wait_out" | head -n 1)
expect_out "submit --wait" "rfq $WAITED completed: 3 quotes, "
expect_row "submit --wait" "RANK RESPONDER PRICE CURRENCY ETA PERKS"
py "submit --wait: three ranked rows" '
import re, sys
lines = open(sys.argv[1]).read().splitlines()
head = [i for i, l in enumerate(lines) if l.split()[:2] == ["RANK", "RESPONDER"]]
assert len(head) == 1, lines
rows = [l.split() for l in lines[head[0] + 1:]]
assert [r[0] for r in rows] == ["1", "2", "3"], rows
assert all(r[1].startswith("unicorn-eu-west-") and r[3] == "USD" for r in rows), rows
prices = [float(r[2]) for r in rows]
assert prices == sorted(prices), prices
' "$WORK/wait_out"

run submit --region us-east --pickup 42.3523,-71.0552 --dropoff 42.3656,-71.0096 \
    --max-quotes 100 --timeout-ms 800 --wait --json
expect_rc 0 "submit --wait --json (expires)"
save wait_json
py "submit --wait --json: only the quotes answer" '
import json, sys
a = json.load(open(sys.argv[1]))
assert a["status"] == "expired", a
assert 1 <= len(a["quotes"]) <= 10, a
assert all(q["responder_id"].startswith("unicorn-us-east-") for q in a["quotes"]), a
' "$WORK/wait_json"
EXPIRED=$(jget wait_json rfq_id)

# ---- quotes: the table matches the JSON answer ----
run quotes "$WAITED" --json
expect_rc 0 "quotes --json"
save quotes_json
py "quotes --json: ranked cheapest first, ties by eta then arrival" '
import json, sys
a = json.load(open(sys.argv[1]))
assert a["rfq_id"] == sys.argv[2] and a["status"] == "completed", a
qs = a["quotes"]
assert [q["rank"] for q in qs] == [1, 2, 3], qs
keys = [(q["price"]["amount_minor"], q["eta_s"], q["arrival"]) for q in qs]
assert keys == sorted(keys), keys
' "$WORK/quotes_json" "$WAITED"
run quotes "$WAITED"
expect_rc 0 "quotes"
save quotes_table
expect_row "quotes" "RANK RESPONDER PRICE CURRENCY ETA PERKS"
py "quotes: table rows render the JSON" '
import json, sys
qs = json.load(open(sys.argv[1]))["quotes"]
lines = open(sys.argv[2]).read().splitlines()
def eta(s):
    h, m = divmod(s, 3600)
    m, s = divmod(m, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"
want = [[str(q["rank"]), q["responder_id"],
         "%d.%02d" % divmod(q["price"]["amount_minor"], 100), q["price"]["currency"],
         eta(q["eta_s"]), ",".join(q["perks"]) or "-"] for q in qs]
got = [l.split() for l in lines[1:]]
assert got == want, (got, want)
# right-aligned numbers: every price ends in the column where the PRICE header ends
end = lines[0].index("PRICE") + len("PRICE")
for l, w in zip(lines[1:], want):
    assert l[:end].endswith(" " + w[2]) and l[end] == " ", (l, end)
' "$WORK/quotes_json" "$WORK/quotes_table"

run status "$WAITED"
expect_rc 0 "status completed"
save status_waited
py "status: completed with its best quote" '
import json, sys
s = json.load(open(sys.argv[1]))
best = json.load(open(sys.argv[2]))["quotes"][0]
assert s["status"] == "completed" and s["quote_count"] == 3 and "closed_ms" in s, s
assert s["best"]["responder_id"] == best["responder_id"], (s["best"], best)
' "$WORK/status_waited" "$WORK/quotes_json"

# ---- 404: unknown ids and another tenant's RFQ ----
for cmd in status quotes watch; do
    path=/v1/rfqs/no-such-rfq
    [ "$cmd" = quotes ] && path=$path/quotes
    [ "$cmd" = watch ] && path=$path/events
    run "$cmd" no-such-rfq
    expect_http_error "$cmd unknown id" "GET $path: HTTP 404 not_found" not_found
    path=${path/no-such-rfq/$WAITED}
    run "$cmd" "$WAITED" --token "$GLOBEX"
    expect_http_error "$cmd another tenant's id" "GET $path: HTTP 404 not_found" not_found
done

# ---- list ----
run list
expect_rc 0 "list"
save list_table
expect_row "list" "RFQ_ID STATUS CREATED_UTC DEADLINE_UTC QUOTES BEST_MINOR"
run list --json
expect_rc 0 "list --json"
save list_json
py "list: newest first, the table renders the JSON" '
import json, sys, time
rfqs = json.load(open(sys.argv[1]))["rfqs"]
mine = sys.argv[3:]
ids = [r["rfq_id"] for r in rfqs]
assert ids[:len(mine)] == mine, (ids, mine)
created = [r["created_ms"] for r in rfqs]
assert created == sorted(created, reverse=True), created
fmt = lambda ms: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000))
want = [[r["rfq_id"], r["status"], *fmt(r["created_ms"]).split(), *fmt(r["deadline_ms"]).split(),
         str(r["quote_count"]),
         "-" if r["best_amount_minor"] is None else str(r["best_amount_minor"])] for r in rfqs]
got = [l.split() for l in open(sys.argv[2]).read().splitlines()[1:]]
assert got == want, (got, want)
' "$WORK/list_json" "$WORK/list_table" "$EXPIRED" "$WAITED" "$MIN" "$FULL"
run list --status expired --limit 5
expect_rc 0 "list --status expired"
expect_out "list --status expired" "$EXPIRED"
expect_no_out "list --status expired" "$WAITED"
checks=$((checks + 1))
[ "$(tail -n +2 "$WORK/out" | grep -vc ' expired ')" = 0 ] || fail "list --status expired: other statuses"
run list --status completed --limit 1
expect_rc 0 "list --status completed --limit 1"
checks=$((checks + 1))
[ "$(tail -n +2 "$WORK/out" | awk '{print $1, $2}')" = "$WAITED completed" ] ||
    fail "list --status completed --limit 1: one row, the newest completed"
run list --token "$GLOBEX"
expect_rc 0 "list another tenant"
expect_out "list another tenant" "(no rfqs)"

# ---- watch ----
run status "$FULL"
save status_full
start=$(date +%s%N)
run watch "$WAITED"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_rc 0 "watch closed rfq"
save watch_out
py "watch: stored quotes, then completed with the best" '
import json, sys
qs = json.load(open(sys.argv[1]))["quotes"]
lines = open(sys.argv[2]).read().splitlines()
assert len(lines) == len(qs) + 1, lines
assert [l.split()[:2] for l in lines[:-1]] == [["quote", "#%d" % i] for i in range(1, len(qs) + 1)], lines
assert sorted(l.split()[2] for l in lines[:-1]) == sorted(q["responder_id"] for q in qs), lines
b = qs[0]
want = "completed 3 quotes, best: %s %d.%02d %s eta" % (b["responder_id"],
       *divmod(b["price"]["amount_minor"], 100), b["price"]["currency"])
assert " ".join(lines[-1].split()).startswith(want), (lines[-1], want)
' "$WORK/quotes_json" "$WORK/watch_out"
checks=$((checks + 1))
[ "$elapsed_ms" -lt 3000 ] || fail "watch did not stop after completed (${elapsed_ms} ms)"

run watch "$EXPIRED" --json
expect_rc 0 "watch --json"
py "watch --json: one JSON event a line, ending with expired" '
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
n = len(json.load(open(sys.argv[2]))["quotes"])
assert [e["type"] for e in evs] == ["quote"] * n + ["expired"], evs
assert all(e["rfq_id"] == sys.argv[3] and e["tenant"] == "acme" for e in evs), evs
assert evs[-1]["count"] == n and evs[-1]["status"] == "expired", evs[-1]
' "$WORK/out" "$WORK/wait_json" "$EXPIRED"

# Live: watch follows an open RFQ and stops by itself once it expires.
run submit --region eu-west --pickup 52.3791,4.9003 --dropoff 52.3105,4.7683 \
    --max-quotes 100 --timeout-ms 2000
save live_submit
LIVE=$(jget live_submit rfq_id)
LIVE_DEADLINE=$(jget live_submit deadline_ms)
run watch "$LIVE"
now_ms=$(($(date +%s%N) / 1000000))
expect_rc 0 "watch live"
expect_out "watch live" "expired "
checks=$((checks + 1))
if [ "$now_ms" -lt "$LIVE_DEADLINE" ] || [ "$now_ms" -ge $((LIVE_DEADLINE + 5000)) ]; then
    fail "watch live: ended $((now_ms - LIVE_DEADLINE)) ms after the deadline"
fi
checks=$((checks + 1))
[ "$(grep -c '^quote ' "$WORK/out")" -ge 1 ] || fail "watch live: no quote event"

# Live: an RFQ that completes well before its deadline ends the watch at once.
run submit --region us-east --pickup 38.8973,-77.0063 --dropoff 38.8512,-77.0402 \
    --max-quotes 2 --timeout-ms 20000
save fast_submit
FAST=$(jget fast_submit rfq_id)
start=$(date +%s%N)
run watch "$FAST"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_rc 0 "watch completing"
expect_out "watch completing" "completed 2 quotes, best: unicorn-us-east-"
checks=$((checks + 1))
[ "$elapsed_ms" -lt 5000 ] || fail "watch completing: took ${elapsed_ms} ms"

# ---- global options after the command override the environment ----
RFQ_TOKEN=wrong.token.x RFQ_API_URL=http://127.0.0.1:1 run status "$FULL" --token "$ACME" \
    --api "$API/"
expect_rc 0 "global options after the command"
expect_out "global options after the command" "\"rfq_id\": \"$FULL\""

# ---- the API goes away under a watch: exit 1, no closing line ----
run submit --region eu-west --pickup 1,1 --dropoff 2,2 --max-quotes 100 --timeout-ms 60000
save cut_submit
CUT=$(jget cut_submit rfq_id)
timeout -k 5 "$CMD_TIMEOUT_S" "$RFQCTL" watch "$CUT" >"$WORK/cut_out" 2>"$WORK/cut_err" &
bg_pid=$!
for _ in $(seq 1 50); do
    [ -s "$WORK/cut_out" ] && break
    sleep 0.1
done
checks=$((checks + 1))
[ -s "$WORK/cut_out" ] || fail "watch before the cut: no event within 5 s"

# ---- stack down: nothing of it survives, the API is unreachable ----
down_start=$SECONDS
checks=$((checks + 1))
left=$(stack_down) || fail "still running after deploy/local/stack down: $left"
echo "ctl_e2e: stack down in $((SECONDS - down_start)) s"
checks=$((checks + 1))
! grep -q 'sending KILL' "$WORK/down.log" || {
    fail "a process needed KILL to stop"
    sed 's/^/    down| /' "$WORK/down.log"
}
wait "$bg_pid"
cut_rc=$?
bg_pid=
cp "$WORK/cut_out" "$WORK/out"
cp "$WORK/cut_err" "$WORK/err"
echo "$cut_rc" >"$WORK/rc"
expect_rc 1 "watch cut by the server going away"
expect_no_out "watch cut" "expired "
checks=$((checks + 1))
grep -qE 'ended before the RFQ closed|event stream broke off' "$WORK/err" ||
    fail "watch cut: stderr does not say the stream ended early"
"$STACK" status >/dev/null 2>&1
status_rc=$?
checks=$((checks + 1))
[ "$status_rc" = 3 ] || fail "stack status after down: exit $status_rc, wanted 3"
run status "$FULL"
expect_rc 3 "API gone"
expect_err "API gone" "cannot reach the API at $API"

echo "ctl_e2e: $checks checks, $fails failed, ${SECONDS} s"
[ "$fails" -eq 0 ]
