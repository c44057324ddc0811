/* plan — the `atoll-hub plan` dry-run command (see plan.h). */
#include "plan.h"
#include "jsonutil.h"
#include "scheduler.h"
#include "yamljson.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_MAX_FILES 64

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: atoll-hub plan -f FILE [-f FILE ...]\n"
		"\n"
		"Shows where Karmada would place a workload, without a hub.\n"
		"The files (YAML or JSON, multi-document) must hold:\n"
		"  - Cluster objects (cluster.karmada.io/v1alpha1) with their status\n"
		"    (conditions, resourceSummary) as `kubectl get clusters -o yaml` shows;\n"
		"  - exactly one PropagationPolicy or ClusterPropagationPolicy;\n"
		"  - exactly one workload (any kind; metadata.uid breaks ties);\n"
		"  - optionally one ResourceBinding whose spec.clusters is the previous result.\n"
		"\n"
		"Prints {\"clusters\":[{\"name\":...,\"replicas\":...}]} sorted by name.\n"
		"Exit status: 0 scheduled, 1 unschedulable (reason on stderr), 2 bad input.\n"
		"\n"
		"Options:\n"
		"  -f, --filename FILE   a manifest file (repeatable)\n"
		"  -h, --help            this help\n");
}

static bool kind_has_replicas(const cJSON *w)
{
	static const char *const kinds[] = {"Deployment", "StatefulSet", "ReplicaSet", "Job"};
	const char *kind = json_get_str(w, "kind");
	for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return cJSON_IsNumber(json_get(w, "spec.replicas"));
}

static bool is_policy_kind(const char *k)
{
	return strcmp(k, "PropagationPolicy") == 0 || strcmp(k, "ClusterPropagationPolicy") == 0;
}

static bool is_binding_kind(const char *k)
{
	return strcmp(k, "ResourceBinding") == 0 || strcmp(k, "ClusterResourceBinding") == 0;
}

struct plan_input {
	cJSON *clusters; /* array of references into the parsed documents */
	const cJSON *policy, *workload, *binding;
	const char *policy_file, *workload_file, *binding_file;
};

/* Sorts one document into the input; "*List" kinds contribute their items. */
static int take_document(struct plan_input *in, const cJSON *doc, const char *path, int depth)
{
	const char *kind = json_get_str(doc, "kind");
	if (!cJSON_IsObject(doc) || !kind || !*kind) {
		fprintf(stderr, "atoll-hub plan: %s: a document has no kind\n", path);
		return -1;
	}
	size_t kl = strlen(kind);
	if (depth == 0 && kl >= 4 && strcmp(kind + kl - 4, "List") == 0) {
		const cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "items"))
			if (take_document(in, it, path, 1) != 0)
				return -1;
		return 0;
	}
	const char *name = json_get_str(doc, "metadata.name");
	if (strcmp(kind, "Cluster") == 0) {
		if (!name || !*name) {
			fprintf(stderr, "atoll-hub plan: %s: a Cluster has no metadata.name\n", path);
			return -1;
		}
		cJSON_AddItemReferenceToArray(in->clusters, (cJSON *)doc);
		return 0;
	}
	const cJSON **slot;
	const char **slot_file;
	const char *what;
	if (is_policy_kind(kind)) {
		slot = &in->policy;
		slot_file = &in->policy_file;
		what = "PropagationPolicy or ClusterPropagationPolicy";
	} else if (is_binding_kind(kind)) {
		slot = &in->binding;
		slot_file = &in->binding_file;
		what = "ResourceBinding";
	} else {
		slot = &in->workload;
		slot_file = &in->workload_file;
		what = "workload";
	}
	if (*slot) {
		fprintf(stderr, "atoll-hub plan: more than one %s (%s %s in %s, and %s in %s)\n", what,
			json_get_str(*slot, "kind"), json_get_str(*slot, "metadata.name") ? json_get_str(*slot, "metadata.name") : "",
			*slot_file, kind, path);
		return -1;
	}
	*slot = doc;
	*slot_file = path;
	return 0;
}

