/* How the agent reaches a member's API: a kubeconfig (or the in-cluster
 * service account) becomes an http_target and libcurl settings that
 * verify the server as kubectl does — the option mapping
 * (http_target_from_kubeconfig, http_tls_plan), then the same against a
 * real TLS server (hub/tls.c) with a certificate for "member.example"
 * only: the right CA and name pass; a wrong CA, no CA, or the wrong name
 * fail; only insecure-skip-tls-verify skips the checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "testutil.h"
#include "httpclient.h"
#include "kubeconfig.h"
#include "pki.h"
#include "tls.h"
#include "tlsconf.h"

static char *b64(const char *s)
{
	return tls_base64(s, strlen(s));
}

static void load(const char *yaml, struct kubeconfig *kc)
{
	char err[512] = "";
	int rc = kubeconfig_parse(yaml, strlen(yaml), "/etc/kc", NULL, kc, err, sizeof err);
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
}

static char *kubeconfig_text(const char *server, const char *cluster_extra, const char *user_extra)
{
	char *buf = malloc(8192);
	snprintf(buf, 8192,
		 "apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: %s\n%s"
		 "contexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n"
		 "users:\n- name: u\n  user:\n%s",
		 server, cluster_extra, user_extra && *user_extra ? user_extra : "    {}\n");
	return buf;
}

/* ---- the mapping -------------------------------------------------------------- */

