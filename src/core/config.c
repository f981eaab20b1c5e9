/*
 * config.c - defaults, file and environment, driven by one key table.
 *
 * Each row names a key ("section.key"), its type, where it lives in
 * struct yq_config, its default and whether it is a secret (never printed).
 * Loading is three passes over the same table: defaults, the file, the
 * environment (YIQIKAN_DB_HOST overrides db.host).
 */
#include "config.h"

#include "core/config.h"
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum ctype { C_STR, C_UINT, C_RATE };

struct ckey {
	const char *name;
	enum ctype type;
	size_t off;
	size_t size;
	const char *def;
	bool secret;
};

/* clang-format off */
#define S(n, f, d) { n, C_STR, offsetof(struct yq_config, f), sizeof(((struct yq_config *)0)->f), d, false }
#define SECRET(n, f, d) { n, C_STR, offsetof(struct yq_config, f), sizeof(((struct yq_config *)0)->f), d, true }
#define U(n, f, d) { n, C_UINT, offsetof(struct yq_config, f), 0, d, false }
#define R(n, f, d) { n, C_RATE, offsetof(struct yq_config, f), 0, d, false }
/* clang-format on */

static const struct ckey keys[] = {
	S("db.host", db_host, "127.0.0.1"),
	U("db.port", db_port, "3306"),
	S("db.socket", db_socket, ""),
	S("db.name", db_name, "yiqikan"),
	S("db.user", db_user, "yiqikan"),
	SECRET("db.password", db_password, ""),
	U("db.connect_timeout", db_connect_timeout, "2"),
	U("db.rw_timeout", db_rw_timeout, "10"),
	S("db.hosts", db_hosts, ""),
	U("db.sync_wait", db_sync_wait, "0"),
	S("log.target", log_target, "stderr"),
	S("log.level", log_level, "info"),
	S("api.prefix", api_prefix, "/api"),
	U("api.max_body", api_max_body, "65536"),
	U("api.workers", api_workers, "2"),
	U("api.retry_after", api_retry_after, "2"),
	S("api.status_path", api_status_path, ""),
	S("api.status_allow", api_status_allow, "127.0.0.1 ::1"),
	SECRET("auth.jwt_key", jwt_key, ""),
	S("auth.issuer", jwt_issuer, "yiqikan"),
	S("auth.audience", jwt_audience, "yiqikan"),
	U("auth.access_ttl", access_ttl, "900"),
	U("auth.refresh_ttl", refresh_ttl, "1209600"),
	U("auth.ticket_ttl", ticket_ttl, "30"),
	U("auth.argon2_opslimit", argon2_opslimit, "2"),
	U("auth.argon2_memlimit_kib", argon2_memlimit_kib, "19456"),
	R("ratelimit.login_ip", rl_login_ip, "30/60"),
	R("ratelimit.login_user", rl_login_user, "10/300"),
	R("ratelimit.register_ip", rl_register_ip, "10/3600"),
	R("ratelimit.register_user", rl_register_user, "5/3600"),
	U("presence.ttl", presence_ttl, "30"),
	U("notify.retention_days", notify_retention_days, "30"),
	U("queue.retention_hours", queue_retention_hours, "72"),
	U("queue.grace_ms", queue_grace_ms, "2000"),
	U("queue.batch", queue_batch, "500"),
	U("queue.poll_ms", queue_poll_ms, "5"),
	S("queue.wake", queue_wake, ""),
	S("queue.order", queue_order, "auto"),
	S("ws.bind", ws_bind, "127.0.0.1"),
	U("ws.port", ws_port, "9001"),
	S("ws.node_id", ws_node_id, ""),
	S("ws.allowed_origins", ws_allowed_origins, ""),
	U("ws.heartbeat_timeout", ws_heartbeat_timeout, "60"),
	U("ws.presence_grace_ms", ws_presence_grace_ms, "5000"),
	R("ws.rate", ws_rate, "10/1"),
	U("ws.burst", ws_burst, "20"),
	U("ws.abuse_limit", ws_abuse_limit, "50"),
	U("ws.max_message", ws_max_message, "65536"),
	U("ws.sendq_bytes", ws_sendq_bytes, "4194304"),
	U("ws.recent_messages", ws_recent_messages, "50"),
	U("ws.presence_batch_above", ws_presence_batch_above, "50"),
	U("ws.snapshot_members", ws_snapshot_members, "100"),
	U("ws.snapshot_partial_members", ws_snapshot_partial_members, "20"),
	U("ws.auth_workers", ws_auth_workers, "1"),
	U("ws.queue_poll_idle_ms", ws_queue_poll_idle_ms, "25"),
	S("ws.metrics_listen", ws_metrics_listen, ""),
	S("ws.wake_listen", ws_wake_listen, ""),
	U("ws.command_lead_min_ms", ws_command_lead_min_ms, "40"),
	U("ws.command_lead_max_ms", ws_command_lead_max_ms, "250"),
	U("ws.health_interval_ms", ws_health_interval_ms, "1000"),
	U("ws.max_connections_per_user", ws_max_connections_per_user, "20"),
	U("ws.max_custom_event", ws_max_custom_event, "8192"),
	S("ws.event_loop", ws_event_loop, "libev"),
	U("ws.handshake_timeout", ws_handshake_timeout, "5"),
	U("ws.shutdown_timeout_ms", ws_shutdown_timeout_ms, "10000"),
	U("ws.linger_ms", ws_linger_ms, "5000"),
};

