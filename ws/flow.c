/*
 * flow.c - the daemon's plain data structures, free of lws and threads
 * (and unit-tested): a chained hash map of 64-bit keys, and the token
 * bucket behind flood control.
 */
#include "config.h"

#include "ws/ws.h"

#include <stdlib.h>
#include <string.h>

/* ---- a chained hash map of int64 keys ---- */

struct map_node {
	int64_t key;
	void *val;
	struct map_node *next;
};

struct map_node *
map_node_next(struct map_node *n)
{
	return n->next;
}

int64_t
map_node_key(struct map_node *n)
{
	return n->key;
}

void *
map_node_val(struct map_node *n)
{
	return n->val;
}

static size_t
slot(const struct map *m, int64_t key)
{
	uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (m->nb - 1);
}

void *
map_get(const struct map *m, int64_t key)
{
	if (!m->nb)
		return NULL;
	for (struct map_node *n = m->b[slot(m, key)]; n; n = n->next)
		if (n->key == key)
			return n->val;
	return NULL;
}

static int
grow(struct map *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct map_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return -1;
	struct map old = *m;
	m->b = b;
	m->nb = nb;
	for (size_t i = 0; i < old.nb; i++) {
		for (struct map_node *n = old.b[i], *nx; n; n = nx) {
			nx = n->next;
			size_t s = slot(m, n->key);
			n->next = m->b[s];
			m->b[s] = n;
		}
	}
	free(old.b);
	return 0;
}

int
map_put(struct map *m, int64_t key, void *val)
{
	if ((m->n + 1 > m->nb * 2 || !m->nb) && grow(m) < 0)
		return -1;
	struct map_node *n = malloc(sizeof(*n));
	if (!n)
		return -1;
	size_t s = slot(m, key);
	n->key = key;
	n->val = val;
	n->next = m->b[s];
	m->b[s] = n;
	m->n++;
	return 0;
}

void *
map_del(struct map *m, int64_t key)
{
	if (!m->nb)
		return NULL;
	for (struct map_node **p = &m->b[slot(m, key)]; *p; p = &(*p)->next) {
		if ((*p)->key == key) {
			struct map_node *n = *p;
			void *v = n->val;
			*p = n->next;
			free(n);
			m->n--;
			return v;
		}
	}
	return NULL;
}

void
map_free(struct map *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		for (struct map_node *n = m->b[i], *nx; n; n = nx) {
			nx = n->next;
			free(n);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}

/* ---- rate limiting ---- */

bool
bucket_take(struct bucket *b, double rate, double burst, int64_t now)
{
	if (b->at_ms == 0) {
		b->tokens = burst;
		b->at_ms = now;
	}
	b->tokens += (double)(now - b->at_ms) * rate / 1000.0;
	if (b->tokens > burst)
		b->tokens = burst;
	b->at_ms = now;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}
