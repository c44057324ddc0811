#include "pki.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mbedtls/bignum.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/platform_util.h>

#include "jsonutil.h"
#include "tlsconf.h"

const char *pki_path(char *buf, size_t len, const char *dir, const char *file)
{
	snprintf(buf, len, "%s/%s", dir, file);
	return buf;
}

static void mbed_err(char *err, size_t errlen, const char *what, int rc)
{
	char m[160];
	snprintf(err, errlen, "%s: %s", what, tls_strerror(rc, m, sizeof m));
}

static bool file_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* ---- CA ---------------------------------------------------------------- */

int pki_ca_load(struct pki_ca *ca, const char *dir, char *err, size_t errlen)
{
	char p[4096];
	mbedtls_x509_crt_init(&ca->crt);
	mbedtls_pk_init(&ca->key);
	int rc = mbedtls_x509_crt_parse_file(&ca->crt, pki_path(p, sizeof p, dir, "ca.crt"));
	if (rc != 0) {
		mbed_err(err, errlen, p, rc);
		goto fail;
	}
	rc = mbedtls_pk_parse_keyfile(&ca->key, pki_path(p, sizeof p, dir, "ca.key"), NULL);
	if (rc != 0) {
		mbed_err(err, errlen, p, rc);
		goto fail;
	}
	if (mbedtls_pk_check_pair(&ca->crt.pk, &ca->key) != 0) {
		snprintf(err, errlen, "%s/ca.key does not belong to %s/ca.crt", dir, dir);
		goto fail;
	}
	return 0;
fail:
	pki_ca_free(ca);
	return -1;
}

void pki_ca_free(struct pki_ca *ca)
{
	mbedtls_x509_crt_free(&ca->crt);
	mbedtls_pk_free(&ca->key);
}

static void fmt_time(time_t t, char out[16])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

/* DER length prefix; returns bytes written. */
static size_t der_len(unsigned char *p, size_t len)
{
	if (len < 128) {
		p[0] = (unsigned char)len;
		return 1;
	}
	if (len < 256) {
		p[0] = 0x81;
		p[1] = (unsigned char)len;
		return 2;
	}
	p[0] = 0x82;
	p[1] = (unsigned char)(len >> 8);
	p[2] = (unsigned char)len;
	return 3;
}

/* GeneralNames for hosts: dNSName [2] or iPAddress [7]. */
static int san_der(const char *const *hosts, int nhosts, unsigned char *out, size_t cap, size_t *olen)
{
	unsigned char body[4096];
	size_t n = 0;
	for (int i = 0; i < nhosts; i++) {
		unsigned char ip[16];
		size_t len;
		const unsigned char *val;
		unsigned char tag;
		if (inet_pton(AF_INET, hosts[i], ip) == 1) {
			tag = 0x87, len = 4, val = ip;
		} else if (inet_pton(AF_INET6, hosts[i], ip) == 1) {
			tag = 0x87, len = 16, val = ip;
		} else {
			tag = 0x82, len = strlen(hosts[i]), val = (const unsigned char *)hosts[i];
		}
		if (n + len + 4 > sizeof body)
			return -1;
		body[n++] = tag;
		n += der_len(body + n, len);
		memcpy(body + n, val, len);
		n += len;
	}
	if (n + 4 > cap)
		return -1;
	size_t o = 0;
	out[o++] = 0x30;
	o += der_len(out + o, n);
	memcpy(out + o, body, n);
	*olen = o + n;
	return 0;
}

static int eku_der(enum pki_usage usage, unsigned char *out, size_t *olen)
{
	static const char srv[] = MBEDTLS_OID_SERVER_AUTH, cli[] = MBEDTLS_OID_CLIENT_AUTH;
	const char *oid = usage == PKI_SERVER ? srv : cli;
	size_t ol = usage == PKI_SERVER ? sizeof srv - 1 : sizeof cli - 1;
	out[0] = 0x30;
	out[1] = (unsigned char)(ol + 2);
	out[2] = 0x06;
	out[3] = (unsigned char)ol;
	memcpy(out + 4, oid, ol);
	*olen = ol + 4;
	return 0;
}

