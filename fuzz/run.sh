#!/usr/bin/env bash
# Runs perch's fuzz targets one at a time, each for SECONDS, on one core (README "Fuzzing").
#
#   fuzz/run.sh TARGET|all SECONDS     fuzz, growing fuzz/corpus/TARGET
#   fuzz/run.sh cmin TARGET|all        minimise fuzz/corpus/TARGET in place
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Crashes land in
# fuzz/artifacts/TARGET/; after fixing one, keep its input there (renamed after the bug):
# `cargo test --test fuzz_regressions` replays the corpus and those inputs on stable.
# Each run prints libFuzzer's last status line (execs, coverage) to fuzz/logs/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")"

TARGETS=(selector documents etcd_value bird_reply render)
usage() { echo "usage: $0 TARGET|all SECONDS | $0 cmin TARGET|all  (targets: ${TARGETS[*]})" >&2; exit 2; }
[ $# -eq 2 ] || usage

pick() {
    if [ "$1" = all ]; then echo "${TARGETS[@]}"; else
        for t in "${TARGETS[@]}"; do [ "$t" = "$1" ] && { echo "$t"; return; }; done
        usage
    fi
}

# No sanitizer: the code is safe Rust, and the checks assert the properties themselves.
FUZZ=(cargo +nightly fuzz)
OPTS=(--sanitizer none --jobs 1)

if [ "$1" = cmin ]; then
    for t in $(pick "$2"); do
        # Edge coverage only (no hit counts): keeps the committed corpus to a few hundred KB.
        "${FUZZ[@]}" cmin --sanitizer none "$t" "corpus/$t" -- -use_counters=0
        echo "$t: $(ls "corpus/$t" | wc -l) inputs, $(du -sh "corpus/$t" | cut -f1)"
    done
    exit 0
fi

seconds=$2
mkdir -p logs
for t in $(pick "$1"); do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "== $t for ${seconds}s"
    # -timeout: an input taking over 10 s is a finding (a quadratic blowup), as is a crash.
    # -max_len: 4 KiB keeps deep-nesting inputs (a known, separately fixed cost) short.
    if "${FUZZ[@]}" run "${OPTS[@]}" "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 >"logs/$t.log" 2>&1; then
        status=clean
    else
        status="FAILED (see fuzz/logs/$t.log and fuzz/artifacts/$t/)"
    fi
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' || echo '?')
    echo "$t: $status, ${seconds}s, $execs execs; $(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)"
done
