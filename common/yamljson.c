#include "yamljson.h"
#include "jsonutil.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Members a mapping may have before key lookups switch from a scan to a
 * hash table (repeated keys must not make a large mapping quadratic). */
#define KEYSET_MIN 8
/* Longest plain scalar tried as a number; longer ones stay strings. */
#define NUM_MAX_LEN 128

struct anchor {
	char *name;
	const cJSON *node; /* in a document, or in the graveyard */
	int depth;         /* height: 0 for a scalar */
	size_t count;      /* nodes a copy creates */
	size_t bytes;      /* scalar and key bytes a copy duplicates */
};

struct keyset {
	cJSON **slots;
	size_t cap; /* power of two, or 0 before the set is built */
	size_t n;
};

struct frame {
	cJSON *node;       /* array or object, already attached to its parent */
	char *anchor;      /* registered when the node ends */
	char *key;         /* pending key of an object, NULL when a key is due */
	int depth;         /* height of the subtree so far */
	size_t start;      /* node counter before this node */
	size_t start_bytes;
	size_t members;
	struct keyset keys;
};

struct ctx {
	yaml_parser_t parser;
	const char *buf;
	size_t len;
	char *err;
	size_t errlen;
	cJSON *docs;
	cJSON *root;      /* node of the current document */
	cJSON *graveyard; /* replaced values and anchored keys: anchors may point there */
	struct frame stack[YAML_MAX_DEPTH];
	int sp;
	struct anchor *anchors;
	size_t nanchors, capanchors;
	size_t nodes, aliases, alias_nodes;
	size_t bytes, alias_bytes; /* of scalars and keys, to size anchors */
};

static void seterr(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(struct ctx *c, const char *fmt, ...)
{
	if (!c->err || !c->errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
}

static void seterr_at(struct ctx *c, yaml_mark_t m, const char *what)
{
	seterr(c, "yaml: line %zu, column %zu: %s", m.line + 1, m.column + 1, what);
}

/* ---- scalar typing (go-yaml v2 resolve.go) ---- */

static const char *const true_words[] = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
static const char *const false_words[] = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
static const char *const null_words[] = {"", "~", "null", "Null", "NULL"};

static bool in_words(const char *s, const char *const *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, w[i]) == 0)
			return true;
	return false;
}

#define IN_WORDS(s, w) in_words((s), (w), sizeof(w) / sizeof((w)[0]))

static int digit_val(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return 99;
}

/* strconv.ParseInt(s, 0, 64), falling back to ParseUint for unsigned
 * values above int64: sign, then 0x / 0o / 0b / leading-0 octal prefixes. */