static int random_serial(mbedtls_mpi *serial)
{
	unsigned char b[16];
	int rc = tls_rng_fn(NULL, b, sizeof b);
	if (rc != 0)
		return rc;
	b[0] &= 0x7f; /* positive */
	b[0] |= 0x01; /* and 16 bytes long */
	return mbedtls_mpi_read_binary(serial, b, sizeof b);
}

/* Writes one certificate; issuer == NULL means self-signed CA. */
static char *write_crt(mbedtls_pk_context *subject_key, const char *subject, mbedtls_pk_context *issuer_key,
		       const char *issuer, bool is_ca, const char *const *hosts, int nhosts, enum pki_usage usage,
		       long validity_s, char *err, size_t errlen)
{
	mbedtls_x509write_cert w;
	mbedtls_mpi serial;
	mbedtls_x509write_crt_init(&w);
	mbedtls_mpi_init(&serial);
	char *pem = NULL;
	int rc;
	char nb[16], na[16];
	time_t now = time(NULL);
	fmt_time(now - 300, nb); /* tolerate a little clock skew */
	fmt_time(now + validity_s, na);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, subject_key);
	mbedtls_x509write_crt_set_issuer_key(&w, issuer_key);
	if ((rc = random_serial(&serial)) != 0 || (rc = mbedtls_x509write_crt_set_serial(&w, &serial)) != 0) {
		mbed_err(err, errlen, "serial number", rc);
		goto out;
	}
	if ((rc = mbedtls_x509write_crt_set_subject_name(&w, subject)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_issuer_name(&w, issuer)) != 0) {
		mbed_err(err, errlen, "certificate name", rc);
		goto out;
	}
	if ((rc = mbedtls_x509write_crt_set_validity(&w, nb, na)) != 0) {
		mbed_err(err, errlen, "validity", rc);
		goto out;
	}
	if ((rc = mbedtls_x509write_crt_set_basic_constraints(&w, is_ca, is_ca ? 0 : -1)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_subject_key_identifier(&w)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_authority_key_identifier(&w)) != 0) {
		mbed_err(err, errlen, "certificate extensions", rc);
		goto out;
	}
	unsigned int ku = is_ca ? (MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN | MBEDTLS_X509_KU_DIGITAL_SIGNATURE)
				: MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
	if ((rc = mbedtls_x509write_crt_set_key_usage(&w, ku)) != 0) {
		mbed_err(err, errlen, "key usage", rc);
		goto out;
	}
	if (!is_ca) {
		unsigned char ext[4096];
		size_t elen;
		eku_der(usage, ext, &elen);
		rc = mbedtls_x509write_crt_set_extension(&w, MBEDTLS_OID_EXTENDED_KEY_USAGE,
							 MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, ext, elen);
		if (rc == 0 && nhosts > 0) {
			if (san_der(hosts, nhosts, ext, sizeof ext, &elen) < 0) {
				snprintf(err, errlen, "too many or too long host names");
				goto out;
			}
			rc = mbedtls_x509write_crt_set_extension(&w, MBEDTLS_OID_SUBJECT_ALT_NAME,
								 MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, ext, elen);
		}
		if (rc != 0) {
			mbed_err(err, errlen, "certificate extensions", rc);
			goto out;
		}
	}
	unsigned char buf[8192];
	if ((rc = mbedtls_x509write_crt_pem(&w, buf, sizeof buf, tls_rng_fn, NULL)) != 0) {
		mbed_err(err, errlen, "writing the certificate", rc);
		goto out;
	}
	pem = strdup((char *)buf);
out:
	mbedtls_x509write_crt_free(&w);
	mbedtls_mpi_free(&serial);
	return pem;
}

