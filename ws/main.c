/*
 * main.c - yiqikan-ws: configuration, the lws context, signals.
 *
 *   yiqikan-ws [-c CONFIG] [-p PIDFILE]
 *
 * One lws context, one vhost on ws.bind:ws.port, one protocol (conn.c),
 * one service thread.  The database threads start before the service loop
 * and stop after it, so every job the loop queued (playback, presence)
 * still reaches the database on a clean shutdown.
 *
 * Signals (doc/operations.md): they only set a flag and wake the loop;
 * the lifecycle tick (every LIFE_TICK_MS, on the service thread) acts.
 *   SIGTERM, SIGINT  drain: every client (and any that still connects)
 *                    is closed with 1001 (going away) so it reconnects to
 *                    another node at once, and the loop keeps running until the
 *                    database work already queued (chat, playback, the
 *                    relays that stored chat still needs) is done and
 *                    every client is gone, or ws.shutdown_timeout_ms
 *   SIGHUP           reload the keys that can change under running
 *                    connections (reload_config); a file that does not
 *                    load or validate changes nothing
 */
#include "config.h"

#include "core/db.h"
#include "core/log.h"
#include "core/password.h"
#include "core/util.h"
#include "ws/ws.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef YQ_SYSCONFDIR
#define YQ_SYSCONFDIR "/etc"
#endif

static const char *conf_file;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		hub.reload = 1;
	else
		hub.stop = 1;
	if (hub.ctx)
		lws_cancel_service(hub.ctx);
}

/* SIGINT seen by the event library's own watcher */
static void
on_evlib_signal(void *handle, int sig)
{
	(void)handle;
	on_signal(sig);
}

static void
ws_config_from(const struct yq_config *cfg, struct ws_config *wc)
{
	memset(wc, 0, sizeof(*wc));
	wc->port = cfg->ws_port;
	if (cfg->ws_node_id[0]) {
		yq_strlcpy(wc->node_id, cfg->ws_node_id, sizeof(wc->node_id));
	} else {
		char host[64] = "localhost";
		gethostname(host, sizeof(host) - 1);
		snprintf(wc->node_id, sizeof(wc->node_id), "%.40s:%u", host, cfg->ws_port);
	}
	yq_strlcpy(wc->allowed_origins, cfg->ws_allowed_origins, sizeof(wc->allowed_origins));
	wc->heartbeat_timeout_s = cfg->ws_heartbeat_timeout;
	wc->presence_grace_ms = cfg->ws_presence_grace_ms;
	wc->rate = (double)cfg->ws_rate.count / cfg->ws_rate.window;
	wc->burst = cfg->ws_burst ? cfg->ws_burst : 1;
	wc->abuse_limit = cfg->ws_abuse_limit ? cfg->ws_abuse_limit : 1;
	wc->max_message = cfg->ws_max_message;
	wc->sendq_bytes = cfg->ws_sendq_bytes;
	wc->recent_messages = cfg->ws_recent_messages;
	wc->presence_batch_above = cfg->ws_presence_batch_above;
	wc->snapshot_members = cfg->ws_snapshot_members;
	/* at most the whole-list size; 0 lists one (members_snapshot) */
	wc->snapshot_partial = cfg->ws_snapshot_partial_members > cfg->ws_snapshot_members
	                               ? cfg->ws_snapshot_members
	                               : cfg->ws_snapshot_partial_members;
	wc->auth_workers = cfg->ws_auth_workers < 1   ? 1
	                   : cfg->ws_auth_workers > 4 ? 4
	                                              : cfg->ws_auth_workers;
	wc->queue_poll_idle_ms = cfg->ws_queue_poll_idle_ms;
	yq_strlcpy(wc->metrics_listen, cfg->ws_metrics_listen, sizeof(wc->metrics_listen));
	wc->lead_min_ms = cfg->ws_command_lead_min_ms;
	wc->lead_max_ms = cfg->ws_command_lead_max_ms < cfg->ws_command_lead_min_ms
	                          ? cfg->ws_command_lead_min_ms
	                          : cfg->ws_command_lead_max_ms;
	wc->health_interval_ms = cfg->ws_health_interval_ms;
	wc->max_conns_per_user = cfg->ws_max_connections_per_user;
	wc->max_custom_event = cfg->ws_max_custom_event;
	wc->shutdown_timeout_ms = cfg->ws_shutdown_timeout_ms;
	wc->linger_ms = cfg->ws_linger_ms;
}

