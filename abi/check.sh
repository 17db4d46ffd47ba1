#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# abi/check.sh - compare a built libpool.so with the committed ABI baseline
# abi/libpool.abi (abidw/abidiff from Debian's abigail-tools; docs/abi.md).
#
#   abi/check.sh [BUILDDIR]            fail on any ABI difference
#   abi/check.sh --update [BUILDDIR]   write a new baseline (review it!)
#
# BUILDDIR defaults to build/plain (test/run's plain flavour). Only the types
# reachable from the public headers (include/, BUILDDIR/include) count.
set -euo pipefail
cd "$(dirname "$0")/.."
update=0
if [ "${1:-}" = --update ]; then
	update=1
	shift
fi
build=${1:-build/plain}
so=$build/lib/libpool.so
[ -f "$so" ] || { echo "abi/check.sh: no $so (build first)" >&2; exit 2; }
hdrs=(--headers-dir include --headers-dir "$build/include")
if [ "$update" = 1 ]; then
	abidw "${hdrs[@]}" --no-corpus-path --no-comp-dir-path \
		--out-file abi/libpool.abi "$so"
	echo "abi/check.sh: wrote abi/libpool.abi from $so"
	exit 0
fi
[ -f abi/libpool.abi ] || { echo "abi/check.sh: no abi/libpool.abi" >&2; exit 2; }
set +e
abidiff --headers-dir2 include --headers-dir2 "$build/include" \
	abi/libpool.abi "$so"
rc=$?
set -e
# abidiff's exit code is a bit field: 1 error, 2 usage, 4 an ABI change,
# 8 an incompatible ABI change.
if [ "$rc" -eq 0 ]; then
	echo "abi/check.sh: $so matches abi/libpool.abi"
	exit 0
fi
if [ $((rc & 8)) -ne 0 ]; then
	echo "abi/check.sh: INCOMPATIBLE ABI change: bump the soname (docs/abi.md)"
elif [ $((rc & 4)) -ne 0 ]; then
	echo "abi/check.sh: the ABI changed compatibly; if intended, review and commit 'abi/check.sh --update'"
else
	echo "abi/check.sh: abidiff failed ($rc)"
fi
exit 1
