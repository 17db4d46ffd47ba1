#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test/packaging/check.sh - checks on the built artefacts, one per call:
#
#   check.sh exports LIBPOOL_SO           every dynamic symbol is a public
#                                         pool_ one with a POOL_x.y version;
#                                         no jemalloc in DT_NEEDED
#   check.sh no-test-hooks LIB...         no pool__test_ hook, no failpoint
#                                         counter in the released libraries
#   check.sh man LIBPOOL_SO MANDIR        a section-3 page for every export
#   check.sh license SRCROOT VERSION      LICENSE is MIT (as meson.build),
#                                         NEWS names the version
#   check.sh check-symbols SRCROOT        docs/check-symbols.sh sees
#                                         functions declared with
#                                         attributes (pool_panicf's
#                                         noreturn + format): a fixture
#                                         that leaves them undocumented fails
#   check.sh readme SRCROOT               the README's first screen: what it
#                                         is, install, the link line, the
#                                         ten-line example (docs/examples/
#                                         hello.c verbatim), subproject use;
#                                         the test commands after those
set -euo pipefail

exports()
{
	nm -D --defined-only "$1" | awk '{print $3}'
}

case $1 in
exports)
	so=$2
	n=0
	while read -r sym; do
		case $sym in
		POOL_[0-9]*.[0-9]*) ;; # the version node itself
		pool_*@@POOL_[0-9]*.[0-9]* | pool_*@POOL_[0-9]*.[0-9]*)
			case $sym in
			pool__*)
				echo "internal symbol exported: $sym"
				exit 1
				;;
			esac
			n=$((n + 1))
			;;
		*)
			echo "unversioned or foreign export: $sym"
			exit 1
			;;
		esac
	done < <(exports "$so")
	[ "$n" -gt 0 ] || { echo "no exports in $so"; exit 1; }
	if readelf -d "$so" | grep -q 'NEEDED.*jemalloc'; then
		echo "$so links jemalloc (dlopen would fail: docs/design.md)"
		exit 1
	fi
	soname=$(readelf -d "$so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
	[ "$soname" = libpool.so.0 ] || { echo "soname $soname"; exit 1; }
	echo "exports: $n versioned public symbols, soname $soname"
	;;
no-test-hooks)
	shift
	for lib in "$@"; do
		if nm "$lib" 2>/dev/null | grep -E ' (pool__test_|fail_after|alloc_calls)'; then
			echo "$lib carries test hooks"
			exit 1
		fi
	done
	echo "no test hooks in: $*"
	;;
man)
	so=$2 mandir=$3
	n=0
	for sym in $(exports "$so" | sed -n 's/^\(pool_[A-Za-z0-9_]*\)@.*/\1/p'); do
		page=$mandir/$sym.3
		if [ ! -s "$page" ]; then
			echo "no man page for $sym ($page)"
			exit 1
		fi
		grep -q '^\.TH "\?'"${sym^^}"'"\? "\?3"\?' "$page" ||
			{ echo "$page: no .TH ${sym^^} 3 header"; exit 1; }
		grep -q "$sym" "$page" || { echo "$page does not name $sym"; exit 1; }
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || { echo "no exports in $so"; exit 1; }
	echo "man: $n pages, one per exported function"
	;;
license)
	root=$2 version=$3
	grep -q "^MIT License" "$root/LICENSE" || { echo "LICENSE is not MIT"; exit 1; }
	grep -q "license : 'MIT'" "$root/meson.build" ||
		{ echo "meson.build does not say MIT"; exit 1; }
	grep -q "^$version " "$root/NEWS" || { echo "NEWS has no $version entry"; exit 1; }
	echo "license: MIT; NEWS has $version"
	;;
check-symbols)
	root=$2
	fix=$(mktemp -d)
	trap 'rm -rf "$fix"' EXIT
	mkdir -p "$fix/include/pool" "$fix/docs"
	cat >"$fix/include/pool/x.h" <<'H'
POOL_EXTERN __attribute__((noreturn)) void pool_a(int code,
						  const char *msg);
POOL_EXTERN __attribute__((noreturn, format(printf, 2, 3))) void
pool_b(int code, const char *fmt, ...);
POOL_EXTERN POOL_NODISCARD int pool_c(void);
H
	echo "pool_c is documented" >"$fix/docs/x.md"
	if out=$(bash "$root/docs/check-symbols.sh" "$fix"); then
		echo "check-symbols passed with pool_a and pool_b undocumented"
		echo "$out"
		exit 1
	fi
	for sym in pool_a pool_b; do
		grep -q "undocumented: $sym" <<<"$out" ||
			{ echo "check-symbols missed $sym:"; echo "$out"; exit 1; }
	done
	echo "pool_a pool_b pool_c" >>"$fix/docs/x.md"
	bash "$root/docs/check-symbols.sh" "$fix" >/dev/null ||
		{ echo "check-symbols fails a documented fixture"; exit 1; }
	echo "check-symbols: sees functions behind __attribute__((...))"
	;;
readme)
	root=$2
	readme=$root/README.md
	line() { grep -n -m1 -F -- "$1" "$readme" | cut -d: -f1; }
	for want in '## Install' 'pkg-config --cflags --libs pool' \
		'## Ten lines of code' '## As a meson subproject' \
		"dependency('pool'" 'test/run' 'perf/run'; do
		[ -n "$(line "$want")" ] || { echo "README lacks: $want"; exit 1; }
	done
	[ "$(line 'lock-free')" -lt 10 ] || { echo "README does not start with what it is"; exit 1; }
	[ "$(line 'test/run')" -gt "$(line "dependency('pool'")" ] ||
		{ echo "README: the test commands come before install/link/example"; exit 1; }
	[ "$(line '## As a meson subproject')" -le 60 ] ||
		{ echo "README: the subproject section is not on the first screen"; exit 1; }
	# Lines of code: not blank, not a lone brace.
	n=$(grep -v SPDX-License-Identifier "$root/docs/examples/hello.c" |
		grep -cvE '^[[:space:]]*[{}]?[[:space:]]*$')
	[ "$n" -le 10 ] || { echo "hello.c has $n lines of code, not ten"; exit 1; }
	python3 - "$readme" "$root/docs/examples/hello.c" <<'PY' || exit 1
import sys
readme, hello = open(sys.argv[1]).read(), open(sys.argv[2]).read()
# The file's SPDX line is not part of the README's copy.
lines = hello.split("\n")
if lines and "SPDX-License-Identifier" in lines[0]:
    hello = "\n".join(lines[1:])
if "```c\n" + hello + "```" not in readme:
    sys.exit("README's ten-line example differs from docs/examples/hello.c")
PY
	echo "readme: what, install, link line, example of $n lines of code, subproject, then the commands"
	;;
*)
	echo "unknown check $1" >&2
	exit 2
	;;
esac
