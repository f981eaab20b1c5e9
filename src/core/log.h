/*
 * log.h - one line per event: time, level, process, request id, message.
 *
 * Targets: "stderr", "syslog", or "file:/path" (opened O_APPEND, each line
 * written with one write(2) so concurrent workers never interleave).  When
 * the target is stderr but stderr is /dev/null (spawn-fcgi does that to its
 * children), logging falls back to syslog so errors stay visible.
 * Never pass secrets (keys, passwords, tokens) to these functions.
 */
#ifndef YQ_LOG_H
#define YQ_LOG_H

enum yq_log_level { YQ_LOG_DEBUG, YQ_LOG_INFO, YQ_LOG_WARN, YQ_LOG_ERROR };

int yq_log_init(const char *ident, const char *target, const char *level);
/* Change the lowest level logged, from any thread (a reload): -1 for an
 * unknown name, nothing changed. */
int yq_log_set_level(const char *level);
void yq_log_set_reqid(const char *reqid);
const char *yq_log_reqid(void);
void yq_log(enum yq_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define yq_debug(...) yq_log(YQ_LOG_DEBUG, __VA_ARGS__)
#define yq_info(...)  yq_log(YQ_LOG_INFO, __VA_ARGS__)
#define yq_warn(...)  yq_log(YQ_LOG_WARN, __VA_ARGS__)
#define yq_error(...) yq_log(YQ_LOG_ERROR, __VA_ARGS__)

#endif
