#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "kubeconfig.h"

/* "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" */
#define PEM_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
#define PEM_TEXT "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

static int parse(const char *y, const char *ctx, struct kubeconfig *kc, char *err, size_t errlen)
{
	return kubeconfig_parse(y, strlen(y), "/etc/kc", ctx, kc, err, errlen);
}

static void ok(const char *y, const char *ctx, struct kubeconfig *kc)
{
	char err[512] = "";
	int rc = parse(y, ctx, kc, err, sizeof err);
	if (rc != 0)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(rc, 0);
}

static void bad(const char *y, const char *ctx, const char *want)
{
	struct kubeconfig kc;
	char err[512] = "";
	assert_int_equal(parse(y, ctx, &kc, err, sizeof err), -1);
	if (!strstr(err, want))
		print_error("error \"%s\" does not mention \"%s\"\n", err, want);
	assert_non_null(strstr(err, want));
}

static const char *const INSECURE_TOKEN =
    "apiVersion: v1\n"
    "kind: Config\n"
    "clusters:\n"
    "- name: eu\n"
    "  cluster:\n"
    "    server: https://10.0.0.1:6443/\n"
    "    insecure-skip-tls-verify: true\n"
    "    tls-server-name: api.eu\n"
    "contexts:\n"
    "- name: eu\n"
    "  context: {cluster: eu, user: agent, namespace: karmada-system}\n"
    "current-context: eu\n"
    "users:\n"
    "- name: agent\n"
    "  user:\n"
    "    token: abc.def\n";

static void test_token_insecure(void **state)
{
	struct kubeconfig kc;
	ok(INSECURE_TOKEN, NULL, &kc);
	assert_string_equal(kc.context, "eu");
	assert_string_equal(kc.cluster, "eu");
	assert_string_equal(kc.user, "agent");
	assert_string_equal(kc.namespace, "karmada-system");
	assert_string_equal(kc.server, "https://10.0.0.1:6443"); /* trailing '/' dropped */
	assert_string_equal(kc.tls_server_name, "api.eu");
	assert_true(kc.insecure_skip_tls_verify);
	assert_string_equal(kc.token, "abc.def");
	assert_null(kc.ca_file);
	assert_null(kc.ca_data);
	assert_null(kc.cert_file);
	kubeconfig_free(&kc);
}

static void test_inline_data(void **state)
{
	const char *y = "clusters:\n"
			"- name: c\n"
			"  cluster:\n"
			"    server: https://h:443\n"
			"    certificate-authority-data: " PEM_B64 "\n"
			"contexts:\n"
			"- name: x\n"
			"  context: {cluster: c, user: u}\n"
			"current-context: x\n"
			"users:\n"
			"- name: u\n"
			"  user:\n"
			"    client-certificate-data: " PEM_B64 "\n"
			"    client-key-data: " PEM_B64 "\n";
	struct kubeconfig kc;
	ok(y, NULL, &kc);
	assert_non_null(kc.ca_data);
	assert_int_equal(kc.ca_len, strlen(PEM_TEXT));
	assert_memory_equal(kc.ca_data, PEM_TEXT, kc.ca_len);
	assert_int_equal(kc.ca_data[kc.ca_len], '\0'); /* PEM parsers want a terminator */
	assert_memory_equal(kc.cert_data, PEM_TEXT, kc.cert_len);
	assert_memory_equal(kc.key_data, PEM_TEXT, kc.key_len);
	assert_null(kc.token);
	assert_false(kc.insecure_skip_tls_verify);
	kubeconfig_free(&kc);
}

