#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>

#include "jsonutil.h"
#include "kinds.h"
#include "pbcodec.h"
#include "pbschema.h"

/* ---- helpers ------------------------------------------------------------------------ */

static char *read_file(const char *name, size_t *len)
{
	const char *dir = getenv("ATOLL_TEST_DATA");
	char path[1024];
	snprintf(path, sizeof path, "%s/protobuf/%s", dir ? dir : "tests/data", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void assert_json_equal(const cJSON *got, const cJSON *want, const char *what)
{
	if (!json_equal(got, want)) {
		char *g = json_print(got), *w = json_print(want);
		print_error("%s:\n got  %s\n want %s\n", what, g, w);
		free(g);
		free(w);
		fail();
	}
}

/* In JSON, a nil Go slice without omitempty prints as null ("rules": null);
 * protobuf has no such thing (absent). Drops those from want. */
static void drop_absent_nulls(cJSON *want, const cJSON *got)
{
	cJSON *e = want ? want->child : NULL;
	while (e) {
		cJSON *next = e->next;
		const cJSON *g = e->string ? cJSON_GetObjectItemCaseSensitive(got, e->string) : NULL;
		if (e->string && cJSON_IsNull(e) && !g)
			cJSON_DeleteItemFromObjectCaseSensitive(want, e->string);
		else if (cJSON_IsObject(e) && cJSON_IsObject(g))
			drop_absent_nulls(e, g);
		e = next;
	}
}

/* ---- bodies captured from kubectl 1.33 (tests/tools/capture_protobuf.py) ------------------ */

static const char *const captured[] = {
	"namespace", "configmap", "secret-generic", "secret-docker", "serviceaccount", "deployment",
	"deployment-zero", "deployment-command", "service-clusterip", "service-headless", "service-nodeport",
	"service-loadbalancer", "service-externalname", "job", "cronjob", "job-from-cronjob", "ingress", "role",
	"rolebinding", "clusterrole", "clusterrole-aggregate", "clusterrolebinding", "poddisruptionbudget",
	"priorityclass", "quota", NULL,
};

static void test_captured_bodies(void **state)
{
	(void)state;
	for (int i = 0; captured[i]; i++) {
		char name[128];
		size_t plen, jlen;
		snprintf(name, sizeof name, "%s.pb", captured[i]);
		char *pb = read_file(name, &plen);
		snprintf(name, sizeof name, "%s.json", captured[i]);
		char *js = read_file(name, &jlen);
		char err[256];
		cJSON *got = pbcodec_decode(pb, plen, err, sizeof err);
		if (!got)
			fail_msg("%s: %s", captured[i], err);
		cJSON *want = cJSON_Parse(js);
		assert_non_null(want);
		drop_absent_nulls(want, got);
		assert_json_equal(got, want, captured[i]);
		/* and back: what we encode decodes to the same object */
		size_t elen;
		unsigned char *enc = pbcodec_encode(got, &elen, err, sizeof err);
		if (!enc)
			fail_msg("%s: encode: %s", captured[i], err);
		cJSON *again = pbcodec_decode(enc, elen, err, sizeof err);
		assert_non_null(again);
		assert_json_equal(again, want, captured[i]);
		cJSON_Delete(again);
		free(enc);
		cJSON_Delete(got);
		cJSON_Delete(want);
		free(pb);
		free(js);
	}
}

/* What kubectl meant, spot-checked by hand: replicas 0 survives (a Go
 * pointer), a Secret's empty value stays, targetPort keeps its type. */
static void test_captured_details(void **state)
{
	(void)state;
	size_t len;
	char err[256];
	char *pb = read_file("deployment-zero.pb", &len);
	cJSON *o = pbcodec_decode(pb, len, err, sizeof err);
	assert_non_null(o);
	assert_string_equal(json_get_str(o, "kind"), "Deployment");
	assert_string_equal(json_get_str(o, "apiVersion"), "apps/v1");
	cJSON *r = json_get(o, "spec.replicas");
	assert_true(cJSON_IsNumber(r));
	assert_int_equal(r->valueint, 0);
	assert_true(cJSON_IsNull(json_get(o, "metadata.creationTimestamp")));
	assert_null(json_get(o, "metadata.namespace")); /* "" on the wire: left out as JSON does */
	cJSON_Delete(o);
	free(pb);

	pb = read_file("secret-generic.pb", &len);
	o = pbcodec_decode(pb, len, err, sizeof err);
	assert_non_null(o);
	assert_string_equal(json_get_str(o, "data.x"), "eQ==");
	assert_string_equal(json_get_str(o, "data.empty"), "");
	cJSON_Delete(o);
	free(pb);

	pb = read_file("service-clusterip.pb", &len);
	o = pbcodec_decode(pb, len, err, sizeof err);
	assert_non_null(o);
	cJSON *ports = json_get(o, "spec.ports");
	assert_int_equal(cJSON_GetArraySize(ports), 2);
	assert_int_equal(json_get_num(cJSON_GetArrayItem(ports, 0), "targetPort", -1), 8080);
	assert_string_equal(json_get_str(cJSON_GetArrayItem(ports, 1), "targetPort"), "https");
	cJSON_Delete(o);
	free(pb);
}

/* ---- property test: JSON -> protobuf -> JSON for generated objects --------------------- */

static unsigned long rng = 88172645463325252UL;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static cJSON *gen_string(void)
{
	static const char *const words[] = {"a", "web", "nginx:1.25", "kube-system", "x.y/z", "10.0.0.1",
					    "ünïcode", "with space", "TCP", "Always"};
	char buf[64];
	snprintf(buf, sizeof buf, "%s%u", words[rnd(10)], rnd(100));
	return cJSON_CreateString(buf);
}

static cJSON *gen_message(int m, int depth);

static cJSON *gen_special(int m)
{
	char buf[64];
	switch (pbs_messages[m].special) {
	case PBS_SPECIAL_TIME:
		snprintf(buf, sizeof buf, "20%02u-%02u-%02uT%02u:%02u:%02uZ", 10 + rnd(20), 1 + rnd(12), 1 + rnd(28),
			 rnd(24), rnd(60), rnd(60));
		return cJSON_CreateString(buf);
	case PBS_SPECIAL_MICROTIME:
		snprintf(buf, sizeof buf, "20%02u-%02u-%02uT%02u:%02u:%02u.%06uZ", 10 + rnd(20), 1 + rnd(12),
			 1 + rnd(28), rnd(24), rnd(60), rnd(60), rnd(1000000));
		return cJSON_CreateString(buf);
	case PBS_SPECIAL_QUANTITY: {
		static const char *const q[] = {"100m", "1Gi", "2", "0.5", "64Mi"};
		return cJSON_CreateString(q[rnd(5)]);
	}
	case PBS_SPECIAL_INTSTR:
		if (rnd(2))
			return cJSON_CreateNumber(rnd(65536));
		snprintf(buf, sizeof buf, "%u%%", rnd(100));
		return cJSON_CreateString(buf);
	case PBS_SPECIAL_RAW:
	case PBS_SPECIAL_FIELDSV1: {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "f:spec", cJSON_CreateObject());
		cJSON_AddNumberToObject(o, "n", rnd(1000));
		return o;
	}
	default:
		return NULL;
	}
}

static cJSON *gen_value(const struct pbs_field *f, int depth)
{
	switch (f->type) {
	case PBS_STRING: return gen_string();
	case PBS_INT32: return cJSON_CreateNumber((double)(1 + rnd(100000)) * (rnd(4) ? 1 : -1));
	case PBS_INT64: return cJSON_CreateNumber((double)(1 + rnd(1000000)) * 1000003.0);
	case PBS_BOOL: return cJSON_CreateBool(1); /* false is a zero value */
	case PBS_BYTES: {
		unsigned char raw[20], b64[64];
		size_t n = 1 + rnd(sizeof raw), olen;
		for (size_t i = 0; i < n; i++)
			raw[i] = (unsigned char)rnd(256);
		assert_int_equal(mbedtls_base64_encode(b64, sizeof b64, &olen, raw, n), 0);
		b64[olen] = '\0';
		return cJSON_CreateString((char *)b64);
	}
	case PBS_MESSAGE:
		if (pbs_messages[f->msg].special != PBS_SPECIAL_NONE)
			return gen_special(f->msg);
		return gen_message(f->msg, depth + 1);
	}
	return NULL;
}

/* Adds a random selection of m's fields to o (the parent's object for inline fields). */
static void gen_fields(int m, int depth, cJSON *o)
{
	const struct pbs_message *pm = &pbs_messages[m];
	for (int j = 0; j < pm->nfields; j++) {
		const struct pbs_field *f = &pm->fields[j];
		if (f->flags & PBS_INLINE) {
			gen_fields(f->msg, depth, o);
			continue;
		}
		if (rnd(3) == 0 || (f->type == PBS_MESSAGE && depth > 9))
			continue;
		cJSON *v;
		if (f->card == PBS_REPEATED) {
			v = cJSON_CreateArray();
			for (unsigned n = 1 + rnd(2); n; n--)
				cJSON_AddItemToArray(v, gen_value(f, depth));
		} else if (f->card == PBS_MAP) {
			v = cJSON_CreateObject();
			for (unsigned n = 1 + rnd(3); n; n--) {
				char key[32];
				snprintf(key, sizeof key, "k%u", rnd(1000));
				cJSON_DeleteItemFromObjectCaseSensitive(v, key);
				cJSON_AddItemToObject(v, key, gen_value(f, depth));
			}
		} else if ((f->flags & PBS_PTR) && f->type != PBS_MESSAGE && rnd(4) == 0) {
			/* a Go pointer to a zero value is kept */
			v = f->type == PBS_STRING ? cJSON_CreateString("") :
			    f->type == PBS_BOOL	  ? cJSON_CreateFalse() :
			    f->type == PBS_BYTES  ? cJSON_CreateString("") :
						    cJSON_CreateNumber(0);
		} else {
			v = gen_value(f, depth);
		}
		cJSON_AddItemToObject(o, f->json, v);
	}
}

static cJSON *gen_message(int m, int depth)
{
	cJSON *o = cJSON_CreateObject();
	gen_fields(m, depth, o);
	return o;
}

static void test_round_trip_every_kind(void **state)
{
	(void)state;
	for (int k = 0; k < pbs_kinds_count; k++) {
		for (int round = 0; round < 40; round++) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "kind", pbs_kinds[k].kind);
			cJSON_AddStringToObject(o, "apiVersion", pbs_kinds[k].api_version);
			gen_fields(pbs_kinds[k].msg, 0, o);
			char err[256];
			size_t len;
			unsigned char *pb = pbcodec_encode(o, &len, err, sizeof err);
			if (!pb)
				fail_msg("%s: encode: %s", pbs_kinds[k].kind, err);
			cJSON *back = pbcodec_decode(pb, len, err, sizeof err);
			if (!back)
				fail_msg("%s: decode: %s", pbs_kinds[k].kind, err);
			assert_json_equal(back, o, pbs_kinds[k].kind);
			/* Every truncation is refused or decodes to something; never a crash. */
			for (size_t cut = 0; cut < len; cut += 1 + len / 16) {
				cJSON *t = pbcodec_decode(pb, cut, err, sizeof err);
				cJSON_Delete(t);
			}
			free(pb);
			cJSON_Delete(back);
			cJSON_Delete(o);
		}
	}
}

