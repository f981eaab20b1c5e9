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
	m->lane = LANE_ROOM;
	m->timed_room = 0;
	m->len = len;
	m->parts = NULL;
	memcpy(m->buf + LWS_PRE, json, len);
	return m;
}

void
members_render_unref(struct members_render *r)
{
	if (r && --r->refs == 0)
		free(r); /* one allocation: the arrays and the text follow it */
}

static size_t
value_len(bool online)
{
	return online ? 5 : 6; /* "true}" or "false}" */
}

struct msg *
msg_new_parts(const char *head, size_t head_len, const char *tail, size_t tail_len,
              struct members_render *render, const uint32_t *flip, unsigned nflip)
{
	struct msg *m = malloc(sizeof(*m) + LWS_PRE + head_len + tail_len);
	struct msg_parts *p = malloc(sizeof(*p) + nflip * sizeof(*flip));

	if (!m || !p) {
		free(m);
		free(p);
		return NULL;
	}
	m->refs = 1;
	m->lane = LANE_ROOM;
	m->timed_room = 0;
	m->len = head_len + render->len + tail_len;
	for (unsigned i = 0; i < nflip; i++) { /* "true}" <-> "false}" */
		bool on = render->online[flip[i]];
		m->len = m->len - value_len(on) + value_len(!on);
	}
	m->parts = p;
	memcpy(m->buf + LWS_PRE, head, head_len);
	memcpy(m->buf + LWS_PRE + head_len, tail, tail_len);
	p->render = render;
	render->refs++;
	p->head_len = head_len;
	p->tail_len = tail_len;
	p->nflip = nflip;
	memcpy(p->flip, flip, nflip * sizeof(*flip));
	return m;
}

/* msg_copy's cursor over a message's pieces */
struct copier {
	size_t skip; /* bytes still to pass over */
	unsigned char *dst;
	size_t max, done;
};

static void
put(struct copier *w, const void *p, size_t len)
{
	if (w->done == w->max)
		return;
	if (len <= w->skip) {
		w->skip -= len;
		return;
	}
	p = (const char *)p + w->skip;
	len -= w->skip;
	w->skip = 0;
	if (len > w->max - w->done)
		len = w->max - w->done;
	memcpy(w->dst + w->done, p, len);
	w->done += len;
}

size_t
msg_copy(const struct msg *m, size_t off, unsigned char *dst, size_t max)
{
	const unsigned char *text = m->buf + LWS_PRE;

	if (off >= m->len)
		return 0;
	if (!m->parts) {
		size_t n = m->len - off < max ? m->len - off : max;
		memcpy(dst, text + off, n);
		return n;
	}
	const struct msg_parts *p = m->parts;
	const struct members_render *r = p->render;
	struct copier w = { off, dst, max, 0 };
	size_t pos = 0;
	put(&w, text, p->head_len);
	for (unsigned k = 0; k < p->nflip && w.done < w.max; k++) {
		size_t i = p->flip[k];
		bool on = r->online[i];
		put(&w, r->text + pos, r->at[i] - pos);
		put(&w, on ? "false}" : "true}", value_len(!on));
		pos = r->at[i] + value_len(on);
	}
	put(&w, r->text + pos, r->len - pos);
	put(&w, text + p->head_len, p->tail_len);
	return w.done;
}

/* Which lane a server message type travels in (see ws.h). */
enum lane
msg_lane_of(const char *type)
{
	static const struct {
		const char *type;
		enum lane lane;
	} lanes[] = {
		{ "play_control", LANE_CONTROL }, { "progress_sync", LANE_CONTROL },
		{ "user_status", LANE_PRESENCE }, { "presence", LANE_PRESENCE },
		{ "sync_health", LANE_PRESENCE },
	};

	for (size_t i = 0; type && i < YQ_ARRAY_LEN(lanes); i++)
		if (strcmp(lanes[i].type, type) == 0)
			return lanes[i].lane;
	return LANE_ROOM;
}

