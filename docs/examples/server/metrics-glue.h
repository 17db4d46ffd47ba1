/*
 * metrics-glue.h - where the server meets pool/metrics.h: the pool's own
 * Prometheus exposition appended to /metrics, and its saturation reading
 * behind /healthz. Backends other than pool have neither.
 */
#ifndef SERVER_METRICS_GLUE_H
#define SERVER_METRICS_GLUE_H

#include <stdio.h>

#include "backend.h"

/* Once, before serving. */
void metrics_glue_init(struct backend *b);
/* Append the pool's exposition (text format 0.0.4) to f. */
void metrics_glue_write(struct backend *b, FILE *f);
/* 1 when the pool reports itself saturated, else 0. */
int metrics_glue_saturated(struct backend *b);

#endif /* SERVER_METRICS_GLUE_H */
