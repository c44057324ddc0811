#include "kubeconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mbedtls/base64.h>

#include "jsonutil.h"
#include "yamljson.h"

void kubeconfig_free(struct kubeconfig *kc)
{
	free(kc->context);
	free(kc->cluster);
	free(kc->user);
	free(kc->namespace);
	free(kc->server);
	free(kc->tls_server_name);
	free(kc->ca_file);
	free(kc->ca_data);
	free(kc->cert_file);
	free(kc->cert_data);
	free(kc->key_file);
	free(kc->key_data);
	if (kc->token)
		memset(kc->token, 0, strlen(kc->token));
	free(kc->token);
	free(kc->token_file);
	free(kc->username);
	if (kc->password)
		memset(kc->password, 0, strlen(kc->password));
	free(kc->password);
	memset(kc, 0, sizeof *kc);
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

static char *resolve(const char *base_dir, const char *p)
{
	if (!p || !*p)
		return NULL;
	if (p[0] == '/' || !base_dir || !*base_dir)
		return strdup(p);
	size_t n = strlen(base_dir) + strlen(p) + 2;
	char *out = malloc(n);
	snprintf(out, n, "%s/%s", base_dir, p);
	return out;
}

/* Finds the named entry of a kubeconfig list ("clusters", "users",
 * "contexts") and returns its inner object (entry[field]). */
static const cJSON *find_named(const cJSON *doc, const char *list, const char *field, const char *name, bool *found)
{
	*found = false;
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, list);
	const cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		const char *n = json_get_str(it, "name");
		if (n && strcmp(n, name) == 0) {
			*found = true;
			const cJSON *inner = cJSON_GetObjectItemCaseSensitive(it, field);
			return cJSON_IsObject(inner) ? inner : NULL;
		}
	}
	return NULL;
}

static int decode_b64(const char *what, const char *owner, const char *s, unsigned char **out, size_t *outlen,
		      char *err, size_t errlen)
{
	size_t n = strlen(s), olen = 0;
	/* Tolerate line breaks and blanks as base64 -d does. */
	char *clean = malloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\n' && s[i] != '\r' && s[i] != ' ' && s[i] != '\t')
			clean[k++] = s[i];
	clean[k] = '\0';
	unsigned char *buf = malloc(k + 1);
	int rc = mbedtls_base64_decode(buf, k + 1, &olen, (const unsigned char *)clean, k);
	free(clean);
	if (rc != 0 || olen == 0) {
		free(buf);
		snprintf(err, errlen, "%s of %s is not valid base64", what, owner);
		return -1;
	}
	buf[olen] = '\0';
	*out = buf;
	*outlen = olen;
	return 0;
}

static int get_str(const cJSON *o, const char *key, const char **out, const char *owner, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v)) {
		snprintf(err, errlen, "%s of %s must be a string", key, owner);
		return -1;
	}
	*out = v->valuestring[0] ? v->valuestring : NULL;
	return 0;
}

/* A file/data pair (certificate-authority / certificate-authority-data). */
static int pair(const cJSON *o, const char *fkey, const char *dkey, const char *owner, const char *base_dir,
		char **file, unsigned char **data, size_t *len, char *err, size_t errlen)
{
	const char *f, *d;
	if (get_str(o, fkey, &f, owner, err, errlen) < 0 || get_str(o, dkey, &d, owner, err, errlen) < 0)
		return -1;
	if (f && d) {
		snprintf(err, errlen, "%s and %s are both specified for %s; give only one", dkey, fkey, owner);
		return -1;
	}
	if (d)
		return decode_b64(dkey, owner, d, data, len, err, errlen);
	*file = resolve(base_dir, f);
	return 0;
}