static bool parse_go_int(const char *s, double *out)
{
	bool neg = false, sign = false;
	if (*s == '+' || *s == '-') {
		neg = *s == '-';
		sign = true;
		s++;
	}
	int base = 10;
	if (s[0] == '0' && s[1]) {
		if (s[1] == 'x' || s[1] == 'X') {
			base = 16;
			s += 2;
		} else if (s[1] == 'o' || s[1] == 'O') {
			base = 8;
			s += 2;
		} else if (s[1] == 'b' || s[1] == 'B') {
			base = 2;
			s += 2;
		} else {
			base = 8;
			s += 1;
		}
	}
	if (!*s)
		return false;
	uint64_t lim = neg ? (uint64_t)1 << 63 : sign ? ((uint64_t)1 << 63) - 1 : UINT64_MAX;
	uint64_t v = 0;
	for (; *s; s++) {
		int d = digit_val(*s);
		if (d >= base)
			return false;
		if (v > (lim - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = neg ? -(double)v : (double)v;
	return true;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	} else {
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9')
				s++;
		}
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

static bool parse_float(const char *s, double *out)
{
	if (!yaml_style_float(s))
		return false;
	double d = strtod(s, NULL);
	if (isinf(d)) /* out of range: Go's ParseFloat fails, the scalar stays a string */
		return false;
	*out = d;
	return true;
}

/* A plain scalar as a number, following go-yaml's first-character hint:
 * digits and signs try int then float with '_' removed, '.' tries float. */
static bool plain_number(const char *v, size_t n, bool allow_float, double *out)
{
	char clean[NUM_MAX_LEN + 1];
	if (n == 0 || n > NUM_MAX_LEN)
		return false;
	char c0 = v[0];
	if (c0 == '.')
		return allow_float && parse_float(v, out);
	if (!((c0 >= '0' && c0 <= '9') || c0 == '+' || c0 == '-'))
		return false;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] != '_')
			clean[k++] = v[i];
	clean[k] = '\0';
	if (parse_go_int(clean, out))
		return true;
	return allow_float && parse_float(clean, out);
}

#define TAG_PREFIX "tag:yaml.org,2002:"

/* Builds the node for a scalar event; NULL with err set on failure. */
static cJSON *resolve_scalar(struct ctx *c, const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	if (memchr(v, '\0', n)) {
		seterr_at(c, ev->start_mark, "NUL character in scalar");
		return NULL;
	}
	const char *t = NULL; /* short form of a yaml.org tag */
	if (tag && strcmp(tag, "!") != 0)
		t = strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0 ? tag + strlen(TAG_PREFIX) : "";
	else if (tag || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		t = "str";
	cJSON *out = NULL;
	double d;
	if (!t) {
		if (IN_WORDS(v, true_words))
			out = cJSON_CreateTrue();
		else if (IN_WORDS(v, false_words))
			out = cJSON_CreateFalse();
		else if (IN_WORDS(v, null_words))
			out = cJSON_CreateNull();
		else if (plain_number(v, n, true, &d))
			out = cJSON_CreateNumber(d);
		else
			out = cJSON_CreateString(v);
	} else if (strcmp(t, "int") == 0 || strcmp(t, "float") == 0) {
		if (!plain_number(v, n, t[0] == 'f', &d)) {
			char msg[160];
			snprintf(msg, sizeof msg, "cannot decode `%.64s` as a !!%s", v, t);
			seterr_at(c, ev->start_mark, msg);
			return NULL;
		}
		out = cJSON_CreateNumber(d);
	} else if (strcmp(t, "bool") == 0) {
		bool yes = IN_WORDS(v, true_words);
		if (!yes && !IN_WORDS(v, false_words)) {
			char msg[160];
			snprintf(msg, sizeof msg, "cannot decode `%.64s` as a !!bool", v);
			seterr_at(c, ev->start_mark, msg);
			return NULL;
		}
		out = cJSON_CreateBool(yes);
	} else if (strcmp(t, "null") == 0) {
		out = cJSON_CreateNull();
	} else {
		/* !!str, !!binary, !!timestamp and application tags: the text */
		out = cJSON_CreateString(v);
	}
	if (!out)
		seterr(c, "yaml: out of memory");
	return out;
}

/* Mapping keys become strings through the same typing, as
 * sigs.k8s.io/yaml does when it turns YAML maps into JSON objects. */
static char *key_string(const cJSON *k)
{
	char buf[64];
	if (cJSON_IsString(k))
		return strdup(k->valuestring);
	if (cJSON_IsTrue(k))
		return strdup("true");
	if (cJSON_IsFalse(k))
		return strdup("false");
	if (cJSON_IsNull(k))
		return strdup("null");
	if (cJSON_IsNumber(k)) {
		double d = k->valuedouble;
		if (d == floor(d) && fabs(d) < 1e17) {
			snprintf(buf, sizeof buf, "%.0f", d);
		} else {
			for (int prec = 15; prec <= 17; prec++) {
				snprintf(buf, sizeof buf, "%.*g", prec, d);
				if (strtod(buf, NULL) == d)
					break;
			}
		}
		return strdup(buf);
	}
	return NULL;
}

/* ---- mapping members: last value of a repeated key wins ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Slot holding key, or the empty slot where it would go. */
static cJSON **keyset_slot(struct keyset *ks, const char *key)
{
	size_t i = (size_t)hash_str(key) & (ks->cap - 1);
	while (ks->slots[i] && strcmp(ks->slots[i]->string, key) != 0)
		i = (i + 1) & (ks->cap - 1);
	return &ks->slots[i];
}

static bool keyset_grow(struct keyset *ks, const cJSON *obj)
{
	size_t cap = ks->cap ? ks->cap * 2 : 32;
	cJSON **slots = calloc(cap, sizeof *slots);
	if (!slots)
		return false;
	free(ks->slots);
	ks->slots = slots;
	ks->cap = cap;
	ks->n = 0;
	for (cJSON *m = obj->child; m; m = m->next) {
		*keyset_slot(ks, m->string) = m;
		ks->n++;
	}
	return true;
}

static bool add_member(struct ctx *c, struct frame *f, const char *key, cJSON *item)
{
	cJSON *old = NULL;
	cJSON **slot = NULL;
	if (f->members >= KEYSET_MIN && (f->keys.cap == 0 || (f->keys.n + 1) * 2 > f->keys.cap)) {
		if (!keyset_grow(&f->keys, f->node))
			goto oom;
	}
	if (f->keys.cap) {
		slot = keyset_slot(&f->keys, key);
		old = *slot;
	} else {
		for (cJSON *m = f->node->child; m && !old; m = m->next)
			if (strcmp(m->string, key) == 0)
				old = m;
	}
	if (old) {
		/* an anchor may point at the old value: keep it until the end */
		cJSON_DetachItemViaPointer(f->node, old);
		cJSON_AddItemToArray(c->graveyard, old);
		f->members--;
	}
	if (!cJSON_AddItemToObject(f->node, key, item)) {
		cJSON_Delete(item);
		goto oom;
	}
	f->members++;
	if (slot) {
		if (!old)
			f->keys.n++;
		*slot = f->node->child->prev; /* the member just appended */
	}
	return true;
oom:
	seterr(c, "yaml: out of memory");
	return false;
}

/* ---- tree building ---- */

static bool count_nodes(struct ctx *c, size_t n)
{
	if (n > YAML_MAX_NODES || c->nodes > YAML_MAX_NODES - n) {
		seterr(c, "yaml: document too large (more than %d nodes)", YAML_MAX_NODES);
		return false;
	}
	c->nodes += n;
	return true;
}

/* Attaches a finished or just-opened node of height depth where the
 * document expects the next value. Takes ownership of item. */
static bool place(struct ctx *c, cJSON *item, int depth)
{
	if (c->sp == 0) {
		cJSON_Delete(c->root);
		c->root = item;
		return true;
	}
	struct frame *f = &c->stack[c->sp - 1];
	if (f->depth < depth + 1)
		f->depth = depth + 1;
	if (cJSON_IsArray(f->node)) {
		if (!cJSON_AddItemToArray(f->node, item)) {
			cJSON_Delete(item);
			seterr(c, "yaml: out of memory");
			return false;
		}
		return true;
	}
	char *key = f->key;
	f->key = NULL;
	bool ok = add_member(c, f, key ? key : "null", item);
	free(key);
	return ok;
}

static bool key_due(const struct ctx *c)
{
	return c->sp > 0 && cJSON_IsObject(c->stack[c->sp - 1].node) && !c->stack[c->sp - 1].key;
}

static bool add_anchor(struct ctx *c, const char *name, const cJSON *node, int depth, size_t count, size_t bytes)
{
	if (c->nanchors == c->capanchors) {
		size_t cap = c->capanchors ? c->capanchors * 2 : 16;
		struct anchor *a = realloc(c->anchors, cap * sizeof *a);
		if (!a)
			goto oom;
		c->anchors = a;
		c->capanchors = cap;
	}
	struct anchor *a = &c->anchors[c->nanchors];
	if (!(a->name = strdup(name)))
		goto oom;
	a->node = node;
	a->depth = depth;
	a->count = count;
	a->bytes = bytes;
	c->nanchors++;
	return true;
oom:
	seterr(c, "yaml: out of memory");
	return false;
}

static const struct anchor *find_anchor(const struct ctx *c, const char *name)
{
	for (size_t i = c->nanchors; i-- > 0;) /* the latest definition wins */
		if (strcmp(c->anchors[i].name, name) == 0)
			return &c->anchors[i];
	return NULL;
}

static void clear_anchors(struct ctx *c)
{
	for (size_t i = 0; i < c->nanchors; i++)
		free(c->anchors[i].name);
	c->nanchors = 0;
}

static void pop_frame(struct ctx *c)
{
	struct frame *f = &c->stack[--c->sp];
	free(f->anchor);
	free(f->key);
	free(f->keys.slots);
	memset(f, 0, sizeof *f);
}

static bool on_scalar(struct ctx *c, const yaml_event_t *ev)
{
	cJSON *v = resolve_scalar(c, ev);
	if (!v)
		return false;
	const char *anchor = (const char *)ev->data.scalar.anchor;
	size_t bytes = ev->data.scalar.length + 1;
	c->bytes += bytes;
	if (key_due(c)) {
		struct frame *f = &c->stack[c->sp - 1];
		f->key = key_string(v);
		if (!f->key) {
			cJSON_Delete(v);
			seterr(c, "yaml: out of memory");
			return false;
		}
		if (!anchor) {
			cJSON_Delete(v);
			return true;
		}
		cJSON_AddItemToArray(c->graveyard, v); /* owned there, for aliases */
		return add_anchor(c, anchor, v, 0, 1, bytes);
	}
	if (!count_nodes(c, 1)) {
		cJSON_Delete(v);
		return false;
	}
	if (!place(c, v, 0))
		return false;
	return !anchor || add_anchor(c, anchor, v, 0, 1, bytes);
}

static bool on_alias(struct ctx *c, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	if (++c->aliases > YAML_MAX_ALIASES) {
		seterr(c, "yaml: document contains excessive aliasing");
		return false;
	}
	const struct anchor *a = find_anchor(c, name);
	if (!a) {
		char msg[128];
		snprintf(msg, sizeof msg, "unknown anchor '%.64s' referenced", name);
		seterr_at(c, ev->start_mark, msg);
		return false;
	}
	/* a few aliases of one large scalar multiply memory as surely as
	 * nested aliases multiply nodes */
	if (a->bytes > YAML_MAX_ALIAS_BYTES || c->alias_bytes + a->bytes > YAML_MAX_ALIAS_BYTES) {
		seterr(c, "yaml: document contains excessive aliasing");
		return false;
	}
	c->alias_bytes += a->bytes;
	c->bytes += a->bytes;
	if (key_due(c)) {
		struct frame *f = &c->stack[c->sp - 1];
		if (a->depth > 0) {
			seterr_at(c, ev->start_mark, "mapping keys must be scalars");
			return false;
		}
		if (!(f->key = key_string(a->node))) {
			seterr(c, "yaml: out of memory");
			return false;
		}
		return true;
	}
	if (c->sp + a->depth > YAML_MAX_DEPTH) {
		seterr(c, "yaml: exceeded max depth of %d", YAML_MAX_DEPTH);
		return false;
	}
	if (a->count > YAML_MAX_ALIAS_NODES || c->alias_nodes + a->count > YAML_MAX_ALIAS_NODES) {
		seterr(c, "yaml: document contains excessive aliasing");
		return false;
	}
	c->alias_nodes += a->count;
	if (!count_nodes(c, a->count))
		return false;
	/* depth is bounded by YAML_MAX_DEPTH, within json_dup's own bound */
	cJSON *copy = json_dup(a->node);
	if (!copy) {
		seterr(c, "yaml: out of memory");
		return false;
	}
	if (copy->string && !(copy->type & cJSON_StringIsConst)) {
		/* a copied member value brings its old key along */
		cJSON_free(copy->string);
		copy->string = NULL;
	}
	return place(c, copy, a->depth);
}

static bool on_start(struct ctx *c, const yaml_event_t *ev, bool mapping)
{
	if (key_due(c)) {
		seterr_at(c, ev->start_mark, "mapping keys must be scalars");
		return false;
	}
	if (c->sp >= YAML_MAX_DEPTH) {
		seterr(c, "yaml: exceeded max depth of %d", YAML_MAX_DEPTH);
		return false;
	}
	size_t start = c->nodes;
	if (!count_nodes(c, 1))
		return false;
	cJSON *node = mapping ? cJSON_CreateObject() : cJSON_CreateArray();
	const yaml_char_t *anchor = mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	char *aname = anchor ? strdup((const char *)anchor) : NULL;
	if (!node || (anchor && !aname)) {
		cJSON_Delete(node);
		free(aname);
		seterr(c, "yaml: out of memory");
		return false;
	}
	if (!place(c, node, 1)) {
		free(aname);
		return false;
	}
	struct frame *f = &c->stack[c->sp++];
	memset(f, 0, sizeof *f);
	f->node = node;
	f->anchor = aname;
	f->depth = 1;
	f->start = start;
	f->start_bytes = c->bytes;
	return true;
}

static bool on_end(struct ctx *c)
{
	if (c->sp == 0)
		return true; /* libyaml pairs start and end events */
	struct frame *f = &c->stack[c->sp - 1];
	if (f->key) {
		/* a key without a value: libyaml emits an empty scalar, but be safe */
		if (!count_nodes(c, 1) || !place(c, cJSON_CreateNull(), 0))
			return false;
	}
	int depth = f->depth;
	if (f->anchor && !add_anchor(c, f->anchor, f->node, depth, c->nodes - f->start, c->bytes - f->start_bytes))
		return false;
	pop_frame(c);
	if (c->sp > 0 && c->stack[c->sp - 1].depth < depth + 1)
		c->stack[c->sp - 1].depth = depth + 1;
	return true;
}

static bool on_document_end(struct ctx *c)
{
	while (c->sp > 0)
		pop_frame(c);
	clear_anchors(c);
	cJSON *root = c->root;
	c->root = NULL;
	if (!root || cJSON_IsNull(root)) {
		cJSON_Delete(root);
		return true;
	}
	if (!cJSON_AddItemToArray(c->docs, root)) {
		cJSON_Delete(root);
		seterr(c, "yaml: out of memory");
		return false;
	}
	return true;
}

/* Line and column of a byte offset (reader errors carry only the offset). */
static void offset_position(const struct ctx *c, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	size_t bol = 0;
	if (off > c->len)
		off = c->len;
	for (size_t i = 0; i < off; i++) {
		if (c->buf[i] == '\n') {
			(*line)++;
			bol = i + 1;
		}
	}
	*col = off - bol + 1;
}

static void parser_error(struct ctx *c)
{
	const yaml_parser_t *p = &c->parser;
	const char *problem = p->problem ? p->problem : "unknown problem parsing YAML content";
	if (p->error == YAML_MEMORY_ERROR) {
		seterr(c, "yaml: out of memory");
	} else if (p->error == YAML_READER_ERROR) {
		size_t line, col;
		offset_position(c, p->problem_offset, &line, &col);
		if (strstr(problem, "UTF-8") || strstr(problem, "Unicode"))
			seterr(c, "yaml: line %zu, column %zu: invalid UTF-8 (%s)", line, col, problem);
		else
			seterr(c, "yaml: line %zu, column %zu: %s", line, col, problem);
	} else if (p->context) {
		seterr(c, "yaml: line %zu, column %zu: %s (%s at line %zu)", p->problem_mark.line + 1,
		       p->problem_mark.column + 1, problem, p->context, p->context_mark.line + 1);
	} else {
		seterr(c, "yaml: line %zu, column %zu: %s", p->problem_mark.line + 1, p->problem_mark.column + 1,
		       problem);
	}
}

static bool on_event(struct ctx *c, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		c->root = NULL;
		return true;
	case YAML_DOCUMENT_END_EVENT:
		return on_document_end(c);
	case YAML_SCALAR_EVENT:
		return on_scalar(c, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(c, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(c, ev, false);
	case YAML_MAPPING_START_EVENT:
		return on_start(c, ev, true);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_end(c);
	default:
		return true;
	}
}

cJSON *yaml_parse_documents(const char *buf, size_t len, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (len > YAML_MAX_INPUT) {
		if (err && errlen)
			snprintf(err, errlen, "yaml: input larger than %u bytes", YAML_MAX_INPUT);
		return NULL;
	}
	struct ctx *c = calloc(1, sizeof *c);
	if (!c) {
		if (err && errlen)
			snprintf(err, errlen, "yaml: out of memory");
		return NULL;
	}
	c->buf = buf ? buf : "";
	c->len = buf ? len : 0;
	c->err = err;
	c->errlen = errlen;
	c->docs = cJSON_CreateArray();
	c->graveyard = cJSON_CreateArray();
	bool ok = false;
	if (!c->docs || !c->graveyard || !yaml_parser_initialize(&c->parser)) {
		seterr(c, "yaml: out of memory");
		cJSON_Delete(c->docs);
		cJSON_Delete(c->graveyard);
		free(c);
		return NULL;
	}
	/* UTF-8 only: no UTF-16 detection from a BOM */
	yaml_parser_set_encoding(&c->parser, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&c->parser, (const unsigned char *)c->buf, c->len);
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&c->parser, &ev)) {
			parser_error(c);
			break;
		}
		bool good = on_event(c, &ev);
		yaml_event_type_t type = ev.type;
		yaml_event_delete(&ev);
		if (!good)
			break;
		if (type == YAML_STREAM_END_EVENT) {
			ok = true;
			break;
		}
	}
	yaml_parser_delete(&c->parser);
	while (c->sp > 0)
		pop_frame(c);
	clear_anchors(c);
	free(c->anchors);
	cJSON_Delete(c->root);
	cJSON_Delete(c->graveyard);
	cJSON *docs = c->docs;
	if (!ok) {
		cJSON_Delete(docs);
		docs = NULL;
	}
	free(c);
	return docs;
}

