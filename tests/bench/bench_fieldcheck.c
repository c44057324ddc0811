/* The cost of field validation per write (proto/fieldcheck): checking a
 * request body against the schema table, next to parsing it. Prints one
 * line per body: parse µs, check µs (a fresh parse each time: the check
 * may prune). Usage: bench_fieldcheck [--rounds N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fieldcheck.h"
#include "numparse.h"

static const struct {
	const char *name, *av, *kind, *json;
} BODIES[] = {
	{"Deployment (kubectl create, defaults applied)", "apps/v1", "Deployment",
	 "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web-1\",\"namespace\":\"default\","
	 "\"labels\":{\"app\":\"web\"},\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}},"
	 "\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"strategy\":{\"type\":\"RollingUpdate\","
	 "\"rollingUpdate\":{\"maxUnavailable\":\"25%\",\"maxSurge\":\"25%\"}},\"revisionHistoryLimit\":10,"
	 "\"progressDeadlineSeconds\":600,\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
	 "\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.27\",\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],"
	 "\"env\":[{\"name\":\"MODE\",\"value\":\"prod\"}],\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}},"
	 "\"readinessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":80,\"scheme\":\"HTTP\"},\"periodSeconds\":10},"
	 "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\","
	 "\"imagePullPolicy\":\"IfNotPresent\"}],\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,"
	 "\"dnsPolicy\":\"ClusterFirst\",\"securityContext\":{},\"schedulerName\":\"default-scheduler\"}}}}"},
	{"PropagationPolicy (weighted, 3 clusters)", "policy.karmada.io/v1alpha1", "PropagationPolicy",
	 "{\"apiVersion\":\"policy.karmada.io/v1alpha1\",\"kind\":\"PropagationPolicy\",\"metadata\":{\"name\":\"p\"},"
	 "\"spec\":{\"resourceSelectors\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web\"}],"
	 "\"placement\":{\"clusterAffinity\":{\"clusterNames\":[\"eu\",\"ap\",\"us\"]},\"replicaScheduling\":{"
	 "\"replicaSchedulingType\":\"Divided\",\"replicaDivisionPreference\":\"Weighted\",\"weightPreference\":{"
	 "\"staticWeightList\":[{\"targetCluster\":{\"clusterNames\":[\"eu\"]},\"weight\":1},"
	 "{\"targetCluster\":{\"clusterNames\":[\"ap\"]},\"weight\":2},{\"targetCluster\":{\"clusterNames\":[\"us\"]},\"weight\":2}]}}}}}"},
	{"ConfigMap (3 keys)", "v1", "ConfigMap",
	 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},\"data\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}}"},
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long long rounds = 20000;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc &&
		    num_parse_ll(argv[i + 1], 1, 100000000, &rounds) == 0) {
			i++;
		} else {
			fprintf(stderr, "usage: bench_fieldcheck [--rounds N]\n");
			return 2;
		}
	}
	printf("%-48s %10s %10s\n", "body", "parse µs", "check µs");
	for (size_t b = 0; b < sizeof BODIES / sizeof *BODIES; b++) {
		double t0 = now();
		for (long long i = 0; i < rounds; i++)
			cJSON_Delete(cJSON_Parse(BODIES[b].json));
		double parse = (now() - t0) / (double)rounds;
		t0 = now();
		for (long long i = 0; i < rounds; i++) {
			cJSON *o = cJSON_Parse(BODIES[b].json);
			struct fc_result r = {0};
			if (fieldcheck_body(BODIES[b].av, BODIES[b].kind, o, FC_OBJECT, &r) != 0) {
				fprintf(stderr, "%s: unexpected: %s\n", BODIES[b].name, r.issue[0]);
				return 1;
			}
			cJSON_Delete(o);
		}
		double check = (now() - t0) / (double)rounds - parse;
		printf("%-48s %10.2f %10.2f\n", BODIES[b].name, parse * 1e6, check * 1e6);
	}
	return 0;
}
