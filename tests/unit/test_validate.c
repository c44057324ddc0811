/* Unit tests for proto/validate: one table row per rule (input object,
 * expected error count, first field, a piece of the first message), plus
 * the exact 422 message, the seed manifests, and hostile inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbschema.h"
#include "schemameta.h"
#include "validate.h"

static const struct kind_info *kind(const char *group, const char *name)
{
	for (int i = 0; i < builtin_kinds_count; i++)
		if (!strcmp(builtin_kinds[i].group, group) && !strcmp(builtin_kinds[i].kind, name))
			return &builtin_kinds[i];
	return NULL;
}

/* Test JSON is written with ' for " to stay readable. */
static cJSON *parse(const char *src)
{
	char *s = strdup(src);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	cJSON *j = cJSON_Parse(s);
	free(s);
	return j;
}

/* ---- seed manifests, converted by hand from /work/shared/seed ---- */

#define SEED_DEPLOYMENT "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'hello'}," \
	"'spec':{'replicas':3,'selector':{'matchLabels':{'app':'hello'}},'template':{'metadata':" \
	"{'labels':{'app':'hello'}},'spec':{'containers':[{'image':'stefanprodan/podinfo','name':'hello'}]}}}}"
#define SEED_SERVICE "{'apiVersion':'v1','kind':'Service','metadata':{'name':'hello'}," \
	"'spec':{'ports':[{'port':5000,'targetPort':9898}],'selector':{'app':'hello'}}}"
#define SEED_SLEEP "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'sleep'}," \
	"'spec':{'selector':{'matchLabels':{'app':'sleep'}},'template':{'metadata':{'labels':{'app':'sleep'}}," \
	"'spec':{'terminationGracePeriodSeconds':0,'containers':[{'name':'sleep','image':'curlimages/curl'," \
	"'command':['/bin/sleep','3650d'],'imagePullPolicy':'IfNotPresent','volumeMounts':[{'mountPath':" \
	"'/etc/sleep/tls','name':'secret-volume'}]}],'volumes':[{'name':'secret-volume','secret':" \
	"{'secretName':'sleep-secret','optional':true}}]}}}}"
#define PP_HEAD "{'apiVersion':'policy.karmada.io/v1alpha1','kind':'PropagationPolicy','metadata':" \
	"{'name':'hello-propagation'},'spec':{'resourceSelectors':[{'apiVersion':'apps/v1','kind':" \
	"'Deployment','name':'hello'},{'apiVersion':'v1','kind':'Service','name':'hello'}"
#define PP_PLACEMENT(w1, w2, w3) "]," \
	"'placement':{'clusterAffinity':{'clusterNames':['eu','ap','us']},'replicaScheduling':{" \
	"'replicaDivisionPreference':'Weighted','replicaSchedulingType':'Divided','weightPreference':{" \
	"'staticWeightList':[{'targetCluster':{'clusterNames':['us']},'weight':" w1 "}," \
	"{'targetCluster':{'clusterNames':['ap']},'weight':" w2 "}," \
	"{'targetCluster':{'clusterNames':['eu']},'weight':" w3 "}]}}}}}"
#define SEED_PP_EQUAL PP_HEAD PP_PLACEMENT("1", "1", "1")
#define SEED_PP_WEIGHTED PP_HEAD PP_PLACEMENT("2", "1", "2")
#define SEED_PP_SLEEP PP_HEAD ",{'apiVersion':'apps/v1','kind':'Deployment','name':'sleep'}" \
	PP_PLACEMENT("2", "2", "1")
#define SEED_SECRET "{'apiVersion':'v1','kind':'Secret','metadata':{'labels':{'istio/multiCluster':'true'}," \
	"'annotations':{'networking.istio.io/cluster':'us'},'name':'istio-remote-secret-us'}," \
	"'type':'Opaque','data':{'us':'YXBpVmVyc2lvbjogdjEK'}}"

/* A Deployment with spec fields SPEC (after replicas) */
#define DEPLOY(spec) "{'metadata':{'name':'d'},'spec':{'selector':{'matchLabels':{'app':'a'}}," \
	"'template':{'metadata':{'labels':{'app':'a'}},'spec':" spec "}}}"
#define SVC(spec) "{'metadata':{'name':'s'},'spec':" spec "}"
#define PP(placement) "{'metadata':{'name':'p'},'spec':{'resourceSelectors':[{'apiVersion':'v1'," \
	"'kind':'Service'}],'placement':" placement "}}"
#define PPSPEC(extra) "{'metadata':{'name':'p'},'spec':{'resourceSelectors':[{'apiVersion':'v1'," \
	"'kind':'Service'}]," extra "}}"
#define OP(rules) "{'metadata':{'name':'o'},'spec':{'overrideRules':" rules "}}"
#define CLUSTER(spec) "{'metadata':{'name':'us'},'spec':" spec "}"
#define CRD(name, spec) "{'metadata':{'name':'" name "'},'spec':" spec "}"
#define CRD_SPEC(group, scope) "{'group':'" group "','names':{'plural':'widgets','kind':'Widget'}," \
	"'scope':'" scope "','versions':[{'name':'v1','served':true,'storage':true}]}"

struct vcase {
	const char *name;
	const char *group, *kind;
	const char *ns;
	const char *json;
	int nerr;
	const char *field;   /* first error's field */
	const char *msg;     /* substring of the first error's message */
};

#define SUBDOMAIN_MSG "Invalid value: \"Hello_\": a lowercase RFC 1123 subdomain must consist of lower " \
	"case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric " \
	"character (e.g. 'example.com', regex used for validation is " \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define WEIGHT_FIELD "spec.placement.replicaScheduling.weightPreference.staticWeightList[0].weight"