int kubeconfig_parse(const char *buf, size_t len, const char *base_dir, const char *context, struct kubeconfig *kc,
		     char *err, size_t errlen)
{
	memset(kc, 0, sizeof *kc);
	char perr[256];
	cJSON *docs = yaml_parse_documents(buf, len, perr, sizeof perr);
	if (!docs) {
		snprintf(err, errlen, "not valid YAML: %s", perr);
		return -1;
	}
	const cJSON *doc = cJSON_GetArrayItem(docs, 0);
	int rc = -1;
	if (cJSON_GetArraySize(docs) != 1 || !cJSON_IsObject(doc)) {
		snprintf(err, errlen, "expected one YAML document with a kubeconfig (kind: Config)");
		goto out;
	}
	const char *kind = json_get_str(doc, "kind");
	if (kind && strcmp(kind, "Config") != 0) {
		snprintf(err, errlen, "kind is \"%s\", expected Config", kind);
		goto out;
	}
	const char *lists[] = {"clusters", "users", "contexts"};
	for (int i = 0; i < 3; i++) {
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(doc, lists[i]);
		if (l && !cJSON_IsNull(l) && !cJSON_IsArray(l)) {
			snprintf(err, errlen, "%s must be a list", lists[i]);
			goto out;
		}
	}
	const char *ctx_name = context && *context ? context : json_get_str(doc, "current-context");
	if (!ctx_name || !*ctx_name) {
		snprintf(err, errlen, "no current-context is set and no context was given");
		goto out;
	}
	bool found;
	const cJSON *ctx = find_named(doc, "contexts", "context", ctx_name, &found);
	if (!found) {
		snprintf(err, errlen, "context \"%s\" not found", ctx_name);
		goto out;
	}
	if (!ctx) {
		snprintf(err, errlen, "context \"%s\" has no context: section", ctx_name);
		goto out;
	}
	const char *cl_name = json_get_str(ctx, "cluster");
	const char *user_name = json_get_str(ctx, "user");
	if (!cl_name || !*cl_name) {
		snprintf(err, errlen, "context \"%s\" names no cluster", ctx_name);
		goto out;
	}
	const cJSON *cl = find_named(doc, "clusters", "cluster", cl_name, &found);
	if (!found || !cl) {
		snprintf(err, errlen, "cluster \"%s\" (of context \"%s\") not found", cl_name, ctx_name);
		goto out;
	}
	const cJSON *user = NULL;
	if (user_name && *user_name) {
		user = find_named(doc, "users", "user", user_name, &found);
		if (!found) {
			snprintf(err, errlen, "user \"%s\" (of context \"%s\") not found", user_name, ctx_name);
			goto out;
		}
	}
	char owner[300];
	snprintf(owner, sizeof owner, "cluster \"%s\"", cl_name);
	kc->context = strdup(ctx_name);
	kc->cluster = strdup(cl_name);
	kc->user = dup_or_null(user_name);
	kc->namespace = dup_or_null(json_get_str(ctx, "namespace"));
	const char *server;
	if (get_str(cl, "server", &server, owner, err, errlen) < 0)
		goto out;
	if (!server) {
		snprintf(err, errlen, "%s has no server", owner);
		goto out;
	}
	if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0) {
		snprintf(err, errlen, "server \"%s\" of %s must be an http:// or https:// URL", server, owner);
		goto out;
	}
	kc->server = strdup(server);
	size_t sl = strlen(kc->server);
	while (sl > 0 && kc->server[sl - 1] == '/')
		kc->server[--sl] = '\0';
	const char *tsn;
	if (get_str(cl, "tls-server-name", &tsn, owner, err, errlen) < 0)
		goto out;
	kc->tls_server_name = dup_or_null(tsn);
	const cJSON *insecure = cJSON_GetObjectItemCaseSensitive(cl, "insecure-skip-tls-verify");
	if (insecure && !cJSON_IsBool(insecure) && !cJSON_IsNull(insecure)) {
		snprintf(err, errlen, "insecure-skip-tls-verify of %s must be true or false", owner);
		goto out;
	}
	kc->insecure_skip_tls_verify = cJSON_IsTrue(insecure);
	if (pair(cl, "certificate-authority", "certificate-authority-data", owner, base_dir, &kc->ca_file, &kc->ca_data,
		 &kc->ca_len, err, errlen) < 0)
		goto out;
	if (kc->insecure_skip_tls_verify && (kc->ca_file || kc->ca_data)) {
		snprintf(err, errlen, "%s: specifying a root certificates file with the insecure flag is not allowed", owner);
		goto out;
	}
	if (user) {
		snprintf(owner, sizeof owner, "user \"%s\"", user_name);
		if (cJSON_GetObjectItemCaseSensitive(user, "exec") || cJSON_GetObjectItemCaseSensitive(user, "auth-provider")) {
			snprintf(err, errlen, "%s uses a credential plugin (exec/auth-provider), which is not supported; use a token, a token file or a client certificate",
				 owner);
			goto out;
		}
		if (pair(user, "client-certificate", "client-certificate-data", owner, base_dir, &kc->cert_file,
			 &kc->cert_data, &kc->cert_len, err, errlen) < 0 ||
		    pair(user, "client-key", "client-key-data", owner, base_dir, &kc->key_file, &kc->key_data,
			 &kc->key_len, err, errlen) < 0)
			goto out;
		bool has_cert = kc->cert_file || kc->cert_data, has_key = kc->key_file || kc->key_data;
		if (has_cert != has_key) {
			snprintf(err, errlen, "%s: %s given without %s", owner, has_cert ? "client-certificate" : "client-key",
				 has_cert ? "client-key" : "client-certificate");
			goto out;
		}
		const char *tok, *tokf, *un, *pw;
		if (get_str(user, "token", &tok, owner, err, errlen) < 0 ||
		    get_str(user, "tokenFile", &tokf, owner, err, errlen) < 0 ||
		    get_str(user, "username", &un, owner, err, errlen) < 0 ||
		    get_str(user, "password", &pw, owner, err, errlen) < 0)
			goto out;
		kc->token = dup_or_null(tok);
		kc->token_file = resolve(base_dir, tokf);
		if ((un || pw) && (tok || tokf)) {
			snprintf(err, errlen, "%s: username/password and token are both specified; give only one", owner);
			goto out;
		}
		kc->username = dup_or_null(un);
		kc->password = dup_or_null(pw);
	}
	rc = 0;
