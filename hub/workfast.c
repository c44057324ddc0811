#include "workfast.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_core.h"
#include "detector.h"
#include "jsonspan.h"
#include "jsonutil.h"
#include "log.h"
#include "numparse.h"
#include "objclient.h"
#include "objects.h"
#include "timefmt.h"
#include "validate.h"

/* What every Work this path writes over starts with: the generic path
 * prints apiVersion, kind, metadata, spec and status in that order. */
static const char WORK_HEAD[] = "{\"apiVersion\":\"work.karmada.io/v1alpha1\",\"kind\":\"Work\",\"metadata\":";

/* Whether text is exactly {apiVersion, kind, metadata, spec[, status]} of
 * a Work, with the members' spans in o. */
static bool split_work(const char *text, struct workfast_old *o)
{
	size_t len = strlen(text);
	if (strncmp(text, WORK_HEAD, sizeof WORK_HEAD - 1) != 0)
		return false;
	static const char *const names[] = {"metadata", "spec", "status"};
	const char *v[3];
	size_t vl[3];
	if (jsonspan_members(text, len, names, 3, v, vl) < 0 || !v[0] || !v[1])
		return false;
	o->meta = v[0], o->mlen = vl[0], o->spec = v[1], o->slen = vl[1], o->status = v[2], o->tlen = vl[2];
	/* in this order, nothing else: {apiVersion, kind, metadata, spec[, status]} */
	const char *p = o->meta + o->mlen;
	if (o->meta != text + sizeof WORK_HEAD - 1 || strncmp(p, ",\"spec\":", 8) != 0 || o->spec != p + 8)
		return false;
	p = o->spec + o->slen;
	if (o->status) {
		if (strncmp(p, ",\"status\":", 10) != 0 || o->status != p + 10)
			return false;
		p = o->status + o->tlen;
	}
	return strcmp(p, "}") == 0;
}

/* The stored metadata members the generic update keeps or drops; a Work
 * with any other server-side member (managedFields, a deletion) goes the
 * generic way. */
static bool plain_metadata(const cJSON *m)
{
	static const char *const allowed[] = {"name",	     "namespace", "finalizers",	     "labels",	       "annotations",
					      "uid",	     "creationTimestamp", "generation", "resourceVersion", NULL};
	for (const cJSON *x = m->child; x; x = x->next) {
		bool ok = false;
		for (int i = 0; allowed[i] && !ok; i++)
			ok = x->string && strcmp(x->string, allowed[i]) == 0;
		if (!ok)
			return false;
	}
	return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "uid")) &&
	       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "creationTimestamp")) &&
	       cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, "generation")) &&
	       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "resourceVersion"));
}

/* The prototype as render_work makes it: {apiVersion, kind, metadata,
 * spec} of a Work, its metadata without server-side members. */
static bool plain_proto(const cJSON *proto)
{
	static const char *const top[] = {"apiVersion", "kind", "metadata", "spec", NULL};
	const cJSON *x = proto ? proto->child : NULL;
	for (int i = 0; top[i]; i++, x = x->next)
		if (!x || !x->string || strcmp(x->string, top[i]) != 0)
			return false;
	if (x || strcmp(json_get_str(proto, "apiVersion") ? json_get_str(proto, "apiVersion") : "", "work.karmada.io/v1alpha1") != 0 ||
	    strcmp(json_get_str(proto, "kind") ? json_get_str(proto, "kind") : "", "Work") != 0)
		return false;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(proto, "metadata");
	if (!cJSON_IsObject(m))
		return false;
	static const char *const allowed[] = {"name", "namespace", "finalizers", "labels", "annotations", NULL};
	for (x = m->child; x; x = x->next) {
		bool ok = false;
		for (int i = 0; allowed[i] && !ok; i++)
			ok = x->string && strcmp(x->string, allowed[i]) == 0;
		if (!ok)
			return false;
	}
	return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "name")) &&
	       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "namespace")) &&
	       cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(proto, "spec"));
}