int plan_main(int argc, char **argv)
{
	const char *files[PLAN_MAX_FILES];
	int nfiles = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "-f") == 0 || strcmp(a, "--filename") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "atoll-hub plan: %s needs a file name\n", a);
				return 2;
			}
			val = argv[++i];
		} else if (strncmp(a, "--filename=", 11) == 0) {
			val = a + 11;
		} else if (strncmp(a, "-f=", 3) == 0) {
			val = a + 3;
		} else if (strncmp(a, "-f", 2) == 0 && a[2]) {
			val = a + 2;
		} else {
			fprintf(stderr, "atoll-hub plan: unknown argument \"%s\"\n", a);
			usage(stderr);
			return 2;
		}
		if (nfiles == PLAN_MAX_FILES) {
			fprintf(stderr, "atoll-hub plan: at most %d files\n", PLAN_MAX_FILES);
			return 2;
		}
		files[nfiles++] = val;
	}
	if (nfiles == 0) {
		fprintf(stderr, "atoll-hub plan: no input; use -f FILE (see --help)\n");
		return 2;
	}

	cJSON *docs[PLAN_MAX_FILES] = {0};
	struct plan_input in = {0};
	int rc = 2;
	in.clusters = cJSON_CreateArray();
	if (!in.clusters)
		goto out;
	for (int i = 0; i < nfiles; i++) {
		char err[512] = "";
		docs[i] = yaml_parse_file(files[i], err, sizeof err);
		if (!docs[i]) {
			fprintf(stderr, "atoll-hub plan: %s: %s\n", files[i], err[0] ? err : "cannot read");
			goto out;
		}
		const cJSON *d;
		cJSON_ArrayForEach(d, docs[i])
			if (take_document(&in, d, files[i], 0) != 0)
				goto out;
	}
	if (!in.policy) {
		fprintf(stderr, "atoll-hub plan: no PropagationPolicy or ClusterPropagationPolicy in the input\n");
		goto out;
	}
	if (!in.workload) {
		fprintf(stderr, "atoll-hub plan: no workload in the input\n");
		goto out;
	}
	const cJSON *placement = json_get(in.policy, "spec.placement");
	if (placement && !cJSON_IsObject(placement)) {
		fprintf(stderr, "atoll-hub plan: %s: spec.placement must be an object\n", in.policy_file);
		goto out;
	}
	const cJSON *previous = in.binding ? json_get(in.binding, "spec.clusters") : NULL;
	if (previous && !cJSON_IsArray(previous)) {
		fprintf(stderr, "atoll-hub plan: %s: spec.clusters must be a list\n", in.binding_file);
		goto out;
	}

	struct sched_result r;
	if (schedule(in.clusters, placement, in.workload, kind_has_replicas(in.workload), previous, &r) != 0) {
		fprintf(stderr, "atoll-hub plan: %s\n", r.message);
		sched_result_free(&r);
		rc = 1;
		goto out;
	}
	cJSON *outj = cJSON_CreateObject();
	cJSON *arr = outj ? cJSON_AddArrayToObject(outj, "clusters") : NULL;
	for (int i = 0; arr && i < r.n; i++) {
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "name", r.targets[i].name);
		cJSON_AddNumberToObject(t, "replicas", (double)r.targets[i].replicas);
		cJSON_AddItemToArray(arr, t);
	}
	char *s = arr ? cJSON_PrintUnformatted(outj) : NULL;
	if (s) {
		printf("%s\n", s);
		fflush(stdout);
		rc = 0;
	} else {
		fprintf(stderr, "atoll-hub plan: out of memory\n");
	}
	free(s);
	cJSON_Delete(outj);
	sched_result_free(&r);
out:
	cJSON_Delete(in.clusters); /* references only: the documents stay */
	for (int i = 0; i < nfiles; i++)
		cJSON_Delete(docs[i]);
	return rc;
}
