/* SPDX-License-Identifier: MIT */
/*
 * pool.h - umbrella header: includes every public header of the pool library.
 */
#ifndef POOL_H
#define POOL_H

#include "pool/common.h"
#include "pool/version.h"
#include "pool/error.h"
#include "pool/pool.h"
#include "pool/multi.h"
#include "pool/executor.h"
#include "pool/panic.h"
#include "pool/metrics.h"
#include "pool/ctx.h"
#include "pool/group.h"
#include "pool/sem.h"

#endif /* POOL_H */
