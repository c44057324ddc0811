/* mesh.c — see mesh.h. */
#include "mesh.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>

#include "backoff.h"
#include "jsonutil.h"
#include "kinds.h"
#include "log.h"
#include "mcs.h"
#include "meshpki.h"
#include "meshreader.h"
#include "objclient.h"
#include "render.h"
#include "selector.h"
#include "timefmt.h"
#include "tlsconf.h"
#include "validate.h"
#include "xalloc.h"

#define PKI_NS "karmada-system"
#define DEFAULT_ROOT_S (10L * 365 * 86400)
#define DEFAULT_INTER_S (730L * 86400) /* Makefile.selfsigned.mk's INTERMEDIATE_DAYS */

struct mesh_ctl {
	struct event_base *base;
	struct store *st;
	struct obj_ctx *objs;
	struct objclient oc; /* every read and write of objects */
	bool write_failed;    /* in this pass: the next one comes after retry's backoff */
	struct backoff retry;
	struct event *ev, *timer;
	bool armed;
	cJSON *verified; /* "mesh/cluster" -> hash of (intermediate, root) that verified */
	struct mcs_ctl *mcs; /* multi-cluster services (mcs.h) run beside the meshes */
};

static const struct kind_info *K(const char *g, const char *v, const char *k) { return kinds_find_kind(g, v, k); }
#define MESH_K K("mesh.atoll.io", "v1alpha1", "Mesh")
#define WORK_K K("work.karmada.io", "v1alpha1", "Work")
#define SECRET_K K("", "v1", "Secret")
#define NS_K K("", "v1", "Namespace")

/* ---- store helpers ------------------------------------------------------ */

static cJSON *get_obj(struct mesh_ctl *m, const struct kind_info *k, const char *ns, const char *name)
{
	return objc_get(&m->oc, k, ns, name);
}

static cJSON *list_prefix(struct mesh_ctl *m, const char *prefix) { return objc_list(&m->oc, prefix); }

/* Works of meshes only (their names start atoll-mesh): parsed, others skipped. */
static int list_mesh_work(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	const char *name = objc_key_name(key);
	if (name && strncmp(name, "atoll-mesh", 10) == 0)
		return obj_list_append(key, value, len, rev, ud);
	return 0;
}

static const char *mname(const cJSON *o) { return json_get_str(o, "metadata.name"); }

/* The mesh label (json_get would split its dots). */
static const char *mesh_of(const cJSON *o)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json_get(o, "metadata.labels"), MESH_LABEL));
}

/* Creates obj, or replaces cur with it. Consumes obj. */
static int put_obj(struct mesh_ctl *m, const struct kind_info *k, const cJSON *cur, cJSON *obj, const char *ns)
{
	struct api_error e = {0};
	char name[256];
	snprintf(name, sizeof name, "%s", mname(obj) ? mname(obj) : "");
	int rc = objc_apply(&m->oc, k, ns, obj, cur, NULL, &e);
	if (rc < 0) {
		log_warn("mesh: cannot write %s %s/%s: %s", k->kind, ns ? ns : "", name, e.message);
		m->write_failed = true;
	}
	api_error_clear(&e);
	return rc;
}

static void del_obj(struct mesh_ctl *m, const struct kind_info *k, const char *ns, const char *name)
{
	struct api_error e = {0};
	if (objc_delete(&m->oc, k, ns, name, NULL, &e) < 0) {
		log_warn("mesh: cannot delete %s %s/%s: %s", k->kind, ns, name, e.message);
		m->write_failed = true;
	}
	api_error_clear(&e);
}

static void ensure_ns(struct mesh_ctl *m, const char *ns)
{
	cJSON *cur = get_obj(m, NS_K, "", ns);
	if (!cur) {
		cJSON *o = cJSON_CreateObject();
		json_set_str(json_ensure_obj(o, "metadata"), "name", ns);
		put_obj(m, NS_K, NULL, o, "");
	}
	cJSON_Delete(cur);
}

/* ---- secrets' data ------------------------------------------------------ */

static char *b64(const char *s) { return tls_base64(s, strlen(s)); }

/* Decoded data[key] of a Secret (malloc'd, NUL-terminated) or NULL. */
static char *secret_data(const cJSON *secret, const char *key)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(json_get(secret, "data"), key);
	if (!cJSON_IsString(d))
		return NULL;
	size_t in = strlen(d->valuestring), out = 0;
	char *buf = xmalloc(in + 1);
	if (!buf || mbedtls_base64_decode((unsigned char *)buf, in, &out, (const unsigned char *)d->valuestring, in) != 0) {
		free(buf);
		return NULL;
	}
	buf[out] = '\0';
	return buf;
}

static void set_data(cJSON *data, const char *key, const char *pem)
{
	char *v = b64(pem);
	cJSON_DeleteItemFromObjectCaseSensitive(data, key);
	cJSON_AddStringToObject(data, key, v ? v : "");
	free(v);
}

static void free_secret_str(char *s)
{
	if (s) {
		mbedtls_platform_zeroize(s, strlen(s));
		free(s);
	}
}

/* ---- what a Mesh asks for ---------------------------------------------- */

struct member {
	const char *name;
	char network[64];
	char *cert, *key; /* intermediate (PEM) */
	time_t expiry, due;
	char *reader;          /* the kubeconfig its agent reported (meshreader.h), or NULL */
	char reader_hash[33];
};

struct plan {
	const cJSON *mesh;
	const char *name;
	const char *mesh_id, *trust_domain, *istio;
	long root_s, inter_s;
	struct member *mem;
	int n;
	char reason[64];
	char message[1024];
	const char *last_what; /* the group msg_add appends to */
	char *root_cert, *root_key;
	time_t root_expiry;
};

static void plan_free(struct plan *p)
{
	for (int i = 0; i < p->n; i++) {
		free(p->mem[i].cert);
		free_secret_str(p->mem[i].key);
		free_secret_str(p->mem[i].reader);
	}
	free(p->mem);
	free(p->root_cert);
	free_secret_str(p->root_key);
}

static void msg_add(struct plan *p, const char *what, const char *name)
{
	size_t l = strlen(p->message);
	if (l + 4 >= sizeof p->message)
		return;
	if (p->last_what != what)
		snprintf(p->message + l, sizeof p->message - l, "%s%s%s", l ? "; " : "", what, name);
	else
		snprintf(p->message + l, sizeof p->message - l, ", %s", name);
	p->last_what = what;
}

