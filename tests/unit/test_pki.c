/* PKI with mbedTLS: init (files, modes, re-run keeps), the CA hash pin,
 * the CSR round trip between common/join.c (agent) and hub/pki.c (hub),
 * refusing tampered CSRs, serving-certificate renewal, bootstrap tokens. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include "testutil.h"
#include "join.h"
#include "pki.h"
#include "tlsconf.h"
#include "tokens.h"

static char dir[256];

static int setup(void **state)
{
	tu_mkdtemp(dir, sizeof dir, "pki");
	return 0;
}

static int teardown(void **state)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static char *slurp(const char *name)
{
	char p[512], err[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	char *s = (char *)tls_read_file(p, NULL, err, sizeof err);
	if (!s)
		print_error("%s\n", err);
	assert_non_null(s);
	return s;
}

static int mode_of(const char *name)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 0777;
}

static void init(const char *hosts0, const char *hosts1, int port)
{
	struct pki_init_opts o = {.dir = dir, .port = port};
	if (hosts0)
		o.hosts[o.nhosts++] = hosts0;
	if (hosts1)
		o.hosts[o.nhosts++] = hosts1;
	char err[512] = "";
	if (pki_init(&o, err, sizeof err) != 0)
		print_error("init: %s\n", err);
	assert_string_equal(err, "");
}

static void test_init_files_and_rerun(void **state)
{
	init("hub.example.com", "10.1.2.3", 7443);
	assert_int_equal(mode_of("ca.key"), 0600);
	assert_int_equal(mode_of("hub.key"), 0600);
	assert_int_equal(mode_of("admin.key"), 0600);
	assert_int_equal(mode_of("admin.kubeconfig"), 0600);
	char *ca = slurp("ca.crt"), *hub = slurp("hub.crt"), *admin = slurp("admin.crt"), *kc = slurp("admin.kubeconfig");
	assert_non_null(strstr(kc, "server: https://hub.example.com:7443\n"));
	assert_non_null(strstr(kc, "certificate-authority-data: "));
	assert_non_null(strstr(kc, "client-certificate-data: "));
	assert_non_null(strstr(kc, "client-key-data: "));

	/* The serving certificate: our CA, SANs for the hosts plus localhost. */
	mbedtls_x509_crt cacrt, crt;
	mbedtls_x509_crt_init(&cacrt);
	mbedtls_x509_crt_init(&crt);
	assert_int_equal(mbedtls_x509_crt_parse(&cacrt, (unsigned char *)ca, strlen(ca) + 1), 0);
	assert_int_equal(mbedtls_x509_crt_parse(&crt, (unsigned char *)hub, strlen(hub) + 1), 0);
	uint32_t flags = 0;
	assert_int_equal(mbedtls_x509_crt_verify(&crt, &cacrt, NULL, "hub.example.com", &flags, NULL, NULL), 0);
	assert_int_equal(mbedtls_x509_crt_verify(&crt, &cacrt, NULL, "localhost", &flags, NULL, NULL), 0);
	assert_int_not_equal(mbedtls_x509_crt_verify(&crt, &cacrt, NULL, "evil.example.com", &flags, NULL, NULL), 0);
	assert_true(mbedtls_x509_crt_check_extended_key_usage(&crt, MBEDTLS_OID_SERVER_AUTH,
							      MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)) == 0);
	assert_true(cacrt.ca_istrue);
	assert_false(crt.ca_istrue);
	mbedtls_x509_crt_free(&crt);

	/* The admin certificate: CN admin, O system:masters, client auth. */
	mbedtls_x509_crt_init(&crt);
	assert_int_equal(mbedtls_x509_crt_parse(&crt, (unsigned char *)admin, strlen(admin) + 1), 0);
	assert_int_equal(mbedtls_x509_crt_verify(&crt, &cacrt, NULL, NULL, &flags, NULL, NULL), 0);
	char v[128];
	assert_true(tls_name_attr(&crt.subject, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), v, sizeof v));
	assert_string_equal(v, "admin");
	assert_true(tls_name_attr(&crt.subject, MBEDTLS_OID_AT_ORGANIZATION, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_ORGANIZATION),
				  v, sizeof v));
	assert_string_equal(v, "system:masters");
	assert_true(mbedtls_x509_crt_check_extended_key_usage(&crt, MBEDTLS_OID_CLIENT_AUTH,
							      MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) == 0);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&cacrt);

	/* Re-running keeps everything. */
	init(NULL, NULL, 0);
	char *ca2 = slurp("ca.crt"), *hub2 = slurp("hub.crt"), *admin2 = slurp("admin.crt"), *kc2 = slurp("admin.kubeconfig");
	assert_string_equal(ca, ca2);
	assert_string_equal(hub, hub2);
	assert_string_equal(admin, admin2);
	assert_string_equal(kc, kc2);
	/* New hosts: a new serving certificate, the same CA and admin. */
	init("other.example.com", NULL, 0);
	char *ca3 = slurp("ca.crt"), *hub3 = slurp("hub.crt"), *admin3 = slurp("admin.crt"), *kc3 = slurp("admin.kubeconfig");
	assert_string_equal(ca, ca3);
	assert_string_not_equal(hub, hub3);
	assert_string_equal(admin, admin3);
	assert_non_null(strstr(kc3, "server: https://other.example.com:7443\n"));
	free(ca), free(hub), free(admin), free(kc), free(ca2), free(hub2), free(admin2), free(kc2);
	free(ca3), free(hub3), free(admin3), free(kc3);
}

