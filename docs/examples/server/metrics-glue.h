/* SPDX-License-Identifier: MIT */
/*
 * metrics-glue.h - where the server meets pool/metrics.h: the pool's own
 * Prometheus exposition appended to /metrics, and its saturation reading
 * behind /healthz. Backends other than pool have neither.
 */
#ifndef SERVER_METRICS_GLUE_H
#define SERVER_METRICS_GLUE_H

#include <stdint.h>
#include <stdio.h>

#include "backend.h"

/* Once, before serving; saturated_ns > 0 sets how long the pool must have
 * had no free worker before /healthz calls it saturated (default 1 s). */
void metrics_glue_init(struct backend *b, int64_t saturated_ns);
/* Append the pool's exposition (text format 0.0.4) to f. */
void metrics_glue_write(struct backend *b, FILE *f);
/* 1 when the pool reports itself saturated, else 0. */
int metrics_glue_saturated(struct backend *b);
/* 1 when the server was built with pool/metrics.h. */
int metrics_glue_available(void);

#endif /* SERVER_METRICS_GLUE_H */
