/*
 * queue.c - see queue.h.
 */
#include "config.h"

#include "core/log.h"
#include "core/queue.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

#define EVENT_COLUMNS                                         \
	"id, target_kind, target_id, type, payload, origin, " \
	"TIMESTAMPDIFF(MICROSECOND, created_at, NOW(6))"

void
yq_queue_reader_init(struct yq_queue_reader *r, unsigned long long after_id, unsigned grace_ms,
                     unsigned batch)
{
	memset(r, 0, sizeof(*r));
	r->last_id = after_id;
	r->grace_ms = grace_ms;
	r->batch = batch ? batch : 500;
	r->late_window_ms = 300000;
}

int
yq_queue_head(struct yq_db *db, unsigned long long *id)
{
	static const char sql[] = "SELECT COALESCE(MAX(id), 0) FROM event_queue";
	struct yq_rows *rows;
	long long n = yq_db_exec(db, sql, NULL, 0, &rows);

	if (n < 0)
		return (int)n;
	*id = (unsigned long long)yq_rows_int(rows, 0, 0);
	yq_rows_free(rows);
	return 0;
}

void
yq_events_free(struct yq_event *ev, unsigned n)
{
	if (!ev)
		return;
	for (unsigned i = 0; i < n; i++)
		free(ev[i].payload);
	free(ev);
}

static int
event_from_row(struct yq_event *e, const struct yq_rows *rows, unsigned i)
{
	memset(e, 0, sizeof(*e));
	e->id = (unsigned long long)yq_rows_int(rows, i, 0);
	e->to_room = strcmp(yq_rows_str(rows, i, 1), "room") == 0;
	e->target_id = yq_rows_int(rows, i, 2);
	yq_strlcpy(e->type, yq_rows_str(rows, i, 3), sizeof(e->type));
	e->payload_len = rows->len[(size_t)i * rows->ncols + 4];
	e->payload = malloc(e->payload_len + 1);
	if (!e->payload)
		return YQ_ENOMEM;
	memcpy(e->payload, yq_rows_str(rows, i, 4), e->payload_len + 1);
	yq_strlcpy(e->origin, yq_rows_str(rows, i, 5) ? yq_rows_str(rows, i, 5) : "",
	           sizeof(e->origin));
	e->age_us = yq_rows_int(rows, i, 6);
	return 0;
}

static void
add_late(struct yq_queue_reader *r, unsigned long long lo, unsigned long long hi, int64_t until)
{
	if (r->nlate == r->caplate) {
		unsigned cap = r->caplate ? r->caplate * 2 : 32;
		struct yq_late_range *p = realloc(r->late, cap * sizeof(*p));
		if (!p) {
			yq_error("queue: out of memory; ids %llu..%llu no longer watched", lo, hi);
			return;
		}
		r->late = p;
		r->caplate = cap;
	}
	r->late[r->nlate].lo = lo;
	r->late[r->nlate].hi = hi;
	r->late[r->nlate].until_ms = until;
	r->nlate++;
}

void
yq_queue_reader_free(struct yq_queue_reader *r)
{
	free(r->late);
	r->late = NULL;
	r->nlate = r->caplate = 0;
}

/* Append events to a growing array. */
struct evlist {
	struct yq_event *ev;
	unsigned n, cap;
};

static struct yq_event *
evlist_push(struct evlist *l)
{
	if (l->n == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 16;
		struct yq_event *p = realloc(l->ev, cap * sizeof(*p));
		if (!p)
			return NULL;
		l->ev = p;
		l->cap = cap;
	}
	return &l->ev[l->n++];
}

#define LATE_IN 16

static int
late_rows(struct yq_db *db, const unsigned long long *ids, unsigned n, struct yq_rows **rows)
{
	static const char in[] = "SELECT " EVENT_COLUMNS " FROM event_queue WHERE id IN "
	                         "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ORDER BY id";
	struct yq_param p[LATE_IN];

	for (unsigned i = 0; i < LATE_IN; i++)
		p[i] = YQ_PINT(i < n ? ids[i] : 0);
	long long rc = yq_db_exec(db, in, p, LATE_IN, rows);
	return rc < 0 ? (int)rc : 0;
}

struct found {
	unsigned long long *ids;
	unsigned n, cap;
};

/* Deliver rows found in given-up ranges, late, and remember their ids. */
static int
take_late(struct yq_queue_reader *r, struct yq_rows *rows, struct evlist *out, struct found *f)
{
	for (unsigned i = 0; i < rows->nrows; i++) {
		struct yq_event *e = evlist_push(out);
		if (!e || event_from_row(e, rows, i) < 0) {
			if (e)
				out->n--;
			return YQ_ENOMEM;
		}
		e->late = true;
		r->late_rows++;
		yq_warn("queue: event %llu committed after its gap was given up; delivered late",
		        e->id);
		if (f->n == f->cap) {
			unsigned cap = f->cap ? f->cap * 2 : 16;
			unsigned long long *p = realloc(f->ids, cap * sizeof(*p));
			if (!p)
				return YQ_ENOMEM;
			f->ids = p;
			f->cap = cap;
		}
		f->ids[f->n++] = e->id;
	}
	return 0;
}

