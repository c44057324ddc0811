/* test_mcs — the hub's multi-cluster services controller (hub/mcs.c) on a
 * temporary store: ServiceExports' collectedEndpoints in ap's and us's
 * Works and ServiceImports in eu's and us's become, per consumer, the Work
 * atoll-mcs-default-hello with derived-hello (ports from the Service when
 * the ServiceImport has none) and one EndpointSlice per OTHER source
 * cluster; a source whose Cluster is not Ready drops out; an import that
 * goes takes its Work along. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonutil.h"
#include "mcs.h"
#include "objects.h"
#include "objtest.h"
#include "testutil.h"

struct fx {
	char dir[256];
	struct obj_ctx objs;
	struct mcs_ctl *mcs;
};

static const struct kind_info *K(const char *g, const char *v, const char *k) { return kinds_find_kind(g, v, k); }
#define WORK_K K("work.karmada.io", "v1alpha1", "Work")
#define CLUSTER_K K("cluster.karmada.io", "v1alpha1", "Cluster")

static void create(struct fx *f, const struct kind_info *k, const char *ns, const char *json)
{
	obj_create_ok(&f->objs, k, ns, json);
}

static void patch(struct fx *f, const struct kind_info *k, const char *ns, const char *name, const char *json,
		  enum subresource sub)
{
	cJSON *p = jq(json);
	char *out = NULL;
	struct api_error e = {0};
	bool created;
	int rc = obj_patch(&f->objs, k, ns, name, "application/merge-patch+json", p, sub, false, &created, &out, &e);
	if (rc != 0)
		print_error("patch %s: %s\n", name, e.message);
	assert_int_equal(rc, 0);
	free(out);
	cJSON_Delete(p);
}

static cJSON *get(struct fx *f, const struct kind_info *k, const char *ns, const char *name)
{
	return obj_get_json(&f->objs, k, ns, name);
}

static const char *READY = "{'status':{'conditions':[{'type':'Ready','status':'%s','reason':'R','message':'m',"
			   "'lastTransitionTime':'2026-01-01T00:00:00Z'}]}}";

static void set_ready(struct fx *f, const char *cluster, const char *status)
{
	char buf[512];
	snprintf(buf, sizeof buf, READY, status);
	patch(f, CLUSTER_K, "", cluster, buf, SUBRES_STATUS);
}

/* An exporting Work in karmada-es-<cluster> whose ServiceExport reports ip. */
static void export_work(struct fx *f, const char *cluster, const char *ip)
{
	char ns[64], buf[2048];
	snprintf(ns, sizeof ns, "karmada-es-%s", cluster);
	snprintf(buf, sizeof buf,
		 "{'apiVersion':'work.karmada.io/v1alpha1','kind':'Work','metadata':{'name':'hello-exp'},"
		 "'spec':{'workload':{'manifests':["
		 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'hello','namespace':'default'},"
		 "'spec':{'selector':{'app':'hello'},'ports':[{'name':'http','port':5000,'targetPort':8080}]}},"
		 "{'apiVersion':'multicluster.x-k8s.io/v1alpha1','kind':'ServiceExport',"
		 "'metadata':{'name':'hello','namespace':'default'}}]}}}");
	create(f, WORK_K, ns, buf);
	snprintf(buf, sizeof buf,
		 "{'status':{'manifestStatuses':[{'identifier':{'ordinal':1,'group':'multicluster.x-k8s.io',"
		 "'version':'v1alpha1','kind':'ServiceExport','resource':'serviceexports','namespace':'default',"
		 "'name':'hello'},'health':'Healthy','collectedEndpoints':[{'name':'hello-sim','addressType':'IPv4',"
		 "'ports':[{'name':'http','port':8080,'protocol':'TCP'}],'endpoints':[{'addresses':['%s'],"
		 "'conditions':{'ready':true},'zone':'%s-1','nodeName':'node-1'}]}]}]}}",
		 ip, cluster);
	patch(f, WORK_K, ns, "hello-exp", buf, SUBRES_STATUS);
}

static void import_work(struct fx *f, const char *cluster)
{
	char ns[64];
	snprintf(ns, sizeof ns, "karmada-es-%s", cluster);
	create(f, WORK_K, ns,
	       "{'apiVersion':'work.karmada.io/v1alpha1','kind':'Work','metadata':{'name':'hello-imp'},"
	       "'spec':{'workload':{'manifests':[{'apiVersion':'multicluster.x-k8s.io/v1alpha1','kind':'ServiceImport',"
	       "'metadata':{'name':'hello','namespace':'default'},'spec':{'type':'ClusterSetIP','ports':[]}}]}}}");
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	obj_test_open(f->dir, sizeof f->dir, "mcs", &f->objs);
	static const char *const cl[] = {"ap", "us", "eu"};
	for (int i = 0; i < 3; i++) {
		char buf[256];
		snprintf(buf, sizeof buf, "{'metadata':{'name':'%s'},'spec':{'syncMode':'Pull'}}", cl[i]);
		create(f, CLUSTER_K, "", buf);
		set_ready(f, cl[i], "True");
		snprintf(buf, sizeof buf, "{'metadata':{'name':'karmada-es-%s'}}", cl[i]);
		create(f, K("", "v1", "Namespace"), "", buf);
	}
	f->mcs = mcs_start(NULL, f->objs.store, &f->objs);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	mcs_stop(f->mcs);
	obj_test_close(f->dir, &f->objs);
	free(f);
	return 0;
}

