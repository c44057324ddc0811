/* meshcli.c — atoll-hub mesh values: the Helm values of one cluster of a
 * Mesh, read from the hub's API (the Mesh's spec and status). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "httpclient.h"
#include "jsonutil.h"
#include "kubeconfig.h"
#include "mesh.h"
#include "pki.h"
#include "xalloc.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: atoll-hub mesh values --mesh NAME --cluster NAME [--server URL | --kubeconfig FILE | --data-dir DIR]\n"
		"                             [-o yaml|json]\n\n"
		"Prints the Helm values (global.meshID, global.multiCluster.clusterName, global.network,\n"
		"meshConfig.trustDomain) that `helm install istiod` takes for one cluster of a Mesh. The\n"
		"same values are kept in ConfigMap istio-system/" MESH_VALUES_CONFIGMAP " in each member.\n\n"
		"  --mesh NAME         the Mesh (mesh.atoll.io/v1alpha1)\n"
		"  --cluster NAME      a cluster of that Mesh\n"
		"  --server URL        the hub's API (e.g. http://127.0.0.1:8080)\n"
		"  --kubeconfig FILE   a kubeconfig for the hub\n"
		"  --data-dir DIR      the hub's data directory (uses DIR/admin.kubeconfig)\n"
		"  --context NAME      the kubeconfig context (default: current-context)\n"
		"  -o, --output FMT    yaml (default) or json\n"
		"  -h, --help          this help\n");
}

struct result {
	struct event_base *base;
	long status;
	char *body;
	char error[256];
};

static void on_done(const struct http_response *r, void *ud)
{
	struct result *res = ud;
	res->status = r->status;
	res->body = xstrdup(r->body ? r->body : "");
	if (r->error)
		snprintf(res->error, sizeof res->error, "%s", r->error);
	event_base_loopbreak(res->base);
}

static cJSON *fetch(const struct http_target *t, const char *path, long *status, char *err, size_t errlen)
{
	struct result res = {0};
	res.base = event_base_new();
	struct http_client *hc = http_client_new(res.base);
	struct http_request rq = {.method = "GET", .path = path, .timeout_ms = 15000};
	cJSON *out = NULL;
	if (!http_start(hc, t, &rq, on_done, &res))
		snprintf(err, errlen, "cannot start a request");
	else
		event_base_dispatch(res.base);
	*status = res.status;
	if (res.status == 0 && !err[0])
		snprintf(err, errlen, "%s: %s", t->base_url, res.error[0] ? res.error : "no answer");
	else if (res.body && !(out = cJSON_Parse(res.body)))
		snprintf(err, errlen, "the hub's answer is not JSON");
	free(res.body);
	http_client_free(hc);
	event_base_free(res.base);
	return out;
}

int mesh_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "values") != 0) {
		fprintf(stderr, "atoll-hub mesh: unknown command \"%s\" (want values)\n", argv[1]);
		return 2;
	}
	const char *mesh = NULL, *cluster = NULL, *server = NULL, *kcfile = NULL, *dir = NULL, *context = NULL,
		   *output = "yaml";
	static const struct option opts[] = {
		{"mesh", required_argument, NULL, 'm'},	   {"cluster", required_argument, NULL, 'c'},
		{"server", required_argument, NULL, 's'},  {"kubeconfig", required_argument, NULL, 'k'},
		{"data-dir", required_argument, NULL, 'd'}, {"context", required_argument, NULL, 'x'},
		{"output", required_argument, NULL, 'o'},  {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': mesh = optarg; break;
		case 'c': cluster = optarg; break;
		case 's': server = optarg; break;
		case 'k': kcfile = optarg; break;
		case 'd': dir = optarg; break;
		case 'x': context = optarg; break;
		case 'o': output = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "atoll-hub mesh values: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	if (!mesh || !cluster) {
		fprintf(stderr, "atoll-hub mesh values: --mesh and --cluster are required\n");
		return 2;
	}
	if (!pki_valid_cluster_name(mesh) || !pki_valid_cluster_name(cluster)) {
		fprintf(stderr, "atoll-hub mesh values: invalid name (lower-case letters, digits and '-')\n");
		return 2;
	}
	if (strcmp(output, "yaml") != 0 && strcmp(output, "json") != 0) {
		fprintf(stderr, "atoll-hub mesh values: unknown output format %s (want yaml or json)\n", output);
		return 2;
	}
	if (!!server + !!kcfile + !!dir != 1) {
		fprintf(stderr, "atoll-hub mesh values: give exactly one of --server, --kubeconfig, --data-dir\n");
		return 2;
	}
	char err[512] = "", path[600];
	struct kubeconfig kc;
	memset(&kc, 0, sizeof kc);
	struct http_target t = {0};
	if (server) {
		t.base_url = server;
	} else {
		if (dir)
			kcfile = pki_path(path, sizeof path, dir, "admin.kubeconfig");
		if (kubeconfig_load(kcfile, context, &kc, err, sizeof err) < 0) {
			fprintf(stderr, "atoll-hub mesh values: %s\n", err);
			return 1;
		}
		http_target_from_kubeconfig(&t, &kc, "atoll-hub");
	}
	int rc = 1;
	long status = 0;
	snprintf(path, sizeof path, "/apis/mesh.atoll.io/v1alpha1/meshes/%s", mesh);
	cJSON *m = fetch(&t, path, &status, err, sizeof err);
	if (!m || status != 200) {
		if (status == 404)
			fprintf(stderr, "atoll-hub mesh values: mesh \"%s\" not found\n", mesh);
		else
			fprintf(stderr, "atoll-hub mesh values: %s\n",
				err[0] ? err : json_get_str(m, "message") ? json_get_str(m, "message") : "request failed");
		goto out;
	}
	const cJSON *st = NULL, *it;
	cJSON_ArrayForEach(it, json_get(m, "status.clusters")) {
		const char *n = json_get_str(it, "name");
		if (n && strcmp(n, cluster) == 0)
			st = it;
	}
	if (!st || !json_get_str(st, "network")) {
		fprintf(stderr, "atoll-hub mesh values: cluster \"%s\" is not (yet) in mesh \"%s\" (see its status)\n",
			cluster, mesh);
		goto out;
	}
	const char *id = json_get_str(m, "spec.meshID") ? json_get_str(m, "spec.meshID") : mesh;
	const char *td = json_get_str(m, "spec.trustDomain") ? json_get_str(m, "spec.trustDomain") : "cluster.local";
	const char *net = json_get_str(st, "network");
	if (strcmp(output, "json") == 0) {
		cJSON *v = cJSON_CreateObject();
		cJSON *g = cJSON_AddObjectToObject(v, "global");
		cJSON_AddStringToObject(g, "meshID", id);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(g, "multiCluster"), "clusterName", cluster);
		cJSON_AddStringToObject(g, "network", net);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(v, "meshConfig"), "trustDomain", td);
		char *s = cJSON_Print(v);
		printf("%s\n", s);
		free(s);
		cJSON_Delete(v);
	} else {
		printf("global:\n  meshID: %s\n  multiCluster:\n    clusterName: %s\n  network: %s\nmeshConfig:\n  trustDomain: %s\n",
		       id, cluster, net, td);
	}
	rc = 0;
out:
	cJSON_Delete(m);
	kubeconfig_free(&kc);
	return rc;
}
