#!/usr/bin/env bash
# test_haproxy.sh -- the load balancer of docker-compose.yml, for real:
# deploy/haproxy/haproxy.cfg run by Debian's haproxy in front of the live
# test stack of tests/run.sh, and what HAProxy answers by itself when a
# gateway fails is the API's JSON error envelope (deploy/haproxy/errors/),
# never its HTML page.
#
# The configuration is the deployed one with only what a single host needs
# changed: the binds on 127.0.0.1 (KVT_PORT_BASE+64 API, +65 admin, +66
# monitor), the gateways named by address (the two of the test stack)
# instead of by the compose DNS name, the error files from the repository,
# and `timeout server` 1 s instead of 60 (the 504 case).  Three frontends
# of its own, under the deployed defaults, front what a gateway can do
# wrong, played by a small Node program (+76, +77): no gateway up (a closed
# port, +67: 503), a gateway that dies holding the request (it closes the
# connection once the request arrived, +68: 502), one that never answers
# (+69: 504).  Checks:
#   - `haproxy -c` accepts the deployed file (with the repository's paths),
#     and every errorfile line names a file that exists;
#   - the gateways' own answers pass unchanged (401 envelope, X-Request-Id);
#   - 503, 502 and 504: each its status, Content-Type application/json and
#     the envelope {"success":false,"message":...} of its file;
#   - headers over HAProxy's buffer get 400.  Its body is HAProxy's own
#     HTML: HAProxy 2.6 answers a request it cannot parse before any
#     errorfile applies (README, "Containers").
# Needs haproxy and node (scripts/deps.sh --dev), curl, jq and KVT_BASE_URL /
# KVT_BASE_URL2 (tests/run.sh exports them).  Prints PASS/FAIL lines.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
GW1="${KVT_BASE_URL:?run by tests/run.sh}"
GW2="${KVT_BASE_URL2:?run by tests/run.sh}"
BASE="${KVT_PORT_BASE:-18000}"
LB=$((BASE + 64)) LB_ADMIN=$((BASE + 65)) LB_MON=$((BASE + 66))
LB_DEAD=$((BASE + 67)) LB_CLOSE=$((BASE + 68)) LB_SILENT=$((BASE + 69))
BAD_CLOSE=$((BASE + 76)) BAD_SILENT=$((BASE + 77))
CFG_IN=deploy/haproxy/haproxy.cfg
ERRORS="$ROOT/deploy/haproxy/errors"
WORK="$(mktemp -d)"
HPID="" NPID=""

. "$ROOT/tests/shell/lib.sh"