static void test_ca_hash(void **state)
{
	init("127.0.0.1", NULL, 0);
	char *pem = slurp("ca.crt");
	mbedtls_x509_crt ca;
	mbedtls_x509_crt_init(&ca);
	assert_int_equal(mbedtls_x509_crt_parse(&ca, (unsigned char *)pem, strlen(pem) + 1), 0);
	char h[80];
	tls_spki_sha256(&ca, h, sizeof h);
	assert_int_equal(strlen(h), 7 + 64);
	assert_int_equal(join_ca_hash_matches(ca.raw.p, ca.raw.len, h), 1);
	assert_int_equal(join_ca_hash_matches_pem(pem, h), 1);
	char upper[80];
	snprintf(upper, sizeof upper, "SHA256:%s", h + 7);
	for (char *p = upper + 7; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
	assert_int_equal(join_ca_hash_matches(ca.raw.p, ca.raw.len, upper), 1);
	char wrong[80];
	snprintf(wrong, sizeof wrong, "%s", h);
	wrong[10] = wrong[10] == '0' ? '1' : '0';
	assert_int_equal(join_ca_hash_matches(ca.raw.p, ca.raw.len, wrong), 0);
	assert_int_equal(join_ca_hash_matches_pem(pem, wrong), 0);
	assert_int_equal(join_ca_hash_matches(ca.raw.p, ca.raw.len, "sha256:abc"), -1);
	assert_int_equal(join_ca_hash_matches(ca.raw.p, ca.raw.len, h + 7), -1);
	assert_int_equal(join_ca_hash_matches((const unsigned char *)"junk", 4, h), -1);
	/* The hash is of the SubjectPublicKeyInfo: a different certificate for
	 * the same key (the serving certificate has another key) differs. */
	char *hub = slurp("hub.crt");
	assert_int_equal(join_ca_hash_matches_pem(hub, h), 0);
	free(hub);
	mbedtls_x509_crt_free(&ca);
	free(pem);
}

/* The agent trusts only what matches the pin, not everything an
 * unauthenticated JoinInfo carried. */
static void test_pinned_ca_and_renewal_due(void **state)
{
	init("127.0.0.1", NULL, 0);
	char *ca = slurp("ca.crt"), *hub = slurp("hub.crt");
	mbedtls_x509_crt c;
	mbedtls_x509_crt_init(&c);
	assert_int_equal(mbedtls_x509_crt_parse(&c, (unsigned char *)ca, strlen(ca) + 1), 0);
	char h[80];
	tls_spki_sha256(&c, h, sizeof h);
	mbedtls_x509_crt_free(&c);
	/* A bundle with another certificate first: only the CA is kept. */
	size_t n = strlen(ca) + strlen(hub) + 1;
	char *bundle = malloc(n);
	snprintf(bundle, n, "%s%s", hub, ca);
	char *pinned = join_pinned_ca_pem(bundle, h);
	assert_non_null(pinned);
	assert_string_equal(pinned, ca);
	free(pinned);
	char wrong[80];
	snprintf(wrong, sizeof wrong, "sha256:%064d", 0);
	assert_null(join_pinned_ca_pem(bundle, wrong));
	assert_null(join_pinned_ca_pem(bundle, "sha256:12"));
	assert_null(join_pinned_ca_pem("junk", h));
	free(bundle);

	/* Renewal: due when a third of the lifetime is left, or renew_before. */
	char err[512];
	struct pki_ca pca;
	assert_int_equal(pki_ca_load(&pca, dir, err, sizeof err), 0);
	char *key = NULL, *csr = NULL;
	assert_int_equal(join_make_key_and_csr("eu", &key, &csr), 0);
	mbedtls_x509_csr req;
	char cn[256];
	assert_int_equal(pki_csr_check((unsigned char *)csr, strlen(csr), &req, cn, sizeof cn, err, sizeof err), 0);
	char *crt = pki_sign_agent_csr(&pca, &req, "eu", 90L * 86400, err, sizeof err);
	assert_non_null(crt);
	mbedtls_x509_csr_free(&req);
	time_t now = time(NULL), na = 0;
	assert_int_equal(join_renewal_due(crt, now, 0, &na), 0);
	assert_true(na > now + 89L * 86400 && na <= now + 91L * 86400);
	assert_int_equal(join_renewal_due(crt, now + 59L * 86400, 0, NULL), 0);
	assert_int_equal(join_renewal_due(crt, now + 61L * 86400, 0, NULL), 1);
	assert_int_equal(join_renewal_due(crt, now, 100L * 86400, NULL), 1);
	assert_int_equal(join_renewal_due(crt, now, 10L * 86400, NULL), 0);
	assert_int_equal(join_renewal_due("junk", now, 0, &na), -1);
	assert_int_equal(join_renewal_due(NULL, now, 0, NULL), -1);
	free(crt), free(key), free(csr), free(ca), free(hub);
	pki_ca_free(&pca);
}

static void test_csr_round_trip(void **state)
{
	init("127.0.0.1", NULL, 0);
	char err[512];
	struct pki_ca ca;
	assert_int_equal(pki_ca_load(&ca, dir, err, sizeof err), 0);
	char *key = NULL, *csr = NULL;
	assert_int_equal(join_make_key_and_csr("eu", &key, &csr), 0);
	assert_non_null(strstr(csr, "BEGIN CERTIFICATE REQUEST"));
	mbedtls_x509_csr req;
	char cn[256];
	assert_int_equal(pki_csr_check((unsigned char *)csr, strlen(csr), &req, cn, sizeof cn, err, sizeof err), 0);
	assert_string_equal(cn, "system:atoll:agent:eu");
	char *crt = pki_sign_agent_csr(&ca, &req, "eu", PKI_AGENT_VALIDITY_S, err, sizeof err);
	assert_non_null(crt);
	mbedtls_x509_csr_free(&req);
	char *ca_pem = tls_crt_pem(&ca.crt);
	assert_int_equal(join_check_cert(crt, key, ca_pem, "eu", err, sizeof err), 0);
	assert_int_equal(join_check_cert(crt, key, ca_pem, "ap", err, sizeof err), -1);
	assert_non_null(strstr(err, "does not name"));
	/* O is the agents group, whatever the CSR said. */
	mbedtls_x509_crt c;
	mbedtls_x509_crt_init(&c);
	assert_int_equal(mbedtls_x509_crt_parse(&c, (unsigned char *)crt, strlen(crt) + 1), 0);
	char v[128];
	assert_true(tls_name_attr(&c.subject, MBEDTLS_OID_AT_ORGANIZATION, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_ORGANIZATION), v,
				  sizeof v));
	assert_string_equal(v, "system:atoll:agents");
	mbedtls_x509_crt_free(&c);
	/* Another key: the certificate is not for it. */
	char *key2 = NULL, *csr2 = NULL;
	assert_int_equal(join_make_key_and_csr("eu", &key2, &csr2), 0);
	assert_int_equal(join_check_cert(crt, key2, ca_pem, "eu", err, sizeof err), -1);
	/* Another CA: it does not verify. */
	struct pki_ca other;
	assert_int_equal(pki_ca_create(&other, "other-ca", 3600, err, sizeof err), 0);
	char *other_pem = tls_crt_pem(&other.crt);
	assert_int_equal(join_check_cert(crt, key, other_pem, "eu", err, sizeof err), -1);
	/* Response parsing. */
	char body[8192], *got_crt, *got_ca;
	snprintf(body, sizeof body, "{\"kind\":\"JoinResponse\",\"certificate\":\"x\",\"caBundle\":\"y\"}");
	assert_int_equal(join_parse_response(body, strlen(body), &got_crt, &got_ca, err, sizeof err), 0);
	assert_string_equal(got_crt, "x");
	free(got_crt), free(got_ca);
	snprintf(body, sizeof body, "{\"kind\":\"Status\",\"message\":\"join refused: bootstrap token \\\"abcdef\\\" has expired\"}");
	assert_int_equal(join_parse_response(body, strlen(body), &got_crt, &got_ca, err, sizeof err), -1);
	assert_string_equal(err, "join refused: bootstrap token \"abcdef\" has expired");
	char *jb = join_request_body("eu", csr);
	assert_non_null(strstr(jb, "\"kind\":\"JoinRequest\""));
	free(jb);
	pki_ca_free(&other);
	pki_ca_free(&ca);
	free(other_pem), free(ca_pem), free(crt), free(key), free(csr), free(key2), free(csr2);
}

