/* tlsconf — mbedTLS setup shared by the hub, the join helper and tests.
 * Owns: the process-wide random generator, the list of allowed cipher
 * suites (TLS 1.2+, AEAD with ECDHE only), error strings, PEM/DER helpers
 * and writing secret files (0600, atomically). Nothing here opens sockets. */
#ifndef ATOLL_TLSCONF_H
#define ATOLL_TLSCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

/* The shared CTR-DRBG, seeded from the OS on first use. NULL if seeding
 * failed (no entropy source). Single-threaded use only (the event loop). */
mbedtls_ctr_drbg_context *tls_rng(void);
/* mbedtls f_rng-compatible wrapper around tls_rng(). */
int tls_rng_fn(void *unused, unsigned char *out, size_t len);

/* Zero-terminated list of the cipher suites servers and clients allow:
 * ECDHE with AES-GCM or ChaCha20-Poly1305 only. */
const int *tls_ciphersuites(void);

/* "X509 - Certificate verification failed" style text for an mbedTLS code. */
const char *tls_strerror(int code, char *buf, size_t len);

/* Reads a whole file (NUL-terminated, so PEM parsers accept it). Returns
 * NULL with err filled on failure. *len excludes the terminator. */
unsigned char *tls_read_file(const char *path, size_t *len, char *err, size_t errlen);
/* Writes data to path via a temporary file and rename, with mode (0600 for
 * keys). Returns 0 or -1 with err filled. */
int tls_write_file(const char *path, const void *data, size_t len, int mode, char *err, size_t errlen);

/* Generates an ECDSA P-256 key. Returns 0 or an mbedTLS error. */
int tls_gen_ec_key(mbedtls_pk_context *key);
/* PEM of a private key / certificate (malloc'd, NUL-terminated) or NULL. */
char *tls_key_pem(mbedtls_pk_context *key);
char *tls_crt_pem(const mbedtls_x509_crt *crt);
/* PEM text of DER bytes with the given label ("CERTIFICATE"). */
char *tls_der_to_pem(const unsigned char *der, size_t len, const char *label);

/* "sha256:<hex>" of the DER SubjectPublicKeyInfo of crt (kubeadm's CA
 * pin). out needs 72 bytes. */
void tls_spki_sha256(const mbedtls_x509_crt *crt, char *out, size_t outlen);

/* notBefore/notAfter of a certificate as UTC time_t. */
time_t tls_crt_not_after(const mbedtls_x509_crt *crt);
time_t tls_crt_not_before(const mbedtls_x509_crt *crt);

/* The first attribute of type oid (e.g. MBEDTLS_OID_AT_CN) in a name, as
 * text; returns false when absent or too long. */
bool tls_name_attr(const mbedtls_x509_name *name, const char *oid, size_t oid_len, char *out, size_t outlen);

/* Base64 of data (malloc'd, NUL-terminated). */
char *tls_base64(const void *data, size_t len);

#endif