/* Re-check the given-up ranges, at most every YQ_QUEUE_LATE_CHECK_MS:
 * small ranges (nearly all: one rolled-back id each) LATE_IN ids per
 * statement, big ones with BETWEEN.  Rows found are delivered late and
 * cut out of their ranges; expired ranges are dropped. */
static int
poll_late(struct yq_db *db, struct yq_queue_reader *r, struct evlist *out)
{
	static const char between[] =
	        "SELECT " EVENT_COLUMNS " FROM event_queue WHERE id BETWEEN ? AND ? ORDER BY id";
	int64_t now = yq_mono_ms();
	unsigned long long ids[LATE_IN];
	unsigned nids = 0;
	struct found f = { 0 };
	struct yq_rows *rows;
	int rc = 0;

	if (now < r->next_late_check_ms)
		return 0;
	r->next_late_check_ms = now + YQ_QUEUE_LATE_CHECK_MS;
	/* 1. read every live range */
	for (unsigned k = 0; k < r->nlate && rc == 0; k++) {
		const struct yq_late_range *g = &r->late[k];
		if (g->until_ms < now)
			continue;
		unsigned long long size = g->hi - g->lo + 1;
		if (size > LATE_IN) {
			rc = (int)YQ_DB_EXEC(db, between, &rows, YQ_PINT(g->lo), YQ_PINT(g->hi));
			if (rc >= 0) {
				rc = take_late(r, rows, out, &f);
				yq_rows_free(rows);
			}
			continue;
		}
		if (nids + size > LATE_IN) {
			if ((rc = late_rows(db, ids, nids, &rows)) == 0) {
				rc = take_late(r, rows, out, &f);
				yq_rows_free(rows);
			}
			nids = 0;
		}
		for (unsigned long long id = g->lo; id <= g->hi; id++)
			ids[nids++] = id;
	}
	if (rc == 0 && nids && (rc = late_rows(db, ids, nids, &rows)) == 0) {
		rc = take_late(r, rows, out, &f);
		yq_rows_free(rows);
	}
	/* 2. rebuild the ranges without expired ones and without found ids */
	unsigned n0 = r->nlate;
	struct yq_late_range *old = r->late;
	r->late = NULL;
	r->nlate = r->caplate = 0;
	for (unsigned k = 0; k < n0; k++) {
		if (old[k].until_ms < now)
			continue;
		unsigned long long cur = old[k].lo;
		for (unsigned long long id = old[k].lo; f.n && id <= old[k].hi; id++) {
			bool hit = false;
			for (unsigned j = 0; j < f.n && !hit; j++)
				hit = f.ids[j] == id;
			if (!hit)
				continue;
			if (id > cur)
				add_late(r, cur, id - 1, old[k].until_ms);
			cur = id + 1;
		}
		if (cur <= old[k].hi)
			add_late(r, cur, old[k].hi, old[k].until_ms);
	}
	free(old);
	free(f.ids);
	return rc < 0 ? rc : 0;
}

int
yq_queue_poll(struct yq_db *db, struct yq_queue_reader *r, struct yq_event **out)
{
	static const char sql[] =
	        "SELECT " EVENT_COLUMNS " FROM event_queue WHERE id > ? ORDER BY id LIMIT ?";
	struct evlist l = { 0 };
	struct yq_rows *rows = NULL;
	int rc;

	*out = NULL;
	/* a failure here keeps the unchecked ranges for the next poll */
	if (r->nlate)
		poll_late(db, r, &l);
	long long n = YQ_DB_EXEC(db, sql, &rows, YQ_PINT(r->last_id), YQ_PINT(r->batch));
	if (n < 0) {
		if (l.n) { /* hand over the late rows already cut from their ranges */
			*out = l.ev;
			return (int)l.n;
		}
		rc = (int)n;
		goto fail;
	}
	for (unsigned i = 0; i < rows->nrows; i++) {
		unsigned long long id = (unsigned long long)yq_rows_int(rows, i, 0);
		int64_t age_us = yq_rows_int(rows, i, 6);
		if (id != r->last_id + 1) {
			/* ids last_id+1 .. id-1 are not visible (yet) */
			if (age_us < (int64_t)r->grace_ms * 1000)
				break; /* may still commit: wait */
			unsigned long long lo = r->last_id + 1, hi = id - 1;
			r->given_up += hi - lo + 1;
			if (age_us < (int64_t)r->late_window_ms * 1000) {
				yq_info("queue: ids %llu..%llu missing for %lld ms; moving on, "
				        "still watching them",
				        lo, hi, (long long)(age_us / 1000));
				add_late(r, lo, hi,
				         yq_mono_ms() + r->late_window_ms - age_us / 1000);
			}
		}
		struct yq_event *e = evlist_push(&l);
		if (!e || (rc = event_from_row(e, rows, i)) < 0) {
			if (e)
				l.n--;
			rc = YQ_ENOMEM;
			goto fail;
		}
		r->last_id = id;
	}
	yq_rows_free(rows);
	*out = l.ev;
	return (int)l.n;
fail:
	yq_rows_free(rows);
	yq_events_free(l.ev, l.n);
	return rc;
}
