#!/usr/bin/env bash
# Install pqe2ee as a new user does and run every command: what `make test` cannot show
# (it builds wheels in fresh venvs, a few minutes; the logic itself is tested in
# tests/packaging/).  Two installs, each into a fresh venv under a temporary directory:
#
#   1. `pip install <repo>` with no extras: the C core builds, every command's --help
#      works, each command does one real run, and the one needing an extra (--html:
#      plots) says what to install and exits 2.
#   2. the same with no working C compiler (CC=/bin/false): the install succeeds, says
#      why in one line (pip -v), `pqe2ee info` says "pure Python" and why, a run warns
#      once, and everything still works.
#
# Usage: scripts/check-install.sh [REPO]   (default: this repository; needs network for
# the dependencies).  KEEP=1 keeps the venvs.  Exits non-zero at the first failed check.
set -euo pipefail

REPO=$(cd "${1:-$(dirname "$0")/..}" && pwd)
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d /tmp/pqe2ee-check-install.XXXXXX)
[[ "${KEEP:-}" == 1 ]] || trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
say() { printf '\n== %s\n' "$*"; }
cd "$WORK"  # `python -c` puts the working directory first on sys.path: not the clone

install() {  # install VENV [ENV...]: a fresh venv with pqe2ee and no extras
    local venv=$1; shift
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    env "$@" "$venv/bin/python" -m pip install -v "$REPO" >"$venv.install.log" 2>&1 \
        || { tail -40 "$venv.install.log"; fail "pip install ($*)"; }
    grep -E "^ *pqe2ee: the C core" "$venv.install.log" || true
}

exercise() {  # exercise VENV DIR: every command's --help, then one real run of each
    local bin=$1/bin dir=$2 cmd
    mkdir -p "$dir" && cd "$dir"
    for cmd in "" "kem" "kem list" info demo keygen fingerprint safety-number listen \
        connect tunnel "tunnel server" "tunnel client" bench migrate age "age keygen" \
        "age encrypt" "age decrypt"; do
        # shellcheck disable=SC2086
        "$bin/pqe2ee" $cmd --help >/dev/null 2>help.err || fail "pqe2ee $cmd --help: $(cat help.err)"
    done
    echo "--help: every command OK"
    "$bin/pqe2ee" --version
    "$bin/pqe2ee" kem list >/dev/null && echo "kem list: OK"
    "$bin/pqe2ee" info
    "$bin/pqe2ee" demo >/dev/null && echo "demo: OK"
    "$bin/pqe2ee" keygen --auth hybrid -o server.key >/dev/null
    "$bin/pqe2ee" keygen --auth hybrid -o client.key >/dev/null
    local sfp cfp port=$((20000 + RANDOM % 20000))
    sfp=$("$bin/pqe2ee" fingerprint server.key | cut -d' ' -f2-)
    cfp=$("$bin/pqe2ee" fingerprint client.key | cut -d' ' -f2-)
    "$bin/pqe2ee" safety-number client.key server.key.pub >/dev/null && echo "keygen, fingerprint, safety-number: OK"
    "$bin/pqe2ee" listen --port "$port" --host 127.0.0.1 --identity server.key --peer "$cfp" \
        >received.txt 2>listen.err &
    local listener=$! tries=0
    until grep -qs "listening on" listen.err; do
        tries=$((tries + 1)); [[ $tries -lt 100 ]] || fail "listen: $(cat listen.err)"; sleep 0.1
    done
    echo "hello over pqe2ee" | "$bin/pqe2ee" connect "127.0.0.1:$port" --identity client.key \
        --peer "$sfp" >/dev/null 2>connect.err || { kill "$listener"; fail "connect: $(cat connect.err)"; }
    wait "$listener" || true
    grep -q "hello over pqe2ee" received.txt || fail "listen/connect: got $(cat received.txt listen.err)"
    echo "listen/connect: OK"
    "$bin/pqe2ee" age keygen --pq -o age.key 2>age.pub
    local recipient
    recipient=$(sed -n 's/^Public key: //p' age.pub)
    head -c 3000000 /dev/urandom >plain.bin
    "$bin/pqe2ee" age encrypt -r "$recipient" -o plain.bin.age plain.bin 2>encrypt.err
    "$bin/pqe2ee" age decrypt -i age.key -o back.bin plain.bin.age 2>>encrypt.err
    cmp plain.bin back.bin || fail "age round trip"
    echo "age keygen/encrypt/decrypt: OK (stderr: $(cat encrypt.err))"
    "$bin/pqe2ee" bench --quick --json bench.json >bench.out 2>bench.err || fail "bench: $(cat bench.err)"
    echo "bench --quick --json: OK"
    "$bin/pqe2ee" migrate --from-json bench.json --runs 200 >/dev/null || fail "migrate"
    echo "migrate --from-json: OK"
    local rc=0
    "$bin/pqe2ee" migrate --from-json bench.json --html m.html 2>extra.err || rc=$?
    [[ $rc == 2 ]] && grep -q "pip install 'pqe2ee\[plots\]'" extra.err \
        || fail "migrate --html without plots: rc=$rc $(cat extra.err)"
    echo "migrate --html without the plots extra: exit 2, $(cat extra.err)"
    cd - >/dev/null
}

say "1. pip install $REPO (no extras), a C compiler present"
install "$WORK/venv"
"$WORK/venv/bin/python" -c "import pqe2ee._binding as b; assert b.CORE_AVAILABLE, b.CORE_ERROR"
exercise "$WORK/venv" "$WORK/run"

say "2. pip install $REPO (no extras), CC=/bin/false: no working C compiler"
install "$WORK/venv-nocc" CC=/bin/false
grep -q "^ *pqe2ee: the C core was not built" "$WORK/venv-nocc.install.log" \
    || fail "no build-time line in $WORK/venv-nocc.install.log"
if "$WORK/venv-nocc/bin/python" -c "import pqe2ee._binding as b; assert b.CORE_AVAILABLE"; then
    fail "a core is installed although no compiler worked"
fi
"$WORK/venv-nocc/bin/pqe2ee" info | grep -q "data path: pure Python" || fail "info does not say pure Python"
exercise "$WORK/venv-nocc" "$WORK/run-nocc"
grep -c "pqe2ee: warning: .*pure-Python path" "$WORK/run-nocc/encrypt.err" | grep -qx 2 \
    || fail "expected one warning per process (encrypt, decrypt): $(cat "$WORK/run-nocc/encrypt.err")"

say "all checks passed"
