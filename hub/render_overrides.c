/* OverridePolicy / ClusterOverridePolicy application (render.h,
 * render_apply_overrides) and the pod spec of a workload template
 * (render_pod_spec, also used for propagateDeps). Part of the render
 * module: pure functions, no I/O. */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "jsonutil.h"
#include "patch.h"
#include "yamljson.h"

static const char *kind_of(const cJSON *o) { return json_get_str(o, "kind"); }

static const char *meta(const cJSON *o, const char *f)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json_get(o, "metadata"), f));
}

static bool str_in(const cJSON *arr, const char *s)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return true;
	}
	return false;
}

/* Pod spec paths (JSON pointers) of a workload kind, as Karmada's
 * overridemanager knows them. */
static const char *pod_spec_pointer(const cJSON *m)
{
	const char *k = kind_of(m);
	if (!k)
		return NULL;
	if (strcmp(k, "Pod") == 0)
		return "/spec";
	if (strcmp(k, "Deployment") == 0 || strcmp(k, "StatefulSet") == 0 || strcmp(k, "DaemonSet") == 0 ||
	    strcmp(k, "ReplicaSet") == 0 || strcmp(k, "Job") == 0)
		return "/spec/template/spec";
	if (strcmp(k, "CronJob") == 0)
		return "/spec/jobTemplate/spec/template/spec";
	return NULL;
}

/* Resolves a JSON pointer ("/a/b/0", ~0 ~1 escapes). */
static cJSON *pointer_get(cJSON *doc, const char *ptr)
{
	if (!ptr)
		return NULL;
	if (!*ptr)
		return doc;
	if (*ptr != '/')
		return NULL;
	cJSON *cur = doc;
	const char *p = ptr + 1;
	char tok[512];
	for (;;) {
		size_t n = 0;
		while (*p && *p != '/') {
			char c = *p++;
			if (c == '~' && (*p == '0' || *p == '1')) {
				c = *p == '0' ? '~' : '/';
				p++;
			}
			if (n + 1 < sizeof tok)
				tok[n++] = c;
		}
		tok[n] = '\0';
		if (cJSON_IsArray(cur)) {
			char *end;
			long i = strtol(tok, &end, 10);
			if (*end || end == tok || i < 0)
				return NULL;
			cur = cJSON_GetArrayItem(cur, (int)i);
		} else if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
		} else {
			return NULL;
		}
		if (!cur)
			return NULL;
		if (!*p)
			return cur;
		p++;
	}
}

const cJSON *render_pod_spec(const cJSON *tmpl)
{
	const char *ps = pod_spec_pointer(tmpl);
	return ps ? pointer_get((cJSON *)tmpl, ps) : NULL;
}

struct image_ref {
	char host[256], repo[512], tag[256], digest[256];
};

static void image_parse(const char *image, struct image_ref *r)
{
	memset(r, 0, sizeof *r);
	char rest[512];
	snprintf(rest, sizeof rest, "%s", image);
	char *at = strchr(rest, '@');
	if (at) {
		snprintf(r->digest, sizeof r->digest, "%s", at + 1);
		*at = '\0';
	}
	char *slash = strrchr(rest, '/');
	char *colon = strrchr(rest, ':');
	if (colon && (!slash || colon > slash)) {
		snprintf(r->tag, sizeof r->tag, "%s", colon + 1);
		*colon = '\0';
	}
	char *first = strchr(rest, '/');
	if (first) {
		size_t hl = (size_t)(first - rest);
		char host[256];
		snprintf(host, sizeof host, "%.*s", (int)hl, rest);
		if (strchr(host, '.') || strchr(host, ':') || strcmp(host, "localhost") == 0) {
			snprintf(r->host, sizeof r->host, "%s", host);
			snprintf(r->repo, sizeof r->repo, "%s", first + 1);
			return;
		}
	}
	snprintf(r->repo, sizeof r->repo, "%s", rest);
}

