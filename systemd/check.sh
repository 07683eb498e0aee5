#!/bin/sh
# Checks systemd/dustwatch.service with systemd-analyze:
#   1. `systemd-analyze verify` reports nothing (unknown keys, bad values, missing binaries);
#   2. `systemd-analyze security --offline=true` rates its exposure 1.5 or lower.
# Exits 0 with a message when systemd-analyze is not installed, so CI without systemd passes.
#
# verify checks that ExecStart= names an existing executable, and /usr/local/bin/dustwatch is
# not installed on a build machine. The checks therefore run on a copy of the unit (same file
# name, in a temporary directory) whose ExecStart= points at a stand-in: $DUSTWATCH_BIN if set
# (e.g. target/debug/dustwatch), else /bin/true. Nothing else in the unit is changed.
set -eu

# Highest acceptable exposure, in tenths: 15 = 1.5 (systemd-analyze's --threshold scale).
max_exposure_tenths=15

here=$(cd "$(dirname "$0")" && pwd)
unit="$here/dustwatch.service"

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "check.sh: systemd-analyze not found; skipping the unit checks"
    exit 0
fi

stand_in=${DUSTWATCH_BIN:-/bin/true}
case $stand_in in
    /*) ;;
    *) stand_in="$(pwd)/$stand_in" ;;
esac
if [ ! -x "$stand_in" ]; then
    echo "check.sh: stand-in binary $stand_in is not executable" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
copy="$work/dustwatch.service"
sed "s|^ExecStart=/usr/local/bin/dustwatch |ExecStart=$stand_in |" "$unit" >"$copy"
if ! grep -q "^ExecStart=$stand_in " "$copy"; then
    echo "check.sh: ExecStart= in $unit no longer starts with /usr/local/bin/dustwatch; update check.sh" >&2
    exit 1
fi

# verify exits 0 on warnings such as "Unknown key", so any output at all is a failure.
verify_out=$(systemd-analyze verify --man=no "$copy" 2>&1) || {
    echo "check.sh: systemd-analyze verify failed:" >&2
    echo "$verify_out" >&2
    exit 1
}
if [ -n "$verify_out" ]; then
    echo "check.sh: systemd-analyze verify reported problems:" >&2
    echo "$verify_out" >&2
    exit 1
fi
echo "check.sh: systemd-analyze verify: clean"

status=0
security_out=$(systemd-analyze security --offline=true --threshold="$max_exposure_tenths" "$copy" 2>&1) || status=$?
score_line=$(printf '%s\n' "$security_out" | grep 'Overall exposure level' || true)
if [ -z "$score_line" ]; then
    echo "check.sh: systemd-analyze security printed no exposure level:" >&2
    echo "$security_out" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    printf '%s\n' "$security_out" | grep -v '✓' >&2
    echo "check.sh: exposure is above 1.5: $score_line" >&2
    exit 1
fi
echo "check.sh: systemd-analyze security: $score_line (limit 1.5)"
