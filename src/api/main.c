/*
 * main.c - yiqikan-api: the FastCGI responder and its supervisor.
 *
 * spawn-fcgi (or --listen) provides one listening socket.  The process
 * that starts is the master: it forks api.workers workers that all accept
 * on that socket, and replaces any worker that dies at once (spawn-fcgi
 * itself never respawns), so the pool stays whole.  SIGTERM stops the
 * pool; SIGHUP re-reads the config and replaces the workers.
 *
 * A worker owns one database connection and serves one request at a time:
 * read the CGI parameters and the bounded body, route, authenticate,
 * call the handler, write the response.  This file is the only place that
 * writes responses to the wire.  The master and the workers share the
 * pool's counters (pool.h), mapped before the first fork, for the status
 * page.
 */
#include "config.h"

#include "api/handlers.h"
#include "api/pool.h"
#include "core/json.h"
#include "core/log.h"
#include "core/password.h"
#include "core/wake.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#ifndef YQ_SYSCONFDIR
#define YQ_SYSCONFDIR "/etc"
#endif

static volatile sig_atomic_t busy, stopping;

static void
on_term(int sig)
{
	(void)sig;
	if (!busy)
		_exit(0);
	stopping = 1;
}

static const char *
param(FCGX_Request *fr, const char *name)
{
	return FCGX_GetParam(name, fr->envp);
}