static void fail(struct plan *p, const char *reason)
{
	if (!p->reason[0])
		snprintf(p->reason, sizeof p->reason, "%s", reason);
}

static const cJSON *find_cluster(const cJSON *clusters, const char *name)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, clusters) if (mname(c) && strcmp(mname(c), name) == 0 && !json_get(c, "metadata.deletionTimestamp")) return c;
	return NULL;
}

static void add_member(struct plan *p, const cJSON *cl, const cJSON *spec)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->mem[i].name, mname(cl)) == 0)
			return;
	p->mem = xrealloc(p->mem, (size_t)(p->n + 1) * sizeof *p->mem);
	struct member *mb = &p->mem[p->n++];
	memset(mb, 0, sizeof *mb);
	mb->name = mname(cl);
	const char *net = json_get_str(json_get(spec, "networks"), mb->name);
	const char *region = json_get_str(cl, "spec.region");
	if (!net)
		net = region && region[0] ? region : mb->name;
	snprintf(mb->network, sizeof mb->network, "%s", net);
	if (strlen(net) >= sizeof mb->network || !is_label_value(net)) {
		fail(p, "InvalidNetwork");
		msg_add(p, "network is not a label value for cluster ", mb->name);
	}
}

/* Which clusters, with their networks; claimed: cluster -> mesh (older first). */
static void plan_members(struct plan *p, const cJSON *clusters, cJSON *claimed)
{
	const cJSON *spec = json_get(p->mesh, "spec");
	const cJSON *names = json_get(spec, "clusters.names");
	const cJSON *sel = json_get(spec, "clusters.labelSelector");
	const cJSON *c;
	if (cJSON_IsArray(names)) {
		cJSON_ArrayForEach(c, names) {
			const cJSON *cl = cJSON_IsString(c) ? find_cluster(clusters, c->valuestring) : NULL;
			if (!cl) {
				fail(p, "UnknownClusters");
				msg_add(p, "no such cluster: ", cJSON_IsString(c) ? c->valuestring : "?");
			} else {
				add_member(p, cl, spec);
			}
		}
	} else {
		char err[256];
		struct label_selector *ls = sel ? label_selector_from_json(sel, err, sizeof err) : NULL;
		if (sel && !ls) {
			fail(p, "InvalidSelector");
			msg_add(p, "spec.clusters.labelSelector: ", err);
		}
		cJSON_ArrayForEach(c, clusters) {
			if (json_get(c, "metadata.deletionTimestamp") || !mname(c))
				continue;
			if (!sel || (ls && label_selector_matches(ls, json_get(c, "metadata.labels"))))
				add_member(p, c, spec);
		}
		label_selector_free(ls);
	}
	const cJSON *nets = json_get(spec, "networks");
	cJSON_ArrayForEach(c, nets) {
		bool in = false;
		for (int i = 0; i < p->n; i++)
			in |= strcmp(p->mem[i].name, c->string) == 0;
		if (!in) {
			fail(p, "UnknownClusters");
			msg_add(p, "spec.networks names a cluster not in the mesh: ", c->string);
		}
	}
	for (int i = 0; i < p->n; i++) {
		const char *owner = json_get_str(claimed, p->mem[i].name);
		if (owner && strcmp(owner, p->name) != 0) {
			fail(p, "ClusterConflict");
			char b[300];
			snprintf(b, sizeof b, "%s (in mesh %s)", p->mem[i].name, owner);
			msg_add(p, "clusters already in another mesh: ", b);
		} else if (!owner) {
			cJSON_AddStringToObject(claimed, p->mem[i].name, p->name);
		}
	}
}

/* ---- PKI ------------------------------------------------------------------ */

/* The root in atoll-mesh-<mesh>-ca; each cluster's intermediate in
 * atoll-mesh-<mesh>-ca-<cluster> (so no Secret outgrows 1 MiB however many
 * clusters, and a cluster that leaves takes its key with it). */
static void pki_name(const char *mesh, const char *cluster, char *buf, size_t len)
{
	snprintf(buf, len, "atoll-mesh-%s-ca%s%s", mesh, cluster ? "-" : "", cluster ? cluster : "");
}

static time_t due_of(const char *cert, time_t *expiry)
{
	time_t nb = 0, na = 0;
	if (meshpki_times(cert, &nb, &na) < 0)
		return 0;
	*expiry = na;
	return nb + (na - nb) * 2 / 3;
}

static const char *pair_hash(const char *a, const char *b, char *buf, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *s = a; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	h = (h ^ '|') * 1099511628211ULL;
	for (const char *s = b; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	snprintf(buf, len, "%016llx", (unsigned long long)h);
	return buf;
}

/* An ECDSA verification per cluster per pass would cost a 100-cluster mesh
 * ~0.1 s on every Work status change: each pair is verified once. */
static bool signed_by_root(struct mesh_ctl *m, const struct plan *p, const struct member *mb)
{
	char key[300], h[32];
	snprintf(key, sizeof key, "%s/%s", p->name, mb->name);
	pair_hash(mb->cert, p->root_cert, h, sizeof h);
	const char *memo = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m->verified, key));
	if (memo && strcmp(memo, h) == 0)
		return true;
	if (meshpki_verify(mb->cert, p->root_cert) != 0)
		return false;
	cJSON_DeleteItemFromObjectCaseSensitive(m->verified, key);
	cJSON_AddStringToObject(m->verified, key, h);
	return true;
}

static cJSON *new_secret(const char *name, const char *mesh, const char *cluster)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "Secret");
	cJSON *md = json_ensure_obj(o, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", PKI_NS);
	cJSON *l = json_ensure_obj(o, "metadata.labels");
	cJSON_AddStringToObject(l, MESH_LABEL, mesh);
	if (cluster)
		cJSON_AddStringToObject(l, MESH_CLUSTER_LABEL, cluster);
	cJSON_AddStringToObject(o, "type", "Opaque");
	return o;
}

