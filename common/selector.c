#include "selector.h"
#include "jsonutil.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum sel_op { OP_EQ, OP_DEQ, OP_NE, OP_IN, OP_NOTIN, OP_EXISTS, OP_NOTEXISTS, OP_GT, OP_LT };

struct requirement {
	char *key;
	enum sel_op op;
	char **values;
	size_t nvalues;
	long long num; /* the bound of Gt/Lt */
};

struct label_selector {
	struct requirement *reqs;
	size_t n;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ---- Kubernetes name validation (apimachinery/pkg/util/validation) ---- */

/* Name part of a qualified name and a non-empty label value share a form:
 * ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63 chars.
 * Returns 0 when valid, 1 when too long, 2 for a bad character. */
static int check_name63(const char *s, size_t n)
{
	if (n > 63)
		return 1;
	if (!is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return 2;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!is_alnum(c) && c != '-' && c != '_' && c != '.')
			return 2;
	}
	return 0;
}

#define NAME_FORM "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"

/* RFC 1123 subdomain: dot-separated labels of [a-z0-9-], alphanumeric at
 * both ends, at most 253 chars in total. */
static const char *check_subdomain(const char *s, size_t n)
{
	static const char msg[] = "prefix part a lowercase RFC 1123 subdomain must consist of lower case "
				  "alphanumeric characters, '-' or '.', and must start and end with an "
				  "alphanumeric character";
	if (n > 253)
		return "prefix part must be no more than 253 characters";
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			char c = s[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				return msg;
			continue;
		}
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return msg;
		start = i + 1;
	}
	return NULL;
}

static bool validate_key(const char *k, char *err, size_t errlen)
{
	size_t n = strlen(k);
	const char *slash = memchr(k, '/', n);
	const char *name = k;
	size_t nlen = n;
	const char *why = NULL;
	if (slash) {
		size_t plen = (size_t)(slash - k);
		name = slash + 1;
		nlen = n - plen - 1;
		if (memchr(name, '/', nlen))
			why = "a qualified name must consist of an optional DNS subdomain prefix and a name, separated by '/'";
		else if (plen == 0)
			why = "prefix part must be non-empty";
		else
			why = check_subdomain(k, plen);
	}
	if (!why) {
		int bad = nlen ? check_name63(name, nlen) : 0;
		if (nlen == 0)
			why = "name part must be non-empty";
		else if (bad == 1)
			why = "name part must be no more than 63 characters";
		else if (bad == 2)
			why = "name part must " NAME_FORM;
	}
	if (why) {
		seterr(err, errlen, "key: Invalid value: \"%s\": %s", k, why);
		return false;
	}
	return true;
}

static bool validate_value(const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v);
	int bad = n ? check_name63(v, n) : 0;
	if (bad) {
		seterr(err, errlen, "values: Invalid value: \"%s\": %s", v,
		       bad == 1 ? "must be no more than 63 characters"
				: "a valid label must be an empty string or " NAME_FORM);
		return false;
	}
	return true;
}

/* strconv.ParseInt(s, 10, 64) */
static bool parse_int64(const char *s, long long *out)
{
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return false;
	unsigned long long v = 0;
	unsigned long long lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		unsigned d = (unsigned)(*p - '0');
		if (v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg)
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
	else
		*out = (long long)v;
	return true;
}

/* ---- requirements ---- */

static void req_clear(struct requirement *r)
{
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
	memset(r, 0, sizeof *r);
}

/* Adds v (n bytes) to r's value set; duplicates collapse as in a Go
 * sets.String. Returns false on a bound or out of memory. */
static bool req_add_value(struct requirement *r, const char *v, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (strlen(r->values[i]) == n && memcmp(r->values[i], v, n) == 0)
			return true;
	if (r->nvalues >= SELECTOR_MAX_VALUES) {
		seterr(err, errlen, "too many values (limit %d)", SELECTOR_MAX_VALUES);
		return false;
	}
	char **nv = realloc(r->values, (r->nvalues + 1) * sizeof *nv);
	if (!nv) {
		seterr(err, errlen, "out of memory");
		return false;
	}
	r->values = nv;
	if (!(nv[r->nvalues] = xstrndup(v, n))) {
		seterr(err, errlen, "out of memory");
		return false;
	}
	r->nvalues++;
	return true;
}

