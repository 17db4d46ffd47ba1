/* SPDX-License-Identifier: MIT */
/*
 * test/model/pool.pml - a Promela model of the pool engine's park/wake,
 * hand-off, stealing, shrink and close protocol (lib/park.c, lib/worker.c,
 * lib/pool.c). docs/design.md ("Model <-> code") maps every step below to the
 * C it stands for; docs/testing.md says how to run it and what it proves.
 *
 * Memory model: every shared access the code orders with seq_cst (RMWs,
 * fences, and the relaxed loads that follow a fence) is one Promela
 * statement, and Promela's interleaving semantics is sequential consistency.
 * That is exactly what the code's seq_cst fences (and S2, a seq_cst load
 * after the push's seq_cst CAS) buy for the Dekker pairs
 * (P3/S2, hand-off/S2, exit/S2, after_pop/submit_slow): the model does not
 * check the C11 memory model itself, it checks the protocol under the total
 * order those fences establish. Regions under idle_lock are atomic blocks.
 *
 * Configuration (spin -D...):
 *   NW      workers = shards (rings)          default 2
 *   NP      producers                         default 2
 *   NT      tasks in all (ids 0..NT-1)        default 4
 *   RING    slots per ring                    default 2
 *   MAXSPIN max searchers (p->max_spinners)   default 1
 *   NGATE   gate tasks (ids < NGATE): each waits until all NGATE started,
 *           so they must run at the same time (a queued task must not wait
 *           behind a running one while a worker idles)   default 2
 *   GATE_LAST  the gate tasks are the last NGATE ids instead of the first
 *           (with NP=1: a plain task runs first, so a worker pops a gate
 *           task as a non-searcher)
 *   TUNE    a tuner shrinks the pool to 1 (pool_tune; surplus retires)
 *   TUNE_GROW  ... and then grows it back to NW
 *   EXPIRY  parked workers may expire (otherwise POOL_DISABLE_PURGE), at
 *           most MAXEXP times in a run (default 1): each expiry may leave a
 *           thread exiting while its replacement runs, and the model has
 *           2*NW thread slots
 * Seeded bugs (each must make the check fail):
 *   BUG_NO_RESCAN    park sleeps right after P3, without the P4 rescan
 *   BUG_NO_RESEARCH  a rescan that finds work does not re-count the worker
 *                    as a searcher (the bug fixed in 65c9ff9)
 *   BUG_NO_HANDOFF   the last searcher that finds work does not check for
 *                    more queued work
 *   BUG_NO_FENCE_ORDER  the submitter reads nspinning before its push
 *                    (S3 before S1: what a missing S2 fence allows)
 *   BUG_INIT_SPINNING  (with INIT) the old start protocol: the spawner
 *                    counts the new thread as a searcher while it runs
 *                    worker_init, and a refusing init gives up without a
 *                    hand-off (issue 9, defect 3)
 *
 *   TRACK   the rings are tracked ("overflow") rings: a summary bit per ring
 *           (docs/design.md, "The idle search"): a push into a ring whose
 *           bit is clear sets it; a pop that leaves its ring empty clears
 *           it, re-checks the ring and, if a push slipped in, sets it again
 *           and hands off (wakes or starts a worker when none searches); a
 *           searcher cleans a bit set on an empty ring the same way;
 *           has_work, the steal and the P4 rescan read a ring other than the
 *           worker's own only through its bit. A push starts at any ring
 *           of the first cap (push_any's per-thread cursor may point
 *           anywhere), not at the producer's cursor + 1
 *   BUG_NO_RECHECK  (with TRACK) the pop clears the bit without the re-check
 *   BUG_NO_RECHECK_HANDOFF  (with TRACK) the re-check sets the bit again but
 *           does not hand off
 *
 *   STALL   a push's publish becomes visible after its S2 and S3 (on x86 the
 *           release store of seq may sit in the store buffer past kick's
 *           loads; a pusher may also be preempted between its claim and
 *           its publish): the claim (head CAS) is one step, S2/S3 the next,
 *           the publish last. The spin and P4 read three states
 *           (pool__work_state: none, claims only, a task to pop); on claims
 *           only one parked worker becomes the stall watcher (CAS on
 *           stall_watch) and naps with a timeout: the nap may end at any
 *           step, then it gives the watch back and looks again (a P4 of its
 *           own); the others sleep as usual. Not with TRACK
 *   BUG_STALL_NO_WATCH  (with STALL) claims only: sleep as if none (no
 *           watcher, no timed nap)
 *   BUG_STALL_NO_RELOOK  (with STALL) the watcher gives the watch back
 *           and sleeps without looking again
 *   NO_RAMP a searcher that finds work does not ramp up (lib/worker.c
 *           ramp_up: an extra wake, or with none parked an extra thread,
 *           modelled as a free choice)
 *
 *   INIT    each new thread runs worker_init, which may refuse (at most
 *           MAXREFUSE times in a run, default 1): the thread counts in
 *           nstarting, not nspinning, until it starts searching; a refusal
 *           hands off (wakes a parked worker) and, with no worker alive,
 *           discards the queued tasks (counted as reported, not run).
 *           KRETRY (POOL_INIT_RETRIES, default 3): refusals in a row after
 *           which a refusal no longer starts a replacement
 */

