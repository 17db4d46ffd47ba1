# SPDX-License-Identifier: MIT
# Sourced by test/run, perf/run and .ci/run: install what is missing.
# Usage: pool_install_deps [extra Debian packages...]
pool_install_deps()
{
	# prometheus: promtool and the server the metrics suite runs
	# (test/metrics/).
	local want=(meson ninja-build pkg-config gcc g++ python3
		liburcu-dev libjemalloc-dev libbenchmark-dev libclang-rt-14-dev clang
		spin abigail-tools pandoc libglib2.0-dev wrk prometheus "$@")
	local missing=()
	local p
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing: ${missing[*]}" >&2
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >&2
}