/* ---- lists, watch frames, refusals, negotiation --------------------------------------- */

static void test_list_and_watch(void **state)
{
	(void)state;
	cJSON *items = cJSON_CreateArray();
	for (int i = 0; i < 3; i++) {
		cJSON *d = cJSON_Parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\"},"
				       "\"spec\":{\"replicas\":0,\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\","
				       "\"image\":\"nginx\"}]}}}}");
		cJSON_AddItemToArray(items, d);
	}
	char err[256];
	size_t len;
	unsigned char *pb = pbcodec_encode_list("apps/v1", "Deployment", "42", items, &len, err, sizeof err);
	assert_non_null(pb);
	cJSON *l = pbcodec_decode(pb, len, err, sizeof err);
	assert_non_null(l);
	assert_string_equal(json_get_str(l, "kind"), "DeploymentList");
	assert_string_equal(json_get_str(l, "metadata.resourceVersion"), "42");
	assert_int_equal(cJSON_GetArraySize(json_get(l, "items")), 3);
	assert_int_equal(json_get_num(cJSON_GetArrayItem(json_get(l, "items"), 2), "spec.replicas", -1), 0);
	cJSON_Delete(l);
	free(pb);

	unsigned char *fr = pbcodec_encode_watch_event("MODIFIED", cJSON_GetArrayItem(items, 0), &len, err, sizeof err);
	assert_non_null(fr);
	assert_int_equal(((size_t)fr[0] << 24 | fr[1] << 16 | fr[2] << 8 | fr[3]), len - 4);
	cJSON *ev = pbcodec_decode_watch_event(fr, len, err, sizeof err);
	assert_non_null(ev);
	assert_string_equal(json_get_str(ev, "type"), "MODIFIED");
	assert_json_equal(json_get(ev, "object"), cJSON_GetArrayItem(items, 0), "watch object");
	cJSON_Delete(ev);
	free(fr);

	/* The same frame from an already-encoded message is byte for byte the same. */
	size_t mlen, rlen;
	unsigned char *msg = pbcodec_encode_message(cJSON_GetArrayItem(items, 0), &mlen, err, sizeof err);
	assert_non_null(msg);
	fr = pbcodec_encode_watch_event("MODIFIED", cJSON_GetArrayItem(items, 0), &len, err, sizeof err);
	unsigned char *fr2 = pbcodec_watch_frame_raw("MODIFIED", "apps/v1", "Deployment", msg, mlen, &rlen);
	assert_int_equal(rlen, len);
	assert_memory_equal(fr2, fr, len);
	free(fr);
	free(fr2);
	/* and a List from encoded items equals the List encoded at once */
	unsigned char *its[3] = {msg, msg, msg};
	size_t lens[3] = {mlen, mlen, mlen};
	unsigned char *l1 = pbcodec_encode_list_raw("apps/v1", "Deployment", "42", its, lens, 3, &rlen);
	unsigned char *l2 = pbcodec_encode_list("apps/v1", "Deployment", "42", items, &len, err, sizeof err);
	assert_int_equal(rlen, len);
	assert_memory_equal(l1, l2, len);
	free(l1);
	free(l2);
	free(msg);

	/* An item the schema cannot carry: the caller answers in JSON. */
	cJSON_AddItemToObject(json_get(cJSON_GetArrayItem(items, 1), "spec"), "replcias", cJSON_CreateNumber(3));
	assert_null(pbcodec_encode_list("apps/v1", "Deployment", "42", items, &len, err, sizeof err));
	assert_non_null(strstr(err, "replcias"));
	cJSON_Delete(items);
}