static const struct vcase cases[] = {
	/* seeds and other valid objects */
	{"seed deployment", "apps", "Deployment", "default", SEED_DEPLOYMENT, 0, NULL, NULL},
	{"seed service", "", "Service", "default", SEED_SERVICE, 0, NULL, NULL},
	{"seed sleep", "apps", "Deployment", "default", SEED_SLEEP, 0, NULL, NULL},
	{"seed policy-equal", "policy.karmada.io", "PropagationPolicy", "default", SEED_PP_EQUAL, 0, NULL, NULL},
	{"seed policy-weighted", "policy.karmada.io", "PropagationPolicy", "default", SEED_PP_WEIGHTED, 0, NULL, NULL},
	{"seed policy-with-sleep", "policy.karmada.io", "PropagationPolicy", "default", SEED_PP_SLEEP, 0, NULL, NULL},
	{"seed remote secret", "", "Secret", "istio-system", SEED_SECRET, 0, NULL, NULL},
	{"namespace", "", "Namespace", "", "{'metadata':{'name':'karmada-es-us'}}", 0, NULL, NULL},
	{"mesh", "mesh.atoll.io", "Mesh", "", "{'metadata':{'name':'mesh1'},'spec':{'meshID':'mesh1','clusters':{'names':['ap','us']},'networks':{'ap':'network1'},'trustDomain':'cluster.local','certificates':{'rootLifetimeSeconds':3600,'intermediateLifetimeSeconds':600}}}", 0, NULL, NULL},
	{"mesh network not a label value", "mesh.atoll.io", "Mesh", "", "{'metadata':{'name':'m'},'spec':{'networks':{'ap':'net work'}}}", 1, "spec.networks.ap", "Invalid value: \"net work\""},
	{"mesh names and selector", "mesh.atoll.io", "Mesh", "", "{'metadata':{'name':'m'},'spec':{'clusters':{'names':['ap'],'labelSelector':{}}}}", 1, "spec.clusters", "mutually exclusive"},
	{"mesh cluster name", "mesh.atoll.io", "Mesh", "", "{'metadata':{'name':'m'},'spec':{'clusters':{'names':['Bad_Name']}}}", 1, "spec.clusters.names[]", "Invalid value"},
	{"mesh lifetimes", "mesh.atoll.io", "Mesh", "", "{'metadata':{'name':'m'},'spec':{'certificates':{'rootLifetimeSeconds':100,'intermediateLifetimeSeconds':200}}}", 1, "spec.certificates.intermediateLifetimeSeconds", "must not exceed"},
	{"mesh lifetime too short", "mesh.atoll.io", "Mesh", "", "{'metadata':{'name':'m'},'spec':{'certificates':{'intermediateLifetimeSeconds':1}}}", 1, "spec.certificates.intermediateLifetimeSeconds", "greater than or equal to 6"},
	{"mesh meshID", "mesh.atoll.io", "Mesh", "", "{'metadata':{'name':'m'},'spec':{'meshID':''}}", 1, "spec.meshID", "Invalid value"},
	{"configmap", "", "ConfigMap", "default", "{'metadata':{'name':'c','namespace':'default'},'data':{'a.b_C-1':'x'}}", 0, NULL, NULL},
	{"event", "", "Event", "default", "{'metadata':{'name':'e.1'},'involvedObject':{'kind':'Pod','name':'p'},'reason':'R'}", 0, NULL, NULL},
	{"cluster", "cluster.karmada.io", "Cluster", "", CLUSTER("{'syncMode':'Pull','taints':[{'key':'k','effect':'NoSchedule'}]}"), 0, NULL, NULL},
	{"crd", "apiextensions.k8s.io", "CustomResourceDefinition", "", CRD("widgets.example.com", CRD_SPEC("example.com", "Namespaced")), 0, NULL, NULL},
	{"op", "policy.karmada.io", "OverridePolicy", "default", OP("[{'targetCluster':{'clusterNames':['us']},'overriders':{'plaintext':[{'path':'/spec/replicas','operator':'replace','value':1}],'imageOverrider':[{'component':'Registry','operator':'replace','value':'r.io'}],'labelsOverrider':[{'operator':'add','value':{'a':'b'}}]}}]"), 0, NULL, NULL},
	{"job", "batch", "Job", "default", "{'metadata':{'name':'j'},'spec':{'template':{'spec':{'restartPolicy':'Never','containers':[{'name':'c','image':'i'}]}}}}", 0, NULL, NULL},
	{"cronjob", "batch", "CronJob", "default", "{'metadata':{'name':'cj'},'spec':{'schedule':'*/5 * * * *','jobTemplate':{'spec':{'template':{'spec':{'restartPolicy':'OnFailure','containers':[{'name':'c','image':'i'}]}}}}}}", 0, NULL, NULL},
	{"selector expressions", "apps", "Deployment", "default", "{'metadata':{'name':'d'},'spec':{'selector':{'matchExpressions':[{'key':'app','operator':'In','values':['a','b']},{'key':'x','operator':'DoesNotExist'}]},'template':{'metadata':{'labels':{'app':'b'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}", 0, NULL, NULL},
	{"null fields are absent", "apps", "Deployment", "default", DEPLOY("{'containers':[{'name':'c','image':'i','ports':null}],'volumes':null}"), 0, NULL, NULL},

	/* metadata */
	{"name required", "apps", "Deployment", "default", "{'metadata':{},'spec':{}}", 3, "metadata.name", "Required value: name or generateName is required"},
	{"name subdomain", "apps", "Deployment", "default", "{'metadata':{'name':'Hello_'}}", 3, "metadata.name", SUBDOMAIN_MSG},
	{"name too long", "", "ConfigMap", "default", "{'metadata':{'name':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}}", 1, "metadata.name", "must be no more than 253 characters"},
	{"namespace name is a label", "", "Namespace", "", "{'metadata':{'name':'a.b'}}", 1, "metadata.name", "a lowercase RFC 1123 label must consist of"},
	{"service name is DNS-1035", "", "Service", "default", "{'metadata':{'name':'1abc'},'spec':{'ports':[{'port':80}]}}", 1, "metadata.name", "Invalid value: \"1abc\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character"},
	{"namespace mismatch", "", "ConfigMap", "default", "{'metadata':{'name':'c','namespace':'other'}}", 1, "metadata.namespace", "Invalid value: \"other\": the namespace of the provided object does not match the namespace sent on the request"},
	{"label key", "", "ConfigMap", "default", "{'metadata':{'name':'c','labels':{'bad key':'x'}}}", 1, "metadata.labels", "Invalid value: \"bad key\": name part must consist of alphanumeric characters"},
	{"label key prefix", "", "ConfigMap", "default", "{'metadata':{'name':'c','labels':{'Ex.com/a':'x'}}}", 1, "metadata.labels", "prefix part a lowercase RFC 1123 subdomain"},
	{"label value chars", "", "ConfigMap", "default", "{'metadata':{'name':'c','labels':{'app':'-x'}}}", 1, "metadata.labels", "Invalid value: \"-x\": a valid label must be an empty string or consist of"},
	{"label value long", "", "ConfigMap", "default", "{'metadata':{'name':'c','labels':{'app':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}}}", 1, "metadata.labels", "must be no more than 63 characters"},
	{"label value type", "", "ConfigMap", "default", "{'metadata':{'name':'c','labels':{'app':3}}}", 1, "metadata.labels[app]", "Invalid value: 3: must be of type string"},
	{"annotation key", "", "ConfigMap", "default", "{'metadata':{'name':'c','annotations':{'a/b/c':'x'}}}", 1, "metadata.annotations", "a qualified name must consist of"},
	{"apiVersion", "apps", "Deployment", "default", "{'apiVersion':'apps/v2','kind':'Deployment'," "'metadata':{'name':'d'}}", 3, "apiVersion", "Invalid value: \"apps/v2\": must be \"apps/v1\""},
	{"kind", "", "ConfigMap", "default", "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'c'}}", 1, "kind", "Invalid value: \"Secret\": must be \"ConfigMap\""},

	/* workloads */
	{"replicas negative", "apps", "Deployment", "default", "{'metadata':{'name':'d'},'spec':{'replicas':-1,'selector':{'matchLabels':{'app':'a'}},'template':{'metadata':{'labels':{'app':'a'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}", 1, "spec.replicas", "Invalid value: -1: must be greater than or equal to 0"},
	{"replicas string", "apps", "Deployment", "default", "{'metadata':{'name':'d'},'spec':{'replicas':'3','selector':{'matchLabels':{'app':'a'}},'template':{'metadata':{'labels':{'app':'a'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}", 1, "spec.replicas", "Invalid value: \"3\": must be of type integer"},
	{"replicas fraction", "apps", "StatefulSet", "default", "{'metadata':{'name':'d'},'spec':{'replicas':1.5,'selector':{'matchLabels':{'app':'a'}},'template':{'metadata':{'labels':{'app':'a'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}", 1, "spec.replicas", "Invalid value: 1.5: must be of type integer"},
	{"replicas huge", "apps", "ReplicaSet", "default", "{'metadata':{'name':'d'},'spec':{'replicas':1e20,'selector':{'matchLabels':{'app':'a'}},'template':{'metadata':{'labels':{'app':'a'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}", 1, "spec.replicas", "Invalid value: 100000000000000000000: must be of type integer"},
	{"replicas int32", "apps", "Deployment", "default", "{'metadata':{'name':'d'},'spec':{'replicas':3000000000,'selector':{'matchLabels':{'app':'a'}},'template':{'metadata':{'labels':{'app':'a'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}", 1, "spec.replicas", "must be less than or equal to 2147483647"},
	{"spec is an array", "apps", "Deployment", "default", "{'metadata':{'name':'d'},'spec':[1]}", 1, "spec", "Invalid value: [...]: must be of type object"},
	{"selector required", "apps", "Deployment", "default", "{'metadata':{'name':'d'},'spec':{'template':{'metadata':{'labels':{'app':'a'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}", 1, "spec.selector", "Required value"},
	{"selector empty", "apps", "Deployment", "default", "{'metadata':{'name':'d'},'spec':{'selector':{},'template':{'spec':{'containers':[{'name':'c','image':'i'}]}}}}", 1, "spec.selector", "Invalid value: {}: empty selector is invalid for deployment"},
	{"selector mismatch", "apps", "Deployment", "default", "{'metadata':{'name':'d'},'spec':{'selector':{'matchLabels':{'app':'a'}},'template':{'metadata':{'labels':{'app':'b','tier':'x'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}", 1, "spec.template.metadata.labels", "Invalid value: map[string]string{\"app\":\"b\", \"tier\":\"x\"}: `selector` does not match template `labels`"},
	{"selector expression mismatch", "apps", "Deployment", "default", "{'metadata':{'name':'d'},'spec':{'selector':{'matchExpressions':[{'key':'app','operator':'NotIn','values':['a']}]},'template':{'metadata':{'labels':{'app':'a'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}", 1, "spec.template.metadata.labels", "does not match"},
	{"selector operator", "apps", "Deployment", "default", "{'metadata':{'name':'d'},'spec':{'selector':{'matchExpressions':[{'key':'app','operator':'Is'}]},'template':{'metadata':{'labels':{'app':'a'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}", 1, "spec.selector.matchExpressions[0].operator", "Unsupported value: \"Is\": supported values: \"DoesNotExist\", \"Exists\", \"In\", \"NotIn\""},
	{"selector In needs values", "apps", "Deployment", "default", "{'metadata':{'name':'d'},'spec':{'selector':{'matchExpressions':[{'key':'app','operator':'In'}]},'template':{'metadata':{'labels':{'app':'a'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}", 2, "spec.selector.matchExpressions[0].values", "Required value: must be specified when `operator` is 'In' or 'NotIn'"},
	{"containers required", "apps", "Deployment", "default", DEPLOY("{}"), 1, "spec.template.spec.containers", "Required value"},
	{"containers empty", "apps", "Deployment", "default", DEPLOY("{'containers':[]}"), 1, "spec.template.spec.containers", "Required value"},
	{"no template", "apps", "Deployment", "default", "{'metadata':{'name':'d'},'spec':{'selector':{'matchLabels':{'app':'a'}}}}", 2, "spec.template.metadata.labels", "Invalid value: map[string]string(nil): `selector` does not match template `labels`"},
	{"container name required", "apps", "Deployment", "default", DEPLOY("{'containers':[{'image':'i'}]}"), 1, "spec.template.spec.containers[0].name", "Required value"},
	{"container image required", "apps", "Deployment", "default", DEPLOY("{'containers':[{'name':'c'}]}"), 1, "spec.template.spec.containers[0].image", "Required value"},
	{"container image empty", "apps", "Deployment", "default", DEPLOY("{'containers':[{'name':'c','image':''}]}"), 1, "spec.template.spec.containers[0].image", "Required value"},
	{"container name label", "apps", "Deployment", "default", DEPLOY("{'containers':[{'name':'C_1','image':'i'}]}"), 1, "spec.template.spec.containers[0].name", "Invalid value: \"C_1\": a lowercase RFC 1123 label"},
	{"container name unique", "apps", "Deployment", "default", DEPLOY("{'initContainers':[{'name':'c','image':'i'}],'containers':[{'name':'x','image':'i'},{'name':'c','image':'i'}]}"), 1, "spec.template.spec.containers[1].name", "Duplicate value: \"c\""},
	{"containerPort range", "apps", "Deployment", "default", DEPLOY("{'containers':[{'name':'c','image':'i','ports':[{'containerPort':80},{'containerPort':70000}]}]}"), 1, "spec.template.spec.containers[0].ports[1].containerPort", "Invalid value: 70000: must be between 1 and 65535, inclusive"},
	{"containerPort required", "apps", "Deployment", "default", DEPLOY("{'containers':[{'name':'c','image':'i','ports':[{'name':'http'}]}]}"), 1, "spec.template.spec.containers[0].ports[0].containerPort", "Required value"},
	{"port protocol", "apps", "Deployment", "default", DEPLOY("{'containers':[{'name':'c','image':'i','ports':[{'containerPort':80,'protocol':'HTTP'}]}]}"), 1, "spec.template.spec.containers[0].ports[0].protocol", "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""},
	{"deployment restartPolicy", "apps", "Deployment", "default", DEPLOY("{'restartPolicy':'Never','containers':[{'name':'c','image':'i'}]}"), 1, "spec.template.spec.restartPolicy", "Unsupported value: \"Never\": supported values: \"Always\""},
	{"daemonset containers", "apps", "DaemonSet", "default", "{'metadata':{'name':'ds'},'spec':{'selector':{'matchLabels':{'a':'b'}},'template':{'metadata':{'labels':{'a':'b'}},'spec':{}}}}", 1, "spec.template.spec.containers", "Required value"},
	{"job containers", "batch", "Job", "default", "{'metadata':{'name':'j'},'spec':{}}", 1, "spec.template.spec.containers", "Required value"},
	{"job restartPolicy", "batch", "Job", "default", "{'metadata':{'name':'j'},'spec':{'template':{'spec':{'restartPolicy':'Always','containers':[{'name':'c','image':'i'}]}}}}", 1, "spec.template.spec.restartPolicy", "Unsupported value: \"Always\": supported values: \"Never\", \"OnFailure\""},
	{"cronjob schedule", "batch", "CronJob", "default", "{'metadata':{'name':'cj'},'spec':{'jobTemplate':{'spec':{'template':{'spec':{'containers':[{'name':'c','image':'i'}]}}}}}}", 1, "spec.schedule", "Required value"},
	{"cronjob containers", "batch", "CronJob", "default", "{'metadata':{'name':'cj'},'spec':{'schedule':'@hourly'}}", 1, "spec.jobTemplate.spec.template.spec.containers", "Required value"},
	{"cronjob bad schedule", "batch", "CronJob", "default", "{'metadata':{'name':'cj'},'spec':{'schedule':'* *','jobTemplate':{'spec':{'template':{'spec':{'containers':[{'name':'c','image':'i'}]}}}}}}", 1, "spec.schedule", "unparseable schedule"},
	{"pod containers", "", "Pod", "default", "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'c'}]}}", 1, "spec.containers[0].image", "Required value"},

	/* services */
	{"service port zero", "", "Service", "default", SVC("{'ports':[{'port':0}]}"), 1, "spec.ports[0].port", "Invalid value: 0: must be between 1 and 65535, inclusive"},
	{"service port huge", "", "Service", "default", SVC("{'ports':[{'port':65536}]}"), 1, "spec.ports[0].port", "Invalid value: 65536: must be between 1 and 65535, inclusive"},
	{"service port required", "", "Service", "default", SVC("{'ports':[{'targetPort':80}]}"), 1, "spec.ports[0].port", "Required value"},
	{"service port names", "", "Service", "default", SVC("{'ports':[{'name':'a','port':80},{'port':81}]}"), 1, "spec.ports[1].name", "Required value"},
	{"service port names unique", "", "Service", "default", SVC("{'ports':[{'name':'a','port':80},{'name':'a','port':81}]}"), 1, "spec.ports[1].name", "Duplicate value: \"a\""},
	{"service protocol", "", "Service", "default", SVC("{'ports':[{'port':80,'protocol':'HTTP'}]}"), 1, "spec.ports[0].protocol", "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""},
	{"service type", "", "Service", "default", SVC("{'type':'Foo','ports':[{'port':80}]}"), 1, "spec.type", "Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""},
	{"service targetPort", "", "Service", "default", SVC("{'ports':[{'port':80,'targetPort':0}]}"), 1, "spec.ports[0].targetPort", "must be between 1 and 65535, inclusive"},
	{"service ports type", "", "Service", "default", SVC("{'ports':{'port':80}}"), 1, "spec.ports", "Invalid value: {...}: must be of type array"},
	{"service externalName", "", "Service", "default", SVC("{'type':'ExternalName'}"), 1, "spec.externalName", "Required value"},

	/* config and secrets */
	{"configmap key", "", "ConfigMap", "default", "{'metadata':{'name':'c'},'data':{'bad key':'x'}}", 1, "data[bad key]", "Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"},
	{"configmap dotdot", "", "ConfigMap", "default", "{'metadata':{'name':'c'},'data':{'..a':'x'}}", 1, "data[..a]", "must not start with '..'"},
	{"configmap value type", "", "ConfigMap", "default", "{'metadata':{'name':'c'},'data':{'a':{'b':1}}}", 1, "data[a]", "Invalid value: {...}: must be of type string"},
	{"configmap data type", "", "ConfigMap", "default", "{'metadata':{'name':'c'},'data':['a']}", 1, "data", "must be of type object"},
	{"configmap duplicate", "", "ConfigMap", "default", "{'metadata':{'name':'c'},'data':{'a':'x'},'binaryData':{'a':'eA=='}}", 1, "data[a]", "Duplicate value: \"a\""},
	{"secret base64", "", "Secret", "default", "{'metadata':{'name':'s'},'data':{'k':'not base64!'}}", 1, "data[k]", "Invalid value: \"<secret contents redacted>\": illegal base64 data at input byte 3"},
	{"secret base64 padding", "", "Secret", "default", "{'metadata':{'name':'s'},'data':{'k':'YWJj='}}", 1, "data[k]", "illegal base64 data"},
	{"secret key", "", "Secret", "default", "{'metadata':{'name':'s'},'data':{'a/b':'YQ=='}}", 1, "data[a/b]", "a valid config key"},
	{"event involvedObject", "", "Event", "default", "{'metadata':{'name':'e'},'reason':'x'}", 1, "involvedObject", "Required value"},

	/* Karmada propagation policies */
	{"pp selectors required", "policy.karmada.io", "PropagationPolicy", "default", "{'metadata':{'name':'p'},'spec':{}}", 1, "spec.resourceSelectors", "Required value"},
	{"pp no spec", "policy.karmada.io", "ClusterPropagationPolicy", "", "{'metadata':{'name':'p'}}", 1, "spec.resourceSelectors", "Required value"},
	{"pp selectors empty", "policy.karmada.io", "PropagationPolicy", "default", "{'metadata':{'name':'p'},'spec':{'resourceSelectors':[]}}", 1, "spec.resourceSelectors", "Required value"},
	{"pp selector kind", "policy.karmada.io", "PropagationPolicy", "default", "{'metadata':{'name':'p'},'spec':{'resourceSelectors':[{'apiVersion':'v1'}]}}", 1, "spec.resourceSelectors[0].kind", "Required value"},
	{"pp selector apiVersion", "policy.karmada.io", "PropagationPolicy", "default", "{'metadata':{'name':'p'},'spec':{'resourceSelectors':[{'kind':'Service','apiVersion':7}]}}", 1, "spec.resourceSelectors[0].apiVersion", "Invalid value: 7: must be of type string"},
	{"pp scheduling type", "policy.karmada.io", "PropagationPolicy", "default", PP("{'replicaScheduling':{'replicaSchedulingType':'Foo'}}"), 1, "spec.placement.replicaScheduling.replicaSchedulingType", "Unsupported value: \"Foo\": supported values: \"Divided\", \"Duplicated\""},
	{"pp division", "policy.karmada.io", "PropagationPolicy", "default", PP("{'replicaScheduling':{'replicaDivisionPreference':'Even'}}"), 1, "spec.placement.replicaScheduling.replicaDivisionPreference", "Unsupported value: \"Even\": supported values: \"Aggregated\", \"Weighted\""},
	{"pp weight negative", "policy.karmada.io", "PropagationPolicy", "default", PP("{'replicaScheduling':{'weightPreference':{'staticWeightList':[{'targetCluster':{},'weight':-1}]}}}"), 1, WEIGHT_FIELD, "Invalid value: -1: must be greater than or equal to 1"},
	{"pp weight zero", "policy.karmada.io", "PropagationPolicy", "default", PP("{'replicaScheduling':{'weightPreference':{'staticWeightList':[{'targetCluster':{},'weight':0}]}}}"), 1, WEIGHT_FIELD, "Invalid value: 0: must be greater than or equal to 1"},
	{"pp weight required", "policy.karmada.io", "PropagationPolicy", "default", PP("{'replicaScheduling':{'weightPreference':{'staticWeightList':[{'targetCluster':{}}]}}}"), 1, WEIGHT_FIELD, "Required value"},
	{"pp weight string", "policy.karmada.io", "PropagationPolicy", "default", PP("{'replicaScheduling':{'weightPreference':{'staticWeightList':[{'targetCluster':{},'weight':'2'}]}}}"), 1, WEIGHT_FIELD, "Invalid value: \"2\": must be of type integer"},
	{"pp targetCluster required", "policy.karmada.io", "PropagationPolicy", "default", PP("{'replicaScheduling':{'weightPreference':{'staticWeightList':[{'weight':1}]}}}"), 1, "spec.placement.replicaScheduling.weightPreference.staticWeightList[0].targetCluster", "Required value"},
	{"pp dynamicWeight", "policy.karmada.io", "PropagationPolicy", "default", PP("{'replicaScheduling':{'weightPreference':{'dynamicWeight':'Foo'}}}"), 1, "spec.placement.replicaScheduling.weightPreference.dynamicWeight", "Unsupported value: \"Foo\": supported values: \"AvailableReplicas\""},
	{"pp conflictResolution", "policy.karmada.io", "PropagationPolicy", "default", PPSPEC("'conflictResolution':'Replace'"), 1, "spec.conflictResolution", "Unsupported value: \"Replace\": supported values: \"Abort\", \"Overwrite\""},
	{"pp preemption", "policy.karmada.io", "PropagationPolicy", "default", PPSPEC("'preemption':'Sometimes'"), 1, "spec.preemption", "Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\""},
	{"pp priority", "policy.karmada.io", "PropagationPolicy", "default", PPSPEC("'priority':'high'"), 1, "spec.priority", "must be of type integer"},
	{"pp spreadByField", "policy.karmada.io", "PropagationPolicy", "default", PP("{'spreadConstraints':[{'spreadByField':'rack'}]}"), 2, "spec.placement.spreadConstraints[0].spreadByField", "Unsupported value: \"rack\": supported values: \"cluster\", \"provider\", \"region\", \"zone\""},
	{"pp minGroups > maxGroups", "policy.karmada.io", "PropagationPolicy", "default", PP("{'spreadConstraints':[{'spreadByField':'cluster','minGroups':3,'maxGroups':2}]}"), 1, "spec.placement.spreadConstraints[0].maxGroups", "maxGroups lower than minGroups is not allowed"},
	{"pp minGroups negative", "policy.karmada.io", "PropagationPolicy", "default", PP("{'spreadConstraints':[{'spreadByField':'cluster','minGroups':-1}]}"), 1, "spec.placement.spreadConstraints[0].minGroups", "Invalid value: -1: must be greater than or equal to 0"},
	{"pp toleration operator", "policy.karmada.io", "PropagationPolicy", "default", PP("{'clusterTolerations':[{'key':'k','operator':'Is'}]}"), 1, "spec.placement.clusterTolerations[0].operator", "Unsupported value: \"Is\": supported values: \"Equal\", \"Exists\""},
	{"pp toleration effect", "policy.karmada.io", "PropagationPolicy", "default", PP("{'clusterTolerations':[{'key':'k','operator':'Exists','effect':'Evict'},{'key':'k','effect':''}]}"), 1, "spec.placement.clusterTolerations[0].effect", "Unsupported value: \"Evict\": supported values: \"NoExecute\", \"NoSchedule\", \"PreferNoSchedule\""},
	{"pp fieldSelector key", "policy.karmada.io", "PropagationPolicy", "default", PP("{'clusterAffinity':{'fieldSelector':{'matchExpressions':[{'key':'country','operator':'In','values':['x']}]}}}"), 1, "spec.placement.clusterAffinity.fieldSelector.matchExpressions[0].key", "Unsupported value: \"country\": supported values: \"provider\", \"region\", \"zone\""},
	{"pp fieldSelector operator", "policy.karmada.io", "PropagationPolicy", "default", PP("{'clusterAffinity':{'fieldSelector':{'matchExpressions':[{'key':'region','operator':'Gt','values':['x']}]}}}"), 1, "spec.placement.clusterAffinity.fieldSelector.matchExpressions[0].operator", "Unsupported value: \"Gt\""},
	{"pp affinity in weight list", "policy.karmada.io", "PropagationPolicy", "default", PP("{'replicaScheduling':{'weightPreference':{'staticWeightList':[{'weight':1,'targetCluster':{'fieldSelector':{'matchExpressions':[{'key':'zone','operator':'Near'}]}}}]}}}"), 1, "spec.placement.replicaScheduling.weightPreference.staticWeightList[0].targetCluster.fieldSelector.matchExpressions[0].operator", "Unsupported value: \"Near\""},
	{"pp placement type", "policy.karmada.io", "PropagationPolicy", "default", PP("'Divided'"), 1, "spec.placement", "Invalid value: \"Divided\": must be of type object"},

	/* Karmada's propagation policy webhook (ValidatePropagationSpec) */
	{"pp preemption without name", "policy.karmada.io", "PropagationPolicy", "default", "{'metadata':{'name':'p'},'spec':{'preemption':'Always','resourceSelectors':[{'apiVersion':'apps/v1','kind':'Deployment','name':'a'},{'apiVersion':'apps/v1','kind':'Deployment'}]}}", 1, "spec.resourceSelectors[1].name", "Invalid value: \"\": name cannot be empty if preemption is Always, the empty name may cause unexpected resources preemption"},
	{"cpp preemption labelSelector only", "policy.karmada.io", "ClusterPropagationPolicy", "", "{'metadata':{'name':'p'},'spec':{'preemption':'Always','resourceSelectors':[{'apiVersion':'v1','kind':'Service','labelSelector':{'matchLabels':{'a':'b'}}}]}}", 1, "spec.resourceSelectors[0].name", "name cannot be empty if preemption is Always"},
	{"pp application failover needs deps", "policy.karmada.io", "PropagationPolicy", "default", PPSPEC("'failover':{'application':{'decisionConditions':{'tolerationSeconds':30}}}"), 1, "spec.propagateDeps", "application failover is set, propagateDeps must be true"},
	{"pp failover grace period", "policy.karmada.io", "PropagationPolicy", "default", PPSPEC("'propagateDeps':true,'failover':{'application':{'gracePeriodSeconds':0}}"), 1, "spec.failover.application.gracePeriodSeconds", "must be greater than 0"},
	{"pp suspension", "policy.karmada.io", "PropagationPolicy", "default", PPSPEC("'suspension':{'dispatching':true,'dispatchingOnClusters':{'clusterNames':['m1']}}"), 1, "spec.suspension.suspension", "suspension dispatching cannot co-exist with dispatchingOnClusters.clusterNames"},
	{"pp affinity names unique", "policy.karmada.io", "PropagationPolicy", "default", PP("{'clusterAffinities':[{'affinityName':'a'},{'affinityName':'a'}]}"), 1, "spec.placement.clusterAffinities", "each affinity term in a policy must have a unique name"},
	{"pp spread needs cluster", "policy.karmada.io", "PropagationPolicy", "default", PP("{'spreadConstraints':[{'spreadByField':'region','maxGroups':2}]}"), 1, "spec.placement.spreadConstraints", "the cluster spread constraint must be enabled in one of the constraints in case of SpreadByField is enabled"},
	{"pp spread field twice", "policy.karmada.io", "PropagationPolicy", "default", PP("{'spreadConstraints':[{'spreadByField':'cluster'},{'spreadByField':'cluster'}]}"), 1, "spec.placement.spreadConstraints", "multiple cluster spread constraints are not allowed"},

	/* Karmada override policies */
	{"op plaintext operator", "policy.karmada.io", "OverridePolicy", "default", OP("[{'overriders':{'plaintext':[{'path':'/a','operator':'move'}]}}]"), 1, "spec.overrideRules[0].overriders.plaintext[0].operator", "Unsupported value: \"move\": supported values: \"add\", \"remove\", \"replace\""},
	{"op plaintext path", "policy.karmada.io", "ClusterOverridePolicy", "", OP("[{'overriders':{'plaintext':[{'operator':'add'}]}}]"), 1, "spec.overrideRules[0].overriders.plaintext[0].path", "Required value"},
	{"op plaintext pointer", "policy.karmada.io", "OverridePolicy", "default", OP("[{'overriders':{'plaintext':[{'path':'spec/replicas','operator':'add'}]}}]"), 1, "spec.overrideRules[0].overriders.plaintext[0].path", "Invalid value: \"spec/replicas\": must be a JSON pointer starting with \"/\""},
	{"op image component", "policy.karmada.io", "OverridePolicy", "default", OP("[{'overriders':{'imageOverrider':[{'component':'Digest','operator':'add'}]}}]"), 1, "spec.overrideRules[0].overriders.imageOverrider[0].component", "Unsupported value: \"Digest\": supported values: \"Registry\", \"Repository\", \"Tag\""},
	{"op image operator", "policy.karmada.io", "OverridePolicy", "default", OP("[{'overriders':{'imageOverrider':[{'component':'Tag','operator':'set'}]}}]"), 1, "spec.overrideRules[0].overriders.imageOverrider[0].operator", "Unsupported value: \"set\""},
	{"op labels operator", "policy.karmada.io", "OverridePolicy", "default", OP("[{'overriders':{'labelsOverrider':[{'operator':'merge','value':{}}]}}]"), 1, "spec.overrideRules[0].overriders.labelsOverrider[0].operator", "Unsupported value: \"merge\""},
	{"op annotations operator", "policy.karmada.io", "OverridePolicy", "default", OP("[{'overriders':{'annotationsOverrider':[{'value':{}}]}}]"), 1, "spec.overrideRules[0].overriders.annotationsOverrider[0].operator", "Required value"},
	{"op overriders required", "policy.karmada.io", "OverridePolicy", "default", OP("[{'targetCluster':{}}]"), 1, "spec.overrideRules[0].overriders", "Required value"},
	{"op deprecated overriders", "policy.karmada.io", "OverridePolicy", "default", "{'metadata':{'name':'o'},'spec':{'overriders':{'plaintext':[{'path':'x','operator':'add'}]}}}", 1, "spec.overriders.plaintext[0].path", "must be a JSON pointer"},

	/* Karmada clusters */
	{"cluster syncMode required", "cluster.karmada.io", "Cluster", "", CLUSTER("{}"), 1, "spec.syncMode", "Required value"},
	{"cluster no spec", "cluster.karmada.io", "Cluster", "", "{'metadata':{'name':'us'}}", 1, "spec.syncMode", "Required value"},
	{"cluster syncMode", "cluster.karmada.io", "Cluster", "", CLUSTER("{'syncMode':'Poll'}"), 1, "spec.syncMode", "Unsupported value: \"Poll\": supported values: \"Pull\", \"Push\""},
	{"cluster taint effect", "cluster.karmada.io", "Cluster", "", CLUSTER("{'syncMode':'Pull','taints':[{'key':'k','effect':'Evict'}]}"), 1, "spec.taints[0].effect", "Unsupported value: \"Evict\": supported values: \"NoExecute\", \"NoSchedule\", \"PreferNoSchedule\""},
	{"cluster taint key", "cluster.karmada.io", "Cluster", "", CLUSTER("{'syncMode':'Pull','taints':[{'effect':'NoSchedule'}]}"), 1, "spec.taints[0].key", "Required value"},
	{"cluster push mode", "cluster.karmada.io", "Cluster", "", CLUSTER("{'syncMode':'Push','apiEndpoint':'https://10.0.0.1:6443'}"), 1, "spec.syncMode", "Invalid value: \"Push\": Push mode is not supported by Atoll: join the member with atoll-agent (syncMode Pull)"},
	{"cluster name length", "cluster.karmada.io", "Cluster", "", "{'metadata':{'name':'a123456789a123456789a123456789a123456789a123456789'},'spec':{'syncMode':'Pull'}}", 1, "metadata.name", "must be no more than 48 characters"},

	/* WorkloadRebalancer (Karmada's CRD schema) and schedulePriority */
	{"rebalancer ok", "apps.karmada.io", "WorkloadRebalancer", "", "{'metadata':{'name':'demo'},'spec':{'ttlSecondsAfterFinished':300,'workloads':[{'apiVersion':'apps/v1','kind':'Deployment','name':'foo','namespace':'default'}]}}", 0, NULL, NULL},
	{"rebalancer no spec", "apps.karmada.io", "WorkloadRebalancer", "", "{'metadata':{'name':'demo'}}", 1, "spec", "Required value"},
	{"rebalancer no workloads", "apps.karmada.io", "WorkloadRebalancer", "", "{'metadata':{'name':'demo'},'spec':{}}", 1, "spec.workloads", "Required value"},
	{"rebalancer empty workloads", "apps.karmada.io", "WorkloadRebalancer", "", "{'metadata':{'name':'demo'},'spec':{'workloads':[]}}", 1, "spec.workloads", "Invalid value: 0: spec.workloads in body should have at least 1 items"},
	{"rebalancer workload without name", "apps.karmada.io", "WorkloadRebalancer", "", "{'metadata':{'name':'demo'},'spec':{'workloads':[{'apiVersion':'apps/v1','kind':'Deployment'}]}}", 1, "spec.workloads[0].name", "Required value"},
	{"rebalancer ttl not a number", "apps.karmada.io", "WorkloadRebalancer", "", "{'metadata':{'name':'demo'},'spec':{'ttlSecondsAfterFinished':'5m','workloads':[{'apiVersion':'v1','kind':'Service','name':'s'}]}}", 1, "spec.ttlSecondsAfterFinished", "must be of type integer"},
	{"schedulePriority source", "policy.karmada.io", "PropagationPolicy", "default", PPSPEC("'schedulePriority':{'priorityClassSource':'PodPriorityClass','priorityClassName':'high'}"), 1, "spec.schedulePriority.priorityClassSource", "Unsupported value: \"PodPriorityClass\": supported values: \"KubePriorityClass\""},
	{"schedulePriority name", "policy.karmada.io", "PropagationPolicy", "default", PPSPEC("'schedulePriority':{'priorityClassSource':'KubePriorityClass'}"), 1, "spec.schedulePriority.priorityClassName", "Required value"},

	/* PodDisruptionBudget and ResourceQuota */
	{"pdb ok", "policy", "PodDisruptionBudget", "default", "{'metadata':{'name':'p'},'spec':{'minAvailable':'50%','selector':{'matchLabels':{'app':'web'}}}}", 0, NULL, NULL},
	{"pdb both set", "policy", "PodDisruptionBudget", "default", "{'metadata':{'name':'p'},'spec':{'minAvailable':1,'maxUnavailable':1}}", 1, "spec", "minAvailable and maxUnavailable cannot be both set"},
	{"pdb negative", "policy", "PodDisruptionBudget", "default", "{'metadata':{'name':'p'},'spec':{'minAvailable':-1}}", 1, "spec.minAvailable", "must be greater than or equal to 0"},
	{"pdb percent", "policy", "PodDisruptionBudget", "default", "{'metadata':{'name':'p'},'spec':{'maxUnavailable':'50'}}", 1, "spec.maxUnavailable", "a valid percent string must be a numeric string followed by an ending '%'"},
	{"pdb over 100%", "policy", "PodDisruptionBudget", "default", "{'metadata':{'name':'p'},'spec':{'minAvailable':'150%'}}", 1, "spec.minAvailable", "must not be greater than 100%"},
	{"pdb object", "policy", "PodDisruptionBudget", "default", "{'metadata':{'name':'p'},'spec':{'minAvailable':{'a':1}}}", 1, "spec.minAvailable", "must be of type integer or string"},
	{"pdb eviction policy", "policy", "PodDisruptionBudget", "default", "{'metadata':{'name':'p'},'spec':{'unhealthyPodEvictionPolicy':'Never'}}", 1, "spec.unhealthyPodEvictionPolicy", "Unsupported value: \"Never\""},
	{"quota ok", "", "ResourceQuota", "default", "{'metadata':{'name':'q'},'spec':{'hard':{'cpu':'1500m','memory':'1Gi','pods':'10','limits.memory':'2e9'}}}", 0, NULL, NULL},
	{"quota bad quantity", "", "ResourceQuota", "default", "{'metadata':{'name':'q'},'spec':{'hard':{'cpu':'abc'}}}", 1, "spec.hard[cpu]", "quantities must match the regular expression"},
	{"quota negative", "", "ResourceQuota", "default", "{'metadata':{'name':'q'},'spec':{'hard':{'pods':'-2'}}}", 1, "spec.hard[pods]", "must be greater than or equal to 0"},
	{"quota number", "", "ResourceQuota", "default", "{'metadata':{'name':'q'},'spec':{'hard':{'pods':2}}}", 0, NULL, NULL},
	{"quota negative number", "", "ResourceQuota", "default", "{'metadata':{'name':'q'},'spec':{'hard':{'pods':-2}}}", 1, "spec.hard[pods]", "must be greater than or equal to 0"},
	{"quota not a quantity", "", "ResourceQuota", "default", "{'metadata':{'name':'q'},'spec':{'hard':{'pods':true}}}", 1, "spec.hard[pods]", "must be of type string"},

	/* CRDs */
	{"crd name", "apiextensions.k8s.io", "CustomResourceDefinition", "", CRD("widgets", CRD_SPEC("example.com", "Namespaced")), 1, "metadata.name", "Invalid value: \"widgets\": must be spec.names.plural+\".\"+spec.group"},
	{"crd scope", "apiextensions.k8s.io", "CustomResourceDefinition", "", CRD("widgets.example.com", CRD_SPEC("example.com", "Global")), 1, "spec.scope", "Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\""},
	{"crd group", "apiextensions.k8s.io", "CustomResourceDefinition", "", "{'metadata':{'name':'widgets.example.com'},'spec':{'names':{'plural':'widgets','kind':'Widget'},'scope':'Cluster','versions':[{'name':'v1'}]}}", 1, "spec.group", "Required value"},
	{"crd versions", "apiextensions.k8s.io", "CustomResourceDefinition", "", "{'metadata':{'name':'widgets.example.com'},'spec':{'group':'example.com','names':{'plural':'widgets','kind':'Widget'},'scope':'Cluster','versions':[]}}", 1, "spec.versions", "Required value: must have at least one version"},
	{"crd kind", "apiextensions.k8s.io", "CustomResourceDefinition", "", "{'metadata':{'name':'widgets.example.com'},'spec':{'group':'example.com','names':{'plural':'widgets'},'scope':'Cluster','versions':[{'name':'v1'}]}}", 1, "spec.names.kind", "Required value"},
	{"crd nothing", "apiextensions.k8s.io", "CustomResourceDefinition", "", "{'metadata':{'name':'x'}}", 5, "spec.group", "Required value"},

	/* odd shapes */
	{"metadata is a string", "apps", "Deployment", "default", "{'metadata':'hello'}", 4, "metadata", "Invalid value: \"hello\": must be of type object"},
	{"labels is an array", "", "ConfigMap", "default", "{'metadata':{'name':'c','labels':['a']}}", 1, "metadata.labels", "must be of type object"},
	{"name is a number", "", "ConfigMap", "default", "{'metadata':{'name':42}}", 1, "metadata.name", "Invalid value: 42: must be of type string"},
	{"containers is an object", "apps", "Deployment", "default", DEPLOY("{'containers':{'name':'c'}}"), 1, "spec.template.spec.containers", "must be of type array"},
	{"container is a number", "apps", "Deployment", "default", DEPLOY("{'containers':[7]}"), 1, "spec.template.spec.containers[0]", "Invalid value: 7: must be of type object"},
	{"template spec is true", "apps", "Deployment", "default", DEPLOY("true"), 1, "spec.template.spec", "Invalid value: true: must be of type object"},
	{"deep junk in spec", "apps", "Deployment", "default", DEPLOY("{'containers':[{'name':'c','image':'i','resources':{'limits':{'x':[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}}]}"), 0, NULL, NULL},
	{"infinite number", "policy.karmada.io", "PropagationPolicy", "default", PPSPEC("'priority':1e999"), 1, "spec.priority", "must be of type integer"},
	{"weight huge", "policy.karmada.io", "PropagationPolicy", "default", PP("{'replicaScheduling':{'weightPreference':{'staticWeightList':[{'targetCluster':{},'weight':1e300}]}}}"), 1, WEIGHT_FIELD, "must be of type integer"},
	{"long string echo is cut", "", "Service", "default", SVC("{'type':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','ports':[{'port':1}]}"), 1, "spec.type", "aaaaaaaa...\": supported values"},
	{"quotes in values", "", "Service", "default", SVC("{'type':'a\\u0022b\\nc','ports':[{'port':1}]}"), 1, "spec.type", "Unsupported value: \"a\\\"b\\nc\""},
};

static bool run_case(const struct vcase *c)
{
	const struct kind_info *k = kind(c->group, c->kind);
	assert_non_null(k);
	cJSON *obj = parse(c->json);
	if (!obj)
		fail_msg("case %s: test JSON does not parse", c->name);
	struct validation v;
	int n = validate_object(k, obj, c->ns, &v);
	bool ok = n == v.n && n == c->nerr;
	if (ok && c->field)
		ok = v.n > 0 && strcmp(v.errs[0].field, c->field) == 0 &&
		     strstr(v.errs[0].message, c->msg) != NULL;
	if (!ok) {
		print_error("case \"%s\": want %d error(s), first %s: %s\n", c->name, c->nerr,
			    c->field ? c->field : "-", c->msg ? c->msg : "-");
		for (int i = 0; i < v.n && i < VALIDATION_MAX_ERRS; i++)
			print_error("  got %s %s: %s\n", v.errs[i].reason, v.errs[i].field, v.errs[i].message);
	}
	cJSON_Delete(obj);
	return ok;
}

static void test_table(void **state)
{
	(void)state;
	int failed = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		failed += !run_case(&cases[i]);
	assert_int_equal(failed, 0);
}

static void test_message_exact(void **state)
{
	(void)state;
	cJSON *obj = parse("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'hello'},"
			   "'spec':{'replicas':-1,'selector':{'matchLabels':{'app':'hello'}},'template':"
			   "{'metadata':{'labels':{'app':'hello'}},'spec':{'containers':[{'image':"
			   "'stefanprodan/podinfo','name':'hello'}]}}}}");
	const struct kind_info *k = kind("apps", "Deployment");
	struct validation v;
	char buf[1024];
	assert_int_equal(validate_object(k, obj, "default", &v), 1);
	assert_string_equal(v.errs[0].reason, "FieldValueInvalid");
	validation_message(k, "hello", &v, buf, sizeof buf);
	assert_string_equal(buf, "Deployment.apps \"hello\" is invalid: spec.replicas: Invalid value: -1: "
			    "must be greater than or equal to 0");
	cJSON_Delete(obj);

	/* Several errors are bracketed, as apimachinery's aggregate. */
	obj = parse(SVC("{'type':'Foo','ports':[{'port':0}]}"));
	k = kind("", "Service");
	assert_int_equal(validate_object(k, obj, "default", &v), 2);
	validation_message(k, "s", &v, buf, sizeof buf);
	assert_string_equal(buf, "Service \"s\" is invalid: [spec.type: Unsupported value: \"Foo\": supported "
			    "values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\", "
			    "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive]");
	/* A small buffer is cut, still terminated. */
	validation_message(k, "s", &v, buf, 10);
	assert_string_equal(buf, "Service \"");
	validation_message(k, "s", &v, buf, 1);
	assert_string_equal(buf, "");
	cJSON_Delete(obj);

	/* Reasons as StatusCause.reason. */
	obj = parse(PP("{'replicaScheduling':{'replicaSchedulingType':'Foo'}}"));
	k = kind("policy.karmada.io", "PropagationPolicy");
	assert_int_equal(validate_object(k, obj, "default", &v), 1);
	assert_string_equal(v.errs[0].reason, "FieldValueNotSupported");
	validation_message(k, "p", &v, buf, sizeof buf);
	assert_string_equal(buf, "PropagationPolicy.policy.karmada.io \"p\" is invalid: "
			    "spec.placement.replicaScheduling.replicaSchedulingType: Unsupported value: "
			    "\"Foo\": supported values: \"Divided\", \"Duplicated\"");
	cJSON_Delete(obj);
}

static void test_annotations_too_long(void **state)
{
	(void)state;
	cJSON *obj = parse("{'metadata':{'name':'c','annotations':{}}}");
	cJSON *ann = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), "annotations");
	char *big = malloc(200 * 1024 + 1);
	memset(big, 'x', 200 * 1024);
	big[200 * 1024] = '\0';
	cJSON_AddStringToObject(ann, "a", big);
	cJSON_AddStringToObject(ann, "b", big);
	free(big);
	struct validation v;
	assert_int_equal(validate_object(kind("", "ConfigMap"), obj, "default", &v), 1);
	assert_string_equal(v.errs[0].reason, "FieldValueTooLong");
	assert_string_equal(v.errs[0].field, "metadata.annotations");
	assert_string_equal(v.errs[0].message, "Too long: must have at most 262144 bytes");
	cJSON_Delete(obj);
}

static void test_many_errors(void **state)
{
	(void)state;
	/* 40 bad labels: the first 16 are kept, all are counted. */
	cJSON *obj = parse("{'metadata':{'name':'c','labels':{}}}");
	cJSON *labels = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), "labels");
	for (int i = 0; i < 40; i++) {
		char key[16];
		snprintf(key, sizeof key, "-k%d", i);
		cJSON_AddStringToObject(labels, key, "v");
	}
	struct validation v;
	assert_int_equal(validate_object(kind("", "ConfigMap"), obj, "default", &v), 40);
	assert_int_equal(v.n, 40);
	assert_string_equal(v.errs[15].field, "metadata.labels");
	char buf[256];
	validation_message(kind("", "ConfigMap"), "c", &v, buf, sizeof buf);
	assert_int_equal(strlen(buf), sizeof buf - 1);
	cJSON_Delete(obj);
}