int pki_subject_name(const mbedtls_x509_crt *crt, char *out, size_t len)
{
	char dn[512];
	if (mbedtls_x509_dn_gets(dn, sizeof dn, &crt->subject) < 0)
		return -1;
	/* dn_gets separates with ", "; the name parser wants ",". */
	size_t o = 0;
	for (size_t i = 0; dn[i] && o + 1 < len; i++) {
		if (dn[i] == ' ' && i > 0 && dn[i - 1] == ',')
			continue;
		out[o++] = dn[i];
	}
	out[o] = '\0';
	return 0;
}

int pki_ca_create(struct pki_ca *ca, const char *cn, long validity_s, char *err, size_t errlen)
{
	mbedtls_x509_crt_init(&ca->crt);
	mbedtls_pk_init(&ca->key);
	int rc = tls_gen_ec_key(&ca->key);
	if (rc != 0) {
		mbed_err(err, errlen, "generating the CA key", rc);
		pki_ca_free(ca);
		return -1;
	}
	char subj[256];
	snprintf(subj, sizeof subj, "CN=%s,O=atoll", cn);
	char *pem = write_crt(&ca->key, subj, &ca->key, subj, true, NULL, 0, PKI_CLIENT, validity_s, err, errlen);
	if (!pem || (rc = mbedtls_x509_crt_parse(&ca->crt, (unsigned char *)pem, strlen(pem) + 1)) != 0) {
		if (pem)
			mbed_err(err, errlen, "parsing the new CA", rc);
		free(pem);
		pki_ca_free(ca);
		return -1;
	}
	free(pem);
	return 0;
}

static bool valid_name_chars(const char *s)
{
	if (!*s || strlen(s) > 200)
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || strchr(":-._@", *s)))
			return false;
	return true;
}

char *pki_issue(struct pki_ca *ca, mbedtls_pk_context *subject_key, const char *cn, const char *org,
		const char *const *hosts, int nhosts, enum pki_usage usage, long validity_s, char *err, size_t errlen)
{
	if (!valid_name_chars(cn) || (org && !valid_name_chars(org))) {
		snprintf(err, errlen, "invalid certificate name \"%s\" (letters, digits and :-._@ only)", cn);
		return NULL;
	}
	char subj[512], issuer[512];
	if (org)
		snprintf(subj, sizeof subj, "CN=%s,O=%s", cn, org);
	else
		snprintf(subj, sizeof subj, "CN=%s", cn);
	if (pki_subject_name(&ca->crt, issuer, sizeof issuer) < 0) {
		snprintf(err, errlen, "cannot read the CA's name");
		return NULL;
	}
	return write_crt(subject_key, subj, &ca->key, issuer, false, hosts, nhosts, usage, validity_s, err, errlen);
}

/* ---- CSRs ----------------------------------------------------------------------- */

