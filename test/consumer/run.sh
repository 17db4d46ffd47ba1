#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test/consumer/run.sh - build and run test/consumer against pool, one step
# per call (each a meson test of the 'packaging' suite):
#
#   subproject        pool as a meson subproject of the consumer: builds,
#                     registers none of pool's tests and installs nothing;
#                     pool_dep is the static flavour and (nothing installed)
#                     does not load jemalloc: copies from malloc
#   install           meson install --destdir into a staging prefix: headers,
#                     libraries, pool.pc, docs, a man page per export, no
#                     test library; werror off by default
#   pkgconfig-shared  the consumer built with meson through the staged pool.pc
#   pkgconfig-static  cc ... $(pkg-config --static --libs pool) with only
#                     libpool.a visible: Libs.private/Requires.private suffice
#   ctypes-installed  ctypes.CDLL of the staged libpool.so
#
#   run.sh STEP SRCROOT WORKDIR
# The staged install is shared by the steps (made once per run under a lock).
set -euo pipefail
step=$1 src=$(cd "$2" && pwd) work=$3
mkdir -p "$work"
work=$(cd "$work" && pwd)
prefix=/opt/pool
stage=$work/stage
tmp=$(mktemp -d "$work/tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export CC=${CC:-cc}

# Build pool on its own with its default options and install it into
# $stage$prefix. Under a lock: every step may need it; the first does the
# work, ninja makes the rest cheap.
staged()
{
	exec 9>"$work/stage.lock"
	flock 9
	if [ ! -f "$work/lib/build.ninja" ]; then
		meson setup "$work/lib" "$src" --prefix="$prefix" \
			-Dtests=disabled -Dperf=disabled >"$work/lib.setup.log" 2>&1 ||
			{ cat "$work/lib.setup.log"; return 1; }
	fi
	ninja -C "$work/lib" >"$work/lib.build.log" 2>&1 ||
		{ tail -40 "$work/lib.build.log"; return 1; }
	rm -rf "$stage"
	meson install -C "$work/lib" --destdir "$stage" --quiet \
		>"$work/lib.install.log" 2>&1 ||
		{ cat "$work/lib.install.log"; return 1; }
	flock -u 9
	libdir=$(find "$stage$prefix" -name libpool.so -printf '%h\n' | head -1)
	[ -n "$libdir" ] || { echo "no libpool.so under $stage$prefix"; return 1; }
	export PKG_CONFIG_SYSROOT_DIR=$stage
	export PKG_CONFIG_PATH=$libdir/pkgconfig
	export PKG_CONFIG_LIBDIR=$libdir/pkgconfig:/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/share/pkgconfig:/usr/lib/pkgconfig
}

case $step in
subproject)
	mkdir -p "$tmp/src/subprojects"
	cp "$src"/test/consumer/meson.build "$src"/test/consumer/main.c "$tmp/src/"
	ln -s "$src" "$tmp/src/subprojects/pool"
	meson setup "$tmp/build" "$tmp/src" --force-fallback-for=pool \
		>"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log"; exit 1; }
	grep -q "Executing subproject pool" "$tmp/setup.log" ||
		{ echo "pool was not used as a subproject"; cat "$tmp/setup.log"; exit 1; }
	ninja -C "$tmp/build" >"$tmp/build.log" 2>&1 ||
		{ tail -40 "$tmp/build.log"; exit 1; }
	"$tmp/build/consumer" malloc
	# Only the consumer's own test is registered, nothing is installed.
	tests=$(cd "$tmp/build" && meson test --no-rebuild --list 2>/dev/null)
	[ "$tests" = "pool-consumer:consumer" ] || [ "$tests" = "consumer" ] ||
		{ echo "tests registered in the parent:"; echo "$tests" | head; exit 1; }
	benches=$(meson introspect "$tmp/build" --benchmarks)
	[ "$benches" = "[]" ] || { echo "benchmarks registered in the parent"; exit 1; }
	installed=$(meson introspect "$tmp/build" --installed)
	[ "$installed" = "{}" ] || { echo "install targets: $installed"; exit 1; }
	# pool_dep is the static flavour: no libpool.so needed at run time.
	if readelf -d "$tmp/build/consumer" | grep -q 'NEEDED.*\[libpool\.so'; then
		echo "subproject pool_dep linked libpool.so"
		exit 1
	fi
	if readelf -d "$tmp/build/consumer" | grep -q 'NEEDED.*jemalloc'; then
		echo "subproject pool_dep needs a library nobody installs"
		exit 1
	fi
	echo "subproject: built, ran, no pool tests, benchmarks or installs in the parent"
	;;