static void image_string(const struct image_ref *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s%s%s", r->host, r->host[0] ? "/" : "", r->repo, r->tag[0] ? ":" : "", r->tag,
		 r->digest[0] ? "@" : "", r->digest);
}

static void concat(char *dst, size_t len, const char *add)
{
	size_t n = strlen(dst);
	if (n < len)
		snprintf(dst + n, len - n, "%s", add);
}

/* One image part (registry or repository) under an add, replace or remove operator. */
static void edit_part(char *part, size_t len, bool add, bool rep, bool rem, const char *val)
{
	if (add)
		concat(part, len, val);
	else if (rep)
		snprintf(part, len, "%s", val);
	else if (rem)
		part[0] = '\0';
}

static void override_image(cJSON *img, const cJSON *ov)
{
	if (!cJSON_IsString(img))
		return;
	const char *comp = json_get_str(ov, "component"), *op = json_get_str(ov, "operator");
	const char *val = json_get_str(ov, "value");
	if (!comp || !op)
		return;
	if (!val)
		val = "";
	struct image_ref r;
	image_parse(img->valuestring, &r);
	bool add = strcmp(op, "add") == 0, rep = strcmp(op, "replace") == 0, rem = strcmp(op, "remove") == 0;
	if (strcmp(comp, "Registry") == 0) {
		edit_part(r.host, sizeof r.host, add, rep, rem, val);
	} else if (strcmp(comp, "Repository") == 0) {
		edit_part(r.repo, sizeof r.repo, add, rep, rem, val);
	} else if (strcmp(comp, "Tag") == 0) {
		if (add || rep) {
			r.tag[0] = r.digest[0] = '\0';
			if (strchr(val, ':'))
				snprintf(r.digest, sizeof r.digest, "%s", val);
			else
				snprintf(r.tag, sizeof r.tag, "%s", val);
		} else if (rem) {
			r.tag[0] = r.digest[0] = '\0';
		}
	}
	char out[1400];
	image_string(&r, out, sizeof out);
	cJSON_SetValuestring(img, out);
}

static void apply_image_overriders(cJSON *m, const cJSON *list)
{
	const cJSON *ov;
	cJSON_ArrayForEach(ov, list)
	{
		const char *path = json_get_str(ov, "predicate.path");
		if (path) {
			override_image(pointer_get(m, path), ov);
			continue;
		}
		const char *ps = pod_spec_pointer(m);
		cJSON *spec = ps ? pointer_get(m, ps) : NULL;
		static const char *const lists[] = {"containers", "initContainers", NULL};
		for (int i = 0; spec && lists[i]; i++) {
			cJSON *c;
			cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, lists[i]))
				override_image(cJSON_GetObjectItemCaseSensitive(c, "image"), ov);
		}
	}
}

/* commandOverrider / argsOverrider: add appends, remove drops values. */
static void apply_list_overriders(cJSON *m, const cJSON *list, const char *field)
{
	const char *ps = pod_spec_pointer(m);
	cJSON *spec = ps ? pointer_get(m, ps) : NULL;
	if (!spec)
		return;
	const cJSON *ov;
	cJSON_ArrayForEach(ov, list)
	{
		const char *cname = json_get_str(ov, "containerName"), *op = json_get_str(ov, "operator");
		if (!cname || !op)
			continue;
		cJSON *c;
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "containers"))
		{
			const char *n = json_get_str(c, "name");
			if (!n || strcmp(n, cname) != 0)
				continue;
			cJSON *arr = cJSON_GetObjectItemCaseSensitive(c, field);
			const cJSON *v;
			if (strcmp(op, "add") == 0) {
				if (!cJSON_IsArray(arr)) {
					arr = cJSON_CreateArray();
					json_set(c, field, arr);
				}
				cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(ov, "value"))
					cJSON_AddItemToArray(arr, json_dup(v));
			} else if (strcmp(op, "remove") == 0 && cJSON_IsArray(arr)) {
				const cJSON *vals = cJSON_GetObjectItemCaseSensitive(ov, "value");
				for (int i = cJSON_GetArraySize(arr) - 1; i >= 0; i--) {
					cJSON *item = cJSON_GetArrayItem(arr, i);
					if (cJSON_IsString(item) && str_in(vals, item->valuestring))
						cJSON_DeleteItemFromArray(arr, i);
				}
			}
		}
	}
}

