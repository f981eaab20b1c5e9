/*
 * db.c - see db.h.
 *
 * The statement cache is an open-addressing table keyed by the SQL
 * string's address: call sites pass literals, so the address is stable and
 * comparing pointers is enough.  Result cells are fetched as strings; the
 * buffer of each column is sized from the stored result's max_length and a
 * truncated cell is fetched again with mysql_stmt_fetch_column.
 */
#include "config.h"

#include "core/db.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#define STMT_SLOTS       256
#define YQ_DB_MAX_PARAMS 32

struct stmt_slot {
	const char *sql;
	MYSQL_STMT *stmt;
};

struct yq_db {
	const struct yq_config *cfg;
	MYSQL *conn;
	int host;   /* index in the db.hosts list of the connected node, -1: db.host */
	bool wsrep; /* the server has wsrep_on (a Galera node) */
	bool in_tx;
	bool queued; /* rows went into event_queue since yq_db_take_queued() */
	unsigned long long insert_id;
	unsigned last_errno;
	char last_error[512];
	struct stmt_slot slots[STMT_SLOTS];
};

int
yq_db_global_init(void)
{
	return mysql_library_init(0, NULL, NULL) == 0 ? 0 : -1;
}

struct yq_db *
yq_db_new(const struct yq_config *cfg)
{
	struct yq_db *db = calloc(1, sizeof(*db));

	if (db) {
		db->cfg = cfg;
		db->host = -1;
	}
	return db;
}

static void
drop_connection(struct yq_db *db)
{
	for (size_t i = 0; i < STMT_SLOTS; i++) {
		if (db->slots[i].stmt)
			mysql_stmt_close(db->slots[i].stmt);
		db->slots[i].stmt = NULL;
		db->slots[i].sql = NULL;
	}
	if (db->conn)
		mysql_close(db->conn);
	db->conn = NULL;
	db->in_tx = false;
}

void
yq_db_free(struct yq_db *db)
{
	if (!db)
		return;
	drop_connection(db);
	free(db);
}

/* The server is away or cannot serve right now: the connection is closed
 * and the caller answers 503.  Besides the client's own codes: 1040 too
 * many connections, 1047 a Galera node outside the primary component
 * ("WSREP has not yet prepared node for application use"), 1053 shutdown
 * in progress, 1180 an error during COMMIT (Galera loses its primary
 * component at commit), 1927 connection killed, 4031 idle disconnect. */
static bool
is_unavailable(unsigned err)
{
	switch (err) {
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_LOST_EXTENDED:
	case ER_CON_COUNT_ERROR:
	case ER_UNKNOWN_COM_ERROR:
	case ER_SERVER_SHUTDOWN:
	case ER_ERROR_DURING_COMMIT:
	case ER_CONNECTION_KILLED:
	case 4031: return true;
	default: return false;
	}
}

static void
set_error(struct yq_db *db, unsigned err, const char *msg)
{
	db->last_errno = err;
	yq_strlcpy(db->last_error, msg ? msg : "", sizeof(db->last_error));
}

static int
map_error(struct yq_db *db)
{
	unsigned e = db->last_errno;

	if (is_unavailable(e)) {
		yq_warn("database unavailable (%u: %s)", e, db->last_error);
		drop_connection(db);
		return YQ_EDBDOWN;
	}
	if (e == ER_DUP_ENTRY)
		return YQ_EDUP;
	if (e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT)
		return YQ_ECONFLICT;
	yq_error("database error %u: %s", e, db->last_error);
	return YQ_EINTERNAL;
}