struct msg *
msg_from_json(json_object *o)
{
	size_t len;
	json_object *t;

	if (!json_object_object_get_ex(o, "ts", NULL))
		yq_json_add_int(o, "ts", yq_now_ms());
	const char *s = yq_json_str(o, &len);
	struct msg *m = msg_new(s, len);
	if (m && json_object_object_get_ex(o, "type", &t))
		m->lane = (unsigned char)msg_lane_of(json_object_get_string(t));
	return m;
}

void (*msg_done)(const struct msg *m);

void
msg_unref(struct msg *m)
{
	if (m && --m->refs == 0) {
		if (m->timed_room && msg_done)
			msg_done(m);
		if (m->parts) {
			members_render_unref(m->parts->render);
			free(m->parts);
		}
		free(m);
	}
}

/* ---- the send queue: one ring per lane ---- */

static int
ring_grow(struct ring *r)
{
	unsigned cap = r->cap ? r->cap * 2 : 4;
	struct msg **n = malloc(cap * sizeof(*n));

	if (!n)
		return -1;
	/* unroll the ring so the oldest message is first */
	for (unsigned i = 0; i < r->count; i++)
		n[i] = r->q[(r->head + i) & (r->cap - 1)];
	free(r->q);
	r->q = n;
	r->cap = cap;
	r->head = 0;
	return 0;
}

/* The slow-consumer rule counts what a client must read in order (the
 * control and room lanes); the presence lane holds only what the server
 * itself generates at a bounded rate (one user_status per change in a
 * small room, one batch per interval in a large one), so a join burst
 * cannot push a member over the limit.  It has its own cap. */
int
sendq_push(struct sendq *q, struct msg *m, size_t soft, int64_t now)
{
	enum lane lane = m->lane < LANE_COUNT ? (enum lane)m->lane : LANE_ROOM;
	struct ring *r = &q->lane[lane];

	if (lane == LANE_PRESENCE) {
		if (r->count >= SENDQ_PRESENCE_MAX || q->bytes + m->len > 4 * soft)
			return -1;
	} else {
		unsigned ordered = q->count - q->lane[LANE_PRESENCE].count;
		size_t obytes = q->bytes - q->presence_bytes;
		if (obytes + m->len <= soft && ordered < SENDQ_SOFT_COUNT)
			q->over_since_ms = 0;
		else if (!q->over_since_ms)
			q->over_since_ms = now;
		if (ordered >= SENDQ_MAX || q->bytes + m->len > 4 * soft ||
		    (q->over_since_ms && now - q->over_since_ms > SENDQ_SLOW_GRACE_MS))
			return -1;
	}
	if (r->count == r->cap && ring_grow(r) < 0)
		return -1;
	m->refs++;
	r->q[(r->head + r->count) & (r->cap - 1)] = m;
	r->count++;
	q->count++;
	q->bytes += m->len;
	if (lane == LANE_PRESENCE)
		q->presence_bytes += m->len;
	return 0;
}

struct msg *
sendq_pop(struct sendq *q)
{
	for (int l = 0; l < LANE_COUNT; l++) {
		struct ring *r = &q->lane[l];
		if (!r->count)
			continue;
		struct msg *m = r->q[r->head];
		r->head = (r->head + 1) & (r->cap - 1);
		r->count--;
		q->count--;
		q->bytes -= m->len;
		if (l == LANE_PRESENCE)
			q->presence_bytes -= m->len;
		return m;
	}
	return NULL;
}

struct msg *
sendq_peek(const struct sendq *q)
{
	for (int l = 0; l < LANE_COUNT; l++)
		if (q->lane[l].count)
			return q->lane[l].q[q->lane[l].head];
	return NULL;
}

void
sendq_clear(struct sendq *q)
{
	struct msg *m;

	while ((m = sendq_pop(q)))
		msg_unref(m);
	msg_unref(q->partial);
	for (int l = 0; l < LANE_COUNT; l++)
		free(q->lane[l].q);
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
