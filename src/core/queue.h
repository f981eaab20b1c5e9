/*
 * queue.h - tailing the event queue without losing a row.
 *
 * AUTO_INCREMENT ids are taken when a row is inserted, not when its
 * transaction commits, so a reader that asks for "id > last" can see id 8
 * before id 7 exists: 7's transaction is still open.  Skipping 7 would
 * lose it.  The reader therefore delivers rows strictly in id order and
 * stops at the first gap, until either the gap fills or the gap is older
 * than the grace period.  The age of a gap is known without keeping any
 * state: every missing id was allocated before the row that follows it,
 * so that row's age (measured on the database clock) bounds from below how
 * long the gap's transaction has been open.  A gap past the grace period
 * is given up (a rolled-back transaction leaves one forever) and logged;
 * its id range is still re-checked (every YQ_QUEUE_LATE_CHECK_MS, all
 * ranges in a few statements) for late_window_ms, and a row that commits
 * in it after all is delivered late (flagged), not lost.
 *
 * That is the reader for one server ("id order").  On a Galera cluster
 * each node hands out ids offset + k * increment, and a node's counter
 * jumps past ids whenever it applies a larger id from another node, so
 * most gaps never fill and id order would wait grace_ms at nearly every
 * row.  There the reader uses "commit order" instead: every node commits
 * write-sets in the one total order of the cluster, so what a node shows
 * is always a prefix of that order and rows become visible in it.  The
 * reader delivers each row as soon as it is visible, remembers the ids
 * below its position that it has not seen (holes), and re-checks them
 * with one aggregate statement per span: on every poll for holes younger
 * than grace_ms, every YQ_QUEUE_LATE_CHECK_MS for all of them, for
 * late_window_ms (a row found in an older hole is flagged late).  It
 * never waits, and it does not depend on the increment, so a cluster that
 * grows or shrinks changes nothing.  queue.order picks the mode (auto:
 * commit when the server has wsrep_on).
 *
 * Delivery is at-least-once across restarts (the caller keeps last_id);
 * within one reader each row is returned exactly once.  doc/queue.md has
 * the whole argument.
 */
#ifndef YQ_QUEUE_H
#define YQ_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/db.h"

/* Given-up ranges (id order) and all holes (commit order) re-read
 * together, this often (ms). */
#define YQ_QUEUE_LATE_CHECK_MS 250
/* Commit order: holes younger than grace_ms are re-read on every poll,
 * before the head, so that rows come out in commit order. */
/* Commit order: holes are checked per chunk of this many ids. */
#define YQ_QUEUE_CHUNK 1024

struct yq_event {
	unsigned long long id;
	bool to_room; /* target_kind 'room' (else 'user') */
	long long target_id;
	char type[33];
	char *payload; /* JSON text */
	size_t payload_len;
	char origin[65];
	int64_t age_us; /* time since insert, database clock */
	bool late;      /* arrived after its gap was given up */
};

/* Commit order: the ids below the reader's position that it has not seen,
 * as sorted, disjoint ranges, each with the time it was first missed.
 * Pure logic (no SQL), unit-tested in tests/unit/test_queue.c. */
struct yq_holes {
	struct yq_hole {
		unsigned long long lo, hi;
		int64_t since_ms; /* monotonic; nondecreasing along the array, nearly */
	} * v;
	unsigned n, cap;
};

enum yq_queue_order { YQ_ORDER_AUTO, YQ_ORDER_ID, YQ_ORDER_COMMIT };

struct yq_queue_reader {
	enum yq_queue_order order; /* AUTO until the first poll decides */
	struct yq_holes holes;     /* commit order only */
	int64_t next_full_check_ms;
	unsigned long long last_id; /* every id <= last_id was returned or given up */
	unsigned grace_ms;
	unsigned batch;
	unsigned late_window_ms;
	struct yq_late_range {
		unsigned long long lo, hi;
		int64_t until_ms; /* monotonic */
	} * late;                 /* growable: a range is only forgotten when it expires */
	unsigned nlate, caplate;
	int64_t next_late_check_ms;
	unsigned long long given_up; /* ids given up so far */
	unsigned long long late_rows;
};

void yq_queue_reader_init(struct yq_queue_reader *r, unsigned long long after_id, unsigned grace_ms,
                          unsigned batch);
/* The largest id in the queue now (0 when empty): start here to tail only
 * new events. */
int yq_queue_head(struct yq_db *db, unsigned long long *id);
/* Next events in id order (late ones first).  Returns their number and a
 * malloc'd array in *out (free with yq_events_free), or an enum yq_err. */
int yq_queue_poll(struct yq_db *db, struct yq_queue_reader *r, struct yq_event **out);
void yq_events_free(struct yq_event *ev, unsigned n);
void yq_queue_reader_free(struct yq_queue_reader *r);

/* ---- the hole set (exposed for the unit tests) ---- */
/* Add lo..hi (merged with neighbours); -1 when out of memory. */
int yq_holes_add(struct yq_holes *h, unsigned long long lo, unsigned long long hi,
                 int64_t since_ms);
/* Is id a hole?  If so remove it (splitting its range) and give its
 * since_ms. */
bool yq_holes_take(struct yq_holes *h, unsigned long long id, int64_t *since_ms);
/* Count and sum of the hole ids inside lo..hi. */
void yq_holes_in(const struct yq_holes *h, unsigned long long lo, unsigned long long hi,
                 unsigned long long *count, unsigned long long *sum);
/* Drop the leading ranges missed before cutoff_ms; returns the ids dropped. */
unsigned long long yq_holes_expire(struct yq_holes *h, int64_t cutoff_ms);
/* Index of the first range with since_ms >= cutoff_ms counting from the
 * end (h->n when none). */
unsigned yq_holes_young(const struct yq_holes *h, int64_t cutoff_ms);
/* Record the ids missing between a reader's position and the sorted ids
 * of one read: last..ids[0] and between neighbours; returns the new
 * position (max of last and ids[n-1]), or 0 on out of memory. */
unsigned long long yq_holes_scan(struct yq_holes *h, unsigned long long last,
                                 const unsigned long long *ids, unsigned n, int64_t now_ms);
/* Does a chunk lo..hi whose visible rows number count with id sum `sum`
 * hold something the reader has not delivered (a hole filled), given
 * that every non-hole id in it was delivered?  A row delivered and then
 * deleted also makes it differ; the chunk is then read and the deleted
 * ids become holes. */
bool yq_holes_chunk_differs(const struct yq_holes *h, unsigned long long lo, unsigned long long hi,
                            unsigned long long count, unsigned long long sum);
void yq_holes_free(struct yq_holes *h);

#endif