int pki_csr_check(const unsigned char *data, size_t len, mbedtls_x509_csr *csr, char *cn, size_t cnlen, char *err,
		  size_t errlen)
{
	mbedtls_x509_csr_init(csr);
	if (len == 0 || len > 16384) {
		snprintf(err, errlen, "the CSR is empty or too large");
		return -1;
	}
	/* The PEM parser wants a NUL-terminated buffer including the NUL. */
	unsigned char *copy = malloc(len + 1);
	memcpy(copy, data, len);
	copy[len] = '\0';
	bool pem = memmem(copy, len, "-----BEGIN", 10) != NULL;
	int rc = mbedtls_x509_csr_parse(csr, copy, pem ? len + 1 : len);
	free(copy);
	if (rc != 0) {
		mbed_err(err, errlen, "the CSR could not be parsed", rc);
		mbedtls_x509_csr_free(csr);
		return -1;
	}
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(csr->sig_md);
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	if (!md || mbedtls_md(md, csr->cri.p, csr->cri.len, hash) != 0 ||
	    mbedtls_pk_verify_ext(csr->sig_pk, csr->sig_opts, &csr->pk, csr->sig_md, hash, mbedtls_md_get_size(md),
				  csr->sig.p, csr->sig.len) != 0) {
		snprintf(err, errlen, "the CSR's signature does not match its public key");
		mbedtls_x509_csr_free(csr);
		return -1;
	}
	if (mbedtls_pk_get_type(&csr->pk) != MBEDTLS_PK_ECKEY && mbedtls_pk_get_type(&csr->pk) != MBEDTLS_PK_RSA) {
		snprintf(err, errlen, "the CSR's key type is not supported (want ECDSA or RSA)");
		mbedtls_x509_csr_free(csr);
		return -1;
	}
	if (mbedtls_pk_get_type(&csr->pk) == MBEDTLS_PK_RSA && mbedtls_pk_get_bitlen(&csr->pk) < 2048) {
		snprintf(err, errlen, "the CSR's RSA key is shorter than 2048 bits");
		mbedtls_x509_csr_free(csr);
		return -1;
	}
	if (!tls_name_attr(&csr->subject, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), cn, cnlen)) {
		snprintf(err, errlen, "the CSR has no common name (want CN=%s<cluster>)", PKI_AGENT_USER_PREFIX);
		mbedtls_x509_csr_free(csr);
		return -1;
	}
	return 0;
}

bool pki_valid_cluster_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

char *pki_sign_agent_csr(struct pki_ca *ca, mbedtls_x509_csr *csr, const char *cluster, long validity_s, char *err,
			 size_t errlen)
{
	if (!pki_valid_cluster_name(cluster)) {
		snprintf(err, errlen, "invalid cluster name \"%s\"", cluster);
		return NULL;
	}
	char cn[128];
	snprintf(cn, sizeof cn, "%s%s", PKI_AGENT_USER_PREFIX, cluster);
	return pki_issue(ca, &csr->pk, cn, PKI_AGENT_GROUP, NULL, 0, PKI_CLIENT, validity_s, err, errlen);
}

/* ---- init --------------------------------------------------------------------- */

static void say(const struct pki_init_opts *o, const char *fmt, const char *a, const char *b)
{
	if (o->out) {
		fprintf(o->out, fmt, a, b);
		fputc('\n', o->out);
	}
}

static int write_pem_file(const char *dir, const char *name, const char *pem, int mode, char *err, size_t errlen)
{
	char p[4096];
	return tls_write_file(pki_path(p, sizeof p, dir, name), pem, strlen(pem), mode, err, errlen);
}

/* hosts from pki.json, or none. */
static int read_hosts(const char *dir, char hosts[][256], int max, int *port)
{
	char p[4096], err[256];
	size_t len;
	unsigned char *data = tls_read_file(pki_path(p, sizeof p, dir, "pki.json"), &len, err, sizeof err);
	if (!data)
		return 0;
	cJSON *j = cJSON_ParseWithLength((char *)data, len);
	free(data);
	int n = 0;
	const cJSON *h;
	cJSON_ArrayForEach(h, cJSON_GetObjectItem(j, "hosts"))
	{
		if (cJSON_IsString(h) && n < max && strlen(h->valuestring) < 256)
			snprintf(hosts[n++], 256, "%s", h->valuestring);
	}
	if (port)
		*port = (int)json_get_num(j, "port", 6443);
	cJSON_Delete(j);
	return n;
}

static bool valid_host(const char *h)
{
	unsigned char ip[16];
	if (inet_pton(AF_INET, h, ip) == 1 || inet_pton(AF_INET6, h, ip) == 1)
		return true;
	size_t n = strlen(h);
	if (n == 0 || n > 253)
		return false;
	for (const char *s = h; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '.' || *s == '*'))
			return false;
	return true;
}