#ifndef NW
#define NW 2
#endif
#ifdef STALL
#ifdef TRACK
#error "STALL is not modelled with TRACK"
#endif
#ifndef SPLIT_RING
#define SPLIT_RING
#endif
#endif
#ifndef NP
#define NP 2
#endif
#ifndef NT
#define NT 4
#endif
#ifndef RING
#define RING 2
#endif
#ifndef MAXSPIN
#define MAXSPIN 1
#endif
#ifndef MAXEXP
#define MAXEXP 1
#endif
#ifndef MAXREFUSE
#define MAXREFUSE 1
#endif
#ifndef KRETRY
#define KRETRY 3	/* POOL_INIT_RETRIES */
#endif
#ifndef NGATE
#define NGATE 2
#endif
#ifdef GATE_LAST
#define IS_GATE(x) ((x) >= NT - NGATE)
#else
#define IS_GATE(x) ((x) < NGATE)
#endif

/* Thread slots: a spawned thread may still be exiting (shard already
 * released) while a new one runs on the same shard. */
#ifdef INIT
#define NTHR (2 * NW + MAXREFUSE) /* + refusing threads still exiting */
#else
#define NTHR (2 * NW)
#endif

#define ST_OPEN    0
#define ST_CLOSING 1
#define ST_CLOSED  2

#define EXIT_CLOSED  0
#define EXIT_EXPIRED 1
#define EXIT_RETIRED 2

/* ---- shared state (lib/internal.h) ---- */

/* Rings: Vyukov slots with the doubled sequence (seq == 2*pos: free for the
 * push at pos; 2*pos + 1: holds that push's task). lib/ring-inl.h stores
 * seq - 2*(pos % RING), a bijection per slot that keeps every difference,
 * so the model keeps the logical value. */
byte seq[NW * RING];
byte sid[NW * RING];	/* task id in the slot */
byte rhead[NW];		/* ring.head: next push position */
byte rtail[NW];		/* ring.tail: next pop position */
#ifdef TRACK
bool rbit[NW];		/* the ring's bit in its summary word (may hold tasks) */
#endif

byte state = ST_OPEN;	/* pool.state */
byte cap = NW;		/* pool.cap */
byte nspinning;		/* pool.nspinning */
byte nstarting;		/* pool.nstarting (threads before their first scan) */
byte nworkers;		/* pool.nworkers (logical workers) */
byte nthreads;		/* pool.nthreads (threads not finished) */
byte waiting;		/* pool.waiting (blocked submitters) */
byte space_seq;		/* pool.space_seq (futex word) */
byte readers;		/* RCU read-side sections in progress */

/* Idle stack (under idle_lock): stk[0..nidle-1], top at nidle-1. */
byte stk[NW];
byte nidle;
bool on_stack[NW];
bool token[NW];		/* shard.token (futex word) */
bool owner[NW];		/* shard.owner */

/* Thread slots. */
bool alive[NTHR];
byte tshard[NTHR];

/* Ground truth. */
byte runs[NT];		/* times task i ran */
byte disc[NT];		/* times task i was discarded (reported) */
byte ndisc;		/* tasks discarded in all */
byte nrefused;		/* worker_init refusals so far (<= MAXREFUSE) */
byte streak;		/* pool.init_refusals: refusals in a row */
bool acc[NT];		/* task i was accepted */
byte accepted;
byte ran;
byte prod_done;
byte gstarted;		/* gate tasks started */
byte grejected;		/* gate tasks rejected */
bool shrunk;		/* a pool_tune shrink happened */
byte spawn_failed;	/* pool.spawn_failed */
byte nexpired;		/* expiries so far (bounded by MAXEXP) */
#ifdef STALL
bool watch;		/* pool.stall_watch */
#endif