int workfast_read(struct controller *c, const struct kind_info *wk, const char *ns, const char *name,
		  struct workfast_old *o)
{
	memset(o, 0, sizeof *o);
	char key[1024];
	int rc = store_get(c->st, obj_key(key, sizeof key, wk, ns, name), &o->text, &o->rev);
	if (rc == STORE_NOT_FOUND)
		return 0;
	if (rc != STORE_OK || !o->text)
		return -1;
	if (!split_work(o->text, o))
		return 2;
	o->m = cJSON_ParseWithLength(o->meta, o->mlen);
	if (!cJSON_IsObject(o->m) || !plain_metadata(o->m))
		return 2;
	const char *id = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o->m, "labels"), WORK_PERMANENT_ID_LABEL));
	/* An id the generic path's validation would refuse (not a label
	 * value), or none (the generic path keeps what is there), leaves this
	 * Work to it. */
	if (!id || !*id || !is_label_value(id))
		return 2;
	snprintf(o->id, sizeof o->id, "%s", id);
	/* The write's precondition, as obj_update_cur takes it: the stored
	 * object's resourceVersion. */
	const char *rv = json_get_str(o->m, "resourceVersion");
	long long r;
	if (!rv || num_parse_ll(rv, 1, LLONG_MAX, &r) < 0)
		return 2;
	o->rev = r;
	return 1;
}

void workfast_old_free(struct workfast_old *o)
{
	free(o->text);
	cJSON_Delete(o->m);
	memset(o, 0, sizeof *o);
}

/* A raw member holding text[0..len). */
static cJSON *raw_n(const char *text, size_t len)
{
	char *s = malloc(len + 1);
	if (!s)
		return NULL;
	memcpy(s, text, len);
	s[len] = '\0';
	cJSON *r = cJSON_CreateRaw(s);
	free(s);
	return r;
}

/* The Work the pass keeps of a stored one: its metadata (taken) and status. */
static cJSON *entry_of(cJSON *meta, cJSON *status)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "apiVersion", "work.karmada.io/v1alpha1");
	cJSON_AddStringToObject(e, "kind", "Work");
	cJSON_AddItemToObject(e, "metadata", meta);
	if (status)
		cJSON_AddItemToObject(e, "status", status);
	return e;
}

static bool has_condition(const cJSON *status, const char *type)
{
	const cJSON *cd;
	cJSON_ArrayForEach(cd, cJSON_GetObjectItemCaseSensitive(status, "conditions"))
	{
		const char *t = json_get_str(cd, "type");
		if (t && strcmp(t, type) == 0)
			return true;
	}
	return false;
}

/* Members of a and b equal but b's resourceVersion (a has none). */
static bool same_but_rv(const cJSON *a, cJSON *b)
{
	cJSON *rv = cJSON_DetachItemFromObjectCaseSensitive(b, "resourceVersion");
	bool same = json_equal(a, b);
	if (rv)
		cJSON_AddItemToObject(b, "resourceVersion", rv);
	return same;
}

/* ---- a value's text against a tree, without parsing the text ---------------------
 * What json_equal would answer for cJSON_Parse(text) and node: 1 equal,
 * 0 different, -1 cannot tell here (an escape this does not decode,
 * malformed text, too deep): the caller parses then. */

static const char *ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* A string at *p (after its quote is checked) into buf, decoded; -1 on a
 * \u escape, a string longer than buf or malformed text. */
static int str_at(const char **pp, const char *end, char *buf, size_t cap, size_t *n)
{
	const char *p = *pp + 1;
	size_t k = 0;
	for (; p < end && *p != '"'; p++) {
		char ch = *p;
		if (ch == '\\') {
			if (++p >= end)
				return -1;
			switch (*p) {
			case '"': ch = '"'; break;
			case '\\': ch = '\\'; break;
			case '/': ch = '/'; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			default: return -1; /* \uXXXX: left to cJSON */
			}
		}
		if (k + 1 >= cap)
			return -1;
		buf[k++] = ch;
	}
	if (p >= end)
		return -1;
	buf[k] = '\0';
	*n = k;
	*pp = p + 1;
	return 0;
}