/* labels.NewRequirement's checks, applied once the requirement is built. */
static bool req_validate(struct requirement *r, char *err, size_t errlen)
{
	if (!validate_key(r->key, err, errlen))
		return false;
	switch (r->op) {
	case OP_IN:
	case OP_NOTIN:
		if (r->nvalues == 0) {
			seterr(err, errlen, "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty");
			return false;
		}
		break;
	case OP_EQ:
	case OP_DEQ:
	case OP_NE:
		if (r->nvalues != 1) {
			seterr(err, errlen, "values: Invalid value: exact-match compatibility requires one single value");
			return false;
		}
		break;
	case OP_EXISTS:
	case OP_NOTEXISTS:
		if (r->nvalues != 0) {
			seterr(err, errlen, "values: Invalid value: values set must be empty for exists and does not exist");
			return false;
		}
		break;
	case OP_GT:
	case OP_LT:
		if (r->nvalues != 1) {
			seterr(err, errlen, "values: Invalid value: for 'Gt', 'Lt' operators, exactly one value is required");
			return false;
		}
		if (!parse_int64(r->values[0], &r->num)) {
			seterr(err, errlen, "values[0]: Invalid value: \"%s\": for 'Gt', 'Lt' operators, the value must be an integer",
			       r->values[0]);
			return false;
		}
		break;
	}
	for (size_t i = 0; i < r->nvalues; i++)
		if (!validate_value(r->values[i], err, errlen))
			return false;
	return true;
}

/* val is the label's value, or NULL when the label is absent. */
static bool req_matches(const struct requirement *r, const char *val)
{
	switch (r->op) {
	case OP_EQ:
	case OP_DEQ:
	case OP_IN:
		if (!val)
			return false;
		for (size_t i = 0; i < r->nvalues; i++)
			if (strcmp(r->values[i], val) == 0)
				return true;
		return false;
	case OP_NE:
	case OP_NOTIN:
		if (!val)
			return true;
		for (size_t i = 0; i < r->nvalues; i++)
			if (strcmp(r->values[i], val) == 0)
				return false;
		return true;
	case OP_EXISTS:
		return val != NULL;
	case OP_NOTEXISTS:
		return val == NULL;
	case OP_GT:
	case OP_LT: {
		long long lv;
		if (!val || !parse_int64(val, &lv))
			return false;
		return r->op == OP_GT ? lv > r->num : lv < r->num;
	}
	}
	return false;
}

/* Appends a zeroed requirement; NULL on a bound or out of memory. */
static struct requirement *sel_push(struct label_selector *s, char *err, size_t errlen)
{
	if (s->n >= SELECTOR_MAX_TERMS) {
		seterr(err, errlen, "too many requirements (limit %d)", SELECTOR_MAX_TERMS);
		return NULL;
	}
	struct requirement *nr = realloc(s->reqs, (s->n + 1) * sizeof *nr);
	if (!nr) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	s->reqs = nr;
	memset(&nr[s->n], 0, sizeof nr[s->n]);
	return &nr[s->n++];
}

void label_selector_free(struct label_selector *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		req_clear(&s->reqs[i]);
	free(s->reqs);
	free(s);
}

/* ---- string form: a port of apimachinery labels.Parse's lexer/parser ---- */

enum tok {
	T_END, T_IDENT, T_IN, T_NOTIN, T_NOT, T_EQ, T_DEQ, T_NEQ,
	T_COMMA, T_LPAR, T_RPAR, T_GT, T_LT
};

struct token {
	enum tok t;
	const char *lit;
	size_t len;
};

struct lexer {
	const char *s;
	size_t pos;
};

