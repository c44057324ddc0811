/* atoll-sim — simulated member clusters: the command line.
 * Owns: options, the data directory (a fresh temporary one removed at exit
 * unless --data-dir is given), starting one or several clusters on one
 * event loop, the port file, and shutdown on SIGTERM/SIGINT. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/event.h>

#include "sim_cluster.h"
#include "kinds.h"
#include "log.h"
#include "timefmt.h"

#define ATOLL_VERSION "0.1.0"
#define MAX_CLUSTERS 1024

static void usage(FILE *f)
{
	fputs("Usage: atoll-sim --name NAME --insecure-listen HOST:PORT --kubeconfig-out FILE [options]\n"
	      "       atoll-sim --cluster NAME=HOST:PORT[,region=R][,zone=Z1/Z2][,nodes=N] ... --kubeconfig-dir DIR [options]\n"
	      "\n"
	      "Simulated Kubernetes member clusters. Each cluster is a Kubernetes API server (the hub's\n"
	      "API code) with its own store, nodes and controllers: Deployments get ReplicaSets and pods\n"
	      "named <deployment>-<pod-template-hash>-<suffix> that turn Running and Ready after the ready\n"
	      "delay, and their status is kept as Kubernetes' deployment controller keeps it.\n"
	      "\n"
	      "One cluster:\n"
	      "  --name NAME                  cluster name (node names, kubeconfig context)\n"
	      "  --insecure-listen HOST:PORT  plain-HTTP listener (port 0 = any free port)\n"
	      "  --kubeconfig-out FILE        write a kubeconfig for the cluster to FILE\n"
	      "Several clusters in one process:\n"
	      "  --cluster NAME=HOST:PORT[,region=R][,zone=Z1/Z2][,nodes=N]\n"
	      "                               one cluster (repeat the option); per-cluster region, zones, nodes\n"
	      "  --kubeconfig-dir DIR         write DIR/NAME.kubeconfig for each cluster (default: the data dir)\n"
	      "Options:\n"
	      "  --nodes N                    nodes per cluster (default 3)\n"
	      "  --ready-delay DURATION       time from a pod's creation to Running and Ready (default 1s)\n"
	      "  --region REGION              topology.kubernetes.io/region of the nodes\n"
	      "  --zone ZONE[,ZONE...]        topology.kubernetes.io/zone of the nodes, dealt out round robin\n"
	      "  --node-cpu Q                 node capacity and allocatable cpu (default 4)\n"
	      "  --node-memory Q              node memory (default 16Gi)\n"
	      "  --node-pods N                node pod capacity (default 110)\n"
	      "  --kube-minor N               Kubernetes minor version on /version (default 23)\n"
	      "  --git-version V              gitVersion on /version and nodes (default v1.23.8 for minor 23,\n"
	      "                               else v1.N.0)\n"
	      "  --kubernetes-version vX.Y.Z  act as that Kubernetes version: /version, the fields its OpenAPI\n"
	      "                               documents publish (no /openapi/v3 before 1.24), and server-side\n"
	      "                               apply refusing fields it does not know (500 \"field not declared\n"
	      "                               in schema\"), e.g. v1.20.2\n"
	      "  --data-dir DIR               keep the clusters' stores in DIR/NAME (default: a temporary\n"
	      "                               directory in $TMPDIR, else /dev/shm, removed at exit; one left\n"
	      "                               by a killed simulator is removed by the next one started)\n"
	      "  --no-events                  record no Events (ScalingReplicaSet, Scheduled, Started, ...)\n"
	      "  --port-file FILE             once every cluster listens: the port (one cluster) or\n"
	      "                               \"NAME PORT\" lines (several)\n"
	      "  --request-timeout DURATION   cut off a client silent this long mid-request (default 60s)\n"
	      "  --log-level LEVEL            debug, info, warn or error (default info)\n"
	      "  --log-format FORMAT          text or json (default text)\n"
	      "  -h, --help                   show this help\n"
	      "  --version                    print the version\n",
	      f);
}

struct cluster_arg {
	char name[64];
	char listen[300];
	char region[128];
	char zones[256];
	int nodes; /* -1: the global --nodes */
};

