/* mcs.c — see mcs.h. */
#include "mcs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "jsonutil.h"
#include "kinds.h"
#include "log.h"
#include "objclient.h"
#include "xalloc.h"

#define MCS_GROUP "multicluster.x-k8s.io"
#define ES_PREFIX "karmada-es-"

struct mcs_ctl {
	struct event_base *base;
	struct store *st;
	struct obj_ctx *objs;
	struct objclient oc; /* every read and write of objects */
	bool write_failed;    /* in this pass: the next one comes after retry's backoff */
	struct backoff retry;
	struct event *ev;
	bool armed;
};

static const struct kind_info *K(const char *g, const char *v, const char *k) { return kinds_find_kind(g, v, k); }
#define WORK_K K("work.karmada.io", "v1alpha1", "Work")
#define CLUSTER_K K("cluster.karmada.io", "v1alpha1", "Cluster")
#define NS_K K("", "v1", "Namespace")

static cJSON *get_obj(struct mcs_ctl *m, const struct kind_info *k, const char *ns, const char *name)
{
	return objc_get(&m->oc, k, ns, name);
}

static bool is_ours(const char *key)
{
	const char *name = objc_key_name(key);
	return name && strncmp(name, MCS_WORK_PREFIX, strlen(MCS_WORK_PREFIX)) == 0;
}

/* Works that name the multicluster group, and this controller's own. */
static int list_work(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	if (!is_ours(key) && !memmem(value, len, MCS_GROUP, strlen(MCS_GROUP)))
		return 0;
	return obj_list_append(key, value, len, rev, ud);
}

static const char *cluster_of(const cJSON *w)
{
	const char *ns = json_get_str(w, "metadata.namespace");
	return ns && strncmp(ns, ES_PREFIX, strlen(ES_PREFIX)) == 0 ? ns + strlen(ES_PREFIX) : NULL;
}

/* A source cluster counts while its Cluster exists, is not being deleted
 * and is not known to be not Ready. */
static bool cluster_serves(struct mcs_ctl *m, const char *name, cJSON *cache)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(cache, name);
	if (c)
		return cJSON_IsTrue(c);
	cJSON *cl = get_obj(m, CLUSTER_K, "", name);
	bool ok = cl && !json_get(cl, "metadata.deletionTimestamp");
	const cJSON *ready = cl ? json_condition(cl, "Ready") : NULL;
	if (ready && strcmp(json_get_str(ready, "status") ? json_get_str(ready, "status") : "", "True") != 0)
		ok = false;
	cJSON_Delete(cl);
	cJSON_AddBoolToObject(cache, name, ok);
	return ok;
}

/* The manifest status of manifest man (by kind, namespace and name). */
static const cJSON *manifest_status(const cJSON *w, const char *kind, const char *ns, const char *name)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, json_get(w, "status.manifestStatuses"))
	{
		const char *k = json_get_str(s, "identifier.kind"), *n = json_get_str(s, "identifier.namespace"),
			   *nm = json_get_str(s, "identifier.name");
		if (k && n && nm && strcmp(k, kind) == 0 && strcmp(n, ns) == 0 && strcmp(nm, name) == 0)
			return s;
	}
	return NULL;
}

static cJSON *service_port(const cJSON *p)
{
	cJSON *o = cJSON_CreateObject();
	const char *n = json_get_str(p, "name"), *proto = json_get_str(p, "protocol");
	if (n)
		cJSON_AddStringToObject(o, "name", n);
	cJSON_AddStringToObject(o, "protocol", proto ? proto : "TCP");
	cJSON_AddNumberToObject(o, "port", json_get_num(p, "port", 0));
	const cJSON *tp = cJSON_GetObjectItemCaseSensitive(p, "targetPort");
	if (tp)
		cJSON_AddItemToObject(o, "targetPort", json_dup(tp));
	return o;
}

static cJSON *derived_service(const char *ns, const char *name, const cJSON *ports)
{
	char dn[300];
	snprintf(dn, sizeof dn, "derived-%.240s", name);
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "apiVersion", "v1");
	cJSON_AddStringToObject(s, "kind", "Service");
	cJSON *md = cJSON_AddObjectToObject(s, "metadata");
	cJSON_AddStringToObject(md, "name", dn);
	cJSON_AddStringToObject(md, "namespace", ns);
	cJSON *spec = cJSON_AddObjectToObject(s, "spec");
	cJSON_AddStringToObject(spec, "type", "ClusterIP");
	cJSON *ps = cJSON_AddArrayToObject(spec, "ports");
	const cJSON *p;
	cJSON_ArrayForEach(p, ports) cJSON_AddItemToArray(ps, service_port(p));
	return s;
}

