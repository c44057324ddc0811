#include "join.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#include "jsonutil.h"
#include "tlsconf.h"

#define AGENT_PREFIX "system:atoll:agent:"

static int hash_eq(const mbedtls_x509_crt *crt, const char *expected)
{
	char got[80];
	tls_spki_sha256(crt, got, sizeof got);
	return strcasecmp(got, expected) == 0;
}

static int expected_ok(const char *e)
{
	if (!e || strncasecmp(e, "sha256:", 7) != 0 || strlen(e) != 7 + 64)
		return 0;
	for (int i = 7; e[i]; i++)
		if (!isxdigit((unsigned char)e[i]))
			return 0;
	return 1;
}

int join_ca_hash_matches(const unsigned char *ca_der, size_t len, const char *expected)
{
	if (!expected_ok(expected) || !ca_der)
		return -1;
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	int rc = mbedtls_x509_crt_parse_der(&crt, ca_der, len) == 0 ? hash_eq(&crt, expected) : -1;
	mbedtls_x509_crt_free(&crt);
	return rc;
}

int join_ca_hash_matches_pem(const char *pem, const char *expected)
{
	if (!expected_ok(expected) || !pem)
		return -1;
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	int rc = -1;
	if (mbedtls_x509_crt_parse(&crt, (const unsigned char *)pem, strlen(pem) + 1) == 0) {
		rc = 0;
		for (const mbedtls_x509_crt *c = &crt; c && c->raw.len; c = c->next)
			if (hash_eq(c, expected))
				rc = 1;
	}
	mbedtls_x509_crt_free(&crt);
	return rc;
}

char *join_pinned_ca_pem(const char *pem, const char *expected)
{
	if (!expected_ok(expected) || !pem)
		return NULL;
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	char *out = NULL;
	size_t len = 0;
	if (mbedtls_x509_crt_parse(&crt, (const unsigned char *)pem, strlen(pem) + 1) == 0) {
		for (const mbedtls_x509_crt *c = &crt; c && c->raw.len; c = c->next) {
			if (!hash_eq(c, expected))
				continue;
			char *one = tls_der_to_pem(c->raw.p, c->raw.len, "CERTIFICATE");
			if (!one)
				continue;
			size_t n = strlen(one);
			char *grown = realloc(out, len + n + 1);
			if (grown) {
				memcpy(grown + len, one, n + 1);
				out = grown;
				len += n;
			}
			free(one);
		}
	}
	mbedtls_x509_crt_free(&crt);
	return out;
}

int join_renewal_due(const char *crt_pem, time_t now, long long renew_before_s, time_t *not_after)
{
	if (not_after)
		*not_after = 0;
	if (!crt_pem)
		return -1;
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	int rc = -1;
	if (mbedtls_x509_crt_parse(&crt, (const unsigned char *)crt_pem, strlen(crt_pem) + 1) == 0) {
		time_t nb = tls_crt_not_before(&crt), na = tls_crt_not_after(&crt);
		if (not_after)
			*not_after = na;
		long long before = renew_before_s > 0 ? renew_before_s : ((long long)na - (long long)nb) / 3;
		rc = (long long)na - (long long)now < before;
	}
	mbedtls_x509_crt_free(&crt);
	return rc;
}

