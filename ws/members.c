/*
 * members.c - a room's member list as this node keeps it live, so a
 * connect costs no member query and no JSON parse: loaded once by the
 * database worker when the room first comes to this node (a plain array,
 * already rendered), then kept in step by the room events (joined, left,
 * kicked, role and owner changes) and presence changes.  Each member's
 * JSON is rendered once up to its "online" value; a snapshot's member
 * list is those pieces concatenated.
 *
 * Order: as REST lists them, owner, moderators, members, each by when they
 * joined (members loaded from the database keep the query's order; later
 * joiners come after them).
 *
 * A member's avatar_url is what the database said when the list was
 * loaded or the member last connected here; a member who joined later and
 * never connected here shows "" until the room is reloaded (REST has the
 * truth).
 */
#include "config.h"

#include "core/json.h"
#include "ws/ws.h"

#include <stdlib.h>
#include <string.h>

static size_t
value_len(bool online)
{
	return online ? 5 : 6; /* "true}" or "false}" */
}

static int
rank(enum yq_role r)
{
	return r == YQ_ROLE_OWNER ? 0 : r == YQ_ROLE_MODERATOR ? 1 : 2;
}

static bool
before(const struct member *a, const struct member *b)
{
	return rank(a->role) != rank(b->role) ? rank(a->role) < rank(b->role) : a->order < b->order;
}

/* (Re)render a member's JSON head; a head that changed bumps the list's
 * generation (its shared rendering is then out of date). */
static int
render(struct members *ms, struct member *m)
{
	json_object *o = yq_member_json(m->user_id, m->username, m->avatar_url, m->role);
	size_t len;
	const char *s = yq_json_str(o, &len);
	/* s ends with '}': keep everything before it, then ,"online": */
	char *h = malloc(len + 16);
	if (h) {
		memcpy(h, s, len - 1);
		memcpy(h + len - 1, ",\"online\":", 10);
		h[len + 9] = '\0';
		if (!m->head || m->head_len != len + 9 || memcmp(m->head, h, len + 9) != 0)
			ms->gen++;
		free(m->head);
		m->head = h;
		m->head_len = len + 9;
	}
	json_object_put(o);
	return h ? 0 : -1;
}

/* ---- the index: user_id -> position in v ----
 * A storm of 1,000 joiners looked each one up several times (add,
 * presence, snapshot), each a walk of the whole list: O(n) a join, O(n²)
 * a storm. */

static size_t
ix_slot(const struct members *ms, int64_t user_id)
{
	uint64_t h = (uint64_t)user_id * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 32) & (ms->ixcap - 1);
}

/* Put position i (v[i] not in the index yet). */
static void
ix_put(struct members *ms, size_t i)
{
	size_t s = ix_slot(ms, ms->v[i].user_id);

	while (ms->ix[s])
		s = (s + 1) & (ms->ixcap - 1);
	ms->ix[s] = (uint32_t)(i + 1);
}

/* The index anew for n members, grown when needed; out of memory, there
 * is none and members_find walks the list. */
static void
ix_rebuild(struct members *ms, size_t n)
{
	size_t cap = ms->ixcap ? ms->ixcap : 16;

	while (cap < 2 * n)
		cap *= 2;
	if (cap != ms->ixcap) {
		uint32_t *ix = calloc(cap, sizeof(*ix));
		if (!ix) {
			free(ms->ix);
			ms->ix = NULL;
			ms->ixcap = 0;
			return;
		}
		free(ms->ix);
		ms->ix = ix;
		ms->ixcap = cap;
	} else {
		memset(ms->ix, 0, cap * sizeof(*ms->ix));
	}
	for (size_t i = 0; i < n; i++)
		ix_put(ms, i);
}

static struct member *
find(const struct members *ms, int64_t user_id)
{
	if (!ms->ix) { /* no index (out of memory once): the slow way */
		for (size_t i = 0; i < ms->n; i++)
			if (ms->v[i].user_id == user_id)
				return &ms->v[i];
		return NULL;
	}
	for (size_t s = ix_slot(ms, user_id); ms->ix[s]; s = (s + 1) & (ms->ixcap - 1))
		if (ms->v[ms->ix[s] - 1].user_id == user_id)
			return &ms->v[ms->ix[s] - 1];
	return NULL;
}

struct member *
members_find(struct members *ms, int64_t user_id)
{
	return find(ms, user_id);
}