/* ---- helpers ---- */

#define ring_count(s) (rhead[s] - rtail[s])

/* pool__has_work: one relaxed load pair per ring, in order. */
inline has_work(hw_res, hw_i)
{
#ifndef FINE_SCAN
	atomic {
#endif
	hw_res = false;
	hw_i = 0;
	do
	:: hw_i < NW && !hw_res ->
#ifdef TRACK
		/* a set bit whose ring holds tasks (a stale bit does not
		 * count: it must not keep workers from parking) */
		hw_res = (rbit[hw_i] && ring_count(hw_i) != 0);
#else
		hw_res = (ring_count(hw_i) != 0);
#endif
		hw_i++
	:: else -> break
	od;
	hw_i = 0
#ifndef FINE_SCAN
	}
#endif
}

#ifdef STALL
/* pool__work_state: 0 no claim, 1 claims only (no tail slot published),
 * 2 a pop would take a task. One relaxed load pair (and the tail slot)
 * per ring, in order. */
inline work_state(ws_res, ws_i)
{
#ifndef FINE_SCAN
	atomic {
#endif
	ws_res = 0;
	ws_i = 0;
	do
	:: ws_i < NW && ws_res < 2 ->
		if
		:: ring_count(ws_i) == 0 -> skip
		:: else ->
			if
			:: seq[ws_i * RING + rtail[ws_i] % RING] ==
			   2 * rtail[ws_i] + 1 -> ws_res = 2
			:: else -> ws_res = 1
			fi
		fi;
		ws_i++
	:: else -> break
	od;
	ws_i = 0
#ifndef FINE_SCAN
	}
#endif
}
#endif

/* idle_remove(s), idle_lock held (inside an atomic block). */
inline idle_remove(ir_s, ir_j)
{
	ir_j = 0;
	do
	:: ir_j < nidle && stk[ir_j] != ir_s -> ir_j++
	:: else -> break
	od;
	assert(ir_j < nidle);
	do
	:: ir_j + 1 < nidle -> stk[ir_j] = stk[ir_j + 1]; ir_j++
	:: else -> break
	od;
	nidle--;
	stk[nidle] = 0;
	on_stack[ir_s] = false;
	ir_j = 0
}

/* pool__wake_one: the lock-free nidle pre-check, then the locked pop. */
inline wake_one(wo_woke, wo_s, wo_j)
{
	wo_woke = false;
	if
	:: nidle == 0 -> skip
	:: else ->
		atomic {
			if
			:: nidle > 0 ->
				wo_s = stk[nidle - 1];
				idle_remove(wo_s, wo_j);
				nspinning++;
				token[wo_s] = true;
				wo_woke = true
			:: else -> skip
			fi;
			wo_s = 0
		}
	fi
}

/* pool__spawn: reserve a slot (CAS nworkers < cap; with !any, only while
 * OPEN, inside a read-side section: modelled as one step), count the thread,
 * claim a free shard, count it as a searcher, start the thread. */
inline spawn(sp_any, sp_ok, sp_s, sp_t)
{
	sp_ok = false;
	atomic {
		if
		:: (sp_any || state == ST_OPEN) && nworkers < cap ->
			nworkers++;
			nthreads++;
			sp_ok = true
		:: else -> skip
		fi
	};
	if
	:: sp_ok ->
		atomic {
			sp_s = 0;
			do
			:: sp_s < NW && owner[sp_s] -> sp_s++
			:: else -> break
			od;
			if
			:: sp_s < NW ->
				owner[sp_s] = true;
#ifdef BUG_INIT_SPINNING
				nspinning++;
#else
				nstarting++;
#endif
				sp_t = 0;
				do
				:: sp_t < NTHR && alive[sp_t] -> sp_t++
				:: else -> break
				od;
				assert(sp_t < NTHR);
				tshard[sp_t] = sp_s;
				alive[sp_t] = true
			:: else ->
				/* claim_shard found none: a retiring worker
				 * gave back its slot (try_retire) but not yet
				 * its shard. The spawn fails (fail_slot). */
				spawn_failed++;
				nworkers--;
				nthreads--
			fi;
			sp_s = 0;
			sp_t = 0
		}
	:: else -> skip
	fi
}

/* pool__ensure_worker: wake a parked worker, else spawn one unless a
 * thread is searching or starting (each of those scans before it parks). */