static void test_refusals(void **state)
{
	(void)state;
	char err[256];
	size_t len;
	assert_null(pbcodec_decode("", 0, err, sizeof err));
	assert_null(pbcodec_decode("{\"kind\":\"Namespace\"}", 20, err, sizeof err));
	assert_non_null(strstr(err, "magic"));
	assert_null(pbcodec_decode("k8s\0\x0a\xff", 6, err, sizeof err));

	/* A custom kind has no protobuf form. */
	cJSON *pp = cJSON_Parse("{\"apiVersion\":\"policy.karmada.io/v1alpha1\",\"kind\":\"PropagationPolicy\","
				"\"metadata\":{\"name\":\"p\"}}");
	assert_null(pbcodec_encode(pp, &len, err, sizeof err));
	cJSON_Delete(pp);

	/* Wrong JSON types are refused on encode. */
	cJSON *bad = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":7}}");
	assert_null(pbcodec_encode(bad, &len, err, sizeof err));
	cJSON_Delete(bad);

	/* A field this server does not know, with a value: refused, not dropped.
	 * The same field at its zero value (Go writes those) is ignored. */
	cJSON *ns = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"n\"}}");
	unsigned char *pb = pbcodec_encode(ns, &len, err, sizeof err);
	assert_non_null(pb);
	/* Unknown{typeMeta=1, raw=2}: raw is the last field; append field 15
	 * (varint) to the Namespace message by growing raw. */
	size_t raw_len_at = 0;
	for (size_t i = 4; i + 1 < len; i++)
		if (pb[i] == 0x12 && (size_t)pb[i + 1] + i + 2 <= len && memcmp(pb + i + 2, "\x0a", 1) == 0) {
			raw_len_at = i + 1;
			break;
		}
	assert_true(raw_len_at > 0);
	size_t raw_len = pb[raw_len_at];
	unsigned char *grown = malloc(len + 2);
	memcpy(grown, pb, raw_len_at + 1 + raw_len);
	grown[raw_len_at] = (unsigned char)(raw_len + 2);
	grown[raw_len_at + 1 + raw_len] = 15 << 3; /* field 15, varint */
	grown[raw_len_at + 2 + raw_len] = 0;
	memcpy(grown + raw_len_at + 3 + raw_len, pb + raw_len_at + 1 + raw_len, len - raw_len_at - 1 - raw_len);
	cJSON *o = pbcodec_decode(grown, len + 2, err, sizeof err);
	assert_non_null(o);
	assert_json_equal(o, ns, "zero unknown field");
	cJSON_Delete(o);
	grown[raw_len_at + 2 + raw_len] = 5;
	assert_null(pbcodec_decode(grown, len + 2, err, sizeof err));
	assert_non_null(strstr(err, "field 15"));
	free(grown);
	free(pb);
	cJSON_Delete(ns);

	/* A NUL byte inside a string is refused, not cut at; so is invalid UTF-8. */
	ns = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"nul-here\"}}");
	pb = pbcodec_encode(ns, &len, err, sizeof err);
	assert_non_null(pb);
	unsigned char *at = memmem(pb, len, "nul-here", 8);
	assert_non_null(at);
	at[3] = 0;
	assert_null(pbcodec_decode(pb, len, err, sizeof err));
	assert_non_null(strstr(err, "NUL"));
	at[3] = 0xff;
	assert_null(pbcodec_decode(pb, len, err, sizeof err));
	assert_non_null(strstr(err, "UTF-8"));
	at[3] = '-';
	cJSON *ok = pbcodec_decode(pb, len, err, sizeof err);
	assert_non_null(ok);
	assert_json_equal(ok, ns, "restored");
	cJSON_Delete(ok);
	free(pb);
	cJSON_Delete(ns);
}

