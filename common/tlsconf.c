#include "tlsconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl_ciphersuites.h>

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static int rng_state; /* 0 = not seeded, 1 = ready, -1 = failed */

static void rng_cleanup(void)
{
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
}

mbedtls_ctr_drbg_context *tls_rng(void)
{
	if (rng_state == 0) {
		mbedtls_entropy_init(&entropy);
		mbedtls_ctr_drbg_init(&drbg);
		static const char pers[] = "atoll";
		if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, (const unsigned char *)pers,
					  sizeof pers - 1) != 0) {
			rng_state = -1;
		} else {
			rng_state = 1;
			mbedtls_ctr_drbg_set_prediction_resistance(&drbg, MBEDTLS_CTR_DRBG_PR_OFF);
		}
		atexit(rng_cleanup);
	}
	return rng_state == 1 ? &drbg : NULL;
}

int tls_rng_fn(void *unused, unsigned char *out, size_t len)
{
	mbedtls_ctr_drbg_context *r = tls_rng();
	if (!r)
		return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
	return mbedtls_ctr_drbg_random(r, out, len);
}

static const int suites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	0,
};

const int *tls_ciphersuites(void) { return suites; }

const char *tls_strerror(int code, char *buf, size_t len)
{
	mbedtls_strerror(code, buf, len);
	return buf;
}

unsigned char *tls_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > (64u << 20)) {
				snprintf(err, errlen, "%s is too large", path);
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = realloc(buf, cap);
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		snprintf(err, errlen, "cannot read %s", path);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int tls_write_file(const char *path, const void *data, size_t len, int mode, char *err, size_t errlen)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
		snprintf(err, errlen, "path too long: %s", path);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	fchmod(fd, (mode_t)mode); /* umask must not widen or narrow it */
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int tls_gen_ec_key(mbedtls_pk_context *key)
{
	int rc = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (rc != 0)
		return rc;
	return mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key), tls_rng_fn, NULL);
}

char *tls_key_pem(mbedtls_pk_context *key)
{
	unsigned char buf[4096];
	if (mbedtls_pk_write_key_pem(key, buf, sizeof buf) != 0)
		return NULL;
	char *s = strdup((char *)buf);
	mbedtls_platform_zeroize(buf, sizeof buf);
	return s;
}

char *tls_der_to_pem(const unsigned char *der, size_t len, const char *label)
{
	char header[64], footer[64];
	snprintf(header, sizeof header, "-----BEGIN %s-----\n", label);
	snprintf(footer, sizeof footer, "-----END %s-----\n", label);
	size_t cap = len * 2 + 256;
	unsigned char *buf = malloc(cap);
	size_t olen = 0;
	if (mbedtls_pem_write_buffer(header, footer, der, len, buf, cap, &olen) != 0) {
		free(buf);
		return NULL;
	}
	return (char *)buf;
}

char *tls_crt_pem(const mbedtls_x509_crt *crt)
{
	return tls_der_to_pem(crt->raw.p, crt->raw.len, "CERTIFICATE");
}

void tls_spki_sha256(const mbedtls_x509_crt *crt, char *out, size_t outlen)
{
	unsigned char h[32];
	mbedtls_sha256_ret(crt->pk_raw.p, crt->pk_raw.len, h, 0);
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	snprintf(out, outlen, "sha256:%s", hex);
}

static time_t x509_time_to_t(const mbedtls_x509_time *t)
{
	struct tm tm = {0};
	tm.tm_year = t->year - 1900;
	tm.tm_mon = t->mon - 1;
	tm.tm_mday = t->day;
	tm.tm_hour = t->hour;
	tm.tm_min = t->min;
	tm.tm_sec = t->sec;
	return timegm(&tm);
}

time_t tls_crt_not_after(const mbedtls_x509_crt *crt) { return x509_time_to_t(&crt->valid_to); }
time_t tls_crt_not_before(const mbedtls_x509_crt *crt) { return x509_time_to_t(&crt->valid_from); }

bool tls_name_attr(const mbedtls_x509_name *name, const char *oid, size_t oid_len, char *out, size_t outlen)
{
	for (const mbedtls_x509_name *n = name; n; n = n->next) {
		if (n->oid.len == oid_len && memcmp(n->oid.p, oid, oid_len) == 0) {
			if (n->val.len >= outlen)
				return false;
			memcpy(out, n->val.p, n->val.len);
			out[n->val.len] = '\0';
			return true;
		}
	}
	return false;
}

char *tls_base64(const void *data, size_t len)
{
	size_t olen = 0;
	mbedtls_base64_encode(NULL, 0, &olen, data, len);
	unsigned char *out = malloc(olen + 1);
	if (mbedtls_base64_encode(out, olen + 1, &olen, data, len) != 0) {
		free(out);
		return NULL;
	}
	out[olen] = '\0';
	return (char *)out;
}