inline ensure_worker(ew_any, ew_woke, ew_ok, ew_s, ew_t)
{
	wake_one(ew_woke, ew_s, ew_t);
	if
	:: !ew_woke && nspinning == 0 && nstarting == 0 ->
		spawn(ew_any, ew_ok, ew_s, ew_t)
	:: else -> skip
	fi;
	ew_woke = false;
	ew_ok = false
}

#ifdef TRACK
/* ring_untrack (lib/worker.c): ring ut_r looked empty (a pop emptied it, or
 * a searcher found its bit set and the ring empty). Clear the bit
 * (fetch_and), fence, re-check the ring; if a push slipped in, set the bit
 * again and hand off: a parking worker's P4 may have read the bit while it
 * was clear, and the fence makes its P2 visible here. */
inline untrack(ut_r, ut_woke, ut_ok, ut_s, ut_t)
{
	rbit[ut_r] = false;
#ifndef BUG_NO_RECHECK
	if
	:: ring_count(ut_r) != 0 ->
		rbit[ut_r] = true;
#ifndef BUG_NO_RECHECK_HANDOFF
		/* fence; nspinning == 0 -> ensure_worker */
		if
		:: nspinning == 0 -> ensure_worker(true, ut_woke, ut_ok, ut_s, ut_t)
		:: else -> skip
		fi
#endif
	:: else -> skip
	fi
#endif
}
#endif

/* pool__space_signal. */
/* pool__discard_stranded: while no worker is alive, pop and report each
 * queued task (one pop per step, as pool__pop_any). */
inline discard_stranded(ds_i, ds_pos, ds_got)
{
	do
	:: true ->
		atomic {
			ds_got = false;
			if
			:: nworkers == 0 ->
				ds_i = 0;
				do
				:: ds_i < NW && ring_count(ds_i) == 0 -> ds_i++
				:: else -> break
				od;
				if
				:: ds_i < NW && seq[ds_i * RING + rtail[ds_i] % RING] ==
					       2 * rtail[ds_i] + 1 ->
					ds_pos = ds_i * RING + rtail[ds_i] % RING;
					disc[sid[ds_pos]]++;
					if
					:: IS_GATE(sid[ds_pos]) -> grejected++
					:: else -> skip
					fi;
					ndisc++;
					seq[ds_pos] = 2 * (rtail[ds_i] + RING);
					rtail[ds_i]++;
					ds_got = true
				:: else -> skip
				fi
			:: else -> skip
			fi;
			ds_i = 0;
			ds_pos = 0
		};
		if
		:: ds_got -> skip
		:: else -> break
		fi
	od;
	ds_got = false
}

inline space_signal()
{
	space_seq++
}

/* ---- producers: pool_submit (blocking) ---- */

/* try_push: state check inside a read-side section, push_any over rings
 * 0..cap-1 from the thread's cursor (S1), then kick (S2, S3) in the same
 * section. */
inline try_push(tp_id, tp_cur, tp_pushed, tp_closed, tp_c, tp_k, tp_pos, tp_any, tp_woke, tp_ok, tp_s, tp_t)
{
	tp_pushed = false;
	atomic {
		readers++;
		tp_closed = (state != ST_OPEN)
	};
	if
	:: !tp_closed ->
#ifdef BUG_NO_FENCE_ORDER
		tp_any = (nspinning == 0);
#endif
#ifdef TRACK
		/* Start at any of the first cap rings. */
		tp_c = 0;
		do
		:: tp_c + 1 < cap -> tp_c++
		:: true -> break
		od;
#else
		tp_c = tp_cur + 1;
		if
		:: tp_c >= cap -> tp_c = 0
		:: else -> skip
		fi;
#endif
		tp_k = 0;
		do
		:: tp_k < cap && !tp_pushed ->
			/* S1: ring_push: claim head (the slot must be free
			 * for this lap) and publish (release store of seq):
			 * one step unless SPLIT_RING. */
			atomic {
				tp_pos = rhead[tp_c];
				if
				:: seq[tp_c * RING + tp_pos % RING] ==
				   2 * tp_pos ->
					rhead[tp_c]++;
					tp_pushed = true
				:: else -> skip
				fi
#ifdef SPLIT_RING
			};
			if
			:: tp_pushed ->
#ifdef STALL
				skip;	/* published after S3, below */
#else
				atomic {
#endif
#else
				;
				if
				:: tp_pushed ->
#endif
#ifndef STALL
					sid[tp_c * RING + tp_pos % RING] =
						tp_id;
					seq[tp_c * RING + tp_pos % RING] =
						2 * tp_pos + 1;
					acc[tp_id] = true;
					accepted++
#endif
#ifdef SPLIT_RING
#ifndef STALL
				};
#endif
#else
				:: else -> skip
				fi
			};
			if
			:: tp_pushed ->