/* labelsOverrider / annotationsOverrider: add sets, replace changes only
 * existing keys, remove deletes existing keys. */
static void apply_map_overriders(cJSON *m, const cJSON *list, const char *field)
{
	const cJSON *ov;
	cJSON_ArrayForEach(ov, list)
	{
		const char *op = json_get_str(ov, "operator");
		if (!op)
			continue;
		cJSON *md = json_ensure_obj(m, "metadata");
		cJSON *map = cJSON_GetObjectItemCaseSensitive(md, field);
		const cJSON *kv;
		cJSON_ArrayForEach(kv, cJSON_GetObjectItemCaseSensitive(ov, "value"))
		{
			bool exists = cJSON_GetObjectItemCaseSensitive(map, kv->string) != NULL;
			if (strcmp(op, "add") == 0) {
				if (!cJSON_IsObject(map)) {
					map = cJSON_CreateObject();
					json_set(md, field, map);
				}
				json_set(map, kv->string, json_dup(kv));
			} else if (strcmp(op, "replace") == 0 && exists) {
				json_set(map, kv->string, json_dup(kv));
			} else if (strcmp(op, "remove") == 0 && exists) {
				cJSON_DeleteItemFromObjectCaseSensitive(map, kv->string);
			}
		}
	}
}

static void replace_contents(cJSON *dst, cJSON *src)
{
	cJSON *child = dst->child;
	dst->child = src->child;
	src->child = child;
	cJSON_Delete(src);
}

/* JSON patch operations from overrider entries: {subPath|path, operator,
 * value} -> {path, op, value}. */
static cJSON *patch_ops(const cJSON *list, const char *path_field)
{
	cJSON *ops = cJSON_CreateArray();
	const cJSON *pt;
	cJSON_ArrayForEach(pt, list)
	{
		cJSON *o = cJSON_CreateObject();
		const char *op = json_get_str(pt, "operator"), *path = json_get_str(pt, path_field);
		cJSON_AddStringToObject(o, "op", op ? op : "");
		cJSON_AddStringToObject(o, "path", path ? path : "");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(pt, "value");
		if (v && !(op && strcmp(op, "remove") == 0))
			cJSON_AddItemToObject(o, "value", json_dup(v));
		cJSON_AddItemToArray(ops, o);
	}
	return ops;
}

static int apply_plaintext(cJSON *m, const cJSON *list, char *err, size_t errlen)
{
	if (cJSON_GetArraySize(list) == 0)
		return 0;
	cJSON *ops = patch_ops(list, "path");
	cJSON *res = patch_json(m, ops, err, errlen);
	cJSON_Delete(ops);
	if (!res)
		return -1;
	replace_contents(m, res);
	return 0;
}

/* Go's encoding/json (through evanphx/json-patch) writes maps with sorted
 * keys; so does the JSON a fieldOverrider leaves behind. */
static void sort_keys(cJSON *j)
{
	if (cJSON_IsArray(j) || cJSON_IsObject(j))
		for (cJSON *c = j->child; c; c = c->next)
			sort_keys(c);
	if (!cJSON_IsObject(j) || !j->child)
		return;
	/* insertion sort on the sibling list (objects are small) */
	cJSON *sorted = NULL;
	for (cJSON *c = j->child, *next; c; c = next) {
		next = c->next;
		cJSON **at = &sorted;
		while (*at && strcmp((*at)->string, c->string) <= 0)
			at = &(*at)->next;
		c->next = *at;
		*at = c;
	}
	cJSON *prev = NULL, *last = NULL;
	for (cJSON *c = sorted; c; c = c->next) {
		c->prev = prev;
		prev = c;
		last = c;
	}
	j->child = sorted;
	sorted->prev = last; /* cJSON: the first item's prev is the last item */
}

