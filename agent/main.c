/* atoll-agent — command line, configuration file and start-up. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "hubclient.h"
#include "jsonutil.h"
#include "watch.h"
#include "works.h"
#include "timefmt.h"
#include "yamljson.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

static void usage(FILE *f)
{
	fputs("Usage: atoll-agent --hub URL --cluster-name NAME [--token-file F --ca-cert-hash sha256:H]\n"
	      "                   [--kubeconfig FILE] [--state-dir DIR] [options]\n"
	      "\n"
	      "Joins a member cluster to an Atoll hub: registers it, keeps its Lease and status\n"
	      "current, long-polls the Works assigned to it and applies them to the member's\n"
	      "Kubernetes API (server-side apply, field manager atoll-agent), removes what is no\n"
	      "longer assigned and reports status back. Without --kubeconfig it uses the in-cluster\n"
	      "service account (" SA_DIR ",\n"
	      "KUBERNETES_SERVICE_HOST/PORT), verifying the member's certificate as kubectl does.\n"
	      "\n"
	      "Joining: with --token (or --token-file) and --ca-cert-hash (both printed by\n"
	      "`atoll-hub token create`)\n"
	      "the agent fetches the hub's CA, checks it against the hash before it sends the token,\n"
	      "and gets a certificate for its cluster signed by the hub. Key, certificate and CA are\n"
	      "kept in --state-dir (agent.key, agent.crt, ca.crt; mode 0600) and used from then on,\n"
	      "also after a restart (the token is not needed then); the certificate is renewed\n"
	      "before it expires.\n"
	      "\n"
	      "Options:\n"
	      "  --hub URL[,URL...]            the hub's address, e.g. https://hub.example:6443; several\n"
	      "                                replicas of one hub (shared store) comma-separated\n"
	      "  --cluster-name NAME           this member's name on the hub (Cluster object)\n"
	      "  --kubeconfig FILE             kubeconfig of the member cluster\n"
	      "  --context NAME                kubeconfig context (default: current-context)\n"
	      "  --region REGION               spec.region of the Cluster\n"
	      "  --zone ZONE                   spec.zones of the Cluster (repeat, or comma-separated)\n"
	      "  --provider NAME               spec.provider of the Cluster\n"
	      "  --labels k=v,...              labels of the Cluster\n"
	      "  --api-endpoint URL            spec.apiEndpoint (default: the kubeconfig's server)\n"
	      "  --advertise-api-server URL    the member's API server as other clusters reach it, in the\n"
	      "                                kubeconfig of its Istio remote secret (default: the\n"
	      "                                kubeconfig's server)\n"
	      "  --config FILE                 YAML file with any of these options (camelCase keys:\n"
	      "                                hub, clusterName, kubeconfig, context, region, zones,\n"
	      "                                provider, labels, apiEndpoint, advertiseAPIServer,\n"
	      "                                stateDir, logLevel,\n"
	      "                                logFormat, leaseDuration, heartbeatInterval,\n"
	      "                                pollTimeout, hubCAFile, token, tokenFile,\n"
	      "                                caCertHash, certRenewBefore); flags override it\n"
	      "  --token ID.SECRET             bootstrap token for the first join (atoll-hub token create)\n"
	      "  --token-file FILE             the same, read from a file (a mounted Secret, a systemd\n"
	      "                                credential), so it is not on the command line\n"
	      "  --ca-cert-hash sha256:HEX     the hub CA's hash: the join trusts only that CA\n"
	      "  --state-dir DIR               the agent's key, certificate and CA, and the kinds it manages\n"
	      "  --cert-renew-before DURATION  renew the certificate when less than this remains\n"
	      "                                (default: a third of its lifetime)\n"
	      "  --lease-duration DURATION     Lease duration (default 40s)\n"
	      "  --heartbeat-interval DURATION Lease renewal and status period (default 10s)\n"
	      "  --poll-timeout DURATION       how long one long-poll may wait (default 30s; at most the\n"
	      "                                heartbeat interval, as the poll carries the heartbeat)\n"
	      "  --hub-ca-file FILE            CA bundle that signs the hub's certificate\n"
	      "  --hub-cert-file FILE          client certificate towards the hub\n"
	      "  --hub-key-file FILE           its key\n"
	      "  --hub-insecure-skip-tls-verify  do not verify the hub's certificate (tests only)\n"
	      "  --proxy-url URL               reach the hub through this forward proxy (http://host:port;\n"
	      "                                CONNECT for https); default: HTTPS_PROXY/HTTP_PROXY/NO_PROXY\n"
	      "  --log-level LEVEL             debug, info, warn or error (default info)\n"
	      "  --log-format FORMAT           text or json (default text)\n"
	      "  -h, --help                    show this help\n",
	      f);
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? strdup(v) : NULL;
}

/* The bootstrap token from a file (a mounted Secret, a systemd credential),
 * so it never appears on a command line: surrounding whitespace ignored. */