/* Writes a PKI Secret with two PEMs. */
static int store_pair(struct mesh_ctl *m, const char *name, const char *mesh, const char *cluster, const char *k1,
		      const char *v1, const char *k2, const char *v2)
{
	cJSON *cur = get_obj(m, SECRET_K, PKI_NS, name);
	cJSON *next = cur ? json_dup(cur) : new_secret(name, mesh, cluster);
	cJSON_DeleteItemFromObjectCaseSensitive(next, "data");
	cJSON *data = json_ensure_obj(next, "data");
	set_data(data, k1, v1);
	set_data(data, k2, v2);
	ensure_ns(m, PKI_NS);
	int rc = put_obj(m, SECRET_K, cur, next, PKI_NS);
	cJSON_Delete(cur);
	return rc;
}

/* Loads or makes the root and every member's intermediate, renewing those
 * due (2/3 of their lifetime) or not signed by the root. keep gets the
 * names of the Secrets in use. Returns 0 or -1 (reason set). */
static int plan_pki(struct mesh_ctl *m, struct plan *p, time_t now, cJSON *keep)
{
	char sname[300], err[256] = "";
	pki_name(p->name, NULL, sname, sizeof sname);
	cJSON_AddTrueToObject(keep, sname);
	cJSON *cur = get_obj(m, SECRET_K, PKI_NS, sname);
	p->root_cert = secret_data(cur, "root-cert.pem");
	p->root_key = secret_data(cur, "root-key.pem");
	cJSON_Delete(cur);
	time_t nb = 0;
	bool new_root = false;
	if (!p->root_cert || !p->root_key || meshpki_times(p->root_cert, &nb, &p->root_expiry) < 0 || p->root_expiry <= now) {
		free(p->root_cert);
		free_secret_str(p->root_key);
		if (meshpki_root(p->root_s, &p->root_cert, &p->root_key, err, sizeof err) < 0)
			goto fail;
		meshpki_times(p->root_cert, &nb, &p->root_expiry);
		if (store_pair(m, sname, p->name, NULL, "root-cert.pem", p->root_cert, "root-key.pem", p->root_key) < 0) {
			snprintf(err, sizeof err, "cannot store the mesh's root CA");
			goto fail;
		}
		new_root = true;
		log_kv(LOG_INFO, "mesh root CA issued", "mesh", p->name, NULL);
	}
	for (int i = 0; i < p->n; i++) {
		struct member *mb = &p->mem[i];
		pki_name(p->name, mb->name, sname, sizeof sname);
		cJSON_AddTrueToObject(keep, sname);
		if (!new_root) {
			cur = get_obj(m, SECRET_K, PKI_NS, sname);
			mb->cert = secret_data(cur, "ca-cert.pem");
			mb->key = secret_data(cur, "ca-key.pem");
			cJSON_Delete(cur);
		}
		mb->due = mb->cert && mb->key ? due_of(mb->cert, &mb->expiry) : 0;
		if (mb->due > now && signed_by_root(m, p, mb))
			continue;
		free(mb->cert);
		free_secret_str(mb->key);
		long life = p->inter_s;
		if (p->root_expiry - now < life)
			life = (long)(p->root_expiry - now);
		if (meshpki_intermediate(p->root_cert, p->root_key, mb->name, life, &mb->cert, &mb->key, err, sizeof err) < 0)
			goto fail;
		mb->due = due_of(mb->cert, &mb->expiry);
		if (store_pair(m, sname, p->name, mb->name, "ca-cert.pem", mb->cert, "ca-key.pem", mb->key) < 0) {
			snprintf(err, sizeof err, "cannot store the intermediate CA of cluster %s", mb->name);
			goto fail;
		}
		log_kv(LOG_INFO, "mesh intermediate CA issued", "mesh", p->name, "cluster", mb->name, NULL);
	}
	return 0;
fail:
	fail(p, "CertificateError");
	snprintf(p->message, sizeof p->message, "%s", err);
	return -1;
}

/* ---- per cluster: the Works ---------------------------------------------- */

static cJSON *manifest(const char *api, const char *kind, const char *ns, const char *name, const char *mesh)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", api);
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	if (ns)
		cJSON_AddStringToObject(md, "namespace", ns);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "labels"), MESH_LABEL, mesh);
	/* istio-system may exist already (made by hand before the mesh, or by
	 * the agent for the Work's other objects): the Mesh takes it. */
	cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "annotations"), CONFLICT_RESOLUTION_ANNOTATION, "overwrite");
	return o;
}

/* Helm values for istiod / istio-base (also printed by atoll-hub mesh values). */
static char *values_yaml(const char *mesh_id, const char *cluster, const char *network, const char *trust_domain)
{
	static const char fmt[] = "global:\n  meshID: %s\n  multiCluster:\n    clusterName: %s\n  network: %s\n"
				  "meshConfig:\n  trustDomain: %s\n";
	size_t n = sizeof fmt + strlen(mesh_id) + strlen(cluster) + strlen(network) + strlen(trust_domain);
	char *s = xmalloc(n);
	snprintf(s, n, fmt, mesh_id, cluster, network, trust_domain);
	return s;
}

static cJSON *port(const char *name, int num)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "name", name);
	cJSON_AddNumberToObject(p, "port", num);
	cJSON_AddNumberToObject(p, "targetPort", num);
	cJSON_AddStringToObject(p, "protocol", "TCP");
	return p;
}

/* The east-west gateway, as samples/multicluster/gen-eastwest-gateway.sh
 * --network N describes it: label istio=eastwestgateway and the network,
 * ISTIO_META_REQUESTED_NETWORK_VIEW=N, ports 15021/15443/15012/15017. */