int join_make_key_and_csr(const char *cluster, char **key_pem, char **csr_pem)
{
	*key_pem = *csr_pem = NULL;
	if (!cluster || !*cluster || strlen(cluster) > 63)
		return -1;
	for (const char *p = cluster; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
			return -1;
	mbedtls_pk_context key;
	mbedtls_x509write_csr w;
	mbedtls_pk_init(&key);
	mbedtls_x509write_csr_init(&w);
	int ret = -1;
	char subj[128];
	snprintf(subj, sizeof subj, "CN=" AGENT_PREFIX "%s,O=system:atoll:agents", cluster);
	unsigned char buf[4096];
	if (tls_gen_ec_key(&key) != 0)
		goto out;
	mbedtls_x509write_csr_set_key(&w, &key);
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
	if (mbedtls_x509write_csr_set_subject_name(&w, subj) != 0 ||
	    mbedtls_x509write_csr_pem(&w, buf, sizeof buf, tls_rng_fn, NULL) != 0)
		goto out;
	*csr_pem = strdup((char *)buf);
	*key_pem = tls_key_pem(&key);
	if (!*key_pem) {
		free(*csr_pem);
		*csr_pem = NULL;
		goto out;
	}
	ret = 0;
out:
	mbedtls_x509write_csr_free(&w);
	mbedtls_pk_free(&key);
	return ret;
}

char *join_request_body(const char *cluster, const char *csr_pem)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "atoll.io/v1alpha1");
	cJSON_AddStringToObject(o, "kind", "JoinRequest");
	cJSON_AddStringToObject(o, "cluster", cluster);
	cJSON_AddStringToObject(o, "csr", csr_pem);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

int join_parse_response(const char *body, size_t len, char **crt_pem, char **ca_pem, char *err, size_t errlen)
{
	*crt_pem = *ca_pem = NULL;
	char perr[128];
	cJSON *j = json_parse_limited(body, len, 10, perr, sizeof perr);
	if (!j) {
		snprintf(err, errlen, "the hub's answer is not JSON: %s", perr);
		return -1;
	}
	const char *kind = json_get_str(j, "kind");
	if (kind && strcmp(kind, "Status") == 0) {
		const char *m = json_get_str(j, "message");
		snprintf(err, errlen, "%s", m ? m : "the hub refused the join");
		cJSON_Delete(j);
		return -1;
	}
	const char *crt = json_get_str(j, "certificate"), *ca = json_get_str(j, "caBundle");
	if (!kind || strcmp(kind, "JoinResponse") != 0 || !crt || !ca) {
		snprintf(err, errlen, "the hub's answer is not a JoinResponse");
		cJSON_Delete(j);
		return -1;
	}
	*crt_pem = strdup(crt);
	*ca_pem = strdup(ca);
	cJSON_Delete(j);
	return 0;
}

int join_check_cert(const char *crt_pem, const char *key_pem, const char *ca_pem, const char *cluster, char *err,
		    size_t errlen)
{
	mbedtls_x509_crt crt, ca;
	mbedtls_pk_context key;
	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ca);
	mbedtls_pk_init(&key);
	int ret = -1;
	uint32_t flags = 0;
	char cn[200], want[200];
	if (mbedtls_x509_crt_parse(&crt, (const unsigned char *)crt_pem, strlen(crt_pem) + 1) != 0) {
		snprintf(err, errlen, "the certificate cannot be parsed");
		goto out;
	}
	if (mbedtls_x509_crt_parse(&ca, (const unsigned char *)ca_pem, strlen(ca_pem) + 1) != 0) {
		snprintf(err, errlen, "the CA bundle cannot be parsed");
		goto out;
	}
	if (mbedtls_pk_parse_key(&key, (const unsigned char *)key_pem, strlen(key_pem) + 1, NULL, 0) != 0 ||
	    mbedtls_pk_check_pair(&crt.pk, &key) != 0) {
		snprintf(err, errlen, "the certificate is not for this key");
		goto out;
	}
	snprintf(want, sizeof want, AGENT_PREFIX "%s", cluster);
	if (!tls_name_attr(&crt.subject, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), cn, sizeof cn) ||
	    strcmp(cn, want) != 0) {
		snprintf(err, errlen, "the certificate does not name %s", want);
		goto out;
	}
	if (mbedtls_x509_crt_verify(&crt, &ca, NULL, NULL, &flags, NULL, NULL) != 0) {
		char info[256];
		mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
		snprintf(err, errlen, "the certificate does not verify against the CA: %s", info);
		goto out;
	}
	ret = 0;
out:
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	mbedtls_pk_free(&key);
	return ret;
}