static bool is_special(char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* values: "in"/"notin" are plain identifiers where values are expected. */
static struct token lex_next(struct lexer *lx, bool values)
{
	struct token t = {T_END, "", 0};
	const char *s = lx->s;
	while (is_blank(s[lx->pos]))
		lx->pos++;
	const char *p = s + lx->pos;
	if (!*p)
		return t;
	t.lit = p;
	if (is_special(*p)) {
		t.len = 1;
		switch (*p) {
		case '!':
			if (p[1] == '=') {
				t.t = T_NEQ;
				t.len = 2;
			} else {
				t.t = T_NOT;
			}
			break;
		case '=':
			if (p[1] == '=') {
				t.t = T_DEQ;
				t.len = 2;
			} else {
				t.t = T_EQ;
			}
			break;
		case ',': t.t = T_COMMA; break;
		case '(': t.t = T_LPAR; break;
		case ')': t.t = T_RPAR; break;
		case '>': t.t = T_GT; break;
		default: t.t = T_LT; break;
		}
		lx->pos += t.len;
		return t;
	}
	size_t n = 0;
	while (p[n] && !is_blank(p[n]) && !is_special(p[n]))
		n++;
	t.len = n;
	lx->pos += n;
	t.t = T_IDENT;
	if (!values) {
		if (n == 2 && memcmp(p, "in", 2) == 0)
			t.t = T_IN;
		else if (n == 5 && memcmp(p, "notin", 5) == 0)
			t.t = T_NOTIN;
	}
	return t;
}

static struct token lex_peek(const struct lexer *lx, bool values)
{
	struct lexer copy = *lx;
	return lex_next(&copy, values);
}

/* Token text for messages; literals are bounded by the selector length. */
static int tlen(const struct token *t)
{
	return t->t == T_END ? (int)strlen("end of string") : (int)(t->len > 200 ? 200 : t->len);
}

static const char *tlit(const struct token *t)
{
	return t->t == T_END ? "end of string" : t->lit;
}

/* "(" values ")" with labels.Parse's tolerance of empty entries. */
static bool parse_values(struct lexer *lx, struct requirement *r, char *err, size_t errlen)
{
	struct token t = lex_next(lx, true);
	if (t.t != T_LPAR) {
		seterr(err, errlen, "found '%.*s' expected: '('", tlen(&t), tlit(&t));
		return false;
	}
	t = lex_peek(lx, true);
	if (t.t == T_RPAR) {
		lex_next(lx, true);
		return true; /* empty set; rejected by req_validate */
	}
	if (t.t != T_IDENT && t.t != T_COMMA) {
		seterr(err, errlen, "found '%.*s', expected: ',', ')' or identifier", tlen(&t), tlit(&t));
		return false;
	}
	for (;;) {
		t = lex_next(lx, true);
		if (t.t == T_IDENT) {
			if (!req_add_value(r, t.lit, t.len, err, errlen))
				return false;
			struct token n = lex_peek(lx, true);
			if (n.t == T_COMMA)
				continue;
			if (n.t == T_RPAR)
				break;
			seterr(err, errlen, "found '%.*s', expected: ',' or ')'", tlen(&n), tlit(&n));
			return false;
		} else if (t.t == T_COMMA) {
			/* "(,", ",," and ",)" stand for the empty value */
			if (r->nvalues == 0 && !req_add_value(r, "", 0, err, errlen))
				return false;
			struct token n = lex_peek(lx, true);
			if (n.t == T_RPAR) {
				if (!req_add_value(r, "", 0, err, errlen))
					return false;
				break;
			}
			if (n.t == T_COMMA) {
				lex_next(lx, true);
				if (!req_add_value(r, "", 0, err, errlen))
					return false;
			}
		} else {
			seterr(err, errlen, "found '%.*s', expected: ',', or identifier", tlen(&t), tlit(&t));
			return false;
		}
	}
	t = lex_next(lx, true);
	if (t.t != T_RPAR) {
		seterr(err, errlen, "found '%.*s', expected: ')'", tlen(&t), tlit(&t));
		return false;
	}
	return true;
}

static bool parse_requirement(struct lexer *lx, struct requirement *r, char *err, size_t errlen)
{
	struct token t = lex_next(lx, false);
	bool notexists = false;
	if (t.t == T_NOT) {
		notexists = true;
		t = lex_next(lx, false);
	}
	if (t.t != T_IDENT) {
		seterr(err, errlen, "found '%.*s', expected: identifier", tlen(&t), tlit(&t));
		return false;
	}
	if (!(r->key = xstrndup(t.lit, t.len))) {
		seterr(err, errlen, "out of memory");
		return false;
	}
	if (!validate_key(r->key, err, errlen))
		return false;
	struct token n = lex_peek(lx, false);
	if (notexists || n.t == T_END || n.t == T_COMMA) {
		r->op = notexists ? OP_NOTEXISTS : OP_EXISTS;
		return req_validate(r, err, errlen);
	}
	t = lex_next(lx, false);
	switch (t.t) {
	case T_IN: r->op = OP_IN; break;
	case T_NOTIN: r->op = OP_NOTIN; break;
	case T_EQ: r->op = OP_EQ; break;
	case T_DEQ: r->op = OP_DEQ; break;
	case T_NEQ: r->op = OP_NE; break;
	case T_GT: r->op = OP_GT; break;
	case T_LT: r->op = OP_LT; break;
	default:
		seterr(err, errlen, "found '%.*s', expected: in, notin, =, ==, !=, gt, lt", tlen(&t), tlit(&t));
		return false;
	}
	if (r->op == OP_IN || r->op == OP_NOTIN) {
		if (!parse_values(lx, r, err, errlen))
			return false;
	} else {
		n = lex_peek(lx, true);
		if (n.t == T_END || n.t == T_COMMA) {
			if (!req_add_value(r, "", 0, err, errlen))
				return false;
		} else {
			t = lex_next(lx, true);
			if (t.t != T_IDENT) {
				seterr(err, errlen, "found '%.*s', expected: identifier", tlen(&t), tlit(&t));
				return false;
			}
			if (!req_add_value(r, t.lit, t.len, err, errlen))
				return false;
		}
	}
	return req_validate(r, err, errlen);
}

struct label_selector *label_selector_parse(const char *s, char *err, size_t errlen)
{
	if (!s)
		s = "";
	if (strnlen(s, SELECTOR_MAX_LEN + 1) > SELECTOR_MAX_LEN) {
		seterr(err, errlen, "selector longer than %d bytes", SELECTOR_MAX_LEN);
		return NULL;
	}
	struct label_selector *sel = calloc(1, sizeof *sel);
	if (!sel) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	struct lexer lx = {s, 0};
	char why[512];
	for (;;) {
		struct token t = lex_peek(&lx, false);
		if (t.t == T_END && sel->n == 0)
			return sel;
		if (t.t != T_IDENT && t.t != T_NOT) {
			seterr(err, errlen, "found '%.*s', expected: !, identifier, or 'end of string'", tlen(&t), tlit(&t));
			goto fail;
		}
		struct requirement *r = sel_push(sel, err, errlen);
		if (!r)
			goto fail;
		why[0] = '\0';
		if (!parse_requirement(&lx, r, why, sizeof why)) {
			seterr(err, errlen, "unable to parse requirement: %s", why);
			goto fail;
		}
		t = lex_next(&lx, false);
		if (t.t == T_END)
			return sel;
		if (t.t != T_COMMA) {
			seterr(err, errlen, "found '%.*s', expected: ',' or 'end of string'", tlen(&t), tlit(&t));
			goto fail;
		}
		t = lex_peek(&lx, false);
		if (t.t != T_IDENT && t.t != T_NOT) {
			seterr(err, errlen, "found '%.*s', expected: identifier after ','", tlen(&t), tlit(&t));
			goto fail;
		}
	}
fail:
	label_selector_free(sel);
	return NULL;
}

/* ---- structured form ---- */

static bool op_from_name(const char *name, bool node, enum sel_op *op)
{
	static const struct {
		const char *name;
		enum sel_op op;
		bool node_only;
	} ops[] = {
		{"In", OP_IN, false}, {"NotIn", OP_NOTIN, false},
		{"Exists", OP_EXISTS, false}, {"DoesNotExist", OP_NOTEXISTS, false},
		{"Gt", OP_GT, true}, {"Lt", OP_LT, true},
	};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (strcmp(name, ops[i].name) == 0 && (node || !ops[i].node_only)) {
			*op = ops[i].op;
			return true;
		}
	}
	return false;
}