/* ---- SIGHUP: reload ----
 *
 * Reloaded: the keys only the service thread reads, checked on each use
 * (limits, timeouts, origins, caps, lingering) and log.level.  The rest
 * (where it listens, its node id, the database, keys, the event loop,
 * the worker threads, the queue tail) needs a restart: a change there is
 * logged and ignored.  A changed limit applies from the next message or
 * connection; nothing open is closed for it. */
static void
reload_config(void)
{
	static struct yq_config next;
	struct ws_config wc;
	char err[512];
	const struct yq_config *cur = hub.cfg;

	if (yq_config_load(&next, conf_file, err, sizeof(err)) < 0 ||
	    yq_config_validate(&next, err, sizeof(err)) < 0) {
		yq_error("SIGHUP: %s: the configuration is unchanged", err);
		return;
	}
	ws_config_from(&next, &wc);
	if (strcmp(wc.node_id, hub.wc.node_id) || next.ws_port != cur->ws_port ||
	    strcmp(next.ws_bind, cur->ws_bind) || wc.auth_workers != hub.wc.auth_workers ||
	    strcmp(wc.metrics_listen, hub.wc.metrics_listen) ||
	    strcmp(next.ws_event_loop, cur->ws_event_loop) ||
	    wc.recent_messages != hub.wc.recent_messages ||
	    wc.queue_poll_idle_ms != hub.wc.queue_poll_idle_ms ||
	    strcmp(next.ws_wake_listen, cur->ws_wake_listen) ||
	    strcmp(next.queue_wake, cur->queue_wake) ||
	    next.ws_handshake_timeout != cur->ws_handshake_timeout ||
	    strcmp(next.db_host, cur->db_host) || strcmp(next.db_hosts, cur->db_hosts) ||
	    strcmp(next.jwt_key, cur->jwt_key) || strcmp(next.log_target, cur->log_target))
		yq_warn("SIGHUP: keys that need a restart changed (listener, node id, threads, "
		        "database, auth, queue, log target): those keep their values");
	yq_strlcpy(hub.wc.allowed_origins, wc.allowed_origins, sizeof(hub.wc.allowed_origins));
	hub.wc.heartbeat_timeout_s = wc.heartbeat_timeout_s;
	hub.wc.presence_grace_ms = wc.presence_grace_ms;
	hub.wc.rate = wc.rate;
	hub.wc.burst = wc.burst;
	hub.wc.abuse_limit = wc.abuse_limit;
	hub.wc.max_message = wc.max_message;
	hub.wc.sendq_bytes = wc.sendq_bytes;
	hub.wc.presence_batch_above = wc.presence_batch_above;
	hub.wc.snapshot_members = wc.snapshot_members;
	hub.wc.snapshot_partial = wc.snapshot_partial;
	hub.wc.lead_min_ms = wc.lead_min_ms;
	hub.wc.lead_max_ms = wc.lead_max_ms;
	hub.wc.health_interval_ms = wc.health_interval_ms;
	hub.wc.max_conns_per_user = wc.max_conns_per_user;
	hub.wc.max_custom_event = wc.max_custom_event;
	hub.wc.shutdown_timeout_ms = wc.shutdown_timeout_ms;
	hub.wc.linger_ms = wc.linger_ms;
	yq_log_set_level(next.log_level);
	yq_info("SIGHUP: configuration reloaded from %s", conf_file);
}

/* ---- SIGTERM: drain, then stop ---- */

#define LIFE_TICK_MS 50

static lws_sorted_usec_list_t life;
static int64_t drain_until_ms;
static unsigned idle_ticks;

