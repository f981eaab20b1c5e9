/*
 * wake.c - the queue's wake-up datagrams (wake.h).
 */
#include "config.h"

#include "core/log.h"
#include "core/util.h"
#include "core/wake.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAKE_MAX 16

static struct {
	pthread_once_t once;
	int fd4, fd6;
	unsigned n;
	struct sockaddr_storage to[WAKE_MAX];
	socklen_t len[WAKE_MAX];
} wake = { .once = PTHREAD_ONCE_INIT, .fd4 = -1, .fd6 = -1 };
static const struct yq_config *wake_cfg;

/* "host:port" (the last colon splits; "[v6]:port" too) into host and port. */
static bool
split(const char *s, size_t len, char *host, size_t hostsz, char *port, size_t portsz)
{
	const char *colon = NULL;

	for (size_t i = 0; i < len; i++)
		if (s[i] == ':')
			colon = s + i;
	if (!colon)
		return false;
	const char *h = s;
	size_t hl = (size_t)(colon - s), pl = len - hl - 1;
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (!hl || !pl || hl >= hostsz || pl >= portsz)
		return false;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, colon + 1, pl);
	port[pl] = '\0';
	return true;
}

static int
resolve(const char *host, const char *port, int socktype, int flags, struct addrinfo **out)
{
	struct addrinfo hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	hints.ai_flags = AI_NUMERICSERV | flags;
	return getaddrinfo(host, port, &hints, out);
}

static void
wake_init(void)
{
	const char *p = wake_cfg->queue_wake;

	while (*p && wake.n < WAKE_MAX) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t l = strcspn(p, ", ");
		char host[256], port[16];
		struct addrinfo *ai = NULL;
		if (l && split(p, l, host, sizeof(host), port, sizeof(port)) &&
		    resolve(host, port, SOCK_DGRAM, 0, &ai) == 0 && ai &&
		    ai->ai_addrlen <= sizeof(wake.to[0])) {
			memcpy(&wake.to[wake.n], ai->ai_addr, ai->ai_addrlen);
			wake.len[wake.n++] = ai->ai_addrlen;
		} else if (l) {
			yq_warn("queue.wake: cannot use \"%.*s\" (expected host:port)", (int)l, p);
		}
		if (ai)
			freeaddrinfo(ai);
		p += l;
	}
	for (unsigned i = 0; i < wake.n; i++) {
		int *fd = wake.to[i].ss_family == AF_INET6 ? &wake.fd6 : &wake.fd4;
		if (*fd < 0)
			*fd = socket(wake.to[i].ss_family,
			             SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
}

void
yq_wake_send(const struct yq_config *cfg)
{
	if (!cfg->queue_wake[0])
		return;
	wake_cfg = cfg;
	pthread_once(&wake.once, wake_init);
	for (unsigned i = 0; i < wake.n; i++) {
		int fd = wake.to[i].ss_family == AF_INET6 ? wake.fd6 : wake.fd4;
		if (fd >= 0) /* best effort: a lost one costs one idle poll interval */
			(void)sendto(fd, "w", 1, MSG_DONTWAIT | MSG_NOSIGNAL,
			             (const struct sockaddr *)&wake.to[i], wake.len[i]);
	}
}

void
yq_wake_after(const struct yq_config *cfg, struct yq_db *db)
{
	if (db && yq_db_take_queued(db))
		yq_wake_send(cfg);
}

int
yq_wake_listen(const char *hostport)
{
	char host[256], port[16];
	struct addrinfo *ai = NULL;

	if (!split(hostport, strlen(hostport), host, sizeof(host), port, sizeof(port)) ||
	    resolve(host, port, SOCK_DGRAM, AI_PASSIVE, &ai) != 0 || !ai) {
		yq_error("ws.wake_listen: cannot use \"%s\" (expected host:port)", hostport);
		if (ai)
			freeaddrinfo(ai);
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		yq_error("ws.wake_listen: cannot bind %s: %s", hostport, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

bool
yq_wake_drain(int fd)
{
	char buf[64];
	bool any = false;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		any = true;
	return any;
}