/* One EndpointSlice with the endpoints a source cluster reported. */
static cJSON *derived_slice(const char *ns, const char *name, const char *cluster, const cJSON *collected)
{
	char dn[300], sn[300];
	snprintf(dn, sizeof dn, "derived-%.240s", name);
	snprintf(sn, sizeof sn, "imported-%.60s-%.180s", cluster, name);
	cJSON *es = cJSON_CreateObject();
	cJSON_AddStringToObject(es, "apiVersion", "discovery.k8s.io/v1");
	cJSON_AddStringToObject(es, "kind", "EndpointSlice");
	cJSON *md = cJSON_AddObjectToObject(es, "metadata");
	cJSON_AddStringToObject(md, "name", sn);
	cJSON_AddStringToObject(md, "namespace", ns);
	cJSON *lab = cJSON_AddObjectToObject(md, "labels");
	cJSON_AddStringToObject(lab, "kubernetes.io/service-name", dn);
	cJSON_AddStringToObject(lab, "endpointslice.kubernetes.io/managed-by", MCS_MANAGED_BY);
	cJSON_AddStringToObject(lab, MCS_PROVISION_LABEL, cluster);
	const char *at = NULL;
	cJSON *ports = NULL, *eps = cJSON_CreateArray();
	const cJSON *sl;
	cJSON_ArrayForEach(sl, collected)
	{
		if (!at)
			at = json_get_str(sl, "addressType");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(sl, "ports");
		if (!ports && cJSON_GetArraySize(p) > 0)
			ports = json_dup(p);
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(sl, "endpoints"))
		{
			cJSON *o = json_dup(e);
			cJSON_DeleteItemFromObjectCaseSensitive(o, "nodeName"); /* a node of another cluster */
			cJSON_AddItemToArray(eps, o);
		}
	}
	cJSON_AddStringToObject(es, "addressType", at ? at : "IPv4");
	cJSON_AddItemToObject(es, "endpoints", eps);
	cJSON_AddItemToObject(es, "ports", ports ? ports : cJSON_CreateArray());
	return es;
}

static void put_work(struct mcs_ctl *m, const char *cluster, const char *name, cJSON *cur, cJSON *mans)
{
	if (cur && json_equal(json_get(cur, "spec.workload.manifests"), mans) &&
	    !json_get(cur, "metadata.deletionTimestamp")) {
		cJSON_Delete(mans);
		return;
	}
	char ens[300];
	snprintf(ens, sizeof ens, ES_PREFIX "%s", cluster);
	cJSON *w = cur ? json_dup(cur) : cJSON_CreateObject();
	if (!cur) {
		cJSON_AddStringToObject(w, "apiVersion", "work.karmada.io/v1alpha1");
		cJSON_AddStringToObject(w, "kind", "Work");
		cJSON *md = json_ensure_obj(w, "metadata");
		cJSON_AddStringToObject(md, "name", name);
		cJSON_AddStringToObject(md, "namespace", ens);
	}
	json_set_str(json_ensure_obj(w, "metadata.labels"), MCS_LABEL, "true");
	cJSON_DeleteItemFromObjectCaseSensitive(w, "spec");
	cJSON_AddItemToObject(cJSON_AddObjectToObject(w, "spec"), "workload", cJSON_CreateObject());
	cJSON_AddItemToObject(json_get(w, "spec.workload"), "manifests", mans);
	struct api_error e = {0};
	if (objc_apply(&m->oc, WORK_K, ens, w, cur, NULL, &e) < 0) {
		log_warn("mcs: cannot write Work %s/%s: %s", ens, name, e.message);
		m->write_failed = true;
	}
	api_error_clear(&e);
}

/* imports: "ns/name" -> { "ns", "name", "ports", "consumers": [cluster...] }
 * exports: "ns/name" -> { cluster: collectedEndpoints } ; svcports: "ns/name" -> ports */
