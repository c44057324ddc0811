/* Unit tests for proto/fieldcheck: unknown and duplicate fields by the
 * schema table (built-in and Karmada kinds), patch directives, CRD pruning,
 * the Strict message, and every manifest in the repository passing clean
 * (the tables must not refuse what Kubernetes and Karmada accept). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldcheck.h"
#include "testutil.h"
#include "yamljson.h"


static int check(const char *av, const char *kind, cJSON *body, enum fc_body how, struct fc_result *r)
{
	return fieldcheck_body(av, kind, body, how, r);
}

static void test_deployment_typos(void **state)
{
	(void)state;
	cJSON *d = jq("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'x','labelz':{}},"
			 "'spec':{'replcias':3,'selector':{'matchLabels':{'a':'b'}},'template':{'spec':{"
			 "'containers':[{'name':'c','image':'i'},{'name':'d','imagee':'i','ports':[{'containerPort':1,'nme':'x'}]}],"
			 "'volumes':[{'name':'v','configMap':{'name':'cm','items':[{'key':'k','path':'p'}]}}]}}},"
			 "'status':{'replicas':1}}");
	struct fc_result r = {0};
	assert_int_equal(check("apps/v1", "Deployment", d, FC_OBJECT, &r), 4);
	assert_string_equal(r.issue[0], "unknown field \"metadata.labelz\"");
	assert_string_equal(r.issue[1], "unknown field \"spec.replcias\"");
	assert_string_equal(r.issue[2], "unknown field \"spec.template.spec.containers[1].imagee\"");
	assert_string_equal(r.issue[3], "unknown field \"spec.template.spec.containers[1].ports[0].nme\"");
	/* Dropped, as Kubernetes' decoding into its Go types drops them. */
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "spec"), "replcias"));
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "metadata"), "labelz"));
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "spec"), "selector"));
	char m[1024];
	fieldcheck_strict_message("Deployment", "v1", &r, m, sizeof m);
	assert_true(strncmp(m, "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: "
			       "unknown field \"metadata.labelz\", unknown field \"spec.replcias\"", 130) == 0);
	fc_result_free(&r);
	cJSON_Delete(d);

	cJSON *cm = jq("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c'},'foo':'bar','data':{'a':'b'}}");
	assert_int_equal(check("v1", "ConfigMap", cm, FC_OBJECT, &r), 1);
	assert_string_equal(r.issue[0], "unknown field \"foo\"");
	fc_result_free(&r);
	cJSON_Delete(cm);
}

static void test_duplicates(void **state)
{
	(void)state;
	cJSON *d = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\",\"name\":\"b\"},"
			       "\"data\":{\"k\":\"1\",\"k\":\"2\",\"k\":\"3\",\"j\":\"x\"}}");
	struct fc_result r = {0};
	assert_int_equal(check("v1", "ConfigMap", d, FC_OBJECT, &r), 2);
	assert_string_equal(r.issue[0], "duplicate field \"metadata.name\"");
	assert_string_equal(r.issue[1], "duplicate field \"data.k\"");
	/* The last one wins. */
	cJSON *meta = cJSON_GetObjectItem(d, "metadata");
	assert_int_equal(cJSON_GetArraySize(meta), 1);
	assert_string_equal(cJSON_GetObjectItem(meta, "name")->valuestring, "b");
	cJSON *data = cJSON_GetObjectItem(d, "data");
	assert_int_equal(cJSON_GetArraySize(data), 2);
	assert_string_equal(cJSON_GetObjectItem(data, "k")->valuestring, "3");
	fc_result_free(&r);
	cJSON_Delete(d);
}