static void read_token_file(struct agent_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "token file %s: %s", path, strerror(errno));
		return;
	}
	char buf[4097];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	bool more = fgetc(f) != EOF;
	fclose(f);
	buf[n] = '\0';
	char *t = buf;
	while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
		t++;
	size_t len = strlen(t);
	while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t' || t[len - 1] == '\n' || t[len - 1] == '\r'))
		t[--len] = '\0';
	if (more)
		snprintf(err, errlen, "token file %s: larger than 4 KiB", path);
	else if (len == 0)
		snprintf(err, errlen, "token file %s is empty", path);
	else
		set_str(&c->hub_tls.token, t);
	memset(buf, 0, sizeof buf);
}

static int add_zones(struct agent_config *c, const char *list)
{
	char *dup = strdup(list), *save = NULL;
	for (char *z = strtok_r(dup, ",", &save); z; z = strtok_r(NULL, ",", &save)) {
		while (*z == ' ')
			z++;
		if (!*z)
			continue;
		if (c->nzones >= 8) {
			free(dup);
			return -1;
		}
		c->zones[c->nzones++] = strdup(z);
	}
	free(dup);
	return 0;
}

static int parse_labels(struct agent_config *c, const char *s, char *err, size_t errlen)
{
	if (!c->labels)
		c->labels = cJSON_CreateObject();
	char *dup = strdup(s), *save = NULL;
	for (char *kv = strtok_r(dup, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq || eq == kv) {
			snprintf(err, errlen, "invalid label \"%s\" (want key=value)", kv);
			free(dup);
			return -1;
		}
		*eq = '\0';
		json_set_str(c->labels, kv, eq + 1);
	}
	free(dup);
	return 0;
}

static int parse_seconds(const char *v, int *out, char *err, size_t errlen, const char *what)
{
	long long ms;
	if (time_parse_duration_ms(v, &ms) < 0 || ms < 1000 || ms > 3600000) {
		snprintf(err, errlen, "invalid %s %s (want a duration from 1s to 1h, e.g. 10s)", what, v);
		return -1;
	}
	*out = (int)(ms / 1000);
	return 0;
}

static void set_ca_hash(struct agent_config *c, const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v);
	bool ok = n == 7 + 64 && strncasecmp(v, "sha256:", 7) == 0;
	for (size_t i = 7; ok && i < n; i++)
		ok = isxdigit((unsigned char)v[i]) != 0;
	if (!ok) {
		snprintf(err, errlen, "invalid --ca-cert-hash \"%s\" (want sha256:<64 hex digits>, as atoll-hub token create prints it)", v);
		return;
	}
	set_str(&c->hub_tls.ca_cert_hash, v);
}

static void parse_renew_before(struct agent_config *c, const char *v, char *err, size_t errlen)
{
	long long ms;
	if (time_parse_duration_ms(v, &ms) < 0 || ms < 1000) {
		snprintf(err, errlen, "invalid --cert-renew-before %s (want a duration, e.g. 720h)", v);
		return;
	}
	c->hub_tls.renew_before_s = ms / 1000;
}

