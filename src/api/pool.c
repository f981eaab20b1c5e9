/*
 * pool.c - see pool.h.
 */
#include "config.h"

#include "api/pool.h"
#include "core/json.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static struct yq_pool *pool;    /* this process's view of the mapping */
static struct yq_pool_slot *me; /* a worker's own slot */

struct yq_pool *
yq_pool_create(void)
{
	void *m = mmap(NULL, sizeof(struct yq_pool), PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	pool = m; /* zero-filled by the kernel */
	pool->start_time = time(NULL);
	return pool;
}

void
yq_pool_slot_open(struct yq_pool *p, unsigned i)
{
	struct yq_pool_slot *s = &p->slot[i];

	atomic_store(&s->pid, 0);
	atomic_store(&s->requests, 0);
	atomic_store(&s->busy, 0);
	atomic_store(&s->started, (int64_t)time(NULL));
}

void
yq_pool_slot_run(struct yq_pool *p, unsigned i, pid_t pid)
{
	atomic_store(&p->slot[i].pid, pid);
	if (pid == 0)
		atomic_store(&p->slot[i].busy, 0);
}

void
yq_pool_attach(struct yq_pool *p, unsigned slot)
{
	pool = p;
	me = p && slot < YQ_POOL_MAX ? &p->slot[slot] : NULL;
}

void
yq_pool_begin(void)
{
	if (me)
		atomic_store(&me->busy, 1);
}

void
yq_pool_end(void)
{
	if (!me)
		return;
	atomic_fetch_add(&me->requests, 1);
	atomic_fetch_add(&pool->requests, 1);
	atomic_store(&me->busy, 0);
}

/* ---- who may see it ---- */

static bool
cidr4_match(const char *entry, const char *addr)
{
	char net[INET_ADDRSTRLEN];
	const char *slash = strchr(entry, '/');
	struct in_addr a, n;
	int64_t bits;

	if (!slash || (size_t)(slash - entry) >= sizeof(net))
		return false;
	memcpy(net, entry, (size_t)(slash - entry));
	net[slash - entry] = '\0';
	if (yq_parse_i64(slash + 1, 0, 32, &bits) < 0 || inet_pton(AF_INET, net, &n) != 1 ||
	    inet_pton(AF_INET, addr, &a) != 1)
		return false;
	uint32_t mask = bits == 0 ? 0 : htonl(~0u << (32 - bits));
	return (a.s_addr & mask) == (n.s_addr & mask);
}

/* Exact matches compare parsed addresses, so "::1" and "0::1" agree. */
static bool
addr_equal(const char *entry, const char *addr)
{
	unsigned char x[16], y[16];

	if (inet_pton(AF_INET, entry, x) == 1)
		return inet_pton(AF_INET, addr, y) == 1 && memcmp(x, y, 4) == 0;
	if (inet_pton(AF_INET6, entry, x) == 1)
		return inet_pton(AF_INET6, addr, y) == 1 && memcmp(x, y, 16) == 0;
	return false;
}

bool
yq_pool_addr_allowed(const char *allow, const char *addr)
{
	char entry[64];

	if (!addr)
		return false;
	for (const char *p = allow; *p;) {
		size_t n = strcspn(p, " \t,");
		if (n > 0 && n < sizeof(entry)) {
			memcpy(entry, p, n);
			entry[n] = '\0';
			if (strchr(entry, '/') ? cidr4_match(entry, addr) : addr_equal(entry, addr))
				return true;
		}
		p += n;
		p += strspn(p, " \t,");
	}
	return false;
}

bool
yq_pool_is_status(const struct yq_req *r)
{
	const char *sp = r->cfg->api_status_path;

	return sp[0] && r->path && strcmp(r->path, sp) == 0;
}

/* ---- the page ---- */

struct snapshot {
	uint64_t requests, restarts, reloads;
	unsigned nslots, busy, idle;
	struct {
		pid_t pid;
		int64_t started;
		uint64_t requests;
		int busy;
	} w[YQ_POOL_MAX];
};

static void
take(struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->requests = atomic_load(&pool->requests);
	s->restarts = atomic_load(&pool->restarts);
	s->reloads = atomic_load(&pool->reloads);
	s->nslots = atomic_load(&pool->nslots);
	if (s->nslots > YQ_POOL_MAX)
		s->nslots = YQ_POOL_MAX;
	for (unsigned i = 0; i < s->nslots; i++) {
		struct yq_pool_slot *sl = &pool->slot[i];
		s->w[i].pid = atomic_load(&sl->pid);
		s->w[i].started = atomic_load(&sl->started);
		s->w[i].requests = atomic_load(&sl->requests);
		s->w[i].busy = atomic_load(&sl->busy);
		if (s->w[i].pid > 0 && s->w[i].busy)
			s->busy++;
		else if (s->w[i].pid > 0)
			s->idle++;
	}
}

static json_object *
status_json(const struct snapshot *s, long long now)
{
	json_object *o = json_object_new_object(), *ws = json_object_new_array();

	yq_json_add_str(o, "pool", "yiqikan-api");
	yq_json_add_int(o, "start_time", pool->start_time);
	yq_json_add_int(o, "start_since", now - pool->start_time);
	yq_json_add_int(o, "requests", (long long)s->requests);
	yq_json_add_int(o, "restarts", (long long)s->restarts);
	yq_json_add_int(o, "reloads", (long long)s->reloads);
	yq_json_add_int(o, "workers", s->busy + s->idle);
	yq_json_add_int(o, "busy_workers", s->busy);
	yq_json_add_int(o, "idle_workers", s->idle);
	for (unsigned i = 0; i < s->nslots; i++) {
		if (s->w[i].pid <= 0)
			continue;
		json_object *w = json_object_new_object();
		yq_json_add_int(w, "slot", i);
		yq_json_add_int(w, "pid", s->w[i].pid);
		yq_json_add_str(w, "state", s->w[i].busy ? "busy" : "idle");
		yq_json_add_int(w, "requests", (long long)s->w[i].requests);
		yq_json_add_int(w, "start_time", s->w[i].started);
		json_object_array_add(ws, w);
	}
	json_object_object_add(o, "processes", ws);
	return o;
}

/* The Prometheus text exposition format 0.0.4.  Made with printf: every
 * value is a number and every label value a number or a fixed word, so
 * nothing needs escaping. */
static void
status_prometheus(struct yq_buf *b, const struct snapshot *s)
{
	yq_buf_printf(b,
	              "# HELP yiqikan_api_start_time_seconds When the pool's master started.\n"
	              "# TYPE yiqikan_api_start_time_seconds gauge\n"
	              "yiqikan_api_start_time_seconds %lld\n"
	              "# HELP yiqikan_api_requests_total Requests answered by the pool.\n"
	              "# TYPE yiqikan_api_requests_total counter\n"
	              "yiqikan_api_requests_total %llu\n"
	              "# HELP yiqikan_api_worker_restarts_total Workers replaced after dying.\n"
	              "# TYPE yiqikan_api_worker_restarts_total counter\n"
	              "yiqikan_api_worker_restarts_total %llu\n"
	              "# HELP yiqikan_api_reloads_total Configuration reloads (SIGHUP).\n"
	              "# TYPE yiqikan_api_reloads_total counter\n"
	              "yiqikan_api_reloads_total %llu\n"
	              "# HELP yiqikan_api_workers Worker processes by state.\n"
	              "# TYPE yiqikan_api_workers gauge\n"
	              "yiqikan_api_workers{state=\"busy\"} %u\n"
	              "yiqikan_api_workers{state=\"idle\"} %u\n"
	              "# HELP yiqikan_api_worker_requests_total Requests answered per worker.\n"
	              "# TYPE yiqikan_api_worker_requests_total counter\n",
	              (long long)pool->start_time, (unsigned long long)s->requests,
	              (unsigned long long)s->restarts, (unsigned long long)s->reloads, s->busy,
	              s->idle);
	for (unsigned i = 0; i < s->nslots; i++)
		if (s->w[i].pid > 0)
			yq_buf_printf(
			        b,
			        "yiqikan_api_worker_requests_total{slot=\"%u\",pid=\"%d\"} %llu\n",
			        i, (int)s->w[i].pid, (unsigned long long)s->w[i].requests);
}

int
yq_pool_status(struct yq_req *r)
{
	static struct snapshot snap; /* 6 KiB: one request at a time */

	if (!pool || !yq_pool_addr_allowed(r->cfg->api_status_allow, r->remote_addr))
		return yq_http_error(r, 404, "Not Found");
	if (strcmp(r->method, "GET") != 0) {
		yq_http_header(r, "Allow", "GET");
		return yq_http_error(r, 405, "Method Not Allowed");
	}
	const struct yq_kv *f = yq_form_get(&r->query, "format");
	if (f && strcmp(f->value, "json") != 0 && strcmp(f->value, "prometheus") != 0) {
		yq_http_invalid(r, "query", "format", "enum",
		                "Input should be 'json' or 'prometheus'");
		return yq_http_invalid_done(r);
	}
	take(&snap);
	if (f && strcmp(f->value, "prometheus") == 0) {
		status_prometheus(&r->text, &snap);
		return yq_http_text(r, 200, "text/plain; version=0.0.4; charset=utf-8");
	}
	return yq_http_json(r, 200, status_json(&snap, r->now));
}
