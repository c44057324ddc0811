/* bench_pblist — the CLIENT side of Kubernetes protobuf vs JSON (issue 11).
 *
 * Against a running hub (tests/bench/bench_protobuf.py --client starts one
 * with 1,000 Deployments and runs this), over one keep-alive libcurl
 * connection:
 *   list: GET <path> R times asking for JSON and R times asking for
 *     protobuf; for each format the time to fetch the body (request sent →
 *     last byte, the hub's work plus the transfer) and the time to decode it,
 *     two ways:
 *       typed — into protobuf-c structs of the schema table's messages
 *         (what a typed client such as client-go ends with): protobuf is
 *         unpacked directly (pbcodec_unpack_typed); JSON is parsed with
 *         cJSON and then filled into the same structs (pbcodec_fill_typed);
 *       tree  — into a cJSON tree: JSON with cJSON_Parse, protobuf with
 *         pbcodec_decode (unpack, then the tree).
 *   watch: one change delivered to W watchers means each of the W clients
 *     decodes one event; the event (MODIFIED with the first Deployment, as
 *     the hub frames it: pbcodec_encode_watch_event for protobuf,
 *     {"type","object"} text for JSON) is decoded W times, typed and tree.
 * Medians over R rounds; wall-clock (CLOCK_MONOTONIC), one thread.
 *
 *   bench_pblist --url http://127.0.0.1:PORT [--path P] [--rounds 20] [--watchers 100]
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "pbcodec.h"

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *d, size_t sz, size_t n, void *ud)
{
	struct buf *b = ud;
	char *np = realloc(b->p, b->len + sz * n + 1);
	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, d, sz * n);
	b->len += sz * n;
	b->p[b->len] = '\0';
	return sz * n;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return v[n / 2];
}

static struct buf fetch(CURL *c, const char *url, const char *accept, double *ms)
{
	struct buf b = {0};
	struct curl_slist *h = NULL;
	char hdr[256];
	snprintf(hdr, sizeof hdr, "Accept: %s", accept);
	h = curl_slist_append(h, hdr);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	double t0 = now_ms();
	CURLcode rc = curl_easy_perform(c);
	*ms = now_ms() - t0;
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	if (rc != CURLE_OK || code != 200) {
		fprintf(stderr, "bench_pblist: GET %s: %s (HTTP %ld)\n", url, curl_easy_strerror(rc), code);
		exit(1);
	}
	return b;
}

int main(int argc, char **argv)
{
	const char *url = NULL, *path = "/apis/apps/v1/namespaces/default/deployments";
	int rounds = 20, watchers = 100;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
			url = argv[++i];
		else if (strcmp(argv[i], "--path") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--watchers") == 0 && i + 1 < argc)
			watchers = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_pblist --url http://127.0.0.1:PORT [--path P] [--rounds N] "
					"[--watchers W]\n  Client-side decode times of a list and of watch events, "
					"JSON vs Kubernetes protobuf (see the source's header).\n");
			return strcmp(argv[i], "--help") == 0 ? 0 : 2;
		}
	}
	if (!url || rounds < 1 || watchers < 1) {
		fprintf(stderr, "bench_pblist: --url is required (--help)\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	char full[1024];
	snprintf(full, sizeof full, "%s%s", url, path);
	const char *fmts[2] = {"application/json", "application/vnd.kubernetes.protobuf,application/json"};
	double *fetch_ms = calloc((size_t)rounds, sizeof *fetch_ms), *typed = calloc((size_t)rounds, sizeof *typed),
	       *tree = calloc((size_t)rounds, sizeof *tree);
	double med[2][3];
	size_t bytes[2] = {0, 0};
	int items = 0;
	cJSON *first = NULL;
	for (int f = 0; f < 2; f++) {
		for (int r = 0; r < rounds; r++) {
			struct buf b = fetch(c, full, fmts[f], &fetch_ms[r]);
			bytes[f] = b.len;
			double t0 = now_ms();
			if (f == 0) {
				cJSON *j = cJSON_ParseWithLength(b.p, b.len);
				int rc = j ? pbcodec_fill_typed(j) : -1;
				typed[r] = now_ms() - t0;
				if (rc < 0) {
					fprintf(stderr, "bench_pblist: the JSON list does not fill the typed structs\n");
					return 1;
				}
				items = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "items"));
				if (!first)
					first = cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "items"), 0), 1);
				cJSON_Delete(j);
				t0 = now_ms();
				j = cJSON_ParseWithLength(b.p, b.len);
				tree[r] = now_ms() - t0;
				cJSON_Delete(j);
			} else {
				if (pbcodec_unpack_typed(b.p, b.len) < 0) {
					fprintf(stderr, "bench_pblist: the protobuf list does not unpack\n");
					return 1;
				}
				typed[r] = now_ms() - t0;
				char err[256];
				t0 = now_ms();
				cJSON *j = pbcodec_decode(b.p, b.len, err, sizeof err);
				tree[r] = now_ms() - t0;
				if (!j || cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "items")) != items) {
					fprintf(stderr, "bench_pblist: the protobuf list decodes to %s\n", j ? "other items" : err);
					return 1;
				}
				cJSON_Delete(j);
			}
			free(b.p);
		}
		med[f][0] = median(fetch_ms, rounds);
		med[f][1] = median(typed, rounds);
		med[f][2] = median(tree, rounds);
	}
	printf("list of %d items, %d rounds, medians (client side):\n", items, rounds);
	printf("  %-8s %10s %10s %14s %14s\n", "format", "bytes", "fetch ms", "decode typed", "decode tree");
	for (int f = 0; f < 2; f++)
		printf("  %-8s %10zu %10.2f %11.2f ms %11.2f ms\n", f ? "protobuf" : "JSON", bytes[f], med[f][0],
		       med[f][1], med[f][2]);
	printf("  JSON/protobuf: decode typed %.2fx, fetch+decode typed %.2fx\n", med[0][1] / med[1][1],
	       (med[0][0] + med[0][1]) / (med[1][0] + med[1][1]));

	/* one change, W watchers: each decodes the event */
	if (!first)
		return 1;
	cJSON_AddStringToObject(first, "apiVersion", "apps/v1");
	cJSON_AddStringToObject(first, "kind", "Deployment");
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", "MODIFIED");
	cJSON_AddItemToObject(ev, "object", first);
	char *jev = cJSON_PrintUnformatted(ev);
	char err[256];
	size_t plen = 0;
	unsigned char *pev = pbcodec_encode_watch_event("MODIFIED", first, &plen, err, sizeof err);
	if (!jev || !pev) {
		fprintf(stderr, "bench_pblist: cannot frame the event: %s\n", err);
		return 1;
	}
	size_t jlen = strlen(jev);
	double w[2][2];
	for (int f = 0; f < 2; f++)
		for (int how = 0; how < 2; how++) {
			for (int r = 0; r < rounds; r++) {
				double t0 = now_ms();
				for (int i = 0; i < watchers; i++) {
					cJSON *j;
					if (f == 0) {
						j = cJSON_ParseWithLength(jev, jlen);
						if (how == 0 && (!j || pbcodec_fill_typed(cJSON_GetObjectItemCaseSensitive(j, "object")) < 0))
							return 1;
					} else if (how == 0) {
						/* a frame: 4-byte length, WatchEvent{type, object = envelope} */
						j = pbcodec_decode_watch_event(pev, plen, err, sizeof err);
						if (!j)
							return 1;
					} else {
						j = pbcodec_decode_watch_event(pev, plen, err, sizeof err);
					}
					cJSON_Delete(j);
				}
				typed[r] = now_ms() - t0;
			}
			w[f][how] = median(typed, rounds);
		}
	printf("one change, %d watchers: decode of the event by all of them (client side, medians):\n", watchers);
	printf("  JSON     %6zu bytes/event  typed %.3f ms  tree %.3f ms\n", jlen, w[0][0], w[0][1]);
	printf("  protobuf %6zu bytes/event  tree %.3f ms (no typed-only path for watch frames)\n", plen, w[1][1]);
	free(jev);
	free(pev);
	cJSON_Delete(ev);
	free(fetch_ms);
	free(typed);
	free(tree);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	return 0;
}
