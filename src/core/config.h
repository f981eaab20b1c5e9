/*
 * config.h - the one configuration of every yiqikan process.
 *
 * Values come from built-in defaults, then the INI-style file
 * (yiqikan.conf: "[section]" headers, "key = value" lines, '#' comments),
 * then YIQIKAN_<SECTION>_<KEY> environment variables.  The key table in
 * config.c is the single list of keys; etc/yiqikan.conf.sample documents
 * each of them and a unit test checks the two agree.
 */
#ifndef YQ_CONFIG_H
#define YQ_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A rate: at most count events per window seconds (0 count = unlimited). */
struct yq_rate {
	unsigned count;
	unsigned window;
};

struct yq_config {
	/* [db] */
	char db_host[256];
	unsigned db_port;
	char db_socket[512];
	char db_name[65];
	char db_user[81];
	char db_password[256];
	unsigned db_connect_timeout;
	unsigned db_rw_timeout;
	char db_hosts[1024];   /* "host:port, host:port": a cluster, tried in order */
	unsigned db_sync_wait; /* wsrep_sync_wait for every session (Galera) */
	/* [log] */
	char log_target[512];
	char log_level[16];
	/* [api] */
	char api_prefix[64];
	unsigned api_max_body;
	unsigned api_workers;
	unsigned api_retry_after;
	char api_status_path[64];   /* "" = no status page */
	char api_status_allow[256]; /* addresses and IPv4 CIDRs, space-separated */
	/* [auth] */
	char jwt_key[512];
	char jwt_issuer[128];
	char jwt_audience[128];
	unsigned access_ttl;
	unsigned refresh_ttl;
	unsigned ticket_ttl;
	unsigned argon2_opslimit;
	unsigned argon2_memlimit_kib;
	/* [ratelimit] */
	struct yq_rate rl_login_ip;
	struct yq_rate rl_login_user;
	struct yq_rate rl_register_ip;
	struct yq_rate rl_register_user;
	/* [presence] */
	unsigned presence_ttl;
	/* [notify] */
	unsigned notify_retention_days;
	/* [queue] */
	unsigned queue_retention_hours;
	unsigned queue_grace_ms;
	unsigned queue_batch;
	unsigned queue_poll_ms;
	char queue_wake[1024]; /* "host:port, ...": ws nodes to wake after queueing (wake.h) */
	char queue_order[8];   /* auto, id or commit: see doc/queue.md */
	/* [ws] */
	char ws_bind[64];
	unsigned ws_port;
	char ws_node_id[65];
	char ws_allowed_origins[1024];
	unsigned ws_heartbeat_timeout;
	unsigned ws_presence_grace_ms;
	struct yq_rate ws_rate;
	unsigned ws_burst;
	unsigned ws_abuse_limit;
	unsigned ws_max_message;
	unsigned ws_sendq_bytes;
	unsigned ws_recent_messages;
	unsigned ws_presence_batch_above;
	unsigned ws_snapshot_members;
	unsigned ws_snapshot_partial_members;
	unsigned ws_auth_workers;
	unsigned ws_queue_poll_idle_ms;
	char ws_metrics_listen[128];
	char ws_wake_listen[128]; /* host:port (UDP) the queue tail is woken on; empty: off */
	unsigned ws_command_lead_min_ms;
	unsigned ws_command_lead_max_ms;
	unsigned ws_health_interval_ms;
	unsigned ws_max_connections_per_user; /* per node; 0: no cap */
	unsigned ws_max_custom_event;         /* bytes of a custom_event's data */
	char ws_event_loop[16];
	unsigned ws_handshake_timeout;   /* s: an upgrade that has not completed is dropped */
	unsigned ws_shutdown_timeout_ms; /* SIGTERM: longest wait for clients and the database */
	unsigned ws_linger_ms; /* after a close frame: drain the socket this long at most */
};

/* Fill cfg with defaults, then the file at path (NULL: none), then the
 * environment.  On error writes a message (file:line: what) into err and
 * returns -1. */
int yq_config_load(struct yq_config *cfg, const char *path, char *err, size_t errsz);

/* Set one key ("section.key") from a string; -1 with err on a bad value. */
int yq_config_set(struct yq_config *cfg, const char *key, const char *value, char *err,
                  size_t errsz);

/* Check the values that have no safe default (the JWT key). */
int yq_config_validate(const struct yq_config *cfg, char *err, size_t errsz);

/* Print every key as "section.key = value", secrets masked. */
void yq_config_dump(const struct yq_config *cfg, FILE *out);

/* The key names, NULL-terminated (for the sample-file test). */
const char *const *yq_config_keys(void);

#endif