static void test_accept(void **state)
{
	(void)state;
	assert_true(pbcodec_accept_prefers("application/vnd.kubernetes.protobuf,application/json"));
	assert_true(pbcodec_accept_prefers(" application/vnd.kubernetes.protobuf ; q=0.9, */*"));
	assert_false(pbcodec_accept_prefers("application/json,application/vnd.kubernetes.protobuf"));
	assert_false(pbcodec_accept_prefers("application/vnd.kubernetes.protobuf;q=0,application/json"));
	assert_false(pbcodec_accept_prefers("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"));
	assert_false(pbcodec_accept_prefers(
		"application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json"));
	assert_false(pbcodec_accept_prefers("*/*"));
	assert_false(pbcodec_accept_prefers(NULL));
	assert_false(pbcodec_accept_prefers(""));
}

/* Every built-in kind the hub serves has a schema (CRDs excepted: their
 * JSONSchemaProps nest without bound), and no message contains itself:
 * protobuf-c's unpacker recurses, so nesting stays bounded by the schema. */
static bool reaches(int from, int to, int depth)
{
	if (depth > 64)
		return true;
	const struct pbs_message *pm = &pbs_messages[from];
	for (int j = 0; j < pm->nfields; j++)
		if (pm->fields[j].msg >= 0 && (pm->fields[j].msg == to || reaches(pm->fields[j].msg, to, depth + 1)))
			return true;
	return false;
}

