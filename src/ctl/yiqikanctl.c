/*
 * yiqikanctl - operator's command-line tool.
 *
 *   yiqikanctl [-c CONFIG] migrate [--sql-dir DIR]   apply sql/NNN_*.sql once each
 *   yiqikanctl [-c CONFIG] cleanup                   archive old notifications, purge the
 *                                                    queue, expired tokens and counters
 *   yiqikanctl [-c CONFIG] notify USER|--all TYPE JSON   send a notification (e.g. a
 *                                                    system announcement to everyone)
 *   yiqikanctl [-c CONFIG] queue-tail [--after ID] [--count N] [--timeout SEC]
 *                                                    print queue events as JSON lines
 *   yiqikanctl [-c CONFIG] config                    print the effective config (secrets masked)
 *   yiqikanctl [-c CONFIG] ping                      exit 0 when the database answers
 *
 * migrate records each applied file in schema_migrations and holds a
 * named lock (GET_LOCK) while it works, so two runs at once are safe.
 * cleanup works in bounded batches so it never holds long locks, under a
 * named lock so a second run at the same time does nothing.
 */
#include "config.h"

#include "core/config.h"
#include "core/db.h"
#include "core/json.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/queue.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef YQ_SQLDIR
#define YQ_SQLDIR "/usr/local/share/yiqikan/sql"
#endif
#ifndef YQ_SYSCONFDIR
#define YQ_SYSCONFDIR "/etc"
#endif

static int
is_migration(const char *name)
{
	size_t n = strlen(name);

	return n > 8 && name[0] >= '0' && name[0] <= '9' && name[1] >= '0' && name[1] <= '9' &&
	       name[2] >= '0' && name[2] <= '9' && name[3] == '_' &&
	       strcmp(name + n - 4, ".sql") == 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;

	if (!f)
		return NULL;
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && st.st_size < (1 << 24) &&
	    (buf = malloc((size_t)st.st_size + 1))) {
		*len = fread(buf, 1, (size_t)st.st_size, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static int
migrate(struct yq_db *db, const char *dir)
{
	static const char create[] =
	        "CREATE TABLE IF NOT EXISTS schema_migrations ("
	        "version VARCHAR(255) CHARACTER SET ascii NOT NULL PRIMARY KEY, "
	        "applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB";
	static const char lock[] = "SELECT GET_LOCK('yiqikan_migrate', 60)";
	static const char unlock[] = "SELECT RELEASE_LOCK('yiqikan_migrate')";
	static const char applied[] = "SELECT 1 FROM schema_migrations WHERE version = ?";
	static const char record[] = "INSERT INTO schema_migrations (version) VALUES (?)";
	struct yq_rows *rows;
	int rc = 1;

	if (yq_db_exec(db, create, NULL, 0, NULL) < 0) {
		fprintf(stderr, "migrate: %s\n", yq_db_error(db));
		return 1;
	}
	if (yq_db_exec(db, lock, NULL, 0, &rows) < 0 || yq_rows_int(rows, 0, 0) != 1) {
		yq_rows_free(rows);
		fprintf(stderr, "migrate: could not take the migration lock\n");
		return 1;
	}
	yq_rows_free(rows);

	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "migrate: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	char *names[1000] = { 0 };
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 1000)
		if (is_migration(e->d_name))
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);

	unsigned done = 0;
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		long long have = YQ_DB_EXEC(db, applied, NULL, YQ_PSTR(names[i]));
		if (have < 0) {
			fprintf(stderr, "migrate: %s\n", yq_db_error(db));
			rc = 1;
			break;
		}
		if (have > 0)
			continue;
		char path[4096];
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		char *text = read_file(path, &len);
		if (!text) {
			fprintf(stderr, "migrate: cannot read %s\n", path);
			rc = 1;
			break;
		}
		int sr = yq_db_run_script(db, text, len);
		free(text);
		if (sr < 0 || YQ_DB_EXEC(db, record, NULL, YQ_PSTR(names[i])) < 0) {
			fprintf(stderr, "migrate: %s failed: %s\n", names[i], yq_db_error(db));
			rc = 1;
			break;
		}
		printf("applied %s\n", names[i]);
		done++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	if (rc == 0)
		printf("migrate: %u applied, schema up to date\n", done);
out:
	yq_db_exec(db, unlock, NULL, 0, NULL);
	return rc;
}

/* Delete in batches of 1000 until a batch comes back short. */
static long long
purge(struct yq_db *db, const char *sql, long long cutoff)
{
	long long total = 0, n;

	do {
		n = cutoff ? YQ_DB_EXEC(db, sql, NULL, YQ_PINT(cutoff))
		           : yq_db_exec(db, sql, NULL, 0, NULL);
		if (n < 0)
			return n;
		total += n;
	} while (n == 1000);
	return total;
}