static void add_eastwest(cJSON *mans, const struct plan *p, const struct member *mb)
{
	static const char *gw = "istio-eastwestgateway";
	cJSON *sa = manifest("v1", "ServiceAccount", "istio-system", gw, p->name);
	cJSON_AddItemToArray(mans, sa);
	cJSON *svc = manifest("v1", "Service", "istio-system", gw, p->name);
	cJSON *lb = json_get(svc, "metadata.labels");
	cJSON_AddStringToObject(lb, "istio", "eastwestgateway");
	cJSON_AddStringToObject(lb, "app", gw);
	cJSON_AddStringToObject(lb, "topology.istio.io/network", mb->network);
	cJSON *ss = cJSON_AddObjectToObject(svc, "spec");
	cJSON_AddStringToObject(ss, "type", "LoadBalancer");
	cJSON *sel = cJSON_AddObjectToObject(ss, "selector");
	cJSON_AddStringToObject(sel, "istio", "eastwestgateway");
	cJSON_AddStringToObject(sel, "app", gw);
	cJSON_AddStringToObject(sel, "topology.istio.io/network", mb->network);
	cJSON *ports = cJSON_AddArrayToObject(ss, "ports");
	cJSON_AddItemToArray(ports, port("status-port", 15021));
	cJSON_AddItemToArray(ports, port("tls", 15443));
	cJSON_AddItemToArray(ports, port("tls-istiod", 15012));
	cJSON_AddItemToArray(ports, port("tls-webhook", 15017));
	cJSON_AddItemToArray(mans, svc);

	cJSON *d = manifest("apps/v1", "Deployment", "istio-system", gw, p->name);
	cJSON *dl = json_get(d, "metadata.labels");
	cJSON_AddStringToObject(dl, "istio", "eastwestgateway");
	cJSON_AddStringToObject(dl, "app", gw);
	cJSON_AddStringToObject(dl, "topology.istio.io/network", mb->network);
	cJSON *ds = cJSON_AddObjectToObject(d, "spec");
	cJSON_AddNumberToObject(ds, "replicas", 1);
	cJSON_AddItemToObject(cJSON_AddObjectToObject(ds, "selector"), "matchLabels", json_dup(sel));
	cJSON *tpl = cJSON_AddObjectToObject(ds, "template");
	cJSON *tm = cJSON_AddObjectToObject(tpl, "metadata");
	cJSON *tl = cJSON_AddObjectToObject(tm, "labels");
	cJSON_AddStringToObject(tl, "istio", "eastwestgateway");
	cJSON_AddStringToObject(tl, "app", gw);
	cJSON_AddStringToObject(tl, "topology.istio.io/network", mb->network);
	cJSON_AddStringToObject(tl, "sidecar.istio.io/inject", "false");
	cJSON *ps = cJSON_AddObjectToObject(tpl, "spec");
	cJSON_AddStringToObject(ps, "serviceAccountName", gw);
	cJSON *c = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(ps, "containers"), c);
	cJSON_AddStringToObject(c, "name", "istio-proxy");
	char img[128];
	snprintf(img, sizeof img, "docker.io/istio/proxyv2:%s", p->istio);
	cJSON_AddStringToObject(c, "image", img);
	cJSON *args = cJSON_AddArrayToObject(c, "args");
	static const char *const a[] = {"proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local"};
	for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
		cJSON_AddItemToArray(args, cJSON_CreateString(a[i]));
	cJSON *env = cJSON_AddArrayToObject(c, "env");
	const char *kv[][2] = {{"ISTIO_META_REQUESTED_NETWORK_VIEW", mb->network},
			       {"ISTIO_META_ROUTER_MODE", "sni-dnat"},
			       {"ISTIO_META_CLUSTER_ID", mb->name},
			       {"ISTIO_META_MESH_ID", p->mesh_id}};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", kv[i][0]);
		cJSON_AddStringToObject(e, "value", kv[i][1]);
		cJSON_AddItemToArray(env, e);
	}
	cJSON *pe = cJSON_CreateObject();
	cJSON_AddStringToObject(pe, "name", "POD_NAMESPACE");
	cJSON_AddStringToObject(json_ensure_obj(pe, "valueFrom.fieldRef"), "fieldPath", "metadata.namespace");
	cJSON_AddItemToArray(env, pe);
	cJSON *cports = cJSON_AddArrayToObject(c, "ports");
	static const int nums[] = {15021, 15443, 15012, 15017};
	for (size_t i = 0; i < 4; i++) {
		cJSON *cp = cJSON_CreateObject();
		cJSON_AddNumberToObject(cp, "containerPort", nums[i]);
		cJSON_AddStringToObject(cp, "protocol", "TCP");
		cJSON_AddItemToArray(cports, cp);
	}
	cJSON_AddItemToArray(mans, d);
}

/* The reader whose token other clusters' istiod use (meshreader.h): the
 * rights of Istio's istio-reader ClusterRole, read-only. */
static void add_reader(cJSON *mans, const struct plan *p)
{
	cJSON_AddItemToArray(mans, manifest("v1", "ServiceAccount", MESHREADER_NS, MESHREADER_SA, p->name));
	cJSON *cr = manifest("rbac.authorization.k8s.io/v1", "ClusterRole", NULL, MESHREADER_ROLE, p->name);
	cJSON *rules = cJSON_AddArrayToObject(cr, "rules");
	static const struct {
		const char *groups, *resources;
	} r[] = {
		{"config.istio.io security.istio.io networking.istio.io authentication.istio.io rbac.istio.io "
		 "telemetry.istio.io extensions.istio.io",
		 "*"},
		{"", "endpoints pods services nodes replicationcontrollers namespaces secrets"},
		{"discovery.k8s.io", "endpointslices"},
		{"multicluster.x-k8s.io", "serviceexports serviceimports"},
		{"apps", "replicasets"},
		{"gateway.networking.k8s.io", "*"},
	};
	for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
		cJSON *rule = cJSON_CreateObject();
		cJSON *g = cJSON_AddArrayToObject(rule, "apiGroups"), *res = cJSON_AddArrayToObject(rule, "resources");
		char buf[400];
		snprintf(buf, sizeof buf, "%s", r[i].groups);
		if (!buf[0])
			cJSON_AddItemToArray(g, cJSON_CreateString(""));
		for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
			cJSON_AddItemToArray(g, cJSON_CreateString(t));
		snprintf(buf, sizeof buf, "%s", r[i].resources);
		for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
			cJSON_AddItemToArray(res, cJSON_CreateString(t));
		cJSON *v = cJSON_AddArrayToObject(rule, "verbs");
		cJSON_AddItemToArray(v, cJSON_CreateString("get"));
		cJSON_AddItemToArray(v, cJSON_CreateString("list"));
		cJSON_AddItemToArray(v, cJSON_CreateString("watch"));
		cJSON_AddItemToArray(rules, rule);
	}
	cJSON_AddItemToArray(mans, cr);
	cJSON *crb = manifest("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", NULL, MESHREADER_ROLE, p->name);
	cJSON *ref = cJSON_AddObjectToObject(crb, "roleRef");
	cJSON_AddStringToObject(ref, "apiGroup", "rbac.authorization.k8s.io");
	cJSON_AddStringToObject(ref, "kind", "ClusterRole");
	cJSON_AddStringToObject(ref, "name", MESHREADER_ROLE);
	cJSON *sub = cJSON_CreateObject();
	cJSON_AddStringToObject(sub, "kind", "ServiceAccount");
	cJSON_AddStringToObject(sub, "name", MESHREADER_SA);
	cJSON_AddStringToObject(sub, "namespace", MESHREADER_NS);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(crb, "subjects"), sub);
	cJSON_AddItemToArray(mans, crb);
	cJSON *tok = manifest("v1", "Secret", MESHREADER_NS, MESHREADER_TOKEN_SECRET, p->name);
	cJSON_AddStringToObject(json_get(tok, "metadata.annotations"), "kubernetes.io/service-account.name", MESHREADER_SA);
	cJSON_AddStringToObject(tok, "type", "kubernetes.io/service-account-token");
	cJSON_AddItemToArray(mans, tok);
}