static void test_patch_directives(void **state)
{
	(void)state;
	cJSON *p = jq("{'spec':{'template':{'spec':{'$setElementOrder/containers':[{'name':'c'}],"
			 "'containers':[{'name':'c','$patch':'delete'}],'$retainKeys':['x']}}},"
			 "'metadata':{'$patch':'replace','labels':{'a':null}},'replcias':null}");
	struct fc_result r = {0};
	assert_int_equal(check("apps/v1", "Deployment", p, FC_PATCH, &r), 0);
	/* The same keys in a whole object are unknown. */
	cJSON *whole = cJSON_Duplicate(p, 1);
	assert_int_equal(check("apps/v1", "Deployment", whole, FC_OBJECT, &r), 5);
	cJSON_Delete(whole);
	fc_result_free(&r);
	cJSON_Delete(p);
}

static const char *CRD =
	"{'apiVersion':'apiextensions.k8s.io/v1','kind':'CustomResourceDefinition','metadata':{'name':'widgets.example.com'},"
	"'spec':{'group':'example.com','scope':'Namespaced','names':{'plural':'widgets','kind':'Widget'},"
	"'versions':[{'name':'v1','served':true,'storage':true,'schema':{'openAPIV3Schema':{'type':'object','properties':{"
	"'spec':{'type':'object','properties':{'size':{'type':'integer'},"
	"'free':{'type':'object','x-kubernetes-preserve-unknown-fields':true},"
	"'labels':{'type':'object','additionalProperties':{'type':'object','properties':{'v':{'type':'string'}}}},"
	"'tpl':{'type':'object','x-kubernetes-embedded-resource':true,'properties':{'spec':{'type':'object'}}},"
	"'tags':{'type':'array','items':{'type':'object','properties':{'k':{'type':'string'}}}}}}}}}}]}}";

static void test_json_patch(void **state)
{
	(void)state;
	cJSON *p = jq("[{'op':'replace','path':'/spec/replicas','value':3},"
			 "{'op':'add','path':'/spec/replcias','value':3},"
			 "{'op':'add','path':'/spec/template/spec/containers/0','value':{'name':'c','imagee':'x'}},"
			 "{'op':'add','path':'/metadata/labels/a~1b','value':'v'},"
			 "{'op':'add','path':'/spec/template/spec/containers/-/image','value':'i'},"
			 "{'op':'remove','path':'/spec/whatever'},"
			 "{'op':'add','path':'','value':{'apiVersion':'apps/v1','kind':'Deployment','bogus':1}}]");
	struct fc_result r = {0};
	assert_int_equal(check("apps/v1", "Deployment", p, FC_PATCH, &r), 3);
	assert_string_equal(r.issue[0], "unknown field \"spec.replcias\"");
	assert_string_equal(r.issue[1], "unknown field \"spec.template.spec.containers[0].imagee\"");
	assert_string_equal(r.issue[2], "unknown field \"bogus\"");
	/* The operation on the unknown field is gone, the others stay (pruned). */
	assert_int_equal(cJSON_GetArraySize(p), 6);
	char *got = cJSON_PrintUnformatted(cJSON_GetArrayItem(p, 1));
	assert_string_equal(got, "{\"op\":\"add\",\"path\":\"/spec/template/spec/containers/0\",\"value\":{\"name\":\"c\"}}");
	free(got);
	fc_result_free(&r);
	cJSON_Delete(p);

	cJSON *crd = jq(CRD);
	fieldcheck_register_crd(crd);
	cJSON *q = jq("[{'op':'add','path':'/spec/free/x/y','value':1},{'op':'add','path':'/spec/colour','value':1},"
			 "{'op':'add','path':'/spec/tags/0','value':{'k':'a','z':1}},{'op':'add','path':'/spec/labels/q','value':{'v':'1'}}]");
	assert_int_equal(check("example.com/v1", "Widget", q, FC_PATCH, &r), 2);
	assert_string_equal(r.issue[0], "unknown field \"spec.colour\"");
	assert_string_equal(r.issue[1], "unknown field \"spec.tags[0].z\"");
	assert_int_equal(cJSON_GetArraySize(q), 3);
	fc_result_free(&r);
	cJSON_Delete(q);
	fieldcheck_unregister_crd("widgets.example.com");
	cJSON_Delete(crd);
}

