/* SPDX-License-Identifier: MIT */
/*
 * lib/jemalloc-preload.c - libpool-jemalloc.so: no code, one purpose. Its
 * only dependency is libjemalloc.so.2, so a program that links it (the
 * pkg-config link line does, with --no-as-needed) gets jemalloc loaded at
 * start-up one level down the dependency tree: after glibc and libstdc++,
 * which are direct dependencies of the program, so their malloc and
 * operator new stay the program's, and inside the static TLS block, so
 * jemalloc's initial-exec TLS fits. lib/copy.c then finds it with
 * dlopen(RTLD_NOLOAD) and gives each pool its arena. See docs/design.md,
 * "jemalloc".
 */
#include "internal.h"

/* ISO C wants one declaration; nothing refers to it. */
const char pool__jemalloc_preload[] = "libjemalloc.so.2";