#endif
#ifdef TRACK
				/* ring_track: load the bit (seq_cst), then
				 * fetch_or if it was clear; before S2. */
				if
				:: !rbit[tp_c] -> rbit[tp_c] = true
				:: else -> skip
				fi;
#endif
				tp_cur = tp_c
			:: else ->
				tp_c++;
				if
				:: tp_c >= cap -> tp_c = 0
				:: else -> skip
				fi;
				tp_k++
			fi
		:: else -> break
		od;
#ifndef STALL
		tp_pos = 0;
#endif
		tp_c = 0;
		tp_k = 0;
		if
		:: tp_pushed ->
			/* S2: kick's seq_cst load of nspinning, the first
			 * seq_cst step after the head CAS (SC here). S3: */
#ifdef BUG_NO_FENCE_ORDER
			if
			:: tp_any ->
#else
			if
			:: nspinning == 0 ->
#endif
				ensure_worker(true, tp_woke, tp_ok, tp_s, tp_t)
			:: else -> skip
			fi;
#ifdef STALL
			/* The publish, visible only now. */
			atomic {
				sid[tp_cur * RING + tp_pos % RING] = tp_id;
				seq[tp_cur * RING + tp_pos % RING] =
					2 * tp_pos + 1;
				acc[tp_id] = true;
				accepted++;
				tp_pos = 0
			}
#endif
		:: else -> skip
		fi;
		tp_any = false
	:: else -> skip
	fi;
	readers--
}

proctype producer(byte first)
{
	byte id = first;
	byte cur = first;	/* tls_cursor */
	byte c, k, pos, s, t, sq;
	bool pushed, closed, any, woke, ok;

	do
	:: id >= NT -> break
	:: else ->
		/* submit_one: ensure_first_worker, one push attempt (its
		 * early closed check is the same as try_push's). */
		if
		:: true ->
			if
			:: nworkers == 0 -> spawn(false, ok, s, t); ok = false
			:: else -> skip
			fi;
			try_push(id, cur, pushed, closed, c, k, pos, any, woke,
				 ok, s, t);
			if
			:: !pushed && !closed ->
				/* submit_slow: waiting += 1 (seq_cst) and a
				 * fence; retry; sleep on space_seq. */
				waiting++;
				do
				:: true ->
					sq = space_seq;
					try_push(id, cur, pushed, closed, c, k,
						 pos, any, woke, ok, s, t);
					if
					:: pushed || closed -> break
					:: else -> (space_seq != sq)
					fi
				od;
				sq = 0;
				waiting--
			:: else -> skip
			fi
		:: else -> skip
		fi;
		if
		:: closed && IS_GATE(id) -> grejected++
		:: else -> skip
		fi;
		pushed = false;
		closed = false;
		id = id + NP
	od;
	prod_done++
}

/* ---- workers (lib/worker.c worker_main, lib/park.c pool__park) ---- */

