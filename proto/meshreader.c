#include "meshreader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/sha256.h>

#include "tlsconf.h"

void meshreader_hash(const char *kubeconfig, char out[33])
{
	unsigned char h[32];
	mbedtls_sha256_ret((const unsigned char *)kubeconfig, strlen(kubeconfig), h, 0);
	static const char hx[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hx[h[i] >> 4];
		out[2 * i + 1] = hx[h[i] & 15];
	}
	out[32] = '\0';
}

char *meshreader_kubeconfig(const char *cluster, const char *server, const char *ca_pem, size_t ca_len,
			    const char *token)
{
	char *ca = ca_pem && ca_len ? tls_base64(ca_pem, ca_len) : NULL;
	char *out = NULL;
	int n = asprintf(&out,
			 "apiVersion: v1\n"
			 "kind: Config\n"
			 "clusters:\n"
			 "- cluster:\n"
			 "%s%s%s"
			 "    server: \"%s\"\n"
			 "  name: \"%s\"\n"
			 "contexts:\n"
			 "- context:\n"
			 "    cluster: \"%s\"\n"
			 "    user: \"%s\"\n"
			 "  name: \"%s\"\n"
			 "current-context: \"%s\"\n"
			 "preferences: {}\n"
			 "users:\n"
			 "- name: \"%s\"\n"
			 "  user:\n"
			 "    token: \"%s\"\n",
			 ca ? "    certificate-authority-data: \"" : "", ca ? ca : "", ca ? "\"\n" : "", server, cluster,
			 cluster, cluster, cluster, cluster, cluster, token);
	free(ca);
	return n < 0 ? NULL : out;
}