/* Adds the requirements of a matchExpressions array to sel. node admits
 * Gt/Lt (NodeSelectorOperator) besides the LabelSelectorOperator set. */
static bool add_expressions(struct label_selector *sel, const cJSON *exprs, bool node, char *err, size_t errlen)
{
	if (!exprs || cJSON_IsNull(exprs))
		return true;
	if (!cJSON_IsArray(exprs)) {
		seterr(err, errlen, "matchExpressions: must be a list");
		return false;
	}
	int idx = 0;
	for (const cJSON *e = exprs->child; e; e = e->next, idx++) {
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(e, "key");
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(e, "operator");
		const cJSON *vals = cJSON_GetObjectItemCaseSensitive(e, "values");
		if (!cJSON_IsObject(e) || !cJSON_IsString(key) || !cJSON_IsString(op)) {
			seterr(err, errlen, "matchExpressions[%d]: key and operator must be strings", idx);
			return false;
		}
		struct requirement *r = sel_push(sel, err, errlen);
		if (!r)
			return false;
		if (!op_from_name(op->valuestring, node, &r->op)) {
			seterr(err, errlen, "matchExpressions[%d].operator: \"%.64s\" is not a valid %s selector operator", idx,
			       op->valuestring, node ? "node" : "label");
			return false;
		}
		if (!(r->key = strdup(key->valuestring))) {
			seterr(err, errlen, "out of memory");
			return false;
		}
		if (vals && !cJSON_IsNull(vals)) {
			if (!cJSON_IsArray(vals)) {
				seterr(err, errlen, "matchExpressions[%d].values: must be a list of strings", idx);
				return false;
			}
			for (const cJSON *v = vals->child; v; v = v->next) {
				if (!cJSON_IsString(v)) {
					seterr(err, errlen, "matchExpressions[%d].values: must be a list of strings", idx);
					return false;
				}
				if (!req_add_value(r, v->valuestring, strlen(v->valuestring), err, errlen))
					return false;
			}
		}
		char why[384];
		why[0] = '\0';
		if (!req_validate(r, why, sizeof why)) {
			seterr(err, errlen, "matchExpressions[%d]: %s", idx, why);
			return false;
		}
	}
	return true;
}

