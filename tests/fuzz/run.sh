#!/usr/bin/env bash
# Run libFuzzer targets one after the other, each for a bounded time on a working copy of its
# corpus, and fail when any of them finds a crash, a leak, a timeout or a broken property.
#
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS TARGET...
#
# Per target, under BUILD_DIR/fuzz/: corpus/<t>/ (the committed seeds copied in, plus what
# earlier runs found), artifacts/<t>/ (crash-*, leak-*, timeout-*, oom-* inputs),
# logs/<t>.log (the whole fuzzer output). A finding prints the artifact paths and the command
# that replays one.
set -u

if [ $# -lt 3 ]; then
    echo "usage: $0 BUILD_DIR SECONDS TARGET..." >&2
    exit 2
fi
build=$(cd "$1" && pwd) || exit 2
seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
base=$build/fuzz
failed=()

for t in "$@"; do
    bin=$build/tests/fuzz/$t
    if [ ! -x "$bin" ]; then
        echo "fuzz: $bin is missing (build with -DRFQ_FUZZ=ON)" >&2
        exit 2
    fi
    corpus=$base/corpus/$t
    art=$base/artifacts/$t
    work=$base/work/$t
    log=$base/logs/$t.log
    mkdir -p "$corpus" "$art" "$work" "$base/logs"
    # The committed seeds join the working corpus; what earlier runs found stays.
    cp -n "$src/corpus/$t/"* "$corpus/" 2>/dev/null
    rm -f "$work"/fuzz-*.log
    dict=()
    [ -f "$src/$t.dict" ] && dict=(-dict="$src/$t.dict")
    before=$(ls "$art" | wc -l)
    start=$(date +%s)
    # -jobs=1: one job in a child process whose log ends up in $work/fuzz-0.log (echoed to
    # stdout when it ends); -timeout makes a hang a finding instead of a stuck build.
    (cd "$work" && exec "$bin" -jobs=1 -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" \
        "$corpus") >"$log" 2>&1
    rc=$?
    [ -f "$work/fuzz-0.log" ] && ! grep -q 'stat::number_of_executed_units' "$log" &&
        cat "$work/fuzz-0.log" >>"$log"
    took=$(($(date +%s) - start))
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+$')
    speed=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+$')
    last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|NEW|REDUCE|pulse|INITED)' "$log" | tail -1)
    cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
    ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*')
    corp=$(echo "$last" | grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' | cut -d' ' -f2)
    printf 'fuzz: %-16s %4ss  runs %-10s exec/s %-7s cov %-5s ft %-6s corpus %s\n' "$t" "$took" \
        "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
    found=$(($(ls "$art" | wc -l) - before))
    if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
        failed+=("$t")
        echo "fuzz: $t FAILED (exit $rc); the report:" >&2
        grep -E -A12 'ERROR: |property failed|runtime error' "$log" | head -24 >&2
        for f in $(ls -t "$art" | head -5); do
            echo "fuzz: $t: input saved as $art/$f" >&2
            echo "fuzz:   replay: $bin $art/$f" >&2
        done
        echo "fuzz: full log: $log" >&2
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: findings in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: no findings in $# targets (${seconds}s each)"