static const struct ckey *
find_key(const char *name)
{
	for (size_t i = 0; i < YQ_ARRAY_LEN(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
parse_uint(const char *v, unsigned *out)
{
	int64_t n;

	if (yq_parse_i64(v, 0, 0xffffffffLL, &n) < 0)
		return -1;
	*out = (unsigned)n;
	return 0;
}

static int
set_value(struct yq_config *cfg, const struct ckey *k, const char *v, char *err, size_t errsz)
{
	char *field = (char *)cfg + k->off;

	switch (k->type) {
	case C_STR:
		if (strlen(v) >= k->size) {
			snprintf(err, errsz, "%s: value longer than %zu bytes", k->name,
			         k->size - 1);
			return -1;
		}
		yq_strlcpy(field, v, k->size);
		return 0;
	case C_UINT:
		if (parse_uint(v, (unsigned *)(void *)field) < 0) {
			snprintf(err, errsz, "%s: not a non-negative integer", k->name);
			return -1;
		}
		return 0;
	case C_RATE: {
		struct yq_rate *r = (struct yq_rate *)(void *)field;
		char tmp[64];
		if (yq_strlcpy(tmp, v, sizeof(tmp)) >= sizeof(tmp)) {
			snprintf(err, errsz, "%s: expected COUNT/SECONDS", k->name);
			return -1;
		}
		char *slash = strchr(tmp, '/');
		if (!slash) {
			snprintf(err, errsz, "%s: expected COUNT/SECONDS", k->name);
			return -1;
		}
		*slash = '\0';
		if (parse_uint(tmp, &r->count) < 0 || parse_uint(slash + 1, &r->window) < 0 ||
		    r->window == 0) {
			snprintf(err, errsz, "%s: expected COUNT/SECONDS", k->name);
			return -1;
		}
		return 0;
	}
	}
	return -1;
}

int
yq_config_set(struct yq_config *cfg, const char *key, const char *value, char *err, size_t errsz)
{
	const struct ckey *k = find_key(key);

	if (!k) {
		snprintf(err, errsz, "unknown key %s", key);
		return -1;
	}
	return set_value(cfg, k, value, err, errsz);
}

static char *
trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
load_file(struct yq_config *cfg, const char *path, char *err, size_t errsz)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[1024], section[64] = "";
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errsz, "%s:%d: line too long", path, lineno);
			rc = -1;
			break;
		}
		char *s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			if (!e || e[1] != '\0' || (size_t)(e - s - 1) >= sizeof(section)) {
				snprintf(err, errsz, "%s:%d: bad section header", path, lineno);
				rc = -1;
				break;
			}
			*e = '\0';
			yq_strlcpy(section, s + 1, sizeof(section));
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errsz, "%s:%d: expected key = value", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char name[160], msg[200];
		snprintf(name, sizeof(name), "%s.%s", section, trim(s));
		if (yq_config_set(cfg, name, trim(eq + 1), msg, sizeof(msg)) < 0) {
			snprintf(err, errsz, "%s:%d: %s", path, lineno, msg);
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

static void
env_name(char *out, size_t outsz, const char *key)
{
	size_t n = yq_strlcpy(out, "YIQIKAN_", outsz);

	for (const char *p = key; *p && n + 1 < outsz; p++, n++)
		out[n] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
	out[n] = '\0';
}

int
yq_config_load(struct yq_config *cfg, const char *path, char *err, size_t errsz)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < YQ_ARRAY_LEN(keys); i++)
		if (set_value(cfg, &keys[i], keys[i].def, err, errsz) < 0)
			return -1;
	if (path && load_file(cfg, path, err, errsz) < 0)
		return -1;
	for (size_t i = 0; i < YQ_ARRAY_LEN(keys); i++) {
		char name[96], msg[200];
		env_name(name, sizeof(name), keys[i].name);
		const char *v = getenv(name);
		if (v && set_value(cfg, &keys[i], v, msg, sizeof(msg)) < 0) {
			snprintf(err, errsz, "environment %s: %s", name, msg);
			return -1;
		}
	}
	return 0;
}