static void
drain_begin(int64_t now)
{
	unsigned n = 0;

	hub.draining = true;
	drain_until_ms = now + hub.wc.shutdown_timeout_ms;
	/* no more sweeps: a room stays until the chat its members sent has
	 * been stored and relayed (conn.c's chat_saved) */
	lws_sul_cancel(&hub.tick);
	/* The listener stays open (lws 4.1.6's lws_context_deprecate() reads
	 * the listener it has just freed): a client that connects meanwhile
	 * is answered 1001 at once (conn.c), and one through nginx tries
	 * again, reaching another node or, once this one has exited, being
	 * passed on by nginx itself. */
	MAP_EACH(&hub.conns, id, v, {
		(void)id;
		conn_close(v, LWS_CLOSE_STATUS_GOINGAWAY, "going away");
		n++;
	});
	yq_info("stopping: %u connections told 1001, %u + %u database jobs to flush", n,
	        dbworker_queued(JOBQ_AUTH), dbworker_queued(JOBQ_ROOM));
}

/* Done when no client is left (lingering ones included) and the database
 * threads have been idle for two ticks in a row (a result the loop has
 * not handled yet may queue a relay), or at the deadline. */
static bool
drained(int64_t now)
{
	idle_ticks = dbworker_idle() ? idle_ticks + 1 : 0;
	if (now >= drain_until_ms) {
		yq_warn("stopping after ws.shutdown_timeout_ms: %zu connections, %u + %u database "
		        "jobs left",
		        hub.conns.n, dbworker_queued(JOBQ_AUTH), dbworker_queued(JOBQ_ROOM));
		return true;
	}
	return hub.conns.n == 0 && conn_lingering() == 0 && idle_ticks >= 2;
}

static void
life_tick(lws_sorted_usec_list_t *sul)
{
	int64_t now = yq_mono_ms();

	conn_linger_sweep(now, false);
	if (hub.reload && !hub.stop) {
		hub.reload = 0;
		reload_config();
	}
	if (hub.stop && !hub.draining) {
		drain_begin(now);
	} else if (hub.draining && drained(now)) {
		hub.done = true;
		if (hub.evloop) {
			dbworker_unwake();
			lws_context_destroy(hub.ctx); /* ends the event library's loop */
		}
		return;
	}
	lws_sul_schedule(hub.ctx, 0, sul, life_tick, LIFE_TICK_MS * LWS_US_PER_MS);
}

static void
lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	yq_log(level == LLL_ERR ? YQ_LOG_ERROR : YQ_LOG_WARN, "lws: %.*s", (int)n, line);
}