static void test_karmada_policy(void **state)
{
	(void)state;
	/* clusterAffinity one level too high, as in one of Karmada's documentation examples. */
	cJSON *pp = jq("{'apiVersion':'policy.karmada.io/v1alpha1','kind':'PropagationPolicy','metadata':{'name':'p'},"
			  "'spec':{'resourceSelectors':[{'apiVersion':'apps/v1','kind':'Deployment','name':'n'}],"
			  "'clusterAffinity':{'clusterNames':['m1']},"
			  "'placement':{'clusterAfinity':{},'clusterAffinities':[{'affinityName':'a','clusterNames':['m1'],'exclude':['m2']}],"
			  "'clusterTolerations':[{'key':'k','operator':'Exists','effect':'NoSchedule'}],"
			  "'replicaScheduling':{'replicaSchedulingType':'Divided','replicaDivisionPreference':'Weighted',"
			  "'weightPreference':{'staticWeightList':[{'targetCluster':{'clusterNames':['m1']},'weight':1}]}}}}}");
	struct fc_result r = {0};
	cJSON *cpp = cJSON_Duplicate(pp, 1);
	assert_int_equal(check("policy.karmada.io/v1alpha1", "PropagationPolicy", pp, FC_OBJECT, &r), 2);
	assert_string_equal(r.issue[0], "unknown field \"spec.clusterAffinity\"");
	assert_string_equal(r.issue[1], "unknown field \"spec.placement.clusterAfinity\"");
	fc_result_free(&r);
	assert_int_equal(check("policy.karmada.io/v1alpha1", "ClusterPropagationPolicy", cpp, FC_OBJECT, &r), 2);
	fc_result_free(&r);
	/* Pruned: checking again finds nothing. */
	assert_int_equal(check("policy.karmada.io/v1alpha1", "PropagationPolicy", pp, FC_OBJECT, &r), 0);
	cJSON_Delete(cpp);
	cJSON_Delete(pp);

	cJSON *op = jq("{'apiVersion':'policy.karmada.io/v1alpha1','kind':'OverridePolicy','metadata':{'name':'o'},"
			  "'spec':{'resourceSelectors':[{'apiVersion':'apps/v1','kind':'Deployment'}],'overrideRules':[{"
			  "'targetCluster':{'clusterNames':['m1']},'overriders':{'imageOverrider':[{'component':'Registry',"
			  "'operator':'replace','value':'r.io'}],'plaintext':[{'path':'/x','operator':'add','value':{'any':1}}],"
			  "'labelsOverrider':[{'operator':'add','value':{'a':'b'}}],'argsOverrider':[{'containerName':'c','operator':'add','value':['x']}],"
			  "'fieldOverrider':[{'fieldPath':'/data/x','yaml':[{'subPath':'/a','operator':'add','value':1}]}],"
			  "'imageOverider':[]}}]}}");
	assert_int_equal(check("policy.karmada.io/v1alpha1", "OverridePolicy", op, FC_OBJECT, &r), 1);
	assert_string_equal(r.issue[0], "unknown field \"spec.overrideRules[0].overriders.imageOverider\"");
	fc_result_free(&r);
	cJSON_Delete(op);

	cJSON *w = jq("{'apiVersion':'work.karmada.io/v1alpha1','kind':'Work','metadata':{'name':'w'},"
			 "'spec':{'workload':{'manifests':[{'apiVersion':'v1','kind':'ConfigMap','anything':1}]}},"
			 "'status':{'whatever':[1]}}");
	assert_int_equal(check("work.karmada.io/v1alpha1", "Work", w, FC_OBJECT, &r), 0);
	cJSON_Delete(w);
}

