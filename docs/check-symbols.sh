#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# docs/check-symbols.sh - fail when a public function is not documented.
#
# Every function declared with POOL_EXTERN under include/ must be mentioned
# (as a whole word) in at least one docs/*.md file.
#
#   docs/check-symbols.sh [source-root]
set -euo pipefail

root=${1:-$(dirname "$0")/..}
cd "$root"

# Drop comments, preprocessor lines and attributes (GNU
# __attribute__((...)), which may nest parentheses, as in pool_panicf's
# format(printf, 2, 3), and C++ [[...]]), join each declaration onto one line
# (they may wrap after the return type), then take the identifier just before
# the first "(" of every declaration marked POOL_EXTERN. The generated
# pool/version.h comes from include/pool/version.h.in.
symbols=$(find include -name '*.h' -o -name '*.h.in' | sort | tr '\n' '\0' |
	xargs -0 cat |
	perl -0pe 's{/\*.*?\*/}{}gs; s{//[^\n]*}{}g; s{^\s*#(?:[^\n]*\\\n)*[^\n]*}{}gm;
		s{__attribute__\s*(\((?:[^()]++|(?1))*\))}{}g; s{\[\[[^\]]*\]\]}{}g' |
	tr '\n' ' ' | sed 's/;/;\n/g' |
	sed -n 's/.*POOL_EXTERN[^(]*[^A-Za-z0-9_]\(pool_[A-Za-z0-9_]*\)[[:space:]]*(.*/\1/p' |
	sort -u)

if [ -z "$symbols" ]; then
	echo "check-symbols: no POOL_EXTERN symbols found under $root/include" >&2
	exit 1
fi

shopt -s nullglob
docs=(docs/*.md)
if [ ${#docs[@]} -eq 0 ]; then
	echo "check-symbols: no docs/*.md" >&2
	exit 1
fi

missing=0
total=0
for s in $symbols; do
	total=$((total + 1))
	if ! grep -qw -- "$s" "${docs[@]}"; then
		echo "undocumented: $s"
		missing=$((missing + 1))
	fi
done
echo "check-symbols: $((total - missing))/$total public functions documented"
[ "$missing" -eq 0 ]
