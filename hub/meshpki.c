#include "meshpki.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "pki.h"
#include "tlsconf.h"
#include "xalloc.h"

#define ISTIOD_SAN "istiod.istio-system.svc"

static void merr(char *err, size_t errlen, const char *what, int rc)
{
	char m[128];
	mbedtls_strerror(rc, m, sizeof m);
	snprintf(err, errlen, "%s: %s", what, m);
}

static void fmt_time(time_t t, char out[16])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

/* subjectAltName with one dNSName. */
static int san_dns(const char *name, unsigned char *buf, size_t cap, unsigned char **start, size_t *olen)
{
	unsigned char *p = buf + cap;
	size_t n = strlen(name);
	int len = 0, rc;
	if ((rc = mbedtls_asn1_write_raw_buffer(&p, buf, (const unsigned char *)name, n)) < 0)
		return rc;
	len += rc;
	if ((rc = mbedtls_asn1_write_len(&p, buf, (size_t)len)) < 0)
		return rc;
	len += rc;
	if ((rc = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2)) < 0)
		return rc;
	len += rc;
	if ((rc = mbedtls_asn1_write_len(&p, buf, (size_t)len)) < 0)
		return rc;
	len += rc;
	if ((rc = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
		return rc;
	len += rc;
	*start = p;
	*olen = (size_t)len;
	return 0;
}

/* One CA certificate. pathlen -1: unlimited. cluster NULL: the root. */
static char *write_ca(mbedtls_pk_context *subject_key, const char *subject, mbedtls_pk_context *issuer_key,
		      const char *issuer, int pathlen, bool san, long validity_s, char *err, size_t errlen)
{
	mbedtls_x509write_cert w;
	mbedtls_mpi serial;
	mbedtls_x509write_crt_init(&w);
	mbedtls_mpi_init(&serial);
	char *pem = NULL;
	int rc;
	char nb[16], na[16];
	time_t now = time(NULL);
	fmt_time(now, nb); /* as openssl x509 -days: renewal times count from here */
	fmt_time(now + validity_s, na);
	unsigned char sb[16];
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, subject_key);
	mbedtls_x509write_crt_set_issuer_key(&w, issuer_key);
	if ((rc = tls_rng_fn(NULL, sb, sizeof sb)) != 0)
		goto fail;
	sb[0] = (unsigned char)((sb[0] & 0x7f) | 0x01);
	if ((rc = mbedtls_mpi_read_binary(&serial, sb, sizeof sb)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_serial(&w, &serial)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_subject_name(&w, subject)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_issuer_name(&w, issuer)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_validity(&w, nb, na)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_basic_constraints(&w, 1, pathlen)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_subject_key_identifier(&w)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_authority_key_identifier(&w)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_key_usage(&w, MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_NON_REPUDIATION |
								  MBEDTLS_X509_KU_KEY_ENCIPHERMENT | MBEDTLS_X509_KU_KEY_CERT_SIGN |
								  MBEDTLS_X509_KU_CRL_SIGN)) != 0)
		goto fail;
	if (san) {
		unsigned char ext[512], *start;
		size_t elen;
		if ((rc = san_dns(ISTIOD_SAN, ext, sizeof ext, &start, &elen)) != 0 ||
		    (rc = mbedtls_x509write_crt_set_extension(&w, MBEDTLS_OID_SUBJECT_ALT_NAME,
							      MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, start, elen)) != 0)
			goto fail;
	}
	unsigned char buf[4096];
	if ((rc = mbedtls_x509write_crt_pem(&w, buf, sizeof buf, tls_rng_fn, NULL)) != 0)
		goto fail;
	pem = xstrdup((char *)buf);
	goto out;
fail:
	merr(err, errlen, "writing a mesh CA certificate", rc);
out:
	mbedtls_x509write_crt_free(&w);
	mbedtls_mpi_free(&serial);
	return pem;
}

static char *key_pem(mbedtls_pk_context *k)
{
	unsigned char buf[1024];
	if (mbedtls_pk_write_key_pem(k, buf, sizeof buf) != 0)
		return NULL;
	char *s = xstrdup((char *)buf);
	mbedtls_platform_zeroize(buf, sizeof buf);
	return s;
}