install)
	staged
	werror=$(meson introspect "$work/lib" --buildoptions |
		python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="werror"][0])')
	[ "$werror" = False ] || { echo "werror defaults to $werror"; exit 1; }
	r=$stage$prefix
	for f in include/pool.h include/pool/pool.h include/pool/executor.h \
		include/pool/version.h include/pool/common.h \
		share/doc/pool/README.md share/doc/pool/LICENSE \
		share/doc/pool/NEWS share/doc/pool/docs/pool.md \
		share/doc/pool/docs/abi.md share/doc/pool/docs/executor.md \
		share/doc/pool/docs/examples/basic.c; do
		[ -s "$r/$f" ] || { echo "not installed: $f"; exit 1; }
	done
	for f in "$libdir/libpool.a" "$libdir/libpool.so.0" \
		"$libdir/libpool-jemalloc.so.0" "$libdir/pkgconfig/pool.pc"; do
		[ -e "$f" ] || { echo "not installed: $f"; exit 1; }
	done
	if find "$r" -name '*pool_test*' -o -name '*failpoint*' -o -name '*pool_core*' | grep .; then
		echo "internal libraries installed"
		exit 1
	fi
	bash "$src/test/packaging/check.sh" man "$libdir/libpool.so" "$r/share/man/man3"
	bash "$src/test/packaging/check.sh" no-test-hooks "$libdir/libpool.a" "$libdir/libpool.so"
	echo "install: headers, libraries, pool.pc, docs and man pages staged; werror off"
	;;
pkgconfig-shared)
	staged
	meson setup "$tmp/build" "$src/test/consumer" -Dwrap_mode=nofallback \
		>"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log"; exit 1; }
	grep -q "Run-time dependency pool found: YES" "$tmp/setup.log" ||
		{ cat "$tmp/setup.log"; exit 1; }
	ninja -C "$tmp/build" >"$tmp/build.log" 2>&1 ||
		{ tail -40 "$tmp/build.log"; exit 1; }
	readelf -d "$tmp/build/consumer" | grep -q 'NEEDED.*libpool.so.0' ||
		{ echo "not linked against libpool.so.0"; exit 1; }
	readelf -d "$tmp/build/consumer" | grep -q 'NEEDED.*libpool-jemalloc.so.0' ||
		{ echo "not linked against libpool-jemalloc.so.0"; exit 1; }
	LD_LIBRARY_PATH=$libdir "$tmp/build/consumer" arena
	echo "pkgconfig-shared: $(pkg-config --cflags --libs pool)"
	;;
pkgconfig-static)
	staged
	# Only the archive is visible to -lpool.
	mkdir "$tmp/static"
	ln -s "$libdir/libpool.a" "$tmp/static/libpool.a"
	libs=$(pkg-config --static --libs pool)
	# shellcheck disable=SC2086
	$CC -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags pool) \
		"$src/test/consumer/main.c" -o "$tmp/consumer" -L"$tmp/static" $libs
	if readelf -d "$tmp/consumer" | grep -q 'NEEDED.*\[libpool\.so'; then
		echo "linked libpool.so, not libpool.a"
		exit 1
	fi
	LD_LIBRARY_PATH=$libdir "$tmp/consumer" arena
	echo "pkgconfig-static: $libs"
	;;
ctypes-installed)
	staged
	python3 "$src/test/ctypes/load.py" "$libdir/libpool.so" \
		"$stage$prefix/include/pool/pool.h" no
	;;
*)
	echo "unknown step $step" >&2
	exit 2
	;;
esac
