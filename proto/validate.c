#include "validate.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbschema.h"
#include "schemameta.h"

/* ------------------------------------------------------------------ */
/* Messages, worded as k8s.io/apimachinery/pkg/util/validation.        */

#define MSG_SUBDOMAIN "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric " \
	"characters, '-' or '.', and must start and end with an alphanumeric character " \
	"(e.g. 'example.com', regex used for validation is " \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define MSG_LABEL "a lowercase RFC 1123 label must consist of lower case alphanumeric " \
	"characters or '-', and must start and end with an alphanumeric character " \
	"(e.g. 'my-name',  or '123-abc', regex used for validation is " \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define MSG_DNS1035 "a DNS-1035 label must consist of lower case alphanumeric characters " \
	"or '-', start with an alphabetic character, and end with an alphanumeric character " \
	"(e.g. 'my-name',  or 'abc-123', regex used for validation is " \
	"'[a-z]([-a-z0-9]*[a-z0-9])?')"
#define QN_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QN_ERR "must consist of alphanumeric characters, '-', '_' or '.', and must start " \
	"and end with an alphanumeric character"
#define QN_EXAMPLES "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '" QN_FMT "')"
#define MSG_LABEL_VALUE "a valid label must be an empty string or consist of alphanumeric " \
	"characters, '-', '_' or '.', and must start and end with an alphanumeric character " \
	"(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is " \
	"'(" QN_FMT ")?')"
#define MSG_CONFIG_KEY "a valid config key must consist of alphanumeric characters, '-', '_' " \
	"or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation " \
	"is '[-._a-zA-Z0-9]+')"

#define ANNOTATIONS_MAX (256 * 1024)  /* TotalAnnotationSizeLimitB */
#define DATA_MAX (1024 * 1024)        /* ConfigMap/Secret MaxSecretSize */
#define CLUSTER_NAME_MAX 48           /* Karmada: "karmada-es-<name>" stays a label */
#define RENDER_MAX 128                /* bytes of a value echoed in a message */

/* ------------------------------------------------------------------ */
/* Character-class checks.                                              */

static bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n) */
static bool label_chars(const char *s, size_t n)
{
	if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool subdomain_chars(const char *s)
{
	for (;;) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);
		if (!label_chars(s, n))
			return false;
		if (!dot)
			return true;
		s = dot + 1;
	}
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..n) */
static bool qname_chars(const char *s, size_t n)
{
	if (n == 0 || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

bool is_dns1123_subdomain(const char *s)
{
	return s && strlen(s) <= 253 && subdomain_chars(s);
}

bool is_dns1123_label(const char *s)
{
	return s && strlen(s) <= 63 && label_chars(s, strlen(s));
}

bool is_dns1035_label(const char *s)
{
	return is_dns1123_label(s) && s[0] >= 'a' && s[0] <= 'z';
}

bool is_label_value(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return s && n <= 63 && (n == 0 || qname_chars(s, n));
}

bool is_qualified_name(const char *s)
{
	if (!s)
		return false;
	const char *slash = strchr(s, '/');
	const char *name = s;
	if (slash) {
		if (strchr(slash + 1, '/') || slash == s)
			return false;
		size_t pl = (size_t)(slash - s);
		char prefix[254];
		if (pl > 253)
			return false;
		memcpy(prefix, s, pl);
		prefix[pl] = '\0';
		if (!subdomain_chars(prefix))
			return false;
		name = slash + 1;
	}
	size_t n = strlen(name);
	return n <= 63 && qname_chars(name, n);
}

static bool config_key_chars(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!alnum(*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

bool is_config_key(const char *s)
{
	return s && strlen(s) <= 253 && config_key_chars(s) && strncmp(s, "..", 2) != 0 &&
	       strcmp(s, ".") != 0;
}

/* ------------------------------------------------------------------ */
/* Rendering values the way field.Error does (%q strings, %v numbers).  */

/* Go's %q, cut at max input bytes (on a UTF-8 boundary) with "...". */
static void quote(const char *s, size_t max, char *buf, size_t len)
{
	size_t o = 0, n = strlen(s);
	bool cut = n > max;
	if (cut) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	if (len < 8) {
		if (len)
			buf[0] = '\0';
		return;
	}
	buf[o++] = '"';
	for (size_t i = 0; i < n && o + 8 < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c == '\t') {
			buf[o++] = '\\';
			buf[o++] = 't';
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	if (cut && o + 4 < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

static void fmt_num(double d, char *buf, size_t len)
{
	if (d == 0)
		snprintf(buf, len, "0");
	else if (isinf(d))
		snprintf(buf, len, "%s", d > 0 ? "+Inf" : "-Inf");
	else if (isfinite(d) && d == floor(d) && fabs(d) < 1e21)
		snprintf(buf, len, "%.0f", d);
	else
		snprintf(buf, len, "%g", d);
}

static void render(const cJSON *j, char *buf, size_t len)
{
	if (!j || cJSON_IsNull(j))
		snprintf(buf, len, "null");
	else if (cJSON_IsString(j))
		quote(j->valuestring, RENDER_MAX, buf, len);
	else if (cJSON_IsNumber(j))
		fmt_num(j->valuedouble, buf, len);
	else if (cJSON_IsBool(j))
		snprintf(buf, len, "%s", cJSON_IsTrue(j) ? "true" : "false");
	else if (cJSON_IsArray(j))
		snprintf(buf, len, "%s", j->child ? "[...]" : "[]");
	else
		snprintf(buf, len, "%s", j->child ? "{...}" : "{}");
}

/* ------------------------------------------------------------------ */
/* Recording errors.                                                    */

#define R_INVALID "FieldValueInvalid"
#define R_REQUIRED "FieldValueRequired"
#define R_NOTSUP "FieldValueNotSupported"
#define R_DUP "FieldValueDuplicate"
#define R_TOOLONG "FieldValueTooLong"

__attribute__((format(printf, 4, 5)))
static void add(struct validation *v, const char *reason, const char *field, const char *fmt, ...)
{
	char msg[sizeof v->errs[0].message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	int kept = v->n < VALIDATION_MAX_ERRS ? v->n : VALIDATION_MAX_ERRS;
	/* Several rules may reach the same mistyped parent: report it once. */
	for (int i = 0; i < kept; i++)
		if (strcmp(v->errs[i].field, field) == 0 && strcmp(v->errs[i].reason, reason) == 0 &&
		    strcmp(v->errs[i].message, msg) == 0)
			return;
	if (v->n < VALIDATION_MAX_ERRS) {
		struct field_error *e = &v->errs[v->n];
		snprintf(e->reason, sizeof e->reason, "%s", reason);
		snprintf(e->field, sizeof e->field, "%s", field);
		memcpy(e->message, msg, sizeof e->message);
	}
	if (v->n < INT32_MAX)
		v->n++;
}

static void required(struct validation *v, const char *field, const char *detail)
{
	if (detail)
		add(v, R_REQUIRED, field, "Required value: %s", detail);
	else
		add(v, R_REQUIRED, field, "Required value");
}

static void invalid(struct validation *v, const char *field, const cJSON *val, const char *detail)
{
	char r[RENDER_MAX * 2 + 16];
	render(val, r, sizeof r);
	add(v, R_INVALID, field, "Invalid value: %s: %s", r, detail);
}

static void invalid_str(struct validation *v, const char *field, const char *val, const char *detail)
{
	char r[RENDER_MAX * 2 + 16];
	quote(val, RENDER_MAX, r, sizeof r);
	add(v, R_INVALID, field, "Invalid value: %s: %s", r, detail);
}

static void wrong_type(struct validation *v, const char *field, const cJSON *val, const char *type)
{
	char d[64];
	snprintf(d, sizeof d, "must be of type %s", type);
	invalid(v, field, val, d);
}

static void not_supported(struct validation *v, const char *field, const char *val,
			  const char *const *allowed)
{
	char r[RENDER_MAX * 2 + 16], list[256];
	size_t o = 0;
	list[0] = '\0';
	for (int i = 0; allowed[i] && o < sizeof list; i++) {
		int w = snprintf(list + o, sizeof list - o, "%s\"%s\"", i ? ", " : "", allowed[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	quote(val, RENDER_MAX, r, sizeof r);
	add(v, R_NOTSUP, field, "Unsupported value: %s: supported values: %s", r, list);
}

static void duplicate(struct validation *v, const char *field, const char *val)
{
	char r[RENDER_MAX * 2 + 16];
	quote(val, RENDER_MAX, r, sizeof r);
	add(v, R_DUP, field, "Duplicate value: %s", r);
}

static void too_long(struct validation *v, const char *field, long max)
{
	add(v, R_TOOLONG, field, "Too long: must have at most %ld bytes", max);
}

/* ------------------------------------------------------------------ */
/* Paths and lookups.                                                   */

#define PATH_MAX_LEN 512

/* Paths longer than the buffer are cut; they only label errors. */
/* Appends n bytes of s at out[at], cut at the buffer's end; returns the new
 * length. memcpy, not snprintf: every rule of every write builds paths. */
static size_t path_put(char *out, size_t cap, size_t at, const char *s, size_t n)
{
	if (at + 1 >= cap)
		return at;
	if (n > cap - 1 - at)
		n = cap - 1 - at;
	memcpy(out + at, s, n);
	out[at + n] = '\0';
	return at + n;
}

static void child_path(char *out, size_t len, const char *parent, const char *key)
{
	size_t at = 0;
	out[0] = '\0';
	at = path_put(out, len, at, parent, strlen(parent));
	if (parent[0] && key[0])
		at = path_put(out, len, at, ".", 1);
	path_put(out, len, at, key, strlen(key));
}

static void index_path(char *out, size_t len, const char *parent, int i)
{
	if (snprintf(out, len, "%s[%d]", parent, i) < 0)
		out[0] = '\0';
}

/* Map keys are user data: bound what goes into the path. */
static void key_path(char *out, size_t len, const char *parent, const char *key)
{
	if (snprintf(out, len, "%s[%.200s]", parent, key) < 0)
		out[0] = '\0';
}

/* For cJSON_ArrayForEach over something that may have the wrong type. */
static const cJSON *if_arr(const cJSON *j) { return cJSON_IsArray(j) ? j : NULL; }
static const cJSON *if_obj(const cJSON *j) { return cJSON_IsObject(j) ? j : NULL; }

static bool absent(const cJSON *j) { return !j || cJSON_IsNull(j); }

static const cJSON *get(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

/* Object at a dotted path (no arrays); NULL if absent or any step is not
 * an object. Type errors on the way are reported by the rule tables. */
static const cJSON *at(const cJSON *root, const char *dotted)
{
	char key[64];
	const cJSON *n = root;
	while (n && *dotted) {
		const char *dot = strchr(dotted, '.');
		size_t kl = dot ? (size_t)(dot - dotted) : strlen(dotted);
		if (kl >= sizeof key)
			return NULL;
		memcpy(key, dotted, kl);
		key[kl] = '\0';
		n = get(n, key);
		dotted = dot ? dot + 1 : dotted + kl;
	}
	return if_obj(n);
}

static const char *get_str(const cJSON *obj, const char *key)
{
	const cJSON *s = get(obj, key);
	return cJSON_IsString(s) ? s->valuestring : NULL;
}

/* ------------------------------------------------------------------ */
/* Rule tables: one row per field, walked over the object.             */

enum jtype { J_ANY, J_OBJ, J_ARR, J_STR, J_INT, J_BOOL, J_NUM, J_INTSTR };

enum {
	F_REQ = 1u << 0,      /* required when its parent object exists */
	F_REQ_DEEP = 1u << 1, /* required even when ancestors are missing */
	F_NONEMPTY = 1u << 2, /* "" or [] counts as missing */
	F_EMPTY_OK = 1u << 3, /* enum: "" is accepted (and not listed) */
	F_MIN = 1u << 4,      /* integer: >= min */
	F_MAX = 1u << 5,      /* integer: <= max */
	F_BETWEEN = 1u << 6,  /* integer range message "between a and b, inclusive" */
};

/* path: dotted, "x[]" visits every item of array x ("spec.ports[].port").
 * values: allowed strings, NULL-terminated, sorted (as k8s lists them). */
struct rule {
	const char *path;
	enum jtype type;
	unsigned flags;
	double min, max;
	const char *const *values;
};

#define ROBJ(p, f) {.path = (p), .type = J_OBJ, .flags = (f)}
#define RARR(p, f) {.path = (p), .type = J_ARR, .flags = (f)}
#define RSTR(p, f) {.path = (p), .type = J_STR, .flags = (f)}
#define RBOOL(p) {.path = (p), .type = J_BOOL}
#define RNUM(p) {.path = (p), .type = J_NUM}
#define RENUM(p, f, vals) {.path = (p), .type = J_STR, .flags = (f), .values = (vals)}
#define RINT(p) {.path = (p), .type = J_INT}
#define RINT_MIN(p, f, lo) {.path = (p), .type = J_INT, .flags = (f) | F_MIN, .min = (lo)}
#define RINT32(p, f, lo) {.path = (p), .type = J_INT, .flags = (f) | F_MIN | F_MAX, \
	.min = (lo), .max = 2147483647.0}
#define RPORT(p, f) {.path = (p), .type = J_INT, .flags = (f) | F_MIN | F_MAX | F_BETWEEN, \
	.min = 1, .max = 65535}
#define RINTSTR_PORT(p, f) {.path = (p), .type = J_INTSTR, .flags = (f) | F_MIN | F_MAX | F_BETWEEN, \
	.min = 1, .max = 65535}
#define NRULES(t) ((int)(sizeof(t) / sizeof(t)[0]))

static void check_int(struct validation *v, const cJSON *c, const char *path, const struct rule *r)
{
	double d = c->valuedouble;
	/* Beyond ±2^63 no Go integer field could hold it. */
	if (!isfinite(d) || d != floor(d) || fabs(d) >= 9223372036854775808.0) {
		wrong_type(v, path, c, "integer");
		return;
	}
	char lo[48], hi[48], msg[128];
	fmt_num(r->min, lo, sizeof lo);
	fmt_num(r->max, hi, sizeof hi);
	bool low = (r->flags & F_MIN) && d < r->min;
	bool high = (r->flags & F_MAX) && d > r->max;
	if (!low && !high)
		return;
	if (r->flags & F_BETWEEN)
		snprintf(msg, sizeof msg, "must be between %s and %s, inclusive", lo, hi);
	else if (low)
		snprintf(msg, sizeof msg, "must be greater than or equal to %s", lo);
	else
		snprintf(msg, sizeof msg, "must be less than or equal to %s", hi);
	invalid(v, path, c, msg);
}

static void check_str(struct validation *v, const cJSON *c, const char *path, const struct rule *r)
{
	const char *s = c->valuestring;
	if (!s[0] && (r->flags & F_NONEMPTY)) {
		required(v, path, NULL);
		return;
	}
	if (!r->values || (!s[0] && (r->flags & F_EMPTY_OK)))
		return;
	for (int i = 0; r->values[i]; i++)
		if (strcmp(s, r->values[i]) == 0)
			return;
	not_supported(v, path, s, r->values);
}

static void check_leaf(struct validation *v, const cJSON *c, const char *path, const struct rule *r)
{
	switch (r->type) {
	case J_ANY:
		break;
	case J_OBJ:
		if (!cJSON_IsObject(c))
			wrong_type(v, path, c, "object");
		break;
	case J_ARR:
		if (!cJSON_IsArray(c))
			wrong_type(v, path, c, "array");
		else if ((r->flags & F_NONEMPTY) && !c->child)
			required(v, path, NULL);
		break;
	case J_STR:
		if (!cJSON_IsString(c))
			wrong_type(v, path, c, "string");
		else
			check_str(v, c, path, r);
		break;
	case J_BOOL:
		if (!cJSON_IsBool(c))
			wrong_type(v, path, c, "boolean");
		break;
	case J_NUM:
		if (!cJSON_IsNumber(c))
			wrong_type(v, path, c, "number");
		break;
	case J_INT:
		if (!cJSON_IsNumber(c))
			wrong_type(v, path, c, "integer");
		else
			check_int(v, c, path, r);
		break;
	case J_INTSTR:
		if (cJSON_IsNumber(c))
			check_int(v, c, path, r);
		else if (!cJSON_IsString(c))
			wrong_type(v, path, c, "integer or string");
		else if (!c->valuestring[0])
			invalid(v, path, c, "must contain at least one letter or number (a-z, 0-9)");
		break;
	}
}

/* Walks rule path rest below node, path holding the JSON path so far. */
static void walk(struct validation *v, const cJSON *node, const char *rest, char *path,
		 size_t cap, const struct rule *r)
{
	const char *dot = strchr(rest, '.');
	size_t seg = dot ? (size_t)(dot - rest) : strlen(rest);
	bool arr = seg >= 2 && rest[seg - 2] == '[' && rest[seg - 1] == ']';
	size_t kl = arr ? seg - 2 : seg;
	size_t plen = strlen(path);
	char key[64];
	if (kl >= sizeof key)
		return;
	memcpy(key, rest, kl);
	key[kl] = '\0';
	path_put(path, cap, plen ? path_put(path, cap, plen, ".", 1) : 0, key, kl);

	const cJSON *c = cJSON_GetObjectItemCaseSensitive(node, key);
	if (absent(c)) {
		if (!dot && (r->flags & (F_REQ | F_REQ_DEEP))) {
			required(v, path, NULL);
		} else if (dot && (r->flags & F_REQ_DEEP) && !strstr(dot, "[]")) {
			size_t l = strlen(path);
			snprintf(path + l, cap - l, "%s", dot);
			required(v, path, NULL);
		}
	} else if (arr) {
		if (!cJSON_IsArray(c)) {
			wrong_type(v, path, c, "array");
		} else {
			size_t al = strlen(path);
			int i = 0;
			const cJSON *it;
			cJSON_ArrayForEach(it, c) {
				snprintf(path + al, cap - al, "[%d]", i++);
				if (!dot)
					check_leaf(v, it, path, r);
				else if (cJSON_IsNull(it))
					; /* a null item decodes to the zero value */
				else if (!cJSON_IsObject(it))
					wrong_type(v, path, it, "object");
				else
					walk(v, it, dot + 1, path, cap, r);
				path[al] = '\0';
			}
		}
	} else if (!dot) {
		check_leaf(v, c, path, r);
	} else if (!cJSON_IsObject(c)) {
		wrong_type(v, path, c, "object");
	} else {
		walk(v, c, dot + 1, path, cap, r);
	}
	path[plen] = '\0';
}

/* Applies rules (relative to prefix, "" = the root) to root. */
static void apply_at(struct validation *v, const cJSON *root, const char *prefix,
		     const struct rule *rules, int n)
{
	char full[PATH_MAX_LEN], path[PATH_MAX_LEN];
	for (int i = 0; i < n; i++) {
		struct rule r = rules[i];
		child_path(full, sizeof full, prefix, r.path);
		r.path = full;
		path[0] = '\0';
		walk(v, root, full, path, sizeof path, &r);
	}
}

#define APPLY(v, root, prefix, t) apply_at((v), (root), (prefix), (t), NRULES(t))

/* ------------------------------------------------------------------ */
/* The schema table's facts: one walker over a kind's messages.         */

/* A field's JSON type by the table. */
static enum jtype field_jtype(const struct pbs_field *f)
{
	if (f->card == PBS_REPEATED)
		return J_ARR;
	if (f->card == PBS_MAP)
		return J_OBJ;
	switch (f->type) {
	case PBS_STRING:
	case PBS_BYTES:
		return J_STR;
	case PBS_INT32:
	case PBS_INT64:
		return J_INT;
	case PBS_BOOL:
		return J_BOOL;
	case PBS_MESSAGE:
		break;
	}
	switch (pbs_messages[f->msg].special) {
	case PBS_SPECIAL_INTSTR:
		return J_INTSTR;
	case PBS_SPECIAL_NONE:
		return J_OBJ;
	default:
		return J_ANY;
	}
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* format= of the table, worded as the name checks are. */
static void check_format(struct validation *v, const char *path, const char *s, const char *format)
{
	size_t n = strlen(s);
	if (strcmp(format, "dns1123subdomain") == 0) {
		if (n > 253)
			invalid_str(v, path, s, "must be no more than 253 characters");
		if (!subdomain_chars(s))
			invalid_str(v, path, s, MSG_SUBDOMAIN);
		return;
	}
	if (strcmp(format, "labelvalue") == 0) {
		if (!is_label_value(s))
			invalid_str(v, path, s, MSG_LABEL_VALUE);
		return;
	}
	if (n > 63)
		invalid_str(v, path, s, "must be no more than 63 characters");
	if (strcmp(format, "dns1035label") == 0) {
		if (!label_chars(s, n) || !(s[0] >= 'a' && s[0] <= 'z'))
			invalid_str(v, path, s, MSG_DNS1035);
	} else if (!label_chars(s, n)) {
		invalid_str(v, path, s, MSG_LABEL);
	}
}

/* One field's facts (req, nonempty, enum, min/max/range, format), checked
 * as a row of the rule tables is: same errors, same words. */
static void check_fact(struct validation *v, const cJSON *parent, const struct pbs_field *f,
		       const struct sch_field_meta *fm, char *path, size_t cap)
{
	unsigned vf = fm->vflags;
	if (!vf && !fm->enums && !fm->format)
		return;
	size_t plen = strlen(path);
	path_put(path, cap, plen ? path_put(path, cap, plen, ".", 1) : 0, f->json, strlen(f->json));
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(parent, f->json);
	struct rule r = {.path = f->json, .type = field_jtype(f), .min = fm->vmin, .max = fm->vmax};
	r.flags = ((vf & SCH_V_REQ) ? F_REQ : 0) | ((vf & SCH_V_NONEMPTY) ? F_NONEMPTY : 0) |
		  ((vf & SCH_V_EMPTY_OK) ? F_EMPTY_OK : 0) | ((vf & SCH_V_MIN) ? F_MIN : 0) |
		  ((vf & SCH_V_MAX) ? F_MAX : 0) | ((vf & SCH_V_BETWEEN) ? F_BETWEEN : 0);
	const char *vals[33];
	char buf[512];
	if (fm->enums) {
		/* "A|B|C", listed sorted as Kubernetes lists supported values */
		int n = 0;
		snprintf(buf, sizeof buf, "%s", fm->enums);
		for (char *tok = buf, *bar; tok && n < 32; tok = bar) {
			bar = strchr(tok, '|');
			if (bar)
				*bar++ = '\0';
			vals[n++] = tok;
		}
		qsort(vals, (size_t)n, sizeof vals[0], cmp_cstr);
		vals[n] = NULL;
		r.values = vals;
	}
	if (absent(c)) {
		if (vf & SCH_V_REQ)
			required(v, path, NULL);
	} else {
		check_leaf(v, c, path, &r);
		if (fm->format && cJSON_IsString(c) && c->valuestring[0])
			check_format(v, path, c->valuestring, fm->format);
	}
	path[plen] = '\0';
}

static void walk_schema(struct validation *v, const cJSON *o, int msg, char *path, size_t cap, int depth);

/* The facts of message msg's own fields (inline members' included). */
static void facts_of(struct validation *v, const cJSON *o, int msg, char *path, size_t cap)
{
	const struct pbs_message *m = &pbs_messages[msg];
	for (int i = 0; i < m->nfields; i++) {
		const struct pbs_field *f = &m->fields[i];
		if (f->flags & PBS_INLINE)
			facts_of(v, o, f->msg, path, cap);
		else
			check_fact(v, o, f, &sch_messages[msg].fields[i], path, cap);
	}
}

/* Into the fields whose values are messages: objects, list items, map values. */
static void below(struct validation *v, const cJSON *o, int msg, char *path, size_t cap, int depth)
{
	const struct pbs_message *m = &pbs_messages[msg];
	for (int i = 0; i < m->nfields; i++) {
		const struct pbs_field *f = &m->fields[i];
		if (f->flags & PBS_INLINE) {
			below(v, o, f->msg, path, cap, depth);
			continue;
		}
		if (f->type != PBS_MESSAGE || pbs_messages[f->msg].special != PBS_SPECIAL_NONE)
			continue;
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, f->json), *it;
		size_t plen = strlen(path);
		path_put(path, cap, plen ? path_put(path, cap, plen, ".", 1) : 0, f->json, strlen(f->json));
		size_t at_ = strlen(path);
		if (f->card == PBS_ONE) {
			walk_schema(v, c, f->msg, path, cap, depth + 1);
		} else if (f->card == PBS_REPEATED && cJSON_IsArray(c)) {
			int n = 0;
			cJSON_ArrayForEach(it, c) {
				snprintf(path + at_, cap - at_, "[%d]", n++);
				walk_schema(v, it, f->msg, path, cap, depth + 1);
			}
		} else if (f->card == PBS_MAP && cJSON_IsObject(c)) {
			cJSON_ArrayForEach(it, c) {
				snprintf(path + at_, cap - at_, "[%.200s]", it->string);
				walk_schema(v, it, f->msg, path, cap, depth + 1);
			}
		}
		path[plen] = '\0';
	}
}

/* A message's own facts first, then the messages below it (so a Service's
 * spec.type is reported before spec.ports[0].port). Values of the wrong
 * JSON type are not walked: the rule tables say so. */
static void walk_schema(struct validation *v, const cJSON *o, int msg, char *path, size_t cap, int depth)
{
	if (msg < 0 || msg >= pbs_all_messages_count || !cJSON_IsObject(o) || depth > 48 ||
	    pbs_messages[msg].special != PBS_SPECIAL_NONE)
		return;
	facts_of(v, o, msg, path, cap);
	below(v, o, msg, path, cap, depth);
}

static void check_schema(struct validation *v, const cJSON *obj, int msg)
{
	char path[PATH_MAX_LEN] = "";
	walk_schema(v, obj, msg, path, sizeof path, 0);
}

/* ------------------------------------------------------------------ */
/* Enumerations.                                                        */

static const char *const E_PROTOCOL[] = {"SCTP", "TCP", "UDP", NULL};
static const char *const E_AFFINITY[] = {"ClientIP", "None", NULL};
static const char *const E_RESTART[] = {"Always", "Never", "OnFailure", NULL};
static const char *const E_RESTART_ALWAYS[] = {"Always", NULL};
static const char *const E_RESTART_JOB[] = {"Never", "OnFailure", NULL};
static const char *const E_SEL_OP[] = {"DoesNotExist", "Exists", "In", "NotIn", NULL};
static const char *const E_FIELD_KEY[] = {"provider", "region", "zone", NULL};
static const char *const E_PURGE[] = {"Directly", "Gracefully", "Never", NULL};
static const char *const E_CRD_SCOPE[] = {"Cluster", "Namespaced", NULL};
static const char *const E_CRD_COLUMN_TYPE[] = {"boolean", "date", "integer", "number", "string", NULL};

/* ------------------------------------------------------------------ */
/* Shared rule sets.                                                    */

static const struct rule META_RULES[] = {
	ROBJ("metadata", 0),
	RSTR("metadata.name", 0),
	RSTR("metadata.generateName", 0),
	RSTR("metadata.namespace", 0),
	RSTR("metadata.uid", 0),
	RSTR("metadata.resourceVersion", 0),
	RINT_MIN("metadata.generation", 0, 0),
	RSTR("metadata.creationTimestamp", 0),
	RSTR("metadata.deletionTimestamp", 0),
	ROBJ("metadata.labels", 0),
	ROBJ("metadata.annotations", 0),
	RARR("metadata.finalizers", 0),
	RSTR("metadata.finalizers[]", 0),
	RARR("metadata.ownerReferences", 0),
	RSTR("metadata.ownerReferences[].apiVersion", F_REQ),
	RSTR("metadata.ownerReferences[].kind", F_REQ),
	RSTR("metadata.ownerReferences[].name", F_REQ),
	RSTR("metadata.ownerReferences[].uid", F_REQ),
	RARR("metadata.managedFields", 0),
};

/* metav1.LabelSelector, relative to the selector. */
static const struct rule SELECTOR_RULES[] = {
	ROBJ("matchLabels", 0),
	RARR("matchExpressions", 0),
	RSTR("matchExpressions[].key", F_REQ | F_NONEMPTY),
	RENUM("matchExpressions[].operator", F_REQ | F_NONEMPTY, E_SEL_OP),
	RARR("matchExpressions[].values", 0),
	RSTR("matchExpressions[].values[]", 0),
};

/* corev1.Container, relative to one container ("containers[]"). */
static const struct rule CONTAINER_RULES[] = {
	RARR("command", 0),
	RSTR("command[]", 0),
	RARR("args", 0),
	RSTR("args[]", 0),
	RSTR("workingDir", 0),
	RARR("ports", 0),
	RSTR("ports[].name", 0),
	RARR("env", 0),
	RSTR("env[].value", 0),
	ROBJ("env[].valueFrom", 0),
	RARR("envFrom", 0),
	ROBJ("resources", 0),
	ROBJ("resources.limits", 0),
	ROBJ("resources.requests", 0),
	RARR("volumeMounts", 0),
	RBOOL("volumeMounts[].readOnly"),
	ROBJ("livenessProbe", 0),
	ROBJ("readinessProbe", 0),
	ROBJ("startupProbe", 0),
	ROBJ("securityContext", 0),
	RBOOL("stdin"),
	RBOOL("tty"),
};

/* corev1.PodSpec, relative to the pod spec; containers are required even
 * when the whole template is missing ("spec.template.spec.containers"). */
static const struct rule PODSPEC_RULES[] = {
	ROBJ("", 0),
	RARR("containers", F_REQ_DEEP | F_NONEMPTY),
	RARR("initContainers", 0),
	RARR("volumes", 0),
	ROBJ("nodeSelector", 0),
	RSTR("nodeName", 0),
	RSTR("serviceAccountName", 0),
	RSTR("schedulerName", 0),
	RBOOL("hostNetwork"),
	ROBJ("affinity", 0),
	RARR("tolerations", 0),
	RARR("imagePullSecrets", 0),
	ROBJ("securityContext", 0),
};

/* Karmada ClusterAffinity, relative to it. */
static const struct rule AFFINITY_RULES[] = {
	RARR("clusterNames", 0),
	RSTR("clusterNames[]", 0),
	RARR("exclude", 0),
	RSTR("exclude[]", 0),
	ROBJ("labelSelector", 0),
	ROBJ("fieldSelector", 0),
	RARR("fieldSelector.matchExpressions", 0),
	RENUM("fieldSelector.matchExpressions[].key", F_REQ | F_NONEMPTY, E_FIELD_KEY),
	RENUM("fieldSelector.matchExpressions[].operator", F_REQ | F_NONEMPTY, E_SEL_OP),
	RARR("fieldSelector.matchExpressions[].values", 0),
	RSTR("fieldSelector.matchExpressions[].values[]", 0),
};

/* Karmada ResourceSelector list, relative to the list ("[]"). */
static const struct rule RESOURCE_SELECTOR_RULES[] = {
	RSTR("namespace", 0),
	RSTR("name", 0),
	ROBJ("labelSelector", 0),
};

/* ------------------------------------------------------------------ */
/* Metadata.                                                            */

static void check_qualified_name(struct validation *v, const char *field, const char *key)
{
	const char *slash = strchr(key, '/');
	const char *name = key;
	if (slash && strchr(slash + 1, '/')) {
		invalid_str(v, field, key, "a qualified name " QN_ERR " " QN_EXAMPLES
			    " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
		return;
	}
	if (slash) {
		size_t pl = (size_t)(slash - key);
		if (pl == 0) {
			invalid_str(v, field, key, "prefix part must be non-empty");
		} else {
			char prefix[300];
			bool toolong = pl > 253;
			if (pl >= sizeof prefix)
				pl = sizeof prefix - 1;
			memcpy(prefix, key, pl);
			prefix[pl] = '\0';
			if (toolong)
				invalid_str(v, field, key, "prefix part must be no more than 253 characters");
			if (!subdomain_chars(prefix))
				invalid_str(v, field, key, "prefix part " MSG_SUBDOMAIN);
		}
		name = slash + 1;
	}
	size_t n = strlen(name);
	if (n == 0)
		invalid_str(v, field, key, "name part must be non-empty");
	else if (n > 63)
		invalid_str(v, field, key, "name part must be no more than 63 characters");
	if (!qname_chars(name, n))
		invalid_str(v, field, key, "name part " QN_ERR " " QN_EXAMPLES);
}

/* A map[string]string of labels at field (metav1 ValidateLabels). */
static void check_labels(struct validation *v, const cJSON *labels, const char *field)
{
	char p[PATH_MAX_LEN];
	const cJSON *it;
	if (!cJSON_IsObject(labels))
		return; /* type errors come from the rule tables */
	cJSON_ArrayForEach(it, labels) {
		check_qualified_name(v, field, it->string);
		if (!cJSON_IsString(it)) {
			key_path(p, sizeof p, field, it->string);
			wrong_type(v, p, it, "string");
			continue;
		}
		size_t n = strlen(it->valuestring);
		if (n > 63)
			invalid_str(v, field, it->valuestring, "must be no more than 63 characters");
		if (n && !qname_chars(it->valuestring, n))
			invalid_str(v, field, it->valuestring, MSG_LABEL_VALUE);
	}
}

static void check_annotations(struct validation *v, const cJSON *ann, const char *field)
{
	char p[PATH_MAX_LEN], lower[320];
	size_t total = 0;
	const cJSON *it;
	if (!cJSON_IsObject(ann))
		return;
	cJSON_ArrayForEach(it, ann) {
		/* Kubernetes checks the lower-cased key. */
		size_t kl = strlen(it->string);
		if (kl < sizeof lower) {
			for (size_t i = 0; i <= kl; i++) {
				char c = it->string[i];
				lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
			}
			if (!is_qualified_name(lower))
				check_qualified_name(v, field, it->string);
		} else {
			check_qualified_name(v, field, it->string);
		}
		total += kl;
		if (!cJSON_IsString(it)) {
			key_path(p, sizeof p, field, it->string);
			wrong_type(v, p, it, "string");
			continue;
		}
		total += strlen(it->valuestring);
	}
	if (total > ANNOTATIONS_MAX)
		too_long(v, field, ANNOTATIONS_MAX);
}

enum name_rule { N_SUBDOMAIN, N_LABEL, N_DNS1035, N_CLUSTER };

static void check_name(struct validation *v, const char *name, enum name_rule nr)
{
	const char *f = "metadata.name";
	size_t n = strlen(name);
	switch (nr) {
	case N_SUBDOMAIN:
		if (n > 253)
			invalid_str(v, f, name, "must be no more than 253 characters");
		if (!subdomain_chars(name))
			invalid_str(v, f, name, MSG_SUBDOMAIN);
		break;
	case N_CLUSTER:
		/* Karmada ValidateClusterName: length first, then a label. */
		if (n > CLUSTER_NAME_MAX) {
			invalid_str(v, f, name, "must be no more than 48 characters");
			break;
		}
		/* fallthrough */
	case N_LABEL:
		if (n > 63)
			invalid_str(v, f, name, "must be no more than 63 characters");
		if (!label_chars(name, n))
			invalid_str(v, f, name, MSG_LABEL);
		break;
	case N_DNS1035:
		if (n > 63)
			invalid_str(v, f, name, "must be no more than 63 characters");
		if (!label_chars(name, n) || !(name[0] >= 'a' && name[0] <= 'z'))
			invalid_str(v, f, name, MSG_DNS1035);
		break;
	}
}

static void check_meta(struct validation *v, const struct kind_info *k, const cJSON *obj,
		       const char *ns, enum name_rule nr)
{
	char want[300];
	const cJSON *av = get(obj, "apiVersion"), *kd = get(obj, "kind");
	if (!absent(av)) {
		kind_api_version(k, want, sizeof want);
		if (!cJSON_IsString(av))
			wrong_type(v, "apiVersion", av, "string");
		else if (strcmp(av->valuestring, want) != 0) {
			char d[340];
			snprintf(d, sizeof d, "must be \"%s\"", want);
			invalid(v, "apiVersion", av, d);
		}
	}
	if (!absent(kd)) {
		if (!cJSON_IsString(kd))
			wrong_type(v, "kind", kd, "string");
		else if (strcmp(kd->valuestring, k->kind) != 0) {
			char d[340];
			snprintf(d, sizeof d, "must be \"%.300s\"", k->kind);
			invalid(v, "kind", kd, d);
		}
	}

	APPLY(v, obj, "", META_RULES);
	const cJSON *meta = get(obj, "metadata");
	const cJSON *name = get(meta, "name");
	if (absent(name) || (cJSON_IsString(name) && !name->valuestring[0]))
		required(v, "metadata.name", "name or generateName is required");
	else if (cJSON_IsString(name))
		check_name(v, name->valuestring, nr);

	const cJSON *bns = get(meta, "namespace");
	if (k->namespaced && cJSON_IsString(bns) && bns->valuestring[0]) {
		if (ns && ns[0] && strcmp(ns, bns->valuestring) != 0)
			invalid(v, "metadata.namespace", bns,
				"the namespace of the provided object does not match the namespace sent on the request");
		else if (!is_dns1123_label(bns->valuestring))
			invalid(v, "metadata.namespace", bns, MSG_LABEL);
	}
	check_labels(v, get(meta, "labels"), "metadata.labels");
	check_annotations(v, get(meta, "annotations"), "metadata.annotations");
}

/* ------------------------------------------------------------------ */
/* Label selectors.                                                     */

/* Structural checks beyond the table: matchLabels are labels; In/NotIn
 * need values, Exists/DoesNotExist take none. */
static void check_selector(struct validation *v, const cJSON *root, const char *prefix)
{
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	APPLY(v, root, prefix, SELECTOR_RULES);
	const cJSON *sel = at(root, prefix);
	if (!sel)
		return;
	child_path(p, sizeof p, prefix, "matchLabels");
	check_labels(v, get(sel, "matchLabels"), p);
	const cJSON *exprs = get(sel, "matchExpressions"), *e;
	int i = 0;
	cJSON_ArrayForEach(e, if_arr(exprs)) {
		const char *op = get_str(e, "operator");
		const cJSON *vals = get(e, "values");
		int nv = cJSON_IsArray(vals) ? cJSON_GetArraySize(vals) : 0;
		child_path(q, sizeof q, prefix, "matchExpressions");
		index_path(p, sizeof p, q, i++);
		child_path(q, sizeof q, p, "values");
		if (!op)
			continue;
		if ((!strcmp(op, "In") || !strcmp(op, "NotIn")) && nv == 0)
			required(v, q, "must be specified when `operator` is 'In' or 'NotIn'");
		if ((!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) && nv > 0)
			add(v, "FieldValueForbidden", q,
			    "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
	}
}

static bool str_in_array(const cJSON *arr, const char *s)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, if_arr(arr))
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return true;
	return false;
}

/* labels.Selector.Matches for a LabelSelector against a label map. */
static bool selector_matches(const cJSON *sel, const cJSON *labels)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, if_obj(get(sel, "matchLabels"))) {
		const char *have = get_str(labels, it->string);
		if (!cJSON_IsString(it) || !have || strcmp(have, it->valuestring) != 0)
			return false;
	}
	const cJSON *exprs = get(sel, "matchExpressions");
	cJSON_ArrayForEach(it, if_arr(exprs)) {
		const char *key = get_str(it, "key"), *op = get_str(it, "operator");
		if (!key || !op)
			return false;
		const char *have = get_str(labels, key);
		const cJSON *vals = get(it, "values");
		if (!strcmp(op, "In") && !(have && str_in_array(vals, have)))
			return false;
		if (!strcmp(op, "NotIn") && have && str_in_array(vals, have))
			return false;
		if (!strcmp(op, "Exists") && !have)
			return false;
		if (!strcmp(op, "DoesNotExist") && have)
			return false;
	}
	return true;
}

static bool selector_empty(const cJSON *sel)
{
	const cJSON *ml = get(sel, "matchLabels"), *me = get(sel, "matchExpressions");
	return !(cJSON_IsObject(ml) && ml->child) && !(cJSON_IsArray(me) && me->child);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go's %#v of a map[string]string, keys sorted, bounded by len. */
static void render_labels(const cJSON *labels, char *buf, size_t len)
{
	const char *keys[32];
	int n = 0;
	const cJSON *it;
	if (!cJSON_IsObject(labels) || !labels->child) {
		snprintf(buf, len, "map[string]string(nil)");
		return;
	}
	cJSON_ArrayForEach(it, labels) if (n < 32 && cJSON_IsString(it)) keys[n++] = it->string;
	qsort(keys, (size_t)n, sizeof keys[0], cmp_str);
	size_t o = 0;
	int w = snprintf(buf, len, "map[string]string{");
	o = w > 0 ? (size_t)w : 0;
	for (int i = 0; i < n && o + 1 < len; i++) {
		char qk[80], qv[80];
		quote(keys[i], 32, qk, sizeof qk);
		quote(get_str(labels, keys[i]), 32, qv, sizeof qv);
		w = snprintf(buf + o, len - o, "%s%s:%s", i ? ", " : "", qk, qv);
		o += w > 0 ? (size_t)w : 0;
	}
	if (o + 1 < len)
		snprintf(buf + o, len - o, "}");
}

/* Workload selector and template labels (apps/v1 ValidateDeploymentSpec). */
static void check_workload_selector(struct validation *v, const cJSON *obj, const char *what)
{
	const cJSON *spec = at(obj, "spec");
	const cJSON *sel = get(spec, "selector");
	if (!cJSON_IsObject(sel))
		return; /* required / type errors come from the table */
	check_selector(v, obj, "spec.selector");
	if (selector_empty(sel)) {
		char d[80];
		snprintf(d, sizeof d, "empty selector is invalid for %s", what);
		invalid(v, "spec.selector", sel, d);
		return;
	}
	const cJSON *labels = get(at(obj, "spec.template.metadata"), "labels");
	if (!selector_matches(sel, if_obj(labels))) {
		char r[400];
		render_labels(labels, r, sizeof r);
		add(v, R_INVALID, "spec.template.metadata.labels",
		    "Invalid value: %s: `selector` does not match template `labels`", r);
	}
}

/* ------------------------------------------------------------------ */
/* Pods and workloads.                                                  */

/* Container names are unique over containers and initContainers (that
 * each is a DNS label is the table's format=). */
static void check_container_names(struct validation *v, const cJSON *root, const char *prefix)
{
	static const char *const lists[] = {"initContainers", "containers"};
	const cJSON *ps = at(root, prefix);
	const char *seen[64];
	int nseen = 0;
	char lp[PATH_MAX_LEN], ip[PATH_MAX_LEN], np[PATH_MAX_LEN];
	if (!ps)
		return;
	for (int l = 0; l < 2; l++) {
		const cJSON *arr = get(ps, lists[l]), *c;
		int i = 0;
		child_path(lp, sizeof lp, prefix, lists[l]);
		cJSON_ArrayForEach(c, if_arr(arr)) {
			const char *name = get_str(c, "name");
			index_path(ip, sizeof ip, lp, i++);
			child_path(np, sizeof np, ip, "name");
			if (!name || !name[0])
				continue; /* (its format is the table's: format=dns1123label) */
			bool dup = false;
			for (int s = 0; s < nseen && !dup; s++)
				dup = strcmp(seen[s], name) == 0;
			if (dup)
				duplicate(v, np, name);
			else if (nseen < 64)
				seen[nseen++] = name;
		}
	}
}

static void check_podspec(struct validation *v, const cJSON *root, const char *prefix,
			  const char *const *restart)
{
	char p[PATH_MAX_LEN];
	APPLY(v, root, prefix, PODSPEC_RULES);
	child_path(p, sizeof p, prefix, "containers[]");
	APPLY(v, root, p, CONTAINER_RULES);
	child_path(p, sizeof p, prefix, "initContainers[]");
	APPLY(v, root, p, CONTAINER_RULES);
	if (restart) {
		/* Workloads narrow restartPolicy: Always for controllers,
		 * OnFailure|Never for Jobs. */
		struct rule r = RENUM("restartPolicy", 0, restart);
		const cJSON *ps = at(root, prefix);
		const cJSON *rp = get(ps, "restartPolicy");
		bool general = false; /* else PODSPEC_RULES already said so */
		for (int i = 0; cJSON_IsString(rp) && E_RESTART[i]; i++)
			general = general || strcmp(rp->valuestring, E_RESTART[i]) == 0;
		if (general)
			apply_at(v, root, prefix, &r, 1);
	}
	check_container_names(v, root, prefix);
	child_path(p, sizeof p, prefix, "nodeSelector");
	const cJSON *ns = get(at(root, prefix), "nodeSelector"), *it;
	cJSON_ArrayForEach(it, if_obj(ns)) {
		if (!cJSON_IsString(it)) {
			char kp[PATH_MAX_LEN];
			key_path(kp, sizeof kp, p, it->string);
			wrong_type(v, kp, it, "string");
		}
	}
}

static void check_template_labels(struct validation *v, const cJSON *obj, const char *prefix)
{
	char p[PATH_MAX_LEN];
	child_path(p, sizeof p, prefix, "metadata.labels");
	check_labels(v, get(get(at(obj, prefix), "metadata"), "labels"), p);
}

static const struct rule DEPLOYMENT_RULES[] = {
	ROBJ("spec", 0),
	ROBJ("spec.selector", F_REQ_DEEP),
	ROBJ("spec.template", 0),
	ROBJ("spec.template.metadata", 0),
	ROBJ("spec.template.metadata.labels", 0),
	ROBJ("spec.template.metadata.annotations", 0),
	RBOOL("spec.paused"),
	ROBJ("spec.strategy", 0),
	ROBJ("spec.strategy.rollingUpdate", 0),
};

static const struct rule STATEFULSET_RULES[] = {
	RSTR("spec.serviceName", 0),
	ROBJ("spec.updateStrategy", 0),
	RARR("spec.volumeClaimTemplates", 0),
};

static const struct rule DAEMONSET_RULES[] = {
	ROBJ("spec", 0),
	ROBJ("spec.selector", F_REQ_DEEP),
	ROBJ("spec.template", 0),
	ROBJ("spec.template.metadata", 0),
	ROBJ("spec.template.metadata.labels", 0),
	ROBJ("spec.updateStrategy", 0),
};

static void v_deployment(struct validation *v, const cJSON *obj)
{
	APPLY(v, obj, "", DEPLOYMENT_RULES);
	check_workload_selector(v, obj, "deployment");
	check_template_labels(v, obj, "spec.template");
	check_podspec(v, obj, "spec.template.spec", E_RESTART_ALWAYS);
}

static void v_statefulset(struct validation *v, const cJSON *obj)
{
	APPLY(v, obj, "", DEPLOYMENT_RULES);
	APPLY(v, obj, "", STATEFULSET_RULES);
	check_workload_selector(v, obj, "statefulset");
	check_template_labels(v, obj, "spec.template");
	check_podspec(v, obj, "spec.template.spec", E_RESTART_ALWAYS);
}

static void v_replicaset(struct validation *v, const cJSON *obj)
{
	APPLY(v, obj, "", DEPLOYMENT_RULES);
	check_workload_selector(v, obj, "replicaset");
	check_template_labels(v, obj, "spec.template");
	check_podspec(v, obj, "spec.template.spec", E_RESTART_ALWAYS);
}

static void v_daemonset(struct validation *v, const cJSON *obj)
{
	APPLY(v, obj, "", DAEMONSET_RULES);
	check_workload_selector(v, obj, "daemonset");
	check_template_labels(v, obj, "spec.template");
	check_podspec(v, obj, "spec.template.spec", E_RESTART_ALWAYS);
}

static const struct rule JOB_RULES[] = {
	ROBJ("spec", 0),
	RBOOL("spec.suspend"),
	RBOOL("spec.manualSelector"),
	ROBJ("spec.selector", 0),
	ROBJ("spec.template", 0),
	ROBJ("spec.template.metadata", 0),
	ROBJ("spec.template.metadata.labels", 0),
};

static void v_job(struct validation *v, const cJSON *obj)
{
	APPLY(v, obj, "", JOB_RULES);
	if (at(obj, "spec.selector"))
		check_selector(v, obj, "spec.selector");
	check_template_labels(v, obj, "spec.template");
	check_podspec(v, obj, "spec.template.spec", E_RESTART_JOB);
}

static const struct rule CRONJOB_RULES[] = {
	ROBJ("spec", 0),
	RSTR("spec.schedule", F_REQ_DEEP | F_NONEMPTY),
	RSTR("spec.timeZone", 0),
	RBOOL("spec.suspend"),
	ROBJ("spec.jobTemplate", 0),
	ROBJ("spec.jobTemplate.spec", 0),
	ROBJ("spec.jobTemplate.spec.template", 0),
	ROBJ("spec.jobTemplate.spec.template.metadata", 0),
	ROBJ("spec.jobTemplate.spec.template.metadata.labels", 0),
};

static void v_cronjob(struct validation *v, const cJSON *obj)
{
	APPLY(v, obj, "", CRONJOB_RULES);
	const char *sched = get_str(at(obj, "spec"), "schedule");
	/* Five fields (or a @macro); the scheduler parses it for real. */
	if (sched && sched[0] && sched[0] != '@') {
		int fields = 0;
		bool in = false;
		for (const char *c = sched; *c; c++) {
			bool sp = *c == ' ' || *c == '\t';
			if (!sp && !in)
				fields++;
			in = !sp;
		}
		if (strncmp(sched, "TZ=", 3) == 0 || strncmp(sched, "CRON_TZ=", 8) == 0)
			fields--;
		if (fields != 5)
			invalid_str(v, "spec.schedule", sched, "unparseable schedule: expected exactly 5 fields");
	}
	check_template_labels(v, obj, "spec.jobTemplate.spec.template");
	check_podspec(v, obj, "spec.jobTemplate.spec.template.spec", E_RESTART_JOB);
}

static void v_pod(struct validation *v, const cJSON *obj)
{
	static const struct rule rules[] = {ROBJ("spec", 0)};
	APPLY(v, obj, "", rules);
	check_podspec(v, obj, "spec", NULL);
}

/* ------------------------------------------------------------------ */
/* Core kinds.                                                          */

static const struct rule SERVICE_RULES[] = {
	ROBJ("spec", 0),
	RARR("spec.ports", 0),
	RSTR("spec.ports[].name", 0),
	RSTR("spec.ports[].appProtocol", 0),
	ROBJ("spec.selector", 0),
	RSTR("spec.clusterIP", 0),
	RARR("spec.clusterIPs", 0),
	RSTR("spec.clusterIPs[]", 0),
	RARR("spec.externalIPs", 0),
	RSTR("spec.externalIPs[]", 0),
	RSTR("spec.externalName", 0),
	RBOOL("spec.publishNotReadyAddresses"),
};

static void v_service(struct validation *v, const cJSON *obj)
{
	char p[PATH_MAX_LEN];
	APPLY(v, obj, "", SERVICE_RULES);
	const cJSON *spec = at(obj, "spec");
	const char *type = get_str(spec, "type");
	const cJSON *ports = get(spec, "ports"), *pt;
	int n = cJSON_IsArray(ports) ? cJSON_GetArraySize(ports) : 0;
	const char *seen[64];
	int nseen = 0, i = 0;
	cJSON_ArrayForEach(pt, if_arr(ports)) {
		const char *name = get_str(pt, "name");
		char ip[64];
		index_path(ip, sizeof ip, "spec.ports", i++);
		child_path(p, sizeof p, ip, "name");
		if (!cJSON_IsObject(pt))
			continue;
		/* With several ports each needs a name, to tell them apart. */
		if (!name || !name[0]) {
			if (n > 1)
				required(v, p, NULL);
			continue;
		}
		bool dup = false; /* (the name's format is the table's) */
		for (int s = 0; s < nseen && !dup; s++)
			dup = strcmp(seen[s], name) == 0;
		if (dup)
			duplicate(v, p, name);
		else if (nseen < 64)
			seen[nseen++] = name;
	}
	if (type && strcmp(type, "ExternalName") == 0) {
		const char *en = get_str(spec, "externalName");
		if (!en || !en[0])
			required(v, "spec.externalName", NULL);
	} else if (n == 0 && spec && (absent(ports) || cJSON_IsArray(ports))) {
		/* Only headless services may have no ports. */
		const char *cip = get_str(spec, "clusterIP");
		if (!cip || strcmp(cip, "None") != 0)
			required(v, "spec.ports", NULL);
	}
	const cJSON *sel = get(spec, "selector"), *it;
	cJSON_ArrayForEach(it, if_obj(sel)) {
		if (!cJSON_IsString(it)) {
			key_path(p, sizeof p, "spec.selector", it->string);
			wrong_type(v, p, it, "string");
		}
	}
}

static void v_namespace(struct validation *v, const cJSON *obj)
{
	static const struct rule rules[] = {
		ROBJ("spec", 0), RARR("spec.finalizers", 0), RSTR("spec.finalizers[]", 0),
	};
	APPLY(v, obj, "", rules);
}

/* ConfigMap/Secret data maps: config keys, string values, 1 MiB total. */
static size_t check_data_map(struct validation *v, const cJSON *obj, const char *field,
			     bool base64, bool redact)
{
	char p[PATH_MAX_LEN];
	const cJSON *m = get(obj, field), *it;
	size_t total = 0;
	if (absent(m))
		return 0;
	if (!cJSON_IsObject(m)) {
		wrong_type(v, field, m, "object");
		return 0;
	}
	cJSON_ArrayForEach(it, m) {
		const char *key = it->string;
		key_path(p, sizeof p, field, key);
		if (strlen(key) > 253)
			invalid_str(v, p, key, "must be no more than 253 characters");
		if (!config_key_chars(key))
			invalid_str(v, p, key, MSG_CONFIG_KEY);
		if (!strcmp(key, "."))
			invalid_str(v, p, key, "must not be '.'");
		else if (!strcmp(key, ".."))
			invalid_str(v, p, key, "must not be '..'");
		else if (!strncmp(key, "..", 2))
			invalid_str(v, p, key, "must not start with '..'");
		if (absent(it))
			continue;
		if (!cJSON_IsString(it)) {
			if (redact)
				add(v, R_INVALID, p, "Invalid value: \"<secret contents redacted>\": must be of type string");
			else
				wrong_type(v, p, it, "string");
			continue;
		}
		const char *s = it->valuestring;
		size_t n = strlen(s);
		if (base64) {
			/* Go's encoding/base64 StdEncoding (what []byte JSON
			 * decoding uses); \r and \n are skipped. */
			size_t q = 0, bad = SIZE_MAX, pad = 0;
			for (size_t i = 0; i < n && bad == SIZE_MAX; i++) {
				char c = s[i];
				if (c == '\r' || c == '\n')
					continue;
				if (c == '=') {
					pad++;
				} else if (pad || !(alnum(c) || c == '+' || c == '/')) {
					bad = q;
				}
				q++;
			}
			if (bad == SIZE_MAX && (q % 4 != 0 || pad > 2))
				bad = q - (q % 4 ? q % 4 : pad);
			if (bad != SIZE_MAX) {
				add(v, R_INVALID, p, "Invalid value: \"<secret contents redacted>\": "
				    "illegal base64 data at input byte %zu", bad);
				continue;
			}
			total += (q / 4) * 3 - pad;
		} else {
			total += n;
		}
	}
	return total;
}

static void v_configmap(struct validation *v, const cJSON *obj)
{
	static const struct rule rules[] = {RBOOL("immutable")};
	APPLY(v, obj, "", rules);
	size_t total = check_data_map(v, obj, "data", false, false);
	total += check_data_map(v, obj, "binaryData", true, false);
	/* A key may be in data or binaryData, not both. */
	const cJSON *b = get(obj, "binaryData"), *it;
	const cJSON *d = if_obj(b) ? if_obj(get(obj, "data")) : NULL;
	char p[PATH_MAX_LEN];
	cJSON_ArrayForEach(it, d) {
		if (cJSON_GetObjectItemCaseSensitive(b, it->string)) {
			key_path(p, sizeof p, "data", it->string);
			duplicate(v, p, it->string);
		}
	}
	if (total > DATA_MAX)
		too_long(v, "data", DATA_MAX);
}

static void v_secret(struct validation *v, const cJSON *obj)
{
	static const struct rule rules[] = {RSTR("type", 0), RBOOL("immutable")};
	APPLY(v, obj, "", rules);
	size_t total = check_data_map(v, obj, "data", true, true);
	total += check_data_map(v, obj, "stringData", false, true);
	if (total > DATA_MAX)
		too_long(v, "data", DATA_MAX);
}

static void v_event(struct validation *v, const cJSON *obj)
{
	static const struct rule rules[] = {
		ROBJ("involvedObject", F_REQ),
		RSTR("involvedObject.kind", 0),
		RSTR("involvedObject.name", 0),
		RSTR("involvedObject.namespace", 0),
		RSTR("reason", 0),
		RSTR("message", 0),
		RSTR("type", 0),
		ROBJ("source", 0),
	};
	APPLY(v, obj, "", rules);
}

/* ------------------------------------------------------------------ */
/* Karmada.                                                             */

static const struct rule PP_RULES[] = {
	ROBJ("spec", 0),
	RARR("spec.resourceSelectors", F_REQ_DEEP | F_NONEMPTY),
	ROBJ("spec.schedulePriority", 0),
	ROBJ("spec.placement", 0),
	ROBJ("spec.placement.clusterAffinity", 0),
	RARR("spec.placement.clusterAffinities", 0),
	RARR("spec.placement.clusterTolerations", 0),
	RSTR("spec.placement.clusterTolerations[].key", 0),
	RSTR("spec.placement.clusterTolerations[].value", 0),
	RINT("spec.placement.clusterTolerations[].tolerationSeconds"),
	RARR("spec.placement.spreadConstraints", 0),
	RSTR("spec.placement.spreadConstraints[].spreadByLabel", 0),
	ROBJ("spec.placement.replicaScheduling", 0),
	ROBJ("spec.placement.replicaScheduling.weightPreference", 0),
	RARR("spec.placement.replicaScheduling.weightPreference.staticWeightList", 0),
	ROBJ("spec.placement.workloadAffinity", 0),
	RBOOL("spec.propagateDeps"),
	RSTR("spec.schedulerName", 0),
	RARR("spec.dependentOverrides", 0),
	RSTR("spec.dependentOverrides[]", 0),
	RBOOL("spec.preserveResourcesOnDeletion"),
	ROBJ("spec.suspension", 0),
	ROBJ("spec.failover", 0),
	ROBJ("spec.failover.application", 0),
	ROBJ("spec.failover.cluster", 0),
	RENUM("spec.failover.cluster.purgeMode", 0, E_PURGE),
};

/* Every place a Karmada ClusterAffinity may appear in a policy. */
static void check_affinity(struct validation *v, const cJSON *obj, const char *prefix)
{
	char p[PATH_MAX_LEN];
	APPLY(v, obj, prefix, AFFINITY_RULES);
	child_path(p, sizeof p, prefix, "labelSelector");
	if (!strstr(prefix, "[]"))
		check_selector(v, obj, p);
	else
		APPLY(v, obj, p, SELECTOR_RULES);
}

static void check_resource_selectors(struct validation *v, const cJSON *obj)
{
	APPLY(v, obj, "spec.resourceSelectors[]", RESOURCE_SELECTOR_RULES);
	APPLY(v, obj, "spec.resourceSelectors[].labelSelector", SELECTOR_RULES);
}

/* The rest of Karmada's ValidatePropagationSpec (pkg/util/validation):
 * what its validating webhook refuses beyond the CRD schema. */
static void v_propagation_webhook(struct validation *v, const cJSON *obj)
{
	char p[PATH_MAX_LEN];
	const cJSON *spec = at(obj, "spec"), *c;
	int i = 0;
	/* preemption Always needs every selector to name its resource. */
	const char *pre = get_str(spec, "preemption");
	if (pre && strcmp(pre, "Always") == 0) {
		cJSON_ArrayForEach(c, if_arr(get(spec, "resourceSelectors"))) {
			const char *name = get_str(c, "name");
			if (cJSON_IsObject(c) && (!name || !*name)) {
				snprintf(p, sizeof p, "spec.resourceSelectors[%d].name", i);
				invalid_str(v, p, "",
					    "name cannot be empty if preemption is Always, the empty name may cause unexpected resources preemption");
			}
			i++;
		}
	}
	/* (Application failover's propagateDeps: check_failover.) */
	const cJSON *gps = get(at(obj, "spec.failover.application"), "gracePeriodSeconds");
	if (cJSON_IsNumber(gps) && gps->valuedouble <= 0)
		invalid(v, "spec.failover.application.gracePeriodSeconds", gps, "must be greater than 0");
	/* suspension.dispatching with per-cluster suspension is ambiguous. */
	const cJSON *susp = get(spec, "suspension");
	if (cJSON_IsTrue(get(susp, "dispatching")) &&
	    cJSON_GetArraySize(if_arr(get(get(susp, "dispatchingOnClusters"), "clusterNames"))) > 0)
		add(v, R_INVALID, "spec.suspension.suspension",
		    "Invalid value: {...}: suspension dispatching cannot co-exist with dispatchingOnClusters.clusterNames");
	/* Affinity terms are told apart by name. */
	const cJSON *terms = if_arr(get(at(obj, "spec.placement"), "clusterAffinities"));
	i = 0;
	cJSON_ArrayForEach(c, terms) {
		const char *n = get_str(c, "affinityName");
		const cJSON *d;
		int j = 0;
		cJSON_ArrayForEach(d, terms) {
			if (j++ >= i)
				break;
			const char *m = get_str(d, "affinityName");
			if (n && m && strcmp(n, m) == 0) {
				add(v, R_INVALID, "spec.placement.clusterAffinities",
				    "Invalid value: [...]: each affinity term in a policy must have a unique name");
				break;
			}
		}
		i++;
	}
	/* Spread by a field needs a cluster constraint too, and each field once. */
	const cJSON *scs = if_arr(get(at(obj, "spec.placement"), "spreadConstraints"));
	bool by_field = false, by_cluster = false;
	i = 0;
	cJSON_ArrayForEach(c, scs) {
		const char *f = get_str(c, "spreadByField");
		if (f && *f) {
			by_field = true;
			by_cluster |= strcmp(f, "cluster") == 0;
			const cJSON *d;
			int j = 0;
			cJSON_ArrayForEach(d, scs) {
				if (j++ >= i)
					break;
				const char *g = get_str(d, "spreadByField");
				if (g && strcmp(f, g) == 0) {
					add(v, R_INVALID, "spec.placement.spreadConstraints",
					    "Invalid value: [...]: multiple %s spread constraints are not allowed", f);
					break;
				}
			}
		}
		i++;
	}
	if (by_field && !by_cluster)
		add(v, R_INVALID, "spec.placement.spreadConstraints",
		    "Invalid value: [...]: the cluster spread constraint must be enabled in one of the constraints in case of SpreadByField is enabled");
}

/* Karmada's ValidatePolicyFailover / ValidateApplicationFailover. */
static const struct rule FAILOVER_RULES[] = {
	ROBJ("spec.failover.application.decisionConditions", 0),
	ROBJ("spec.failover.application.statePreservation", 0),
	ROBJ("spec.failover.cluster.statePreservation", 0),
	RARR("spec.failover.cluster.statePreservation.rules", F_REQ | F_NONEMPTY),
	RSTR("spec.failover.cluster.statePreservation.rules[].aliasLabelName", F_REQ | F_NONEMPTY),
	RSTR("spec.failover.cluster.statePreservation.rules[].jsonPath", F_REQ | F_NONEMPTY),
};

static void check_failover(struct validation *v, const cJSON *obj)
{
	if (!cJSON_IsObject(at(obj, "spec.failover")))
		return;
	APPLY(v, obj, "", FAILOVER_RULES);
	const cJSON *pd = get(at(obj, "spec"), "propagateDeps");
	cJSON no = {.type = cJSON_False};
	if (cJSON_IsObject(at(obj, "spec.failover.application")) && !cJSON_IsTrue(pd))
		invalid(v, "spec.propagateDeps", pd ? pd : &no, "application failover is set, propagateDeps must be true");
}

static void v_propagation(struct validation *v, const cJSON *obj)
{
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	APPLY(v, obj, "", PP_RULES);
	check_failover(v, obj);
	check_resource_selectors(v, obj);
	check_affinity(v, obj, "spec.placement.clusterAffinity");
	check_affinity(v, obj, "spec.placement.clusterAffinities[]");
	check_affinity(v, obj, "spec.placement.replicaScheduling.weightPreference.staticWeightList[].targetCluster");

	const cJSON *pl = at(obj, "spec.placement");
	if (cJSON_IsObject(get(pl, "clusterAffinity")) && cJSON_IsArray(get(pl, "clusterAffinities")))
		invalid(v, "spec.placement.clusterAffinities", get(pl, "clusterAffinities"),
			"clusterAffinities can not co-exist with clusterAffinity");

	v_propagation_webhook(v, obj);

	/* Karmada ValidateSpreadConstraint. */
	const cJSON *sc = get(pl, "spreadConstraints"), *c;
	int i = 0;
	cJSON_ArrayForEach(c, if_arr(sc)) {
		index_path(p, sizeof p, "spec.placement.spreadConstraints", i++);
		const char *byf = get_str(c, "spreadByField"), *byl = get_str(c, "spreadByLabel");
		const cJSON *mx = get(c, "maxGroups"), *mn = get(c, "minGroups");
		if (byf && byf[0] && byl && byl[0]) {
			child_path(q, sizeof q, p, "spreadByLabel");
			invalid_str(v, q, byl, "spreadByLabel should not co-exist with spreadByField");
		}
		if (cJSON_IsNumber(mx) && cJSON_IsNumber(mn) && mx->valuedouble > 0 &&
		    mn->valuedouble > mx->valuedouble) {
			child_path(q, sizeof q, p, "maxGroups");
			invalid(v, q, mx, "maxGroups lower than minGroups is not allowed");
		}
	}
}

static const struct rule OVERRIDERS_RULES[] = {
	RARR("plaintext", 0),
	RARR("imageOverrider", 0),
	ROBJ("imageOverrider[].predicate", 0),
	RSTR("imageOverrider[].value", 0),
	RARR("commandOverrider", 0),
	RARR("commandOverrider[].value", 0),
	RSTR("commandOverrider[].value[]", 0),
	RARR("argsOverrider", 0),
	RARR("argsOverrider[].value", 0),
	RSTR("argsOverrider[].value[]", 0),
	RARR("labelsOverrider", 0),
	ROBJ("labelsOverrider[].value", 0),
	RARR("annotationsOverrider", 0),
	ROBJ("annotationsOverrider[].value", 0),
	RARR("fieldOverrider", 0),
	RARR("fieldOverrider[].json", 0),
	RARR("fieldOverrider[].yaml", 0),
};

static const struct rule OP_RULES[] = {
	ROBJ("spec", 0),
	RARR("spec.resourceSelectors", 0),
	RARR("spec.overrideRules", 0),
	ROBJ("spec.overrideRules[].targetCluster", 0),
	ROBJ("spec.targetCluster", 0),
	ROBJ("spec.overriders", 0),
};

/* plaintext paths are JSON pointers (RFC 6901) applied as a JSON patch. */
static void check_plaintext_paths(struct validation *v, const cJSON *ovs, const char *prefix)
{
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	const cJSON *pt = get(ovs, "plaintext"), *it;
	int i = 0;
	child_path(q, sizeof q, prefix, "plaintext");
	cJSON_ArrayForEach(it, if_arr(pt)) {
		char ip[PATH_MAX_LEN];
		index_path(ip, sizeof ip, q, i++);
		const char *path = get_str(it, "path");
		if (path && path[0] && path[0] != '/') {
			child_path(p, sizeof p, ip, "path");
			invalid_str(v, p, path, "must be a JSON pointer starting with \"/\"");
		}
	}
}

static void v_override(struct validation *v, const cJSON *obj)
{
	char p[PATH_MAX_LEN];
	APPLY(v, obj, "", OP_RULES);
	check_resource_selectors(v, obj);
	check_affinity(v, obj, "spec.overrideRules[].targetCluster");
	check_affinity(v, obj, "spec.targetCluster");
	APPLY(v, obj, "spec.overrideRules[].overriders", OVERRIDERS_RULES);
	APPLY(v, obj, "spec.overriders", OVERRIDERS_RULES);
	const cJSON *rules = get(at(obj, "spec"), "overrideRules"), *r;
	int i = 0;
	cJSON_ArrayForEach(r, if_arr(rules)) {
		char ip[64];
		index_path(ip, sizeof ip, "spec.overrideRules", i++);
		child_path(p, sizeof p, ip, "overriders");
		check_plaintext_paths(v, get(r, "overriders"), p);
	}
	check_plaintext_paths(v, at(obj, "spec.overriders"), "spec.overriders");
}

static const char *const E_MATCH_OP[] = {"In", "NotIn", NULL};
static const char *const E_TAINT_EFFECT[] = {"NoExecute", "NoSchedule", NULL};

/* ClusterTaintPolicy (policy.karmada.io/v1alpha1), as its CRD schema and
 * Karmada's webhook check it. */
static const struct rule CTP_RULES[] = {
	ROBJ("spec", F_REQ),
	ROBJ("spec.targetClusters", 0),
	RARR("spec.addOnConditions", 0),
	RSTR("spec.addOnConditions[].conditionType", F_REQ | F_NONEMPTY),
	RENUM("spec.addOnConditions[].operator", F_REQ | F_NONEMPTY, E_MATCH_OP),
	RARR("spec.addOnConditions[].statusValues", F_REQ | F_NONEMPTY),
	RSTR("spec.addOnConditions[].statusValues[]", F_NONEMPTY),
	RARR("spec.removeOnConditions", 0),
	RSTR("spec.removeOnConditions[].conditionType", F_REQ | F_NONEMPTY),
	RENUM("spec.removeOnConditions[].operator", F_REQ | F_NONEMPTY, E_MATCH_OP),
	RARR("spec.removeOnConditions[].statusValues", F_REQ | F_NONEMPTY),
	RSTR("spec.removeOnConditions[].statusValues[]", F_NONEMPTY),
	RARR("spec.taints", F_REQ_DEEP | F_NONEMPTY),
	RSTR("spec.taints[].value", 0),
	RENUM("spec.taints[].effect", F_REQ | F_NONEMPTY, E_TAINT_EFFECT),
};

static void v_cluster_taint_policy(struct validation *v, const cJSON *obj)
{
	APPLY(v, obj, "", CTP_RULES);
	check_affinity(v, obj, "spec.targetClusters");
	const cJSON *spec = at(obj, "spec");
	if (cJSON_IsObject(spec) && cJSON_GetArraySize(get(spec, "addOnConditions")) == 0 &&
	    cJSON_GetArraySize(get(spec, "removeOnConditions")) == 0)
		required(v, "spec.addOnConditions", "at least one of addOnConditions or removeOnConditions is required");
}

static const struct rule CLUSTER_RULES[] = {
	ROBJ("spec", 0),
	RSTR("spec.syncMode", F_REQ_DEEP | F_NONEMPTY),
	RSTR("spec.id", 0),
	RSTR("spec.apiEndpoint", 0),
	ROBJ("spec.secretRef", 0),
	ROBJ("spec.impersonatorSecretRef", 0),
	RBOOL("spec.insecureSkipTLSVerification"),
	RSTR("spec.proxyURL", 0),
	RSTR("spec.provider", 0),
	RSTR("spec.region", 0),
	RSTR("spec.zone", 0),
	RARR("spec.zones", 0),
	RSTR("spec.zones[]", 0),
	RARR("spec.taints", 0),
	RSTR("spec.taints[].value", 0),
	RARR("spec.resourceModels", 0),
};

static void v_cluster(struct validation *v, const cJSON *obj)
{
	APPLY(v, obj, "", CLUSTER_RULES);
	/* Push mode (the control plane applies to the member's API itself) is
	 * not implemented: refuse it rather than store a cluster nothing serves. */
	const char *mode = get_str(at(obj, "spec"), "syncMode");
	if (mode && strcmp(mode, "Push") == 0)
		invalid_str(v, "spec.syncMode", mode,
			    "Push mode is not supported by Atoll: join the member with atoll-agent (syncMode Pull)");
}

static const struct rule CRD_RULES[] = {
	ROBJ("spec", 0),
	RSTR("spec.group", F_REQ_DEEP | F_NONEMPTY),
	ROBJ("spec.names", 0),
	RSTR("spec.names.plural", F_REQ_DEEP | F_NONEMPTY),
	RSTR("spec.names.singular", 0),
	RSTR("spec.names.kind", F_REQ_DEEP | F_NONEMPTY),
	RSTR("spec.names.listKind", 0),
	RARR("spec.names.shortNames", 0),
	RSTR("spec.names.shortNames[]", 0),
	RARR("spec.names.categories", 0),
	RSTR("spec.names.categories[]", 0),
	RENUM("spec.scope", F_REQ_DEEP | F_NONEMPTY, E_CRD_SCOPE),
	RARR("spec.versions", 0),
	RSTR("spec.versions[].name", F_REQ | F_NONEMPTY),
	RBOOL("spec.versions[].served"),
	RBOOL("spec.versions[].storage"),
	ROBJ("spec.versions[].schema", 0),
	ROBJ("spec.versions[].subresources", 0),
	RARR("spec.versions[].additionalPrinterColumns", 0),
	RSTR("spec.versions[].additionalPrinterColumns[].name", F_REQ | F_NONEMPTY),
	RENUM("spec.versions[].additionalPrinterColumns[].type", F_REQ | F_NONEMPTY, E_CRD_COLUMN_TYPE),
	RSTR("spec.versions[].additionalPrinterColumns[].jsonPath", F_REQ | F_NONEMPTY),
	RSTR("spec.versions[].additionalPrinterColumns[].format", 0),
	RSTR("spec.versions[].additionalPrinterColumns[].description", 0),
	RINT_MIN("spec.versions[].additionalPrinterColumns[].priority", 0, 0),
};

static void v_crd(struct validation *v, const cJSON *obj)
{
	APPLY(v, obj, "", CRD_RULES);
	const cJSON *spec = at(obj, "spec");
	const cJSON *vers = get(spec, "versions");
	if (!cJSON_IsArray(vers) || !vers->child) {
		if (!vers || cJSON_IsArray(vers) || cJSON_IsNull(vers))
			required(v, "spec.versions", "must have at least one version");
	} else {
		int storage = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, vers) storage += cJSON_IsTrue(get(it, "storage"));
		if (storage > 1)
			invalid(v, "spec.versions", vers, "must have exactly one version marked as storage version");
	}
	const char *group = get_str(spec, "group");
	const char *plural = get_str(get(spec, "names"), "plural");
	if (group && group[0] && !strchr(group, '.'))
		invalid_str(v, "spec.group", group, "should be a domain with at least one dot");
	if (plural && plural[0] && !is_dns1123_label(plural))
		invalid_str(v, "spec.names.plural", plural, MSG_LABEL);
	const char *name = get_str(at(obj, "metadata"), "name");
	if (name && name[0] && group && plural) {
		size_t pl = strlen(plural), gl = strlen(group);
		if (strlen(name) != pl + 1 + gl || strncmp(name, plural, pl) != 0 ||
		    name[pl] != '.' || strcmp(name + pl + 1, group) != 0)
			invalid_str(v, "metadata.name", name, "must be spec.names.plural+\".\"+spec.group");
	}
}

/* mesh.atoll.io/v1alpha1 Mesh (Atoll's own kind; hub/mesh.c acts on it).
 * What only the store knows (unknown clusters, a cluster two meshes claim)
 * is a condition in status, not a 422. */
static const struct rule MESH_RULES[] = {
	ROBJ("spec", 0),
	RSTR("spec.meshID", 0),
	ROBJ("spec.clusters", 0),
	RARR("spec.clusters.names", 0),
	RSTR("spec.clusters.names[]", F_NONEMPTY),
	ROBJ("spec.clusters.labelSelector", 0),
	ROBJ("spec.networks", 0),
	RSTR("spec.trustDomain", 0),
	ROBJ("spec.certificates", 0),
	RINT_MIN("spec.certificates.rootLifetimeSeconds", 0, 60),
	RINT_MIN("spec.certificates.intermediateLifetimeSeconds", 0, 6),
	RSTR("spec.istioVersion", 0),
};

static void v_mesh(struct validation *v, const cJSON *obj)
{
	APPLY(v, obj, "", MESH_RULES);
	const cJSON *spec = at(obj, "spec");
	const char *id = get_str(spec, "meshID");
	if (id && (!id[0] || !is_label_value(id)))
		invalid_str(v, "spec.meshID", id, MSG_LABEL_VALUE);
	const char *td = get_str(spec, "trustDomain");
	if (td && (!td[0] || !is_dns1123_subdomain(td)))
		invalid_str(v, "spec.trustDomain", td, MSG_SUBDOMAIN);
	const cJSON *cl = get(spec, "clusters");
	if (get(cl, "names") && get(cl, "labelSelector"))
		invalid(v, "spec.clusters", cl, "names and labelSelector are mutually exclusive");
	const cJSON *it;
	cJSON_ArrayForEach(it, if_arr(get(cl, "names"))) {
		if (cJSON_IsString(it) && it->valuestring[0] && !is_dns1123_label(it->valuestring))
			invalid_str(v, "spec.clusters.names[]", it->valuestring, MSG_LABEL);
	}
	if (get(cl, "labelSelector"))
		check_selector(v, obj, "spec.clusters.labelSelector");
	const cJSON *nets = get(spec, "networks");
	if (cJSON_IsObject(nets)) {
		cJSON_ArrayForEach(it, nets) {
			char f[PATH_MAX_LEN];
			child_path(f, sizeof f, "spec.networks", it->string);
			if (!is_dns1123_label(it->string))
				invalid_str(v, f, it->string, "the key must be a cluster name: " MSG_LABEL);
			else if (!cJSON_IsString(it))
				wrong_type(v, f, it, "string");
			else if (!it->valuestring[0] || !is_label_value(it->valuestring))
				invalid_str(v, f, it->valuestring,
					    "a network name becomes the label topology.istio.io/network: " MSG_LABEL_VALUE);
		}
	}
	const cJSON *root = get(get(spec, "certificates"), "rootLifetimeSeconds");
	const cJSON *inter = get(get(spec, "certificates"), "intermediateLifetimeSeconds");
	if (cJSON_IsNumber(root) && cJSON_IsNumber(inter) && inter->valuedouble > root->valuedouble)
		invalid(v, "spec.certificates.intermediateLifetimeSeconds", inter,
			"must not exceed spec.certificates.rootLifetimeSeconds");
}

/* ------------------------------------------------------------------ */
/* Kind dispatch.                                                       */


/* scheduling.k8s.io/v1 PriorityClass (ValidatePriorityClass). */
static void v_priorityclass(struct validation *v, const cJSON *obj)
{
	static const struct rule rules[] = {
		RBOOL("globalDefault"),
		RSTR("description", 0),
	};
	APPLY(v, obj, "", rules);
	const char *name = get_str(get(obj, "metadata"), "name");
	if (name && strncmp(name, "system-", 7) == 0)
		invalid_str(v, "metadata.name", name, "priority class names with 'system-' prefix are reserved");
}

/* apps.karmada.io/v1alpha1 WorkloadRebalancer (its CRD's OpenAPI schema:
 * spec.workloads has at least one item, each with apiVersion, kind, name). */
static void v_workloadrebalancer(struct validation *v, const cJSON *obj)
{
	static const struct rule rules[] = {
		ROBJ("spec", F_REQ),
		RARR("spec.workloads", F_REQ),
		RSTR("spec.workloads[].apiVersion", F_REQ),
		RSTR("spec.workloads[].kind", F_REQ),
		RSTR("spec.workloads[].name", F_REQ),
		RSTR("spec.workloads[].namespace", 0),
		RINT32("spec.ttlSecondsAfterFinished", 0, -2147483648.0),
		ROBJ("status", 0),
		RARR("status.observedWorkloads", 0),
		RSTR("status.observedWorkloads[].result", 0),
		RSTR("status.observedWorkloads[].reason", 0),
		RSTR("status.finishTime", 0),
		RINT("status.observedGeneration"),
	};
	APPLY(v, obj, "", rules);
	const cJSON *wl = get(at(obj, "spec"), "workloads");
	if (cJSON_IsArray(wl) && !wl->child)
		add(v, R_INVALID, "spec.workloads", "Invalid value: 0: spec.workloads in body should have at least 1 items");
}

/* discovery.k8s.io/v1 EndpointSlice (as kube-apiserver validates it). */
static void v_endpointslice(struct validation *v, const cJSON *obj)
{
	static const struct rule rules[] = {
		RARR("endpoints", 0),
		RSTR("endpoints[].addresses[]", F_NONEMPTY),
		ROBJ("endpoints[].conditions", 0),
		RBOOL("endpoints[].conditions.ready"),
		RBOOL("endpoints[].conditions.serving"),
		RBOOL("endpoints[].conditions.terminating"),
		RSTR("endpoints[].nodeName", 0),
		RSTR("endpoints[].zone", 0),
		RARR("ports", 0),
		RSTR("ports[].name", 0),
	};
	APPLY(v, obj, "", rules);
	const cJSON *e;
	int i = 0;
	cJSON_ArrayForEach(e, if_arr(get(obj, "endpoints"))) {
		int n = cJSON_GetArraySize(get(e, "addresses"));
		if (cJSON_IsArray(get(e, "addresses")) && (n < 1 || n > 100)) {
			char f[PATH_MAX_LEN], g[PATH_MAX_LEN];
			index_path(f, sizeof f, "endpoints", i);
			child_path(g, sizeof g, f, "addresses");
			invalid(v, g, get(e, "addresses"), "must contain between 1 and 100 addresses");
		}
		i++;
	}
}

/* multicluster.x-k8s.io/v1alpha1 ServiceExport (the MCS API CRD): a marker
 * named after the Service it exports; status is written by controllers. */
static void v_serviceexport(struct validation *v, const cJSON *obj)
{
	static const struct rule rules[] = {
		ROBJ("spec", 0),
		ROBJ("status", 0),
		RARR("status.conditions", 0),
	};
	APPLY(v, obj, "", rules);
}

/* multicluster.x-k8s.io/v1alpha1 ServiceImport (the MCS API CRD's schema). */
static const char *const E_IMPORT_TYPE[] = {"ClusterSetIP", "Headless", NULL};
static void v_serviceimport(struct validation *v, const cJSON *obj)
{
	static const struct rule rules[] = {
		ROBJ("spec", F_REQ),
		RENUM("spec.type", F_REQ | F_NONEMPTY, E_IMPORT_TYPE),
		RARR("spec.ports", F_REQ),
		RSTR("spec.ports[].name", 0),
		RENUM("spec.ports[].protocol", 0, E_PROTOCOL),
		RPORT("spec.ports[].port", F_REQ),
		RSTR("spec.ports[].appProtocol", 0),
		RARR("spec.ips", 0),
		RSTR("spec.ips[]", F_NONEMPTY),
		RENUM("spec.sessionAffinity", 0, E_AFFINITY),
		ROBJ("status", 0),
		RARR("status.clusters", 0),
		RSTR("status.clusters[].cluster", F_REQ | F_NONEMPTY),
	};
	APPLY(v, obj, "", rules);
}

/* policy/v1 PodDisruptionBudget (ValidatePodDisruptionBudgetSpec). */

static void check_percent(struct validation *v, const cJSON *spec, const char *name)
{
	const cJSON *c = get(spec, name);
	char path[64];
	snprintf(path, sizeof path, "spec.%s", name);
	if (cJSON_IsString(c)) {
		const char *s = c->valuestring;
		size_t n = strlen(s), d = strspn(s, "0123456789");
		if (n < 2 || d != n - 1 || s[n - 1] != '%') {
			invalid(v, path, c, "a valid percent string must be a numeric string followed by an ending '%' "
					    "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')");
			return;
		}
		if (atof(s) > 100)
			invalid(v, path, c, "must not be greater than 100%");
	}
}

static void v_pdb(struct validation *v, const cJSON *obj)
{
	static const struct rule rules[] = {
		ROBJ("spec", 0),
		ROBJ("spec.selector", 0),
	};
	APPLY(v, obj, "", rules);
	const cJSON *spec = get(obj, "spec");
	if (!cJSON_IsObject(spec))
		return;
	check_percent(v, spec, "minAvailable");
	check_percent(v, spec, "maxUnavailable");
	if (!absent(get(spec, "minAvailable")) && !absent(get(spec, "maxUnavailable")))
		invalid(v, "spec", spec, "minAvailable and maxUnavailable cannot be both set");
	if (cJSON_IsObject(get(spec, "selector")))
		check_selector(v, obj, "spec.selector");
}

/* v1 ResourceQuota: spec.hard is a ResourceList of non-negative quantities. */
static void v_resourcequota(struct validation *v, const cJSON *obj)
{
	static const struct rule rules[] = {
		ROBJ("spec", 0),
		ROBJ("spec.hard", 0),
		RARR("spec.scopes", 0),
		ROBJ("spec.scopeSelector", 0),
	};
	APPLY(v, obj, "", rules);
	const cJSON *q, *hard = get(get(obj, "spec"), "hard");
	if (!cJSON_IsObject(hard) || !hard->child)
		return;
	regex_t re;
	bool re_ok = regcomp(&re, "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$", REG_EXTENDED | REG_NOSUB) == 0;
	cJSON_ArrayForEach(q, hard) {
		char path[PATH_MAX_LEN];
		snprintf(path, sizeof path, "spec.hard[%.200s]", q->string ? q->string : "");
		/* a bare number is a quantity too (Quantity.UnmarshalJSON) */
		if (cJSON_IsNumber(q)) {
			if (q->valuedouble < 0)
				invalid(v, path, q, "must be greater than or equal to 0");
		} else if (!cJSON_IsString(q)) {
			wrong_type(v, path, q, "string");
		} else if (re_ok && regexec(&re, q->valuestring, 0, NULL, 0) != 0) {
			invalid(v, path, q, "quantities must match the regular expression "
					    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
		} else if (q->valuestring[0] == '-' && strspn(q->valuestring + 1, "0.") != strlen(q->valuestring + 1)) {
			invalid(v, path, q, "must be greater than or equal to 0");
		}
	}
	if (re_ok)
		regfree(&re);
}

struct kind_rules {
	const char *group;
	const char *kind;
	enum name_rule name;
	void (*check)(struct validation *v, const cJSON *obj);
};

static const struct kind_rules KIND_RULES[] = {
	{"", "Namespace", N_LABEL, v_namespace},
	{"scheduling.k8s.io", "PriorityClass", N_SUBDOMAIN, v_priorityclass},
	{"policy", "PodDisruptionBudget", N_SUBDOMAIN, v_pdb},
	{"", "ResourceQuota", N_SUBDOMAIN, v_resourcequota},
	{"apps.karmada.io", "WorkloadRebalancer", N_SUBDOMAIN, v_workloadrebalancer},
	{"", "Service", N_DNS1035, v_service},
	{"", "ConfigMap", N_SUBDOMAIN, v_configmap},
	{"", "Secret", N_SUBDOMAIN, v_secret},
	{"", "Event", N_SUBDOMAIN, v_event},
	{"", "Pod", N_SUBDOMAIN, v_pod},
	{"apps", "Deployment", N_SUBDOMAIN, v_deployment},
	{"apps", "StatefulSet", N_SUBDOMAIN, v_statefulset},
	{"apps", "DaemonSet", N_SUBDOMAIN, v_daemonset},
	{"apps", "ReplicaSet", N_SUBDOMAIN, v_replicaset},
	{"batch", "Job", N_SUBDOMAIN, v_job},
	{"batch", "CronJob", N_SUBDOMAIN, v_cronjob},
	{"apiextensions.k8s.io", "CustomResourceDefinition", N_SUBDOMAIN, v_crd},
	{"cluster.karmada.io", "Cluster", N_CLUSTER, v_cluster},
	{"mesh.atoll.io", "Mesh", N_LABEL, v_mesh},
	{"discovery.k8s.io", "EndpointSlice", N_SUBDOMAIN, v_endpointslice},
	{"multicluster.x-k8s.io", "ServiceExport", N_DNS1035, v_serviceexport},
	{"multicluster.x-k8s.io", "ServiceImport", N_DNS1035, v_serviceimport},
	{"policy.karmada.io", "PropagationPolicy", N_SUBDOMAIN, v_propagation},
	{"policy.karmada.io", "ClusterPropagationPolicy", N_SUBDOMAIN, v_propagation},
	{"policy.karmada.io", "OverridePolicy", N_SUBDOMAIN, v_override},
	{"policy.karmada.io", "ClusterOverridePolicy", N_SUBDOMAIN, v_override},
	{"policy.karmada.io", "ClusterTaintPolicy", N_SUBDOMAIN, v_cluster_taint_policy},
};

int validate_object(const struct kind_info *k, const cJSON *obj, const char *ns,
		    struct validation *out)
{
	out->n = 0; /* errs[i] are written before they count (add); not the 12.8 KB of them on every write */
	if (!k)
		return 0;
	if (!cJSON_IsObject(obj)) {
		wrong_type(out, "", obj, "object");
		return out->n;
	}
	const struct kind_rules *kr = NULL;
	if (!k->dynamic)
		for (size_t i = 0; i < sizeof KIND_RULES / sizeof KIND_RULES[0]; i++)
			if (!strcmp(KIND_RULES[i].group, k->group) && !strcmp(KIND_RULES[i].kind, k->kind))
				kr = &KIND_RULES[i];
	check_meta(out, k, obj, ns, kr ? kr->name : N_SUBDOMAIN);
	/* The table's facts, then the kind's own rules and cross-field code. */
	if (!k->dynamic)
		check_schema(out, obj, pbs_kind_schema_message(k));
	if (kr) {
		kr->check(out, obj);
	} else if (k->has_spec) {
		static const struct rule rules[] = {ROBJ("spec", 0)};
		APPLY(out, obj, "", rules);
	}
	return out->n;
}

/* The table's immutable fields, followed through single objects: a value
 * that differs from old's (set, changed or removed) is refused. */
static void walk_immutable(struct validation *v, const cJSON *old, const cJSON *o, int msg, char *path,
			   size_t cap, int depth)
{
	if (msg < 0 || msg >= pbs_all_messages_count || !cJSON_IsObject(o) || !cJSON_IsObject(old) || depth > 48 ||
	    pbs_messages[msg].special != PBS_SPECIAL_NONE)
		return;
	const struct pbs_message *m = &pbs_messages[msg];
	for (int i = 0; i < m->nfields; i++) {
		const struct pbs_field *f = &m->fields[i];
		if (f->flags & PBS_INLINE) {
			walk_immutable(v, old, o, f->msg, path, cap, depth + 1);
			continue;
		}
		/* The field's path is built only for a report or a walk below:
		 * most fields of a message are absent on both sides (a fifth of
		 * a ResourceBinding's re-placement went to this walk). */
		bool immutable = sch_messages[msg].fields[i].vflags & SCH_V_IMMUTABLE;
		if (!immutable && !(f->type == PBS_MESSAGE && f->card == PBS_ONE))
			continue;
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(old, f->json);
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, f->json);
		bool report = false;
		if (immutable)
			report = !((absent(a) && absent(b)) || (!absent(a) && !absent(b) && cJSON_Compare(a, b, true)));
		else if (!cJSON_IsObject(a) || !cJSON_IsObject(b))
			continue; /* nothing below to compare */
		size_t plen = strlen(path);
		path_put(path, cap, plen ? path_put(path, cap, plen, ".", 1) : 0, f->json, strlen(f->json));
		if (report)
			invalid(v, path, b, "field is immutable");
		else if (!immutable)
			walk_immutable(v, a, b, f->msg, path, cap, depth + 1);
		path[plen] = '\0';
	}
}

int validate_update(const struct kind_info *k, const cJSON *old, const cJSON *obj, const char *ns,
		    struct validation *out)
{
	validate_object(k, obj, ns, out);
	if (k && !k->dynamic && cJSON_IsObject(obj) && cJSON_IsObject(old)) {
		char path[PATH_MAX_LEN] = "";
		walk_immutable(out, old, obj, pbs_kind_schema_message(k), path, sizeof path, 0);
	}
	return out->n;
}

/* ------------------------------------------------------------------ */
/* The 422 message.                                                     */

struct sbuf {
	char *p;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	if (b->len + 1 >= b->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (w < 0)
		return;
	b->len += (size_t)w;
	if (b->len >= b->cap)
		b->len = b->cap - 1;
}

static void sb_error(struct sbuf *b, const struct field_error *e)
{
	if (e->field[0])
		sb_add(b, "%s: %s", e->field, e->message);
	else
		sb_add(b, "%s", e->message);
}

static bool same_error(const struct field_error *a, const struct field_error *b)
{
	return !strcmp(a->field, b->field) && !strcmp(a->message, b->message);
}

void validation_message(const struct kind_info *k, const char *name,
			const struct validation *v, char *buf, size_t len)
{
	char qk[300], qn[600];
	struct sbuf b = {buf, 0, len};
	if (!len)
		return;
	buf[0] = '\0';
	kind_qualified_kind(k, qk, sizeof qk);
	quote(name ? name : "", 280, qn, sizeof qn);
	sb_add(&b, "%s %s is invalid", qk, qn);
	int kept = v ? (v->n < VALIDATION_MAX_ERRS ? v->n : VALIDATION_MAX_ERRS) : 0;
	if (kept <= 0)
		return;
	/* apimachinery's ErrorList.ToAggregate: duplicates dropped, several
	 * errors bracketed and comma-separated. */
	int distinct = 0;
	for (int i = 0; i < kept; i++) {
		bool seen = false;
		for (int j = 0; j < i && !seen; j++)
			seen = same_error(&v->errs[i], &v->errs[j]);
		distinct += !seen;
	}
	sb_add(&b, ": %s", distinct > 1 ? "[" : "");
	bool first = true;
	for (int i = 0; i < kept; i++) {
		bool seen = false;
		for (int j = 0; j < i && !seen; j++)
			seen = same_error(&v->errs[i], &v->errs[j]);
		if (seen)
			continue;
		if (!first)
			sb_add(&b, ", ");
		sb_error(&b, &v->errs[i]);
		first = false;
	}
	if (distinct > 1)
		sb_add(&b, "]");
}
