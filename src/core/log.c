/*
 * log.c - see log.h.  The request id is thread-local so the ws daemon's
 * worker threads can tag their lines too.
 */
#include "config.h"

#include "core/log.h"
#include "core/util.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static bool use_syslog;
static enum yq_log_level min_level = YQ_LOG_INFO;
static char log_ident[32] = "yiqikan";
static _Thread_local char reqid[64] = "-";

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static bool
is_devnull(int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0)
		return true;
	if (stat("/dev/null", &b) < 0)
		return false;
	return a.st_rdev == b.st_rdev && S_ISCHR(a.st_mode);
}

int
yq_log_set_level(const char *level)
{
	for (size_t i = 0; i < YQ_ARRAY_LEN(level_names); i++)
		if (level && strcmp(level, level_names[i]) == 0) {
			__atomic_store_n(&min_level, (enum yq_log_level)i, __ATOMIC_RELAXED);
			return 0;
		}
	return -1;
}

int
yq_log_init(const char *ident, const char *target, const char *level)
{
	yq_strlcpy(log_ident, ident, sizeof(log_ident));
	for (size_t i = 0; i < YQ_ARRAY_LEN(level_names); i++)
		if (level && strcmp(level, level_names[i]) == 0)
			min_level = (enum yq_log_level)i;
	use_syslog = false;
	if (log_fd > 2)
		close(log_fd);
	log_fd = 2;
	if (!target || strcmp(target, "stderr") == 0) {
		use_syslog = is_devnull(2);
	} else if (strcmp(target, "syslog") == 0) {
		use_syslog = true;
	} else if (strncmp(target, "file:", 5) == 0) {
		int fd = open(target + 5, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0)
			return -1;
		log_fd = fd;
	} else {
		return -1;
	}
	if (use_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	return 0;
}

void
yq_log_set_reqid(const char *id)
{
	yq_strlcpy(reqid, id && *id ? id : "-", sizeof(reqid));
}

const char *
yq_log_reqid(void)
{
	return reqid;
}

void
yq_log(enum yq_log_level level, const char *fmt, ...)
{
	if (level < (enum yq_log_level)__atomic_load_n(&min_level, __ATOMIC_RELAXED))
		return;

	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* keep it one line whatever the message holds */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';

	if (use_syslog) {
		static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };
		syslog(prio[level], "level=%s req=%s %s", level_names[level], reqid, msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char line[1200];
	int n = snprintf(line, sizeof(line),
	                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] level=%s req=%s %s\n",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, ts.tv_nsec / 1000000, log_ident, (int)getpid(),
	                 level_names[level], reqid, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	ssize_t w = write(log_fd, line, (size_t)n);
	(void)w;
}