static struct event_base *loop;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	log_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopexit(loop, NULL);
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 40 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static int parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* NAME=HOST:PORT[,region=R][,zone=Z1/Z2][,nodes=N] */
static int parse_cluster(const char *arg, struct cluster_arg *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->nodes = -1;
	const char *eq = strchr(arg, '=');
	if (!eq || (size_t)(eq - arg) >= sizeof c->name) {
		snprintf(err, errlen, "invalid --cluster %s (want NAME=HOST:PORT)", arg);
		return -1;
	}
	snprintf(c->name, sizeof c->name, "%.*s", (int)(eq - arg), arg);
	char rest[1024];
	snprintf(rest, sizeof rest, "%s", eq + 1);
	char *save = NULL;
	char *tok = strtok_r(rest, ",", &save);
	if (!tok || !strchr(tok, ':')) {
		snprintf(err, errlen, "invalid --cluster %s (want NAME=HOST:PORT)", arg);
		return -1;
	}
	snprintf(c->listen, sizeof c->listen, "%s", tok);
	while ((tok = strtok_r(NULL, ",", &save))) {
		long v;
		if (strncmp(tok, "region=", 7) == 0) {
			snprintf(c->region, sizeof c->region, "%s", tok + 7);
		} else if (strncmp(tok, "zone=", 5) == 0 || strncmp(tok, "zones=", 6) == 0) {
			snprintf(c->zones, sizeof c->zones, "%s", strchr(tok, '=') + 1);
			for (char *p = c->zones; *p; p++)
				if (*p == '/')
					*p = ',';
		} else if (strncmp(tok, "nodes=", 6) == 0 && parse_int(tok + 6, 0, 5000, &v) == 0) {
			c->nodes = (int)v;
		} else {
			snprintf(err, errlen, "invalid --cluster %s: unknown or bad setting \"%s\"", arg, tok);
			return -1;
		}
	}
	if (!valid_name(c->name)) {
		snprintf(err, errlen, "invalid cluster name \"%s\" (want at most 40 of a-z, 0-9 and -)", c->name);
		return -1;
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* A temporary data directory's owner holds an exclusive flock on its
 * ".owner" file for its whole life. The file is locked before it gets its
 * name, so a sweeper that can lock it knows the owner is gone (killed with
 * SIGKILL, or crashed before removing the directory). */
static int hold_temp_owner(const char *dir)
{
	char tmp[4200], final[4200];
	snprintf(tmp, sizeof tmp, "%s/.owner.tmp", dir);
	snprintf(final, sizeof final, "%s/.owner", dir);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) < 0 || rename(tmp, final) < 0) {
		close(fd);
		return -1;
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (write(fd, pid, (size_t)n) != n)
		log_debug("cannot write the owner of %s: %s", dir, strerror(errno));
	return fd; /* kept open until exit: closing it would drop the lock */
}

/* Removes the atoll-sim-* directories in parent whose owner is gone.
 * Directories without an .owner file (older versions, or one being set
 * up right now) are left alone. Returns how many were removed. */
static int sweep_stale_temp_dirs(const char *parent)
{
	DIR *d = opendir(parent);
	if (!d)
		return 0;
	int removed = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "atoll-sim-", 10) != 0)
			continue;
		char dir[4200], owner[4300];
		snprintf(dir, sizeof dir, "%s/%s", parent, e->d_name);
		snprintf(owner, sizeof owner, "%s/.owner", dir);
		int fd = open(owner, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		bool stale = flock(fd, LOCK_EX | LOCK_NB) == 0;
		if (stale && nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0)
			removed++;
		close(fd);
	}
	closedir(d);
	return removed;
}