static void test_odd_roots(void **state)
{
	(void)state;
	static const char *const roots[] = {"[]", "'x'", "3", "null", "true", "{}", "{'metadata':null}",
					    "{'metadata':{'name':null}}"};
	struct validation v;
	for (size_t r = 0; r < sizeof roots / sizeof roots[0]; r++) {
		cJSON *obj = parse(roots[r]);
		assert_non_null(obj);
		/* Every kind survives every root. */
		for (int i = 0; i < builtin_kinds_count; i++) {
			int n = validate_object(&builtin_kinds[i], obj, "default", &v);
			assert_true(n >= 1);
			char buf[512];
			validation_message(&builtin_kinds[i], NULL, &v, buf, sizeof buf);
			assert_non_null(strstr(buf, " is invalid: "));
		}
		cJSON_Delete(obj);
	}
	assert_int_equal(validate_object(kind("", "Pod"), NULL, "", &v), 1);
	assert_string_equal(v.errs[0].message, "Invalid value: null: must be of type object");
}

/* Every kind fed every seed object and shapes with the wrong type at each
 * well-known path: no crash, and the sanitizers see no bad access. */
static void test_cross_kinds(void **state)
{
	(void)state;
	static const char *const objs[] = {
		SEED_DEPLOYMENT, SEED_SERVICE, SEED_SLEEP, SEED_PP_EQUAL, SEED_SECRET,
		"{'metadata':{'name':'x'},'spec':{'selector':7,'template':[],'ports':'a','placement':[],"
		"'resourceSelectors':{},'overrideRules':[null,1,'x',{}],'syncMode':{},'taints':[[]],"
		"'versions':{},'names':[],'group':false,'jobTemplate':3,'schedule':[]},"
		"'data':[],'binaryData':1,'stringData':{'a':[]},'involvedObject':'x'}",
		"{'metadata':{'name':'x','labels':{'':''},'annotations':{'':null}},'spec':{'template':"
		"{'metadata':[],'spec':{'containers':[{'name':{},'image':[],'ports':[{'containerPort':"
		"'80','protocol':3}]},null]}},'selector':{'matchLabels':[],'matchExpressions':{}}}}",
	};
	struct validation v;
	const size_t nseeds = 5; /* objs[0..4] are valid objects of some kind; the rest are not of any */
	for (size_t o = 0; o < sizeof objs / sizeof objs[0]; o++) {
		cJSON *obj = parse(objs[o]);
		assert_non_null(obj);
		for (int i = 0; i < builtin_kinds_count; i++) {
			char buf[2048];
			int n = validate_object(&builtin_kinds[i], obj, "default", &v);
			assert_int_equal(n, v.n);
			assert_in_range(n, 0, VALIDATION_MAX_ERRS);
			/* objs[6]'s empty label key is refused by the generic metadata
			 * checks; objs[5]'s wrong shapes by every kind that has rules for
			 * the paths it spoils. */
			const char *kind = builtin_kinds[i].kind;
			bool spoiled = o == nseeds + 1 ||
				       (o == nseeds && (strcmp(kind, "Deployment") == 0 || strcmp(kind, "Service") == 0 ||
							strcmp(kind, "ConfigMap") == 0 || strcmp(kind, "Secret") == 0 ||
							strcmp(kind, "PropagationPolicy") == 0 ||
							strcmp(kind, "OverridePolicy") == 0 || strcmp(kind, "Cluster") == 0));
			if (spoiled && n == 0)
				fail_msg("kind %s accepted malformed object %zu", kind, o);
			validation_message(&builtin_kinds[i], "x", &v, buf, sizeof buf);
			if (n > 0 && !strstr(buf, " is invalid: "))
				fail_msg("kind %s: message without the reason: %s", builtin_kinds[i].kind, buf);
		}
		cJSON_Delete(obj);
	}
}

