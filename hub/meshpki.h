/* meshpki — the certificate authorities of an Istio mesh (hub/mesh.c),
 * written with mbedTLS and separate from the hub's own CA (pki.h).
 * Owns: a mesh root CA and one intermediate CA per cluster with the
 * extensions Istio's tools/certs/Makefile.selfsigned.mk gives them:
 *   root:         basicConstraints critical CA:true (no path length),
 *                 keyUsage critical digitalSignature, nonRepudiation,
 *                 keyEncipherment, keyCertSign (+ cRLSign), O=Istio, CN=Root CA;
 *   intermediate: basicConstraints critical CA:true, pathlen:0, the same
 *                 key usage, subjectAltName DNS:istiod.istio-system.svc,
 *                 O=Istio, CN=Intermediate CA, L=<cluster>.
 * Keys are ECDSA P-256 (istiod accepts EC plug-in CAs). Nothing here logs
 * or stores anything: callers keep the PEMs. */
#ifndef ATOLL_MESHPKI_H
#define ATOLL_MESHPKI_H

#include <stddef.h>
#include <time.h>

/* A new self-signed root valid validity_s seconds. *cert and *key are
 * malloc'd PEMs. Returns 0, or -1 with err. */
int meshpki_root(long validity_s, char **cert, char **key, char *err, size_t errlen);
/* A new intermediate for cluster signed by the root (PEMs). */
int meshpki_intermediate(const char *root_cert, const char *root_key, const char *cluster, long validity_s,
			 char **cert, char **key, char *err, size_t errlen);
/* notBefore/notAfter of a PEM certificate. Returns 0 or -1. */
int meshpki_times(const char *cert, time_t *not_before, time_t *not_after);
/* 0 when cert was signed by the root cert issuer_cert (checked with
 * mbedtls_x509_crt_verify), -1 otherwise. */
int meshpki_verify(const char *cert, const char *issuer_cert);

#endif
