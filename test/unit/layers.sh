#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test/unit/layers.sh TABLE ARCHIVE... - every call between lib/ files goes
# down the layers of TABLE (lib/layers.txt). The calls are read from the
# built objects: for each object of each static library ARCHIVE, the
# symbols it leaves undefined (nm -u) that another object of the same
# archive defines. A call to a file of the same or a higher layer fails the
# test, and so does an object the table does not list.
set -euo pipefail
table=${1:?layer table}
shift
[ $# -gt 0 ] || { echo "layers: no archive given" >&2; exit 2; }

# The table: file -> layer number and name.
declare -A rank lname
i=0
while IFS= read -r line || [ -n "$line" ]; do
	line=${line%%#*}
	[ -n "${line//[[:space:]]/}" ] || continue
	name=${line%%:*}
	name=${name//[[:space:]]/}
	for f in ${line#*:}; do
		if [ -n "${rank[$f]+x}" ]; then
			echo "layers: $f listed twice in $table" >&2
			exit 2
		fi
		rank[$f]=$i
		lname[$f]=$name
	done
	i=$((i + 1))
done <"$table"

bad=0
ncalls=0
for a in "$@"; do
	# "archive[dir/member.c.o]: symbol type ..." -> "member symbol type"
	# (a thin archive names its members by path).
	syms=$(nm -A -P "$a" 2>/dev/null |
		sed -nE 's/^[^[]*\[([^]]*\/)?([^]/]*)\.c\.o\]: ([^ ]+) ([A-Za-z]) .*/\2 \3 \4/p')
	if [ -z "$syms" ]; then
		echo "layers: no symbols read from $a" >&2
		exit 2
	fi
	for f in $(awk '{print $1}' <<<"$syms" | sort -u); do
		if [ -z "${rank[$f]+x}" ]; then
			echo "layers: $a: lib/$f.c is not in $table" >&2
			bad=1
		fi
	done
	# "caller callee symbol" for every undefined symbol that another
	# member defines as a global (upper-case nm type).
	calls=$(awk '$3 == "U" { und[$1 " " $2] = 1; next }
		$3 ~ /^[A-Z]$/ { def[$2] = $1 }
		END { for (k in und) { split(k, x, " ");
			if ((x[2] in def) && def[x[2]] != x[1])
				print x[1], def[x[2]], x[2] } }' <<<"$syms" |
		sort -u)
	[ -z "${LAYERS_VERBOSE:-}" ] || echo "$calls"
	while read -r from to sym; do
		[ -n "$from" ] || continue
		ncalls=$((ncalls + 1))
		[ -n "${rank[$from]+x}" ] && [ -n "${rank[$to]+x}" ] || continue
		if [ "${rank[$to]}" -ge "${rank[$from]}" ]; then
			if [ "${rank[$to]}" -eq "${rank[$from]}" ]; then
				how=sideways
			else
				how=up
			fi
			echo "layers: $how: $from.c (${lname[$from]}) -> $to.c (${lname[$to]}): $sym" >&2
			bad=1
		fi
	done <<<"$calls"
done
if [ "$bad" -ne 0 ]; then
	echo "layers: FAILED against $table" >&2
	exit 1
fi
echo "layers: $ncalls cross-file references, all downward ($i layers)"