static int text_equal_at(const char **pp, const char *end, const cJSON *node, int depth)
{
	const char *p = ws(*pp, end);
	if (p >= end || depth > 64 || !node)
		return -1;
	int t = node->type & 0xFF;
	if (*p == '{') {
		if (t != cJSON_Object)
			return 0;
		int count = 0, n = 0;
		for (const cJSON *c = node->child; c; c = c->next)
			n++;
		p = ws(p + 1, end);
		if (p < end && *p == '}') {
			*pp = p + 1;
			return n == 0;
		}
		for (;;) {
			char key[256];
			size_t kl;
			if (p >= end || *p != '"' || str_at(&p, end, key, sizeof key, &kl) < 0 || strlen(key) != kl)
				return -1;
			p = ws(p, end);
			if (p >= end || *p != ':')
				return -1;
			p++;
			const cJSON *child = cJSON_GetObjectItemCaseSensitive(node, key);
			if (!child)
				return 0;
			int r = text_equal_at(&p, end, child, depth + 1);
			if (r <= 0)
				return r;
			count++;
			p = ws(p, end);
			if (p < end && *p == ',') {
				p = ws(p + 1, end);
				continue;
			}
			if (p < end && *p == '}')
				break;
			return -1;
		}
		*pp = p + 1;
		return count == n; /* a key twice in the text: cJSON would keep both */
	}
	if (*p == '[') {
		if (t != cJSON_Array)
			return 0;
		const cJSON *c = node->child;
		p = ws(p + 1, end);
		if (p < end && *p == ']') {
			*pp = p + 1;
			return c == NULL;
		}
		for (;; c = c->next) {
			if (!c)
				return 0;
			int r = text_equal_at(&p, end, c, depth + 1);
			if (r <= 0)
				return r;
			p = ws(p, end);
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			if (p < end && *p == ']')
				break;
			return -1;
		}
		*pp = p + 1;
		return c->next == NULL;
	}
	if (*p == '"') {
		if (t == cJSON_Raw)
			return -1;
		if (t != cJSON_String)
			return 0;
		char buf[4096];
		size_t n;
		if (str_at(&p, end, buf, sizeof buf, &n) < 0 || strlen(buf) != n)
			return -1;
		*pp = p;
		return node->valuestring && strcmp(buf, node->valuestring) == 0;
	}
	static const struct {
		const char *word;
		int type;
	} words[] = {{"true", cJSON_True}, {"false", cJSON_False}, {"null", cJSON_NULL}};
	for (size_t i = 0; i < 3; i++) {
		size_t wl = strlen(words[i].word);
		if ((size_t)(end - p) >= wl && memcmp(p, words[i].word, wl) == 0) {
			*pp = p + wl;
			return t == words[i].type;
		}
	}
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		char num[64];
		size_t k = 0;
		while (p < end && k + 1 < sizeof num && strchr("+-0123456789.eE", *p))
			num[k++] = *p++;
		num[k] = '\0';
		char *stop = NULL;
		double v = strtod(num, &stop); /* as cJSON reads a number */
		if (!stop || *stop)
			return -1;
		*pp = p;
		return t == cJSON_Number && v == node->valuedouble;
	}
	return -1;
}

/* text[0..len) (one JSON value) against node, as json_equal(parse(text), node). */
static bool text_equals_tree(const char *text, size_t len, const cJSON *node)
{
	const char *p = text, *end = text + len;
	int r = text_equal_at(&p, end, node, 0);
	if (r >= 0 && ws(p, end) == end)
		return r == 1;
	if (r == 0)
		return false; /* a difference seen before the text ended */
	cJSON *o = cJSON_ParseWithLength(text, len);
	bool same = o && json_equal(o, node);
	cJSON_Delete(o);
	return same;
}

