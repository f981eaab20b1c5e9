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
	yq_holes_free(&r->holes);
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

static int poll_commit_order(struct yq_db *db, struct yq_queue_reader *r, struct yq_event **out);

static void
choose_order(struct yq_db *db, struct yq_queue_reader *r)
{
	const char *o = yq_db_config(db)->queue_order;

	if (strcmp(o, "id") == 0)
		r->order = YQ_ORDER_ID;
	else if (strcmp(o, "commit") == 0)
		r->order = YQ_ORDER_COMMIT;
	else if (yq_db_connect(db) == 0)
		r->order = yq_db_is_wsrep(db) ? YQ_ORDER_COMMIT : YQ_ORDER_ID;
	else
		return; /* decide when the database answers */
	yq_info("queue: reading in %s order", r->order == YQ_ORDER_COMMIT ? "commit" : "id");
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
	if (r->order == YQ_ORDER_AUTO) {
		choose_order(db, r);
		if (r->order == YQ_ORDER_AUTO)
			return YQ_EDBDOWN;
	}
	if (r->order == YQ_ORDER_COMMIT)
		return poll_commit_order(db, r, out);
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
		if (!e || event_from_row(e, rows, i) < 0) {
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

/* ---- commit order: the hole set ---- */

static int
holes_reserve(struct yq_holes *h, unsigned more)
{
	if (h->n + more <= h->cap)
		return 0;
	unsigned cap = h->cap ? h->cap : 64;
	while (cap < h->n + more)
		cap *= 2;
	struct yq_hole *p = realloc(h->v, cap * sizeof(*p));
	if (!p)
		return -1;
	h->v = p;
	h->cap = cap;
	return 0;
}

/* Index of the first range with hi >= id (h->n when none). */
static unsigned
holes_find(const struct yq_holes *h, unsigned long long id)
{
	unsigned lo = 0, hi = h->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (h->v[mid].hi < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
yq_holes_add(struct yq_holes *h, unsigned long long lo, unsigned long long hi, int64_t since_ms)
{
	if (lo > hi)
		return 0;
	/* ranges that overlap or touch lo..hi merge into one */
	unsigned i = holes_find(h, lo > 0 ? lo - 1 : 0);
	unsigned j = i;
	while (j < h->n && h->v[j].lo <= hi + 1) {
		if (h->v[j].lo < lo)
			lo = h->v[j].lo;
		if (h->v[j].hi > hi)
			hi = h->v[j].hi;
		if (h->v[j].since_ms < since_ms)
			since_ms = h->v[j].since_ms;
		j++;
	}
	if (j == i) {
		if (holes_reserve(h, 1) < 0)
			return -1;
		memmove(&h->v[i + 1], &h->v[i], (h->n - i) * sizeof(*h->v));
		h->n++;
	} else if (j > i + 1) {
		memmove(&h->v[i + 1], &h->v[j], (h->n - j) * sizeof(*h->v));
		h->n -= j - i - 1;
	}
	h->v[i] = (struct yq_hole){ .lo = lo, .hi = hi, .since_ms = since_ms };
	return 0;
}

bool
yq_holes_take(struct yq_holes *h, unsigned long long id, int64_t *since_ms)
{
	unsigned i = holes_find(h, id);

	if (i == h->n || h->v[i].lo > id)
		return false;
	struct yq_hole *g = &h->v[i];
	if (since_ms)
		*since_ms = g->since_ms;
	if (g->lo == id && g->hi == id) {
		memmove(&h->v[i], &h->v[i + 1], (h->n - i - 1) * sizeof(*h->v));
		h->n--;
	} else if (g->lo == id) {
		g->lo++;
	} else if (g->hi == id) {
		g->hi--;
	} else {
		if (holes_reserve(h, 1) < 0) {
			/* cannot split: keep the range whole; the id is delivered
			 * now and would be again only if it were inserted twice */
			return true;
		}
		g = &h->v[i];
		memmove(&h->v[i + 2], &h->v[i + 1], (h->n - i - 1) * sizeof(*h->v));
		h->n++;
		h->v[i + 1] =
		        (struct yq_hole){ .lo = id + 1, .hi = g->hi, .since_ms = g->since_ms };
		g->hi = id - 1;
	}
	return true;
}

static unsigned long long
range_sum(unsigned long long lo, unsigned long long hi)
{
	unsigned long long n = hi - lo + 1;

	/* one of n and lo + hi is even */
	return n % 2 == 0 ? n / 2 * (lo + hi) : (lo + hi) / 2 * n;
}

void
yq_holes_in(const struct yq_holes *h, unsigned long long lo, unsigned long long hi,
            unsigned long long *count, unsigned long long *sum)
{
	*count = *sum = 0;
	for (unsigned i = holes_find(h, lo); i < h->n && h->v[i].lo <= hi; i++) {
		unsigned long long a = h->v[i].lo > lo ? h->v[i].lo : lo;
		unsigned long long b = h->v[i].hi < hi ? h->v[i].hi : hi;
		*count += b - a + 1;
		*sum += range_sum(a, b);
	}
}

bool
yq_holes_chunk_differs(const struct yq_holes *h, unsigned long long lo, unsigned long long hi,
                       unsigned long long count, unsigned long long sum)
{
	unsigned long long hc, hs;

	yq_holes_in(h, lo, hi, &hc, &hs);
	return count != (hi - lo + 1) - hc || sum != range_sum(lo, hi) - hs;
}

unsigned long long
yq_holes_expire(struct yq_holes *h, int64_t cutoff_ms)
{
	unsigned k = 0;
	unsigned long long ids = 0;

	while (k < h->n && h->v[k].since_ms < cutoff_ms) {
		ids += h->v[k].hi - h->v[k].lo + 1;
		k++;
	}
	if (k) {
		memmove(&h->v[0], &h->v[k], (h->n - k) * sizeof(*h->v));
		h->n -= k;
	}
	return ids;
}

unsigned
yq_holes_young(const struct yq_holes *h, int64_t cutoff_ms)
{
	unsigned i = h->n;

	while (i > 0 && h->v[i - 1].since_ms >= cutoff_ms)
		i--;
	return i;
}

unsigned long long
yq_holes_scan(struct yq_holes *h, unsigned long long last, const unsigned long long *ids,
              unsigned n, int64_t now_ms)
{
	for (unsigned i = 0; i < n; i++) {
		if (ids[i] <= last)
			continue; /* not expected: ids come from "id > last" */
		if (ids[i] > last + 1 && yq_holes_add(h, last + 1, ids[i] - 1, now_ms) < 0)
			return 0;
		last = ids[i];
	}
	return last;
}

void
yq_holes_free(struct yq_holes *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

/* ---- commit order: the reader ---- */

_Static_assert(YQ_QUEUE_CHUNK == 1024, "the chunk query divides by 1024");

#define CHUNK_FETCH_MAX 8 /* chunks read whole per check, at most */

/* Read chunk lo..hi whole: deliver the rows in holes; ids neither holes
 * nor visible were delivered and then deleted, and become holes so that
 * the chunk's sums agree again. */
static int
read_chunk(struct yq_db *db, struct yq_queue_reader *r, unsigned long long lo,
           unsigned long long hi, int64_t now, struct evlist *out)
{
	static const char sql[] =
	        "SELECT " EVENT_COLUMNS " FROM event_queue WHERE id BETWEEN ? AND ? ORDER BY id";
	struct yq_rows *rows;
	long long n = YQ_DB_EXEC(db, sql, &rows, YQ_PINT(lo), YQ_PINT(hi));

	if (n < 0)
		return (int)n;
	unsigned long long expect = lo;
	int rc = 0;
	for (unsigned i = 0; i <= rows->nrows && rc == 0; i++) {
		unsigned long long id =
		        i < rows->nrows ? (unsigned long long)yq_rows_int(rows, i, 0) : hi + 1;
		/* expect..id-1 are not visible: holes already, or deleted */
		for (unsigned long long d = expect; d < id; d++) {
			unsigned long long c, sum;
			yq_holes_in(&r->holes, d, d, &c, &sum);
			if (c == 0)
				yq_holes_add(&r->holes, d, d, now);
		}
		expect = id + 1;
		int64_t since;
		if (i == rows->nrows || !yq_holes_take(&r->holes, id, &since))
			continue;
		struct yq_event *e = evlist_push(out);
		if (!e || event_from_row(e, rows, i) < 0) {
			if (e)
				out->n--;
			rc = YQ_ENOMEM;
			break;
		}
		/* open longer than grace: the same as a late row of id order */
		e->late = now - since > (int64_t)r->grace_ms;
		if (e->late) {
			r->late_rows++;
			yq_warn("queue: event %llu committed %lld ms after later ids; "
			        "delivered late",
			        id, (long long)(now - since));
		}
	}
	yq_rows_free(rows);
	return rc;
}

/* Compare the visible rows of lo..hi, chunk by chunk, with what the
 * reader delivered; read the chunks that differ. */
static int
check_span(struct yq_db *db, struct yq_queue_reader *r, unsigned long long lo,
           unsigned long long hi, int64_t now, struct evlist *out)
{
	static const char sql[] = "SELECT id DIV 1024, COUNT(*), SUM(id) "
	                          "FROM event_queue WHERE id BETWEEN ? AND ? GROUP BY 1 ORDER BY 1";
	struct yq_rows *rows;
	long long n = YQ_DB_EXEC(db, sql, &rows, YQ_PINT(lo), YQ_PINT(hi));
	unsigned long long want[CHUNK_FETCH_MAX][2];
	unsigned nwant = 0;
	int rc = 0;

	if (n < 0)
		return (int)n;
	for (unsigned i = 0; i < rows->nrows && nwant < CHUNK_FETCH_MAX; i++) {
		unsigned long long k = (unsigned long long)yq_rows_int(rows, i, 0);
		unsigned long long cnt = (unsigned long long)yq_rows_int(rows, i, 1);
		const char *s = yq_rows_str(rows, i, 2);
		unsigned long long sum = s ? strtoull(s, NULL, 10) : 0;
		unsigned long long clo = k * YQ_QUEUE_CHUNK, chi = clo + YQ_QUEUE_CHUNK - 1;
		if (clo < lo)
			clo = lo;
		if (chi > hi)
			chi = hi;
		if (yq_holes_chunk_differs(&r->holes, clo, chi, cnt, sum)) {
			want[nwant][0] = clo;
			want[nwant][1] = chi;
			nwant++;
		}
	}
	yq_rows_free(rows);
	for (unsigned i = 0; i < nwant && rc == 0; i++)
		rc = read_chunk(db, r, want[i][0], want[i][1], now, out);
	return rc;
}

/* Which holes to check now (lo..hi), if any: the young ones on every
 * poll, all of them every YQ_QUEUE_LATE_CHECK_MS.  Expired ones go. */
static bool
holes_due(struct yq_queue_reader *r, int64_t now, unsigned long long *lo, unsigned long long *hi)
{
	unsigned long long gone = yq_holes_expire(&r->holes, now - (int64_t)r->late_window_ms);

	if (gone) {
		r->given_up += gone;
		yq_info("queue: %llu ids missing for %u ms; no longer watched", gone,
		        r->late_window_ms);
	}
	if (r->holes.n == 0)
		return false;
	unsigned from;
	if (now >= r->next_full_check_ms) {
		from = 0;
		r->next_full_check_ms = now + YQ_QUEUE_LATE_CHECK_MS;
	} else {
		from = yq_holes_young(&r->holes, now - (int64_t)r->grace_ms);
		if (from == r->holes.n)
			return false;
	}
	*lo = r->holes.v[from].lo;
	*hi = r->holes.v[r->holes.n - 1].hi;
	return true;
}

static int
poll_commit_order(struct yq_db *db, struct yq_queue_reader *r, struct yq_event **out)
{
	static const char sql[] =
	        "SELECT " EVENT_COLUMNS " FROM event_queue WHERE id > ? ORDER BY id LIMIT ?";
	struct evlist l = { 0 };
	struct yq_rows *rows = NULL;
	unsigned long long lo, hi;
	int64_t now = yq_mono_ms();
	int rc;

	/* Holes first, then the head, in one read view: a hole row then
	 * committed before every head row it comes out before, and a head
	 * row cannot overtake a hole row that committed between the two
	 * statements. */
	bool snap = holes_due(r, now, &lo, &hi);
	if (snap) {
		if ((rc = yq_db_snapshot_begin(db)) < 0)
			return rc;
		if ((rc = check_span(db, r, lo, hi, now, &l)) < 0 && l.n == 0) {
			yq_db_snapshot_end(db);
			return rc;
		}
	}
	long long n = YQ_DB_EXEC(db, sql, &rows, YQ_PINT(r->last_id), YQ_PINT(r->batch));
	if (snap)
		yq_db_snapshot_end(db);
	if (n < 0) {
		if (l.n) {
			*out = l.ev;
			return (int)l.n;
		}
		return (int)n;
	}
	unsigned base = l.n;
	unsigned long long *ids = malloc((rows->nrows ? rows->nrows : 1) * sizeof(*ids));
	if (!ids) {
		rc = YQ_ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < rows->nrows; i++) {
		struct yq_event *e = evlist_push(&l);
		if (!e || event_from_row(e, rows, i) < 0) {
			if (e)
				l.n--;
			/* nothing of this read is kept: the next poll reads it again */
			for (unsigned k = base; k < l.n; k++)
				free(l.ev[k].payload);
			l.n = base;
			free(ids);
			rc = YQ_ENOMEM;
			goto fail;
		}
		ids[i] = e->id;
	}
	unsigned long long last =
	        yq_holes_scan(&r->holes, r->last_id, ids, rows->nrows, yq_mono_ms());
	free(ids);
	if (rows->nrows && last == 0) { /* out of memory for a hole: read again */
		for (unsigned k = base; k < l.n; k++)
			free(l.ev[k].payload);
		l.n = base;
		rc = YQ_ENOMEM;
		goto fail;
	}
	if (rows->nrows)
		r->last_id = last;
	yq_rows_free(rows);
	*out = l.ev;
	return (int)l.n;
fail:
	yq_rows_free(rows);
	if (l.n) { /* rows taken from the holes are handed over */
		*out = l.ev;
		return (int)l.n;
	}
	free(l.ev);
	return rc;
}
