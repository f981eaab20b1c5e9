/*
 * yiqikanctl - operator's command-line tool.
 *
 *   yiqikanctl [-c CONFIG] migrate [--sql-dir DIR]   apply sql/NNN_*.sql once each
 *   yiqikanctl [-c CONFIG] cleanup                   purge expired tokens and counters
 *   yiqikanctl [-c CONFIG] config                    print the effective config (secrets masked)
 *   yiqikanctl [-c CONFIG] ping                      exit 0 when the database answers
 *
 * migrate records each applied file in schema_migrations and holds a
 * named lock (GET_LOCK) while it works, so two runs at once are safe.
 * cleanup deletes in bounded batches so it never holds long locks.
 */
#include "config.h"

#include "core/config.h"
#include "core/db.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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
	char *names[1000];
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
purge(struct yq_db *db, const char *sql)
{
	long long total = 0, n;

	do {
		n = yq_db_exec(db, sql, NULL, 0, NULL);
		if (n < 0)
			return n;
		total += n;
	} while (n == 1000);
	return total;
}

static int
cleanup(struct yq_db *db)
{
	static const struct {
		const char *what;
		const char *sql;
	} jobs[] = {
		{ "expired refresh tokens",
		  "DELETE FROM refresh_tokens WHERE expires_at < NOW() - INTERVAL 1 DAY LIMIT 1000" },
		{ "spent or expired ws tickets",
		  "DELETE FROM ws_tickets WHERE expires_at < NOW() - INTERVAL 1 HOUR LIMIT 1000" },
		{ "expired rate-limit windows",
		  "DELETE FROM rate_limits WHERE expires_at < NOW() LIMIT 1000" },
	};

	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
		long long n = purge(db, jobs[i].sql);
		if (n < 0) {
			fprintf(stderr, "cleanup: %s: %s\n", jobs[i].what, yq_db_error(db));
			return 1;
		}
		printf("cleanup: removed %lld %s\n", n, jobs[i].what);
	}
	return 0;
}

static void
usage(FILE *out)
{
	fprintf(out, "usage: yiqikanctl [-c CONFIG] migrate [--sql-dir DIR] | cleanup | config | ping\n");
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
	struct yq_db *db = yq_db_new(&cfg);
	int rc;
	if (!db)
		return 1;
	if (yq_db_connect(db) < 0) {
		fprintf(stderr, "yiqikanctl: cannot connect to the database: %s\n", yq_db_error(db));
		rc = 1;
	} else if (strcmp(cmd, "ping") == 0) {
		rc = 0;
	} else if (strcmp(cmd, "migrate") == 0) {
		const char *dir = getenv("YIQIKAN_SQL_DIR");
		if (i + 1 < argc && strcmp(argv[i], "--sql-dir") == 0)
			dir = argv[i + 1];
		rc = migrate(db, dir ? dir : YQ_SQLDIR);
	} else if (strcmp(cmd, "cleanup") == 0) {
		rc = cleanup(db);
	} else {
		usage(stderr);
		rc = 2;
	}
	yq_db_free(db);
	return rc;
}