int
yq_db_parse_hosts(const char *list, unsigned defport, struct yq_db_host *out, unsigned max)
{
	unsigned n = 0;
	const char *p = list;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *e = p;
		while (*e && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		if (n == max)
			return -1;
		struct yq_db_host *h = &out[n];
		size_t len = (size_t)(e - p);
		const char *colon = NULL, *hs = p, *he = e;
		if (*p == '[') { /* [v6]:port */
			const char *rb = memchr(p, ']', len);
			if (!rb)
				return -1;
			hs = p + 1;
			he = rb;
			if (rb + 1 < e) {
				if (rb[1] != ':')
					return -1;
				colon = rb + 1;
			}
		} else {
			colon = memchr(p, ':', len);
			if (colon && memchr(colon + 1, ':', (size_t)(e - colon - 1)))
				return -1; /* a bare IPv6 address needs brackets */
			if (colon)
				he = colon;
		}
		if (he == hs || (size_t)(he - hs) >= sizeof(h->name))
			return -1;
		memcpy(h->name, hs, (size_t)(he - hs));
		h->name[he - hs] = '\0';
		h->port = defport;
		if (colon) {
			char num[8];
			size_t nl = (size_t)(e - colon - 1);
			int64_t v;
			if (nl == 0 || nl >= sizeof(num))
				return -1;
			memcpy(num, colon + 1, nl);
			num[nl] = '\0';
			if (yq_parse_i64(num, 1, 65535, &v) < 0)
				return -1;
			h->port = (unsigned)v;
		}
		n++;
		p = e;
	}
	return (int)n;
}

enum health { H_DOWN, H_READY, H_SYNCED };

/* One value of SHOW GLOBAL STATUS / VARIABLES; out is "" when absent. */
static int
show_value(MYSQL *m, const char *q, char *out, size_t outsz)
{
	out[0] = '\0';
	if (mysql_real_query(m, q, strlen(q)) != 0)
		return -1;
	MYSQL_RES *res = mysql_store_result(m);
	if (!res)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(res);
	if (row && mysql_num_fields(res) >= 2 && row[1])
		yq_strlcpy(out, row[1], outsz);
	mysql_free_result(res);
	return 0;
}

/* Is this server fit to serve?  A server without wsrep always is; a
 * Galera node when it is in the primary component (wsrep_ready) and,
 * best, Synced (wsrep_local_state 4: not joining, not a blocked donor). */
static enum health
health(MYSQL *m, bool *wsrep)
{
	char on[16], ready[16], state[16];

	*wsrep = false;
	if (show_value(m, "SHOW GLOBAL VARIABLES LIKE 'wsrep\\_on'", on, sizeof(on)) < 0)
		return H_DOWN;
	if (strcasecmp(on, "ON") != 0)
		return H_SYNCED; /* not a cluster node (or a server without wsrep) */
	*wsrep = true;
	if (show_value(m, "SHOW GLOBAL STATUS LIKE 'wsrep\\_ready'", ready, sizeof(ready)) < 0 ||
	    show_value(m, "SHOW GLOBAL STATUS LIKE 'wsrep\\_local\\_state'", state, sizeof(state)) <
	            0)
		return H_DOWN;
	if (strcasecmp(ready, "ON") != 0)
		return H_DOWN;
	return strcmp(state, "4") == 0 ? H_SYNCED : H_READY;
}

static MYSQL *
open_one(struct yq_db *db, const char *host, unsigned port, const char *sock)
{
	const struct yq_config *c = db->cfg;
	MYSQL *m = mysql_init(NULL);

	if (!m)
		return NULL;
	unsigned ct = c->db_connect_timeout, rw = c->db_rw_timeout;
	my_bool off = 0;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	mysql_options(m, MYSQL_OPT_RECONNECT, &off);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m, MYSQL_INIT_COMMAND,
	              "SET time_zone = '+00:00', "
	              "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION,"
	              "ERROR_FOR_DIVISION_BY_ZERO'");
	if (!mysql_real_connect(m, sock ? NULL : host, c->db_user, c->db_password, c->db_name, port,
	                        sock, CLIENT_FOUND_ROWS)) {
		set_error(db, mysql_errno(m), mysql_error(m));
		yq_warn("database connect to %s:%u failed (%u: %s)", sock ? sock : host, port,
		        db->last_errno, db->last_error);
		mysql_close(m);
		return NULL;
	}
	return m;
}

