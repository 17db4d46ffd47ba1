#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test/build/matrix.sh - the public headers under one compiler and standard
# with -Wall -Wextra -Wpedantic -Werror: hdr_init.c (every initializer macro
# and init function, (void)-discarded results) compiled, linked against the
# released libpool.a and run; nodiscard.c must warn where POOL_NODISCARD is
# active; <pool/executor.h> must pull in no other pool header.
#
#   matrix.sh COMPILER STD SRCROOT BUILDROOT LIBPOOL_A
set -euo pipefail
comp=$1 std=$2 src=$3 bld=$4 lib=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case $std in
c++*) lang=c++ ;;
*) lang=c ;;
esac
flags=(-std="$std" -Wall -Wextra -Wpedantic -Werror -x "$lang"
	-I"$src/include" -I"$bld/include")

"$comp" "${flags[@]}" -c "$src/test/build/hdr_init.c" -o "$tmp/init.o"
"$comp" -o "$tmp/init" "$tmp/init.o" "$lib" -lurcu-bp -lurcu-common \
	-pthread -ldl
"$tmp/init"

# POOL_NODISCARD is active for clang (any language) and for g++ from
# C++17; in gcc's C and older C++ it is empty (docs/cxx.md).
expect_warn=0
case $comp in
*clang*) expect_warn=1 ;;
*)
	case $std in
	c++17 | c++2* | gnu++17 | gnu++2*) expect_warn=1 ;;
	esac
	;;
esac
if "$comp" "${flags[@]}" -Wno-error -c "$src/test/build/nodiscard.c" \
	-o "$tmp/nd.o" 2>"$tmp/nd.log" && grep -q "warning:.*pool_submit\|warning:.*nodiscard\|warning:.*unused" "$tmp/nd.log"; then
	warned=1
else
	warned=0
fi
if [ "$warned" != "$expect_warn" ]; then
	echo "$comp $std: ignoring pool_submit's result warned=$warned, expected $expect_warn"
	cat "$tmp/nd.log"
	exit 1
fi

# executor.h stands alone: only standard headers come with it.
echo '#include <pool/executor.h>' >"$tmp/ex.c"
"$comp" "${flags[@]}" -H -fsyntax-only "$tmp/ex.c" 2>"$tmp/h.log"
if grep -E '^\.+ .*pool/' "$tmp/h.log" | grep -v 'pool/executor.h$'; then
	echo "$comp $std: <pool/executor.h> includes other pool headers"
	exit 1
fi
echo "$comp -std=$std: initializers, (void) casts, nodiscard=$expect_warn, standalone executor.h: ok"
