#!/usr/bin/env bash
# run.sh -- runs the libFuzzer harnesses that `make fuzz-build` built, one
# after the other, each from its committed seed corpus, and fails on any
# crash: a sanitizer report (ASan, UBSan, LeakSanitizer), a broken
# property (FUZZ_CHECK), an input slower than 10 s or a run over 2 GiB.
#
#   tests/fuzz/run.sh NAME...          fuzz each NAME for FUZZ_SECONDS
#   tests/fuzz/run.sh --merge NAME...  add what earlier runs found to the
#                                      seed corpora: only inputs that reach
#                                      code the seeds do not (-merge=1)
#
# Environment:
#   FUZZ_SECONDS (60)          time per harness
#   FUZZ_ONLY    (unset)       run only these harnesses (comma separated)
#   FUZZ_BUILD   (build/fuzz)  where the harnesses are
#
# For harness NAME: the binary is $FUZZ_BUILD/fuzz_NAME, the seeds
# tests/fuzz/NAME/ (read only: new inputs go to $FUZZ_BUILD/corpus/NAME/),
# the dictionary tests/fuzz/NAME.dict, the log $FUZZ_BUILD/logs/NAME.log and
# a crashing input $FUZZ_BUILD/artifacts/NAME/crash-<sha1> (replay it with
# `$FUZZ_BUILD/fuzz_NAME <file>`).  One line per harness, "PASS fuzz NAME:
# <executions> executions in <s> s, 0 crashes" or "FAIL fuzz NAME: ...",
# then "fuzz: N passed, M failed"; the exit status is non-zero when M > 0.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BUILD="${FUZZ_BUILD:-build/fuzz}"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
[[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] && (( SECONDS_EACH >= 1 )) \
    || { echo "run.sh: FUZZ_SECONDS must be a whole number of seconds >= 1" >&2; exit 2; }

MERGE=0
if [[ "${1:-}" == "--merge" ]]; then
    MERGE=1
    shift
fi
NAMES=("$@")
if [[ -n "${FUZZ_ONLY:-}" ]]; then
    IFS=', ' read -r -a ONLY <<< "$FUZZ_ONLY"
    picked=()
    for o in "${ONLY[@]}"; do
        found=0
        for n in "${NAMES[@]}"; do
            [[ "$n" == "$o" ]] && { picked+=("$n"); found=1; }
        done
        (( found )) || { echo "run.sh: no harness named '$o' (have: ${NAMES[*]})" >&2; exit 2; }
    done
    NAMES=("${picked[@]}")
fi
(( ${#NAMES[@]} > 0 )) || { echo "run.sh: no harness to run" >&2; exit 2; }

# Fail on the first report, and let LeakSanitizer look after each input.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

passed=0
failed=0
mkdir -p "$BUILD/logs"
for name in "${NAMES[@]}"; do
    bin="$BUILD/fuzz_$name"
    seeds="tests/fuzz/$name"
    work="$BUILD/corpus/$name"
    art="$BUILD/artifacts/$name"
    log="$BUILD/logs/$name.log"
    if [[ ! -x "$bin" || ! -d "$seeds" ]]; then
        echo "FAIL fuzz $name: $bin or $seeds is missing (make fuzz-build)"
        failed=$((failed + 1))
        continue
    fi
    mkdir -p "$work" "$art"
    dict=()
    [[ -f "tests/fuzz/$name.dict" ]] && dict=(-dict="tests/fuzz/$name.dict")

    if (( MERGE )); then
        before=$(find "$seeds" -type f | wc -l)
        # -use_counters=0: an input joins the seeds only when it reaches code
        # (an edge) that none of them does, not merely more often
        "$bin" -merge=1 -use_counters=0 "${dict[@]}" -timeout=10 "$seeds" "$work" > "$log" 2>&1
        rc=$?
        after=$(find "$seeds" -type f | wc -l)
        if (( rc == 0 )); then
            echo "PASS fuzz $name: merged, seed corpus $before -> $after inputs"
            passed=$((passed + 1))
        else
            echo "FAIL fuzz $name: merge exited $rc (see $log)"
            failed=$((failed + 1))
        fi
        continue
    fi

    rm -f "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-* "$art"/slow-unit-*
    "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" \
        "$work" "$seeds" > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    crashes=$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
                                     -o -name 'oom-*' \) | wc -l)
    if (( rc == 0 && crashes == 0 )); then
        echo "PASS fuzz $name: ${execs:-?} executions in ${secs:-$SECONDS_EACH} s, 0 crashes"
        passed=$((passed + 1))
    else
        echo "FAIL fuzz $name: exit $rc, ${execs:-?} executions, $crashes crashing input(s) in $art/ (log: $log)"
        grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz property broken' \
            "$log" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
(( failed == 0 ))