#define ROOT_SUBJECT "CN=Root CA,O=Istio"

int meshpki_root(long validity_s, char **cert, char **key, char *err, size_t errlen)
{
	mbedtls_pk_context k;
	mbedtls_pk_init(&k);
	*cert = *key = NULL;
	int rc = tls_gen_ec_key(&k);
	if (rc != 0) {
		merr(err, errlen, "generating the mesh root key", rc);
		mbedtls_pk_free(&k);
		return -1;
	}
	*cert = write_ca(&k, ROOT_SUBJECT, &k, ROOT_SUBJECT, -1, false, validity_s, err, errlen);
	if (*cert)
		*key = key_pem(&k);
	mbedtls_pk_free(&k);
	if (!*cert || !*key) {
		free(*cert);
		free(*key);
		*cert = *key = NULL;
		if (!err[0])
			snprintf(err, errlen, "cannot write the mesh root key");
		return -1;
	}
	return 0;
}

int meshpki_intermediate(const char *root_cert, const char *root_key, const char *cluster, long validity_s,
			 char **cert, char **key, char *err, size_t errlen)
{
	mbedtls_x509_crt rc_crt;
	mbedtls_pk_context rk, k;
	mbedtls_x509_crt_init(&rc_crt);
	mbedtls_pk_init(&rk);
	mbedtls_pk_init(&k);
	*cert = *key = NULL;
	int rc;
	char issuer[512], subject[300];
	if ((rc = mbedtls_x509_crt_parse(&rc_crt, (const unsigned char *)root_cert, strlen(root_cert) + 1)) != 0 ||
	    (rc = mbedtls_pk_parse_key(&rk, (const unsigned char *)root_key, strlen(root_key) + 1, NULL, 0)) != 0) {
		merr(err, errlen, "reading the mesh root", rc);
		goto out;
	}
	if (pki_subject_name(&rc_crt, issuer, sizeof issuer) < 0) {
		snprintf(err, errlen, "cannot read the mesh root's name");
		goto out;
	}
	if ((rc = tls_gen_ec_key(&k)) != 0) {
		merr(err, errlen, "generating an intermediate key", rc);
		goto out;
	}
	snprintf(subject, sizeof subject, "CN=Intermediate CA,O=Istio,L=%s", cluster);
	*cert = write_ca(&k, subject, &rk, issuer, 0, true, validity_s, err, errlen);
	if (*cert && !(*key = key_pem(&k))) {
		free(*cert);
		*cert = NULL;
		snprintf(err, errlen, "cannot write an intermediate key");
	}
out:
	mbedtls_x509_crt_free(&rc_crt);
	mbedtls_pk_free(&rk);
	mbedtls_pk_free(&k);
	return *cert ? 0 : -1;
}

int meshpki_times(const char *cert, time_t *not_before, time_t *not_after)
{
	mbedtls_x509_crt c;
	mbedtls_x509_crt_init(&c);
	int rc = cert ? mbedtls_x509_crt_parse(&c, (const unsigned char *)cert, strlen(cert) + 1) : -1;
	if (rc == 0) {
		*not_before = tls_crt_not_before(&c);
		*not_after = tls_crt_not_after(&c);
	}
	mbedtls_x509_crt_free(&c);
	return rc == 0 ? 0 : -1;
}

int meshpki_verify(const char *cert, const char *issuer_cert)
{
	mbedtls_x509_crt c, ca;
	mbedtls_x509_crt_init(&c);
	mbedtls_x509_crt_init(&ca);
	uint32_t flags = 0;
	int rc = -1;
	if (cert && issuer_cert &&
	    mbedtls_x509_crt_parse(&c, (const unsigned char *)cert, strlen(cert) + 1) == 0 &&
	    mbedtls_x509_crt_parse(&ca, (const unsigned char *)issuer_cert, strlen(issuer_cert) + 1) == 0)
		rc = mbedtls_x509_crt_verify(&c, &ca, NULL, NULL, &flags, NULL, NULL) == 0 ? 0 : -1;
	mbedtls_x509_crt_free(&c);
	mbedtls_x509_crt_free(&ca);
	return rc;
}