struct label_selector *label_selector_from_json(const cJSON *j, char *err, size_t errlen)
{
	struct label_selector *sel = calloc(1, sizeof *sel);
	if (!sel) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (!j || cJSON_IsNull(j))
		return sel;
	if (!cJSON_IsObject(j)) {
		seterr(err, errlen, "label selector must be an object");
		goto fail;
	}
	const cJSON *ml = cJSON_GetObjectItemCaseSensitive(j, "matchLabels");
	if (ml && !cJSON_IsNull(ml)) {
		if (!cJSON_IsObject(ml)) {
			seterr(err, errlen, "matchLabels: must be an object");
			goto fail;
		}
		for (const cJSON *l = ml->child; l; l = l->next) {
			if (!cJSON_IsString(l)) {
				seterr(err, errlen, "matchLabels: value of \"%.64s\" must be a string", l->string);
				goto fail;
			}
			struct requirement *r = sel_push(sel, err, errlen);
			if (!r)
				goto fail;
			r->op = OP_EQ;
			if (!(r->key = strdup(l->string))) {
				seterr(err, errlen, "out of memory");
				goto fail;
			}
			if (!req_add_value(r, l->valuestring, strlen(l->valuestring), err, errlen))
				goto fail;
			char why[384];
			why[0] = '\0';
			if (!req_validate(r, why, sizeof why)) {
				seterr(err, errlen, "matchLabels: %s", why);
				goto fail;
			}
		}
	}
	if (!add_expressions(sel, cJSON_GetObjectItemCaseSensitive(j, "matchExpressions"), false, err, errlen))
		goto fail;
	return sel;
fail:
	label_selector_free(sel);
	return NULL;
}

