#include "params.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *param_quote(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	if (len < 3) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 6 < len; p++) {
		if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)*p;
		} else if (*p >= 0x20 && *p < 0x7f) {
			buf[o++] = (char)*p;
		} else {
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", *p);
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static int parse_err(const char *fn, const char *s, const char *why, char *err, size_t errlen)
{
	char q[160];
	snprintf(err, errlen, "strconv.%s: parsing %s: %s", fn, param_quote(s, q, sizeof q), why);
	return -1;
}

/* Digits only; *over set when the value passes limit. */
static int digits(const char *p, unsigned long long limit, unsigned long long *out, bool *over)
{
	unsigned long long v = 0;
	*over = false;
	if (!*p)
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned d = (unsigned)(*p - '0');
		if (v > (limit - d) / 10)
			*over = true;
		else
			v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int param_uint64(const char *s, unsigned long long *out, char *err, size_t errlen)
{
	bool over;
	unsigned long long v;
	if (!s || digits(s, ULLONG_MAX, &v, &over) < 0)
		return parse_err("ParseUint", s ? s : "", "invalid syntax", err, errlen);
	if (over)
		return parse_err("ParseUint", s, "value out of range", err, errlen);
	*out = v;
	return 0;
}

int param_int64(const char *s, long long *out, char *err, size_t errlen)
{
	if (!s)
		return parse_err("ParseInt", "", "invalid syntax", err, errlen);
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	bool over;
	unsigned long long v;
	unsigned long long limit = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	if (digits(p, limit, &v, &over) < 0)
		return parse_err("ParseInt", s, "invalid syntax", err, errlen);
	if (over)
		return parse_err("ParseInt", s, "value out of range", err, errlen);
	if (neg)
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
	else
		*out = (long long)v;
	return 0;
}

bool param_kube_bool(const char *s)
{
	if (!s)
		return false;
	return !(strcmp(s, "0") == 0 || strcasecmp(s, "false") == 0);
}

int param_resource_version(const char *s, long long *rv, char *err, size_t errlen)
{
	*rv = 0;
	if (!s || !*s || strcmp(s, "0") == 0)
		return 0;
	unsigned long long v = 0;
	char why[256], q[160];
	int rc = param_uint64(s, &v, why, sizeof why);
	if (rc == 0 && v > (unsigned long long)LLONG_MAX) {
		/* A revision this store can never reach; refused like an overflow. */
		snprintf(why, sizeof why, "strconv.ParseUint: parsing %s: value out of range", param_quote(s, q, sizeof q));
		rc = -1;
	}
	if (rc < 0) {
		snprintf(err, errlen, "invalid resource version: resourceVersion: Invalid value: %s: %s",
			 param_quote(s, q, sizeof q), why);
		return -1;
	}
	*rv = (long long)v;
	return 0;
}

/* Kinds with their own field label conversion in kube-apiserver, and the
 * fields each accepts. Every other kind accepts metadata.name and
 * metadata.namespace only. */
struct field_table {
	const char *group, *kind;
	const char *fields[16];
};

static const struct field_table field_tables[] = {
	{"", "Pod", {"metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
		     "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs",
		     "status.nominatedNodeName", NULL}},
	{"", "Node", {"metadata.name", "spec.unschedulable", NULL}},
	{"", "ReplicationController", {"metadata.name", "metadata.namespace", "status.replicas", NULL}},
	{"", "Event", {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
		       "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
		       "reportingComponent", "source", "type", "metadata.namespace", "metadata.name", NULL}},
	{"", "Namespace", {"status.phase", "metadata.name", NULL}},
	{"", "Secret", {"type", "metadata.namespace", "metadata.name", NULL}},
	{"", "Service", {"metadata.namespace", "metadata.name", "spec.clusterIP", "spec.type", NULL}},
	{"apps", "ReplicaSet", {"metadata.name", "metadata.namespace", "status.replicas", NULL}},
	{"batch", "Job", {"metadata.name", "metadata.namespace", "status.successful", NULL}},
};

bool param_field_supported(const struct kind_info *k, const char *field, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof field_tables / sizeof field_tables[0]; i++) {
		const struct field_table *t = &field_tables[i];
		if (k->dynamic || strcmp(t->group, k->group) != 0 || strcmp(t->kind, k->kind) != 0)
			continue;
		for (int f = 0; t->fields[f]; f++)
			if (strcmp(t->fields[f], field) == 0)
				return true;
		snprintf(err, errlen, "field label not supported: %s", field);
		return false;
	}
	if (strcmp(field, "metadata.name") == 0 || strcmp(field, "metadata.namespace") == 0)
		return true;
	char q[300];
	snprintf(err, errlen, "%s is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
		 param_quote(field, q, sizeof q));
	return false;
}

bool params_has_nul_escape(const char *raw)
{
	return raw && strstr(raw, "%00") != NULL;
}