/* v[n - 1] is new: into the index (made anew when it must grow). */
static void
ix_added(struct members *ms)
{
	if (ms->ix && 2 * ms->n <= ms->ixcap)
		ix_put(ms, ms->n - 1);
	else
		ix_rebuild(ms, ms->n);
}

/* Move v[i] to where its role and order put it. */
static void
resort(struct members *ms, size_t i)
{
	struct member m = ms->v[i];

	memmove(&ms->v[i], &ms->v[i + 1], (ms->n - i - 1) * sizeof(m));
	size_t j = ms->n - 1;
	while (j > 0 && before(&m, &ms->v[j - 1]))
		j--;
	memmove(&ms->v[j + 1], &ms->v[j], (ms->n - 1 - j) * sizeof(m));
	ms->v[j] = m;
	if (j != i) /* positions in between moved */
		ix_rebuild(ms, ms->n);
}

int
members_add(struct members *ms, int64_t user_id, const char *username, const char *avatar_url,
            enum yq_role role, bool online)
{
	struct member *m = members_find(ms, user_id);

	if (m) { /* known: refresh what we were told */
		yq_strlcpy(m->username, username, sizeof(m->username));
		if (avatar_url) {
			char *a = strdup(avatar_url);
			if (!a)
				return -1;
			free(m->avatar_url);
			m->avatar_url = a;
		}
		if (m->role != role) {
			m->role = role;
			if (render(ms, m) < 0)
				return -1;
			resort(ms, (size_t)(m - ms->v));
			return 0;
		}
		return render(ms, m);
	}
	if (ms->n == ms->cap) {
		size_t cap = ms->cap ? ms->cap * 2 : 8;
		struct member *v = realloc(ms->v, cap * sizeof(*v));
		if (!v)
			return -1;
		ms->v = v;
		ms->cap = cap;
	}
	m = &ms->v[ms->n];
	memset(m, 0, sizeof(*m));
	m->user_id = user_id;
	yq_strlcpy(m->username, username, sizeof(m->username));
	m->avatar_url = avatar_url ? strdup(avatar_url) : NULL;
	m->role = role;
	m->online = online;
	m->order = ++ms->next_order;
	if (render(ms, m) < 0) {
		free(m->avatar_url);
		return -1;
	}
	ms->n++;
	ms->gen++;
	ms->online_n += online;
	ix_added(ms);
	resort(ms, ms->n - 1);
	return 0;
}

void
members_remove(struct members *ms, int64_t user_id)
{
	struct member *m = members_find(ms, user_id);

	if (!m)
		return;
	free(m->avatar_url);
	free(m->head);
	ms->online_n -= m->online;
	size_t i = (size_t)(m - ms->v);
	memmove(&ms->v[i], &ms->v[i + 1], (ms->n - i - 1) * sizeof(*m));
	ms->n--;
	ms->gen++;
	ix_rebuild(ms, ms->n);
}

void
members_set_role(struct members *ms, int64_t user_id, enum yq_role role)
{
	struct member *m = members_find(ms, user_id);

	if (!m || m->role == role)
		return;
	m->role = role;
	render(ms, m);
	ms->gen++; /* the order may have changed */
	resort(ms, (size_t)(m - ms->v));
}

void
members_mark_online(struct members *ms, struct member *m, bool online)
{
	ms->online_n += (size_t)online - (size_t)m->online;
	m->online = online;
}

void
members_set_online(struct members *ms, int64_t user_id, bool online)
{
	struct member *m = members_find(ms, user_id);

	if (m)
		members_mark_online(ms, m, online);
}

/* Online as self sees it: self always is. */
static bool
online_for(const struct member *m, int64_t self)
{
	return m->online || m->user_id == self;
}

/* One member of a list as self sees it, after a comma unless first. */
static int
append_member(struct yq_buf *b, const struct member *m, int64_t self, bool first)
{
	if ((!first && yq_buf_append(b, ",", 1) < 0) || !m->head ||
	    yq_buf_append(b, m->head, m->head_len) < 0)
		return -1;
	return yq_buf_puts(b, online_for(m, self) ? "true}" : "false}");
}

int
members_render(const struct members *ms, struct yq_buf *b, int64_t self)
{
	if (yq_buf_append(b, "[", 1) < 0)
		return -1;
	for (size_t i = 0; i < ms->n; i++)
		if (append_member(b, &ms->v[i], self, i == 0) < 0)
			return -1;
	return yq_buf_append(b, "]", 1);
}

