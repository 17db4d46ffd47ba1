#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test/unit/test-points.sh SRCDIR - the test points the unit tests name
# (test/unit/test.h) equal the library's (lib/internal.h): a test that
# hooked a renumbered point would wait for a hook that never fires.
set -euo pipefail
src=${1:?source dir}
points()
{
	grep -oE 'POOL_TP_[A-Z_]+ = [0-9]+' "$1" | sort
}
if ! diff <(points "$src/lib/internal.h") <(points "$src/test/unit/test.h"); then
	echo "test-points: test/unit/test.h and lib/internal.h disagree" >&2
	exit 1
fi
echo "test-points: $(points "$src/lib/internal.h" | wc -l) points agree"
