#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test/packaging/spdx.sh - every source file carries an SPDX licence line.
#
#   spdx.sh SRCROOT          list the files without one; fail if any
#   spdx.sh --fix SRCROOT    add "SPDX-License-Identifier: MIT" to them
#
# Source files: C and C++ sources and headers (also *.h.in), meson files,
# linker version scripts (*.map), Promela models (*.pml), Python and shell
# scripts (by extension or by a #! first line). The line goes first, or
# second after a #! line, as a comment of the file's language. build*/,
# .git and data (corpora, docs, baselines) are not source.
set -euo pipefail
fix=0
if [ "${1:-}" = --fix ]; then
	fix=1
	shift
fi
root=${1:?usage: spdx.sh [--fix] SRCROOT}
cd "$root"
tag='SPDX-License-Identifier: MIT'

sources()
{
	find . \( -path './build*' -o -path './.git' -o -path './subprojects' \
		-o -path './test/fuzz/corpus' -o -path './perf/out' \) -prune -o \
		-type f -print | sed 's|^\./||' | sort |
		while read -r f; do
			case $f in
			*.c | *.h | *.cc | *.cpp | *.h.in | *.map | *.pml)
				echo "c $f" ;;
			*meson.build | *meson_options.txt | *.py | *.sh)
				echo "hash $f" ;;
			*)
				if head -c 2 "$f" | grep -q '^#!'; then
					echo "hash $f"
				fi
				;;
			esac
		done
}

missing=0
total=0
while read -r kind f; do
	total=$((total + 1))
	if head -3 "$f" | grep -q "$tag"; then
		continue
	fi
	if [ "$fix" = 0 ]; then
		echo "no SPDX line: $f"
		missing=$((missing + 1))
		continue
	fi
	if [ "$kind" = c ]; then
		line="/* $tag */"
	else
		line="# $tag"
	fi
	tmp=$(mktemp)
	if head -c 2 "$f" | grep -q '^#!'; then
		{ head -1 "$f"; echo "$line"; tail -n +2 "$f"; } >"$tmp"
	else
		{ echo "$line"; cat "$f"; } >"$tmp"
	fi
	cat "$tmp" >"$f" # keeps the file's mode
	rm -f "$tmp"
	echo "added: $f"
done < <(sources)
if [ "$fix" = 0 ]; then
	echo "spdx: $((total - missing))/$total source files carry '$tag'"
	[ "$missing" -eq 0 ]
fi