static int write_port_file(const char *path, struct sim_cluster **cl, int n, bool multi)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	for (int i = 0; i < n; i++) {
		if (multi)
			fprintf(f, "%s %d\n", sim_cluster_name(cl[i]), sim_cluster_port(cl[i]));
		else
			fprintf(f, "%d\n", sim_cluster_port(cl[i]));
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = NULL, *listen = NULL, *kubeconfig_out = NULL, *kubeconfig_dir = NULL, *data_dir = NULL;
	const char *port_file = NULL, *minor = "23", *git_version = NULL, *region = NULL, *zones = NULL;
	const char *cpu = "4", *memory = "16Gi", *pods = "110";
	long nodes = 3, history = 20000;
	int schema_minor = 0;
	bool events = true;
	long long ready_ms = 1000, timeout_ms = 60000;
	enum log_level level = LOG_INFO;
	enum log_format fmt = LOG_TEXT;
	static struct cluster_arg cargs[MAX_CLUSTERS];
	int ncargs = 0;
	char err[1024];
	enum { O_NAME = 256, O_LISTEN, O_KCOUT, O_CLUSTER, O_KCDIR, O_NODES, O_READY, O_REGION, O_ZONE, O_CPU, O_MEM,
	       O_PODS, O_MINOR, O_GITV, O_DATA, O_PORTF, O_TIMEOUT, O_HISTORY, O_LEVEL, O_FORMAT, O_VERSION, O_NOEVENTS,
	       O_KUBEVER };
	static const struct option opts[] = {
		{"name", required_argument, NULL, O_NAME},
		{"insecure-listen", required_argument, NULL, O_LISTEN},
		{"kubeconfig-out", required_argument, NULL, O_KCOUT},
		{"cluster", required_argument, NULL, O_CLUSTER},
		{"kubeconfig-dir", required_argument, NULL, O_KCDIR},
		{"nodes", required_argument, NULL, O_NODES},
		{"ready-delay", required_argument, NULL, O_READY},
		{"region", required_argument, NULL, O_REGION},
		{"zone", required_argument, NULL, O_ZONE},
		{"node-cpu", required_argument, NULL, O_CPU},
		{"node-memory", required_argument, NULL, O_MEM},
		{"node-pods", required_argument, NULL, O_PODS},
		{"kube-minor", required_argument, NULL, O_MINOR},
		{"kubernetes-version", required_argument, NULL, O_KUBEVER},
		{"git-version", required_argument, NULL, O_GITV},
		{"data-dir", required_argument, NULL, O_DATA},
		{"port-file", required_argument, NULL, O_PORTF},
		{"request-timeout", required_argument, NULL, O_TIMEOUT},
		{"history", required_argument, NULL, O_HISTORY},
		{"log-level", required_argument, NULL, O_LEVEL},
		{"log-format", required_argument, NULL, O_FORMAT},
		{"version", no_argument, NULL, O_VERSION},
		{"no-events", no_argument, NULL, O_NOEVENTS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	long v;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_NAME: name = optarg; break;
		case O_LISTEN: listen = optarg; break;
		case O_KCOUT: kubeconfig_out = optarg; break;
		case O_CLUSTER:
			if (ncargs == MAX_CLUSTERS) {
				fprintf(stderr, "atoll-sim: at most %d clusters\n", MAX_CLUSTERS);
				return 2;
			}
			if (parse_cluster(optarg, &cargs[ncargs], err, sizeof err) < 0) {
				fprintf(stderr, "atoll-sim: %s\n", err);
				return 2;
			}
			ncargs++;
			break;
		case O_KCDIR: kubeconfig_dir = optarg; break;
		case O_NODES:
			if (parse_int(optarg, 0, 5000, &nodes) < 0) {
				fprintf(stderr, "atoll-sim: invalid --nodes %s (want 0 to 5000)\n", optarg);
				return 2;
			}
			break;
		case O_READY:
			if (time_parse_duration_ms(optarg, &ready_ms) < 0 || ready_ms < 0) {
				fprintf(stderr, "atoll-sim: invalid --ready-delay %s (want a duration, e.g. 200ms or 1s)\n",
					optarg);
				return 2;
			}
			break;
		case O_REGION: region = optarg; break;
		case O_ZONE: zones = optarg; break;
		case O_CPU: cpu = optarg; break;
		case O_MEM: memory = optarg; break;
		case O_PODS: pods = optarg; break;
		case O_MINOR:
			if (parse_int(optarg, 0, 999, &v) < 0) {
				fprintf(stderr, "atoll-sim: invalid --kube-minor %s (want a number, e.g. 23)\n", optarg);
				return 2;
			}
			minor = optarg;
			break;
		case O_GITV: git_version = optarg; break;
		case O_KUBEVER: {
			/* vMAJOR.MINOR.PATCH: 1.N only */
			static char kminor[16];
			int maj = 0, mi = 0, pa = 0, used = 0;
			if (sscanf(optarg, "v%d.%d.%d%n", &maj, &mi, &pa, &used) != 3 || optarg[used] != '\0' ||
			    maj != 1 || mi < 16 || mi > 99 || pa < 0) {
				fprintf(stderr, "atoll-sim: invalid --kubernetes-version %s (want v1.N.P with N >= 16, e.g. v1.20.2)\n",
					optarg);
				return 2;
			}
			snprintf(kminor, sizeof kminor, "%d", mi);
			minor = kminor;
			git_version = optarg;
			schema_minor = mi;
			break;
		}
		case O_DATA: data_dir = optarg; break;
		case O_PORTF: port_file = optarg; break;
		case O_TIMEOUT:
			if (time_parse_duration_ms(optarg, &timeout_ms) < 0 || timeout_ms < 1000) {
				fprintf(stderr, "atoll-sim: invalid --request-timeout %s (want at least 1s)\n", optarg);
				return 2;
			}
			break;
		case O_HISTORY:
			if (parse_int(optarg, 100, 100000000, &history) < 0) {
				fprintf(stderr, "atoll-sim: invalid --history %s (want at least 100)\n", optarg);
				return 2;
			}
			break;
		case O_LEVEL:
			if (log_parse_level(optarg, &level) < 0) {
				fprintf(stderr, "atoll-sim: unknown log level %s (want debug, info, warn or error)\n", optarg);
				return 2;
			}
			break;
		case O_FORMAT:
			if (log_parse_format(optarg, &fmt) < 0) {
				fprintf(stderr, "atoll-sim: unknown log format %s (want text or json)\n", optarg);
				return 2;
			}
			break;
		case O_NOEVENTS: events = false; break;
		case O_VERSION: printf("atoll-sim %s\n", ATOLL_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "atoll-sim: unexpected argument \"%s\"\n\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	bool multi = ncargs > 0;
	if (multi && (name || listen || kubeconfig_out)) {
		fprintf(stderr, "atoll-sim: use either --name/--insecure-listen/--kubeconfig-out or --cluster\n");
		return 2;
	}
	if (!multi) {
		if (!name || !listen) {
			fprintf(stderr, "atoll-sim: --name and --insecure-listen (or --cluster) are required\n\n");
			usage(stderr);
			return 2;
		}
		char spec[1200];
		snprintf(spec, sizeof spec, "%s=%s", name, listen);
		if (parse_cluster(spec, &cargs[0], err, sizeof err) < 0) {
			fprintf(stderr, "atoll-sim: %s\n", err);
			return 2;
		}
		ncargs = 1;
	}
	for (int i = 0; i < ncargs; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(cargs[i].name, cargs[j].name) == 0) {
				fprintf(stderr, "atoll-sim: cluster %s given twice\n", cargs[i].name);
				return 2;
			}
	char gitv[64];
	if (!git_version) {
		if (strcmp(minor, "23") == 0)
			snprintf(gitv, sizeof gitv, "v1.23.8");
		else
			snprintf(gitv, sizeof gitv, "v1.%s.0", minor);
		git_version = gitv;
	}

	log_setup("atoll-sim", level, fmt);
	signal(SIGPIPE, SIG_IGN);

	char tmpdir[4096] = "";
	if (!data_dir) {
		/* A throw-away store needs no fsync: prefer memory (/dev/shm)
		 * unless TMPDIR says where temporary files go. */
		const char *t = getenv("TMPDIR");
		if (!t || !*t)
			t = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
		int swept = sweep_stale_temp_dirs(t);
		if (swept > 0)
			log_info("removed %d temporary simulator directories of processes that are gone from %s", swept,
				 t);
		snprintf(tmpdir, sizeof tmpdir, "%s/atoll-sim-XXXXXX", t);
		if (!mkdtemp(tmpdir)) {
			log_error("cannot create a temporary directory: %s", strerror(errno));
			return 1;
		}
		if (hold_temp_owner(tmpdir) < 0)
			log_warn("cannot mark %s as in use (%s): another simulator may not clean it up if this one is killed",
				 tmpdir, strerror(errno));
		data_dir = tmpdir;
	} else if (mkdir(data_dir, 0700) < 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", data_dir, strerror(errno));
		return 1;
	}

	loop = event_base_new();
	log_attach(loop);
	static struct sim_cluster *clusters[MAX_CLUSTERS];
	int started = 0, rc = 0;
	for (int i = 0; i < ncargs; i++) {
		struct cluster_arg *a = &cargs[i];
		char dir[4096], kc[4096];
		snprintf(dir, sizeof dir, "%.3000s/%.63s", data_dir, a->name);
		const char *kcpath = NULL;
		if (!multi)
			kcpath = kubeconfig_out;
		else {
			snprintf(kc, sizeof kc, "%.3000s/%.63s.kubeconfig", kubeconfig_dir ? kubeconfig_dir : data_dir, a->name);
			kcpath = kc;
		}
		struct sim_cluster_config cfg = {
			.name = a->name,
			.listen = a->listen,
			.kubeconfig_out = kcpath,
			.data_dir = dir,
			.nodes = {.count = a->nodes >= 0 ? a->nodes : (int)nodes,
				  .region = a->region[0] ? a->region : region,
				  .zones = a->zones[0] ? a->zones : zones,
				  .cpu = cpu,
				  .memory = memory,
				  .pods = pods},
			.ready_delay_ms = (long)ready_ms,
			.events = events,
			.minor = minor,
			.git_version = git_version,
			.request_timeout_s = (int)(timeout_ms / 1000),
			.history = history,
			.schema_minor = schema_minor,
		};
		clusters[i] = sim_cluster_start(loop, &cfg, err, sizeof err);
		if (!clusters[i]) {
			log_error("%s", err);
			rc = 1;
			break;
		}
		started++;
	}
	if (rc == 0 && port_file && write_port_file(port_file, clusters, started, multi) < 0) {
		log_error("cannot write the port file %s: %s", port_file, strerror(errno));
		rc = 1;
	}
	struct event *sigterm = evsignal_new(loop, SIGTERM, on_signal, NULL);
	struct event *sigint = evsignal_new(loop, SIGINT, on_signal, NULL);
	if (rc == 0) {
		event_add(sigterm, NULL);
		event_add(sigint, NULL);
		event_base_dispatch(loop);
	}
	for (int i = 0; i < started; i++)
		sim_cluster_close_watches(clusters[i]);
	for (int i = 0; i < started; i++)
		sim_cluster_free(clusters[i]);
	event_free(sigterm);
	event_free(sigint);
	log_detach();
	event_base_free(loop);
	kinds_shutdown();
	if (tmpdir[0])
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	log_info("stopped");
	return rc;
}