static void test_dynamic_kind(void **state)
{
	(void)state;
	struct kind_info k = {.group = "example.com", .version = "v1", .kind = "Widget",
			      .plural = "widgets", .singular = "widget", .namespaced = true,
			      .has_spec = true, .dynamic = true};
	struct validation v;
	cJSON *obj = parse("{'apiVersion':'example.com/v1','kind':'Widget','metadata':{'name':'w'},'spec':{'any':[1]}}");
	assert_int_equal(validate_object(&k, obj, "default", &v), 0);
	cJSON_Delete(obj);
	obj = parse("{'apiVersion':'example.com/v2','kind':'Widget','metadata':{'name':'W'},'spec':1}");
	assert_int_equal(validate_object(&k, obj, "default", &v), 3);
	assert_string_equal(v.errs[0].field, "apiVersion");
	char buf[512];
	validation_message(&k, "W", &v, buf, sizeof buf);
	assert_non_null(strstr(buf, "Widget.example.com \"W\" is invalid: [apiVersion: "));
	cJSON_Delete(obj);
}

static void test_helpers(void **state)
{
	(void)state;
	assert_true(is_dns1123_subdomain("example.com"));
	assert_true(is_dns1123_subdomain("a"));
	assert_true(is_dns1123_subdomain("0-a.b-1"));
	assert_false(is_dns1123_subdomain(""));
	assert_false(is_dns1123_subdomain("Example.com"));
	assert_false(is_dns1123_subdomain("a..b"));
	assert_false(is_dns1123_subdomain("a.-b"));
	assert_false(is_dns1123_subdomain("-a"));
	assert_false(is_dns1123_subdomain("a."));
	assert_false(is_dns1123_subdomain(NULL));
	char big[300];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_false(is_dns1123_subdomain(big));
	big[253] = '\0';
	assert_true(is_dns1123_subdomain(big));
	big[64] = '\0';
	assert_false(is_dns1123_label(big));
	big[63] = '\0';
	assert_true(is_dns1123_label(big));
	assert_true(is_dns1123_label("my-name"));
	assert_false(is_dns1123_label("my.name"));
	assert_false(is_dns1123_label("a-"));
	assert_true(is_dns1035_label("abc-123"));
	assert_false(is_dns1035_label("1abc"));
	assert_true(is_qualified_name("app"));
	assert_true(is_qualified_name("kubernetes.io/Hello_1"));
	assert_false(is_qualified_name("/a"));
	assert_false(is_qualified_name("a/"));
	assert_false(is_qualified_name("a/b/c"));
	assert_true(is_label_value(""));
	assert_true(is_label_value("My_value.1"));
	assert_false(is_label_value("a b"));
	assert_true(is_config_key(".env"));
	assert_true(is_config_key("KEY_NAME"));
	assert_false(is_config_key(".."));
	assert_false(is_config_key("..data"));
	assert_false(is_config_key("a/b"));
}