struct archive_batch {
	long long cutoff;
	long long moved;
};

#define ARCHIVABLE \
	"((status = 'read' AND read_at < FROM_UNIXTIME(?)) OR deleted_at < FROM_UNIXTIME(?))"

/* One batch: the first 1000 archivable rows by id, copied then deleted in
 * one transaction.  The cutoff is fixed by the caller, so the copy and the
 * delete select the same rows. */
static int
archive_batch(struct yq_db *db, void *arg)
{
	static const char top[] =
	        "SELECT MAX(id) FROM (SELECT id FROM notifications WHERE " ARCHIVABLE
	        " ORDER BY id LIMIT 1000) t";
	static const char copy[] =
	        "INSERT INTO notifications_archive "
	        "(id, user_id, type, content, status, created_at, read_at, deleted_at) "
	        "SELECT id, user_id, type, content, status, created_at, read_at, deleted_at "
	        "FROM notifications WHERE " ARCHIVABLE " AND id <= ?";
	static const char del[] = "DELETE FROM notifications WHERE " ARCHIVABLE " AND id <= ?";
	struct archive_batch *b = arg;
	struct yq_rows *rows;

	long long n = YQ_DB_EXEC(db, top, &rows, YQ_PINT(b->cutoff), YQ_PINT(b->cutoff));
	if (n < 0)
		return (int)n;
	const char *hi_s = yq_rows_str(rows, 0, 0);
	long long hi = hi_s ? yq_rows_int(rows, 0, 0) : 0;
	yq_rows_free(rows);
	b->moved = 0;
	if (!hi)
		return 0;
	long long copied =
	        YQ_DB_EXEC(db, copy, NULL, YQ_PINT(b->cutoff), YQ_PINT(b->cutoff), YQ_PINT(hi));
	if (copied < 0)
		return (int)copied;
	long long deleted =
	        YQ_DB_EXEC(db, del, NULL, YQ_PINT(b->cutoff), YQ_PINT(b->cutoff), YQ_PINT(hi));
	if (deleted < 0)
		return (int)deleted;
	if (deleted != copied)
		return YQ_EINTERNAL; /* roll back rather than lose a row */
	b->moved = deleted;
	return 0;
}

static int
cleanup(struct yq_db *db, const struct yq_config *cfg, int argc, char **argv)
{
	static const char lock[] = "SELECT GET_LOCK('yiqikan_cleanup', 0)";
	static const char unlock[] = "SELECT RELEASE_LOCK('yiqikan_cleanup')";
	static const struct {
		const char *what;
		const char *sql;
		int cutoff; /* 0: none, 1: queue retention */
	} jobs[] = {
		{ "queue rows",
		  "DELETE FROM event_queue WHERE created_at < FROM_UNIXTIME(?) "
		  "ORDER BY id LIMIT 1000",
		  1 },
		{ "expired refresh tokens",
		  "DELETE FROM refresh_tokens WHERE expires_at < NOW() - INTERVAL 1 DAY LIMIT 1000",
		  0 },
		{ "spent or expired ws tickets",
		  "DELETE FROM ws_tickets WHERE expires_at < NOW() - INTERVAL 1 HOUR LIMIT 1000",
		  0 },
		{ "expired rate-limit windows",
		  "DELETE FROM rate_limits WHERE expires_at < NOW() LIMIT 1000", 0 },
	};
	struct yq_rows *rows;
	(void)argc;
	(void)argv;

	if (yq_db_exec(db, lock, NULL, 0, &rows) < 0)
		return 1;
	long long got = yq_rows_int(rows, 0, 0);
	yq_rows_free(rows);
	if (got != 1) {
		printf("cleanup: another cleanup is running; nothing done\n");
		return 0;
	}
	int rc = 0;
	long long now = time(NULL);
	struct archive_batch b = { .cutoff = now - (long long)cfg->notify_retention_days * 86400 };
	long long moved = 0;
	do {
		if (yq_db_tx(db, archive_batch, &b) < 0) {
			fprintf(stderr, "cleanup: archiving notifications: %s\n", yq_db_error(db));
			rc = 1;
			break;
		}
		moved += b.moved;
	} while (b.moved > 0);
	printf("cleanup: archived %lld notifications\n", moved);

	for (size_t i = 0; rc == 0 && i < sizeof(jobs) / sizeof(jobs[0]); i++) {
		long long cutoff =
		        jobs[i].cutoff ? now - (long long)cfg->queue_retention_hours * 3600 : 0;
		long long n = purge(db, jobs[i].sql, cutoff);
		if (n < 0) {
			fprintf(stderr, "cleanup: %s: %s\n", jobs[i].what, yq_db_error(db));
			rc = 1;
			break;
		}
		printf("cleanup: removed %lld %s\n", n, jobs[i].what);
	}
	yq_db_exec(db, unlock, NULL, 0, NULL);
	return rc;
}