void mcs_reconcile(struct mcs_ctl *m)
{
	char prefix[300];
	obj_key(prefix, sizeof prefix, WORK_K, ES_PREFIX, "");
	/* obj_key gives ".../karmada-es-/": list every execution namespace */
	size_t pl = strlen(prefix);
	if (pl && prefix[pl - 1] == '/')
		prefix[pl - 1] = '\0';
	cJSON *works = cJSON_CreateArray();
	store_list(m->st, prefix, list_work, works, NULL);
	cJSON *imports = cJSON_CreateObject(), *exports = cJSON_CreateObject(), *svcports = cJSON_CreateObject(),
	      *ready = cJSON_CreateObject(), *ours = cJSON_CreateObject();
	const cJSON *w;
	cJSON_ArrayForEach(w, works)
	{
		const char *cl = cluster_of(w), *wn = json_get_str(w, "metadata.name");
		if (!cl || !wn)
			continue;
		if (strncmp(wn, MCS_WORK_PREFIX, strlen(MCS_WORK_PREFIX)) == 0) {
			char k[600];
			snprintf(k, sizeof k, "%s/%s", cl, wn);
			cJSON_AddItemReferenceToObject(ours, k, (cJSON *)w);
			continue;
		}
		if (json_get(w, "metadata.deletionTimestamp"))
			continue;
		const cJSON *man;
		cJSON_ArrayForEach(man, json_get(w, "spec.workload.manifests"))
		{
			const char *api = json_get_str(man, "apiVersion"), *kind = json_get_str(man, "kind"),
				   *ns = json_get_str(man, "metadata.namespace"), *name = json_get_str(man, "metadata.name");
			if (!api || !kind || !name || !ns || !ns[0])
				continue;
			char key[600];
			snprintf(key, sizeof key, "%s/%s", ns, name);
			bool mcs = strncmp(api, MCS_GROUP "/", strlen(MCS_GROUP) + 1) == 0;
			if (mcs && strcmp(kind, "ServiceExport") == 0) {
				const cJSON *st = manifest_status(w, kind, ns, name);
				const cJSON *col = cJSON_GetObjectItemCaseSensitive(st, "collectedEndpoints");
				if (!cJSON_IsArray(col) || !cluster_serves(m, cl, ready))
					continue;
				cJSON *per = cJSON_GetObjectItemCaseSensitive(exports, key);
				if (!per)
					per = cJSON_AddObjectToObject(exports, key);
				if (!cJSON_GetObjectItemCaseSensitive(per, cl))
					cJSON_AddItemReferenceToObject(per, cl, (cJSON *)col);
			} else if (mcs && strcmp(kind, "ServiceImport") == 0) {
				cJSON *imp = cJSON_GetObjectItemCaseSensitive(imports, key);
				if (!imp) {
					imp = cJSON_AddObjectToObject(imports, key);
					cJSON_AddStringToObject(imp, "ns", ns);
					cJSON_AddStringToObject(imp, "name", name);
					cJSON_AddArrayToObject(imp, "consumers");
				}
				const cJSON *ports = json_get(man, "spec.ports");
				if (cJSON_GetArraySize(ports) > 0 && !cJSON_GetObjectItemCaseSensitive(imp, "ports"))
					cJSON_AddItemToObject(imp, "ports", json_dup(ports));
				cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(imp, "consumers"),
						     cJSON_CreateString(cl));
			} else if (strcmp(api, "v1") == 0 && strcmp(kind, "Service") == 0) {
				const cJSON *ports = json_get(man, "spec.ports");
				if (cJSON_GetArraySize(ports) > 0 && !cJSON_GetObjectItemCaseSensitive(svcports, key))
					cJSON_AddItemToObject(svcports, key, json_dup(ports));
			}
		}
	}
	cJSON *want = cJSON_CreateObject(); /* "cluster/workname" */
	const cJSON *imp;
	cJSON_ArrayForEach(imp, imports)
	{
		const char *ns = json_get_str(imp, "ns"), *name = json_get_str(imp, "name");
		const cJSON *ports = cJSON_GetObjectItemCaseSensitive(imp, "ports");
		if (!ports)
			ports = cJSON_GetObjectItemCaseSensitive(svcports, imp->string);
		const cJSON *per = cJSON_GetObjectItemCaseSensitive(exports, imp->string);
		char wname[254];
		snprintf(wname, sizeof wname, MCS_WORK_PREFIX "%.100s-%.100s", ns, name);
		const cJSON *c;
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(imp, "consumers"))
		{
			const char *consumer = c->valuestring;
			char k[600];
			snprintf(k, sizeof k, "%s/%s", consumer, wname);
			if (cJSON_GetObjectItemCaseSensitive(want, k))
				continue;
			cJSON_AddTrueToObject(want, k);
			cJSON *mans = cJSON_CreateArray();
			cJSON_AddItemToArray(mans, derived_service(ns, name, ports));
			const cJSON *src;
			cJSON_ArrayForEach(src, per)
			{
				if (strcmp(src->string, consumer) != 0)
					cJSON_AddItemToArray(mans, derived_slice(ns, name, src->string, src));
			}
			char ens[300];
			snprintf(ens, sizeof ens, ES_PREFIX "%s", consumer);
			cJSON *cur = get_obj(m, WORK_K, ens, wname);
			put_work(m, consumer, wname, cur, mans);
			cJSON_Delete(cur);
		}
	}
	/* Works of imports that are gone. */
	const cJSON *o;
	cJSON_ArrayForEach(o, ours)
	{
		if (cJSON_GetObjectItemCaseSensitive(want, o->string))
			continue;
		struct api_error e = {0};
		const char *ns = json_get_str(o, "metadata.namespace"), *name = json_get_str(o, "metadata.name");
		if (!json_get(o, "metadata.deletionTimestamp") && objc_delete(&m->oc, WORK_K, ns, name, NULL, &e) < 0) {
			log_warn("mcs: cannot delete Work %s/%s: %s", ns, name, e.message);
			m->write_failed = true;
		}
		api_error_clear(&e);
	}
	cJSON_Delete(want);
	cJSON_Delete(ours);
	cJSON_Delete(ready);
	cJSON_Delete(svcports);
	cJSON_Delete(exports);
	cJSON_Delete(imports);
	cJSON_Delete(works);
}

