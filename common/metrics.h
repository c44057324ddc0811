/* metrics — Prometheus counters, gauges and histograms with labels.
 * Owns: a registry of metric families, their labelled series, and the
 * Prometheus text exposition format (version 0.0.4) of the registry. Used
 * by both programs: the hub's /metrics (hub/hubmetrics.c) and the agent's.
 *
 * Names follow Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]*; label names
 * [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", and "le" is reserved for
 * histograms). Label values are any UTF-8 text; they are escaped on output.
 * Families are printed in registration order, series sorted by label
 * values, so the output is deterministic.
 *
 * Thread safety: every call takes the registry's mutex, so an agent's
 * worker threads may update metrics while another thread renders them.
 * Collectors run under no lock, before rendering, and may update metrics.
 *
 * Cardinality: a family holds at most METRICS_MAX_SERIES series; updates
 * for new label values past that are dropped (and counted in
 * metrics_dropped()). Callers must not use unbounded values (object names
 * from clients, URLs) as label values. */
#ifndef ATOLL_METRICS_H
#define ATOLL_METRICS_H

#include <stddef.h>

#define METRICS_MAX_LABELS 8
#define METRICS_MAX_BUCKETS 32
#define METRICS_MAX_SERIES 4096

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics_registry;
struct metric;

typedef void (*metrics_collect_fn)(struct metrics_registry *r, void *ud);

struct metrics_registry *metrics_registry_new(void);
void metrics_registry_free(struct metrics_registry *r);

/* Registers a family. labels is a NULL-terminated list of label names (NULL
 * for none). Registering an existing name with the same type and labels
 * returns the existing family; an invalid or conflicting one returns NULL.
 * buckets: strictly increasing upper bounds without +Inf (added
 * automatically); NULL uses metrics_default_buckets. */
struct metric *metrics_counter(struct metrics_registry *r, const char *name, const char *help,
			       const char *const *labels);
struct metric *metrics_gauge(struct metrics_registry *r, const char *name, const char *help,
			     const char *const *labels);
struct metric *metrics_histogram(struct metrics_registry *r, const char *name, const char *help,
				 const char *const *labels, const double *buckets, int nbuckets);

/* Prometheus client defaults: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 */
extern const double metrics_default_buckets[11];

/* values: the label values in the order the labels were registered (NULL
 * when the family has no labels; a NULL value is ""). A NULL metric is
 * ignored, so callers need not check registration results. */
void metric_add(struct metric *m, const char *const *values, double v);    /* counter (v >= 0) or gauge */
void metric_inc(struct metric *m, const char *const *values);              /* add 1 */
void metric_set(struct metric *m, const char *const *values, double v);    /* gauge */
void metric_observe(struct metric *m, const char *const *values, double v); /* histogram */
/* Drops every series of the family (for gauges recomputed by a collector). */
void metric_clear(struct metric *m);

/* Current value of a counter/gauge series, or the count of a histogram
 * series; 0 when the series does not exist. */
double metric_value(struct metric *m, const char *const *values);
/* Sum of a histogram series; 0 when absent. */
double metric_hist_sum(struct metric *m, const char *const *values);

/* Runs fn before each rendering (e.g. to refresh gauges from a store). At
 * most 16 collectors. */
void metrics_add_collector(struct metrics_registry *r, metrics_collect_fn fn, void *ud);

/* The whole registry in the text exposition format; caller frees.
 * *len receives the length (may be NULL). Runs the collectors first. */
char *metrics_render(struct metrics_registry *r, size_t *len);
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Updates dropped for exceeding METRICS_MAX_SERIES. */
unsigned long metrics_dropped(struct metrics_registry *r);

/* Formats a sample value as Prometheus does: integers without a decimal
 * point, otherwise the shortest text that reads back exactly; "+Inf",
 * "-Inf", "NaN". Returns buf. */
const char *metrics_format_value(double v, char *buf, size_t len);

#endif
