/*
 * test_queue.c - unit tests for the pure parts of src/core/queue.c (the
 * commit-order reader's hole set) and of src/core/db.c (the db.hosts
 * list).
 *
 * Hole set: adding merges touching ranges; taking an id splits its range;
 * counts and sums inside a window; expiry drops the oldest ranges;
 * yq_holes_young finds the recent tail; yq_holes_scan records the gaps of
 * one read; yq_holes_chunk_differs sees a filled hole and a deleted row.
 *
 * Then a model of a Galera cluster drives the same calls the reader's SQL
 * makes: three nodes hand out ids offset + k * increment, a node's counter
 * jumps past every id it applies (so most gaps never fill), transactions
 * commit in one random total order that is not id order, the reader polls
 * a prefix of that order, and halfway through a node leaves (the
 * increment goes 3 -> 2 and the offsets are dealt again) and a few
 * delivered rows are deleted.  Every committed row must be delivered
 * exactly once, nothing else, and each poll's rows must all have committed
 * after every row of the earlier polls (commit order, poll by poll); with
 * a poll after each commit the delivery order is the commit order.
 */
#include "config.h"

#include "core/db.h"
#include "core/queue.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_holes_add_merges)
{
	struct yq_holes h = { 0 };

	ck_assert_int_eq(yq_holes_add(&h, 10, 12, 1), 0);
	ck_assert_int_eq(yq_holes_add(&h, 20, 20, 2), 0);
	ck_assert_int_eq(yq_holes_add(&h, 5, 6, 3), 0); /* before: sorted insert */
	ck_assert_uint_eq(h.n, 3);
	ck_assert_uint_eq(h.v[0].lo, 5);
	ck_assert_uint_eq(h.v[1].lo, 10);
	ck_assert_int_eq(yq_holes_add(&h, 13, 19, 4), 0); /* bridges 10..12 and 20 */
	ck_assert_uint_eq(h.n, 2);
	ck_assert_uint_eq(h.v[1].lo, 10);
	ck_assert_uint_eq(h.v[1].hi, 20);
	ck_assert_int_eq(h.v[1].since_ms, 1); /* the oldest of the merged */
	ck_assert_int_eq(yq_holes_add(&h, 7, 9, 5), 0);
	ck_assert_uint_eq(h.n, 1);
	ck_assert_uint_eq(h.v[0].lo, 5);
	ck_assert_uint_eq(h.v[0].hi, 20);
	ck_assert_int_eq(yq_holes_add(&h, 9, 8, 5), 0); /* empty: nothing */
	ck_assert_uint_eq(h.n, 1);
	yq_holes_free(&h);
}
END_TEST

START_TEST(test_holes_take_splits)
{
	struct yq_holes h = { 0 };
	int64_t since = 0;

	yq_holes_add(&h, 10, 20, 7);
	ck_assert(!yq_holes_take(&h, 9, NULL));
	ck_assert(!yq_holes_take(&h, 21, NULL));
	ck_assert(yq_holes_take(&h, 15, &since));
	ck_assert_int_eq(since, 7);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_uint_eq(h.v[0].hi, 14);
	ck_assert_uint_eq(h.v[1].lo, 16);
	ck_assert(!yq_holes_take(&h, 15, NULL)); /* once only */
	ck_assert(yq_holes_take(&h, 10, NULL));
	ck_assert(yq_holes_take(&h, 20, NULL));
	ck_assert_uint_eq(h.v[0].lo, 11);
	ck_assert_uint_eq(h.v[1].hi, 19);
	for (unsigned long long id = 11; id <= 19; id++)
		ck_assert(yq_holes_take(&h, id, NULL) == (id != 15));
	ck_assert_uint_eq(h.n, 0);
	yq_holes_free(&h);
}
END_TEST

START_TEST(test_holes_in_and_chunks)
{
	struct yq_holes h = { 0 };
	unsigned long long c, s;

	yq_holes_add(&h, 3, 4, 0);
	yq_holes_add(&h, 8, 8, 0);
	yq_holes_in(&h, 1, 10, &c, &s);
	ck_assert_uint_eq(c, 3);
	ck_assert_uint_eq(s, 3 + 4 + 8);
	yq_holes_in(&h, 4, 7, &c, &s);
	ck_assert_uint_eq(c, 1);
	ck_assert_uint_eq(s, 4);
	/* ids 1..10 with 3, 4, 8 missing: 7 rows summing to 55 - 15 */
	ck_assert(!yq_holes_chunk_differs(&h, 1, 10, 7, 40));
	ck_assert(yq_holes_chunk_differs(&h, 1, 10, 8, 44)); /* 4 committed */
	ck_assert(yq_holes_chunk_differs(&h, 1, 10, 6, 38)); /* 2 deleted */
	/* 4 committed and 2 deleted: the count agrees, the sum does not */
	ck_assert(yq_holes_chunk_differs(&h, 1, 10, 7, 42));
	yq_holes_free(&h);
}
END_TEST

