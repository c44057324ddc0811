#include "sim_kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *sim_kubeconfig_render(const char *name, const char *server)
{
	static const char fmt[] = "apiVersion: v1\n"
				  "kind: Config\n"
				  "clusters:\n"
				  "- name: \"%s\"\n"
				  "  cluster:\n"
				  "    server: \"%s\"\n"
				  "contexts:\n"
				  "- name: \"%s\"\n"
				  "  context:\n"
				  "    cluster: \"%s\"\n"
				  "    user: \"%s-admin\"\n"
				  "current-context: \"%s\"\n"
				  "preferences: {}\n"
				  "users:\n"
				  "- name: \"%s-admin\"\n"
				  "  user: {}\n";
	int n = snprintf(NULL, 0, fmt, name, server, name, name, name, name, name);
	char *s = malloc((size_t)n + 1);
	if (s)
		snprintf(s, (size_t)n + 1, fmt, name, server, name, name, name, name, name);
	return s;
}

int sim_kubeconfig_write(const char *path, const char *name, const char *server, char *err, size_t errlen)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
		snprintf(err, errlen, "kubeconfig path too long: %s", path);
		return -1;
	}
	char *text = sim_kubeconfig_render(name, server);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		free(text);
		return -1;
	}
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			free(text);
			return -1;
		}
		off += (size_t)w;
	}
	free(text);
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
