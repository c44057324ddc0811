/* jsonspan — see jsonspan.h. */
#include "jsonspan.h"

#include <stdbool.h>
#include <string.h>

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at the opening quote: returns just past the closing one, or NULL.
 * *escaped: the string held a backslash. */
static const char *skip_string(const char *p, const char *end, bool *escaped)
{
	for (p++; p < end; p++) {
		if (*p == '\\') {
			if (escaped)
				*escaped = true;
			p++;
			continue;
		}
		if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* p at a value: returns just past it, or NULL when malformed. */
static const char *skip_value(const char *p, const char *end)
{
	if (p >= end)
		return NULL;
	if (*p == '"')
		return skip_string(p, end, NULL);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (p < end) {
			char ch = *p;
			if (ch == '"') {
				p = skip_string(p, end, NULL);
				if (!p)
					return NULL;
				continue;
			}
			if (ch == '{' || ch == '[')
				depth++;
			else if (ch == '}' || ch == ']') {
				if (--depth == 0)
					return p + 1;
				if (depth < 0)
					return NULL;
			}
			p++;
		}
		return NULL;
	}
	/* a number, true, false, null */
	const char *s = p;
	while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
		p++;
	return p > s ? p : NULL;
}

int jsonspan_members(const char *text, size_t len, const char *const *names, int n, const char **vals, size_t *vlens)
{
	if (!text)
		return -1;
	for (int i = 0; i < n; i++)
		vals[i] = NULL, vlens[i] = 0;
	const char *p = skip_ws(text, text + len), *end = text + len;
	if (p >= end || *p != '{')
		return -1;
	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return 0;
	while (p < end) {
		if (*p != '"')
			return -1;
		bool escaped = false;
		const char *k = p + 1, *after = skip_string(p, end, &escaped);
		if (!after || escaped)
			return -1;
		size_t klen = (size_t)(after - 1 - k);
		p = skip_ws(after, end);
		if (p >= end || *p != ':')
			return -1;
		p = skip_ws(p + 1, end);
		const char *v = p;
		p = skip_value(p, end);
		if (!p)
			return -1;
		for (int i = 0; i < n; i++)
			if (!vals[i] && strlen(names[i]) == klen && memcmp(k, names[i], klen) == 0) {
				vals[i] = v;
				vlens[i] = (size_t)(p - v);
			}
		p = skip_ws(p, end);
		if (p < end && *p == '}')
			return 0;
		if (p >= end || *p != ',')
			return -1;
		p = skip_ws(p + 1, end);
	}
	return -1;
}

int jsonspan_member(const char *text, size_t len, const char *name, const char **val, size_t *vlen)
{
	const char *v;
	size_t vl;
	if (jsonspan_members(text, len, &name, 1, &v, &vl) < 0)
		return -1;
	if (!v)
		return 0;
	*val = v;
	*vlen = vl;
	return 1;
}

int jsonspan_same(const char *a, const char *b, const char *name)
{
	const char *va = NULL, *vb = NULL;
	size_t la = 0, lb = 0;
	int ra = a ? jsonspan_member(a, strlen(a), name, &va, &la) : 0;
	int rb = b ? jsonspan_member(b, strlen(b), name, &vb, &lb) : 0;
	if (ra < 0 || rb < 0)
		return -1;
	if (ra != rb)
		return 0;
	return ra == 0 || (la == lb && memcmp(va, vb, la) == 0);
}