/* Session settings of a Galera node: causal reads when configured. */
static int
setup_wsrep(struct yq_db *db, MYSQL *m)
{
	char q[64];

	if (!db->wsrep || db->cfg->db_sync_wait == 0)
		return 0;
	snprintf(q, sizeof(q), "SET SESSION wsrep_sync_wait = %u", db->cfg->db_sync_wait & 15);
	if (mysql_real_query(m, q, strlen(q)) != 0) {
		set_error(db, mysql_errno(m), mysql_error(m));
		return -1;
	}
	return 0;
}

/* The db.hosts list: first the Synced nodes in order, then any that is
 * at least wsrep_ready.  A node that refuses or is unhealthy costs one
 * connect (refused at once, or connect_timeout when it does not answer). */
static int
connect_list(struct yq_db *db)
{
	struct yq_db_host hosts[YQ_DB_MAX_HOSTS];
	int n = yq_db_parse_hosts(db->cfg->db_hosts, db->cfg->db_port, hosts, YQ_DB_MAX_HOSTS);
	int fallback = -1;

	if (n <= 0) {
		set_error(db, 0, "db.hosts is not a valid host:port list");
		yq_error("%s", db->last_error);
		return YQ_EINTERNAL;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			if (pass == 1 && i != fallback)
				continue;
			MYSQL *m = open_one(db, hosts[i].name, hosts[i].port, NULL);
			if (!m)
				continue;
			bool wsrep;
			enum health h = health(m, &wsrep);
			if (h == H_SYNCED || (pass == 1 && h == H_READY)) {
				db->wsrep = wsrep;
				if (setup_wsrep(db, m) == 0) {
					if (db->host >= 0 && db->host != i)
						yq_warn("database: moved to %s:%u", hosts[i].name,
						        hosts[i].port);
					db->conn = m;
					db->host = i;
					return 0;
				}
			} else if (h == H_READY && fallback < 0) {
				fallback = i;
			} else {
				yq_warn("database %s:%u is not ready (not in the primary "
				        "component)",
				        hosts[i].name, hosts[i].port);
			}
			mysql_close(m);
		}
		if (fallback < 0)
			break;
	}
	set_error(db, ER_UNKNOWN_COM_ERROR, "no database node is ready");
	return YQ_EDBDOWN;
}

int
yq_db_connect(struct yq_db *db)
{
	const struct yq_config *c = db->cfg;

	if (db->conn)
		return 0;
	db->in_tx = false;
	if (c->db_hosts[0])
		return connect_list(db);
	const char *sock = c->db_socket[0] ? c->db_socket : NULL;
	MYSQL *m = open_one(db, c->db_host, c->db_port, sock);
	if (!m)
		return YQ_EDBDOWN;
	bool wsrep;
	enum health h = health(m, &wsrep);
	if (h == H_DOWN)
		set_error(db, ER_UNKNOWN_COM_ERROR, "the database node is not ready");
	if (h == H_DOWN || (db->wsrep = wsrep, setup_wsrep(db, m) < 0)) {
		yq_warn("database is not ready (%u: %s)", db->last_errno, db->last_error);
		mysql_close(m);
		return YQ_EDBDOWN;
	}
	db->conn = m;
	return 0;
}

const struct yq_config *
yq_db_config(struct yq_db *db)
{
	return db->cfg;
}

bool
yq_db_is_wsrep(struct yq_db *db)
{
	return yq_db_connect(db) == 0 && db->wsrep;
}

static size_t
slot_of(const char *sql)
{
	uintptr_t h = (uintptr_t)sql;

	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 56) % STMT_SLOTS;
}