/* Hosts plus localhost and 127.0.0.1, without duplicates. */
static int san_list(const char *const *in, int nin, const char **out, int max)
{
	int n = 0;
	const char *extra[] = {"localhost", "127.0.0.1"};
	for (int i = 0; i < nin + 2 && n < max; i++) {
		const char *h = i < nin ? in[i] : extra[i - nin];
		bool dup = false;
		for (int j = 0; j < n; j++)
			dup |= strcasecmp(out[j], h) == 0;
		if (!dup)
			out[n++] = h;
	}
	return n;
}

static int issue_serving(struct pki_ca *ca, const char *dir, const char *const *hosts, int nhosts, long validity_s,
			 char *err, size_t errlen)
{
	mbedtls_pk_context key;
	mbedtls_pk_init(&key);
	int rc = tls_gen_ec_key(&key), ret = -1;
	char *kpem = NULL, *cpem = NULL;
	if (rc != 0) {
		mbed_err(err, errlen, "generating the serving key", rc);
		goto out;
	}
	const char *sans[PKI_MAX_HOSTS + 2];
	int nsans = san_list(hosts, nhosts, sans, PKI_MAX_HOSTS + 2);
	cpem = pki_issue(ca, &key, "atoll-hub", NULL, sans, nsans, PKI_SERVER, validity_s, err, errlen);
	kpem = tls_key_pem(&key);
	if (!cpem || !kpem)
		goto out;
	/* Key first: a reader that sees the new certificate finds its key. */
	if (write_pem_file(dir, "hub.key", kpem, 0600, err, errlen) < 0 ||
	    write_pem_file(dir, "hub.crt", cpem, 0644, err, errlen) < 0)
		goto out;
	ret = 0;
out:
	if (kpem) {
		mbedtls_platform_zeroize(kpem, strlen(kpem));
		free(kpem);
	}
	free(cpem);
	mbedtls_pk_free(&key);
	return ret;
}

char *pki_kubeconfig(const char *server, const char *ca_pem, const char *crt_pem, const char *key_pem,
		     const char *user)
{
	char *ca = tls_base64(ca_pem, strlen(ca_pem));
	char *crt = tls_base64(crt_pem, strlen(crt_pem));
	char *key = tls_base64(key_pem, strlen(key_pem));
	size_t n = strlen(ca) + strlen(crt) + strlen(key) + strlen(server) + 2 * strlen(user) + 1024;
	char *out = malloc(n);
	snprintf(out, n,
		 "apiVersion: v1\n"
		 "kind: Config\n"
		 "clusters:\n"
		 "- name: atoll\n"
		 "  cluster:\n"
		 "    server: %s\n"
		 "    certificate-authority-data: %s\n"
		 "contexts:\n"
		 "- name: %s@atoll\n"
		 "  context:\n"
		 "    cluster: atoll\n"
		 "    user: %s\n"
		 "current-context: %s@atoll\n"
		 "preferences: {}\n"
		 "users:\n"
		 "- name: %s\n"
		 "  user:\n"
		 "    client-certificate-data: %s\n"
		 "    client-key-data: %s\n",
		 server, ca, user, user, user, user, crt, key);
	free(ca);
	free(crt);
	mbedtls_platform_zeroize(key, strlen(key));
	free(key);
	return out;
}

static bool same_hosts(char stored[][256], int nstored, const char *const *hosts, int nhosts)
{
	if (nstored != nhosts)
		return false;
	for (int i = 0; i < nhosts; i++)
		if (strcmp(stored[i], hosts[i]) != 0)
			return false;
	return true;
}

static char *read_text(const char *dir, const char *name, char *err, size_t errlen)
{
	char p[4096];
	return (char *)tls_read_file(pki_path(p, sizeof p, dir, name), NULL, err, errlen);
}