/* The list as it is, everyone's own online value (no self). */
static struct members_render *
render_shared(const struct members *ms)
{
	size_t len = 2; /* [] */

	for (size_t i = 0; i < ms->n; i++) {
		if (!ms->v[i].head)
			return NULL;
		len += (i ? 1 : 0) + ms->v[i].head_len + value_len(ms->v[i].online);
	}
	struct members_render *r =
	        malloc(sizeof(*r) + ms->n * (sizeof(size_t) + sizeof(bool)) + len);
	if (!r)
		return NULL;
	r->refs = 1;
	r->gen = ms->gen;
	r->n = ms->n;
	r->at = (size_t *)(r + 1);
	r->online = (bool *)(r->at + ms->n);
	r->text = (char *)(r->online + ms->n);
	r->len = len;
	char *p = r->text;
	*p++ = '[';
	for (size_t i = 0; i < ms->n; i++) {
		const struct member *m = &ms->v[i];
		if (i)
			*p++ = ',';
		memcpy(p, m->head, m->head_len);
		p += m->head_len;
		r->at[i] = (size_t)(p - r->text);
		r->online[i] = m->online;
		memcpy(p, m->online ? "true}" : "false}", value_len(m->online));
		p += value_len(m->online);
	}
	*p = ']';
	return r;
}

/* The members whose value differs from r's (self online): 0, or -1 when
 * there are more than MEMBERS_FLIPS_MAX. */
static int
flips(const struct members *ms, const struct members_render *r, int64_t self, uint32_t *flip,
      unsigned *nflip)
{
	*nflip = 0;
	for (size_t i = 0; i < ms->n; i++) {
		bool on = online_for(&ms->v[i], self);
		if (on == r->online[i])
			continue;
		if (*nflip == MEMBERS_FLIPS_MAX)
			return -1;
		flip[(*nflip)++] = (uint32_t)i;
	}
	return 0;
}

size_t
members_online(const struct members *ms, int64_t self)
{
	const struct member *m = find(ms, self);

	return ms->online_n + (m && !m->online);
}

/* A large room's snapshot: at most max members, rendered for this one
 * snapshot (a few hundred bytes to a few KiB: cheaper than sharing).  The
 * owner and moderators lead the list (its order), then self, then the
 * other online members, then the others: neither walks further than it
 * must. */
static struct msg *
snapshot_capped(const struct members *ms, int64_t self, size_t max, const char *head,
                size_t head_len, const char *tail, size_t tail_len)
{
	struct yq_buf b = { 0 };
	size_t taken = 0, staff = 0;
	int rc = yq_buf_append(&b, head, head_len) | yq_buf_append(&b, "[", 1);

	for (; staff < ms->n && rank(ms->v[staff].role) < 2; staff++)
		if (taken < max)
			rc |= append_member(&b, &ms->v[staff], self, taken++ == 0);
	const struct member *me = find(ms, self);
	if (me && rank(me->role) >= 2 && taken < max)
		rc |= append_member(&b, me, self, taken++ == 0);
	for (int online = 1; online >= 0; online--)
		for (size_t i = staff; i < ms->n && taken < max; i++)
			if (ms->v[i].user_id != self && ms->v[i].online == (bool)online)
				rc |= append_member(&b, &ms->v[i], self, taken++ == 0);
	rc |= yq_buf_append(&b, "]", 1) | yq_buf_append(&b, tail, tail_len);
	struct msg *msg = rc ? NULL : msg_new(b.data, b.len);
	yq_buf_free(&b);
	return msg;
}

struct msg *
members_snapshot(struct members *ms, int64_t self, size_t whole, size_t cut, const char *head,
                 size_t head_len, const char *tail, size_t tail_len)
{
	uint32_t flip[MEMBERS_FLIPS_MAX];
	unsigned nflip;
	struct members_render *r = ms->render;

	if (whole && ms->n > whole)
		return snapshot_capped(ms, self, cut ? cut : 1, head, head_len, tail, tail_len);

	if (!r || r->gen != ms->gen || r->n != ms->n || flips(ms, r, self, flip, &nflip) < 0) {
		if (!(r = render_shared(ms)))
			return NULL;
		members_render_unref(ms->render);
		ms->render = r;
		flips(ms, r, self, flip, &nflip); /* self at most */
	}
	return msg_new_parts(head, head_len, tail, tail_len, r, flip, nflip);
}

void
members_free(struct members *ms)
{
	members_render_unref(ms->render);
	for (size_t i = 0; i < ms->n; i++) {
		free(ms->v[i].avatar_url);
		free(ms->v[i].head);
	}
	free(ms->v);
	free(ms->ix);
	memset(ms, 0, sizeof(*ms));
}
