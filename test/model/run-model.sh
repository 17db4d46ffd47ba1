#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test/model/run-model.sh - check the Promela model of the engine (pool.pml)
# with spin and compare each verdict with the expected one.
#
#   run-model.sh [--large] [CONFIG...]
#
# CONFIG (default: all of them):
#   safety    exhaustive: assertions (no task runs twice; at the end every
#             accepted task ran once and nothing leaked), no stuck state
#             (the monitor's lost-wake-up assertion and invalid end states:
#             release terminates)
#   tune      safety with pool_tune shrinking to 1 (--large: and growing back)
#   expiry    safety with idle expiry (POOL_DISABLE_PURGE off)
#   liveness  non-progress cycles under weak fairness (-DNP, pan -l -f): no
#             execution runs forever, so with "safety" every task is run
#   init      safety with worker_init (-DINIT): threads count as starting,
#             not searching, while in it; it may refuse once (hand-off, and
#             discard-and-report when no worker is left)
#   init_exhausted  the same with refusals past POOL_INIT_RETRIES: a
#             refusal only wakes a parked worker or discards (no gate
#             tasks: running below capacity is then the documented cost)
#   track     safety with tracked rings (-DTRACK): the summary bits of
#             the idle search (docs/design.md, "The idle search")
#   track_late  the same with one producer and the gate tasks last
#             (-DGATE_LAST, 3 tasks): a worker pops a gate task as a
#             non-searcher, so only the untrack hand-off can wake a worker
#             that parked in the popper's clear->recheck window
#   track_liveness  liveness with tracked rings
#   stall     safety with a push's publish visible only after its S2/S3
#             (-DSTALL): P4 tells claims only from a task to pop, and one
#             parked worker watches claims with a timed nap (docs/design.md,
#             "A claim is not a task")
#   stall_liveness  liveness with -DSTALL (the watcher's naps do not
#             loop forever once the publish lands)
#   bug_no_rescan, bug_no_research, bug_no_handoff, bug_no_fence_order,
#   bug_init_spinning, bug_no_recheck, bug_no_recheck_handoff,
#   bug_stall_no_watch, bug_stall_no_relook:
#             seeded bugs; each must FAIL (the checker catches it)
# --large: bigger settings (3 tasks instead of 2, etc.); minutes and GBs.
#
# Exit status: 0 all verdicts as expected, 1 otherwise, 77 spin (or a C
# compiler) is not installed (meson counts 77 as skipped).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
model=$here/pool.pml

command -v spin >/dev/null 2>&1 || { echo "spin not installed: skipped"; exit 77; }
cc=${CC_MODEL:-gcc}
command -v "$cc" >/dev/null 2>&1 || { echo "$cc not installed: skipped"; exit 77; }

large=0
if [ "${1:-}" = --large ]; then
	large=1
	shift