/* notify USER|--all TYPE JSON */
static int
notify(struct yq_db *db, const struct yq_config *cfg, int argc, char **argv)
{
	static const char by_name[] = "SELECT id FROM users WHERE username = ?";
	static const char page[] = "SELECT id FROM users WHERE id > ? ORDER BY id LIMIT 500";
	const char *why;
	(void)cfg;

	if (argc != 3) {
		fprintf(stderr, "usage: yiqikanctl notify USER|--all TYPE JSON-OBJECT\n");
		return 2;
	}
	if (!yq_notify_type_valid(argv[1])) {
		fprintf(stderr, "notify: unknown type %s\n", argv[1]);
		return 2;
	}
	json_object *content = yq_json_parse(argv[2], strlen(argv[2]), &why);
	if (!content || !json_object_is_type(content, json_type_object)) {
		fprintf(stderr, "notify: content must be a JSON object (%s)\n",
		        content || !why ? "not an object" : why);
		json_object_put(content);
		return 2;
	}
	int rc = 0;
	long long sent = 0;
	if (strcmp(argv[0], "--all") == 0) {
		long long after = 0;
		for (;;) {
			struct yq_rows *rows;
			long long n = YQ_DB_EXEC(db, page, &rows, YQ_PINT(after));
			if (n <= 0) {
				rc = n < 0;
				yq_rows_free(rows);
				break;
			}
			for (unsigned i = 0; i < rows->nrows && rc == 0; i++) {
				after = yq_rows_int(rows, i, 0);
				if (yq_notify(db, after, argv[1], content, NULL) < 0)
					rc = 1;
				else
					sent++;
			}
			yq_rows_free(rows);
			if (rc)
				break;
		}
	} else {
		int64_t uid = 0;
		if (yq_parse_i64(argv[0], 1, INT64_MAX, &uid) < 0) {
			struct yq_rows *rows;
			long long n = YQ_DB_EXEC(db, by_name, &rows, YQ_PSTR(argv[0]));
			uid = n > 0 ? yq_rows_int(rows, 0, 0) : 0;
			yq_rows_free(rows);
		}
		long long nid;
		int nr = uid ? yq_notify(db, uid, argv[1], content, &nid) : YQ_ENOTFOUND;
		if (nr == YQ_ENOTFOUND ||
		    (nr < 0 && strstr(yq_db_error(db), "fk_notifications_user"))) {
			fprintf(stderr, "notify: no such user %s\n", argv[0]);
			rc = 1;
		} else if (nr < 0) {
			rc = 1;
		} else {
			printf("notification %lld\n", nid);
			sent = 1;
		}
	}
	json_object_put(content);
	if (rc)
		fprintf(stderr, "notify: failed after %lld sent: %s\n", sent, yq_db_error(db));
	else
		printf("notify: %lld sent\n", sent);
	return rc;
}

static volatile sig_atomic_t tail_stop;

static void
on_tail_signal(int sig)
{
	(void)sig;
	tail_stop = 1;
}

/* queue-tail [--after ID] [--count N] [--timeout SEC]: the reader the ws
 * daemon uses, printing one JSON line per event.  SIGTERM or SIGINT ends
 * it with the summary line, as the timeout does. */
