#include "jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool json_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n;
		unsigned int cp;
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

/* A lexical pre-scan: bounds depth and number length before cJSON sees the
 * input, so its recursion and fixed number buffer are never stressed. */
static int prescan(const char *s, size_t len, int max_depth, char *err, size_t errlen)
{
	int depth = 0;
	bool in_str = false;
	size_t numlen = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\') {
				/* \u0000 would become a NUL inside a C string: everything
				 * after it would be cut off silently (a name, a key or a
				 * value stored other than as sent). */
				if (i + 5 < len && s[i + 1] == 'u' && s[i + 2] == '0' && s[i + 3] == '0' &&
				    s[i + 4] == '0' && s[i + 5] == '0') {
					snprintf(err, errlen, "\\u0000 (NUL) in a string at offset %zu is not supported", i);
					return -1;
				}
				i++;
			} else if (c == '"')
				in_str = false;
			continue;
		}
		if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			if (++numlen > 40) {
				snprintf(err, errlen, "number too long");
				return -1;
			}
			continue;
		}
		numlen = 0;
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[') {
			if (++depth > max_depth) {
				snprintf(err, errlen, "nesting deeper than %d", max_depth);
				return -1;
			}
		} else if (c == '}' || c == ']')
			depth--;
	}
	return 0;
}

cJSON *json_parse_limited(const char *buf, size_t len, int max_depth, char *err, size_t errlen)
{
	if (!buf || len == 0) { /* an empty evbuffer pulls up to NULL */
		snprintf(err, errlen, "empty body");
		return NULL;
	}
	if (!json_utf8_valid(buf, len)) {
		snprintf(err, errlen, "invalid UTF-8");
		return NULL;
	}
	if (memchr(buf, '\0', len)) {
		snprintf(err, errlen, "NUL byte in body");
		return NULL;
	}
	if (prescan(buf, len, max_depth, err, errlen) < 0)
		return NULL;
	char *copy = malloc(len + 1);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
	if (!j) {
		size_t off = end ? (size_t)(end - copy) : 0;
		if (!end) {
			const char *ep = cJSON_GetErrorPtr();
			off = (ep && ep >= copy && ep <= copy + len) ? (size_t)(ep - copy) : 0;
		}
		snprintf(err, errlen, "invalid JSON at offset %zu", off);
	}
	free(copy);
	return j;
}

int json_depth(const cJSON *j)
{
	if (!j || !(cJSON_IsObject(j) || cJSON_IsArray(j)))
		return 0;
	int max = 0;
	for (const cJSON *c = j->child; c; c = c->next) {
		int d = json_depth(c);
		if (d > max)
			max = d;
	}
	return max + 1;
}

cJSON *json_get(const cJSON *obj, const char *dotted)
{
	char key[256];
	const char *p = dotted;
	const cJSON *cur = obj;
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof key)
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (!cJSON_IsObject(cur))
			return NULL;
		cur = cJSON_GetObjectItemCaseSensitive(cur, key);
		p = dot ? dot + 1 : p + n;
	}
	return (cJSON *)cur;
}

const char *json_get_str(const cJSON *obj, const char *dotted)
{
	cJSON *j = json_get(obj, dotted);
	return cJSON_IsString(j) ? j->valuestring : NULL;
}

double json_get_num(const cJSON *obj, const char *dotted, double def)
{
	cJSON *j = json_get(obj, dotted);
	return cJSON_IsNumber(j) ? j->valuedouble : def;
}

cJSON *json_ensure_obj(cJSON *obj, const char *dotted)
{
	char key[256];
	const char *p = dotted;
	cJSON *cur = obj;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof key)
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, key);
		if (!cJSON_IsObject(next)) {
			next = cJSON_CreateObject();
			json_set(cur, key, next);
		}
		cur = next;
		p = dot ? dot + 1 : p + n;
	}
	return cur;
}

void json_set(cJSON *obj, const char *key, cJSON *item)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
	else
		cJSON_AddItemToObject(obj, key, item);
}

void json_set_str(cJSON *obj, const char *key, const char *val)
{
	json_set(obj, key, cJSON_CreateString(val));
}

void json_set_num(cJSON *obj, const char *key, double val)
{
	json_set(obj, key, cJSON_CreateNumber(val));
}

/* A container copied at the top loses its key (cJSON_Duplicate keeps it). */
static void drop_key(cJSON *out)
{
	if (!out->string)
		return;
	if (!(out->type & cJSON_StringIsConst))
		cJSON_free(out->string);
	out->string = NULL;
	out->type &= ~cJSON_StringIsConst;
}

/* Each item copied once by cJSON_Duplicate without its children (its key
 * and string value with it), the children linked here, as cJSON keeps a
 * list: the first child's prev is the last. Adding each copy with
 * cJSON_AddItemToObject copied every key twice (once in the copy, once
 * when added, the first freed): a fifth of the controller's scheduling
 * stage was copying bindings (issue 15, perf). A container copied at the
 * top loses its key, as before. */