static void test_schema_covers_served_kinds(void **state)
{
	(void)state;
	for (int i = 0; i < builtin_kinds_count; i++) {
		const struct kind_info *k = &builtin_kinds[i];
		if (!k->builtin || strcmp(k->kind, "CustomResourceDefinition") == 0)
			continue;
		char av[128];
		if (!pbcodec_has_kind(kind_api_version(k, av, sizeof av), k->kind))
			fail_msg("built-in kind %s has no protobuf schema", k->kind);
	}
	for (int m = 0; m < pbs_messages_count; m++)
		if (reaches(m, m, 0))
			fail_msg("message %s contains itself", pbs_messages[m].name);
	/* A few facts checked against k8s.io/api's generated.proto. */
	struct { const char *msg, *field; int number; } facts[] = {
		{"meta.ObjectMeta", "managedFields", 17}, {"core.PodSpec", "containers", 2},
		{"core.PodSpec", "initContainers", 20}, {"core.Container", "envFrom", 19},
		{"core.ServiceSpec", "clusterIPs", 18}, {"apps.DeploymentSpec", "progressDeadlineSeconds", 9},
		{"core.Secret", "stringData", 4}, {"core.VolumeSource", "projected", 26},
		{"net.HTTPIngressPath", "pathType", 3}, {"core.ConfigMap", "immutable", 4},
	};
	for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++) {
		int found = -1;
		for (int m = 0; m < pbs_messages_count; m++)
			if (strcmp(pbs_messages[m].name, facts[i].msg) == 0)
				for (int j = 0; j < pbs_messages[m].nfields; j++)
					if (strcmp(pbs_messages[m].fields[j].json, facts[i].field) == 0)
						found = pbs_messages[m].fields[j].number;
		assert_int_equal(found, facts[i].number);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captured_bodies),
		cmocka_unit_test(test_captured_details),
		cmocka_unit_test(test_round_trip_every_kind),
		cmocka_unit_test(test_list_and_watch),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_schema_covers_served_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