int
main(int argc, char **argv)
{
	const char *conf = getenv("YIQIKAN_CONFIG"), *pidfile = NULL;
	char defconf[512], err[512];
	static struct yq_config cfg;
	int opt;

	snprintf(defconf, sizeof(defconf), "%s/yiqikan.conf", YQ_SYSCONFDIR);
	while ((opt = getopt(argc, argv, "c:p:h")) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 'p': pidfile = optarg; break;
		default:
			fprintf(opt == 'h' ? stdout : stderr,
			        "usage: yiqikan-ws [-c CONFIG] [-p PIDFILE]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	conf_file = conf ? conf : defconf;
	if (yq_config_load(&cfg, conf_file, err, sizeof(err)) < 0 ||
	    yq_config_validate(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "yiqikan-ws: %s\n", err);
		return 1;
	}
	if (yq_log_init("yiqikan-ws", cfg.log_target, cfg.log_level) < 0 ||
	    yq_password_init() < 0 || yq_db_global_init() < 0) {
		fprintf(stderr, "yiqikan-ws: initialisation failed\n");
		return 1;
	}
	hub.cfg = &cfg;
	ws_config_from(&cfg, &hub.wc);
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);

	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = (int)cfg.ws_port;
	info.iface = cfg.ws_bind[0] ? cfg.ws_bind : NULL;
	info.protocols = ws_protocols;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
	/* No lws idle policy.  lws 4.1.6 keeps every connection's validity
	 * timer in one sorted list that an insert walks from its head (O(n)).
	 * Leaving the policy unset does not avoid it: the context's default
	 * pings every connection after 300 s and hangs up at 310 s without a
	 * close frame.  A policy without a hangup time sets no timer.  (With
	 * the default: 8% of the service thread in a join storm of 1,000
	 * walking that list; 12% of a core over 300 s of 19,800 idle
	 * connections instead of 5%, and up to 3,529 of them cut near the
	 * end of it.)  The application's heart_beat timeout
	 * (ws.heartbeat_timeout) closes silent connections instead. */
	static const lws_retry_bo_t no_idle_policy = { .secs_since_valid_hangup = 0 };
	info.retry_and_idle_policy = &no_idle_policy;
	info.fd_limit_per_thread = 0;
	info.count_threads = 1;
	/* lws drops a connection whose upgrade has not completed within
	 * this: headers still arriving (a slowloris trickling them holds a
	 * header table: timeout_secs_ah_idle, lws' default 10 s) or complete
	 * without an upgrade (timeout_secs, lws' default 5 s) */
	info.timeout_secs = cfg.ws_handshake_timeout;
	info.timeout_secs_ah_idle = cfg.ws_handshake_timeout;
	/* lws' libev plugin (epoll underneath): its own poll(2) loop walks
	 * every descriptor on each wake-up, which at 20,000 idle connections
	 * took half a core doing nothing but heart_beats.  Without the plugin
	 * (Debian: libwebsockets-evlib-ev) we fall back to poll(2). */
	bool want_ev = strcmp(cfg.ws_event_loop, "poll") != 0;
	if (want_ev) {
		info.options |= LWS_SERVER_OPTION_LIBEV;
		info.signal_cb = on_evlib_signal;
		hub.ctx = lws_create_context(&info);
		hub.evloop = hub.ctx != NULL;
	}
	if (!hub.ctx) {
		if (want_ev)
			yq_warn("no lws libev plugin (libwebsockets-evlib-ev): using poll(2)");
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
		hub.ctx = lws_create_context(&info);
	}
	if (!hub.ctx) {
		yq_error("cannot listen on %s:%u", cfg.ws_bind, cfg.ws_port);
		return 1;
	}
	if (hub.wc.metrics_listen[0] && metrics_listen(hub.ctx, hub.wc.metrics_listen) < 0) {
		lws_context_destroy(hub.ctx);
		return 1;
	}
	if (dbworker_start(&hub) < 0) {
		yq_error("cannot start the database threads");
		lws_context_destroy(hub.ctx);
		return 1;
	}
	hub_ask_id_block(); /* ids for unstored chat, before the first client */
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lws_sul_schedule(hub.ctx, 0, &hub.tick, hub_tick, 200 * LWS_US_PER_MS);
	lws_sul_schedule(hub.ctx, 0, &life, life_tick, LIFE_TICK_MS * LWS_US_PER_MS);
	yq_info("node %s listening on %s:%u (%s)", hub.wc.node_id, cfg.ws_bind, cfg.ws_port,
	        hub.evloop ? "libev" : "poll");
	if (hub.evloop) {
		/* the event library's loop runs until life_tick() has drained
		 * and destroys the context */
		while (!lws_service(hub.ctx, 0))
			;
	} else {
		while (!hub.done && lws_service(hub.ctx, 0) >= 0)
			;
	}
	yq_info("stopping (%llu messages sent, %llu slow consumers dropped)",
	        (unsigned long long)hub.sent, (unsigned long long)hub.dropped_slow);
	lws_sul_cancel(&hub.tick);
	lws_sul_cancel(&life);
	dbworker_unwake();
	lws_context_destroy(hub.ctx);
	hub.ctx = NULL;
	conn_linger_sweep(yq_mono_ms(), true);
	/* rooms that outlived their connections (grace) still hold playback */
	MAP_EACH(&hub.rooms, id, v, {
		struct room *rm = v;
		(void)id;
		for (size_t i = 0; i < rm->nusers; i++)
			rm->users[i].offline_at_ms = 0;
		rm->pending_auth = 0; /* their answers will not come */
		hub_room_maybe_free(rm);
	});
	MAP_EACH(&hub.users, id, v, {
		(void)id;
		free(v);
	});
	dbworker_stop();
	map_free(&hub.users);
	map_free(&hub.rooms);
	map_free(&hub.conns);
	if (pidfile)
		unlink(pidfile);
	return 0;
}