/* String form of a scalar label or field value; NULL for null, objects,
 * arrays. buf holds number forms. */
static const char *scalar_string(const cJSON *v, char *buf, size_t len)
{
	if (!v)
		return NULL;
	if (cJSON_IsString(v))
		return v->valuestring ? v->valuestring : "";
	if (cJSON_IsTrue(v))
		return "true";
	if (cJSON_IsFalse(v))
		return "false";
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (isfinite(d) && d == floor(d) && fabs(d) < 1e17) {
			snprintf(buf, len, "%.0f", d);
		} else {
			/* shortest form that reads back the same, as Go prints */
			for (int prec = 15; prec <= 17; prec++) {
				snprintf(buf, len, "%.*g", prec, d);
				if (strtod(buf, NULL) == d)
					break;
			}
		}
		return buf;
	}
	return NULL;
}

bool label_selector_matches(const struct label_selector *s, const cJSON *labels)
{
	if (!s)
		return true;
	if (!cJSON_IsObject(labels))
		labels = NULL;
	for (size_t i = 0; i < s->n; i++) {
		char buf[64];
		const cJSON *v = labels ? cJSON_GetObjectItemCaseSensitive(labels, s->reqs[i].key) : NULL;
		if (!req_matches(&s->reqs[i], scalar_string(v, buf, sizeof buf)))
			return false;
	}
	return true;
}

bool label_selector_empty(const struct label_selector *s)
{
	return !s || s->n == 0;
}

bool node_selector_requirements_match(const cJSON *exprs, const char *(*lookup)(const char *key, void *ud), void *ud)
{
	struct label_selector sel = {NULL, 0};
	char err[64];
	bool ok = add_expressions(&sel, exprs, true, err, sizeof err);
	for (size_t i = 0; ok && i < sel.n; i++)
		ok = req_matches(&sel.reqs[i], lookup ? lookup(sel.reqs[i].key, ud) : NULL);
	for (size_t i = 0; i < sel.n; i++)
		req_clear(&sel.reqs[i]);
	free(sel.reqs);
	return ok;
}

/* ---- field selectors (apimachinery fields.ParseSelector) ---- */

struct field_term {
	char *key;
	char *value;
	bool neq;
};

struct field_selector {
	struct field_term *terms;
	size_t n;
};

void field_selector_free(struct field_selector *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->terms[i].key);
		free(s->terms[i].value);
	}
	free(s->terms);
	free(s);
}

/* fields.UnescapeValue: "\\\\", "\\," and "\\=" are the only escapes and a
 * bare ',' or '=' is not allowed. Writes into out (room for n+1). */