/* istioctl create-remote-secret's Secret for every OTHER member whose
 * agent reported its reader kubeconfig. */
static void add_remote_secrets(cJSON *mans, const struct plan *p, const struct member *mb)
{
	for (int i = 0; i < p->n; i++) {
		const struct member *o = &p->mem[i];
		if (o == mb || !o->reader)
			continue;
		char name[300];
		snprintf(name, sizeof name, "istio-remote-secret-%s", o->name);
		cJSON *sec = manifest("v1", "Secret", MESHREADER_NS, name, p->name);
		cJSON_AddStringToObject(json_get(sec, "metadata.labels"), "istio/multiCluster", "true");
		cJSON_AddStringToObject(json_get(sec, "metadata.annotations"), "networking.istio.io/cluster", o->name);
		cJSON_AddStringToObject(sec, "type", "Opaque");
		set_data(cJSON_AddObjectToObject(sec, "data"), o->name, o->reader);
		cJSON_AddItemToArray(mans, sec);
	}
}

static cJSON *main_manifests(const struct plan *p, const struct member *mb)
{
	cJSON *mans = cJSON_CreateArray();
	cJSON *ns = manifest("v1", "Namespace", NULL, "istio-system", p->name);
	cJSON_AddStringToObject(json_get(ns, "metadata.labels"), "topology.istio.io/network", mb->network);
	cJSON_AddItemToArray(mans, ns);

	cJSON *sec = manifest("v1", "Secret", "istio-system", "cacerts", p->name);
	cJSON_AddStringToObject(sec, "type", "Opaque");
	cJSON *data = cJSON_AddObjectToObject(sec, "data");
	set_data(data, "ca-cert.pem", mb->cert);
	set_data(data, "ca-key.pem", mb->key);
	set_data(data, "root-cert.pem", p->root_cert);
	size_t cl = strlen(mb->cert), rl = strlen(p->root_cert);
	char *chain = xmalloc(cl + rl + 1);
	memcpy(chain, mb->cert, cl);
	memcpy(chain + cl, p->root_cert, rl + 1);
	set_data(data, "cert-chain.pem", chain);
	free(chain);
	cJSON_AddItemToArray(mans, sec);

	cJSON *cm = manifest("v1", "ConfigMap", "istio-system", MESH_VALUES_CONFIGMAP, p->name);
	cJSON *cd = cJSON_AddObjectToObject(cm, "data");
	char *v = values_yaml(p->mesh_id, mb->name, mb->network, p->trust_domain);
	cJSON_AddStringToObject(cd, "values.yaml", v ? v : "");
	free(v);
	cJSON_AddStringToObject(cd, "meshID", p->mesh_id);
	cJSON_AddStringToObject(cd, "clusterName", mb->name);
	cJSON_AddStringToObject(cd, "network", mb->network);
	cJSON_AddStringToObject(cd, "trustDomain", p->trust_domain);
	cJSON_AddStringToObject(cd, "istioVersion", p->istio);
	cJSON_AddItemToArray(mans, cm);
	add_eastwest(mans, p, mb);
	add_reader(mans, p);
	add_remote_secrets(mans, p, mb);
	return mans;
}

/* The seed's expose.yaml: cross-network-gateway, AUTO_PASSTHROUGH on 15443. */
static cJSON *gateway_manifests(const struct plan *p)
{
	cJSON *mans = cJSON_CreateArray();
	cJSON *g = manifest("networking.istio.io/v1alpha3", "Gateway", "istio-system", "cross-network-gateway", p->name);
	cJSON *gs = cJSON_AddObjectToObject(g, "spec");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(gs, "selector"), "istio", "eastwestgateway");
	cJSON *srv = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(gs, "servers"), srv);
	cJSON *pt = cJSON_AddObjectToObject(srv, "port");
	cJSON_AddNumberToObject(pt, "number", 15443);
	cJSON_AddStringToObject(pt, "name", "tls");
	cJSON_AddStringToObject(pt, "protocol", "TLS");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(srv, "tls"), "mode", "AUTO_PASSTHROUGH");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(srv, "hosts"), cJSON_CreateString("*.local"));
	cJSON_AddItemToArray(mans, g);
	return mans;
}

/* Writes Work name in karmada-es-<cluster> when it differs; returns the
 * stored Work (caller frees) for its status. Consumes mans. */