static int apply_config_file(struct agent_config *c, const char *path, char *err, size_t errlen)
{
	char perr[512];
	cJSON *docs = yaml_parse_file(path, perr, sizeof perr);
	if (!docs) {
		snprintf(err, errlen, "config %s: %s", path, perr);
		return -1;
	}
	cJSON *d = cJSON_GetArrayItem(docs, 0);
	int rc = -1;
	if (!cJSON_IsObject(d) || cJSON_GetArraySize(docs) != 1) {
		snprintf(err, errlen, "config %s: expected one YAML mapping", path);
		goto out;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, d) {
		const char *k = it->string;
		char num[32];
		const char *v = cJSON_IsString(it) ? it->valuestring : NULL;
		if (cJSON_IsNumber(it)) {
			snprintf(num, sizeof num, "%ds", (int)it->valuedouble);
			v = num;
		}
		char e2[256] = "";
		if (strcmp(k, "zones") == 0 && cJSON_IsArray(it)) {
			const cJSON *z;
			cJSON_ArrayForEach(z, it)
				if (!cJSON_IsString(z) || add_zones(c, z->valuestring) < 0) {
					snprintf(err, errlen, "config %s: zones: expected at most 8 strings", path);
					goto out;
				}
			continue;
		}
		if (strcmp(k, "labels") == 0 && cJSON_IsObject(it)) {
			if (!c->labels)
				c->labels = cJSON_CreateObject();
			const cJSON *l;
			cJSON_ArrayForEach(l, it) {
				if (!cJSON_IsString(l)) {
					snprintf(err, errlen, "config %s: labels.%s: expected a string", path, l->string);
					goto out;
				}
				json_set_str(c->labels, l->string, l->valuestring);
			}
			continue;
		}
		if (!v) {
			snprintf(err, errlen, "config %s: %s: expected a string", path, k);
			goto out;
		}
		if (strcmp(k, "hub") == 0)
			set_str(&c->hub_url, v);
		else if (strcmp(k, "clusterName") == 0)
			set_str(&c->cluster, v);
		else if (strcmp(k, "kubeconfig") == 0)
			set_str(&c->kubeconfig, v);
		else if (strcmp(k, "context") == 0)
			set_str(&c->context, v);
		else if (strcmp(k, "region") == 0)
			set_str(&c->region, v);
		else if (strcmp(k, "zones") == 0 || strcmp(k, "zone") == 0) {
			if (add_zones(c, v) < 0)
				snprintf(e2, sizeof e2, "at most 8 zones");
		} else if (strcmp(k, "provider") == 0)
			set_str(&c->provider, v);
		else if (strcmp(k, "labels") == 0)
			parse_labels(c, v, e2, sizeof e2);
		else if (strcmp(k, "apiEndpoint") == 0)
			set_str(&c->api_endpoint, v);
		else if (strcmp(k, "advertiseAPIServer") == 0)
			set_str(&c->advertise_api_server, v);
		else if (strcmp(k, "stateDir") == 0)
			set_str(&c->state_dir, v);
		else if (strcmp(k, "logLevel") == 0) {
			if (log_parse_level(v, &c->level) < 0)
				snprintf(e2, sizeof e2, "unknown log level %s", v);
		} else if (strcmp(k, "logFormat") == 0) {
			if (log_parse_format(v, &c->fmt) < 0)
				snprintf(e2, sizeof e2, "unknown log format %s", v);
		} else if (strcmp(k, "leaseDuration") == 0)
			parse_seconds(v, &c->lease_s, e2, sizeof e2, "leaseDuration");
		else if (strcmp(k, "heartbeatInterval") == 0)
			parse_seconds(v, &c->renew_s, e2, sizeof e2, "heartbeatInterval");
		else if (strcmp(k, "pollTimeout") == 0)
			parse_seconds(v, &c->poll_timeout_s, e2, sizeof e2, "pollTimeout");
		else if (strcmp(k, "hubCAFile") == 0)
			set_str(&c->hub_tls.ca_file, v);
		else if (strcmp(k, "token") == 0)
			set_str(&c->hub_tls.token, v);
		else if (strcmp(k, "tokenFile") == 0)
			read_token_file(c, v, e2, sizeof e2);
		else if (strcmp(k, "caCertHash") == 0)
			set_ca_hash(c, v, e2, sizeof e2);
		else if (strcmp(k, "certRenewBefore") == 0)
			parse_renew_before(c, v, e2, sizeof e2);
		else
			snprintf(e2, sizeof e2, "unknown key");
		if (e2[0]) {
			snprintf(err, errlen, "config %s: %s: %s", path, k, e2);
			goto out;
		}
	}
	rc = 0;
out:
	cJSON_Delete(docs);
	return rc;
}

void agent_free_config(struct agent_config *c)
{
	free(c->hub_url);
	for (int i = 0; i < c->nhubs; i++)
		free(c->hub_urls[i]);
	free(c->cluster);
	free(c->kubeconfig);
	free(c->context);
	free(c->region);
	free(c->provider);
	free(c->api_endpoint);
	free(c->advertise_api_server);
	for (int i = 0; i < c->nzones; i++)
		free(c->zones[i]);
	cJSON_Delete(c->labels);
	free(c->state_dir);
	free(c->hub_tls.ca_file);
	free(c->hub_tls.cert_file);
	free(c->hub_tls.key_file);
	free(c->hub_tls.pinned_pubkey);
	free(c->hub_tls.bearer_token);
	free(c->hub_tls.proxy_url);
	if (c->hub_tls.token)
		memset(c->hub_tls.token, 0, strlen(c->hub_tls.token));
	free(c->hub_tls.token);
	free(c->hub_tls.ca_cert_hash);
	memset(c, 0, sizeof *c);
}

