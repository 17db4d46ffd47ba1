#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test/fuzz/run-fuzz.sh SECONDS - configure build/fuzz (clang, -Dfuzz=true,
# ASan+UBSan), build the libFuzzer target and run it for SECONDS on a copy
# of the checked-in seed corpus (test/fuzz/corpus/). New inputs it finds go
# to build/fuzz/corpus; a crash leaves build/fuzz/crash-* and fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
dir=build/fuzz
if [ ! -f "$dir/build.ninja" ]; then
	CC=clang CXX=clang++ meson setup "$dir" -Dfuzz=true -Dperf=disabled \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$dir" test/fuzz/fuzz_api >/dev/null
mkdir -p "$dir/corpus"
cp -n test/fuzz/corpus/* "$dir/corpus/" 2>/dev/null || true
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/test/ubsan.supp"
# -timeout: an input running for 10 s counts as a hang.
exec "$dir/test/fuzz/fuzz_api" -max_total_time="$secs" -timeout=10 \
	-max_len=512 -artifact_prefix="$dir/" -print_final_stats=1 \
	"$dir/corpus"