int workfast_write(struct workfast *wf, struct controller *c, const struct kind_info *wk, const char *ns,
		   const char *name, cJSON *proto, const struct render_work_in *in, const struct workfast_old *o,
		   cJSON **entry)
{
	*entry = NULL;
	if (wf->state < 0 || wf->expecting || detector_dispatch_suspended(in->binding, in->cluster))
		return WORKFAST_NO;
	/* A new Work: its namespace must exist, as obj_create checks. */
	if (!o) {
		char nk[512];
		store_key(nk, sizeof nk, "", "namespaces", "", ns);
		if (store_get(c->st, nk, NULL, NULL) != STORE_OK)
			return WORKFAST_NO;
	}
	/* Its status, kept: one with a Dispatching condition is sync_dispatching's. */
	cJSON *ost = o && o->status ? cJSON_ParseWithLength(o->status, o->tlen) : NULL;
	if ((o && o->status && !cJSON_IsObject(ost)) || has_condition(ost, "Dispatching")) {
		cJSON_Delete(ost);
		return WORKFAST_NO;
	}
	render_work_stamp_into(proto, in);
	const cJSON *pspec = cJSON_GetObjectItemCaseSensitive(proto, "spec");
	const cJSON *pmeta = cJSON_GetObjectItemCaseSensitive(proto, "metadata");
	char *spec_text = json_print(pspec);
	size_t spec_len = spec_text ? strlen(spec_text) : 0;
	if (!spec_text || !plain_proto(proto) ||
	    spec_len + (o ? o->tlen : 0) + json_print_bound(pmeta) + 1024 > OBJ_MAX_STORED_BYTES) {
		free(spec_text);
		cJSON_Delete(ost);
		return WORKFAST_NO;
	}
	/* The spec as stored: the same text is the same spec; other text may
	 * be the same spec in another key order (then no new generation). */
	bool spec_same = true;
	if (o && (o->slen != spec_len || memcmp(o->spec, spec_text, spec_len) != 0))
		spec_same = text_equals_tree(o->spec, o->slen, pspec);
	/* The metadata as obj_update_cur's merge (or obj_create) makes it. */
	cJSON *meta = json_dup(pmeta);
	if (o) {
		static const char *const keep[] = {"uid", "creationTimestamp", "generation", "name", "namespace", NULL};
		for (int i = 0; keep[i]; i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(o->m, keep[i]);
			if (v)
				json_set(meta, keep[i], json_dup(v));
			else
				cJSON_DeleteItemFromObjectCaseSensitive(meta, keep[i]);
		}
		if (!spec_same)
			json_set_num(meta, "generation", json_get_num(o->m, "generation", 1) + 1);
	} else {
		char uid[64], ts[40];
		obj_new_uid(uid, sizeof uid);
		json_set_str(meta, "uid", uid);
		json_set_str(meta, "creationTimestamp", time_rfc3339(time(NULL), ts, sizeof ts));
		json_set_num(meta, "generation", 1);
	}
	json_set_str(meta, "namespace", ns);
	bool noop = o && spec_same && same_but_rv(meta, o->m);
	cJSON *obj = NULL;
	if (!noop) {
		obj = cJSON_CreateObject();
		cJSON_AddStringToObject(obj, "apiVersion", "work.karmada.io/v1alpha1");
		cJSON_AddStringToObject(obj, "kind", "Work");
		cJSON_AddItemToObject(obj, "metadata", meta);
		cJSON_AddItemToObject(obj, "spec", cJSON_CreateRaw(spec_text));
		if (o && o->status)
			cJSON_AddItemToObject(obj, "status", raw_n(o->status, o->tlen));
		meta = NULL;
	}
	free(spec_text);
	if (wf->state == 0) {
		/* Unchecked: the generic path writes this Work; workfast_check compares. */
		cJSON_Delete(meta);
		cJSON_Delete(ost);
		wf->expect = obj;
		wf->expecting = true;
		wf->create = !o;
		return WORKFAST_NO;
	}
	wf->fast_writes++;
	if (noop) {
		cJSON_Delete(meta);
		*entry = entry_of(json_dup(o->m), ost);
		return 0;
	}
	struct api_error e = {0};
	int rc = objc_put_prepared(&c->oc, wk, ns, name, obj, o ? o->rev : -1, &e);
	if (rc < 0) {
		ctl_write_failed(c, "write", wk, ns, name, &e);
		cJSON_Delete(obj);
		*entry = o ? entry_of(json_dup(o->m), ost) : NULL;
		if (!o)
			cJSON_Delete(ost);
		return -1;
	}
	/* The stored Work (its resourceVersion set by the store) without its spec. */
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "spec");
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
	if (ost)
		cJSON_AddItemToObject(obj, "status", ost);
	*entry = obj;
	return 1;
}

void workfast_check(struct workfast *wf, int rc, const cJSON *stored)
{
	if (!wf->expecting)
		return;
	wf->expecting = false;
	cJSON *want = wf->expect;
	wf->expect = NULL;
	if (rc < 0) { /* no answer: the next Work checks */
		cJSON_Delete(want);
		return;
	}
	bool same;
	char *a = NULL, *b = NULL;
	if (!want) {
		same = rc == 0;
	} else if (rc == 0 || !stored) {
		same = false;
	} else {
		/* What the store set: the revision (and, for a new Work, uid and time). */
		cJSON *wm = cJSON_GetObjectItemCaseSensitive(want, "metadata");
		static const char *const server[] = {"uid", "creationTimestamp", "resourceVersion", NULL};
		for (int i = wf->create ? 0 : 2; server[i]; i++) {
			const cJSON *v = json_get(cJSON_GetObjectItemCaseSensitive(stored, "metadata"), server[i]);
			if (v)
				json_set(wm, server[i], json_dup(v));
		}
		a = json_print(want);
		b = json_print(stored);
		same = a && b && strcmp(a, b) == 0;
	}
	if (same) {
		wf->state = 1;
	} else {
		wf->state = -1;
		log_warn("controller: Works of this pass go the generic write path (the fast one would have %s)",
			 !want ? "found no change" : rc == 0 ? "written" : "stored other bytes");
	}
	free(a);
	free(b);
	cJSON_Delete(want);
}

void workfast_end(struct workfast *wf)
{
	cJSON_Delete(wf->expect);
	wf->expect = NULL;
	wf->expecting = false;
}