enum {
	O_HUB = 256, O_CLUSTER, O_KUBECONFIG, O_CONTEXT, O_REGION, O_ZONE, O_PROVIDER, O_LABELS, O_ENDPOINT, O_CONFIG,
	O_STATE, O_LEASE, O_RENEW, O_POLL, O_HUBCA, O_HUBCERT, O_HUBKEY, O_HUBINSECURE, O_PROXY, O_LEVEL, O_FORMAT,
	O_TOKEN, O_TOKENFILE, O_CAHASH, O_RENEWBEFORE, O_ADVERTISE,
};

static const struct option opts[] = {
	{"hub", required_argument, NULL, O_HUB},
	{"cluster-name", required_argument, NULL, O_CLUSTER},
	{"kubeconfig", required_argument, NULL, O_KUBECONFIG},
	{"context", required_argument, NULL, O_CONTEXT},
	{"region", required_argument, NULL, O_REGION},
	{"zone", required_argument, NULL, O_ZONE},
	{"zones", required_argument, NULL, O_ZONE},
	{"provider", required_argument, NULL, O_PROVIDER},
	{"labels", required_argument, NULL, O_LABELS},
	{"api-endpoint", required_argument, NULL, O_ENDPOINT},
	{"advertise-api-server", required_argument, NULL, O_ADVERTISE},
	{"config", required_argument, NULL, O_CONFIG},
	{"state-dir", required_argument, NULL, O_STATE},
	{"lease-duration", required_argument, NULL, O_LEASE},
	{"heartbeat-interval", required_argument, NULL, O_RENEW},
	{"poll-timeout", required_argument, NULL, O_POLL},
	{"hub-ca-file", required_argument, NULL, O_HUBCA},
	{"hub-cert-file", required_argument, NULL, O_HUBCERT},
	{"hub-key-file", required_argument, NULL, O_HUBKEY},
	{"hub-insecure-skip-tls-verify", no_argument, NULL, O_HUBINSECURE},
	{"proxy-url", required_argument, NULL, O_PROXY},
	{"token", required_argument, NULL, O_TOKEN},
	{"token-file", required_argument, NULL, O_TOKENFILE},
	{"ca-cert-hash", required_argument, NULL, O_CAHASH},
	{"cert-renew-before", required_argument, NULL, O_RENEWBEFORE},
	{"log-level", required_argument, NULL, O_LEVEL},
	{"log-format", required_argument, NULL, O_FORMAT},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Returns 0 to run, 1 to exit 0 (help), 2 on a usage error. */
static int parse_args(int argc, char **argv, struct agent_config *c)
{
	char err[1024] = "";
	/* The config file first, so flags override it. */
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			v = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			v = argv[i] + 9;
		if (v && apply_config_file(c, v, err, sizeof err) < 0) {
			fprintf(stderr, "atoll-agent: %s\n", err);
			return 2;
		}
	}
	int ch;
	optind = 1;
	bool cli_zones = false;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case O_HUB: set_str(&c->hub_url, optarg); break;
		case O_CLUSTER: set_str(&c->cluster, optarg); break;
		case O_KUBECONFIG: set_str(&c->kubeconfig, optarg); break;
		case O_CONTEXT: set_str(&c->context, optarg); break;
		case O_REGION: set_str(&c->region, optarg); break;
		case O_ZONE:
			if (!cli_zones) {
				for (int i = 0; i < c->nzones; i++)
					free(c->zones[i]);
				c->nzones = 0;
				cli_zones = true;
			}
			if (add_zones(c, optarg) < 0)
				snprintf(err, sizeof err, "at most 8 zones");
			break;
		case O_PROVIDER: set_str(&c->provider, optarg); break;
		case O_LABELS: parse_labels(c, optarg, err, sizeof err); break;
		case O_ENDPOINT: set_str(&c->api_endpoint, optarg); break;
		case O_ADVERTISE: set_str(&c->advertise_api_server, optarg); break;
		case O_CONFIG: break;
		case O_STATE: set_str(&c->state_dir, optarg); break;
		case O_LEASE: parse_seconds(optarg, &c->lease_s, err, sizeof err, "--lease-duration"); break;
		case O_RENEW: parse_seconds(optarg, &c->renew_s, err, sizeof err, "--heartbeat-interval"); break;
		case O_POLL: parse_seconds(optarg, &c->poll_timeout_s, err, sizeof err, "--poll-timeout"); break;
		case O_HUBCA: set_str(&c->hub_tls.ca_file, optarg); break;
		case O_HUBCERT: set_str(&c->hub_tls.cert_file, optarg); break;
		case O_HUBKEY: set_str(&c->hub_tls.key_file, optarg); break;
		case O_HUBINSECURE: c->hub_tls.insecure_skip_verify = true; break;
		case O_PROXY: set_str(&c->hub_tls.proxy_url, optarg); break;
		case O_TOKEN: set_str(&c->hub_tls.token, optarg); break;
		case O_TOKENFILE: read_token_file(c, optarg, err, sizeof err); break;
		case O_CAHASH: set_ca_hash(c, optarg, err, sizeof err); break;
		case O_RENEWBEFORE: parse_renew_before(c, optarg, err, sizeof err); break;
		case O_LEVEL:
			if (log_parse_level(optarg, &c->level) < 0)
				snprintf(err, sizeof err, "unknown log level %s (want debug, info, warn or error)", optarg);
			break;
		case O_FORMAT:
			if (log_parse_format(optarg, &c->fmt) < 0)
				snprintf(err, sizeof err, "unknown log format %s (want text or json)", optarg);
			break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return 2;
		}
		if (err[0]) {
			fprintf(stderr, "atoll-agent: %s\n", err);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "atoll-agent: unexpected argument \"%s\"\n\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!c->hub_url || !c->cluster) {
		fprintf(stderr, "atoll-agent: --hub and --cluster-name are required\n\n");
		usage(stderr);
		return 2;
	}
	/* Several hub replicas (same store): --hub URL1,URL2,... */
	char *dup = strdup(c->hub_url), *save = NULL;
	for (char *u = strtok_r(dup, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
		while (*u == ' ')
			u++;
		size_t hl = strlen(u);
		while (hl > 0 && (u[hl - 1] == '/' || u[hl - 1] == ' '))
			u[--hl] = '\0';
		if (!*u)
			continue;
		if ((strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) || c->nhubs >= MAX_HUBS) {
			fprintf(stderr, "atoll-agent: --hub must be one to %d http:// or https:// URLs, got \"%s\"\n", MAX_HUBS,
				u);
			free(dup);
			return 2;
		}
		c->hub_urls[c->nhubs++] = strdup(u);
	}
	free(dup);
	if (c->nhubs == 0) {
		fprintf(stderr, "atoll-agent: --hub is empty\n");
		return 2;
	}
	if (!proto_valid_cluster_name(c->cluster, err, sizeof err)) {
		fprintf(stderr, "atoll-agent: --cluster-name: %s\n", err);
		return 2;
	}
	if (c->lease_s <= c->renew_s) {
		fprintf(stderr, "atoll-agent: --lease-duration (%ds) must be longer than --heartbeat-interval (%ds)\n",
			c->lease_s, c->renew_s);
		return 2;
	}
	return 0;
}