static cJSON *sync_work(struct mesh_ctl *m, const char *cluster, const char *name, const char *mesh, cJSON *mans,
			const char *reader_hash)
{
	char ens[300];
	snprintf(ens, sizeof ens, "karmada-es-%s", cluster);
	cJSON *cur = get_obj(m, WORK_K, ens, name);
	const cJSON *cm = json_get(cur, "spec.workload.manifests");
	const char *lab = mesh_of(cur);
	const char *rh = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(json_get(cur, "metadata.labels"), MESHREADER_HASH_LABEL));
	bool rh_ok = !reader_hash || strcmp(rh ? rh : "", reader_hash) == 0;
	if (cur && cm && json_equal(cm, mans) && lab && strcmp(lab, mesh) == 0 && rh_ok &&
	    !json_get(cur, "metadata.deletionTimestamp")) {
		cJSON_Delete(mans);
		return cur;
	}
	cJSON *w = cur ? json_dup(cur) : cJSON_CreateObject();
	if (!cur) {
		ensure_ns(m, ens);
		cJSON_AddStringToObject(w, "apiVersion", "work.karmada.io/v1alpha1");
		cJSON_AddStringToObject(w, "kind", "Work");
		cJSON *md = json_ensure_obj(w, "metadata");
		cJSON_AddStringToObject(md, "name", name);
		cJSON_AddStringToObject(md, "namespace", ens);
	}
	json_set_str(json_ensure_obj(w, "metadata.labels"), MESH_LABEL, mesh);
	if (reader_hash) {
		cJSON *labels = json_get(w, "metadata.labels");
		cJSON_DeleteItemFromObjectCaseSensitive(labels, MESHREADER_HASH_LABEL);
		if (reader_hash[0])
			cJSON_AddStringToObject(labels, MESHREADER_HASH_LABEL, reader_hash);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(w, "spec");
	cJSON_AddItemToObject(cJSON_AddObjectToObject(w, "spec"), "workload", cJSON_CreateObject());
	cJSON_AddItemToObject(json_get(w, "spec.workload"), "manifests", mans);
	put_obj(m, WORK_K, cur, w, ens);
	cJSON_Delete(cur);
	return get_obj(m, WORK_K, ens, name);
}

static bool work_applied(const cJSON *w, const char **reason, const char **message)
{
	const cJSON *c = json_condition(w, "Applied");
	double gen = json_get_num(w, "metadata.generation", 0), og = json_get_num(c, "observedGeneration", 0);
	*reason = json_get_str(c, "reason");
	*message = json_get_str(c, "message");
	return c && json_get_str(c, "status") && strcmp(json_get_str(c, "status"), "True") == 0 && (og <= 0 || og >= gen);
}

/* ---- status ---------------------------------------------------------------- */

static cJSON *condition(const cJSON *old_conds, const char *type, bool ok, const char *reason, const char *message,
			double gen)
{
	cJSON *c = cJSON_CreateObject();
	const char *st = ok ? "True" : "False";
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", st);
	cJSON_AddStringToObject(c, "reason", reason);
	cJSON_AddStringToObject(c, "message", message ? message : "");
	if (gen > 0)
		cJSON_AddNumberToObject(c, "observedGeneration", gen);
	const cJSON *o, *prev = NULL;
	cJSON_ArrayForEach(o, old_conds) if (json_get_str(o, "type") && strcmp(json_get_str(o, "type"), type) == 0) prev = o;
	const char *pt = json_get_str(prev, "lastTransitionTime");
	char now[64];
	if (prev && pt && json_get_str(prev, "status") && strcmp(json_get_str(prev, "status"), st) == 0)
		cJSON_AddStringToObject(c, "lastTransitionTime", pt);
	else
		cJSON_AddStringToObject(c, "lastTransitionTime", time_rfc3339(time(NULL), now, sizeof now));
	return c;
}

static const cJSON *old_cluster_status(const cJSON *mesh, const char *name)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, json_get(mesh, "status.clusters")) if (json_get_str(c, "name") && strcmp(json_get_str(c, "name"), name) == 0) return c;
	return NULL;
}

static void write_status(struct mesh_ctl *m, const cJSON *mesh, cJSON *status)
{
	struct api_error e = {0};
	/* 409 and 404: the Mesh changed or went; its store event brings a new pass. */
	if (objc_apply_status(&m->oc, MESH_K, mesh, status, NULL, &e) < 0 && e.code != 409 && e.code != 404) {
		log_warn("mesh: cannot write the status of mesh %s: %s", mname(mesh), e.message);
		m->write_failed = true;
	}
	api_error_clear(&e);
}

/* ---- one Mesh ---------------------------------------------------------------- */

/* One name per cluster whatever the mesh (a cluster is in one mesh at a
 * time): a cluster handed from one Mesh to another keeps its Work, updated,
 * so the agent never deletes what the next Mesh applies. */
static void work_name(const char *mesh, bool gateway, char *buf, size_t len)
{
	(void)mesh;
	snprintf(buf, len, "atoll-mesh%s", gateway ? "-gateway" : "");
}

/* The kubeconfig the member's agent reported (kept while it is a member). */
static void load_reader(struct mesh_ctl *m, struct member *mb, cJSON *pki_keep)
{
	char rn[300];
	snprintf(rn, sizeof rn, MESHREADER_HUB_SECRET_PREFIX "%s", mb->name);
	if (!cJSON_GetObjectItemCaseSensitive(pki_keep, rn))
		cJSON_AddTrueToObject(pki_keep, rn);
	cJSON *rs = get_obj(m, SECRET_K, PKI_NS, rn);
	mb->reader = rs ? secret_data(rs, "kubeconfig") : NULL;
	if (mb->reader && !mb->reader[0]) {
		free(mb->reader);
		mb->reader = NULL;
	}
	if (mb->reader)
		meshreader_hash(mb->reader, mb->reader_hash);
	cJSON_Delete(rs);
}

/* Reconciles one Mesh; keep gets "<ns>/<work>" of every Work it owns.
 * *next_due: earliest renewal. */