/* One error of kind group/kind for json: field and message. */
static void expect_one(const char *group, const char *k, const char *json, const char *field, const char *msg)
{
	struct validation v;
	cJSON *obj = parse(json);
	assert_non_null(obj);
	int n = validate_object(kind(group, k), obj, "default", &v);
	if (n != 1 || strcmp(v.errs[0].field, field) != 0 || strcmp(v.errs[0].message, msg) != 0) {
		for (int i = 0; i < v.n && i < VALIDATION_MAX_ERRS; i++)
			print_error("  got %s: %s\n", v.errs[i].field, v.errs[i].message);
		fail_msg("%s/%s: want %s: %s", group, k, field, msg);
	}
	cJSON_Delete(obj);
}

/* The generic walker over the schema table's facts: they hold wherever
 * their message appears, with no rule written for that place: inline
 * members (an ephemeral container is a Container), a Node's taints (a
 * Taint, as a Cluster's), a ResourceBinding's placement (a PropagationPolicy's
 * Placement); enums listed sorted; an int32 bound implies the other end of
 * int32; emptyok; a message's own facts before those below it. */
static void test_schema_facts(void **state)
{
	(void)state;
	const char *lbl = "Invalid value: \"Bad_Name\": a lowercase RFC 1123 label must consist of lower case "
			  "alphanumeric characters or '-', and must start and end with an alphanumeric character "
			  "(e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
	expect_one("", "Pod", "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'c','image':'i'}],"
		   "'ephemeralContainers':[{'name':'Bad_Name','image':'i'}]}}",
		   "spec.ephemeralContainers[0].name", lbl);
	expect_one("", "Node", "{'metadata':{'name':'n'},'spec':{'taints':[{'key':'k','effect':'Evict'}]}}",
		   "spec.taints[0].effect",
		   "Unsupported value: \"Evict\": supported values: \"NoExecute\", \"NoSchedule\", \"PreferNoSchedule\"");
	expect_one("", "Node", "{'metadata':{'name':'n'},'spec':{'taints':[{'effect':'NoSchedule'}]}}",
		   "spec.taints[0].key", "Required value");
	expect_one("work.karmada.io", "ResourceBinding",
		   "{'metadata':{'name':'b'},'spec':{'placement':{'spreadConstraints':[{'spreadByField':'rack'}]}}}",
		   "spec.placement.spreadConstraints[0].spreadByField",
		   "Unsupported value: \"rack\": supported values: \"cluster\", \"provider\", \"region\", \"zone\"");
	expect_one("apps", "StatefulSet", "{'metadata':{'name':'s'},'spec':{'minReadySeconds':3000000000,"
		   "'selector':{'matchLabels':{'a':'b'}},'template':{'metadata':{'labels':{'a':'b'}},"
		   "'spec':{'containers':[{'name':'c','image':'i'}]}}}}",
		   "spec.minReadySeconds", "Invalid value: 3000000000: must be less than or equal to 2147483647");
	expect_one("batch", "CronJob", "{'metadata':{'name':'c'},'spec':{'schedule':'@daily','jobTemplate':{'spec':"
		   "{'activeDeadlineSeconds':0,'template':{'spec':{'restartPolicy':'Never','containers':[{'name':'c',"
		   "'image':'i'}]}}}}}}",
		   "spec.jobTemplate.spec.activeDeadlineSeconds", "Invalid value: 0: must be greater than or equal to 1");
	/* emptyok: an empty toleration operator passes; own facts first. */
	struct validation v;
	cJSON *obj = parse(SVC("{'sessionAffinity':'Sticky','ports':[{'port':80,'protocol':'X'}],"
			       "'type':'Foo'}"));
	assert_int_equal(validate_object(kind("", "Service"), obj, "default", &v), 3);
	assert_string_equal(v.errs[0].field, "spec.type");
	assert_string_equal(v.errs[1].field, "spec.sessionAffinity");
	assert_string_equal(v.errs[2].field, "spec.ports[0].protocol");
	cJSON_Delete(obj);
	obj = parse(DEPLOY("{'tolerations':[{'operator':'','effect':''}],'containers':[{'name':'c','image':'i'}]}"));
	assert_int_equal(validate_object(kind("apps", "Deployment"), obj, "default", &v), 0);
	cJSON_Delete(obj);
	/* The generated facts themselves. */
	int sp = -1;
	for (int i = 0; i < pbs_all_messages_count; i++)
		if (strcmp(pbs_messages[i].name, "core.ServicePort") == 0)
			sp = i;
	assert_true(sp >= 0);
	const struct pbs_message *m = &pbs_messages[sp];
	for (int i = 0; i < m->nfields; i++) {
		const struct sch_field_meta *fm = &sch_messages[sp].fields[i];
		if (strcmp(m->fields[i].json, "port") == 0) {
			assert_int_equal(fm->vflags, SCH_V_REQ | SCH_V_MIN | SCH_V_MAX | SCH_V_BETWEEN);
			assert_true(fm->vmin == 1 && fm->vmax == 65535);
		}
		if (strcmp(m->fields[i].json, "name") == 0)
			assert_string_equal(fm->format, "dns1123label");
	}
}