proctype worker(byte me)
{
	byte s, from, id, pos, i, j, why;
	bool spinning, closed, got, popped, woke, ok, last;
#ifdef STALL
	byte ws;
#endif

end_idle:
	(alive[me]);
	s = tshard[me];
#ifdef BUG_INIT_SPINNING
	spinning = true;	/* the spawner counted us */
#endif
#ifdef INIT
	/* worker_init: succeeds, or refuses (bounded). */
	if
	:: atomic { nrefused < MAXREFUSE -> nrefused++ } ->
		/* init_failed: give back shard and slot, stop starting. */
		owner[s] = false;
		nworkers--;
#ifdef BUG_INIT_SPINNING
		nspinning--;
#else
		nstarting--;
		/* fence; hand off: wake a parked worker or start a
		 * replacement (the code stops starting replacements after
		 * POOL_INIT_RETRIES refusals in a row; MAXREFUSE stays below
		 * it), then discard what no worker is left to run. */
		streak++;
		has_work(got, i);
		if
		:: got && nspinning == 0 && streak < KRETRY ->
			ensure_worker(true, woke, ok, j, i)
		:: got && nspinning == 0 && streak >= KRETRY ->
			wake_one(woke, j, i);
			if
			:: !woke -> discard_stranded(i, j, got)
			:: else -> skip
			fi;
			woke = false
		:: else -> skip
		fi;
		got = false;
#endif
		atomic {
			s = 0;
			nthreads--;
			alive[me] = false
		};
		goto end_idle
	:: true -> skip
	fi;
#endif
#ifdef INIT
	streak = 0;	/* init succeeded: init_refusals = 0 */
#endif
#ifndef BUG_INIT_SPINNING
	/* Start searching: count as a searcher, then stop starting. */
	nspinning++;
	nstarting--;
	spinning = true;
#endif
loop:
	/* try_retire: CAS nworkers > cap -> nworkers - 1. */
	atomic {
		if
		:: nworkers > cap ->
			nworkers--;
			why = EXIT_RETIRED
		:: else -> why = EXIT_CLOSED
		fi
	};
	if
	:: why == EXIT_RETIRED ->
		if
		:: spinning ->
			atomic { assert(nspinning > 0); nspinning-- };
			spinning = false
		:: else -> skip
		fi;
		goto exit
	:: else -> skip
	fi;
	closed = (state == ST_CLOSED);

	/* find_work: own ring, then steal from the others in order. */
	from = NW;
	i = 0;
	do
	:: i < NW && from == NW ->
		atomic {
			j = (s + i) % NW;
			pos = rtail[j];
			if
#ifdef TRACK
			/* another ring: only through its bit */
			:: (i == 0 || rbit[j]) &&
			   seq[j * RING + pos % RING] == 2 * pos + 1 ->
#else
			:: seq[j * RING + pos % RING] == 2 * pos + 1 ->
#endif
				id = sid[j * RING + pos % RING];
				rtail[j]++;
#ifndef SPLIT_RING
				seq[j * RING + pos % RING] = 2 * (pos + RING);
#endif
				from = j
			:: else -> skip
			fi;
			j = 0
		};
		i++
	:: else -> break
	od;
	i = 0;
#ifdef TRACK
	if
	:: from < NW ->
		/* The pop may have emptied the ring: load head (relaxed;
		 * tail is ours), untrack if it equals tail. */
		if
		:: rhead[from] == rtail[from] -> untrack(from, woke, ok, j, i)
		:: else -> skip
		fi
	:: else ->
		/* Nothing found: clean a stale bit (set, ring empty) of the
		 * next ring, as find_work does when a set bit's pop finds
		 * the ring empty (ring_count 0). */
		if
		:: rbit[(s + 1) % NW] && ring_count((s + 1) % NW) == 0 ->
			untrack((s + 1) % NW, woke, ok, j, i)
		:: else -> skip
		fi
	fi;
	woke = false;
	ok = false;
	j = 0;
	i = 0;
#endif
	if
	:: from < NW ->
#ifdef SPLIT_RING
		/* ring_pop's release of the slot for the next lap. */
		seq[from * RING + pos % RING] = 2 * (pos + RING);
#endif
		pos = 0;
		if
		:: spinning ->
			spinning = false;
			/* Hand-off: the last searcher that finds work. */
			atomic {
				assert(nspinning > 0);
				last = (nspinning == 1);
				nspinning--
			};
#ifndef BUG_NO_HANDOFF
			if
			:: last ->
				/* fence; ring_count(from) || has_work */
				got = (ring_count(from) != 0);
				if
				:: !got -> has_work(got, i)
				:: else -> skip
				fi;
				if
				:: got -> ensure_worker(true, woke, ok, j, i)
				:: else -> skip
				fi
			:: else -> skip
			fi;
#endif
#ifndef NO_RAMP
			/* ramp_up: with a deep queue, wake one more parked
			 * worker, or with none parked start one more thread
			 * (open, below capacity, few starting). Its reads are
			 * relaxed (a heuristic), so any outcome: skip, the
			 * wake, or the spawn after a failed wake; but only
			 * with tasks left in the ring (head only grows, and
			 * our pop moved tail: an empty ring never reads as
			 * deep). */
			if
			:: skip
			:: ring_count(from) != 0 -> wake_one(woke, j, i);
				if
				:: !woke && state == ST_OPEN ->
					spawn(true, ok, j, i); ok = false
				:: else -> skip
				fi;
				woke = false
			fi;
#endif
			last = false;
			got = false
		:: else -> skip
		fi;
		from = 0;
		/* after_pop: fence; if waiting > 0, space_signal (the load
		 * and the increment as one step). */
		atomic {
			if
			:: waiting > 0 -> space_signal()
			:: else -> skip
			fi
		};
		/* run_task */
		atomic {
			runs[id]++;
			assert(runs[id] + disc[id] == 1); /* once, never also discarded */
			if
			:: IS_GATE(id) -> gstarted++; last = true
			:: else -> ran++
			fi
		};
		if
		:: last ->
			last = false;
			/* A gate task: waits until every gate task started
			 * (or was rejected, or a shrink made it legal to run
			 * them one at a time). */
			atomic {
				(gstarted + grejected >= NGATE || shrunk);
				ran++;
				id = 0
			}
		:: else -> id = 0
		fi;
		goto loop
	:: else -> from = 0
	fi;
	if
	:: closed ->
		if
		:: spinning ->
			atomic { assert(nspinning > 0); nspinning-- };
			spinning = false
		:: else -> skip
		fi;
		why = EXIT_CLOSED;
		goto exit
	:: else -> skip
	fi;
	/* Become a searcher if fewer than max_spinners search (a relaxed
	 * load, then the RMW). */
	if
	:: !spinning && nspinning < MAXSPIN ->
		nspinning++;
		spinning = true
	:: else -> skip
	fi;
	if
	:: spinning ->
		/* The bounded spin: it may time out before it sees
		 * anything, or see work (own ring or has_work). */
		if
		:: skip
#ifdef STALL
		:: work_state(ws, i);
			got = (ws == 2);
			ws = 0;
#else
		:: has_work(got, i);
#endif
			if
			:: got -> got = false; goto loop
			:: else -> skip
			fi
		fi
	:: else -> skip
	fi;

	/* ---- pool__park ---- */
	/* P1: under idle_lock: token = 0, push on the idle stack. */
	atomic {
		token[s] = false;
		stk[nidle] = s;
		nidle++;
		on_stack[s] = true
	};
	/* P2 */
	if
	:: spinning ->
		atomic { assert(nspinning > 0); nspinning-- };
		spinning = false
	:: else -> skip
	fi;
	/* P3: seq_cst fence (SC here). */
#ifndef BUG_NO_RESCAN
	/* P4: must_rescan = has_work || CLOSED || nworkers > cap. */
#ifdef STALL
p4:	/* p4_look: a task to pop (not claims alone) || CLOSED || shrink */
	work_state(ws, i);
	got = (ws == 2);
#else
	has_work(got, i);
#endif
	if
	:: !got -> got = (state == ST_CLOSED)
	:: else -> skip
	fi;
	if
	:: !got -> got = (nworkers > cap)
	:: else -> skip
	fi;
	if
	:: got ->
		got = false;
		/* idle_leave */
		atomic {
			popped = !on_stack[s];
			if
			:: !popped -> idle_remove(s, j)
			:: else -> skip
			fi
		};
#ifdef BUG_NO_RESEARCH
		spinning = popped;
#else
		if
		:: !popped -> nspinning++
		:: else -> skip
		fi;
		spinning = true;
#endif
		popped = false;
#ifdef STALL
		ws = 0;
#endif
		goto loop
	:: else -> skip
	fi;
#ifdef STALL
	/* Claims only: become the watcher (stall_watch_take), or sleep. */
	if
	:: ws == 1 ->
		ws = 0;
#ifndef BUG_STALL_NO_WATCH
		atomic {
			if
			:: !watch -> watch = true; got = true
			:: else -> skip
			fi
		};
#endif
		if
		:: got ->
			got = false;
			/* stall_nap: the timed nap (it ends at any step: a
			 * wake or the timeout), give the watch back, fence. */
			watch = false;
			if
			:: token[s] ->
				spinning = true;	/* the waker counted us */
				goto loop
			:: else -> skip
			fi;
#ifndef BUG_STALL_NO_RELOOK
			goto p4
#endif
		:: else -> skip
		fi
	:: else -> ws = 0
	fi;
#endif
#endif
	/* Sleep on token == 0 (futex_wait returns at once if it is 1). */
	do
	:: token[s] ->
		spinning = true;	/* the waker counted us */
		goto loop
#ifdef EXPIRY
	:: atomic {
			/* Expiry timeout: idle_leave; off the stack:
			 * exit. */
			nexpired < MAXEXP ->
			popped = !on_stack[s];
			if
			:: !popped -> idle_remove(s, j); nexpired++
			:: else -> skip
			fi
		};
		if
		:: !popped ->
			why = EXIT_EXPIRED;
			goto exit
		:: else -> popped = false	/* token is set */
		fi
#endif
	od;

exit:	/* worker_exit */
	owner[s] = false;
	if
	:: why != EXIT_RETIRED -> nworkers--
	:: else -> skip
	fi;
	/* fence; work queued and nobody searching: wake or spawn. */
	has_work(got, i);
	if
	:: got && nspinning == 0 -> ensure_worker(true, woke, ok, j, i)
	:: else -> skip
	fi;
	atomic {
		got = false;
		why = 0;
		s = 0;
		nthreads--;
		alive[me] = false
	};
	goto end_idle
}

