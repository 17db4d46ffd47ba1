#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test/ctypes/load.py - load libpool.so with ctypes.CDLL (dlopen after
start-up, as bindings and plugins do) and use it: version, a pool, copies
run through pool_submit_copy, stats.

  load.py LIBPOOL_SO POOL_H ARENA

ARENA: "yes" (copies must come from a jemalloc arena), "no" (from malloc),
or "any". POOL_H is include/pool/pool.h, read for pool_stats_t's fields.
"""
import ctypes
import re
import sys
import threading

lib_path, pool_h, want_arena = sys.argv[1], sys.argv[2], sys.argv[3]
lib = ctypes.CDLL(lib_path)

lib.pool_version_string.restype = ctypes.c_char_p
lib.pool_version.restype = ctypes.c_uint
ver = lib.pool_version_string().decode()
major, minor, patch = (int(x) for x in ver.split('.'))
assert lib.pool_version() == (major << 16 | minor << 8 | patch), ver

# pool_stats_t: size_t size, then 64-bit fields, read from the header.
body = re.search(r'typedef struct pool_stats \{(.*?)\} pool_stats_t;',
                 open(pool_h).read(), re.S).group(1)
body = re.sub(r'/\*.*?\*/', '', body, flags=re.S)
fields = re.findall(r'\b(u?int64_t)\s+(\w+)\s*;', body)
names = [n for _, n in fields]
assert names[:2] == ['capacity', 'running'] and 'copy_arena' in names


class Stats(ctypes.Structure):
    _fields_ = [('size', ctypes.c_size_t)] + \
        [(n, ctypes.c_uint64 if t == 'uint64_t' else ctypes.c_int64)
         for t, n in fields]


TASK = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
seen = []
lock = threading.Lock()


@TASK
def task(arg):
    with lock:
        seen.append(ctypes.string_at(arg, 8))


lib.pool_new.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
lib.pool_submit_copy.argtypes = [ctypes.c_void_p, TASK, ctypes.c_char_p,
                                 ctypes.c_size_t]
lib.pool_release_timeout.argtypes = [ctypes.c_void_p, ctypes.c_int64]
lib.pool_stats.argtypes = [ctypes.c_void_p, ctypes.POINTER(Stats)]
lib.pool_destroy.argtypes = [ctypes.c_void_p]

p = ctypes.c_void_p()
rc = lib.pool_new(ctypes.byref(p), None)
assert rc == 0, rc
n = 100
for i in range(n):
    buf = b'%08d' % i
    rc = lib.pool_submit_copy(p, task, buf, len(buf))
    assert rc == 0, rc
rc = lib.pool_release_timeout(p, 30 * 10**9)
assert rc == 0, rc
s = Stats()
s.size = ctypes.sizeof(Stats)
rc = lib.pool_stats(p, ctypes.byref(s))
assert rc == 0, rc
assert s.submitted == n and s.completed == n, (s.submitted, s.completed)
assert s.copies_live == 0, s.copies_live
assert sorted(seen) == [b'%08d' % i for i in range(n)], seen[:3]
arena = s.copy_arena
assert lib.pool_destroy(p) == 0
if want_arena == 'yes':
    assert arena != 0, 'copies came from malloc, wanted a jemalloc arena'
elif want_arena == 'no':
    assert arena == 0, 'copies came from arena %d, wanted malloc' % arena
print('ctypes: %s %s, %d copies, copy_arena %d' % (lib_path, ver, n, arena))