static cJSON *dup_depth(const cJSON *j, int depth)
{
	if (depth > JSON_MAX_DEPTH * 2)
		return cJSON_CreateNull();
	cJSON *out = cJSON_Duplicate(j, 0);
	bool obj = cJSON_IsObject(j);
	if (!out || !(obj || cJSON_IsArray(j)))
		return out;
	if (depth == 0)
		drop_key(out);
	for (const cJSON *c = j->child; c; c = c->next) {
		if (obj && !c->string)
			continue; /* cJSON_AddItemToObject refused these */
		cJSON *d = dup_depth(c, depth + 1);
		if (!d)
			continue;
		if (obj && !d->string) {
			cJSON_AddItemToObject(out, c->string, d); /* the null past the depth bound */
			continue;
		}
		if (!out->child) {
			out->child = d;
		} else {
			d->prev = out->child->prev;
			out->child->prev->next = d;
		}
		out->child->prev = d;
	}
	return out;
}

/* Whether a node of j sits deeper than limit (j at depth 0). */
static bool deeper_than(const cJSON *j, int depth, int limit)
{
	if (depth > limit)
		return true;
	for (const cJSON *c = j->child; c; c = c->next)
		if (depth + 1 > limit || ((cJSON_IsObject(c) || cJSON_IsArray(c)) && deeper_than(c, depth + 1, limit)))
			return true;
	return false;
}

/* Within the bound, cJSON_Duplicate copies the whole tree (a third faster
 * than one call per item); past it, dup_depth cuts the deep parts. */
cJSON *json_dup(const cJSON *j)
{
	if (!j)
		return NULL;
	if ((cJSON_IsObject(j) || cJSON_IsArray(j)) && deeper_than(j, 0, JSON_MAX_DEPTH * 2))
		return dup_depth(j, 0);
	cJSON *out = cJSON_Duplicate(j, 1);
	if (out && (cJSON_IsObject(j) || cJSON_IsArray(j)))
		drop_key(out);
	return out;
}

/* cJSON prints (its number formatting costs about 3,000 instructions a
 * number: sprintf, sscanf back, maybe sprintf again; kept, since the
 * stored text must stay what cJSON writes). */
char *json_print(const cJSON *j)
{
	return cJSON_PrintUnformatted(j);
}

static size_t string_bound(const char *s) { return s ? 2 + 6 * strlen(s) : 4; }

static size_t item_bound(const cJSON *j)
{
	size_t n = 1; /* the comma before a sibling */
	if (j->string)
		n += string_bound(j->string) + 1;
	if (cJSON_IsString(j) || cJSON_IsRaw(j))
		return n + string_bound(j->valuestring);
	if (cJSON_IsNumber(j))
		return n + 32; /* cJSON prints at most 17 significant digits */
	if (cJSON_IsArray(j) || cJSON_IsObject(j)) {
		n += 2;
		for (const cJSON *c = j->child; c; c = c->next)
			n += item_bound(c);
		return n;
	}
	return n + 5; /* true, false, null */
}

size_t json_print_bound(const cJSON *j) { return j ? item_bound(j) : 0; }

static bool equal_depth(const cJSON *a, const cJSON *b, int depth)
{
	if (a == b)
		return true;
	if (!a || !b || depth > JSON_MAX_DEPTH * 2)
		return false;
	int ta = a->type & 0xFF, tb = b->type & 0xFF;
	if (ta != tb)
		return false;
	if (cJSON_IsNumber(a))
		return a->valuedouble == b->valuedouble;
	if (cJSON_IsString(a) || cJSON_IsRaw(a))
		return a->valuestring && b->valuestring && strcmp(a->valuestring, b->valuestring) == 0;
	if (cJSON_IsArray(a)) {
		const cJSON *x = a->child, *y = b->child;
		for (; x && y; x = x->next, y = y->next)
			if (!equal_depth(x, y, depth + 1))
				return false;
		return !x && !y;
	}
	if (cJSON_IsObject(a)) {
		int na = 0, nb = 0;
		for (const cJSON *x = a->child; x; x = x->next)
			na++;
		for (const cJSON *y = b->child; y; y = y->next)
			nb++;
		if (na != nb)
			return false;
		/* Same count and every key of a found equal in b: equal, provided
		 * keys are unique (as in any object we produce). */
		for (const cJSON *x = a->child; x; x = x->next) {
			const cJSON *y = x->string ? cJSON_GetObjectItemCaseSensitive(b, x->string) : NULL;
			if (!y || !equal_depth(x, y, depth + 1))
				return false;
		}
		return true;
	}
	return true; /* null, true, false: the type says it all */
}

bool json_equal(const cJSON *a, const cJSON *b)
{
	return equal_depth(a, b, 0);
}

const cJSON *json_condition(const cJSON *obj, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, json_get(obj, "status.conditions"))
	{
		const char *t = json_get_str(c, "type");
		if (t && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}