START_TEST(test_holes_expire_young_scan)
{
	struct yq_holes h = { 0 };
	unsigned long long ids[] = { 3, 4, 7, 12 };

	ck_assert_uint_eq(yq_holes_scan(&h, 0, ids, 4, 100), 12);
	ck_assert_uint_eq(h.n, 3); /* 1..2, 5..6, 8..11 */
	ck_assert_uint_eq(h.v[2].lo, 8);
	ck_assert_uint_eq(h.v[2].hi, 11);
	unsigned long long more[] = { 15 };
	ck_assert_uint_eq(yq_holes_scan(&h, 12, more, 1, 200), 15);
	ck_assert_uint_eq(yq_holes_young(&h, 150), 3);
	ck_assert_uint_eq(yq_holes_young(&h, 50), 0);
	ck_assert_uint_eq(yq_holes_young(&h, 300), 4);
	ck_assert_uint_eq(yq_holes_expire(&h, 150), 2 + 2 + 4);
	ck_assert_uint_eq(h.n, 1);
	ck_assert_uint_eq(h.v[0].lo, 13);
	ck_assert_uint_eq(yq_holes_expire(&h, 150), 0);
	ck_assert_uint_eq(yq_holes_scan(&h, 15, NULL, 0, 300), 15);
	yq_holes_free(&h);
}
END_TEST

/* ---- a model of a Galera cluster ---- */

#define NODES 3
#define TXS   3000
#define MAXID (TXS * 8)
#define CHUNK 64

struct model {
	unsigned long long counter[NODES]; /* next candidate id per node */
	int state[MAXID];                  /* 0 never, 1 open, 2 committed, 3 deleted */
	unsigned long long order[TXS];     /* committed ids in commit order */
	unsigned pos[MAXID];               /* index in order[] of a committed id */
	unsigned ncommitted;
	unsigned long long maxid;
	unsigned inc, off[NODES];
};

static unsigned long long
next_id(struct model *m, int node)
{
	unsigned long long c = m->counter[node];
	/* the smallest id >= c with id = off (mod inc) */
	unsigned long long r = (m->off[node] % m->inc);
	/* an id another node holds (open, after the offsets were dealt
	 * again) would be a duplicate key: the insert takes the next one */
	while (c % m->inc != r || m->state[c] != 0)
		c++;
	m->counter[node] = c + 1;
	if (c > m->maxid)
		m->maxid = c;
	return c;
}

/* A node applies (or commits) id: its counter goes past it. */
static void
apply(struct model *m, unsigned long long id)
{
	for (int n = 0; n < NODES; n++)
		if (m->counter[n] <= id)
			m->counter[n] = id + 1;
}

struct reader {
	struct yq_holes h;
	unsigned long long last;
	unsigned long long got[TXS];
	unsigned ngot;
};

/* One poll the way poll_commit_order does it, against the visible set. */
static unsigned
reader_poll(struct model *m, struct reader *r, int64_t now)
{
	unsigned before = r->ngot;
	/* 1. the holes, chunk by chunk: count and sum of the visible ids */
	if (r->h.n) {
		unsigned long long lo = r->h.v[0].lo, hi = r->h.v[r->h.n - 1].hi;
		for (unsigned long long k = lo / CHUNK; k <= hi / CHUNK; k++) {
			unsigned long long clo = k * CHUNK, chi = clo + CHUNK - 1, cnt = 0, sum = 0;
			if (clo < lo)
				clo = lo;
			if (chi > hi)
				chi = hi;
			for (unsigned long long id = clo; id <= chi; id++)
				if (m->state[id] == 2) {
					cnt++;
					sum += id;
				}
			if (!yq_holes_chunk_differs(&r->h, clo, chi, cnt, sum))
				continue;
			for (unsigned long long id = clo; id <= chi; id++) {
				unsigned long long hc, hs;
				if (m->state[id] == 2 && yq_holes_take(&r->h, id, NULL)) {
					r->got[r->ngot++] = id;
					continue;
				}
				yq_holes_in(&r->h, id, id, &hc, &hs);
				if (m->state[id] != 2 && hc == 0)
					yq_holes_add(&r->h, id, id, now); /* deleted */
			}
			/* afterwards the chunk agrees with the reader again */
			cnt = sum = 0;
			for (unsigned long long id = clo; id <= chi; id++)
				if (m->state[id] == 2) {
					cnt++;
					sum += id;
				}
			ck_assert(!yq_holes_chunk_differs(&r->h, clo, chi, cnt, sum));
		}
	}
	/* 2. the head: id > last, in id order */
	unsigned long long ids[TXS];
	unsigned n = 0;
	for (unsigned long long id = r->last + 1; id <= m->maxid; id++)
		if (m->state[id] == 2)
			ids[n++] = id;
	for (unsigned i = 0; i < n; i++)
		r->got[r->ngot++] = ids[i];
	unsigned long long last = yq_holes_scan(&r->h, r->last, ids, n, now);
	if (n)
		r->last = last;
	return r->ngot - before;
}

