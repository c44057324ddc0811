/* kubeconfig — reading a kubeconfig (or the in-cluster service account)
 * into the address and credentials of one Kubernetes API server.
 * Owns: context selection (current-context or an explicit one), the
 * server URL, CA / client certificate / key as files or inline base64
 * data, bearer token / tokenFile, basic auth, insecure-skip-tls-verify,
 * tls-server-name, relative paths (resolved against the kubeconfig's
 * directory, as kubectl does) and clear errors for everything else.
 * Pure parsing over libyaml (yaml_parse_file); files referenced by the
 * kubeconfig are not opened here. */
#ifndef ATOLL_KUBECONFIG_H
#define ATOLL_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct kubeconfig {
	char *context;   /* the context used ("" in-cluster) */
	char *cluster;   /* its cluster and user names */
	char *user;
	char *namespace; /* context namespace, or NULL */
	char *server;    /* "https://host:port" without trailing '/' */
	char *tls_server_name;
	bool insecure_skip_tls_verify;
	char *ca_file;               /* absolute path, or NULL */
	unsigned char *ca_data;      /* decoded PEM, NUL-terminated, or NULL */
	size_t ca_len;
	char *cert_file;
	unsigned char *cert_data;
	size_t cert_len;
	char *key_file;
	unsigned char *key_data;
	size_t key_len;
	char *token;      /* inline bearer token */
	char *token_file; /* absolute path of a token file (re-read by clients) */
	char *username, *password;
};

/* Parses kubeconfig text. base_dir resolves relative paths (NULL: leave
 * them as they are). context NULL or "" means current-context. Returns 0,
 * or -1 with a message in err ("context \"x\" not found", ...). */
int kubeconfig_parse(const char *buf, size_t len, const char *base_dir, const char *context, struct kubeconfig *kc,
		     char *err, size_t errlen);
/* Reads path and parses it, resolving relative paths against its directory;
 * errors are prefixed with the path. */
int kubeconfig_load(const char *path, const char *context, struct kubeconfig *kc, char *err, size_t errlen);
/* In-cluster mode: https://HOST:PORT with sa_dir/ca.crt and sa_dir/token
 * (normally /var/run/secrets/kubernetes.io/serviceaccount and the
 * KUBERNETES_SERVICE_HOST/PORT variables). Checks the files exist. */
int kubeconfig_in_cluster(const char *sa_dir, const char *host, const char *port, struct kubeconfig *kc, char *err,
			  size_t errlen);
void kubeconfig_free(struct kubeconfig *kc);

#endif