static bool unescape_value(const char *v, size_t n, char *out, char *err, size_t errlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (c == '\\') {
			if (i + 1 >= n) {
				seterr(err, errlen, "invalid field selector: invalid escape sequence: \\");
				return false;
			}
			c = v[++i];
			if (c != '\\' && c != ',' && c != '=') {
				seterr(err, errlen, "invalid field selector: invalid escape sequence: \\%c", c);
				return false;
			}
		} else if (c == ',' || c == '=') {
			seterr(err, errlen, "invalid field selector: unescaped character: %c", c);
			return false;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

static void trim(const char **p, size_t *n)
{
	while (*n && is_blank(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && is_blank((*p)[*n - 1]))
		(*n)--;
}

static bool parse_field_term(struct field_selector *sel, const char *whole, const char *t, size_t n, char *err,
			     size_t errlen)
{
	trim(&t, &n);
	if (n == 0)
		return true;
	/* The first operator outside an escape splits the term; "!=" and "=="
	 * are tried before "=" at each position, as splitTerm does. */
	size_t opat = n, oplen = 0;
	bool neq = false;
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '\\') {
			i++;
			continue;
		}
		if (t[i] == '!' && i + 1 < n && t[i + 1] == '=') {
			opat = i, oplen = 2, neq = true;
			break;
		}
		if (t[i] == '=') {
			opat = i;
			oplen = (i + 1 < n && t[i + 1] == '=') ? 2 : 1;
			break;
		}
	}
	if (!oplen) {
		seterr(err, errlen, "invalid selector: '%.200s'; can't understand '%.*s'", whole, n > 200 ? 200 : (int)n, t);
		return false;
	}
	const char *k = t, *v = t + opat + oplen;
	size_t kn = opat, vn = n - opat - oplen;
	trim(&k, &kn);
	trim(&v, &vn);
	if (kn == 0) {
		seterr(err, errlen, "invalid selector: '%.200s'; field name is empty", whole);
		return false;
	}
	if (sel->n >= SELECTOR_MAX_TERMS) {
		seterr(err, errlen, "too many field selector terms (limit %d)", SELECTOR_MAX_TERMS);
		return false;
	}
	struct field_term *nt = realloc(sel->terms, (sel->n + 1) * sizeof *nt);
	if (!nt) {
		seterr(err, errlen, "out of memory");
		return false;
	}
	sel->terms = nt;
	struct field_term *ft = &nt[sel->n];
	ft->key = xstrndup(k, kn);
	ft->value = malloc(vn + 1);
	ft->neq = neq;
	sel->n++; /* owned from here, freed with the selector */
	if (!ft->key || !ft->value) {
		seterr(err, errlen, "out of memory");
		return false;
	}
	return unescape_value(v, vn, ft->value, err, errlen);
}

struct field_selector *field_selector_parse(const char *s, char *err, size_t errlen)
{
	if (!s)
		s = "";
	size_t len = strnlen(s, SELECTOR_MAX_LEN + 1);
	if (len > SELECTOR_MAX_LEN) {
		seterr(err, errlen, "selector longer than %d bytes", SELECTOR_MAX_LEN);
		return NULL;
	}
	struct field_selector *sel = calloc(1, sizeof *sel);
	if (!sel) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	/* Terms split on commas that are not escaped (splitTerms). */
	size_t start = 0;
	for (size_t i = 0;; i++) {
		if (i + 1 < len && s[i] == '\\') {
			i++;
			continue;
		}
		if (i >= len || s[i] == ',') {
			if (!parse_field_term(sel, s, s + start, i - start, err, errlen)) {
				field_selector_free(sel);
				return NULL;
			}
			if (i >= len)
				break;
			start = i + 1;
		}
	}
	return sel;
}

bool field_selector_matches(const struct field_selector *s, const cJSON *obj)
{
	if (!s)
		return true;
	for (size_t i = 0; i < s->n; i++) {
		const struct field_term *t = &s->terms[i];
		const cJSON *v = obj ? json_get(obj, t->key) : NULL;
		char buf[64];
		const char *str;
		bool eq;
		if (!v || cJSON_IsNull(v)) {
			eq = t->value[0] == '\0';
		} else if ((str = scalar_string(v, buf, sizeof buf))) {
			eq = strcmp(str, t->value) == 0;
		} else {
			eq = false; /* objects and arrays have no string form */
		}
		if (eq == t->neq)
			return false;
	}
	return true;
}

const char *field_selector_name(const struct field_selector *s)
{
	if (!s || s->n == 0)
		return NULL;
	const char *name = NULL;
	for (size_t i = 0; i < s->n; i++) {
		const struct field_term *t = &s->terms[i];
		if (t->neq || strcmp(t->key, "metadata.name") != 0)
			return NULL;
		if (name && strcmp(name, t->value) != 0)
			return NULL;
		name = t->value;
	}
	return name;
}

size_t field_selector_len(const struct field_selector *s)
{
	return s ? s->n : 0;
}

const char *field_selector_key(const struct field_selector *s, size_t i)
{
	return s && i < s->n ? s->terms[i].key : NULL;
}