START_TEST(test_galera_model_commit_order)
{
	struct model *m = calloc(1, sizeof(*m));
	struct reader *r = calloc(1, sizeof(*r));
	unsigned long long open[64];
	int open_node[64];
	unsigned nopen = 0, started = 0, polls = 0;
	unsigned seed = 12345u + (unsigned)_i;

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(r);
	m->inc = 3;
	for (int n = 0; n < NODES; n++) {
		m->off[n] = (unsigned)n + 1;
		m->counter[n] = 1;
	}
	int64_t now = 0;
	while (started < TXS - 64 || nopen) {
		int act = rand_r(&seed) % 8;
		if (started == TXS / 2 && m->inc == 3) {
			/* node 3 leaves: increment 2, offsets 1 and 2 */
			m->inc = 2;
			m->off[0] = 1;
			m->off[1] = 2;
		}
		int nodes = m->inc == 3 ? 3 : 2;
		if (act < 3 && nopen < 64 && started < TXS - 64) {
			int node = rand_r(&seed) % nodes;
			unsigned long long id = next_id(m, node);
			ck_assert_uint_lt(id, MAXID);
			m->state[id] = 1;
			open[nopen] = id;
			open_node[nopen] = node;
			nopen++;
			started++;
		} else if (act < 6 && nopen) {
			/* one open transaction certifies (commits everywhere), in
			 * random order; one in 20 rolls back instead */
			unsigned k = (unsigned)rand_r(&seed) % nopen;
			unsigned long long id = open[k];
			if (rand_r(&seed) % 20 == 0) {
				m->state[id] = 0;
			} else {
				m->state[id] = 2;
				m->pos[id] = m->ncommitted;
				m->order[m->ncommitted++] = id;
				apply(m, id);
			}
			open[k] = open[nopen - 1];
			open_node[k] = open_node[nopen - 1];
			nopen--;
		} else {
			now += 1 + rand_r(&seed) % 5;
			unsigned from = r->ngot, got = reader_poll(m, r, now);
			/* everything of this poll committed after everything before */
			unsigned newest_before = 0, oldest_now = ~0u;
			for (unsigned i = 0; i < from; i++)
				if (m->pos[r->got[i]] > newest_before || i == 0)
					newest_before = m->pos[r->got[i]];
			for (unsigned i = from; i < from + got; i++)
				if (m->pos[r->got[i]] < oldest_now)
					oldest_now = m->pos[r->got[i]];
			if (from && got)
				ck_assert_uint_gt(oldest_now, newest_before);
			yq_holes_expire(&r->h, now - 2000);
			polls++;
			if (polls % 97 == 0 && r->ngot > 10) {
				/* a delivered row is deleted (a test cleaning up) */
				unsigned long long id = r->got[(unsigned)rand_r(&seed) % r->ngot];
				if (m->state[id] == 2)
					m->state[id] = 3;
			}
		}
	}
	reader_poll(m, r, now + 1);
	reader_poll(m, r, now + 2);
	/* exactly once, nothing else */
	int *seen = calloc(MAXID, sizeof(*seen));
	ck_assert_ptr_nonnull(seen);
	for (unsigned i = 0; i < r->ngot; i++) {
		ck_assert_uint_lt(r->got[i], MAXID);
		seen[r->got[i]]++;
		ck_assert_int_eq(seen[r->got[i]], 1);
	}
	for (unsigned i = 0; i < m->ncommitted; i++)
		ck_assert_int_eq(seen[m->order[i]], 1);
	ck_assert_uint_eq(r->ngot, m->ncommitted);
	free(seen);
	yq_holes_free(&r->h);
	free(m);
	free(r);
}
END_TEST