cJSON *yaml_parse_one(const char *buf, size_t len, char *err, size_t errlen)
{
	cJSON *docs = yaml_parse_documents(buf, len, err, errlen);
	if (!docs)
		return NULL;
	int n = cJSON_GetArraySize(docs);
	if (n != 1) {
		if (err && errlen)
			snprintf(err, errlen, "yaml: expected exactly one document, found %d", n);
		cJSON_Delete(docs);
		return NULL;
	}
	cJSON *doc = cJSON_DetachItemFromArray(docs, 0);
	cJSON_Delete(docs);
	return doc;
}

cJSON *yaml_parse_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "yaml: open %s: %s", path, strerror(errno));
		return NULL;
	}
	/* read in a loop: pipes and /proc files have no useful size */
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	bool toobig = false, ioerr = false;
	while (buf) {
		if (len == cap) {
			if (cap > YAML_MAX_INPUT) {
				toobig = true;
				break;
			}
			size_t ncap = cap * 2 > (size_t)YAML_MAX_INPUT + 1 ? (size_t)YAML_MAX_INPUT + 1 : cap * 2;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			ioerr = ferror(f) != 0;
			break;
		}
	}
	fclose(f);
	cJSON *docs = NULL;
	if (!buf) {
		if (err && errlen)
			snprintf(err, errlen, "yaml: out of memory");
	} else if (toobig || len > YAML_MAX_INPUT) {
		if (err && errlen)
			snprintf(err, errlen, "yaml: %s: file larger than %u bytes", path, YAML_MAX_INPUT);
	} else if (ioerr) {
		if (err && errlen)
			snprintf(err, errlen, "yaml: read %s: I/O error", path);
	} else {
		docs = yaml_parse_documents(buf, len, err, errlen);
	}
	free(buf);
	return docs;
}