cleanup() {
    [[ -n "$HPID" ]] && kill "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null
    [[ -n "$NPID" ]] && kill "$NPID" 2>/dev/null && wait "$NPID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

for tool in haproxy node; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        fail "haproxy: $tool is not installed (run scripts/deps.sh --dev)"
        exit 1
    fi
done

# ---- the deployed file, checked as it is (but for the error files' place) ----
sed "s#/usr/local/etc/haproxy/errors#$ERRORS#" "$CFG_IN" > "$WORK/deployed.cfg"
check "haproxy -c accepts $CFG_IN" haproxy -q -c -f "$WORK/deployed.cfg"
missing=""
while read -r code file; do
    [[ -f "$ERRORS/${file##*/}" && "$file" == /usr/local/etc/haproxy/errors/* ]] || missing+=" $code"
done < <(awk '$1 == "errorfile" {print $2, $3}' "$CFG_IN")
nfiles="$(grep -c '^ *errorfile ' "$CFG_IN")"
check "every errorfile of $CFG_IN is in deploy/haproxy/errors/ ($nfiles of them; missing:${missing:- none})" \
    test -z "$missing" -a "$nfiles" -ge 3

# ---- the misbehaving gateways -------------------------------------------------
cat > "$WORK/bad.mjs" <<'JS'
import net from 'node:net';
const [close, silent] = process.argv.slice(2).map(Number);
// closes the connection as soon as a request arrives: a gateway killed mid-request
net.createServer((s) => s.once('data', () => s.destroy())).listen(close, '127.0.0.1');
// reads and never answers: a gateway stuck
net.createServer((s) => s.on('data', () => {})).listen(silent, '127.0.0.1', () => console.log('listening'));
JS
node "$WORK/bad.mjs" "$BAD_CLOSE" "$BAD_SILENT" > "$WORK/bad.out" 2>&1 &
NPID=$!

# ---- the same file on this host --------------------------------------------
hp1="${GW1#http://}" hp2="${GW2#http://}"
sed -e "s#/usr/local/etc/haproxy/errors#$ERRORS#" \
    -e "s#^\( *bind\) :8080#\1 127.0.0.1:$LB#" \
    -e "s#^\( *bind\) :8081#\1 127.0.0.1:$LB_ADMIN#" \
    -e "s#^\( *bind\) :8404#\1 127.0.0.1:$LB_MON#" \
    -e "s#^\( *timeout server\) .*#\1 1s#" \
    -e "s#^ *server-template gw 16 gateway:8080.*#    server gw1 $hp1\n    server gw2 $hp2#" \
    -e "s#^ *server-template gw 16 gateway:8081.*#    server gwa1 127.0.0.1:1#" \
    "$CFG_IN" > "$WORK/local.cfg"
cat >> "$WORK/local.cfg" <<EOF

# test_haproxy.sh: what a gateway can do wrong
frontend dead
    bind 127.0.0.1:$LB_DEAD
    default_backend nobody
backend nobody
    server none 127.0.0.1:1
frontend closer
    bind 127.0.0.1:$LB_CLOSE
    default_backend closer
backend closer
    server closer 127.0.0.1:$BAD_CLOSE
frontend silent
    bind 127.0.0.1:$LB_SILENT
    default_backend silent
backend silent
    server silent 127.0.0.1:$BAD_SILENT
EOF
if ! grep -q "server gw1 $hp1" "$WORK/local.cfg" || grep -q '^ *server-template' "$WORK/local.cfg"; then
    fail "haproxy: the local configuration does not name the gateways (did $CFG_IN's server-template lines change?)"
    exit 1
fi
haproxy -db -f "$WORK/local.cfg" > "$WORK/haproxy.log" 2>&1 &
HPID=$!
up=0
for _ in $(seq 1 100); do
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LB/healthz" 2>/dev/null || true)"
    [[ "$code" == 200 ]] && grep -q listening "$WORK/bad.out" && { up=1; break; }
    kill -0 "$HPID" 2>/dev/null || break
    sleep 0.1
done
if (( ! up )); then
    fail "haproxy did not start in front of the stack: $(head -c 600 "$WORK/haproxy.log") $(head -c 300 "$WORK/bad.out")"
    exit 1
fi
pass "haproxy runs $CFG_IN in front of the two gateways of the stack"

# envelope BODY CODE: the body in file BODY is error file CODE's envelope
envelope() {
    local m
    m="$(sed '1,/^\r$/d' "$ERRORS/$2.http" | jq -r .message)" || return 1
    jq -e --arg m "$m" '. == {"success": false, "message": $m}' "$1" >/dev/null 2>&1
}
# ctype HEADERS: the Content-Type of the response headers in file HEADERS
ctype() { awk -F': *' 'tolower($1) == "content-type" {sub(/\r$/, "", $2); print $2}' "$1"; }

# ---- the gateways' own answers pass unchanged --------------------------------
code="$(curl -s -D "$WORK/h" -o "$WORK/b" -w '%{http_code}' "http://127.0.0.1:$LB/api/v1/services")"
check "through HAProxy: the gateway's 401 envelope arrives as it left (got $code)" \
    jq -e '.success == false and .message == "API key missing."' "$WORK/b"
check "through HAProxy: ... with the gateway's X-Request-Id" grep -qi '^x-request-id: ' "$WORK/h"

# ---- what HAProxy answers by itself: the API's envelope ---------------------
# lb_error NAME PORT METHOD CODE: one request through PORT, against CODE's file
lb_error() {
    local name="$1" port="$2" method="$3" want="$4" code
    code="$(curl -s -X "$method" -D "$WORK/h" -o "$WORK/b" -w '%{http_code}' \
            "http://127.0.0.1:$port/api/v1/appointments")"
    check "$name: HAProxy's $want (got $code)" test "$code" = "$want"
    check "... Content-Type application/json (got '$(ctype "$WORK/h")')" \
        test "$(ctype "$WORK/h")" = application/json
    check "... the JSON error envelope of errors/$want.http, not HTML: $(head -c 120 "$WORK/b")" \
        envelope "$WORK/b" "$want"
}
lb_error "no gateway up" "$LB_DEAD" GET 503
check "... with Retry-After" grep -qi '^retry-after: 1' "$WORK/h"
lb_error "a gateway that dies holding a write" "$LB_CLOSE" POST 502
check "... which says it may or may not have been applied" grep -q 'may or may not' "$WORK/b"
lb_error "a gateway that never answers" "$LB_SILENT" GET 504

# ---- headers larger than HAProxy's buffer: 400 ------------------------------
big="$(head -c 20000 /dev/zero | tr '\0' a)"
code="$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" "http://127.0.0.1:$LB/api/v1/services")"
check "20 kB of headers: HAProxy's 400 (got $code)" test "$code" = 400
exit 0