fi
configs=("$@")
[ ${#configs[@]} -eq 0 ] &&
	configs=(safety tune expiry liveness init init_exhausted bug_no_rescan
		bug_no_research bug_no_handoff bug_no_fence_order
		bug_init_spinning track track_late track_liveness
		bug_no_recheck bug_no_recheck_handoff stall stall_liveness
		bug_stall_no_watch bug_stall_no_relook)

work=$(mktemp -d "${TMPDIR:-/tmp}/pool-model.XXXXXX")
trap 'rm -rf "$work"' EXIT

# check NAME EXPECT(pass|fail) MODE(safety|np) SPIN_DEFINES...
check()
{
	local name=$1 expect=$2 mode=$3
	shift 3
	local dir=$work/$name cflags=(-O2 -DCOLLAPSE) panflags=(-m200000 -w26)
	mkdir -p "$dir"
	cp "$model" "$dir/pool.pml"
	if [ "$mode" = np ]; then
		cflags+=(-DNP -DNFAIR=4)
		panflags+=(-l -f)
	else
		cflags+=(-DSAFETY)
	fi
	(cd "$dir" && spin "$@" -a pool.pml >spin.log 2>&1) ||
		{ echo "model $name: spin -a failed"; cat "$dir/spin.log"; return 1; }
	(cd "$dir" && "$cc" "${cflags[@]}" -o pan pan.c >cc.log 2>&1) ||
		{ echo "model $name: compiling pan failed"; cat "$dir/cc.log"; return 1; }
	local t0=$SECONDS
	(cd "$dir" && ./pan "${panflags[@]}" >pan.log 2>&1)
	local errors states verdict
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$dir/pan.log" | tail -1)
	states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$dir/pan.log" | tail -1)
	if [ -z "$errors" ]; then
		echo "model $name: pan did not finish"
		tail -20 "$dir/pan.log"
		return 1
	fi
	# A search cut short (depth or memory) is not a proof.
	if [ "$errors" = 0 ] && grep -qE "max search depth too small|out of memory" "$dir/pan.log"; then
		echo "model $name: search incomplete"
		grep -E "max search depth|out of memory" "$dir/pan.log"
		return 1
	fi
	if [ "$errors" = 0 ]; then verdict=pass; else verdict=fail; fi
	local what
	what=$(grep -m1 -E "^pan:[0-9]+: " "$dir/pan.log" | sed 's/^pan:[0-9]*: //')
	if [ "$verdict" = "$expect" ]; then
		echo "model $name: ok ($verdict as expected; $states states, $((SECONDS - t0)) s${what:+; found: $what})"
		return 0
	fi
	echo "model $name: UNEXPECTED $verdict (expected $expect; $states states)"
	[ -n "$what" ] && echo "  $what"
	if [ "$verdict" = fail ]; then
		(cd "$dir" && spin -t "$@" -p -g pool.pml 2>&1 | tail -60)
	fi
	return 1
}

fails=0
for c in "${configs[@]}"; do
	if [ $large = 1 ]; then
		case $c in
		safety) a=(pass safety -DNT=3) ;;
		tune) a=(pass safety -DNT=1 -DNGATE=1 -DTUNE -DTUNE_GROW) ;;
		expiry) a=(pass safety -DNT=2 -DEXPIRY) ;;
		liveness) a=(pass np -DNT=2) ;;
		*) a=() ;;
		esac
	else
		a=()
	fi
	if [ ${#a[@]} -eq 0 ]; then
		case $c in
		safety) a=(pass safety -DNT=2) ;;
		tune) a=(pass safety -DNT=1 -DNGATE=1 -DTUNE) ;;
		expiry) a=(pass safety -DNT=1 -DNGATE=1 -DEXPIRY) ;;
		liveness) a=(pass np -DNT=1 -DNGATE=1) ;;
		bug_no_rescan) a=(fail safety -DNT=2 -DBUG_NO_RESCAN) ;;
		bug_no_research) a=(fail safety -DNT=2 -DBUG_NO_RESEARCH) ;;
		bug_no_handoff) a=(fail safety -DNT=2 -DBUG_NO_HANDOFF) ;;
		bug_no_fence_order) a=(fail safety -DNT=2 -DBUG_NO_FENCE_ORDER) ;;
		init) a=(pass safety -DNT=2 -DNP=1 -DINIT) ;;
		init_exhausted) a=(pass safety -DNT=2 -DNP=1 -DNGATE=1 -DINIT -DMAXREFUSE=1 -DKRETRY=1) ;;
		bug_init_spinning) a=(fail safety -DNT=2 -DNP=1 -DINIT -DBUG_INIT_SPINNING) ;;
		track) a=(pass safety -DNT=2 -DTRACK) ;;
		track_late) a=(pass safety -DNT=3 -DNP=1 -DGATE_LAST -DTRACK) ;;
		track_liveness) a=(pass np -DNT=1 -DNGATE=1 -DTRACK) ;;
		bug_no_recheck) a=(fail safety -DNT=3 -DNP=1 -DGATE_LAST -DTRACK -DBUG_NO_RECHECK) ;;
		bug_no_recheck_handoff) a=(fail safety -DNT=3 -DNP=1 -DGATE_LAST -DTRACK -DBUG_NO_RECHECK_HANDOFF) ;;
		stall) a=(pass safety -DNT=2 -DSTALL) ;;
		stall_liveness) a=(pass np -DNT=1 -DNGATE=1 -DSTALL) ;;
		bug_stall_no_watch) a=(fail safety -DNT=2 -DSTALL -DBUG_STALL_NO_WATCH) ;;
		bug_stall_no_relook) a=(fail safety -DNT=2 -DSTALL -DBUG_STALL_NO_RELOOK) ;;
		*) echo "unknown config: $c" >&2; exit 2 ;;
		esac
	fi
	check "$c" "${a[@]}" || fails=$((fails + 1))
done
[ $fails -eq 0 ]
