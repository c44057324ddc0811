/* join — the agent's half of joining a hub, as pure helpers (no I/O).
 * Owns: pinning the hub's CA by kubeadm-style hash, the agent's key and
 * CSR, and the JoinRequest/JoinResponse bodies of
 * /apis/atoll.io/v1alpha1/join (docs/protocol.md, "Joining").
 *
 * The flow, for an agent given --hub URL --token T --ca-cert-hash H:
 *   1. GET  URL/apis/atoll.io/v1alpha1/join without verifying TLS
 *      (anonymous): {"kind":"JoinInfo","caBundle":"<PEM>"}.
 *   2. join_ca_hash_matches_pem(caBundle, H) must be 1; from now on verify
 *      the hub against that CA only. Never send T before this check.
 *   3. join_make_key_and_csr(cluster, &key, &csr); body =
 *      join_request_body(cluster, csr); POST it to the same path with
 *      "Authorization: Bearer T" -> 201 JoinResponse.
 *   4. join_parse_response(...) -> certificate; join_check_cert(...); store
 *      key and certificate 0600; use them as the client certificate.
 *   5. Renewal: the same POST, authenticated by the current certificate. */
#ifndef ATOLL_JOIN_H
#define ATOLL_JOIN_H

#include <stddef.h>
#include <time.h>

/* 1 when the SHA-256 of the DER certificate's SubjectPublicKeyInfo equals
 * expected ("sha256:<64 hex>", case-insensitive), 0 when it differs, -1
 * when the certificate cannot be parsed or expected is malformed. */
int join_ca_hash_matches(const unsigned char *ca_der, size_t len, const char *expected);
/* The same for a PEM bundle: 1 when any certificate in it matches. */
int join_ca_hash_matches_pem(const char *pem, const char *expected);
/* Only the certificates of a PEM bundle that match expected, as PEM
 * (malloc'd), or NULL when none does: the agent trusts these and nothing
 * else the unauthenticated JoinInfo carried. */
char *join_pinned_ca_pem(const char *pem, const char *expected);

/* A new ECDSA P-256 key and a CSR for CN=system:atoll:agent:<cluster>,
 * both PEM (malloc'd). Returns 0 or -1. */
int join_make_key_and_csr(const char *cluster, char **key_pem, char **csr_pem);

/* {"apiVersion":"atoll.io/v1alpha1","kind":"JoinRequest","cluster":...,"csr":...} (malloc'd) */
char *join_request_body(const char *cluster, const char *csr_pem);
/* Reads a JoinResponse; *crt_pem and *ca_pem are malloc'd. Returns 0, or
 * -1 with err (a Status message when the hub refused). */
int join_parse_response(const char *body, size_t len, char **crt_pem, char **ca_pem, char *err, size_t errlen);
/* Checks that crt_pem is for key_pem, names the cluster's agent and is
 * signed by ca_pem. Returns 0 or -1 with err. */
int join_check_cert(const char *crt_pem, const char *key_pem, const char *ca_pem, const char *cluster, char *err,
		    size_t errlen);

/* When a certificate is due for renewal at now: renew_before_s > 0 means
 * when less than that remains, 0 means when less than a third of its
 * lifetime remains. Returns 1 (due), 0 (not yet) or -1 (unparsable);
 * *not_after gets its notAfter (may be NULL). */
int join_renewal_due(const char *crt_pem, time_t now, long long renew_before_s, time_t *not_after);

#endif