static void test_files_relative_and_absolute(void **state)
{
	const char *y = "clusters:\n"
			"- name: c\n"
			"  cluster: {server: 'https://h:6443', certificate-authority: pki/ca.crt}\n"
			"contexts:\n"
			"- {name: x, context: {cluster: c, user: u}}\n"
			"current-context: x\n"
			"users:\n"
			"- name: u\n"
			"  user: {client-certificate: /abs/agent.crt, client-key: agent.key, tokenFile: ../token}\n";
	struct kubeconfig kc;
	ok(y, NULL, &kc);
	assert_string_equal(kc.ca_file, "/etc/kc/pki/ca.crt");
	assert_string_equal(kc.cert_file, "/abs/agent.crt");
	assert_string_equal(kc.key_file, "/etc/kc/agent.key");
	assert_string_equal(kc.token_file, "/etc/kc/../token");
	assert_null(kc.token);
	kubeconfig_free(&kc);
}

static const char *const TWO_CONTEXTS =
    "clusters:\n"
    "- {name: a, cluster: {server: 'http://127.0.0.1:1'}}\n"
    "- {name: b, cluster: {server: 'http://127.0.0.1:2'}}\n"
    "contexts:\n"
    "- {name: ctx-a, context: {cluster: a, user: ua}}\n"
    "- {name: ctx-b, context: {cluster: b}}\n"
    "current-context: ctx-a\n"
    "users:\n"
    "- {name: ua, user: {username: admin, password: secret}}\n";

static void test_context_selection(void **state)
{
	struct kubeconfig kc;
	ok(TWO_CONTEXTS, NULL, &kc);
	assert_string_equal(kc.server, "http://127.0.0.1:1");
	assert_string_equal(kc.username, "admin");
	assert_string_equal(kc.password, "secret");
	kubeconfig_free(&kc);
	ok(TWO_CONTEXTS, "ctx-b", &kc);
	assert_string_equal(kc.server, "http://127.0.0.1:2");
	assert_null(kc.user); /* a context without a user is anonymous */
	assert_null(kc.username);
	kubeconfig_free(&kc);
	bad(TWO_CONTEXTS, "ctx-c", "context \"ctx-c\" not found");
}

static void test_the_sim_kubeconfig(void **state)
{
	/* What atoll-sim --kubeconfig-out writes: quoted strings, user: {}. */
	const char *y = "apiVersion: v1\nkind: Config\nclusters:\n- name: \"eu\"\n  cluster:\n    server: \"http://127.0.0.1:33679\"\n"
			"contexts:\n- name: \"eu\"\n  context:\n    cluster: \"eu\"\n    user: \"eu-admin\"\n"
			"current-context: \"eu\"\npreferences: {}\nusers:\n- name: \"eu-admin\"\n  user: {}\n";
	struct kubeconfig kc;
	ok(y, NULL, &kc);
	assert_string_equal(kc.server, "http://127.0.0.1:33679");
	assert_null(kc.token);
	kubeconfig_free(&kc);
}