static struct event_base *loop;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct agent *ag = arg;
	log_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	ag->stopping = true; /* also ends a join that is still waiting for the hub */
	event_base_loopexit(loop, NULL);
}

/* libcurl's dependencies (librtmp, libldap) pull in GnuTLS, whose load-time
 * constructor initializes it and p11-kit (about 0.7 MiB resident) although
 * the agent never uses it: start over once with GNUTLS_NO_IMPLICIT_INIT. */
static void skip_unused_gnutls_init(char **argv)
{
	if (getenv("GNUTLS_NO_IMPLICIT_INIT"))
		return;
	/* Through the binary's own path, not /proc/self/exe: the kernel names
	 * the process after the file executed, and ps/pgrep would show "exe". */
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0 || n >= (ssize_t)sizeof self - 1)
		return;
	self[n] = '\0';
	if (strstr(self, " (deleted)"))
		return; /* replaced on disk since it started: run on as is */
	setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 1);
	execv(self, argv);
	/* Not fatal: only memory is at stake. */
}

/* The name ps and pgrep show is the one the agent was started as, also
 * when it was started through a symlink to a differently named file. */
static void keep_process_name(const char *argv0)
{
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;
	base = base ? base + 1 : argv0;
	if (base && *base)
		prctl(PR_SET_NAME, base, 0, 0, 0);
}