static void reconcile_mesh(struct mesh_ctl *m, const cJSON *mesh, const cJSON *clusters, cJSON *claimed, cJSON *keep,
			   cJSON *pki_keep, const cJSON *works, time_t now, time_t *next_due)
{
	struct plan p = {0};
	p.mesh = mesh;
	p.name = mname(mesh);
	char rootname[300], all[300];
	pki_name(p.name, NULL, rootname, sizeof rootname);
	cJSON_AddTrueToObject(pki_keep, rootname); /* a Mesh keeps its root while it exists */
	snprintf(all, sizeof all, "mesh:%s", p.name);
	const cJSON *spec = json_get(mesh, "spec");
	p.mesh_id = json_get_str(spec, "meshID") ? json_get_str(spec, "meshID") : p.name;
	p.trust_domain = json_get_str(spec, "trustDomain") ? json_get_str(spec, "trustDomain") : "cluster.local";
	p.istio = json_get_str(spec, "istioVersion") ? json_get_str(spec, "istioVersion") : MESH_DEFAULT_ISTIO;
	p.root_s = (long)json_get_num(spec, "certificates.rootLifetimeSeconds", (double)DEFAULT_ROOT_S);
	p.inter_s = (long)json_get_num(spec, "certificates.intermediateLifetimeSeconds", (double)DEFAULT_INTER_S);
	if (p.inter_s > p.root_s)
		p.inter_s = p.root_s;
	double gen = json_get_num(mesh, "metadata.generation", 0);
	const cJSON *old_conds = json_get(mesh, "status.conditions");
	plan_members(&p, clusters, claimed);
	bool deleting = json_get(mesh, "metadata.deletionTimestamp") != NULL;
	for (int i = 0; i < p.n && !deleting; i++)
		load_reader(m, &p.mem[i], pki_keep);
	if (p.reason[0] || deleting) {
		/* Nothing new is applied: what this Mesh already delivered stays. */
		cJSON_AddTrueToObject(pki_keep, all);
		const cJSON *w;
		cJSON_ArrayForEach(w, works) {
			const char *lab = mesh_of(w);
			if (lab && strcmp(lab, p.name) == 0 && !deleting) {
				char k[700];
				snprintf(k, sizeof k, "%s/%s", json_get_str(w, "metadata.namespace"), mname(w));
				cJSON_AddTrueToObject(keep, k);
			}
		}
		if (!deleting) {
			cJSON *st = cJSON_CreateObject();
			cJSON_AddNumberToObject(st, "observedGeneration", gen);
			cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
			cJSON_AddItemToArray(conds, condition(old_conds, "Ready", false, p.reason, p.message, gen));
			const cJSON *oc = json_get(mesh, "status.clusters");
			cJSON_AddItemToObject(st, "clusters", oc ? json_dup(oc) : cJSON_CreateArray());
			const char *re = json_get_str(mesh, "status.rootExpiry");
			if (re)
				cJSON_AddStringToObject(st, "rootExpiry", re);
			write_status(m, mesh, st);
		}
		plan_free(&p);
		return;
	}
	if (p.n > 0 && plan_pki(m, &p, now, pki_keep) < 0) {
		cJSON_AddTrueToObject(pki_keep, all);
		log_warn("mesh: %s: %s", p.name, p.message);
		cJSON *st = cJSON_CreateObject();
		cJSON_AddNumberToObject(st, "observedGeneration", gen);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(st, "conditions"),
				     condition(old_conds, "Ready", false, p.reason, p.message, gen));
		write_status(m, mesh, st);
		plan_free(&p);
		return;
	}
	cJSON *st = cJSON_CreateObject();
	cJSON_AddNumberToObject(st, "observedGeneration", gen);
	cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
	cJSON *cls = cJSON_AddArrayToObject(st, "clusters");
	char tb[64], pending[600] = "";
	int nready = 0;
	for (int i = 0; i < p.n; i++) {
		struct member *mb = &p.mem[i];
		char wn[300], wg[300], k[700];
		work_name(p.name, false, wn, sizeof wn);
		work_name(p.name, true, wg, sizeof wg);
		cJSON *w = sync_work(m, mb->name, wn, p.name, main_manifests(&p, mb), mb->reader_hash);
		cJSON *g = sync_work(m, mb->name, wg, p.name, gateway_manifests(&p), NULL);
		snprintf(k, sizeof k, "karmada-es-%s/%s", mb->name, wn);
		cJSON_AddTrueToObject(keep, k);
		snprintf(k, sizeof k, "karmada-es-%s/%s", mb->name, wg);
		cJSON_AddTrueToObject(keep, k);
		if (mb->due && (!*next_due || mb->due < *next_due))
			*next_due = mb->due;
		const char *reason = NULL, *msg = NULL;
		bool ok = w && work_applied(w, &reason, &msg);
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", mb->name);
		cJSON_AddStringToObject(c, "network", mb->network);
		cJSON_AddStringToObject(c, "intermediateExpiry", time_rfc3339(mb->expiry, tb, sizeof tb));
		const char *gr = NULL, *gm = NULL;
		cJSON_AddBoolToObject(c, "gatewayApplied", g && work_applied(g, &gr, &gm));
		/* the remote secrets this cluster holds (applied), by name */
		cJSON *rsl = cJSON_AddArrayToObject(c, "remoteSecrets");
		for (int j = 0; ok && j < p.n; j++) {
			if (j == i || !p.mem[j].reader)
				continue;
			char rn[300];
			snprintf(rn, sizeof rn, "istio-remote-secret-%s", p.mem[j].name);
			cJSON_AddItemToArray(rsl, cJSON_CreateString(rn));
		}
		const cJSON *oc = old_cluster_status(mesh, mb->name);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(c, "conditions"),
				     condition(json_get(oc, "conditions"), "Ready", ok, ok ? "Applied" : reason ? reason : "Pending",
					       ok ? "cacerts, network label and east-west gateway applied" : msg ? msg : "waiting for the member's agent",
					       0));
		cJSON_AddItemToArray(cls, c);
		cJSON_Delete(w);
		cJSON_Delete(g);
		if (ok) {
			nready++;
		} else {
			size_t l = strlen(pending);
			snprintf(pending + l, sizeof pending - l, "%s%s", l ? ", " : "not yet applied in: ", mb->name);
		}
	}
	if (p.root_cert)
		cJSON_AddStringToObject(st, "rootExpiry", time_rfc3339(p.root_expiry, tb, sizeof tb));
	bool ready = p.n > 0 && nready == p.n;
	cJSON_AddItemToArray(conds, condition(old_conds, "Ready", ready,
					      ready ? "Ready" : p.n == 0 ? "NoClusters" : "Applying",
					      ready ? "every cluster holds its cacerts and mesh wiring"
						    : p.n == 0 ? "no cluster matches spec.clusters" : pending, gen));
	write_status(m, mesh, st);
	plan_free(&p);
}

static int by_age(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	const char *tx = json_get_str(x, "metadata.creationTimestamp"), *ty = json_get_str(y, "metadata.creationTimestamp");
	int c = strcmp(tx ? tx : "", ty ? ty : "");
	return c ? c : strcmp(mname(x) ? mname(x) : "", mname(y) ? mname(y) : "");
}