int pki_init(const struct pki_init_opts *o, char *err, size_t errlen)
{
	const char *dir = o->dir;
	char p[4096], p2[4096];
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < o->nhosts; i++)
		if (!valid_host(o->hosts[i])) {
			snprintf(err, errlen, "invalid host \"%s\" (want a DNS name or an IP address)", o->hosts[i]);
			return -1;
		}
	/* Hosts and port: as given, else as stored, else localhost. */
	char stored[PKI_MAX_HOSTS][256];
	int stored_port = 6443;
	int nstored = read_hosts(dir, stored, PKI_MAX_HOSTS, &stored_port);
	const char *hosts[PKI_MAX_HOSTS];
	int nhosts = 0;
	if (o->nhosts > 0) {
		for (int i = 0; i < o->nhosts && i < PKI_MAX_HOSTS; i++)
			hosts[nhosts++] = o->hosts[i];
	} else if (nstored > 0) {
		for (int i = 0; i < nstored; i++)
			hosts[nhosts++] = stored[i];
	} else {
		hosts[nhosts++] = "127.0.0.1";
	}
	int port = o->port > 0 ? o->port : (nstored > 0 ? stored_port : 6443);

	struct pki_ca ca;
	bool have_ca = file_exists(pki_path(p, sizeof p, dir, "ca.crt")) || file_exists(pki_path(p2, sizeof p2, dir, "ca.key"));
	if (have_ca) {
		if (pki_ca_load(&ca, dir, err, errlen) < 0)
			return -1;
		say(o, "kept %s/ca.crt%s", dir, "");
	} else {
		if (pki_ca_create(&ca, "atoll-ca", PKI_CA_VALIDITY_S, err, errlen) < 0)
			return -1;
		char *kpem = tls_key_pem(&ca.key), *cpem = tls_crt_pem(&ca.crt);
		int rc = (kpem && cpem && write_pem_file(dir, "ca.key", kpem, 0600, err, errlen) == 0 &&
			  write_pem_file(dir, "ca.crt", cpem, 0644, err, errlen) == 0)
				 ? 0
				 : -1;
		if (kpem)
			mbedtls_platform_zeroize(kpem, strlen(kpem));
		free(kpem);
		free(cpem);
		if (rc < 0) {
			pki_ca_free(&ca);
			return -1;
		}
		say(o, "wrote %s/ca.crt and ca.key (the cluster CA)%s", dir, "");
	}
	int ret = -1;
	char *ca_pem = NULL, *crt_pem = NULL, *key_pem = NULL, *kc = NULL;

	/* Serving certificate: kept unless the hosts changed. */
	bool have_serving = file_exists(pki_path(p, sizeof p, dir, "hub.crt")) && file_exists(pki_path(p2, sizeof p2, dir, "hub.key"));
	if (!have_serving || (o->nhosts > 0 && !same_hosts(stored, nstored, hosts, nhosts))) {
		if (issue_serving(&ca, dir, hosts, nhosts, o->serving_validity_s ? o->serving_validity_s : PKI_SERVING_VALIDITY_S,
				  err, errlen) < 0)
			goto out;
		say(o, have_serving ? "re-issued %s/hub.crt for the new host list%s" : "wrote %s/hub.crt and hub.key (serving certificate)%s",
		    dir, "");
	} else {
		say(o, "kept %s/hub.crt%s", dir, "");
	}
	cJSON *pj = cJSON_CreateObject();
	cJSON *ha = cJSON_AddArrayToObject(pj, "hosts");
	for (int i = 0; i < nhosts; i++)
		cJSON_AddItemToArray(ha, cJSON_CreateString(hosts[i]));
	cJSON_AddNumberToObject(pj, "port", port);
	char *pjs = cJSON_Print(pj);
	cJSON_Delete(pj);
	int wrc = tls_write_file(pki_path(p, sizeof p, dir, "pki.json"), pjs, strlen(pjs), 0644, err, errlen);
	free(pjs);
	if (wrc < 0)
		goto out;

	/* Admin client certificate. */
	if (!(file_exists(pki_path(p, sizeof p, dir, "admin.crt")) && file_exists(pki_path(p2, sizeof p2, dir, "admin.key")))) {
		mbedtls_pk_context key;
		mbedtls_pk_init(&key);
		int rc = tls_gen_ec_key(&key);
		char *kpem = rc == 0 ? tls_key_pem(&key) : NULL;
		char *cpem = kpem ? pki_issue(&ca, &key, "admin", PKI_ADMIN_GROUP, NULL, 0, PKI_CLIENT, PKI_ADMIN_VALIDITY_S, err, errlen) : NULL;
		mbedtls_pk_free(&key);
		rc = (cpem && write_pem_file(dir, "admin.key", kpem, 0600, err, errlen) == 0 &&
		      write_pem_file(dir, "admin.crt", cpem, 0644, err, errlen) == 0)
			     ? 0
			     : -1;
		if (kpem)
			mbedtls_platform_zeroize(kpem, strlen(kpem));
		free(kpem);
		free(cpem);
		if (rc < 0) {
			if (!err[0])
				snprintf(err, errlen, "cannot create the admin certificate");
			goto out;
		}
		say(o, "wrote %s/admin.crt and admin.key (user admin, group system:masters)%s", dir, "");
	} else {
		say(o, "kept %s/admin.crt%s", dir, "");
	}
	ca_pem = read_text(dir, "ca.crt", err, errlen);
	crt_pem = read_text(dir, "admin.crt", err, errlen);
	key_pem = read_text(dir, "admin.key", err, errlen);
	if (!ca_pem || !crt_pem || !key_pem)
		goto out;
	char server[400];
	bool v6 = strchr(hosts[0], ':') != NULL;
	snprintf(server, sizeof server, v6 ? "https://[%s]:%d" : "https://%s:%d", hosts[0], port);
	kc = pki_kubeconfig(server, ca_pem, crt_pem, key_pem, "admin");
	if (tls_write_file(pki_path(p, sizeof p, dir, "admin.kubeconfig"), kc, strlen(kc), 0600, err, errlen) < 0)
		goto out;
	say(o, "wrote %s/admin.kubeconfig (server %s)", dir, server);
	char hash[80];
	tls_spki_sha256(&ca.crt, hash, sizeof hash);
	say(o, "CA certificate hash: %s%s", hash, "");
	ret = 0;