/* ---- emitting ---------------------------------------------------------------------- */

struct outbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static int out_write(void *data, unsigned char *buffer, size_t size)
{
	struct outbuf *o = data;
	if (o->len + size + 1 > o->cap) {
		size_t cap = (o->len + size + 1) * 2;
		char *p = realloc(o->p, cap);
		if (!p) {
			o->oom = true;
			return 0;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, buffer, size);
	o->len += size;
	o->p[o->len] = '\0';
	return 1;
}

/* A string that a plain scalar would turn into something else (true, null,
 * 42, 1e3) must be quoted, as go-yaml's encoder does. */
static bool plain_reads_back_as_string(const char *v)
{
	double d;
	return !IN_WORDS(v, true_words) && !IN_WORDS(v, false_words) && !IN_WORDS(v, null_words) &&
	       !plain_number(v, strlen(v), true, &d);
}

/* Go's strconv.FormatFloat(f, 'g', -1, 64) for the values JSON can hold:
 * integers as integers, others in the shortest form that reads back. */
static void format_number(double d, char *buf, size_t len)
{
	if (d == floor(d) && fabs(d) < 1e15) {
		snprintf(buf, len, "%.0f", d);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static bool emit_scalar(yaml_emitter_t *e, const char *v, yaml_scalar_style_t style)
{
	yaml_event_t ev;
	return yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)TAG_PREFIX "str", (yaml_char_t *)v, (int)strlen(v),
					    style == YAML_PLAIN_SCALAR_STYLE || style == YAML_ANY_SCALAR_STYLE, 1, style) &&
	       yaml_emitter_emit(e, &ev);
}

static bool emit_node(yaml_emitter_t *e, const cJSON *j, int depth)
{
	yaml_event_t ev;
	if (depth > JSON_MAX_DEPTH)
		return false;
	if (cJSON_IsObject(j)) {
		int n = 0;
		for (const cJSON *c = j->child; c; c = c->next)
			n++;
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							 n ? YAML_BLOCK_MAPPING_STYLE : YAML_FLOW_MAPPING_STYLE) ||
		    !yaml_emitter_emit(e, &ev))
			return false;
		const cJSON **items = n ? malloc(sizeof *items * (size_t)n) : NULL;
		int k = 0;
		for (const cJSON *c = j->child; c; c = c->next)
			items[k++] = c;
		if (n)
			qsort(items, (size_t)n, sizeof *items, cmp_keys); /* go-yaml sorts map keys */
		bool ok = true;
		for (int i = 0; ok && i < n; i++)
			ok = emit_scalar(e, items[i]->string,
					 plain_reads_back_as_string(items[i]->string) ? YAML_ANY_SCALAR_STYLE
										       : YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
			     emit_node(e, items[i], depth + 1);
		free(items);
		return ok && yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(e, &ev);
	}
	if (cJSON_IsArray(j)) {
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  j->child ? YAML_BLOCK_SEQUENCE_STYLE : YAML_FLOW_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(e, &ev))
			return false;
		for (const cJSON *c = j->child; c; c = c->next)
			if (!emit_node(e, c, depth + 1))
				return false;
		return yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(e, &ev);
	}
	char num[64];
	const char *plain = NULL;
	if (cJSON_IsTrue(j))
		plain = "true";
	else if (cJSON_IsFalse(j))
		plain = "false";
	else if (cJSON_IsNull(j))
		plain = "null";
	else if (cJSON_IsNumber(j)) {
		format_number(j->valuedouble, num, sizeof num);
		plain = num;
	}
	if (plain)
		return yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)plain, (int)strlen(plain), 1, 0,
						    YAML_PLAIN_SCALAR_STYLE) &&
		       yaml_emitter_emit(e, &ev);
	const char *s = cJSON_IsString(j) ? j->valuestring : "";
	yaml_scalar_style_t style = !plain_reads_back_as_string(s) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
				    : strchr(s, '\n')                ? YAML_LITERAL_SCALAR_STYLE
								     : YAML_ANY_SCALAR_STYLE;
	return emit_scalar(e, s, style);
}

char *yaml_emit(const cJSON *doc, char *err, size_t errlen)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	struct outbuf o = {0};
	if (!yaml_emitter_initialize(&e)) {
		snprintf(err, errlen, "yaml: out of memory");
		return NULL;
	}
	yaml_emitter_set_output(&e, out_write, &o);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_indent(&e, 2);
	yaml_emitter_set_width(&e, -1);
	bool ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) && yaml_emitter_emit(&e, &ev) &&
		  yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) && yaml_emitter_emit(&e, &ev) &&
		  emit_node(&e, doc, 0) && yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&e, &ev) &&
		  yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&e, &ev) && yaml_emitter_flush(&e);
	if (!ok || o.oom) {
		snprintf(err, errlen, "yaml: cannot emit: %s", e.problem ? e.problem : o.oom ? "out of memory" : "nesting too deep");
		free(o.p);
		o.p = NULL;
	}
	yaml_emitter_delete(&e);
	return o.p;
}
