/*
 * test_config.c - unit tests for src/core/config.c.
 *
 * Covers: the documented defaults (no file), a file overriding them
 * ("[section]" and "key = value" lines, comments, blank lines, spaces),
 * YIQIKAN_<SECTION>_<KEY> environment variables winning over the file,
 * "file:line: what" errors (unknown key, bad integer, bad rate, a line
 * without '=', an over-long value, a bad section header, a key outside
 * any section, a missing file), yq_config_set, yq_config_validate on the
 * JWT key length, and that etc/yiqikan.conf.sample and the key table
 * agree: every key appears as "key =" under its [section], the sample
 * loads cleanly (so it has no unknown keys), and it shows the defaults.
 *
 * The sample is found through $srcdir (exported by automake's test
 * harness) or, failing that, ../../etc/yiqikan.conf.sample.
 */
#include "config.h"

#include "core/config.h"
#include "core/util.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ---- */

/* The environment variable that overrides key ("db.port" ->
 * "YIQIKAN_DB_PORT"), written independently of config.c. */
static void
env_name(char *out, size_t sz, const char *key)
{
	int n = snprintf(out, sz, "YIQIKAN_%s", key);

	ck_assert(n > 0 && (size_t)n < sz);
	for (char *p = out; *p; p++)
		*p = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
}

/* Unset every YIQIKAN_* override so the developer's environment cannot
 * leak into the tests. */
static void
clear_env(void)
{
	for (const char *const *k = yq_config_keys(); *k; k++) {
		char name[128];
		env_name(name, sizeof(name), *k);
		unsetenv(name);
	}
}

static char tmp_path[64];

/* Write text to a fresh temporary file; its path is in tmp_path. */
static const char *
write_tmp(const char *text)
{
	const char *dir = getenv("TMPDIR");

	snprintf(tmp_path, sizeof(tmp_path), "%s/yqcfgXXXXXX",
	         dir && strlen(dir) < 40 ? dir : "/tmp");
	int fd = mkstemp(tmp_path);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	return tmp_path;
}

static void
teardown(void)
{
	if (tmp_path[0])
		unlink(tmp_path);
	tmp_path[0] = '\0';
	clear_env();
}

/* Load text as a config file; returns yq_config_load's result. */
static int
load_text(struct yq_config *cfg, const char *text, char *err, size_t errsz)
{
	err[0] = '\0';
	return yq_config_load(cfg, write_tmp(text), err, errsz);
}

/* Loading text must fail at line `line` with a message containing what. */
static void
assert_error_at(const char *text, int line, const char *what)
{
	struct yq_config cfg;
	char err[512], at[96];

	ck_assert_msg(load_text(&cfg, text, err, sizeof(err)) == -1, "accepted:\n%s", text);
	snprintf(at, sizeof(at), "%s:%d: ", tmp_path, line);
	ck_assert_msg(strncmp(err, at, strlen(at)) == 0, "error [%s] does not start [%s]", err, at);
	ck_assert_msg(strstr(err, what) != NULL, "error [%s] does not mention [%s]", err, what);
	unlink(tmp_path);
	tmp_path[0] = '\0';
}

static const char *
sample_path(void)
{
	const char *srcdir = getenv("srcdir");

	if (srcdir && *srcdir) {
		static char path[1024];
		snprintf(path, sizeof(path), "%s/etc/yiqikan.conf.sample", srcdir);
		if (access(path, R_OK) == 0)
			return path;
	}
	return "../../etc/yiqikan.conf.sample";
}

/* ---- tests ---- */

