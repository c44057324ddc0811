/* pki — the hub's certificate authority, written with mbedTLS.
 * Owns: the files in the data directory that hold trust (ca.crt/ca.key,
 * hub.crt/hub.key, admin.crt/admin.key, admin.kubeconfig, pki.json),
 * issuing serving and client certificates, checking and signing agents'
 * CSRs, and renewing the serving certificate before it expires.
 * Private keys are written 0600. Nothing here touches the network. */
#ifndef ATOLL_PKI_H
#define ATOLL_PKI_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#define PKI_CA_VALIDITY_S (10L * 365 * 86400)
#define PKI_SERVING_VALIDITY_S (365L * 86400)
#define PKI_ADMIN_VALIDITY_S (365L * 86400)
#define PKI_AGENT_VALIDITY_S (90L * 86400)
#define PKI_MAX_HOSTS 32

#define PKI_AGENT_USER_PREFIX "system:atoll:agent:"
#define PKI_AGENT_GROUP "system:atoll:agents"
#define PKI_ADMIN_GROUP "system:masters"

struct pki_ca {
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
};

/* Loads DIR/ca.crt and DIR/ca.key. */
/* crt's subject as mbedtls_x509write_crt_set_issuer_name takes it (","
 * between parts where mbedtls_x509_dn_gets writes ", "). 0, or -1. */
int pki_subject_name(const mbedtls_x509_crt *crt, char *out, size_t len);

int pki_ca_load(struct pki_ca *ca, const char *dir, char *err, size_t errlen);
void pki_ca_free(struct pki_ca *ca);
/* A new self-signed CA (ECDSA P-256) named cn, valid validity_s seconds. */
int pki_ca_create(struct pki_ca *ca, const char *cn, long validity_s, char *err, size_t errlen);

enum pki_usage { PKI_SERVER, PKI_CLIENT };

/* Issues a certificate for subject_key signed by ca: subject CN=cn and,
 * when org is set, O=org; hosts (DNS names or IP addresses) become
 * subjectAltNames. Returns the PEM (malloc'd) or NULL with err filled. */
char *pki_issue(struct pki_ca *ca, mbedtls_pk_context *subject_key, const char *cn, const char *org,
		const char *const *hosts, int nhosts, enum pki_usage usage, long validity_s, char *err, size_t errlen);

/* Parses a PEM (or DER) CSR, checks its self-signature and returns its
 * CN. The caller frees csr with mbedtls_x509_csr_free. */
int pki_csr_check(const unsigned char *data, size_t len, mbedtls_x509_csr *csr, char *cn, size_t cnlen, char *err,
		  size_t errlen);

/* Signs an agent's CSR: the certificate names CN=system:atoll:agent:<cluster>,
 * O=system:atoll:agents whatever else the CSR asks for. Returns PEM or NULL. */
char *pki_sign_agent_csr(struct pki_ca *ca, mbedtls_x509_csr *csr, const char *cluster, long validity_s, char *err,
			 size_t errlen);

/* True for a DNS-1123 label (what cluster names are). */
bool pki_valid_cluster_name(const char *s);

struct pki_init_opts {
	const char *dir;
	const char *hosts[PKI_MAX_HOSTS]; /* as given; NULL-terminated or nhosts */
	int nhosts;
	int port;                         /* for the kubeconfig's server URL */
	long serving_validity_s;          /* 0 = PKI_SERVING_VALIDITY_S */
	FILE *out;                        /* progress lines; may be NULL */
};
/* atoll-hub init: creates what is missing, keeps what exists. */
int pki_init(const struct pki_init_opts *o, char *err, size_t errlen);

/* Re-issues DIR/hub.crt (new key) when less than a third of its lifetime,
 * and at most 30 days, remains at time now. Returns 1 when renewed, 0 when
 * not due, -1 on error. */
int pki_renew_serving_if_due(const char *dir, time_t now, char *err, size_t errlen);

/* A kubeconfig with the CA, client certificate and key embedded. */
char *pki_kubeconfig(const char *server, const char *ca_pem, const char *crt_pem, const char *key_pem,
		     const char *user);

/* Paths in the data directory. */
const char *pki_path(char *buf, size_t len, const char *dir, const char *file);

#endif
