/*
 * lib/jemalloc-link.c - linked into the shared library only: a strong
 * reference that makes the linker keep libjemalloc.so as a dependency (the
 * references in copy.c are weak, and --as-needed ignores weak references).
 * See copy.c for why this leaves the application's malloc alone.
 */
#include <stddef.h>

#include <jemalloc/jemalloc.h>

#include "internal.h"

void *(*const pool__jemalloc_anchor)(size_t, int) = mallocx;