static int
queue_tail(struct yq_db *db, const struct yq_config *cfg, int argc, char **argv)
{
	int64_t after = -1, count = -1, timeout = -1;

	for (int i = 0; i + 1 < argc; i += 2) {
		int64_t *dst = strcmp(argv[i], "--after") == 0     ? &after
		               : strcmp(argv[i], "--count") == 0   ? &count
		               : strcmp(argv[i], "--timeout") == 0 ? &timeout
		                                                   : NULL;
		if (!dst || yq_parse_i64(argv[i + 1], 0, INT64_MAX, dst) < 0) {
			fprintf(stderr, "usage: yiqikanctl queue-tail [--after ID] [--count N] "
			                "[--timeout SEC]\n");
			return 2;
		}
	}
	if (argc % 2) {
		fprintf(stderr,
		        "usage: yiqikanctl queue-tail [--after ID] [--count N] [--timeout SEC]\n");
		return 2;
	}
	unsigned long long start;
	if (after >= 0) {
		start = (unsigned long long)after;
	} else if (yq_queue_head(db, &start) < 0) {
		fprintf(stderr, "queue-tail: %s\n", yq_db_error(db));
		return 1;
	}
	struct yq_queue_reader rd;
	yq_queue_reader_init(&rd, start, cfg->queue_grace_ms, cfg->queue_batch);
	int64_t deadline = timeout >= 0 ? yq_mono_ms() + timeout * 1000 : INT64_MAX;
	long long seen = 0;
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	signal(SIGTERM, on_tail_signal);
	signal(SIGINT, on_tail_signal);
	while ((count < 0 || seen < count) && yq_mono_ms() < deadline && !tail_stop) {
		struct yq_event *ev;
		int n = yq_queue_poll(db, &rd, &ev);
		if (n < 0) {
			usleep(200000); /* database away: keep trying until the deadline */
			continue;
		}
		int64_t now = yq_now_ms();
		for (int i = 0; i < n; i++) {
			printf("{\"id\":%llu,\"target\":\"%s:%lld\",\"type\":\"%s\",\"origin\":\"%"
			       "s\","
			       "\"late\":%s,\"age_us\":%lld,\"recv_ms\":%lld,\"payload\":%s}\n",
			       ev[i].id, ev[i].to_room ? "room" : "user", ev[i].target_id,
			       ev[i].type, ev[i].origin, ev[i].late ? "true" : "false",
			       (long long)ev[i].age_us, (long long)now, ev[i].payload);
			seen++;
		}
		yq_events_free(ev, (unsigned)n);
		fflush(stdout);
		if (n == 0)
			usleep(cfg->queue_poll_ms * 1000);
	}
	yq_queue_reader_free(&rd);
	fprintf(stderr, "queue-tail: %lld events, last id %llu, %llu ids given up, %llu late\n",
	        seen, rd.last_id, rd.given_up, rd.late_rows);
	return 0;
}

static int
ping(struct yq_db *db, const struct yq_config *cfg, int argc, char **argv)
{
	(void)db;
	(void)cfg;
	(void)argc;
	(void)argv;
	return 0;
}

static int
migrate_cmd(struct yq_db *db, const struct yq_config *cfg, int argc, char **argv)
{
	const char *dir = getenv("YIQIKAN_SQL_DIR");
	(void)cfg;

	if (argc >= 2 && strcmp(argv[0], "--sql-dir") == 0)
		dir = argv[1];
	return migrate(db, dir ? dir : YQ_SQLDIR);
}

static void
usage(FILE *out)
{
	fprintf(out, "usage: yiqikanctl [-c CONFIG] COMMAND\n"
	             "  migrate [--sql-dir DIR] | cleanup | notify USER|--all TYPE JSON |\n"
	             "  queue-tail [--after ID] [--count N] [--timeout SEC] | config | ping\n");
}

int
main(int argc, char **argv)
{
	const char *conf = getenv("YIQIKAN_CONFIG");
	char defconf[512];
	int i = 1;

	snprintf(defconf, sizeof(defconf), "%s/yiqikan.conf", YQ_SYSCONFDIR);
	if (i + 1 < argc && strcmp(argv[i], "-c") == 0) {
		conf = argv[i + 1];
		i += 2;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[i++];
	struct yq_config cfg;
	char err[512];
	if (yq_config_load(&cfg, conf ? conf : defconf, err, sizeof(err)) < 0) {
		fprintf(stderr, "yiqikanctl: %s\n", err);
		return 1;
	}
	yq_log_init("yiqikanctl", "stderr", cfg.log_level);
	if (strcmp(cmd, "config") == 0) {
		yq_config_dump(&cfg, stdout);
		return 0;
	}
	if (yq_db_global_init() < 0)
		return 1;
	static const struct {
		const char *name;
		int (*run)(struct yq_db *db, const struct yq_config *cfg, int argc, char **argv);
	} cmds[] = {
		{ "ping", ping },     { "migrate", migrate_cmd },   { "cleanup", cleanup },
		{ "notify", notify }, { "queue-tail", queue_tail },
	};
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (strcmp(cmds[k].name, cmd) != 0)
			continue;
		struct yq_db *db = yq_db_new(&cfg);
		if (!db)
			return 1;
		int rc;
		if (yq_db_connect(db) < 0) {
			fprintf(stderr, "yiqikanctl: cannot connect to the database: %s\n",
			        yq_db_error(db));
			rc = 1;
		} else {
			rc = cmds[k].run(db, &cfg, argc - i, argv + i);
		}
		yq_db_free(db);
		return rc;
	}
	usage(stderr);
	return 2;
}