START_TEST(test_defaults)
{
	struct yq_config cfg;
	char err[256] = "";

	ck_assert_int_eq(yq_config_load(&cfg, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.db_port, 3306);
	ck_assert_str_eq(cfg.db_host, "127.0.0.1");
	ck_assert_str_eq(cfg.db_name, "yiqikan");
	ck_assert_str_eq(cfg.db_socket, "");
	ck_assert_uint_eq(cfg.api_max_body, 65536);
	ck_assert_str_eq(cfg.api_prefix, "/api");
	ck_assert_uint_eq(cfg.api_retry_after, 2);
	ck_assert_uint_eq(cfg.access_ttl, 900);
	ck_assert_uint_eq(cfg.refresh_ttl, 14 * 24 * 3600);
	ck_assert_uint_eq(cfg.ticket_ttl, 30);
	ck_assert_str_eq(cfg.jwt_issuer, "yiqikan");
	ck_assert_str_eq(cfg.jwt_audience, "yiqikan");
	ck_assert_str_eq(cfg.jwt_key, "");
	ck_assert_uint_eq(cfg.argon2_opslimit, 2);
	ck_assert_uint_eq(cfg.argon2_memlimit_kib, 19456);
	ck_assert_uint_eq(cfg.rl_login_user.count, 10);
	ck_assert_uint_eq(cfg.rl_login_user.window, 300);
	ck_assert_uint_eq(cfg.rl_login_ip.count, 30);
	ck_assert_uint_eq(cfg.rl_login_ip.window, 60);
}
END_TEST

START_TEST(test_file_overrides)
{
	struct yq_config cfg;
	char err[256];
	const char *text = "# a comment\n"
	                   "; another comment\n"
	                   "\n"
	                   "[db]\n"
	                   "  port   =   3307  \n"
	                   "host=db.example.com\n"
	                   "password = s3cret with spaces\n"
	                   "\t[api]\t\n"
	                   "max_body = 1024\n"
	                   "prefix =\n"
	                   "[auth]\n"
	                   "jwt_key = abcdefghijklmnopqrstuvwxyz0123456789\n"
	                   "[ratelimit]\n"
	                   "login_user = 3/60\n"
	                   "register_ip = 0/1\n";

	ck_assert_msg(load_text(&cfg, text, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(cfg.db_port, 3307);
	ck_assert_str_eq(cfg.db_host, "db.example.com");
	ck_assert_str_eq(cfg.db_password, "s3cret with spaces");
	ck_assert_uint_eq(cfg.api_max_body, 1024);
	ck_assert_str_eq(cfg.api_prefix, "");
	ck_assert_str_eq(cfg.jwt_key, "abcdefghijklmnopqrstuvwxyz0123456789");
	ck_assert_uint_eq(cfg.rl_login_user.count, 3);
	ck_assert_uint_eq(cfg.rl_login_user.window, 60);
	ck_assert_uint_eq(cfg.rl_register_ip.count, 0);
	ck_assert_uint_eq(cfg.rl_register_ip.window, 1);
	/* untouched keys keep their defaults */
	ck_assert_uint_eq(cfg.access_ttl, 900);
	ck_assert_str_eq(cfg.db_name, "yiqikan");
	ck_assert_uint_eq(cfg.rl_login_ip.count, 30);
}
END_TEST

START_TEST(test_file_crlf)
{
	struct yq_config cfg;
	char err[256];

	ck_assert_msg(load_text(&cfg, "[db]\r\nport = 3310\r\nname = x\r\n", err, sizeof(err)) == 0,
	              "%s", err);
	ck_assert_uint_eq(cfg.db_port, 3310);
	ck_assert_str_eq(cfg.db_name, "x");
}
END_TEST

START_TEST(test_env_overrides_file)
{
	struct yq_config cfg;
	char err[256];

	ck_assert_int_eq(setenv("YIQIKAN_DB_PORT", "3308", 1), 0);
	ck_assert_int_eq(setenv("YIQIKAN_AUTH_ACCESS_TTL", "60", 1), 0);
	ck_assert_int_eq(setenv("YIQIKAN_RATELIMIT_LOGIN_IP", "7/70", 1), 0);
	ck_assert_int_eq(setenv("YIQIKAN_DB_HOST", "envhost", 1), 0);
	ck_assert_msg(load_text(&cfg, "[db]\nport = 3307\nname = fromfile\n", err, sizeof(err)) ==
	                      0,
	              "%s", err);
	ck_assert_uint_eq(cfg.db_port, 3308);
	ck_assert_str_eq(cfg.db_name, "fromfile");
	ck_assert_str_eq(cfg.db_host, "envhost");
	ck_assert_uint_eq(cfg.access_ttl, 60);
	ck_assert_uint_eq(cfg.rl_login_ip.count, 7);
	ck_assert_uint_eq(cfg.rl_login_ip.window, 70);

	/* and over the defaults when there is no file */
	ck_assert_int_eq(yq_config_load(&cfg, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.db_port, 3308);

	unsetenv("YIQIKAN_DB_PORT");
	ck_assert_int_eq(yq_config_load(&cfg, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.db_port, 3306);
}
END_TEST

START_TEST(test_env_bad_value)
{
	struct yq_config cfg;
	char err[256] = "";

	ck_assert_int_eq(setenv("YIQIKAN_DB_PORT", "abc", 1), 0);
	ck_assert_int_eq(yq_config_load(&cfg, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "YIQIKAN_DB_PORT"));
	unsetenv("YIQIKAN_DB_PORT");
}
END_TEST

START_TEST(test_error_unknown_key)
{
	assert_error_at("[db]\nport = 1\nprot = 2\n", 3, "db.prot");
	assert_error_at("[nosuch]\nport = 1\n", 2, "nosuch.port");
	/* db keys under another section are unknown there */
	assert_error_at("[api]\nport = 1\n", 2, "api.port");
	/* a key before any section header */
	assert_error_at("# top\nport = 1\n", 2, "port");
}
END_TEST

START_TEST(test_error_bad_integer)
{
	assert_error_at("[db]\nport = abc\n", 2, "db.port");
	assert_error_at("[db]\n\nport = -1\n", 3, "db.port");
	assert_error_at("[db]\nport = 12x\n", 2, "db.port");
	assert_error_at("[db]\nport = 0x10\n", 2, "db.port");
	assert_error_at("[db]\nport = 4294967296\n", 2, "db.port");
	assert_error_at("[db]\nport =\n", 2, "db.port");
	assert_error_at("[api]\nmax_body = 1 024\n", 2, "api.max_body");
}
END_TEST

START_TEST(test_error_bad_rate)
{
	assert_error_at("[ratelimit]\nlogin_ip = 5\n", 2, "ratelimit.login_ip");
	assert_error_at("[ratelimit]\nlogin_ip = 5/0\n", 2, "ratelimit.login_ip");
	assert_error_at("[ratelimit]\n\n\nlogin_user = /60\n", 4, "ratelimit.login_user");
	assert_error_at("[ratelimit]\nlogin_user = 5/\n", 2, "ratelimit.login_user");
	assert_error_at("[ratelimit]\nlogin_user = a/b\n", 2, "ratelimit.login_user");
	assert_error_at("[ratelimit]\nlogin_user = 5/60/2\n", 2, "ratelimit.login_user");
}
END_TEST

START_TEST(test_error_line_without_equals)
{
	assert_error_at("[db]\nport 3306\n", 2, "key = value");
	assert_error_at("[db]\nport = 3306\njunk\n", 3, "key = value");
}
END_TEST

START_TEST(test_error_overlong_value)
{
	char text[2048];
	char v[600];

	/* api.prefix holds 63 bytes */
	memset(v, 'a', 64);
	v[64] = '\0';
	snprintf(text, sizeof(text), "[api]\nprefix = %s\n", v);
	assert_error_at(text, 2, "api.prefix");
	/* ... and exactly 63 is fine */
	v[63] = '\0';
	snprintf(text, sizeof(text), "[api]\nprefix = %s\n", v);
	struct yq_config cfg;
	char err[256];
	ck_assert_msg(load_text(&cfg, text, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(strlen(cfg.api_prefix), 63);

	/* db.socket holds 511 */
	memset(v, 's', 512);
	v[512] = '\0';
	snprintf(text, sizeof(text), "[db]\nname = x\nsocket = %s\n", v);
	assert_error_at(text, 3, "db.socket");
}
END_TEST

START_TEST(test_error_overlong_line)
{
	char text[3000];
	char v[1500];

	memset(v, 'k', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	snprintf(text, sizeof(text), "[auth]\njwt_key = %s\n", v);
	assert_error_at(text, 2, "too long");
}
END_TEST

START_TEST(test_error_bad_section)
{
	assert_error_at("[db\nport = 1\n", 1, "section");
	assert_error_at("[db]\n[api] x\n", 2, "section");
}
END_TEST

START_TEST(test_missing_file)
{
	struct yq_config cfg;
	char err[256] = "";

	ck_assert_int_eq(yq_config_load(&cfg, "/nonexistent/yiqikan.conf", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/yiqikan.conf"));
}
END_TEST

START_TEST(test_config_set)
{
	struct yq_config cfg;
	char err[256];

	ck_assert_int_eq(yq_config_load(&cfg, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(yq_config_set(&cfg, "db.port", "1234", err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.db_port, 1234);
	ck_assert_int_eq(yq_config_set(&cfg, "ratelimit.login_ip", "0/60", err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.rl_login_ip.count, 0);
	ck_assert_int_eq(yq_config_set(&cfg, "db.nope", "1", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "db.nope"));
	ck_assert_int_eq(yq_config_set(&cfg, "db.port", "x", err, sizeof(err)), -1);
	/* a failed set leaves the old value */
	ck_assert_uint_eq(cfg.db_port, 1234);
}
END_TEST

START_TEST(test_validate_jwt_key)
{
	struct yq_config cfg;
	char err[256] = "";

	ck_assert_int_eq(yq_config_load(&cfg, NULL, err, sizeof(err)), 0);
	/* the default is empty: refuse to run */
	ck_assert_int_eq(yq_config_validate(&cfg, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "auth.jwt_key"));

	yq_strlcpy(cfg.jwt_key, "0123456789abcdef0123456789abcde", sizeof(cfg.jwt_key));
	ck_assert_uint_eq(strlen(cfg.jwt_key), 31);
	ck_assert_int_eq(yq_config_validate(&cfg, err, sizeof(err)), -1);

	yq_strlcpy(cfg.jwt_key, "0123456789abcdef0123456789abcdef", sizeof(cfg.jwt_key));
	ck_assert_int_eq(yq_config_validate(&cfg, err, sizeof(err)), 0);
	yq_strlcpy(cfg.jwt_key, "a-much-longer-key-of-forty-eight-bytes-here-1234",
	           sizeof(cfg.jwt_key));
	ck_assert_int_eq(yq_config_validate(&cfg, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_validate_other_limits)
{
	struct yq_config cfg;
	char err[256];

	ck_assert_int_eq(yq_config_load(&cfg, NULL, err, sizeof(err)), 0);
	yq_strlcpy(cfg.jwt_key, "0123456789abcdef0123456789abcdef", sizeof(cfg.jwt_key));
	ck_assert_int_eq(yq_config_validate(&cfg, err, sizeof(err)), 0);
	cfg.access_ttl = 0;
	ck_assert_int_eq(yq_config_validate(&cfg, err, sizeof(err)), -1);
	cfg.access_ttl = 900;
	cfg.api_workers = 0;
	ck_assert_int_eq(yq_config_validate(&cfg, err, sizeof(err)), -1);
	cfg.api_workers = 2;
	cfg.argon2_opslimit = 0;
	ck_assert_int_eq(yq_config_validate(&cfg, err, sizeof(err)), -1);
	cfg.argon2_opslimit = 2;
	/* the status page: off, or a path */
	ck_assert_str_eq(cfg.api_status_path, "");
	ck_assert_str_eq(cfg.api_status_allow, "127.0.0.1 ::1");
	static const char *const bad[] = { "status", "/s?x", "/s t", "/s#" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		yq_strlcpy(cfg.api_status_path, bad[i], sizeof(cfg.api_status_path));
		ck_assert_int_eq(yq_config_validate(&cfg, err, sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "api.status_path"));
	}
	yq_strlcpy(cfg.api_status_path, "/_pool/status", sizeof(cfg.api_status_path));
	ck_assert_int_eq(yq_config_validate(&cfg, err, sizeof(err)), 0);
}
END_TEST

/* "section.key" names found as "key = ..." lines under "[section]" in the
 * sample; returns how many, and fails on a duplicate. */
static size_t
sample_keys(const char *path, char names[][96], size_t max)
{
	FILE *f = fopen(path, "r");
	char line[1024], section[64] = "";
	size_t n = 0;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			ck_assert_ptr_nonnull(e);
			*e = '\0';
			yq_strlcpy(section, s + 1, sizeof(section));
			continue;
		}
		char *eq = strchr(s, '=');
		ck_assert_msg(eq != NULL, "sample line without '=': %s", s);
		char *ke = eq;
		while (ke > s && isspace((unsigned char)ke[-1]))
			ke--;
		ck_assert(n < max);
		snprintf(names[n], sizeof(names[n]), "%s.%.*s", section, (int)(ke - s), s);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(strcmp(names[i], names[n]) != 0, "%s twice in the sample",
			              names[n]);
		n++;
	}
	fclose(f);
	return n;
}

START_TEST(test_sample_lists_every_key)
{
	static char names[256][96];
	size_t n = sample_keys(sample_path(), names, 256);
	size_t nkeys = 0;

	for (const char *const *k = yq_config_keys(); *k; k++, nkeys++) {
		bool found = false;
		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(names[i], *k) == 0;
		ck_assert_msg(found, "key %s is not in %s", *k, sample_path());
	}
	ck_assert_uint_ge(nkeys, 20);
	/* nothing in the sample the key table does not know */
	for (size_t i = 0; i < n; i++) {
		bool known = false;
		for (const char *const *k = yq_config_keys(); *k && !known; k++)
			known = strcmp(names[i], *k) == 0;
		ck_assert_msg(known, "sample has unknown key %s", names[i]);
	}
	ck_assert_uint_eq(n, nkeys);
}
END_TEST

START_TEST(test_sample_loads_with_defaults)
{
	struct yq_config from_sample, defaults;
	char err[512] = "";

	ck_assert_msg(yq_config_load(&from_sample, sample_path(), err, sizeof(err)) == 0, "%s",
	              err);
	ck_assert_int_eq(yq_config_load(&defaults, NULL, err, sizeof(err)), 0);
	/* "Every key is shown with its default" */
	ck_assert_uint_eq(from_sample.db_port, defaults.db_port);
	ck_assert_uint_eq(from_sample.api_max_body, defaults.api_max_body);
	ck_assert_uint_eq(from_sample.rl_register_user.window, defaults.rl_register_user.window);
	ck_assert_msg(memcmp(&from_sample, &defaults, sizeof(defaults)) == 0,
	              "the sample's values differ from the built-in defaults");
}
END_TEST

/* ---- over-long values ---- */

/* An over-long rate must be refused, not truncated into another number. */
START_TEST(test_overlong_rate_refused)
{
	char text[256];

	/* "1/" + 60 zeros + "60": 64 characters, parsed today as 1/6 */
	snprintf(text, sizeof(text), "[ratelimit]\nlogin_ip = 1/%060d60\n", 0);
	assert_error_at(text, 2, "ratelimit.login_ip");
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("load");

	tcase_add_checked_fixture(tc, clear_env, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_file_overrides);
	tcase_add_test(tc, test_file_crlf);
	tcase_add_test(tc, test_env_overrides_file);
	tcase_add_test(tc, test_env_bad_value);
	tcase_add_test(tc, test_error_unknown_key);
	tcase_add_test(tc, test_error_bad_integer);
	tcase_add_test(tc, test_error_bad_rate);
	tcase_add_test(tc, test_error_line_without_equals);
	tcase_add_test(tc, test_error_overlong_value);
	tcase_add_test(tc, test_error_overlong_line);
	tcase_add_test(tc, test_error_bad_section);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_config_set);
	tcase_add_test(tc, test_validate_jwt_key);
	tcase_add_test(tc, test_validate_other_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("sample");
	tcase_add_checked_fixture(tc, clear_env, teardown);
	tcase_add_test(tc, test_sample_lists_every_key);
	tcase_add_test(tc, test_sample_loads_with_defaults);
	suite_add_tcase(s, tc);

	{
		tc = tcase_create("overlong");
		tcase_add_checked_fixture(tc, clear_env, teardown);
		tcase_add_test(tc, test_overlong_rate_refused);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
