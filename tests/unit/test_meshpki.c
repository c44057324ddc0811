/* The mesh PKI (hub/meshpki.c): a root and per-cluster intermediates with
 * the extensions Istio's Makefile.selfsigned.mk gives, chains that verify,
 * distinct keys, lifetimes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include "meshpki.h"

static void parse(mbedtls_x509_crt *c, const char *pem)
{
	mbedtls_x509_crt_init(c);
	assert_int_equal(mbedtls_x509_crt_parse(c, (const unsigned char *)pem, strlen(pem) + 1), 0);
}

static void test_root_and_intermediates(void **state)
{
	char err[256] = "", *rc, *rk, *c1, *k1, *c2, *k2;
	assert_int_equal(meshpki_root(3600, &rc, &rk, err, sizeof err), 0);
	assert_non_null(strstr(rk, "PRIVATE KEY"));
	assert_int_equal(meshpki_intermediate(rc, rk, "ap", 600, &c1, &k1, err, sizeof err), 0);
	assert_int_equal(meshpki_intermediate(rc, rk, "us", 600, &c2, &k2, err, sizeof err), 0);
	assert_string_not_equal(c1, c2);
	assert_string_not_equal(k1, k2);
	assert_int_equal(meshpki_verify(c1, rc), 0);
	assert_int_equal(meshpki_verify(c2, rc), 0);

	/* A different root does not sign them. */
	char *orc, *ork;
	assert_int_equal(meshpki_root(3600, &orc, &ork, err, sizeof err), 0);
	assert_int_equal(meshpki_verify(c1, orc), -1);

	mbedtls_x509_crt root, inter;
	parse(&root, rc);
	parse(&inter, c1);
	/* Root: CA without a path length; intermediate: CA, pathlen 0. */
	assert_true(root.ca_istrue);
	assert_int_equal(root.max_pathlen, 0); /* mbedTLS: 0 = unlimited */
	assert_true(inter.ca_istrue);
	assert_int_equal(inter.max_pathlen, 1); /* mbedTLS stores pathlen + 1 */
	unsigned ku = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN | MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
	assert_int_equal(inter.key_usage & ku, ku);
	assert_int_equal(root.key_usage & ku, ku);
	assert_true(inter.ext_types & MBEDTLS_X509_EXT_SUBJECT_ALT_NAME);
	char dn[256];
	mbedtls_x509_dn_gets(dn, sizeof dn, &inter.subject);
	assert_non_null(strstr(dn, "L=ap"));
	assert_non_null(strstr(dn, "CN=Intermediate CA"));
	mbedtls_x509_dn_gets(dn, sizeof dn, &root.subject);
	assert_non_null(strstr(dn, "CN=Root CA"));

	time_t nb, na, now = time(NULL);
	assert_int_equal(meshpki_times(c1, &nb, &na), 0);
	assert_true(na - nb == 600);
	assert_true(nb >= now - 5 && nb <= now + 5);
	assert_int_equal(meshpki_times("not a cert", &nb, &na), -1);

	/* Garbage in: an error, no crash. */
	char *x, *y;
	assert_int_equal(meshpki_intermediate("junk", "junk", "ap", 60, &x, &y, err, sizeof err), -1);
	assert_null(x);
	assert_true(err[0] != '\0');

	mbedtls_x509_crt_free(&root);
	mbedtls_x509_crt_free(&inter);
	free(rc), free(rk), free(c1), free(k1), free(c2), free(k2), free(orc), free(ork);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_and_intermediates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