static void test_plan_from_kubeconfig(void **state)
{
	char *ca = b64("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
	char extra[600];
	struct kubeconfig kc;
	struct http_target t;
	struct http_tls_plan p;

	/* Inline CA: the only trust anchor, peer and host verified. */
	snprintf(extra, sizeof extra, "    certificate-authority-data: %s\n", ca);
	char *y = kubeconfig_text("https://10.0.0.1:6443", extra, "    token: abc\n");
	load(y, &kc);
	http_target_from_kubeconfig(&t, &kc, "ua");
	assert_string_equal(t.base_url, "https://10.0.0.1:6443");
	assert_string_equal(t.bearer_token, "abc");
	assert_int_equal(http_tls_plan(&t, &p), 0);
	assert_int_equal(p.verify_peer, 1);
	assert_int_equal(p.verify_host, 2);
	assert_true(p.ca_blob);
	assert_false(p.system_roots);
	assert_false(p.client_cert);
	assert_string_equal(p.connect_to, "");
	kubeconfig_free(&kc);
	free(y);

	/* No CA: system roots, still verified. */
	y = kubeconfig_text("https://api.example.com", "", NULL);
	load(y, &kc);
	http_target_from_kubeconfig(&t, &kc, "ua");
	assert_int_equal(http_tls_plan(&t, &p), 0);
	assert_int_equal(p.verify_peer, 1);
	assert_int_equal(p.verify_host, 2);
	assert_true(p.system_roots);
	kubeconfig_free(&kc);
	free(y);

	/* CA file and a client certificate. */
	y = kubeconfig_text("https://10.0.0.1:6443", "    certificate-authority: ca.crt\n",
			    "    client-certificate: u.crt\n    client-key: u.key\n");
	load(y, &kc);
	http_target_from_kubeconfig(&t, &kc, "ua");
	assert_string_equal(t.tls.ca_file, "/etc/kc/ca.crt");
	assert_int_equal(http_tls_plan(&t, &p), 0);
	assert_true(p.ca_file);
	assert_false(p.ca_blob);
	assert_false(p.system_roots);
	assert_true(p.client_cert);
	assert_int_equal(p.verify_peer, 1);
	kubeconfig_free(&kc);
	free(y);

	/* tls-server-name: SNI and verification name, the real address kept. */
	snprintf(extra, sizeof extra, "    certificate-authority-data: %s\n    tls-server-name: member.example\n", ca);
	y = kubeconfig_text("https://10.0.0.1:6443", extra, NULL);
	load(y, &kc);
	http_target_from_kubeconfig(&t, &kc, "ua");
	assert_int_equal(http_tls_plan(&t, &p), 0);
	assert_string_equal(p.url_host, "member.example");
	assert_string_equal(p.connect_to, "member.example:6443:10.0.0.1:6443");
	assert_int_equal(p.verify_host, 2);
	kubeconfig_free(&kc);
	free(y);

	/* Only insecure-skip-tls-verify turns verification off. */
	y = kubeconfig_text("https://10.0.0.1:6443", "    insecure-skip-tls-verify: true\n", NULL);
	load(y, &kc);
	http_target_from_kubeconfig(&t, &kc, "ua");
	assert_int_equal(http_tls_plan(&t, &p), 0);
	assert_int_equal(p.verify_peer, 0);
	assert_int_equal(p.verify_host, 0);
	kubeconfig_free(&kc);
	free(y);
	free(ca);
}

static void test_plan_in_cluster(void **state)
{
	char dir[200];
	tu_mkdtemp(dir, sizeof dir, "sa");
	char p1[300], p2[300], err[256];
	snprintf(p1, sizeof p1, "%s/ca.crt", dir);
	snprintf(p2, sizeof p2, "%s/token", dir);
	assert_int_equal(tls_write_file(p1, "x", 1, 0600, err, sizeof err), 0);
	assert_int_equal(tls_write_file(p2, "t", 1, 0600, err, sizeof err), 0);
	struct kubeconfig kc;
	assert_int_equal(kubeconfig_in_cluster(dir, "10.96.0.1", "443", &kc, err, sizeof err), 0);
	struct http_target t;
	struct http_tls_plan p;
	http_target_from_kubeconfig(&t, &kc, "ua");
	assert_string_equal(t.tls.ca_file, p1);
	assert_string_equal(t.token_file, p2);
	assert_int_equal(http_tls_plan(&t, &p), 0);
	assert_true(p.ca_file);
	assert_false(p.system_roots);
	assert_int_equal(p.verify_peer, 1);
	assert_int_equal(p.verify_host, 2);
	kubeconfig_free(&kc);
	unlink(p1);
	unlink(p2);
	rmdir(dir);
}

/* ---- against a real TLS server -------------------------------------------------- */

static char dir[256];
static struct event_base *base;
static struct evhttp *http;
static struct tls_server *srv;
static int port;
static char *ca_b64, *other_ca_b64;

static void on_req(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "{\"gitVersion\":\"v1.23.8\"}");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static char *path(const char *name)
{
	static char p[4][512];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

static char *issue_ca(const char *cn, struct pki_ca *ca, const char *file)
{
	char err[256];
	assert_int_equal(pki_ca_create(ca, cn, 3600, err, sizeof err), 0);
	char *pem = tls_crt_pem(&ca->crt);
	assert_int_equal(tls_write_file(path(file), pem, strlen(pem), 0644, err, sizeof err), 0);
	char *b = b64(pem);
	free(pem);
	return b;
}

static int setup(void **state)
{
	tu_mkdtemp(dir, sizeof dir, "member-tls");
	char err[512];
	struct pki_ca ca, other;
	ca_b64 = issue_ca("member-ca", &ca, "ca.crt");
	other_ca_b64 = issue_ca("other-ca", &other, "other.crt");
	mbedtls_pk_context k;
	mbedtls_pk_init(&k);
	assert_int_equal(tls_gen_ec_key(&k), 0);
	const char *hosts[] = {"member.example"};
	char *crt = pki_issue(&ca, &k, "member", NULL, hosts, 1, PKI_SERVER, 3600, err, sizeof err);
	char *key = tls_key_pem(&k);
	assert_non_null(crt);
	assert_int_equal(tls_write_file(path("srv.crt"), crt, strlen(crt), 0600, err, sizeof err), 0);
	assert_int_equal(tls_write_file(path("srv.key"), key, strlen(key), 0600, err, sizeof err), 0);
	free(crt);
	free(key);
	mbedtls_pk_free(&k);
	pki_ca_free(&ca);
	pki_ca_free(&other);

	base = event_base_new();
	struct tls_server_opts to = {.cert_file = path("srv.crt"), .key_file = path("srv.key")};
	srv = tls_server_new(base, &to, err, sizeof err);
	if (!srv)
		print_error("%s\n", err);
	assert_non_null(srv);
	http = evhttp_new(base);
	evhttp_set_bevcb(http, tls_server_bevcb, srv);
	evhttp_set_gencb(http, on_req, NULL);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
	assert_non_null(bs);
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &sl);
	port = ntohs(sin.sin_port);
	return 0;
}

static int teardown(void **state)
{
	evhttp_free(http);
	tls_server_free(srv);
	event_base_free(base);
	free(ca_b64);
	free(other_ca_b64);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

struct result {
	bool done;
	long status;
	char error[256];
};

static void done(const struct http_response *r, void *ud)
{
	struct result *res = ud;
	res->done = true;
	res->status = r->status;
	snprintf(res->error, sizeof res->error, "%s", r->error ? r->error : "");
}

/* GET /version from the member a kubeconfig describes, as the agent does. */
static long get_version(const char *cluster_extra, char *error, size_t errlen)
{
	char server[64];
	snprintf(server, sizeof server, "https://127.0.0.1:%d", port);
	char *y = kubeconfig_text(server, cluster_extra, NULL);
	struct kubeconfig kc;
	load(y, &kc);
	free(y);
	struct http_target t;
	http_target_from_kubeconfig(&t, &kc, "atoll-agent-test");
	struct http_client *c = http_client_new(base);
	struct result res = {0};
	struct http_request r = {.method = "GET", .path = "/version", .timeout_ms = 5000};
	assert_non_null(http_start(c, &t, &r, done, &res));
	while (!res.done)
		event_base_loop(base, EVLOOP_ONCE);
	http_client_free(c);
	kubeconfig_free(&kc);
	snprintf(error, errlen, "%s", res.error);
	return res.status;
}

static void test_member_verified_as_kubectl_does(void **state)
{
	char extra[1024], err[256];
	/* The right CA and the certificate's name: 200. */
	snprintf(extra, sizeof extra, "    certificate-authority-data: %s\n    tls-server-name: member.example\n", ca_b64);
	assert_int_equal(get_version(extra, err, sizeof err), 200);
	/* The right CA, but the URL's host (127.0.0.1) is not in the certificate. */
	snprintf(extra, sizeof extra, "    certificate-authority-data: %s\n", ca_b64);
	assert_int_equal(get_version(extra, err, sizeof err), 0);
	assert_true(strlen(err) > 0);
	/* Another CA. */
	snprintf(extra, sizeof extra, "    certificate-authority-data: %s\n    tls-server-name: member.example\n",
		 other_ca_b64);
	assert_int_equal(get_version(extra, err, sizeof err), 0);
	/* No CA: the system roots do not know ours. */
	assert_int_equal(get_version("    tls-server-name: member.example\n", err, sizeof err), 0);
	/* The CA as a file. */
	snprintf(extra, sizeof extra, "    certificate-authority: %s\n    tls-server-name: member.example\n", path("ca.crt"));
	assert_int_equal(get_version(extra, err, sizeof err), 200);
	snprintf(extra, sizeof extra, "    certificate-authority: %s\n    tls-server-name: member.example\n",
		 path("other.crt"));
	assert_int_equal(get_version(extra, err, sizeof err), 0);
	/* Only insecure-skip-tls-verify skips the checks. */
	assert_int_equal(get_version("    insecure-skip-tls-verify: true\n", err, sizeof err), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_from_kubeconfig),
		cmocka_unit_test(test_plan_in_cluster),
		cmocka_unit_test_setup_teardown(test_member_verified_as_kubectl_does, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