static void test_bad_csrs(void **state)
{
	char err[512], cn[256];
	mbedtls_x509_csr req;
	char *key = NULL, *csr = NULL;
	assert_int_equal(join_make_key_and_csr("eu", &key, &csr), 0);
	/* Tamper with the signed part: the self-signature no longer matches. */
	char *bad = strdup(csr);
	char *body = strstr(bad, "\n") + 1;
	body[40] = body[40] == 'A' ? 'B' : 'A';
	int rc = pki_csr_check((unsigned char *)bad, strlen(bad), &req, cn, sizeof cn, err, sizeof err);
	assert_int_equal(rc, -1);
	assert_int_equal(pki_csr_check((unsigned char *)"hello", 5, &req, cn, sizeof cn, err, sizeof err), -1);
	assert_int_equal(pki_csr_check((unsigned char *)"", 0, &req, cn, sizeof cn, err, sizeof err), -1);
	/* Invalid cluster names are refused by the helper and the signer. */
	char *k2, *c2;
	assert_int_equal(join_make_key_and_csr("EU", &k2, &c2), -1);
	assert_int_equal(join_make_key_and_csr("a/b", &k2, &c2), -1);
	assert_int_equal(join_make_key_and_csr("", &k2, &c2), -1);
	assert_false(pki_valid_cluster_name("-eu"));
	assert_false(pki_valid_cluster_name("eu-"));
	assert_false(pki_valid_cluster_name("e_u"));
	assert_true(pki_valid_cluster_name("eu-west-1"));
	free(bad), free(key), free(csr);
}

