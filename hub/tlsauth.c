#include "tlsauth.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accessreview.h"
#include "joinapi.h"
#include "log.h"
#include "numparse.h"
#include "pki.h"
#include "timefmt.h"
#include "tls.h"

struct tlsauth {
	struct event_base *base;
	struct auth *au;
	struct joinapi *join;
	struct tls_server *tls;
	struct tls_server *plain; /* limits of the insecure listener */
	struct tlsauth_opts o;
	struct event *renew;
	char dir[4096], cert[4096], key[4096], tickets[4096];
	struct timespec cert_mtime, key_mtime;
};

static struct timespec mtime_of(const char *p)
{
	struct stat st;
	struct timespec z = {0, 0};
	return stat(p, &st) == 0 ? st.st_mtim : z;
}

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Renews the serving certificate when due, and reloads it into new TLS
 * sessions whenever the files change (renewed here or replaced by an
 * operator). Open connections keep the certificate they negotiated. */
static void on_renew(evutil_socket_t fd, short what, void *arg)
{
	struct tlsauth *s = arg;
	char err[512];
	char defcert[4096];
	pki_path(defcert, sizeof defcert, s->dir, "hub.crt");
	if (strcmp(defcert, s->cert) == 0) {
		int r = pki_renew_serving_if_due(s->dir, time(NULL), err, sizeof err);
		if (r < 0)
			log_warn("cannot renew the serving certificate: %s", err);
		else if (r == 1)
			log_info("renewed the serving certificate %s", s->cert);
	}
	struct timespec cm = mtime_of(s->cert), km = mtime_of(s->key);
	if (ts_eq(cm, s->cert_mtime) && ts_eq(km, s->key_mtime))
		return;
	if (tls_server_reload(s->tls, err, sizeof err) < 0) {
		log_warn("keeping the current TLS certificate: %s", err);
		return;
	}
	s->cert_mtime = cm;
	s->key_mtime = km;
	log_info("TLS certificate reloaded from %s; new connections use it", s->cert);
}

struct tlsauth *tlsauth_start(struct event_base *base, struct apiserver *api, const struct tlsauth_opts *o, int *tls_port,
			    char *err, size_t errlen)
{
	struct tlsauth *s = calloc(1, sizeof *s);
	s->base = base;
	s->o = *o;
	snprintf(s->dir, sizeof s->dir, "%s", o->data_dir);
	s->au = auth_new(o->data_dir);
	apiserver_set_authorizer(api, auth_apiserver_hook, s->au);
	accessreview_register(api, s->au); /* kubectl auth can-i */
	*tls_port = 0;
	char ca[4096];
	if (o->client_ca_file)
		snprintf(ca, sizeof ca, "%s", o->client_ca_file);
	else
		pki_path(ca, sizeof ca, o->data_dir, "ca.crt");
	/* The join endpoint needs the CA's key; without init there is none. */
	char jerr[512];
	s->join = joinapi_new(api, s->au, o->data_dir, jerr, sizeof jerr);
	if (!s->join && o->listen)
		log_warn("agents cannot join: %s (run atoll-hub init)", jerr);
	if (!o->listen)
		return s;
	if (o->cert_file)
		snprintf(s->cert, sizeof s->cert, "%s", o->cert_file);
	else
		pki_path(s->cert, sizeof s->cert, o->data_dir, "hub.crt");
	if (o->key_file)
		snprintf(s->key, sizeof s->key, "%s", o->key_file);
	else
		pki_path(s->key, sizeof s->key, o->data_dir, "hub.key");
	if (access(s->cert, R_OK) != 0 || access(s->key, R_OK) != 0) {
		snprintf(err, errlen, "no serving certificate at %s (run atoll-hub init --data-dir %s --hosts NAME,IP first)",
			 s->cert, o->data_dir);
		tlsauth_free(s);
		return NULL;
	}
	/* Renew first so that the listener starts with a fresh certificate. */
	char defcert[4096];
	if (strcmp(pki_path(defcert, sizeof defcert, o->data_dir, "hub.crt"), s->cert) == 0 &&
	    pki_renew_serving_if_due(o->data_dir, time(NULL), jerr, sizeof jerr) == 1)
		log_info("renewed the serving certificate %s", s->cert);
	s->cert_mtime = mtime_of(s->cert);
	s->key_mtime = mtime_of(s->key);
	struct tls_server_opts to = {
		.cert_file = s->cert,
		.key_file = s->key,
		.client_ca_file = access(ca, R_OK) == 0 ? ca : NULL,
		.handshake_timeout_ms = (int)o->handshake_timeout_ms,
		.first_byte_timeout_ms = (int)o->first_byte_timeout_ms,
		.header_timeout_ms = (int)o->header_timeout_ms,
		.max_conns = o->max_conns,
		.max_conns_per_client = o->max_conns_per_client,
		.max_pending_per_client = o->max_pending_per_client,
		/* Session tickets survive a restart: agents resume instead of a storm of full handshakes. */
		.ticket_key_file = pki_path(s->tickets, sizeof s->tickets, o->data_dir, "tls-ticket.keys"),
	};
	if (!to.client_ca_file)
		log_warn("no client CA at %s: client certificates are not accepted", ca);
	s->tls = tls_server_new(base, &to, err, errlen);
	if (!s->tls) {
		tlsauth_free(s);
		return NULL;
	}
	int port = apiserver_listen_bev(api, o->listen, tls_server_bevcb, s->tls, err, errlen);
	if (port < 0) {
		tlsauth_free(s);
		return NULL;
	}
	*tls_port = port;
	long long iv = o->check_interval_ms > 0 ? o->check_interval_ms : 3600 * 1000LL;
	s->renew = event_new(base, -1, EV_PERSIST, on_renew, s);
	struct timeval tv = {(time_t)(iv / 1000), (suseconds_t)(iv % 1000) * 1000};
	event_add(s->renew, &tv);
	return s;
}