static void on_ev(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct mcs_ctl *m = arg;
	m->armed = false;
	mcs_reconcile(m);
	if (!m->write_failed) {
		backoff_reset(&m->retry);
		return;
	}
	/* A write failed: the whole pass again after the retry policy's backoff. */
	m->write_failed = false;
	uint64_t ms = backoff_next_ms(&m->retry);
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	event_add(m->ev, &tv);
	m->armed = true;
}

static void arm(struct mcs_ctl *m)
{
	if (m->armed || !m->ev)
		return;
	struct timeval tv = {0, 100000}; /* coalesce a burst of status reports */
	event_add(m->ev, &tv);
	m->armed = true;
}

static void on_store_event(const struct store_event *ev, void *ud)
{
	const char *k = ev->key;
	/* Only Works that name the multicluster group (or were ours): the
	 * others never change what this controller writes. */
	if (strncmp(k, "cluster.karmada.io/clusters/", 28) == 0 ||
	    (strncmp(k, "work.karmada.io/works/", 22) == 0 &&
	     (is_ours(k) || (ev->value && strstr(ev->value, MCS_GROUP)) ||
	      (ev->prev_value && strstr(ev->prev_value, MCS_GROUP)))))
		arm(ud);
}

static void on_rollback(struct store *s, void *ud)
{
	(void)s;
	arm(ud);
}

struct mcs_ctl *mcs_start(struct event_base *base, struct store *st, struct obj_ctx *objs)
{
	struct mcs_ctl *m = xcalloc(1, sizeof *m);
	m->base = base;
	m->st = st;
	m->objs = objs;
	objc_init(&m->oc, st, objs);
	backoff_init_policy(&m->retry, 0);
	if (base)
		m->ev = event_new(base, -1, 0, on_ev, m);
	store_subscribe(st, on_store_event, m);
	store_subscribe_rollback(st, on_rollback, m);
	arm(m);
	return m;
}

void mcs_stop(struct mcs_ctl *m)
{
	if (!m)
		return;
	store_unsubscribe(m->st, on_store_event, m);
	store_unsubscribe_rollback(m->st, on_rollback, m);
	if (m->ev)
		event_free(m->ev);
	objc_free(&m->oc);
	free(m);
}
