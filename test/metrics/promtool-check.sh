#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test/metrics/promtool-check.sh EXPOSE_BIN pool|multi - the exposition of a
# pool or multi-pool (labels needing escaping included) passes
# `promtool check metrics` (parser and linter), and promtool is not vacuous:
# a copy with one counter's _total suffix removed must fail.
# Exit 77 (skipped) only when promtool is not installed.
set -euo pipefail
if ! command -v promtool >/dev/null; then
	echo "SKIP: promtool not installed (Debian package prometheus)"
	exit 77
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$1" "$2" >"$out"
for want in 'pool_tasks_completed_total{' 'pool_queue_wait_seconds_bucket{' \
	'reason="overload"' 'env="quote\" backslash\\ newline\n end"'; do
	if ! grep -qF -- "$want" "$out"; then
		echo "missing from the exposition: $want"
		exit 1
	fi
done
if [ "$2" = multi ] && ! grep -qF 'member="2"' "$out"; then
	echo "missing from the exposition: member=\"2\""
	exit 1
fi
if sed 's/^pool_tasks_completed_total{/pool_tasks_completed{/;
	s/^\(# [A-Z]* pool_tasks_completed\)_total/\1/' "$out" |
	promtool check metrics >/dev/null 2>&1; then
	echo "promtool accepted a counter without _total: the check is vacuous"
	exit 1
fi
echo "$(wc -l <"$out") lines; promtool check metrics:"
promtool check metrics <"$out"
echo ok