/* Poll by poll, a row never comes out before one that committed earlier
 * and was not yet delivered: with a poll after every commit the delivery
 * order is the commit order exactly. */
START_TEST(test_galera_model_exact_order)
{
	struct model *m = calloc(1, sizeof(*m));
	struct reader *r = calloc(1, sizeof(*r));
	unsigned long long open[16] = { 0 };
	unsigned nopen = 0;
	unsigned seed = 777u + (unsigned)_i;

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(r);
	m->inc = 3;
	for (int n = 0; n < NODES; n++) {
		m->off[n] = (unsigned)n + 1;
		m->counter[n] = 1;
	}
	for (unsigned t = 0; t < 2000; t++) {
		while (nopen < 16) {
			unsigned long long id = next_id(m, rand_r(&seed) % NODES);
			m->state[id] = 1;
			open[nopen++] = id;
		}
		unsigned k = (unsigned)rand_r(&seed) % nopen;
		m->state[open[k]] = 2;
		m->pos[open[k]] = m->ncommitted;
		m->order[m->ncommitted++] = open[k];
		apply(m, open[k]);
		open[k] = open[--nopen];
		ck_assert_uint_eq(reader_poll(m, r, t), 1);
	}
	ck_assert_uint_eq(r->ngot, m->ncommitted);
	for (unsigned i = 0; i < r->ngot; i++)
		ck_assert_uint_eq(r->got[i], m->order[i]);
	yq_holes_free(&r->h);
	free(m);
	free(r);
}
END_TEST

/* ---- db.hosts ---- */

START_TEST(test_parse_hosts)
{
	struct yq_db_host h[4];

	ck_assert_int_eq(yq_db_parse_hosts("127.0.0.1:3461, 127.0.0.1:3462,db3", 3306, h, 4), 3);
	ck_assert_str_eq(h[0].name, "127.0.0.1");
	ck_assert_uint_eq(h[0].port, 3461);
	ck_assert_uint_eq(h[1].port, 3462);
	ck_assert_str_eq(h[2].name, "db3");
	ck_assert_uint_eq(h[2].port, 3306);
	ck_assert_int_eq(yq_db_parse_hosts("[::1]:3307 [fe80::2]", 3306, h, 4), 2);
	ck_assert_str_eq(h[0].name, "::1");
	ck_assert_uint_eq(h[0].port, 3307);
	ck_assert_str_eq(h[1].name, "fe80::2");
	ck_assert_uint_eq(h[1].port, 3306);
	ck_assert_int_eq(yq_db_parse_hosts("", 3306, h, 4), 0);
	ck_assert_int_eq(yq_db_parse_hosts(" , ", 3306, h, 4), 0);
	/* malformed */
	ck_assert_int_eq(yq_db_parse_hosts("a:0", 3306, h, 4), -1);
	ck_assert_int_eq(yq_db_parse_hosts("a:65536", 3306, h, 4), -1);
	ck_assert_int_eq(yq_db_parse_hosts("a:", 3306, h, 4), -1);
	ck_assert_int_eq(yq_db_parse_hosts("a:12x", 3306, h, 4), -1);
	ck_assert_int_eq(yq_db_parse_hosts(":3306", 3306, h, 4), -1);
	ck_assert_int_eq(yq_db_parse_hosts("::1", 3306, h, 4), -1);
	ck_assert_int_eq(yq_db_parse_hosts("[::1", 3306, h, 4), -1);
	ck_assert_int_eq(yq_db_parse_hosts("[::1]x", 3306, h, 4), -1);
	ck_assert_int_eq(yq_db_parse_hosts("a,b,c,d,e", 3306, h, 4), -1);
	char big[400];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(yq_db_parse_hosts(big, 3306, h, 4), -1);
}
END_TEST

static Suite *
queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_holes_add_merges);
	tcase_add_test(tc, test_holes_take_splits);
	tcase_add_test(tc, test_holes_in_and_chunks);
	tcase_add_test(tc, test_holes_expire_young_scan);
	tcase_add_loop_test(tc, test_galera_model_commit_order, 0, 4);
	tcase_add_loop_test(tc, test_galera_model_exact_order, 0, 4);
	tcase_add_test(tc, test_parse_hosts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(queue_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