/* fieldOverrider: JSON patch operations inside a string field that holds
 * JSON or YAML (a ConfigMap's config file), as Karmada's
 * applyFieldOverriders: the field must be a string; YAML goes to JSON, is
 * patched, and is written back as YAML. */
static int apply_field_overriders(cJSON *m, const cJSON *list, char *err, size_t errlen)
{
	const cJSON *fo;
	cJSON_ArrayForEach(fo, list)
	{
		const char *fp = json_get_str(fo, "fieldPath");
		cJSON *field = fp ? patch_pointer_get(m, fp) : NULL;
		if (!cJSON_IsString(field)) {
			snprintf(err, errlen, "Get object's value by overrider's path(%s) is not string", fp ? fp : "");
			return -1;
		}
		const cJSON *yops = cJSON_GetObjectItemCaseSensitive(fo, "yaml");
		bool yaml = cJSON_GetArraySize(yops) > 0;
		const cJSON *list_ops = yaml ? yops : cJSON_GetObjectItemCaseSensitive(fo, "json");
		if (cJSON_GetArraySize(list_ops) == 0)
			continue;
		char perr[512] = "";
		const char *text = field->valuestring;
		cJSON *data = yaml ? yaml_parse_one(text, strlen(text), perr, sizeof perr)
				   : json_parse_limited(text, strlen(text), JSON_MAX_DEPTH, perr, sizeof perr);
		if (!data) {
			snprintf(err, errlen, "fieldOverrider at %s: the field is not %s%s%s", fp, yaml ? "YAML" : "JSON",
				 perr[0] ? ": " : "", perr);
			return -1;
		}
		cJSON *ops = patch_ops(list_ops, "subPath");
		cJSON *res = patch_json(data, ops, perr, sizeof perr);
		cJSON_Delete(ops);
		cJSON_Delete(data);
		if (!res) {
			snprintf(err, errlen, "fieldOverrider at %s: %s", fp, perr);
			return -1;
		}
		sort_keys(res);
		char *out = yaml ? yaml_emit(res, perr, sizeof perr) : json_print(res);
		cJSON_Delete(res);
		if (!out) {
			snprintf(err, errlen, "fieldOverrider at %s: %s", fp, perr);
			return -1;
		}
		cJSON_SetValuestring(field, out);
		free(out);
	}
	return 0;
}

static int apply_overriders(cJSON *m, const cJSON *ov, char *err, size_t errlen)
{
	apply_image_overriders(m, cJSON_GetObjectItemCaseSensitive(ov, "imageOverrider"));
	apply_list_overriders(m, cJSON_GetObjectItemCaseSensitive(ov, "commandOverrider"), "command");
	apply_list_overriders(m, cJSON_GetObjectItemCaseSensitive(ov, "argsOverrider"), "args");
	apply_map_overriders(m, cJSON_GetObjectItemCaseSensitive(ov, "labelsOverrider"), "labels");
	apply_map_overriders(m, cJSON_GetObjectItemCaseSensitive(ov, "annotationsOverrider"), "annotations");
	if (apply_field_overriders(m, cJSON_GetObjectItemCaseSensitive(ov, "fieldOverrider"), err, errlen) < 0)
		return -1;
	return apply_plaintext(m, cJSON_GetObjectItemCaseSensitive(ov, "plaintext"), err, errlen);
}

struct matched_rule {
	const cJSON *policy;
	const cJSON *overriders;
	int priority;
	const char *name;
};

/* Override policies whose selectors pick m, with the rules that target the
 * cluster, sorted by implicit priority then name (stable). */