/* The derived Work's manifests in consumer (NULL: no Work). */
static cJSON *derived(struct fx *f, const char *consumer)
{
	char ns[64];
	snprintf(ns, sizeof ns, "karmada-es-%s", consumer);
	cJSON *w = get(f, WORK_K, ns, "atoll-mcs-default-hello");
	if (!w)
		return NULL;
	if (json_get(w, "metadata.deletionTimestamp")) {
		cJSON_Delete(w);
		return NULL;
	}
	cJSON *m = json_dup(json_get(w, "spec.workload.manifests"));
	cJSON_Delete(w);
	return m;
}

/* "cluster:ip,cluster:ip" of the EndpointSlices in mans, in order. */
static void slices(const cJSON *mans, char *buf, size_t len)
{
	buf[0] = '\0';
	const cJSON *m;
	cJSON_ArrayForEach(m, mans)
	{
		if (strcmp(json_get_str(m, "kind"), "EndpointSlice") != 0)
			continue;
		const cJSON *lab = json_get(m, "metadata.labels");
		const char *pc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(lab, MCS_PROVISION_LABEL));
		const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m, "endpoints"), 0);
		const char *ip = cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(e0, "addresses"), 0));
		size_t n = strlen(buf);
		snprintf(buf + n, len - n, "%s%s:%s", n ? "," : "", pc ? pc : "?", ip ? ip : "?");
	}
}

static void test_derived_per_consumer(void **state)
{
	struct fx *f = *state;
	export_work(f, "ap", "10.1.0.1");
	export_work(f, "us", "10.2.0.1");
	import_work(f, "eu");
	import_work(f, "us");
	mcs_reconcile(f->mcs);
	char buf[256];
	cJSON *eu = derived(f, "eu");
	assert_non_null(eu);
	const cJSON *svc = cJSON_GetArrayItem(eu, 0);
	assert_string_equal(json_get_str(svc, "kind"), "Service");
	assert_string_equal(json_get_str(svc, "metadata.name"), "derived-hello");
	assert_null(json_get(svc, "spec.selector"));
	/* the ServiceImport has no ports: the exported Service's */
	assert_int_equal((int)json_get_num(cJSON_GetArrayItem(json_get(svc, "spec.ports"), 0), "port", 0), 5000);
	slices(eu, buf, sizeof buf);
	assert_string_equal(buf, "ap:10.1.0.1,us:10.2.0.1");
	const cJSON *sl = cJSON_GetArrayItem(eu, 1);
	assert_string_equal(json_get_str(sl, "metadata.name"), "imported-ap-hello");
	const cJSON *lab = json_get(sl, "metadata.labels");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(lab, "kubernetes.io/service-name")),
			    "derived-hello");
	assert_string_equal(
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(lab, "endpointslice.kubernetes.io/managed-by")),
	    MCS_MANAGED_BY);
	const cJSON *e0 = cJSON_GetArrayItem(json_get(sl, "endpoints"), 0);
	assert_string_equal(json_get_str(e0, "zone"), "ap-1");
	assert_null(json_get(e0, "nodeName"));
	assert_int_equal((int)json_get_num(cJSON_GetArrayItem(json_get(sl, "ports"), 0), "port", 0), 8080);
	cJSON_Delete(eu);
	/* us imports too: only the other cluster's endpoints */
	cJSON *us = derived(f, "us");
	slices(us, buf, sizeof buf);
	assert_string_equal(buf, "ap:10.1.0.1");
	cJSON_Delete(us);
	assert_null(derived(f, "ap"));

	/* A pass with nothing new writes nothing. */
	char ns[] = "karmada-es-eu";
	cJSON *w1 = get(f, WORK_K, ns, "atoll-mcs-default-hello");
	mcs_reconcile(f->mcs);
	cJSON *w2 = get(f, WORK_K, ns, "atoll-mcs-default-hello");
	assert_string_equal(json_get_str(w1, "metadata.resourceVersion"), json_get_str(w2, "metadata.resourceVersion"));
	cJSON_Delete(w1);
	cJSON_Delete(w2);

	/* ap not Ready: it drops out of every consumer. */
	set_ready(f, "ap", "Unknown");
	mcs_reconcile(f->mcs);
	eu = derived(f, "eu");
	slices(eu, buf, sizeof buf);
	assert_string_equal(buf, "us:10.2.0.1");
	cJSON_Delete(eu);
	us = derived(f, "us");
	slices(us, buf, sizeof buf);
	assert_string_equal(buf, "");
	cJSON_Delete(us);

	/* eu's import goes: its derived Work goes, us's stays. */
	char *out = NULL;
	struct api_error e = {0};
	assert_int_equal(obj_delete(&f->objs, WORK_K, "karmada-es-eu", "hello-imp", &out, &e), 0);
	free(out);
	mcs_reconcile(f->mcs);
	assert_null(derived(f, "eu"));
	us = derived(f, "us");
	assert_non_null(us);
	cJSON_Delete(us);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_derived_per_consumer, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
