/*
 * flow.c - the daemon's plain data structures, free of lws and threads
 * (and unit-tested): shared messages and the per-connection send queue,
 * the envelope check of client messages, a chained hash map of 64-bit
 * keys, and the token bucket behind flood control.
 */
#include "config.h"

#include "core/json.h"
#include "core/util.h"
#include "ws/ws.h"

#include <stdlib.h>
#include <string.h>

/* ---- messages ---- */

struct msg *
msg_new(const char *json, size_t len)
{
	struct msg *m = malloc(sizeof(*m) + LWS_PRE + len);

	if (!m)
		return NULL;
	m->refs = 1;
	m->len = len;
	memcpy(m->buf + LWS_PRE, json, len);
	return m;
}

struct msg *
msg_from_json(json_object *o)
{
	size_t len;

	if (!json_object_object_get_ex(o, "ts", NULL))
		yq_json_add_int(o, "ts", yq_now_ms());
	const char *s = yq_json_str(o, &len);
	return msg_new(s, len);
}

void
msg_unref(struct msg *m)
{
	if (m && --m->refs == 0)
		free(m);
}

/* ---- the send queue ---- */

static int
sendq_grow(struct sendq *q)
{
	unsigned cap = q->cap ? q->cap * 2 : 4;
	struct msg **n = malloc(cap * sizeof(*n));

	if (!n)
		return -1;
	/* unroll the ring so the oldest message is first */
	for (unsigned i = 0; i < q->count; i++)
		n[i] = q->q[(q->head + i) & (q->cap - 1)];
	free(q->q);
	q->q = n;
	q->cap = cap;
	q->head = 0;
	return 0;
}

int
sendq_push(struct sendq *q, struct msg *m, size_t soft, int64_t now)
{
	if (q->bytes + m->len <= soft && q->count < SENDQ_SOFT_COUNT)
		q->over_since_ms = 0;
	else if (!q->over_since_ms)
		q->over_since_ms = now;
	if (q->count == SENDQ_MAX || q->bytes + m->len > 4 * soft ||
	    (q->over_since_ms && now - q->over_since_ms > SENDQ_SLOW_GRACE_MS))
		return -1;
	if (q->count == q->cap && sendq_grow(q) < 0)
		return -1;
	m->refs++;
	q->q[(q->head + q->count) & (q->cap - 1)] = m;
	q->count++;
	q->bytes += m->len;
	return 0;
}

struct msg *
sendq_pop(struct sendq *q)
{
	if (!q->count)
		return NULL;
	struct msg *m = q->q[q->head];
	q->head = (q->head + 1) & (q->cap - 1);
	q->count--;
	q->bytes -= m->len;
	return m;
}

void
sendq_clear(struct sendq *q)
{
	struct msg *m;

	while ((m = sendq_pop(q)))
		msg_unref(m);
	free(q->q);
	memset(q, 0, sizeof(*q));
}

/* ---- the envelope of a client message ---- */

int
envelope_parse(struct envelope *e, const char *text, size_t len)
{
	const char *why;
	json_object *type, *id = NULL;

	memset(e, 0, sizeof(*e));
	e->msg = yq_json_parse(text, len, &why);
	if (!e->msg || !json_object_is_type(e->msg, json_type_object)) {
		e->error = e->msg || !why ? "a message must be a JSON object" : why;
		return -1;
	}
	if (json_object_object_get_ex(e->msg, "id", &id) && id &&
	    (json_object_is_type(id, json_type_int) ||
	     (json_object_is_type(id, json_type_string) && json_object_get_string_len(id) <= 64)))
		e->ref = id;
	if (yq_json_field(e->msg, "type", json_type_string, &type) != YQ_JF_OK) {
		e->error = "type must be a string";
		return -1;
	}
	e->type = json_object_get_string(type);
	enum yq_jfield pf = yq_json_field(e->msg, "payload", json_type_object, &e->payload);
	if (pf == YQ_JF_TYPE || pf == YQ_JF_NULL) {
		e->error = "payload must be an object";
		return -1;
	}
	if (!e->payload) { /* an absent payload is an empty one */
		e->payload = json_object_new_object();
		json_object_object_add(e->msg, "payload", e->payload);
	}
	return 0;
}

void
envelope_free(struct envelope *e)
{
	json_object_put(e->msg);
	memset(e, 0, sizeof(*e));
}

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
