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
 * Delivery is at-least-once across restarts (the caller keeps last_id);
 * within one reader each row is returned exactly once.  doc/queue.md has
 * the whole argument.
 */
#ifndef YQ_QUEUE_H
#define YQ_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/db.h"

/* Given-up ranges re-read together, this often (ms). */
#define YQ_QUEUE_LATE_CHECK_MS 250

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

struct yq_queue_reader {
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

#endif