out:
	cJSON_Delete(docs);
	if (rc < 0)
		kubeconfig_free(kc);
	return rc;
}

int kubeconfig_load(const char *path, const char *context, struct kubeconfig *kc, char *err, size_t errlen)
{
	memset(kc, 0, sizeof *kc);
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "kubeconfig %s: cannot be read: %m", path);
		return -1;
	}
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
		if (n == cap) {
			if (cap >= YAML_MAX_INPUT) {
				fclose(f);
				free(buf);
				snprintf(err, errlen, "kubeconfig %s: larger than %u bytes", path, YAML_MAX_INPUT);
				return -1;
			}
			cap *= 2;
			buf = realloc(buf, cap);
		}
	}
	fclose(f);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	char e2[800];
	int rc = kubeconfig_parse(buf, n, dir, context, kc, e2, sizeof e2);
	free(buf);
	if (rc < 0)
		snprintf(err, errlen, "kubeconfig %s: %s", path, e2);
	return rc;
}

int kubeconfig_in_cluster(const char *sa_dir, const char *host, const char *port, struct kubeconfig *kc, char *err,
			  size_t errlen)
{
	memset(kc, 0, sizeof *kc);
	if (!host || !*host || !port || !*port) {
		snprintf(err, errlen,
			 "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (give --kubeconfig)");
		return -1;
	}
	char ca[4096], tok[4096];
	snprintf(ca, sizeof ca, "%s/ca.crt", sa_dir);
	snprintf(tok, sizeof tok, "%s/token", sa_dir);
	if (access(tok, R_OK) != 0) {
		snprintf(err, errlen, "in-cluster service account token %s cannot be read: %m", tok);
		return -1;
	}
	if (access(ca, R_OK) != 0) {
		snprintf(err, errlen, "in-cluster CA %s cannot be read: %m", ca);
		return -1;
	}
	char server[600];
	bool v6 = strchr(host, ':') != NULL;
	snprintf(server, sizeof server, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
	kc->context = strdup("");
	kc->cluster = strdup("in-cluster");
	kc->server = strdup(server);
	kc->ca_file = strdup(ca);
	kc->token_file = strdup(tok);
	char nsf[4096];
	snprintf(nsf, sizeof nsf, "%s/namespace", sa_dir);
	FILE *f = fopen(nsf, "r");
	if (f) {
		char ns[256] = "";
		if (fgets(ns, sizeof ns, f)) {
			ns[strcspn(ns, "\r\n")] = '\0';
			kc->namespace = dup_or_null(ns);
		}
		fclose(f);
	}
	return 0;
}