static int
get_stmt(struct yq_db *db, const char *sql, MYSQL_STMT **out)
{
	size_t i = slot_of(sql);

	for (size_t n = 0; n < STMT_SLOTS; n++, i = (i + 1) % STMT_SLOTS) {
		if (db->slots[i].sql == sql) {
			*out = db->slots[i].stmt;
			return 0;
		}
		if (!db->slots[i].sql)
			break;
	}
	if (db->slots[i].sql) {
		yq_error("statement cache full");
		return YQ_EINTERNAL;
	}
	MYSQL_STMT *st = mysql_stmt_init(db->conn);
	if (!st)
		return YQ_ENOMEM;
	my_bool on = 1;
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		set_error(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		mysql_stmt_close(st);
		return map_error(db);
	}
	db->slots[i].sql = sql;
	db->slots[i].stmt = st;
	*out = st;
	return 0;
}

long long
yq_rows_int(const struct yq_rows *r, unsigned row, unsigned col)
{
	const char *s = yq_rows_str(r, row, col);

	return s ? strtoll(s, NULL, 10) : 0;
}

void
yq_rows_free(struct yq_rows *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < (size_t)r->nrows * r->ncols; i++)
		free(r->cell[i]);
	free(r->cell);
	free(r->len);
	free(r);
}

static int
rows_grow(struct yq_rows *r, unsigned *cap)
{
	unsigned ncap = *cap ? *cap * 2 : 8;
	size_t n = (size_t)ncap * r->ncols;
	char **c = realloc(r->cell, n * sizeof(*c));
	if (!c)
		return -1;
	r->cell = c;
	size_t *l = realloc(r->len, n * sizeof(*l));
	if (!l)
		return -1;
	r->len = l;
	*cap = ncap;
	return 0;
}