/* immutable (a table flag): an update may not change a Deployment's
 * selector; the rest of the object may change. */
static void test_immutable(void **state)
{
	(void)state;
	const struct kind_info *k = kind("apps", "Deployment");
	cJSON *old = parse("{'metadata':{'name':'d'},'spec':{'replicas':1,'selector':{'matchLabels':{'app':'a'}},"
			   "'template':{'metadata':{'labels':{'app':'a','v':'b'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}");
	cJSON *same = parse("{'metadata':{'name':'d'},'spec':{'replicas':5,'selector':{'matchLabels':{'app':'a'}},"
			    "'template':{'metadata':{'labels':{'app':'a','v':'b'}},'spec':{'containers':[{'name':'c','image':'j'}]}}}}");
	cJSON *changed = parse("{'metadata':{'name':'d'},'spec':{'replicas':1,'selector':{'matchLabels':{'v':'b'}},"
			       "'template':{'metadata':{'labels':{'app':'a','v':'b'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}");
	struct validation v;
	assert_int_equal(validate_update(k, old, same, "default", &v), 0);
	assert_int_equal(validate_update(k, old, changed, "default", &v), 1);
	assert_string_equal(v.errs[0].field, "spec.selector");
	assert_string_equal(v.errs[0].message, "Invalid value: {...}: field is immutable");
	/* removed (also required) or added: changed all the same */
	cJSON *removed = parse("{'metadata':{'name':'d'},'spec':{'replicas':1,"
			       "'template':{'metadata':{'labels':{'app':'a','v':'b'}},'spec':{'containers':[{'name':'c','image':'i'}]}}}}");
	assert_int_equal(validate_update(k, old, removed, "default", &v), 2);
	assert_string_equal(v.errs[1].field, "spec.selector");
	assert_string_equal(v.errs[1].message, "Invalid value: null: field is immutable");
	assert_int_equal(validate_update(k, removed, old, "default", &v), 1);
	assert_string_equal(v.errs[0].field, "spec.selector");
	assert_string_equal(v.errs[0].message, "Invalid value: {...}: field is immutable");
	cJSON_Delete(removed);
	/* create: nothing to compare with */
	assert_int_equal(validate_object(k, changed, "default", &v), 0);
	/* a Service has no immutable field in the table */
	cJSON *s1 = parse(SVC("{'ports':[{'port':80}],'selector':{'a':'b'}}"));
	cJSON *s2 = parse(SVC("{'ports':[{'port':81}],'selector':{'a':'c'}}"));
	assert_int_equal(validate_update(kind("", "Service"), s1, s2, "default", &v), 0);
	cJSON_Delete(old);
	cJSON_Delete(same);
	cJSON_Delete(changed);
	cJSON_Delete(s1);
	cJSON_Delete(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_message_exact),
		cmocka_unit_test(test_annotations_too_long),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_odd_roots),
		cmocka_unit_test(test_cross_kinds),
		cmocka_unit_test(test_dynamic_kind),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_schema_facts),
		cmocka_unit_test(test_immutable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