static void test_bad(void **state)
{
	bad("a: [", NULL, "not valid YAML");
	bad("- 1\n- 2\n", NULL, "expected one YAML document");
	bad("kind: Pod\n", NULL, "kind is \"Pod\", expected Config");
	bad("clusters: {}\n", NULL, "clusters must be a list");
	bad("clusters: []\ncontexts: []\n", NULL, "no current-context is set");
	bad("current-context: x\ncontexts: []\n", NULL, "context \"x\" not found");
	bad("current-context: x\ncontexts: [{name: x}]\n", NULL, "has no context: section");
	bad("current-context: x\ncontexts: [{name: x, context: {user: u}}]\n", NULL, "names no cluster");
	bad("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n", NULL,
	    "cluster \"c\" (of context \"x\") not found");
	bad("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, cluster: {}}]\n",
	    NULL, "cluster \"c\" has no server");
	bad("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
	    "clusters: [{name: c, cluster: {server: 'ftp://h'}}]\n",
	    NULL, "must be an http:// or https:// URL");
	bad("current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
	    "clusters: [{name: c, cluster: {server: 'https://h'}}]\n",
	    NULL, "user \"u\" (of context \"x\") not found");
	bad("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
	    "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority-data: '!!notbase64!!'}}]\n",
	    NULL, "certificate-authority-data of cluster \"c\" is not valid base64");
	bad("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
	    "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: ca, certificate-authority-data: " PEM_B64 "}}]\n",
	    NULL, "certificate-authority-data and certificate-authority are both specified");
	bad("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
	    "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: ca, insecure-skip-tls-verify: true}}]\n",
	    NULL, "specifying a root certificates file with the insecure flag is not allowed");
	bad("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
	    "clusters: [{name: c, cluster: {server: 'https://h', insecure-skip-tls-verify: maybe}}]\n",
	    NULL, "insecure-skip-tls-verify of cluster \"c\" must be true or false");
	bad("current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
	    "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
	    "users: [{name: u, user: {client-certificate: a.crt}}]\n",
	    NULL, "client-certificate given without client-key");
	bad("current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
	    "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
	    "users: [{name: u, user: {client-key-data: " PEM_B64 "}}]\n",
	    NULL, "client-key given without client-certificate");
	bad("current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
	    "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
	    "users: [{name: u, user: {exec: {command: aws}}}]\n",
	    NULL, "credential plugin");
	bad("current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
	    "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
	    "users: [{name: u, user: {token: 5}}]\n",
	    NULL, "token of user \"u\" must be a string");
	bad("current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
	    "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
	    "users: [{name: u, user: {token: t, username: a, password: b}}]\n",
	    NULL, "username/password and token are both specified");
}

static void test_load_file(void **state)
{
	char dir[200];
	tu_mkdtemp(dir, sizeof dir, "kc");
	char path[256];
	snprintf(path, sizeof path, "%s/config", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: ca.crt}}]\n"
	      "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
	      f);
	fclose(f);
	struct kubeconfig kc;
	char err[512];
	assert_int_equal(kubeconfig_load(path, NULL, &kc, err, sizeof err), 0);
	char want[300];
	snprintf(want, sizeof want, "%s/ca.crt", dir);
	assert_string_equal(kc.ca_file, want);
	kubeconfig_free(&kc);
	unlink(path);
	assert_int_equal(kubeconfig_load(path, NULL, &kc, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot be read"));
	assert_non_null(strstr(err, path));
	rmdir(dir);
}

static void test_in_cluster(void **state)
{
	char dir[200];
	tu_mkdtemp(dir, sizeof dir, "sa");
	struct kubeconfig kc;
	char err[512], p[300];
	assert_int_equal(kubeconfig_in_cluster(dir, NULL, "443", &kc, err, sizeof err), -1);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
	assert_int_equal(kubeconfig_in_cluster(dir, "10.96.0.1", "443", &kc, err, sizeof err), -1);
	assert_non_null(strstr(err, "token"));
	const char *files[] = {"token", "ca.crt", "namespace"};
	const char *content[] = {"tok\n", PEM_TEXT, "karmada-system\n"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		FILE *f = fopen(p, "w");
		fputs(content[i], f);
		fclose(f);
	}
	assert_int_equal(kubeconfig_in_cluster(dir, "10.96.0.1", "443", &kc, err, sizeof err), 0);
	assert_string_equal(kc.server, "https://10.96.0.1:443");
	snprintf(p, sizeof p, "%s/ca.crt", dir);
	assert_string_equal(kc.ca_file, p);
	snprintf(p, sizeof p, "%s/token", dir);
	assert_string_equal(kc.token_file, p);
	assert_string_equal(kc.namespace, "karmada-system");
	kubeconfig_free(&kc);
	assert_int_equal(kubeconfig_in_cluster(dir, "fd00::1", "6443", &kc, err, sizeof err), 0);
	assert_string_equal(kc.server, "https://[fd00::1]:6443");
	kubeconfig_free(&kc);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_insecure),
		cmocka_unit_test(test_inline_data),
		cmocka_unit_test(test_files_relative_and_absolute),
		cmocka_unit_test(test_context_selection),
		cmocka_unit_test(test_the_sim_kubeconfig),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_in_cluster),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
