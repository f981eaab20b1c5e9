/*
 * pool.h - the FastCGI pool's shared counters and its status page (as
 * php-fpm's pm.status_path).
 *
 * The master maps one struct yq_pool (MAP_SHARED | MAP_ANONYMOUS) before
 * it forks anything, so it and every worker see the same memory: the
 * master writes a slot when it starts or replaces a worker and counts
 * restarts and reloads; a worker counts its own requests in its slot.
 * Every field another process reads is atomic; nothing takes a lock, so a
 * worker killed at any instant leaves nothing held.
 *
 * The page (yq_pool_status) answers GET <prefix><api.status_path> in JSON,
 * or in the Prometheus text format with ?format=prometheus, to the
 * addresses of api.status_allow only; others get the 404 of an unknown
 * path.  doc/operations.md, "API pool status", has the fields.
 */
#ifndef YQ_POOL_H
#define YQ_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/http.h"

#define YQ_POOL_MAX 256 /* api.workers is 1..256 */

struct yq_pool_slot {
	_Atomic pid_t pid;         /* 0: no worker */
	_Atomic int64_t started;   /* epoch seconds */
	_Atomic uint64_t requests; /* served by this worker */
	_Atomic int busy;          /* serving a request now */
};

struct yq_pool {
	int64_t start_time;        /* the master's, epoch seconds */
	_Atomic uint64_t requests; /* served by every worker ever */
	_Atomic uint64_t restarts; /* workers replaced after dying */
	_Atomic uint64_t reloads;  /* SIGHUPs that replaced the pool */
	_Atomic unsigned nslots;   /* slots in use: api.workers */
	struct yq_pool_slot slot[YQ_POOL_MAX];
};

/* Map the shared struct (master, before the first fork); NULL on error. */
struct yq_pool *yq_pool_create(void);

/* Master: slot i is about to get a new worker (before the fork, so the
 * worker's first request counts): counters zeroed, no pid yet. */
void yq_pool_slot_open(struct yq_pool *p, unsigned i);
/* Master: slot i runs pid (after the fork), or is empty (pid 0). */
void yq_pool_slot_run(struct yq_pool *p, unsigned i, pid_t pid);

/* Worker: which slot is ours (before the first request). */
void yq_pool_attach(struct yq_pool *p, unsigned slot);
/* Worker: a request begins / has been answered. */
void yq_pool_begin(void);
void yq_pool_end(void);

/* Is this request the status page (api.status_path set and matching)? */
bool yq_pool_is_status(const struct yq_req *r);
/* Answer the status page (JSON or Prometheus text), or the 404 of an
 * unknown path to an address api.status_allow does not list. */
int yq_pool_status(struct yq_req *r);

/* Does addr match one entry of allow (space-separated addresses and
 * IPv4 a.b.c.d/n)?  Exposed for the unit test. */
bool yq_pool_addr_allowed(const char *allow, const char *addr);

#endif