static int collect_rules(const cJSON *m, const cJSON *cluster, const cJSON *policies, bool cluster_scoped,
			 struct matched_rule **out)
{
	int n = 0, cap = 0;
	*out = NULL;
	const char *mns = meta(m, "namespace");
	const cJSON *p;
	cJSON_ArrayForEach(p, policies)
	{
		if (meta(p, "deletionTimestamp"))
			continue;
		const char *pns = cluster_scoped ? NULL : meta(p, "namespace");
		if (!cluster_scoped && (!pns || !mns || strcmp(pns, mns) != 0))
			continue;
		const cJSON *sels = json_get(p, "spec.resourceSelectors");
		int prio = MATCH_NONE;
		if (cJSON_GetArraySize(sels) == 0) {
			prio = MATCH_ALL;
		} else {
			const cJSON *s;
			cJSON_ArrayForEach(s, sels)
			{
				int pr = (int)detector_selector_match(s, m, pns);
				if (pr > prio)
					prio = pr;
			}
		}
		if (prio == MATCH_NONE)
			continue;
		const cJSON *rules = json_get(p, "spec.overrideRules");
		int nr = cJSON_GetArraySize(rules);
		bool legacy = nr == 0;
		for (int ri = 0; ri < (legacy ? 1 : nr); ri++) {
			const cJSON *rule = legacy ? NULL : cJSON_GetArrayItem(rules, ri);
			const cJSON *tc = legacy ? json_get(p, "spec.targetCluster")
						 : cJSON_GetObjectItemCaseSensitive(rule, "targetCluster");
			const cJSON *ovs = legacy ? json_get(p, "spec.overriders")
						  : cJSON_GetObjectItemCaseSensitive(rule, "overriders");
			if (tc && !cJSON_IsNull(tc) && !(cluster && sched_cluster_affinity_matches(cluster, tc)))
				continue;
			if (!ovs)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				*out = realloc(*out, (size_t)cap * sizeof **out);
			}
			(*out)[n++] = (struct matched_rule){p, ovs, prio, meta(p, "name") ? meta(p, "name") : ""};
		}
	}
	/* insertion sort: stable */
	for (int i = 1; i < n; i++) {
		struct matched_rule x = (*out)[i];
		int j = i - 1;
		while (j >= 0 && ((*out)[j].priority > x.priority ||
				  ((*out)[j].priority == x.priority && strcmp((*out)[j].name, x.name) > 0))) {
			(*out)[j + 1] = (*out)[j];
			j--;
		}
		(*out)[j + 1] = x;
	}
	return n;
}

static void record_applied(cJSON **list, const struct matched_rule *r)
{
	if (!list)
		return;
	if (!*list)
		*list = cJSON_CreateArray();
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "policyName", r->name);
	cJSON_AddItemToObject(e, "overriders", json_dup(r->overriders));
	cJSON_AddItemToArray(*list, e);
}

int render_apply_overrides(cJSON *manifest, const cJSON *cluster, const cJSON *cops, const cJSON *ops,
			   cJSON **applied_cops, cJSON **applied_ops, char *err, size_t errlen)
{
	if (applied_cops)
		*applied_cops = NULL;
	if (applied_ops)
		*applied_ops = NULL;
	struct matched_rule *cr = NULL, *orr = NULL;
	/* Collect both lists from the unmodified manifest, as Karmada does. */
	int nc = collect_rules(manifest, cluster, cops, true, &cr);
	int no = meta(manifest, "namespace") ? collect_rules(manifest, cluster, ops, false, &orr) : 0;
	int rc = 0;
	for (int i = 0; i < nc && rc == 0; i++) {
		rc = apply_overriders(manifest, cr[i].overriders, err, errlen);
		if (rc == 0)
			record_applied(applied_cops, &cr[i]);
	}
	for (int i = 0; i < no && rc == 0; i++) {
		rc = apply_overriders(manifest, orr[i].overriders, err, errlen);
		if (rc == 0)
			record_applied(applied_ops, &orr[i]);
	}
	free(cr);
	free(orr);
	return rc;
}