int main(int argc, char **argv)
{
	struct agent ag;
	memset(&ag, 0, sizeof ag);
	struct agent_config *c = &ag.cfg;
	c->lease_s = PROTO_DEFAULT_LEASE_S;
	c->renew_s = PROTO_DEFAULT_RENEW_S;
	c->poll_timeout_s = PROTO_DEFAULT_POLL_S;
	c->max_inflight = 16;
	c->level = LOG_INFO;
	c->fmt = LOG_TEXT;
	int rc = parse_args(argc, argv, c);
	if (rc) {
		agent_free_config(c);
		return rc == 1 ? 0 : 2;
	}
	skip_unused_gnutls_init(argv);
	keep_process_name(argv[0]);
	/* Large response buffers go back to the system when freed, and the
	 * heap is trimmed: the agent's footprint follows what it manages,
	 * not the largest list it ever read. */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	log_setup("atoll-agent", c->level, c->fmt);
	char err[1200];
	if (c->kubeconfig) {
		if (kubeconfig_load(c->kubeconfig, c->context, &ag.kc, err, sizeof err) < 0) {
			fprintf(stderr, "atoll-agent: %s\n", err);
			agent_free_config(c);
			return 2;
		}
	} else if (kubeconfig_in_cluster(SA_DIR, getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT"),
					 &ag.kc, err, sizeof err) < 0) {
		fprintf(stderr, "atoll-agent: no --kubeconfig given and %s\n", err);
		agent_free_config(c);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	loop = event_base_new();
	log_attach(loop); /* "(repeated N times)" when the window ends */
	ag.base = loop;
	ag.reports = &works_reports;
	ag.http = http_client_new(loop);
	ag.hub_http = http_client_new(loop);
	http_client_one_connection(ag.hub_http);
	struct event *sigterm = evsignal_new(loop, SIGTERM, on_signal, &ag);
	struct event *sigint = evsignal_new(loop, SIGINT, on_signal, &ag);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	http_target_from_kubeconfig(&ag.member, &ag.kc, "atoll-agent/" AGENT_VERSION);
	ag.hub.base_url = c->hub_urls[0];
	ag.hub.tls.ca_file = c->hub_tls.ca_file;
	ag.hub.tls.cert_file = c->hub_tls.cert_file;
	ag.hub.tls.key_file = c->hub_tls.key_file;
	ag.hub.tls.insecure_skip_verify = c->hub_tls.insecure_skip_verify;
	ag.hub.tls.pinned_pubkey = c->hub_tls.pinned_pubkey;
	ag.hub.bearer_token = c->hub_tls.bearer_token;
	ag.hub.proxy = c->hub_tls.proxy_url;
	ag.hub.user_agent = "atoll-agent/" AGENT_VERSION;
	proto_exec_namespace(c->cluster, ag.exec_ns, sizeof ag.exec_ns);
	log_kv(LOG_INFO, "starting", "cluster", c->cluster, "hub", c->hub_url, "member", ag.kc.server,
	       "context", ag.kc.context, NULL);
	/* Joining first: a refused join leaves the state directory untouched. */
	rc = agent_identity_setup(&ag);
	if (rc == 0 && !ag.stopping && c->state_dir && mkdir(c->state_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "atoll-agent: cannot create --state-dir %s: %m\n", c->state_dir);
		rc = 1;
	}
	if (rc == 0 && !ag.stopping) {
		watch_state_load(&ag);
		hub_start(&ag);
		agent_identity_start(&ag);
		meshreader_start(&ag);
		epcollect_start(&ag);
		event_base_dispatch(loop);
	}
	ag.stopping = true;
	hub_stop(&ag);
	http_client_free(ag.hub_http);
	http_client_free(ag.http); /* cancels every call: no callback runs after this */
	meshreader_free(&ag);
	epcollect_free(&ag);
	works_free(&ag);
	mschema_free(&ag);
	watch_free_all(&ag);
	agent_identity_free(&ag);
	event_free(sigterm);
	event_free(sigint);
	log_detach();
	event_base_free(loop);
	kubeconfig_free(&ag.kc);
	agent_free_config(c);
	if (rc == 0)
		log_info("stopped");
	return rc;
}