/* Fetch every row of a stored result set as strings. */
static int
fetch_rows(struct yq_db *db, MYSQL_STMT *st, MYSQL_RES *meta, struct yq_rows **out)
{
	unsigned ncols = mysql_num_fields(meta);
	MYSQL_FIELD *fields = mysql_fetch_fields(meta);
	MYSQL_BIND *b = calloc(ncols ? ncols : 1, sizeof(*b));
	unsigned long *lens = calloc(ncols ? ncols : 1, sizeof(*lens));
	my_bool *nulls = calloc(ncols ? ncols : 1, sizeof(*nulls));
	my_bool *errs = calloc(ncols ? ncols : 1, sizeof(*errs));
	struct yq_rows *r = calloc(1, sizeof(*r));
	int rc = YQ_ENOMEM;

	if (!b || !lens || !nulls || !errs || !r)
		goto out;
	r->ncols = ncols;
	for (unsigned c = 0; c < ncols; c++) {
		size_t sz = fields[c].max_length;
		if (sz < 64)
			sz = 64;
		b[c].buffer_type = MYSQL_TYPE_STRING;
		b[c].buffer = malloc(sz + 1);
		b[c].buffer_length = sz + 1;
		b[c].length = &lens[c];
		b[c].is_null = &nulls[c];
		b[c].error = &errs[c];
		if (!b[c].buffer)
			goto out;
	}
	if (mysql_stmt_bind_result(st, b) != 0) {
		set_error(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		rc = map_error(db);
		goto out;
	}
	unsigned cap = 0;
	for (;;) {
		int f = mysql_stmt_fetch(st);
		if (f == MYSQL_NO_DATA)
			break;
		if (f == 1) {
			set_error(db, mysql_stmt_errno(st), mysql_stmt_error(st));
			rc = map_error(db);
			goto out;
		}
		if (r->nrows == cap && rows_grow(r, &cap) < 0)
			goto out;
		size_t base = (size_t)r->nrows * ncols;
		for (unsigned c = 0; c < ncols; c++) {
			r->cell[base + c] = NULL;
			r->len[base + c] = 0;
		}
		r->nrows++;
		for (unsigned c = 0; c < ncols; c++) {
			if (nulls[c])
				continue;
			char *cell = malloc(lens[c] + 1);
			if (!cell)
				goto out;
			if (lens[c] < b[c].buffer_length) {
				memcpy(cell, b[c].buffer, lens[c]);
			} else {
				MYSQL_BIND one = { 0 };
				unsigned long l2 = 0;
				one.buffer_type = MYSQL_TYPE_STRING;
				one.buffer = cell;
				one.buffer_length = lens[c] + 1;
				one.length = &l2;
				if (mysql_stmt_fetch_column(st, &one, c, 0) != 0) {
					free(cell);
					set_error(db, mysql_stmt_errno(st), mysql_stmt_error(st));
					rc = map_error(db);
					goto out;
				}
			}
			cell[lens[c]] = '\0';
			r->cell[base + c] = cell;
			r->len[base + c] = lens[c];
		}
	}
	*out = r;
	r = NULL;
	rc = 0;
out:
	if (b)
		for (unsigned c = 0; c < ncols; c++)
			free(b[c].buffer);
	free(b);
	free(lens);
	free(nulls);
	free(errs);
	yq_rows_free(r);
	return rc;
}

static long long
exec_once(struct yq_db *db, const char *sql, const struct yq_param *params, unsigned np,
          struct yq_rows **rows, bool *prepared_only)
{
	MYSQL_STMT *st = NULL;
	int rc;

	*prepared_only = true;
	if ((rc = yq_db_connect(db)) < 0)
		return rc;
	if ((rc = get_stmt(db, sql, &st)) < 0)
		return rc;
	if (mysql_stmt_param_count(st) != np) {
		yq_error("statement expects %lu parameters, got %u: %.60s",
		         mysql_stmt_param_count(st), np, sql);
		return YQ_EINTERNAL;
	}
	MYSQL_BIND b[YQ_DB_MAX_PARAMS];
	if (np > YQ_DB_MAX_PARAMS)
		return YQ_EINTERNAL;
	memset(b, 0, sizeof(b));
	for (unsigned i = 0; i < np; i++) {
		switch (params[i].type) {
		case YQ_P_NULL: b[i].buffer_type = MYSQL_TYPE_NULL; break;
		case YQ_P_INT:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&params[i].i;
			break;
		case YQ_P_STR:
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = (void *)params[i].s;
			b[i].buffer_length = params[i].len;
			break;
		}
	}
	if (np && mysql_stmt_bind_param(st, b) != 0)
		goto fail;
	*prepared_only = false;
	if (mysql_stmt_execute(st) != 0)
		goto fail;
	db->insert_id = mysql_stmt_insert_id(st);
	long long affected = (long long)mysql_stmt_affected_rows(st);
	MYSQL_RES *meta = mysql_stmt_result_metadata(st);
	if (!meta)
		return affected < 0 ? 0 : affected;
	if (mysql_stmt_store_result(st) != 0) {
		mysql_free_result(meta);
		goto fail;
	}
	struct yq_rows *r = NULL;
	rc = fetch_rows(db, st, meta, &r);
	mysql_free_result(meta);
	mysql_stmt_free_result(st);
	if (rc < 0)
		return rc;
	long long n = r->nrows;
	if (rows)
		*rows = r;
	else
		yq_rows_free(r);
	return n;
fail:
	set_error(db, mysql_stmt_errno(st), mysql_stmt_error(st));
	return map_error(db);
}

static bool
is_read_only(const char *sql)
{
	while (*sql == ' ' || *sql == '\n' || *sql == '\t')
		sql++;
	return strncasecmp(sql, "SELECT", 6) == 0;
}

long long
yq_db_exec(struct yq_db *db, const char *sql, const struct yq_param *params, unsigned np,
           struct yq_rows **rows)
{
	bool in_tx = db->in_tx, prepared_only;

	if (rows)
		*rows = NULL;
	long long rc = exec_once(db, sql, params, np, rows, &prepared_only);
	/* Retry once on a fresh connection when nothing can have run twice:
	 * outside a transaction, and either a SELECT or a failure before the
	 * statement was sent. */
	if (rc == YQ_EDBDOWN && !in_tx && (prepared_only || is_read_only(sql)))
		rc = exec_once(db, sql, params, np, rows, &prepared_only);
	return rc;
}

unsigned long long
yq_db_insert_id(struct yq_db *db)
{
	return db->insert_id;
}

const char *
yq_db_error(struct yq_db *db)
{
	return db->last_error;
}

unsigned
yq_db_errno(struct yq_db *db)
{
	return db->last_errno;
}

static int
simple_query(struct yq_db *db, const char *q)
{
	if (!db->conn)
		return YQ_EDBDOWN;
	if (mysql_real_query(db->conn, q, strlen(q)) != 0) {
		set_error(db, mysql_errno(db->conn), mysql_error(db->conn));
		return map_error(db);
	}
	return 0;
}

int
yq_db_snapshot_begin(struct yq_db *db)
{
	int rc = yq_db_connect(db);

	if (rc < 0)
		return rc;
	rc = simple_query(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
	if (rc == 0)
		db->in_tx = true;
	return rc;
}

void
yq_db_snapshot_end(struct yq_db *db)
{
	if (db->conn && db->in_tx)
		simple_query(db, "COMMIT");
	db->in_tx = false;
}

/* Sleep a random time in [0, 2^attempt * YQ_DB_RETRY_BASE_MS): two
 * writers that collided do not collide again in lock step. */
static void
backoff(int attempt)
{
	unsigned cap = YQ_DB_RETRY_BASE_MS << attempt;
	unsigned ms = randombytes_uniform(cap) + 1;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int
yq_db_tx(struct yq_db *db, int (*fn)(struct yq_db *db, void *arg), void *arg)
{
	int rc = YQ_EINTERNAL;

	for (int attempt = 0; attempt < YQ_DB_TX_ATTEMPTS; attempt++) {
		if (attempt > 0)
			backoff(attempt);
		if ((rc = yq_db_connect(db)) < 0)
			return rc;
		if ((rc = simple_query(db, "START TRANSACTION")) < 0) {
			if (rc == YQ_EDBDOWN && (rc = yq_db_connect(db)) == 0)
				rc = simple_query(db, "START TRANSACTION");
			if (rc < 0)
				return rc;
		}
		db->in_tx = true;
		rc = fn(db, arg);
		if (rc >= 0) {
			int c = simple_query(db, "COMMIT");
			db->in_tx = false;
			if (c == 0)
				return rc;
			/* a connection lost at COMMIT may have committed: no rerun */
			if (c != YQ_ECONFLICT)
				return c;
			rc = c;
		} else if (db->conn) {
			simple_query(db, "ROLLBACK");
		}
		db->in_tx = false;
		if (rc != YQ_ECONFLICT)
			return rc;
		yq_warn("transaction conflict (%u), retrying (attempt %d)", db->last_errno,
		        attempt + 1);
	}
	return rc;
}

int
yq_db_run_script(struct yq_db *db, const char *text, size_t len)
{
	int rc = yq_db_connect(db);

	if (rc < 0)
		return rc;
	if (mysql_set_server_option(db->conn, MYSQL_OPTION_MULTI_STATEMENTS_ON) != 0)
		goto fail;
	int status = mysql_real_query(db->conn, text, len);
	while (status == 0) {
		MYSQL_RES *res = mysql_store_result(db->conn);
		if (res)
			mysql_free_result(res);
		status = mysql_next_result(db->conn);
		if (status > 0)
			goto fail;
		if (status < 0)
			break; /* no more results */
	}
	if (status > 0)
		goto fail;
	mysql_set_server_option(db->conn, MYSQL_OPTION_MULTI_STATEMENTS_OFF);
	return 0;
fail:
	set_error(db, mysql_errno(db->conn), mysql_error(db->conn));
	rc = map_error(db);
	if (db->conn)
		mysql_set_server_option(db->conn, MYSQL_OPTION_MULTI_STATEMENTS_OFF);
	return rc == YQ_EINTERNAL ? YQ_EINVAL : rc;
}

void
yq_db_mark_queued(struct yq_db *db)
{
	db->queued = true;
}

bool
yq_db_take_queued(struct yq_db *db)
{
	bool q = db->queued;

	db->queued = false;
	return q;
}