struct auth *tlsauth_auth(struct tlsauth *s) { return s ? s->au : NULL; }

int tlsauth_listen_insecure(struct tlsauth *s, struct apiserver *api, const char *hostport, char *err, size_t errlen)
{
	struct tls_server_opts po = {
		.plain = true,
		.first_byte_timeout_ms = (int)s->o.first_byte_timeout_ms,
		.header_timeout_ms = (int)s->o.header_timeout_ms,
		.max_conns = s->o.max_conns,
		.max_conns_per_client = s->o.max_conns_per_client,
		.max_pending_per_client = s->o.max_pending_per_client,
	};
	if (!s->plain)
		s->plain = tls_server_new(s->base, &po, err, errlen);
	if (!s->plain)
		return -1;
	evhttp_set_bevcb(apiserver_http(api), tls_server_bevcb, s->plain);
	return apiserver_listen_insecure(api, hostport, err, errlen);
}

void tlsauth_free(struct tlsauth *s)
{
	if (!s)
		return;
	if (s->renew)
		event_free(s->renew);
	tls_server_free(s->tls);
	tls_server_free(s->plain);
	joinapi_free(s->join);
	auth_free(s->au);
	free(s);
}

/* ---- atoll-hub init -------------------------------------------------------------- */

static void init_usage(FILE *f)
{
	fputs("Usage: atoll-hub init --data-dir DIR --hosts NAME,IP,... [--port PORT]\n"
	      "\n"
	      "Creates the hub's trust with mbedTLS: a CA (DIR/ca.crt, ca.key), the serving certificate\n"
	      "for the given hosts plus localhost and 127.0.0.1 (DIR/hub.crt, hub.key), an admin client\n"
	      "certificate (CN admin, O system:masters) and DIR/admin.kubeconfig pointing at\n"
	      "https://<first host>:<port> with everything embedded. Re-running keeps the CA and keys;\n"
	      "a changed host list re-issues the serving certificate. Private keys are written 0600.\n"
	      "\n"
	      "Options:\n"
	      "  --data-dir DIR                  the hub's data directory (created if missing)\n"
	      "  --hosts LIST                    comma-separated DNS names and IP addresses clients use\n"
	      "  --port PORT                     the HTTPS port in the kubeconfig (default 6443)\n"
	      "  --serving-cert-validity DUR     lifetime of the serving certificate (default 8760h)\n"
	      "  -h, --help                      show this help\n",
	      f);
}

int tlsauth_init_main(int argc, char **argv)
{
	struct pki_init_opts o;
	memset(&o, 0, sizeof o);
	char *hosts = NULL;
	static const struct option opts[] = {
		{"data-dir", required_argument, NULL, 'd'},
		{"hosts", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"serving-cert-validity", required_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o.dir = optarg; break;
		case 'H': hosts = optarg; break;
		case 'p':
			if (num_parse_int(optarg, 1, 65535, &o.port) < 0) {
				fprintf(stderr, "atoll-hub init: invalid --port %s\n", optarg);
				return 2;
			}
			break;
		case 'V': {
			long long ms;
			if (time_parse_duration_ms(optarg, &ms) < 0 || ms < 1000) {
				fprintf(stderr, "atoll-hub init: invalid --serving-cert-validity %s (want e.g. 8760h)\n", optarg);
				return 2;
			}
			o.serving_validity_s = (long)(ms / 1000);
			break;
		}
		case 'h': init_usage(stdout); return 0;
		default: init_usage(stderr); return 2;
		}
	}
	if (!o.dir || optind < argc) {
		fprintf(stderr, "atoll-hub init: --data-dir is required\n\n");
		init_usage(stderr);
		return 2;
	}
	char *copy = hosts ? strdup(hosts) : NULL;
	for (char *save = NULL, *h = copy ? strtok_r(copy, ",", &save) : NULL; h; h = strtok_r(NULL, ",", &save)) {
		while (*h == ' ')
			h++;
		if (!*h)
			continue;
		if (o.nhosts == PKI_MAX_HOSTS) {
			fprintf(stderr, "atoll-hub init: at most %d hosts\n", PKI_MAX_HOSTS);
			free(copy);
			return 2;
		}
		o.hosts[o.nhosts++] = h;
	}
	o.out = stdout;
	char err[512] = "";
	int rc = pki_init(&o, err, sizeof err);
	free(copy);
	if (rc < 0) {
		fprintf(stderr, "atoll-hub init: %s\n", err);
		return 1;
	}
	return 0;
}