out:
	pki_ca_free(&ca);
	free(ca_pem);
	free(crt_pem);
	if (key_pem)
		mbedtls_platform_zeroize(key_pem, strlen(key_pem));
	free(key_pem);
	if (kc)
		mbedtls_platform_zeroize(kc, strlen(kc));
	free(kc);
	return ret;
}

int pki_renew_serving_if_due(const char *dir, time_t now, char *err, size_t errlen)
{
	char p[4096];
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	int rc = mbedtls_x509_crt_parse_file(&crt, pki_path(p, sizeof p, dir, "hub.crt"));
	if (rc != 0) {
		mbed_err(err, errlen, p, rc);
		mbedtls_x509_crt_free(&crt);
		return -1;
	}
	time_t nb = tls_crt_not_before(&crt), na = tls_crt_not_after(&crt);
	mbedtls_x509_crt_free(&crt);
	long life = (long)(na - nb), left = (long)(na - now);
	long threshold = life / 3;
	if (threshold > 30L * 86400)
		threshold = 30L * 86400;
	if (left > threshold)
		return 0;
	char stored[PKI_MAX_HOSTS][256];
	int port;
	int n = read_hosts(dir, stored, PKI_MAX_HOSTS, &port);
	const char *hosts[PKI_MAX_HOSTS];
	for (int i = 0; i < n; i++)
		hosts[i] = stored[i];
	struct pki_ca ca;
	if (pki_ca_load(&ca, dir, err, errlen) < 0)
		return -1;
	rc = issue_serving(&ca, dir, hosts, n, PKI_SERVING_VALIDITY_S, err, errlen);
	pki_ca_free(&ca);
	return rc < 0 ? -1 : 1;
}