static void test_crd_pruning(void **state)
{
	(void)state;
	cJSON *crd = jq(CRD);
	fieldcheck_register_crd(crd);
	assert_true(fieldcheck_knows("example.com/v1", "Widget"));
	cJSON *w = jq("{'apiVersion':'example.com/v1','kind':'Widget','metadata':{'name':'w','bogus':1},"
			 "'spec':{'size':1,'color':'red','free':{'a':{'b':1}},'labels':{'x':{'v':'1','w':'2'}},"
			 "'tpl':{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'gone':1},'other':1},"
			 "'tags':[{'k':'a','z':1}]},'extra':true}");
	struct fc_result r = {0};
	assert_int_equal(check("example.com/v1", "Widget", w, FC_OBJECT, &r), 7);
	const char *want[] = {"metadata.bogus", "spec.color", "spec.labels[x].w", "spec.tpl.spec.gone",
			      "spec.tpl.other", "spec.tags[0].z", "extra"};
	for (int i = 0; i < 7; i++) {
		char w1[128];
		snprintf(w1, sizeof w1, "unknown field \"%s\"", want[i]);
		assert_string_equal(r.issue[i], w1);
	}
	char *got = cJSON_PrintUnformatted(w);
	assert_string_equal(got, "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\"},"
				 "\"spec\":{\"size\":1,\"free\":{\"a\":{\"b\":1}},\"labels\":{\"x\":{\"v\":\"1\"}},"
				 "\"tpl\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{}},"
				 "\"tags\":[{\"k\":\"a\"}]}}");
	free(got);
	fc_result_free(&r);
	cJSON_Delete(w);
	fieldcheck_unregister_crd("widgets.example.com");
	assert_false(fieldcheck_knows("example.com/v1", "Widget"));
	cJSON_Delete(crd);
}

static void test_modes(void **state)
{
	(void)state;
	enum fc_mode m;
	assert_int_equal(fieldcheck_mode(NULL, &m), 0);
	assert_int_equal(m, FC_WARN);
	assert_int_equal(fieldcheck_mode("Strict", &m), 0);
	assert_int_equal(m, FC_STRICT);
	assert_int_equal(fieldcheck_mode("Ignore", &m), 0);
	assert_int_equal(m, FC_IGNORE);
	assert_int_equal(fieldcheck_mode("strict", &m), -1);
	/* Unknown kinds and non-objects are not checked. */
	struct fc_result r = {0};
	cJSON *a = jq("[1,2]");
	assert_int_equal(check("v1", "ConfigMap", a, FC_OBJECT, &r), 0);
	cJSON_Delete(a);
	cJSON *o = jq("{'x':1}");
	assert_int_equal(check("example.com/v9", "Nothing", o, FC_OBJECT, &r), 0);
	cJSON_Delete(o);
}

/* Every object with apiVersion and kind in a YAML file (and in the YAML of
 * string values, as the Karmada case files keep manifests) checks clean. */
static int checked;

static void walk(const cJSON *n, const char *file, bool top)
{
	if (cJSON_IsString(n) && strstr(n->valuestring, "apiVersion:")) {
		char err[256];
		cJSON *docs = yaml_parse_documents(n->valuestring, strlen(n->valuestring), err, sizeof err);
		if (docs)
			walk(docs, file, true);
		cJSON_Delete(docs);
		return;
	}
	if (cJSON_IsArray(n) && top) {
		const cJSON *d;
		cJSON_ArrayForEach(d, n) walk(d, file, true);
		return;
	}
	if (cJSON_IsObject(n) && top) {
		const char *av = cJSON_GetStringValue(cJSON_GetObjectItem(n, "apiVersion"));
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(n, "kind"));
		if (av && k && fieldcheck_knows(av, k)) {
			cJSON *copy = cJSON_Duplicate(n, 1);
			struct fc_result r = {0};
			if (fieldcheck_body(av, k, copy, FC_OBJECT, &r) != 0)
				fail_msg("%s: %s %s: %s", file, av, k, r.issue[0]);
			cJSON_Delete(copy);
			checked++;
		}
	}
	const cJSON *c;
	cJSON_ArrayForEach(c, n) walk(c, file, false);
}