int
yq_config_validate(const struct yq_config *cfg, char *err, size_t errsz)
{
	if (strlen(cfg->jwt_key) < 32) {
		snprintf(err, errsz,
		         "auth.jwt_key must be set to at least 32 bytes "
		         "(e.g. the output of: head -c 48 /dev/urandom | base64)");
		return -1;
	}
	if (cfg->access_ttl == 0 || cfg->refresh_ttl == 0 || cfg->ticket_ttl == 0) {
		snprintf(err, errsz, "auth.*_ttl must be positive");
		return -1;
	}
	if (cfg->api_workers == 0 || cfg->api_workers > 256) {
		snprintf(err, errsz, "api.workers must be 1..256");
		return -1;
	}
	if (strcmp(cfg->queue_order, "auto") != 0 && strcmp(cfg->queue_order, "id") != 0 &&
	    strcmp(cfg->queue_order, "commit") != 0) {
		snprintf(err, errsz, "queue.order must be auto, id or commit");
		return -1;
	}
	if (cfg->argon2_opslimit < 1 || cfg->argon2_memlimit_kib < 8) {
		snprintf(err, errsz, "auth.argon2_* too small");
		return -1;
	}
	if (cfg->api_status_path[0] &&
	    (cfg->api_status_path[0] != '/' || strpbrk(cfg->api_status_path, "?# \t"))) {
		snprintf(err, errsz, "api.status_path must be empty or a path starting with /");
		return -1;
	}
	return 0;
}

void
yq_config_dump(const struct yq_config *cfg, FILE *out)
{
	for (size_t i = 0; i < YQ_ARRAY_LEN(keys); i++) {
		const struct ckey *k = &keys[i];
		const char *field = (const char *)cfg + k->off;
		fprintf(out, "%s = ", k->name);
		if (k->secret)
			fputs(*field ? "(set)" : "(empty)", out);
		else if (k->type == C_STR)
			fputs(field, out);
		else if (k->type == C_UINT)
			fprintf(out, "%u", *(const unsigned *)(const void *)field);
		else {
			const struct yq_rate *r = (const struct yq_rate *)(const void *)field;
			fprintf(out, "%u/%u", r->count, r->window);
		}
		fputc('\n', out);
	}
}

const char *const *
yq_config_keys(void)
{
	static const char *names[YQ_ARRAY_LEN(keys) + 1];

	for (size_t i = 0; i < YQ_ARRAY_LEN(keys); i++)
		names[i] = keys[i].name;
	return names;
}