static void
request_id(FCGX_Request *fr, char *out, size_t outsz)
{
	const char *id = param(fr, "REQUEST_ID");
	size_t n = id ? strlen(id) : 0;
	bool ok = n > 0 && n < outsz && n <= 64;

	for (size_t i = 0; ok && i < n; i++)
		ok = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
		     (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '-';
	if (ok)
		yq_strlcpy(out, id, outsz);
	else
		yq_random_b64url(out, 12);
}

/* Read the body, bounded by api.max_body, before anything else looks at
 * the request.  A known oversize body is refused without reading it. */
static int
read_body(struct yq_req *r, FCGX_Request *fr)
{
	const char *cl = param(fr, "CONTENT_LENGTH");
	size_t max = r->cfg->api_max_body;
	int64_t want = -1;

	if (cl && *cl) {
		if (yq_parse_i64(cl, 0, INT64_MAX, &want) < 0)
			return yq_http_error(r, 400, "Invalid Content-Length");
		if ((uint64_t)want > max)
			return yq_http_error(r, 413, "Request body too large");
	}
	size_t cap = want >= 0 ? (size_t)want : max + 1;
	r->body = malloc(cap + 1);
	if (!r->body)
		return yq_http_fail(r, YQ_ENOMEM);
	size_t got = 0;
	while (got < cap) {
		int n = FCGX_GetStr(r->body + got, (int)(cap - got), fr->in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	r->body[got] = '\0';
	r->body_len = got;
	if (got > max)
		return yq_http_error(r, 413, "Request body too large");
	return 0;
}

static void
write_response(struct yq_req *r, FCGX_Request *fr, const char *reqid)
{
	size_t len = 0;
	const char *body = r->resp ? yq_json_str(r->resp, &len) : NULL;
	const char *type = "application/json; charset=utf-8";
	struct yq_buf h = { 0 };

	if (r->text_type) {
		body = r->text.data ? r->text.data : "";
		len = r->text.len;
		type = r->text_type;
	}

	/* libfcgi's own printf lacks %zu and friends: format with ours */
	yq_buf_printf(&h, "Status: %d %s\r\nX-Request-Id: %s\r\nCache-Control: no-store\r\n",
	              r->status, yq_http_reason(r->status), reqid);
	if (r->headers.len)
		yq_buf_append(&h, r->headers.data, r->headers.len);
	if (body)
		yq_buf_printf(&h, "Content-Type: %s\r\nContent-Length: %zu\r\n", type, len);
	yq_buf_puts(&h, "\r\n");
	if (h.data)
		FCGX_PutStr(h.data, (int)h.len, fr->out);
	if (body)
		FCGX_PutStr(body, (int)len, fr->out);
	yq_buf_free(&h);
}

static void
dispatch(struct yq_req *r, FCGX_Request *fr)
{
	const char *prefix = r->cfg->api_prefix;
	size_t pl = strlen(prefix);
	const struct yq_route *route;
	char allow[64];

	/* REQUEST_URI is what the client sent, undecoded, in nginx and Apache
	 * alike; the path ends at the query string. */
	const char *raw = param(fr, "REQUEST_URI");
	if (!raw || !*raw)
		raw = "/";
	size_t rawlen = strcspn(raw, "?#");
	const char *qs = param(fr, "QUERY_STRING");
	size_t qslen = qs ? strlen(qs) : 0;
	/* the bounds apply to the path and the query each (see http.h) */
	if (rawlen >= sizeof(r->path_buf) || qslen > YQ_MAX_QUERY) {
		yq_http_error(r, 414,
		              rawlen >= sizeof(r->path_buf) ? "Path too long"
		                                            : "Query string too long");
		return;
	}
	memcpy(r->path_buf, raw, rawlen);
	r->path_buf[rawlen] = '\0';
	const char *uri = r->path_buf;
	if (pl && strncmp(uri, prefix, pl) == 0 && (uri[pl] == '/' || uri[pl] == '\0'))
		uri += pl;
	r->path = *uri ? uri : "/";

	if (yq_query_parse(r, qs, qslen) < 0)
		return;
	if (yq_pool_is_status(r)) {
		if (yq_http_invalid_done(r) == 0)
			yq_pool_status(r);
		return;
	}
	switch (yq_route_match(yq_routes, yq_nroutes, r->method, r->path, &route, r->ids,
	                       YQ_MAX_PATH_IDS, &r->nids, allow, sizeof(allow))) {
	case YQ_ROUTE_NOT_FOUND: yq_http_error(r, 404, "Not Found"); return;
	case YQ_ROUTE_BAD_METHOD:
		yq_http_header(r, "Allow", allow);
		yq_http_error(r, 405, "Method Not Allowed");
		return;
	case YQ_ROUTE_OK: break;
	}
	if (read_body(r, fr) < 0)
		return;
	if ((route->flags & YQ_ROUTE_AUTH) && yq_auth_require(r) < 0)
		return;
	if (yq_http_invalid_done(r) < 0) /* the query's 422 entries */
		return;
	if (route->handler(r) == 0 && r->status == 0) {
		yq_error("handler for %s %s set no response", r->method, route->pattern);
		yq_http_fail(r, YQ_EINTERNAL);
	}
}

static void
serve(FCGX_Request *fr, const struct yq_config *cfg, struct yq_db *db)
{
	struct yq_req r = { .cfg = cfg, .db = db, .now = time(NULL) };
	char reqid[72];

	request_id(fr, reqid, sizeof(reqid));
	yq_log_set_reqid(reqid);
	r.method = param(fr, "REQUEST_METHOD");
	r.content_type = param(fr, "CONTENT_TYPE");
	r.remote_addr = param(fr, "REMOTE_ADDR");
	r.authorization = param(fr, "HTTP_AUTHORIZATION");
	if (!r.method)
		r.method = "GET";
	if (!r.remote_addr)
		r.remote_addr = "unknown";

	int64_t t0 = yq_mono_ms();
	yq_pool_begin();
	dispatch(&r, fr);
	if (r.status == 0)
		yq_http_fail(&r, YQ_EINTERNAL);
	write_response(&r, fr, reqid);
	yq_pool_end();
	int64_t ms = yq_mono_ms() - t0;
	if (r.status >= 500)
		yq_warn("%s %s -> %d (%lld ms)", r.method, r.path ? r.path : "?", r.status,
		        (long long)ms);
	else
		yq_debug("%s %s -> %d (%lld ms)", r.method, r.path, r.status, (long long)ms);

	json_object_put(r.resp);
	json_object_put(r.errors);
	yq_buf_free(&r.headers);
	yq_buf_free(&r.text);
	yq_form_free(&r.query);
	free(r.body);
	yq_log_set_reqid(NULL);
}

static void
worker_main(int listen_fd, const struct yq_config *cfg, pid_t master)
{
	struct sigaction sa = { .sa_handler = on_term };
	sigset_t none;

	sigemptyset(&none);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		_exit(0);

	struct yq_db *db = yq_db_new(cfg);
	if (!db)
		_exit(1);
	yq_db_connect(db); /* failure is fine: each request retries */

	FCGX_Request fr;
	if (FCGX_InitRequest(&fr, listen_fd, 0) != 0)
		_exit(1);
	while (!stopping) {
		busy = 0;
		if (stopping || FCGX_Accept_r(&fr) < 0)
			break;
		busy = 1;
		serve(&fr, cfg, db);
		yq_wake_after(cfg, db); /* the ws nodes read what it queued at once */
		FCGX_Finish_r(&fr);
	}
	yq_db_free(db);
	_exit(0);
}

/* ---- the master ---- */

struct kid {
	pid_t pid;
	int64_t started_ms;
	int64_t not_before_ms; /* respawn back-off after a crash loop */
};

static pid_t
spawn(int listen_fd, const struct yq_config *cfg, struct yq_pool *pool, unsigned slot)
{
	pid_t master = getpid();

	if (pool)
		yq_pool_slot_open(pool, slot);
	pid_t pid = fork();
	if (pid == 0) {
		yq_pool_attach(pool, slot);
		worker_main(listen_fd, cfg, master);
	}
	if (pool)
		yq_pool_slot_run(pool, slot, pid > 0 ? pid : 0);
	return pid;
}

static void
stop_all(struct kid *kids, unsigned n, struct yq_pool *pool)
{
	for (unsigned i = 0; i < n; i++)
		if (kids[i].pid > 0)
			kill(kids[i].pid, SIGTERM);
	int64_t deadline = yq_mono_ms() + 5000;
	for (;;) {
		pid_t p = waitpid(-1, NULL, WNOHANG);
		if (p < 0 && errno == ECHILD)
			break;
		if (p > 0)
			continue;
		if (yq_mono_ms() > deadline) {
			for (unsigned i = 0; i < n; i++)
				if (kids[i].pid > 0)
					kill(kids[i].pid, SIGKILL);
			deadline = INT64_MAX;
		}
		usleep(20000);
	}
	for (unsigned i = 0; i < n; i++) {
		kids[i].pid = 0;
		if (pool)
			yq_pool_slot_run(pool, i, 0);
	}
}

static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: yiqikan-api [-c CONFIG] [-w WORKERS] [-l ADDRESS] [-p PIDFILE]\n"
	        "  Started by spawn-fcgi, serves FastCGI on the socket it was given;\n"
	        "  otherwise -l host:port or -l /path/to/socket opens one.\n"
	        "  CONFIG defaults to $YIQIKAN_CONFIG or %s/yiqikan.conf.\n",
	        YQ_SYSCONFDIR);
}

int
main(int argc, char **argv)
{
	const char *conf = getenv("YIQIKAN_CONFIG"), *listen_addr = NULL, *pidfile = NULL;
	char defconf[512];
	long workers = 0;
	int opt;

	snprintf(defconf, sizeof(defconf), "%s/yiqikan.conf", YQ_SYSCONFDIR);
	while ((opt = getopt(argc, argv, "c:w:l:p:h")) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 'w': workers = strtol(optarg, NULL, 10); break;
		case 'l': listen_addr = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!conf)
		conf = defconf;

	static struct yq_config cfgs[2];
	unsigned cur = 0;
	char err[512];
	if (yq_config_load(&cfgs[cur], conf, err, sizeof(err)) < 0 ||
	    yq_config_validate(&cfgs[cur], err, sizeof(err)) < 0) {
		fprintf(stderr, "yiqikan-api: %s\n", err);
		return 1;
	}
	if (workers > 0 && workers <= 256)
		cfgs[cur].api_workers = (unsigned)workers;
	if (yq_log_init("yiqikan-api", cfgs[cur].log_target, cfgs[cur].log_level) < 0) {
		fprintf(stderr, "yiqikan-api: bad log.target %s\n", cfgs[cur].log_target);
		return 1;
	}
	if (yq_password_init() < 0 || yq_db_global_init() < 0 || FCGX_Init() != 0) {
		yq_error("library initialisation failed");
		return 1;
	}
	if (yq_password_prepare(&cfgs[cur]) < 0)
		yq_warn("cannot make the dummy password hash; unknown-user logins will retry");

	int listen_fd = 0;
	if (listen_addr) {
		listen_fd = FCGX_OpenSocket(listen_addr, 1024);
		if (listen_fd < 0) {
			yq_error("cannot listen on %s", listen_addr);
			return 1;
		}
	} else if (FCGX_IsCGI()) {
		fprintf(stderr, "yiqikan-api: not started by spawn-fcgi and no -l given\n");
		usage(stderr);
		return 2;
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (!f) {
			yq_error("cannot write %s", pidfile);
			return 1;
		}
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	unsigned n = cfgs[cur].api_workers;
	struct kid *kids = calloc(256, sizeof(*kids));
	if (!kids)
		return 1;
	/* shared with the workers: mapped before the first fork */
	struct yq_pool *pool = yq_pool_create();
	if (!pool)
		yq_warn("no shared memory for the pool status: %s", strerror(errno));
	else
		atomic_store(&pool->nslots, n);
	yq_info("master %d starting %u workers", (int)getpid(), n);
	for (;;) {
		int64_t now = yq_mono_ms();
		for (unsigned i = 0; i < n; i++) {
			if (kids[i].pid > 0 || now < kids[i].not_before_ms)
				continue;
			kids[i].pid = spawn(listen_fd, &cfgs[cur], pool, i);
			kids[i].started_ms = now;
			if (kids[i].pid < 0) {
				yq_error("fork: %s", strerror(errno));
				kids[i].pid = 0;
				kids[i].not_before_ms = now + 1000;
			}
		}
		struct timespec tick = { .tv_sec = 0, .tv_nsec = 200 * 1000000L };
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			yq_info("master stopping");
			stop_all(kids, n, pool);
			break;
		}
		if (sig == SIGHUP) {
			unsigned next = cur ^ 1;
			if (yq_config_load(&cfgs[next], conf, err, sizeof(err)) < 0 ||
			    yq_config_validate(&cfgs[next], err, sizeof(err)) < 0) {
				yq_error("reload refused: %s", err);
				continue;
			}
			if (workers > 0 && workers <= 256)
				cfgs[next].api_workers = (unsigned)workers;
			yq_info("reloading configuration, replacing workers");
			stop_all(kids, n, pool);
			cur = next;
			yq_password_prepare(&cfgs[cur]); /* new argon2 parameters */
			n = cfgs[cur].api_workers;
			if (pool) {
				atomic_store(&pool->nslots, n);
				atomic_fetch_add(&pool->reloads, 1);
			}
			yq_log_init("yiqikan-api", cfgs[cur].log_target, cfgs[cur].log_level);
			continue;
		}
		/* reap: SIGCHLD or the periodic tick */
		pid_t p;
		int status;
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				if (kids[i].pid != p)
					continue;
				kids[i].pid = 0;
				if (pool) {
					yq_pool_slot_run(pool, i, 0);
					atomic_fetch_add(&pool->restarts, 1);
				}
				int64_t lived = yq_mono_ms() - kids[i].started_ms;
				kids[i].not_before_ms = lived < 1000 ? yq_mono_ms() + 1000 : 0;
				if (WIFSIGNALED(status))
					yq_warn("worker %d killed by signal %d; replacing", (int)p,
					        WTERMSIG(status));
				else
					yq_warn("worker %d exited with %d; replacing", (int)p,
					        WEXITSTATUS(status));
			}
		}
	}
	if (pidfile)
		unlink(pidfile);
	free(kids);
	return 0;
}