static void walk_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0)
			continue;
		char p[1024], err[256];
		if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
			continue;
		cJSON *docs = yaml_parse_file(p, err, sizeof err);
		if (docs)
			walk(docs, p, true);
		cJSON_Delete(docs);
	}
	closedir(d);
}

static void test_repository_manifests_clean(void **state)
{
	(void)state;
	const char *data = getenv("ATOLL_TEST_DATA");
	if (!data)
		data = "tests/data";
	const char *sub[] = {"seed", "karmada", "scheduler", "../../examples/plan", "../../deploy/manifests"};
	for (size_t i = 0; i < sizeof sub / sizeof *sub; i++) {
		char p[1024];
		if (snprintf(p, sizeof p, "%s/%s", data, sub[i]) < (int)sizeof p)
			walk_dir(p);
	}
	assert_true(checked > 30);
}

/* The CRD kind itself: its spec down into openAPIV3Schema, which nests
 * JSONSchemaProps in properties, items, allOf..., through a patch too. */
static void test_crd_kind_itself(void **state)
{
	(void)state;
	const char *av = "apiextensions.k8s.io/v1", *kind = "CustomResourceDefinition";
	assert_true(fieldcheck_knows(av, kind));
	cJSON *c = jq("{'apiVersion':'apiextensions.k8s.io/v1','kind':'CustomResourceDefinition',"
			 "'metadata':{'name':'ws.example.com'},'spec':{'group':'example.com','scope':'Cluster',"
			 "'names':{'plural':'ws','kind':'W'},'versions':[{'name':'v1','served':true,'storage':true,"
			 "'schema':{'openAPIV3Schema':{'type':'object','properties':{'spec':{'type':'object',"
			 "'additionalProperties':false,'properties':{'a':{'type':'array','items':[{'tpye':'x'}]},"
			 "'b':{'anyOf':[{'type':'string'},{'mimimum':1}]}}}}}},"
			 "'additionalPrinterColumns':[{'name':'A','type':'string','jsonpath':'.a'}]}]},"
			 "'status':{'anything':1}}");
	struct fc_result r = {0};
	assert_int_equal(check(av, kind, c, FC_OBJECT, &r), 2);
	/* items as a list (JSONSchemaPropsOrArray) and additionalProperties as a
	 * bool pass unchecked; status is the hub's own. */
	assert_string_equal(r.issue[0], "unknown field \"spec.versions[0].schema.openAPIV3Schema.properties[spec]"
					 ".properties[b].anyOf[1].mimimum\"");
	assert_string_equal(r.issue[1], "unknown field \"spec.versions[0].additionalPrinterColumns[0].jsonpath\"");
	fc_result_free(&r);
	cJSON_Delete(c);

	cJSON *jp = jq("[{'op':'add','path':'/spec/versions/0/schema/openAPIV3Schema/properties/x/itmes',"
			  "'value':{}},{'op':'add','path':'/spec/versions/0/schema/openAPIV3Schema/properties/x/items',"
			  "'value':{'type':'string','x-kubernetes-validations':[{'rule':'true','mesage':'m'}]}}]");
	assert_int_equal(check(av, kind, jp, FC_PATCH, &r), 2);
	assert_string_equal(r.issue[0],
			    "unknown field \"spec.versions[0].schema.openAPIV3Schema.properties[x].itmes\"");
	assert_string_equal(r.issue[1], "unknown field \"spec.versions[0].schema.openAPIV3Schema.properties[x]"
					 ".items.x-kubernetes-validations[0].mesage\"");
	assert_int_equal(cJSON_GetArraySize(jp), 1); /* the op with the unknown path is dropped */
	fc_result_free(&r);
	cJSON_Delete(jp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deployment_typos),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_patch_directives),
		cmocka_unit_test(test_json_patch),
		cmocka_unit_test(test_karmada_policy),
		cmocka_unit_test(test_crd_pruning),
		cmocka_unit_test(test_crd_kind_itself),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_repository_manifests_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
