#!/bin/bash
# tests/fuzz/run.sh [target|all] [seconds]
#
# Builds the libFuzzer targets of tests/fuzz/fuzz_*.c with clang under
# AddressSanitizer and UndefinedBehaviorSanitizer (-fsanitize=fuzzer,
# address,undefined), then runs each for SECONDS (default 10) seconds,
# starting from the seeds in tests/fuzz/corpus/<target>/ (read only: what
# the fuzzer finds goes to build/fuzz/corpus/<target>/).  A crash, leak,
# sanitizer report or oracle abort leaves its input in
# build/fuzz/crashes/ and fails the run; keep it as a regression seed in
# corpus/<target>/ once fixed.  Every seed is also replayed on its own
# first, so the committed regression cases run even with SECONDS=0.
#
# Needs clang and libclang-rt-14-dev (Debian); installs them when missing
# and running as root.  Output ends with "fuzz: N targets, N failed";
# the exit status is the truth.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${YQ_FUZZ_BUILD:-$ROOT/build/fuzz}
TARGETS=(json form cursor body router jwt config envelope request)
want=${1:-all}
secs=${2:-10}

log() { echo "fuzz: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $secs =~ ^[0-9]+$ ]] || die "seconds must be a number, got $secs"
if [[ $want != all ]]; then
    [[ " ${TARGETS[*]} " == *" $want "* ]] || die "unknown target $want (one of: ${TARGETS[*]})"
    TARGETS=("$want")
fi

need_packages() {
    local missing=() p
    for p in clang libclang-rt-14-dev; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    ((EUID == 0)) || die "missing Debian packages: ${missing[*]} (run as root to install)"
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
             apt-get install -y -q "${missing[@]}" >/dev/null; } || die "apt-get failed"
}

build() {
    local san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
    mkdir -p "$OUT/obj"
    if [[ ! -x $ROOT/configure ]]; then
        (cd "$ROOT" && ./autogen.sh >/dev/null 2>&1) || die "autogen.sh failed"
    fi
    if [[ ! -f $OUT/Makefile || $ROOT/configure -nt $OUT/Makefile ]]; then
        log "configure (clang) in ${OUT#"$ROOT"/}"
        (cd "$OUT" && "$ROOT/configure" -q CC=clang --enable-sanitizers \
            CFLAGS="-O1 -g -fsanitize=fuzzer-no-link") || die "configure failed"
    fi
    make -s -C "$OUT" src/core/libyqcore.a >/dev/null || die "make libyqcore.a failed"

    local pkgs="json-c libjwt libsodium libmariadb libwebsockets"
    local cflags ldlibs
    cflags="-std=gnu11 -D_GNU_SOURCE -O1 -g -I$ROOT/src -I$ROOT -I$OUT $san \
        -Wall -Wextra -Werror -Wno-unused-parameter -Wmissing-prototypes \
        $(pkg-config --cflags $pkgs)"
    ldlibs="$OUT/src/core/libyqcore.a $(pkg-config --libs json-c libjwt libsodium libmariadb) -lpthread"
    # the REST sources but main.c (FastCGI), so the router target sees
    # the real yq_routes and every handler it names; ws/flow.c (the
    # envelope) and ws/request.c (the handlers' payload validation) read-only
    local objs=() src obj
    for src in "$ROOT"/src/api/*.c "$ROOT"/ws/flow.c "$ROOT"/ws/request.c; do
        [[ $src == */main.c ]] && continue
        obj=$OUT/obj/$(basename "$(dirname "$src")")-$(basename "$src" .c).o
        if [[ ! -f $obj || $src -nt $obj || $OUT/src/core/libyqcore.a -nt $obj ]]; then
            clang $cflags -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || die "compile $src failed"
        fi
        objs+=("$obj")
    done
    local t
    for t in "${TARGETS[@]}"; do
        src=$ROOT/tests/fuzz/fuzz_$t.c
        if [[ ! -x $OUT/fuzz_$t || $src -nt $OUT/fuzz_$t || $OUT/src/core/libyqcore.a -nt $OUT/fuzz_$t ]]; then
            clang $cflags -fsanitize=fuzzer "$src" "${objs[@]}" $ldlibs -o "$OUT/fuzz_$t" \
                || die "build fuzz_$t failed"
        fi
    done
}

run_one() {
    local t=$1 seeds=$ROOT/tests/fuzz/corpus/$1 work=$OUT/corpus/$1 logf=$OUT/log/$1.log
    mkdir -p "$work" "$OUT/crashes" "$OUT/log"
    [[ -d $seeds ]] || die "no seed corpus $seeds"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    # replay every committed seed (regression cases included)
    if ! "$OUT/fuzz_$t" -runs=0 "$seeds" >"$logf" 2>&1; then
        log "$t: a committed seed fails:"; tail -n 40 "$logf" >&2; return 1
    fi
    ((secs == 0)) && { log "$t: seeds ok"; return 0; }
    local dict=()
    [[ -f $ROOT/tests/fuzz/$t.dict ]] && dict=(-dict="$ROOT/tests/fuzz/$t.dict")
    if ! "$OUT/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$OUT/crashes/$t-" "${dict[@]}" \
            "$work" "$seeds" >>"$logf" 2>&1; then
        log "$t: FAILED after fuzzing (input in $OUT/crashes/):"; tail -n 60 "$logf" >&2
        return 1
    fi
    local execs
    execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$logf" | grep -Eo '[0-9]+$' | tail -n1)
    log "$t: ok, ${secs}s, ${execs:-?} runs, corpus $(ls "$work" | wc -l) inputs"
}

need_packages
build
failed=0
for t in "${TARGETS[@]}"; do
    run_one "$t" || failed=$((failed + 1))
done
echo "fuzz: ${#TARGETS[@]} targets, $failed failed"
((failed == 0))
