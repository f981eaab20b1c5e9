/*
 * db.h - one MariaDB/MySQL connection with its prepared statements.
 *
 * Every query goes through yq_db_exec() with bound parameters: there is no
 * way to run SQL built from strings.  Statements are prepared on first use
 * and cached per connection, keyed by the address of the SQL literal.
 *
 * A lost connection (2006, 2013, 4031) or a server that cannot serve (a
 * Galera node outside the primary component: 1047; shutting down: 1053)
 * closes the handle and every cached statement; the next call reconnects
 * and re-prepares.  With db.hosts set, connecting walks the list in order
 * and takes the first node whose wsrep_ready is ON and wsrep_local_state
 * is Synced (4), else the first that is ready at all.  A read-only
 * statement (SELECT) that fails that way outside a transaction is retried
 * once on a fresh connection; a write is not, since it may have run.
 * When the server cannot be reached the call returns YQ_EDBDOWN within the
 * connect timeout, and the REST app answers 503 with Retry-After.
 *
 * Results are small and read whole: every cell as a NUL-terminated string
 * (NULL for SQL NULL).  Times are UTC: each connection sets time_zone.
 */
#ifndef YQ_DB_H
#define YQ_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/config.h"
#include "core/errors.h"

struct yq_db;

enum yq_ptype { YQ_P_NULL, YQ_P_INT, YQ_P_STR };

struct yq_param {
	enum yq_ptype type;
	long long i;
	const char *s;
	size_t len;
};

#define YQ_PINT(v)     ((struct yq_param){ .type = YQ_P_INT, .i = (long long)(v) })
#define YQ_PSTR(v)     ((struct yq_param){ .type = YQ_P_STR, .s = (v), .len = strlen(v) })
#define YQ_PSTRN(v, n) ((struct yq_param){ .type = YQ_P_STR, .s = (v), .len = (n) })
#define YQ_PNULL       ((struct yq_param){ .type = YQ_P_NULL })
/* A string that may be NULL. */
#define YQ_PSTR_OR_NULL(v) ((v) ? YQ_PSTR(v) : YQ_PNULL)

struct yq_rows {
	unsigned nrows;
	unsigned ncols;
	char **cell; /* nrows * ncols, row-major; NULL for SQL NULL */
	size_t *len;
};

static inline const char *
yq_rows_str(const struct yq_rows *r, unsigned row, unsigned col)
{
	return r->cell[(size_t)row * r->ncols + col];
}

long long yq_rows_int(const struct yq_rows *r, unsigned row, unsigned col);
void yq_rows_free(struct yq_rows *r);

/* Once per process, before any thread uses the client library. */
int yq_db_global_init(void);

#define YQ_DB_MAX_HOSTS     16
#define YQ_DB_TX_ATTEMPTS   5 /* runs of one transaction at most */
#define YQ_DB_RETRY_BASE_MS 8 /* backoff before run k: random in [1, 8 * 2^(k-1)] ms */

struct yq_db_host {
	char name[256];
	unsigned port;
};

/* Parse db.hosts ("h1:3306, h2, [::1]:3307"; defport where none is given)
 * into out.  Returns the number of hosts, or -1 on a malformed entry or
 * more than max of them. */
int yq_db_parse_hosts(const char *list, unsigned defport, struct yq_db_host *out, unsigned max);

struct yq_db *yq_db_new(const struct yq_config *cfg);
void yq_db_free(struct yq_db *db);
/* A statement that inserts into event_queue marks its handle; whoever
 * finishes a request or job with it then wakes the ws nodes (wake.h). */
void yq_db_mark_queued(struct yq_db *db);
bool yq_db_take_queued(struct yq_db *db);
/* Connect now if not connected; YQ_EDBDOWN when the server is away. */
int yq_db_connect(struct yq_db *db);

/* Run sql with params.  Returns affected rows (>= 0) or an enum yq_err.
 * When rows is not NULL and the statement returns a result set, *rows gets
 * it (free with yq_rows_free); otherwise *rows is NULL. */
long long yq_db_exec(struct yq_db *db, const char *sql, const struct yq_param *params,
                     unsigned nparams, struct yq_rows **rows);

#define YQ_DB_EXEC(db, sql, rows, ...)                                                         \
	yq_db_exec((db), (sql), (const struct yq_param[]){ __VA_ARGS__ },                      \
	           sizeof((const struct yq_param[]){ __VA_ARGS__ }) / sizeof(struct yq_param), \
	           (rows))

/* The AUTO_INCREMENT id (or LAST_INSERT_ID(expr)) of the last exec. */
unsigned long long yq_db_insert_id(struct yq_db *db);
/* Message and code of the last error (for logs and duplicate-key names). */
const char *yq_db_error(struct yq_db *db);
unsigned yq_db_errno(struct yq_db *db);

/* The configuration the handle was made with. */
const struct yq_config *yq_db_config(struct yq_db *db);

/* Is the connected server a Galera node (wsrep_on)?  Connects if needed. */
bool yq_db_is_wsrep(struct yq_db *db);

/* Run fn inside a transaction: commit when it returns >= 0, roll back
 * otherwise.  A deadlock, a lock-wait timeout or a Galera certification
 * failure (all YQ_ECONFLICT; Galera reports a conflict with another node's
 * write as 1213 at any statement or at COMMIT) reruns the whole
 * transaction after a random backoff, YQ_DB_TX_ATTEMPTS runs in all, so fn
 * must be idempotent up to its writes (it reads what it needs inside the
 * transaction).  A lost connection is not rerun (YQ_EDBDOWN, 503): lost
 * at COMMIT the transaction may have committed, and a connection an
 * administrator killed looks the same to the client (2013) as a dead
 * node; the next request connects to a healthy node. */
int yq_db_tx(struct yq_db *db, int (*fn)(struct yq_db *db, void *arg), void *arg);

/* A read-only transaction whose statements all see one read view (the
 * queue reader's hole check and head read).  Returns 0 or an enum yq_err;
 * end it with yq_db_snapshot_end (also after a failed statement). */
int yq_db_snapshot_begin(struct yq_db *db);
void yq_db_snapshot_end(struct yq_db *db);

/* Run a trusted multi-statement SQL script (a migration file, never
 * anything built from input).  Returns 0 or an enum yq_err. */
int yq_db_run_script(struct yq_db *db, const char *text, size_t len);

#endif
