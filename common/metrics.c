#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

const double metrics_default_buckets[11] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct series {
	char *key;      /* length-prefixed label values: unique identity */
	char **values;  /* nlabels strings */
	double value;   /* counter / gauge */
	double sum;     /* histogram */
	uint64_t count; /* histogram */
	uint64_t *buckets; /* histogram: per-bucket (not cumulative), nbuckets + 1 (+Inf) */
};

struct metric {
	struct metrics_registry *reg;
	enum metric_type type;
	char *name, *help;
	int nlabels;
	char *labels[METRICS_MAX_LABELS];
	int nbuckets;
	double bounds[METRICS_MAX_BUCKETS];
	struct series *series;
	size_t nseries, cap;
	size_t *index; /* open addressing: series index + 1, 0 = empty */
	size_t index_cap;
	struct metric *next;
};

struct collector {
	metrics_collect_fn fn;
	void *ud;
};

struct metrics_registry {
	pthread_mutex_t mu;
	struct metric *first, *last;
	struct collector collectors[16];
	int ncollectors;
	unsigned long dropped;
};

/* ---- names --------------------------------------------------------------- */

static bool valid_metric_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
		if (!alpha && !(p != s && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

static bool valid_label_name(const char *s)
{
	if (!s || !*s || strncmp(s, "__", 2) == 0)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
		if (!alpha && !(p != s && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/* ---- registry ------------------------------------------------------------- */

struct metrics_registry *metrics_registry_new(void)
{
	struct metrics_registry *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

static void series_free(struct metric *m, struct series *s)
{
	for (int i = 0; i < m->nlabels; i++)
		free(s->values[i]);
	free(s->values);
	free(s->key);
	free(s->buckets);
}

static void metric_free(struct metric *m)
{
	for (size_t i = 0; i < m->nseries; i++)
		series_free(m, &m->series[i]);
	free(m->series);
	free(m->index);
	for (int i = 0; i < m->nlabels; i++)
		free(m->labels[i]);
	free(m->name);
	free(m->help);
	free(m);
}

void metrics_registry_free(struct metrics_registry *r)
{
	if (!r)
		return;
	struct metric *m = r->first, *next;
	for (; m; m = next) {
		next = m->next;
		metric_free(m);
	}
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static int count_labels(const char *const *labels)
{
	int n = 0;
	while (labels && labels[n])
		n++;
	return n;
}

static struct metric *find_family(struct metrics_registry *r, const char *name)
{
	for (struct metric *m = r->first; m; m = m->next)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

static bool same_shape(const struct metric *m, enum metric_type type, const char *const *labels, int n)
{
	if (m->type != type || m->nlabels != n)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(m->labels[i], labels[i]) != 0)
			return false;
	return true;
}

static struct metric *reg(struct metrics_registry *r, enum metric_type type, const char *name, const char *help,
			  const char *const *labels, const double *buckets, int nbuckets)
{
	if (!r || !valid_metric_name(name))
		return NULL;
	int n = count_labels(labels);
	if (n > METRICS_MAX_LABELS)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (!valid_label_name(labels[i]) || (type == METRIC_HISTOGRAM && strcmp(labels[i], "le") == 0))
			return NULL;
		for (int j = 0; j < i; j++)
			if (strcmp(labels[i], labels[j]) == 0)
				return NULL;
	}
	if (type == METRIC_HISTOGRAM) {
		if (!buckets) {
			buckets = metrics_default_buckets;
			nbuckets = 11;
		}
		if (nbuckets < 1 || nbuckets > METRICS_MAX_BUCKETS)
			return NULL;
		for (int i = 0; i < nbuckets; i++)
			if (!isfinite(buckets[i]) || (i && buckets[i] <= buckets[i - 1]))
				return NULL;
	}
	pthread_mutex_lock(&r->mu);
	struct metric *m = find_family(r, name);
	if (m) {
		if (!same_shape(m, type, labels, n))
			m = NULL;
		pthread_mutex_unlock(&r->mu);
		return m;
	}
	m = calloc(1, sizeof *m);
	m->reg = r;
	m->type = type;
	m->name = strdup(name);
	m->help = strdup(help ? help : "");
	m->nlabels = n;
	for (int i = 0; i < n; i++)
		m->labels[i] = strdup(labels[i]);
	if (type == METRIC_HISTOGRAM) {
		m->nbuckets = nbuckets;
		memcpy(m->bounds, buckets, (size_t)nbuckets * sizeof *buckets);
	}
	if (r->last)
		r->last->next = m;
	else
		r->first = m;
	r->last = m;
	pthread_mutex_unlock(&r->mu);
	return m;
}

struct metric *metrics_counter(struct metrics_registry *r, const char *name, const char *help, const char *const *labels)
{
	return reg(r, METRIC_COUNTER, name, help, labels, NULL, 0);
}

struct metric *metrics_gauge(struct metrics_registry *r, const char *name, const char *help, const char *const *labels)
{
	return reg(r, METRIC_GAUGE, name, help, labels, NULL, 0);
}

struct metric *metrics_histogram(struct metrics_registry *r, const char *name, const char *help,
				 const char *const *labels, const double *buckets, int nbuckets)
{
	return reg(r, METRIC_HISTOGRAM, name, help, labels, buckets, nbuckets);
}

void metrics_add_collector(struct metrics_registry *r, metrics_collect_fn fn, void *ud)
{
	pthread_mutex_lock(&r->mu);
	if (r->ncollectors < 16) {
		r->collectors[r->ncollectors].fn = fn;
		r->collectors[r->ncollectors].ud = ud;
		r->ncollectors++;
	}
	pthread_mutex_unlock(&r->mu);
}

unsigned long metrics_dropped(struct metrics_registry *r)
{
	pthread_mutex_lock(&r->mu);
	unsigned long d = r->dropped;
	pthread_mutex_unlock(&r->mu);
	return d;
}

/* ---- series lookup ---------------------------------------------------------- */

/* Identity of a label-value tuple: each value as "<len>:<bytes>". */
static char *series_key(const struct metric *m, const char *const *values, size_t *klen)
{
	size_t len = 1;
	for (int i = 0; i < m->nlabels; i++)
		len += 21 + strlen(values && values[i] ? values[i] : "");
	char *k = xmalloc(len), *p = k;
	for (int i = 0; i < m->nlabels; i++) {
		const char *v = values && values[i] ? values[i] : "";
		p += snprintf(p, len - (size_t)(p - k), "%zu:", strlen(v));
		size_t vl = strlen(v);
		memcpy(p, v, vl);
		p += vl;
	}
	*p = '\0';
	*klen = (size_t)(p - k);
	return k;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void index_insert(struct metric *m, size_t idx)
{
	size_t mask = m->index_cap - 1;
	size_t h = (size_t)hash_str(m->series[idx].key) & mask;
	while (m->index[h])
		h = (h + 1) & mask;
	m->index[h] = idx + 1;
}

static void index_rebuild(struct metric *m, size_t cap)
{
	free(m->index);
	m->index_cap = cap;
	m->index = calloc(cap, sizeof *m->index);
	for (size_t i = 0; i < m->nseries; i++)
		index_insert(m, i);
}

/* Finds (or, when create, adds) a series. Called with the lock held. */
static struct series *lookup(struct metric *m, const char *const *values, bool create)
{
	size_t klen;
	char *key = series_key(m, values, &klen);
	if (m->index_cap) {
		size_t mask = m->index_cap - 1;
		size_t h = (size_t)hash_str(key) & mask;
		while (m->index[h]) {
			struct series *s = &m->series[m->index[h] - 1];
			if (strcmp(s->key, key) == 0) {
				free(key);
				return s;
			}
			h = (h + 1) & mask;
		}
	}
	if (!create) {
		free(key);
		return NULL;
	}
	if (m->nseries >= METRICS_MAX_SERIES) {
		m->reg->dropped++;
		free(key);
		return NULL;
	}
	if (m->nseries == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->series = realloc(m->series, m->cap * sizeof *m->series);
	}
	struct series *s = &m->series[m->nseries];
	memset(s, 0, sizeof *s);
	s->key = key;
	s->values = calloc((size_t)(m->nlabels ? m->nlabels : 1), sizeof *s->values);
	for (int i = 0; i < m->nlabels; i++)
		s->values[i] = strdup(values && values[i] ? values[i] : "");
	if (m->type == METRIC_HISTOGRAM)
		s->buckets = calloc((size_t)m->nbuckets + 1, sizeof *s->buckets);
	m->nseries++;
	if ((m->nseries + 1) * 2 > m->index_cap)
		index_rebuild(m, m->index_cap ? m->index_cap * 2 : 16);
	else
		index_insert(m, m->nseries - 1);
	return s;
}

/* ---- updates ---------------------------------------------------------------- */

void metric_add(struct metric *m, const char *const *values, double v)
{
	if (!m || m->type == METRIC_HISTOGRAM || (m->type == METRIC_COUNTER && !(v >= 0)))
		return;
	pthread_mutex_lock(&m->reg->mu);
	struct series *s = lookup(m, values, true);
	if (s)
		s->value += v;
	pthread_mutex_unlock(&m->reg->mu);
}

void metric_inc(struct metric *m, const char *const *values)
{
	metric_add(m, values, 1);
}

void metric_set(struct metric *m, const char *const *values, double v)
{
	if (!m || m->type != METRIC_GAUGE)
		return;
	pthread_mutex_lock(&m->reg->mu);
	struct series *s = lookup(m, values, true);
	if (s)
		s->value = v;
	pthread_mutex_unlock(&m->reg->mu);
}

void metric_observe(struct metric *m, const char *const *values, double v)
{
	if (!m || m->type != METRIC_HISTOGRAM || isnan(v))
		return;
	pthread_mutex_lock(&m->reg->mu);
	struct series *s = lookup(m, values, true);
	if (s) {
		int b = 0;
		while (b < m->nbuckets && v > m->bounds[b])
			b++;
		s->buckets[b]++;
		s->count++;
		s->sum += v;
	}
	pthread_mutex_unlock(&m->reg->mu);
}

void metric_clear(struct metric *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->reg->mu);
	for (size_t i = 0; i < m->nseries; i++)
		series_free(m, &m->series[i]);
	m->nseries = 0;
	if (m->index)
		memset(m->index, 0, m->index_cap * sizeof *m->index);
	pthread_mutex_unlock(&m->reg->mu);
}

double metric_value(struct metric *m, const char *const *values)
{
	if (!m)
		return 0;
	pthread_mutex_lock(&m->reg->mu);
	struct series *s = lookup(m, values, false);
	double v = !s ? 0 : m->type == METRIC_HISTOGRAM ? (double)s->count : s->value;
	pthread_mutex_unlock(&m->reg->mu);
	return v;
}

double metric_hist_sum(struct metric *m, const char *const *values)
{
	if (!m || m->type != METRIC_HISTOGRAM)
		return 0;
	pthread_mutex_lock(&m->reg->mu);
	struct series *s = lookup(m, values, false);
	double v = s ? s->sum : 0;
	pthread_mutex_unlock(&m->reg->mu);
	return v;
}

/* ---- exposition ----------------------------------------------------------------- */

const char *metrics_format_value(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v == 0 ? 0.0 : v); /* no "-0" */
	else {
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(buf, len, "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
	}
	return buf;
}

struct out {
	char *buf;
	size_t len, cap;
};

static void out_add(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		while (o->len + n + 1 > o->cap)
			o->cap = o->cap ? o->cap * 2 : 4096;
		o->buf = realloc(o->buf, o->cap);
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

/* HELP text: backslash and newline escaped. Label values: also '"'. */
static void out_escaped(struct out *o, const char *s, bool quote)
{
	const char *run = s;
	for (; *s; s++) {
		const char *rep = NULL;
		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '\n')
			rep = "\\n";
		else if (quote && *s == '"')
			rep = "\\\"";
		if (rep) {
			out_add(o, run, (size_t)(s - run));
			out_str(o, rep);
			run = s + 1;
		}
	}
	out_add(o, run, (size_t)(s - run));
}

/* name{l1="v1",...[,le="x"]} */
static void out_series_name(struct out *o, const struct metric *m, const char *suffix, const struct series *s,
			    const char *le)
{
	out_str(o, m->name);
	out_str(o, suffix);
	if (m->nlabels == 0 && !le)
		return;
	out_str(o, "{");
	for (int i = 0; i < m->nlabels; i++) {
		if (i)
			out_str(o, ",");
		out_str(o, m->labels[i]);
		out_str(o, "=\"");
		out_escaped(o, s->values[i], true);
		out_str(o, "\"");
	}
	if (le) {
		if (m->nlabels)
			out_str(o, ",");
		out_str(o, "le=\"");
		out_str(o, le);
		out_str(o, "\"");
	}
	out_str(o, "}");
}

static void out_sample(struct out *o, const struct metric *m, const char *suffix, const struct series *s,
		       const char *le, double v)
{
	char num[64];
	out_series_name(o, m, suffix, s, le);
	out_str(o, " ");
	out_str(o, metrics_format_value(v, num, sizeof num));
	out_str(o, "\n");
}

static int cmp_series(const void *a, const void *b, void *arg)
{
	const struct metric *sort_metric = arg;
	const struct series *x = *(const struct series *const *)a, *y = *(const struct series *const *)b;
	for (int i = 0; i < sort_metric->nlabels; i++) {
		int c = strcmp(x->values[i], y->values[i]);
		if (c)
			return c;
	}
	return 0;
}

static void render_family(struct out *o, const struct metric *m)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	out_str(o, "# HELP ");
	out_str(o, m->name);
	out_str(o, " ");
	out_escaped(o, m->help, false);
	out_str(o, "\n# TYPE ");
	out_str(o, m->name);
	out_str(o, " ");
	out_str(o, types[m->type]);
	out_str(o, "\n");
	/* A label-less family always has its one series, zero until used. */
	uint64_t zero_buckets[METRICS_MAX_BUCKETS + 1] = {0};
	struct series zero = {.buckets = zero_buckets};
	size_t n = m->nseries;
	const struct series **sorted = malloc((n ? n : 1) * sizeof *sorted);
	for (size_t i = 0; i < n; i++)
		sorted[i] = &m->series[i];
	if (n == 0 && m->nlabels == 0)
		sorted[n++] = &zero;
	qsort_r(sorted, n, sizeof *sorted, cmp_series, (void *)m);
	for (size_t i = 0; i < n; i++) {
		const struct series *s = sorted[i];
		if (m->type != METRIC_HISTOGRAM) {
			out_sample(o, m, "", s, NULL, s->value);
			continue;
		}
		uint64_t cum = 0;
		char le[64];
		for (int b = 0; b < m->nbuckets; b++) {
			cum += s->buckets[b];
			out_sample(o, m, "_bucket", s, metrics_format_value(m->bounds[b], le, sizeof le), (double)cum);
		}
		cum += s->buckets[m->nbuckets];
		out_sample(o, m, "_bucket", s, "+Inf", (double)cum);
		out_sample(o, m, "_sum", s, NULL, s->sum);
		out_sample(o, m, "_count", s, NULL, (double)s->count);
	}
	free(sorted);
}

char *metrics_render(struct metrics_registry *r, size_t *len)
{
	struct collector cs[16];
	pthread_mutex_lock(&r->mu);
	int n = r->ncollectors;
	memcpy(cs, r->collectors, sizeof cs);
	pthread_mutex_unlock(&r->mu);
	for (int i = 0; i < n; i++)
		cs[i].fn(r, cs[i].ud);
	struct out o = {0};
	out_str(&o, "");
	pthread_mutex_lock(&r->mu);
	for (const struct metric *m = r->first; m; m = m->next)
		render_family(&o, m);
	pthread_mutex_unlock(&r->mu);
	if (len)
		*len = o.len;
	return o.buf;
}