static void test_renewal(void **state)
{
	struct pki_init_opts o = {.dir = dir, .nhosts = 1, .hosts = {"127.0.0.1"}, .serving_validity_s = 1200};
	char err[512] = "";
	assert_int_equal(pki_init(&o, err, sizeof err), 0);
	char *before = slurp("hub.crt");
	time_t now = time(NULL);
	/* Lifetime 1500s (5 minutes back-dated): due when under 500s remain. */
	assert_int_equal(pki_renew_serving_if_due(dir, now, err, sizeof err), 0);
	assert_int_equal(pki_renew_serving_if_due(dir, now + 600, err, sizeof err), 0);
	assert_int_equal(pki_renew_serving_if_due(dir, now + 800, err, sizeof err), 1);
	char *after = slurp("hub.crt");
	assert_string_not_equal(before, after);
	assert_int_equal(mode_of("hub.key"), 0600);
	/* The new one is a year long: not due for a long time. */
	assert_int_equal(pki_renew_serving_if_due(dir, now + 86400, err, sizeof err), 0);
	assert_int_equal(pki_renew_serving_if_due(dir, now + 340L * 86400, err, sizeof err), 1);
	free(before), free(after);
}

static void test_tokens(void **state)
{
	char id[7], secret[17];
	assert_true(token_parse("abcdef.0123456789abcdef", id, secret));
	assert_string_equal(id, "abcdef");
	assert_string_equal(secret, "0123456789abcdef");
	const char *bad[] = {"", "abcdef", "abcdef.", "abcdef.0123456789abcde", "abcdef.0123456789abcdefg", "ABCDEF.0123456789abcdef",
			     "abcdef-0123456789abcdef", "abcde.0123456789abcdefg", "abc def.0123456789abcdef", NULL};
	for (int i = 0; bad[i]; i++)
		assert_false(token_parse(bad[i], id, secret));

	char err[256] = "", tok[TOKEN_LEN + 1], tok2[TOKEN_LEN + 1];
	struct token_rec spec = {.usage = TOKEN_BOOTSTRAP, .expires = time(NULL) + 3600};
	strcpy(spec.cluster, "eu");
	assert_int_equal(tokens_create(dir, &spec, tok, err, sizeof err), 0);
	assert_true(token_parse(tok, id, secret));
	struct token_rec r;
	assert_int_equal(tokens_lookup(dir, tok, time(NULL), &r), TOKEN_OK);
	assert_string_equal(r.cluster, "eu");
	assert_int_equal(r.usage, TOKEN_BOOTSTRAP);
	/* Expired after its TTL. */
	assert_int_equal(tokens_lookup(dir, tok, time(NULL) + 3601, &r), TOKEN_EXPIRED);
	/* Wrong secret, unknown id, malformed. */
	char wrong[TOKEN_LEN + 1];
	snprintf(wrong, sizeof wrong, "%s", tok);
	wrong[TOKEN_LEN - 1] = wrong[TOKEN_LEN - 1] == 'a' ? 'b' : 'a';
	assert_int_equal(tokens_lookup(dir, wrong, time(NULL), &r), TOKEN_UNKNOWN);
	assert_int_equal(tokens_lookup(dir, "zzzzzz.0123456789abcdef", time(NULL), &r), TOKEN_UNKNOWN);
	assert_int_equal(tokens_lookup(dir, "nope", time(NULL), &r), TOKEN_MALFORMED);
	/* Only the hash is stored, 0600. */
	char *file = slurp("tokens.json");
	assert_null(strstr(file, secret));
	assert_non_null(strstr(file, id));
	assert_int_equal(mode_of("tokens.json"), 0600);
	free(file);
	/* An API token with groups; deleting the first leaves the second. */
	struct token_rec api = {.usage = TOKEN_AUTH};
	strcpy(api.user, "dashboard");
	strcpy(api.groups[api.ngroups++], "system:atoll:viewers");
	assert_int_equal(tokens_create(dir, &api, tok2, err, sizeof err), 0);
	assert_int_equal(tokens_lookup(dir, tok2, time(NULL) + 10L * 365 * 86400, &r), TOKEN_OK);
	assert_string_equal(r.user, "dashboard");
	assert_int_equal(r.ngroups, 1);
	assert_string_equal(r.groups[0], "system:atoll:viewers");
	assert_int_equal(tokens_delete(dir, id, err, sizeof err), 0);
	assert_int_equal(tokens_lookup(dir, tok, time(NULL), &r), TOKEN_UNKNOWN);
	assert_int_equal(tokens_lookup(dir, tok2, time(NULL), &r), TOKEN_OK);
	assert_int_equal(tokens_delete(dir, id, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_files_and_rerun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinned_ca_and_renewal_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csr_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_csrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renewal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
