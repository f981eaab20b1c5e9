/*
 * wake.h - telling the ws nodes that the event queue has new rows, so
 * their tails read it at once instead of polling it while idle.
 *
 * Whoever commits queue rows (a REST worker after its request, a ws
 * node's database thread after its job) sends one datagram to each
 * address of queue.wake; a ws node with ws.wake_listen set reads the
 * queue when one arrives and, having that, polls only every 100 ms
 * while idle (doc/operations.md, "Waking the queue tail").  A datagram
 * carries nothing but the fact: a lost one costs at most those 100 ms, a
 * forged one a poll (a woken idle tail reads at most every
 * queue.poll_ms).
 */
#ifndef YQ_WAKE_H
#define YQ_WAKE_H

#include <stdbool.h>

#include "core/config.h"
#include "core/db.h"

/* Nudge every address of cfg->queue_wake (resolved on the first call;
 * nothing when empty).  Thread-safe, never blocks. */
void yq_wake_send(const struct yq_config *cfg);
/* After a request or job: nudge when db queued rows since the last call. */
void yq_wake_after(const struct yq_config *cfg, struct yq_db *db);

/* A UDP socket bound to "host:port" (non-blocking, close-on-exec), or -1
 * (logged). */
int yq_wake_listen(const char *hostport);
/* Read every waiting datagram: true when there was one. */
bool yq_wake_drain(int fd);

#endif