/* ---- pool_tune (shrink to 1, grow back) ---- */

#ifdef TUNE
proctype tuner()
{
	byte old, c, surplus, s, t;
	bool ok, woke, got;

	c = 1;
	do
	:: c == 0 -> break
	:: else ->
		/* Under life_lock: OPEN check, cap store (seq_cst). */
		atomic {
			ok = (state == ST_OPEN);
			if
			:: ok ->
				old = cap;
				cap = c;
				if
				:: c < old -> shrunk = true
				:: else -> skip
				fi
			:: else -> skip
			fi
		};
		if
		:: !ok -> break
		:: else -> skip
		fi;
		/* fence */
		if
		:: c > old ->
			space_signal();
			has_work(got, t);
			if
			:: got -> ensure_worker(false, woke, ok, s, t)
			:: else -> skip
			fi
		:: c < old ->
			surplus = (nworkers > c -> nworkers - c : 0);
			do
			:: surplus > 0 ->
				wake_one(woke, s, t);
				if
				:: woke -> surplus--
				:: else -> break
				fi
			:: else -> break
			od;
			surplus = 0
		:: else -> skip
		fi;
#ifdef TUNE_GROW
		c = (c == 1 -> NW : 0)
#else
		c = 0
#endif
	od
}
#endif

/* ---- pool_release_timeout ---- */

