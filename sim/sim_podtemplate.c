#include "sim_podtemplate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"

uint32_t sim_fnv32a(const void *data, size_t n, uint32_t h)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

void sim_safe_encode(const char *in, char *out, size_t outlen)
{
	static const char alphanums[] = "bcdfghjklmnpqrstvwxz2456789";
	size_t i = 0;
	if (!outlen)
		return;
	for (; in[i] && i + 1 < outlen; i++)
		out[i] = alphanums[(unsigned char)in[i] % (sizeof alphanums - 1)];
	out[i] = '\0';
}

static int cmp_keys(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

/* Sorts the keys of every object under j, in place. */
static void sort_keys(cJSON *j)
{
	if (!j || (!cJSON_IsObject(j) && !cJSON_IsArray(j)))
		return;
	int n = 0;
	for (cJSON *c = j->child; c; c = c->next) {
		sort_keys(c);
		n++;
	}
	if (!cJSON_IsObject(j) || n < 2)
		return;
	cJSON **v = malloc((size_t)n * sizeof *v);
	if (!v)
		return;
	int i = 0;
	for (cJSON *c = j->child; c; c = c->next)
		v[i++] = c;
	qsort(v, (size_t)n, sizeof *v, cmp_keys);
	for (i = 0; i < n; i++) {
		v[i]->prev = i ? v[i - 1] : v[n - 1]; /* cJSON: head->prev is the tail */
		v[i]->next = i + 1 < n ? v[i + 1] : NULL;
	}
	j->child = v[0];
	free(v);
}

cJSON *sim_canonical(const cJSON *j)
{
	cJSON *c = json_dup(j);
	sort_keys(c);
	return c;
}

static uint32_t hash_json(const cJSON *j, uint32_t h)
{
	cJSON *c = sim_canonical(j);
	char *s = c ? json_print(c) : NULL;
	if (s)
		h = sim_fnv32a(s, strlen(s), h);
	free(s);
	cJSON_Delete(c);
	return h;
}

const char *sim_pod_template_hash(const cJSON *tmpl, long collision_count, char *buf, size_t len)
{
	uint32_t h = hash_json(tmpl, SIM_FNV32_OFFSET);
	if (collision_count > 0) {
		char cc[32];
		snprintf(cc, sizeof cc, "%ld", collision_count);
		h = sim_fnv32a(cc, strlen(cc), h);
	}
	char dec[16];
	snprintf(dec, sizeof dec, "%u", (unsigned)h);
	sim_safe_encode(dec, buf, len);
	return buf;
}

static cJSON *without_hash(const cJSON *tmpl)
{
	cJSON *c = json_dup(tmpl);
	cJSON *labels = json_get(c, "metadata.labels");
	if (cJSON_IsObject(labels))
		cJSON_DeleteItemFromObjectCaseSensitive(labels, POD_TEMPLATE_HASH_LABEL);
	return c;
}

bool sim_template_equal_ignore_hash(const cJSON *a, const cJSON *b)
{
	cJSON *x = without_hash(a), *y = without_hash(b);
	bool eq = (!x && !y) || (x && y && json_equal(x, y));
	cJSON_Delete(x);
	cJSON_Delete(y);
	return eq;
}

cJSON *sim_owner_ref(const cJSON *owner)
{
	const char *name = json_get_str(owner, "metadata.name"), *uid = json_get_str(owner, "metadata.uid");
	const char *av = json_get_str(owner, "apiVersion"), *kind = json_get_str(owner, "kind");
	if (!name || !uid || !av || !kind)
		return NULL;
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "apiVersion", av);
	cJSON_AddStringToObject(r, "kind", kind);
	cJSON_AddStringToObject(r, "name", name);
	cJSON_AddStringToObject(r, "uid", uid);
	cJSON_AddBoolToObject(r, "controller", 1);
	cJSON_AddBoolToObject(r, "blockOwnerDeletion", 1);
	return r;
}

const cJSON *sim_controller_ref(const cJSON *obj)
{
	const cJSON *r;
	cJSON_ArrayForEach(r, json_get(obj, "metadata.ownerReferences"))
	{
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "controller")))
			return r;
	}
	return NULL;
}

bool sim_is_controlled_by(const cJSON *obj, const cJSON *owner)
{
	const cJSON *r = sim_controller_ref(obj);
	const char *kind = json_get_str(r, "kind"), *uid = json_get_str(r, "uid");
	const char *okind = json_get_str(owner, "kind"), *ouid = json_get_str(owner, "metadata.uid");
	return kind && uid && okind && ouid && strcmp(kind, okind) == 0 && strcmp(uid, ouid) == 0;
}

cJSON *sim_pod_from_template(const cJSON *owner, const cJSON *tmpl, const char *name, const char *node)
{
	cJSON *pod = cJSON_CreateObject();
	cJSON_AddStringToObject(pod, "apiVersion", "v1");
	cJSON_AddStringToObject(pod, "kind", "Pod");
	cJSON *meta = cJSON_AddObjectToObject(pod, "metadata");
	const char *oname = json_get_str(owner, "metadata.name");
	if (name) {
		cJSON_AddStringToObject(meta, "name", name);
	} else {
		char gen[300];
		snprintf(gen, sizeof gen, "%s-", oname ? oname : "pod");
		cJSON_AddStringToObject(meta, "generateName", gen);
	}
	const char *ns = json_get_str(owner, "metadata.namespace");
	if (ns)
		cJSON_AddStringToObject(meta, "namespace", ns);
	const cJSON *labels = json_get(tmpl, "metadata.labels");
	if (cJSON_IsObject(labels))
		cJSON_AddItemToObject(meta, "labels", json_dup(labels));
	const cJSON *ann = json_get(tmpl, "metadata.annotations");
	if (cJSON_IsObject(ann))
		cJSON_AddItemToObject(meta, "annotations", json_dup(ann));
	cJSON *ref = sim_owner_ref(owner);
	if (ref)
		cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"), ref);
	const cJSON *spec = json_get(tmpl, "spec");
	cJSON *pspec = cJSON_IsObject(spec) ? json_dup(spec) : cJSON_CreateObject();
	if (node)
		json_set_str(pspec, "nodeName", node);
	cJSON_AddItemToObject(pod, "spec", pspec);
	return pod;
}

const char *sim_pick_node(const cJSON *nodes, const cJSON *pods)
{
	const char *best = NULL;
	int best_n = 0;
	const cJSON *n;
	cJSON_ArrayForEach(n, nodes)
	{
		if (!cJSON_IsString(n))
			continue;
		int count = 0;
		const cJSON *p;
		cJSON_ArrayForEach(p, pods)
		{
			const char *pn = json_get_str(p, "spec.nodeName");
			count += pn && strcmp(pn, n->valuestring) == 0;
		}
		if (!best || count < best_n) {
			best = n->valuestring;
			best_n = count;
		}
	}
	return best;
}