void mesh_reconcile(struct mesh_ctl *m)
{
	if (!MESH_K || !WORK_K)
		return;
	time_t now = time(NULL), next_due = 0;
	cJSON *clusters = list_prefix(m, "cluster.karmada.io/clusters/");
	cJSON *meshes = list_prefix(m, "mesh.atoll.io/meshes/");
	cJSON *works = cJSON_CreateArray();
	store_list(m->st, "work.karmada.io/works/", list_mesh_work, works, NULL);
	int n = cJSON_GetArraySize(meshes);
	const cJSON **sorted = xcalloc((size_t)n + 1, sizeof *sorted);
	int i = 0;
	const cJSON *x;
	cJSON_ArrayForEach(x, meshes) sorted[i++] = x;
	qsort(sorted, (size_t)n, sizeof *sorted, by_age);
	cJSON *claimed = cJSON_CreateObject(), *keep = cJSON_CreateObject(), *pki_keep = cJSON_CreateObject();
	for (i = 0; i < n; i++)
		reconcile_mesh(m, sorted[i], clusters, claimed, keep, pki_keep, works, now, &next_due);
	/* Works no Mesh wants any more: the cluster left, or the Mesh is gone. */
	cJSON_ArrayForEach(x, works) {
		char k[700];
		const char *ns = json_get_str(x, "metadata.namespace");
		if (!mesh_of(x) || !ns)
			continue;
		snprintf(k, sizeof k, "%s/%s", ns, mname(x));
		if (!cJSON_GetObjectItemCaseSensitive(keep, k))
			del_obj(m, WORK_K, ns, mname(x));
	}
	/* Certificate authorities of Meshes that are gone, and of clusters that left. */
	char prefix[600];
	obj_key(prefix, sizeof prefix, SECRET_K, PKI_NS, "atoll-mesh-");
	cJSON *secrets = list_prefix(m, prefix);
	cJSON_ArrayForEach(x, secrets) {
		const char *owner = mesh_of(x);
		char all[300];
		if (!owner || !mname(x))
			continue;
		snprintf(all, sizeof all, "mesh:%s", owner);
		if (!cJSON_GetObjectItemCaseSensitive(pki_keep, all) && !cJSON_GetObjectItemCaseSensitive(pki_keep, mname(x)))
			del_obj(m, SECRET_K, PKI_NS, mname(x));
	}
	cJSON_Delete(secrets);
	/* Readers of clusters no Mesh holds: the cluster left, or the Mesh is gone. */
	obj_key(prefix, sizeof prefix, SECRET_K, PKI_NS, MESHREADER_HUB_SECRET_PREFIX);
	secrets = list_prefix(m, prefix);
	cJSON_ArrayForEach(x, secrets) {
		if (mname(x) && !cJSON_GetObjectItemCaseSensitive(pki_keep, mname(x)))
			del_obj(m, SECRET_K, PKI_NS, mname(x));
	}
	cJSON_Delete(secrets);
	free(sorted);
	cJSON_Delete(claimed);
	cJSON_Delete(keep);
	cJSON_Delete(pki_keep);
	cJSON_Delete(works);
	cJSON_Delete(meshes);
	cJSON_Delete(clusters);
	if (m->write_failed) {
		/* Again after the retry policy's backoff (or the renewal, if sooner). */
		m->write_failed = false;
		uint64_t ms = backoff_next_ms(&m->retry);
		long long d = next_due ? (long long)(next_due - now) : -1;
		if (m->timer && (d < 0 || (uint64_t)d * 1000 > ms)) {
			struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
			evtimer_add(m->timer, &tv);
			next_due = 0;
		}
	} else {
		backoff_reset(&m->retry);
	}
	if (m->timer && next_due) {
		long long d = (long long)(next_due - now);
		struct timeval tv = {d > 0 ? (time_t)d : 0, d > 0 ? 0 : 200000};
		evtimer_add(m->timer, &tv);
	}
}

/* ---- wiring -------------------------------------------------------------------- */

static void arm(struct mesh_ctl *m)
{
	if (m->armed || !m->ev)
		return;
	struct timeval tv = {0, 20000}; /* coalesce a burst of changes */
	event_add(m->ev, &tv);
	m->armed = true;
}

static void on_ev(evutil_socket_t fd, short what, void *arg)
{
	struct mesh_ctl *m = arg;
	m->armed = false;
	mesh_reconcile(m);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) { arm(arg); }

static void on_store_event(const struct store_event *ev, void *ud)
{
	struct mesh_ctl *m = ud;
	const char *k = ev->key;
	if (strncmp(k, "mesh.atoll.io/meshes/", 21) == 0 || strncmp(k, "cluster.karmada.io/clusters/", 28) == 0 ||
	    strncmp(k, "core/secrets/" PKI_NS "/" MESHREADER_HUB_SECRET_PREFIX,
		    strlen("core/secrets/" PKI_NS "/" MESHREADER_HUB_SECRET_PREFIX)) == 0)
		arm(m);
	else if (strncmp(k, "work.karmada.io/works/", 22) == 0) {
		const char *name = objc_key_name(k);
		if (name && strncmp(name, "atoll-mesh", 10) == 0)
			arm(m);
	}
}

/* A rolled-back batch may have held this controller's writes: reconcile
 * again from what is stored. */
static void on_rollback(struct store *s, void *ud) { arm(ud); }

struct mesh_ctl *mesh_start(struct event_base *base, struct store *st, struct obj_ctx *objs)
{
	struct mesh_ctl *m = xcalloc(1, sizeof *m);
	m->base = base;
	m->st = st;
	m->objs = objs;
	objc_init(&m->oc, st, objs);
	backoff_init_policy(&m->retry, 0);
	m->verified = cJSON_CreateObject();
	if (base) {
		m->ev = event_new(base, -1, 0, on_ev, m);
		m->timer = evtimer_new(base, on_timer, m);
	}
	store_subscribe(st, on_store_event, m);
	store_subscribe_rollback(st, on_rollback, m);
	arm(m);
	m->mcs = mcs_start(base, st, objs);
	return m;
}

void mesh_stop(struct mesh_ctl *m)
{
	if (!m)
		return;
	store_unsubscribe(m->st, on_store_event, m);
	store_unsubscribe_rollback(m->st, on_rollback, m);
	if (m->ev)
		event_free(m->ev);
	if (m->timer)
		event_free(m->timer);
	cJSON_Delete(m->verified);
	objc_free(&m->oc);
	mcs_stop(m->mcs);
	free(m);
}