proctype releaser()
{
	byte i, s, t;
	bool woke, ok, got;

	/* Either release at any moment, concurrent with submits, or first
	 * wait until every accepted task ran without a close: a lost wake-up
	 * then leaves this wait stuck, which the monitor and the end-state
	 * check report. */
	if
	:: got = true
	:: got = false
	fi;
	if
	:: got -> got = false
	:: else -> (prod_done == NP && ran + ndisc == accepted)
	fi;
	/* close_pool (under life_lock) */
	state = ST_CLOSING;
	(readers == 0);		/* synchronize_rcu */
	state = ST_CLOSED;
	/* fence; pool__wake_all */
	do
	:: true ->
		wake_one(woke, s, t);
		if
		:: !woke -> break
		:: else -> skip
		fi
	od;
	space_signal();
	/* wait_drained */
	do
	:: true ->
		(nthreads == 0);
		has_work(got, i);
		if
		:: got -> spawn(true, ok, s, t)
		:: else -> break
		fi
	od;

	/* Final checks. */
	(prod_done == NP);
	assert(ran + ndisc == accepted);
	i = 0;
	do
	:: i < NT ->
		/* accepted: run once or reported once; else never */
		assert(runs[i] + disc[i] == acc[i]);
		i++
	:: else -> break
	od;
	assert(nworkers == 0 && nspinning == 0 && nstarting == 0 &&
	       nidle == 0 && waiting == 0);
#ifdef STALL
	assert(!watch);
#endif
	i = 0;
	do
	:: i < NW -> assert(ring_count(i) == 0 && !owner[i]); i++
	:: else -> break
	od
}

/* The system is stuck: no task may be queued (a queued task with everyone
 * stuck is a lost wake-up). A stuck state with nothing queued is still an
 * invalid end state (release did not terminate) unless every process ended
 * or idles at a valid end label. */
active proctype monitor()
{
	byte i;

	timeout;
	i = 0;
	do
	:: i < NW ->
		assert(ring_count(i) == 0);	/* lost wake-up */
		i++
	:: else -> break
	od
}

init
{
	byte i;

	atomic {
		i = 0;
		do
		:: i < NW * RING ->
			seq[i] = 2 * (i % RING);
			i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < NTHR -> run worker(i); i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < NP -> run producer(i); i++
		:: else -> break
		od;
#ifdef TUNE
		run tuner();
#endif
		run releaser()
	}
}
