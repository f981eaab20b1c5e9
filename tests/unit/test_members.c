/*
 * test_members.c - unit tests for ws/members.c, a room's live member
 * list: the REST order (owner, moderators, members, each by join order)
 * kept through adds, removes and role changes; a known member keeps its
 * presence and avatar when refreshed; the rendered list is valid JSON with
 * exactly the snapshot's member fields, the viewer always online; a
 * snapshot built on the shared rendering says byte for byte what a fresh
 * rendering says, whatever changed in between, and shares the rendering
 * while only a few online values differ.  Through 3,000 random adds,
 * refreshes, removes, presence and role changes of up to 300 members, the
 * index finds every member at its place and nobody else, the online count
 * is the model's, and a cut snapshot lists whom a brute-force reading of
 * the rule lists.
 */
#include "config.h"

#include "core/json.h"
#include "ws/ws.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *
rendered(const struct members *ms, int64_t self)
{
	struct yq_buf b = { 0 };

	ck_assert_int_eq(members_render(ms, &b, self), 0);
	json_object *a = json_tokener_parse(b.data);
	yq_buf_free(&b);
	ck_assert_ptr_nonnull(a);
	ck_assert(json_object_is_type(a, json_type_array));
	return a;
}

static int64_t
id_at(json_object *a, size_t i)
{
	json_object *m = json_object_array_get_idx(a, i), *v;

	ck_assert(json_object_object_get_ex(m, "id", &v));
	return json_object_get_int64(v);
}

START_TEST(test_order_roles_and_removal)
{
	struct members ms = { 0 };

	ck_assert_int_eq(members_add(&ms, 10, "m1", "", YQ_ROLE_MEMBER, false), 0);
	ck_assert_int_eq(members_add(&ms, 1, "own", "", YQ_ROLE_OWNER, false), 0);
	ck_assert_int_eq(members_add(&ms, 11, "m2", "", YQ_ROLE_MEMBER, false), 0);
	ck_assert_int_eq(members_add(&ms, 5, "mod", "", YQ_ROLE_MODERATOR, false), 0);
	json_object *a = rendered(&ms, 0);
	int64_t want[] = { 1, 5, 10, 11 };
	ck_assert_uint_eq(json_object_array_length(a), 4);
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(id_at(a, i), want[i]);
	json_object_put(a);

	/* m2 promoted, the owner hands over to m1 */
	members_set_role(&ms, 11, YQ_ROLE_MODERATOR);
	members_set_role(&ms, 1, YQ_ROLE_MODERATOR);
	members_set_role(&ms, 10, YQ_ROLE_OWNER);
	a = rendered(&ms, 0);
	int64_t want2[] = { 10, 1, 11, 5 }; /* moderators by join order */
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(id_at(a, i), want2[i]);
	json_object_put(a);

	members_remove(&ms, 5);
	members_remove(&ms, 99); /* unknown: nothing */
	ck_assert_uint_eq(ms.n, 3);
	ck_assert_ptr_null(members_find(&ms, 5));
	ck_assert_ptr_nonnull(members_find(&ms, 11));
	members_free(&ms);
	ck_assert_uint_eq(ms.n, 0);
}
END_TEST

START_TEST(test_render_fields_presence_and_refresh)
{
	struct members ms = { 0 };
	json_object *v;

	ck_assert_int_eq(members_add(&ms, 1, "alice", "https://a/x.png", YQ_ROLE_OWNER, true), 0);
	ck_assert_int_eq(members_add(&ms, 2, "bob", NULL, YQ_ROLE_MEMBER, false), 0);
	/* refreshed: presence kept, a NULL avatar keeps the known one */
	ck_assert_int_eq(members_add(&ms, 1, "alice2", NULL, YQ_ROLE_OWNER, false), 0);
	ck_assert(members_find(&ms, 1)->online);
	members_set_online(&ms, 2, false);

	json_object *a = rendered(&ms, 2); /* bob views: bob is online */
	ck_assert_uint_eq(json_object_array_length(a), 2);
	json_object *m = json_object_array_get_idx(a, 0);
	ck_assert_int_eq(json_object_object_length(m), 5);
	ck_assert(json_object_object_get_ex(m, "username", &v));
	ck_assert_str_eq(json_object_get_string(v), "alice2");
	ck_assert(json_object_object_get_ex(m, "avatar_url", &v));
	ck_assert_str_eq(json_object_get_string(v), "https://a/x.png");
	ck_assert(json_object_object_get_ex(m, "role", &v));
	ck_assert_str_eq(json_object_get_string(v), "owner");
	ck_assert(json_object_object_get_ex(m, "online", &v));
	ck_assert(json_object_get_boolean(v));
	m = json_object_array_get_idx(a, 1);
	ck_assert(json_object_object_get_ex(m, "avatar_url", &v));
	ck_assert_str_eq(json_object_get_string(v), "");
	ck_assert(json_object_object_get_ex(m, "online", &v));
	ck_assert(json_object_get_boolean(v)); /* the viewer */
	json_object_put(a);

	a = rendered(&ms, 0);
	m = json_object_array_get_idx(a, 1);
	ck_assert(json_object_object_get_ex(m, "online", &v));
	ck_assert(!json_object_get_boolean(v));
	json_object_put(a);

	/* names that need escaping stay valid JSON */
	ck_assert_int_eq(members_add(&ms, 3, "q\"uote", "http://x/\"<>", YQ_ROLE_MEMBER, false), 0);
	a = rendered(&ms, 0);
	ck_assert_uint_eq(json_object_array_length(a), 3);
	json_object_put(a);
	members_free(&ms);
}
END_TEST

START_TEST(test_empty_and_many)
{
	struct members ms = { 0 };
	json_object *a = rendered(&ms, 7);

	ck_assert_uint_eq(json_object_array_length(a), 0);
	json_object_put(a);
	for (int i = 1000; i > 0; i--)
		ck_assert_int_eq(members_add(&ms, i, "u", "", YQ_ROLE_MEMBER, i % 2), 0);
	a = rendered(&ms, 0);
	ck_assert_uint_eq(json_object_array_length(a), 1000);
	ck_assert_int_eq(id_at(a, 0), 1000); /* join order, not id order */
	ck_assert_int_eq(id_at(a, 999), 1);
	json_object_put(a);
	members_free(&ms);
}
END_TEST

/* The text of a message, as the writer sends it: in pieces of `chunk`. */
static char *
text_of(const struct msg *m, size_t chunk)
{
	char *t = malloc(m->len + 1);
	size_t off = 0, n;

	ck_assert_ptr_nonnull(t);
	while ((n = msg_copy(m, off, (unsigned char *)t + off, chunk)) > 0)
		off += n;
	ck_assert_uint_eq(off, m->len);
	t[off] = '\0';
	return t;
}

/* members_snapshot(self) == head + members_render(self) + tail */
static void
check_snapshot(struct members *ms, int64_t self, struct members_render **render_out)
{
	static const char head[] = "{\"members\":", tail[] = "}";
	struct yq_buf b = { 0 };

	ck_assert_int_eq(yq_buf_puts(&b, head), 0);
	ck_assert_int_eq(members_render(ms, &b, self), 0);
	ck_assert_int_eq(yq_buf_puts(&b, tail), 0);
	struct msg *m = members_snapshot(ms, self, 0, 0, head, strlen(head), tail, strlen(tail));
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->len, b.len);
	size_t chunks[] = { 1, 7, 4096, 1 << 20 };
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		char *t = text_of(m, chunks[i]);
		ck_assert_str_eq(t, b.data);
		free(t);
	}
	if (render_out)
		*render_out = m->parts ? m->parts->render : NULL;
	msg_unref(m);
	yq_buf_free(&b);
}

START_TEST(test_shared_snapshot)
{
	struct members ms = { 0 };
	struct members_render *r1, *r2, *r3;

	for (int i = 1; i <= 300; i++) {
		char name[16];
		snprintf(name, sizeof(name), "u%d", i);
		ck_assert_int_eq(members_add(&ms, i, name, i % 3 ? "" : "https://a.example/x.png",
		                             i == 1 ? YQ_ROLE_OWNER : YQ_ROLE_MEMBER, i % 5 == 0),
		                 0);
	}
	/* a storm: each joiner's snapshot, then it goes online */
	check_snapshot(&ms, 7, &r1);
	ck_assert_ptr_nonnull(r1);
	for (int i = 2; i < 2 + MEMBERS_FLIPS_MAX - 1; i++) {
		check_snapshot(&ms, i, &r2);
		ck_assert_ptr_eq(r2, r1); /* shared while few values differ */
		members_set_online(&ms, i, true);
	}
	for (int i = 100; i < 100 + MEMBERS_FLIPS_MAX + 5; i++)
		members_set_online(&ms, i, i % 2);
	check_snapshot(&ms, 250, &r2); /* too many differ: rendered again */
	ck_assert_ptr_ne(r2, r1);
	/* refreshing a member with what the list knows keeps the rendering */
	ck_assert_int_eq(members_add(&ms, 8, "u8", "", YQ_ROLE_MEMBER, false), 0);
	check_snapshot(&ms, 8, &r3);
	ck_assert_ptr_eq(r3, r2);
	/* names, roles, joins and leaves make a new one, and it is right */
	ck_assert_int_eq(members_add(&ms, 8, "renamed", "", YQ_ROLE_MEMBER, false), 0);
	check_snapshot(&ms, 8, &r3);
	ck_assert_ptr_ne(r3, r2);
	members_set_role(&ms, 299, YQ_ROLE_MODERATOR);
	check_snapshot(&ms, 299, NULL);
	ck_assert_int_eq(members_add(&ms, 1000, "late", "", YQ_ROLE_MEMBER, true), 0);
	check_snapshot(&ms, 1000, NULL);
	members_remove(&ms, 3);
	check_snapshot(&ms, 3, NULL); /* self not a member any more */
	check_snapshot(&ms, 0, NULL);
	members_free(&ms);
}
END_TEST

START_TEST(test_snapshot_of_an_empty_list)
{
	struct members ms = { 0 };

	check_snapshot(&ms, 1, NULL);
	members_free(&ms);
}
END_TEST

/* Above the whole-list size: the owner and moderators, then self, then
 * the other online members, then the others, each in list order, cut in
 * all. */
START_TEST(test_capped_snapshot)
{
	static const char head[] = "{\"members\":", tail[] = "}";
	struct members ms = { 0 };

	for (int i = 1; i <= 40; i++) {
		char name[16];
		snprintf(name, sizeof(name), "u%d", i);
		enum yq_role role = i == 30   ? YQ_ROLE_OWNER
		                    : i == 20 ? YQ_ROLE_MODERATOR
		                              : YQ_ROLE_MEMBER;
		ck_assert_int_eq(members_add(&ms, i, name, "", role, i % 10 == 0), 0);
	}
	ck_assert_uint_eq(members_online(&ms, 0), 4); /* 10 20 30 40 */
	ck_assert_uint_eq(members_online(&ms, 7), 5);
	ck_assert_uint_eq(members_online(&ms, 10), 4);
	/* uncapped (max >= n): the whole list, as members_render says */
	check_snapshot(&ms, 7, NULL);
	struct msg *m = members_snapshot(&ms, 7, 40, 6, head, strlen(head), tail, strlen(tail));
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(m->parts);
	msg_unref(m);
	/* above 39, cut to 6: owner 30, moderator 20, self 7, online 10 40,
	 * offline 1 */
	m = members_snapshot(&ms, 7, 39, 6, head, strlen(head), tail, strlen(tail));
	ck_assert_ptr_nonnull(m);
	char *t = text_of(m, 5);
	json_object *o = json_tokener_parse(t);
	ck_assert_ptr_nonnull(o);
	json_object *list = json_object_object_get(o, "members");
	ck_assert_uint_eq(json_object_array_length(list), 6);
	static const int want[] = { 30, 20, 7, 10, 40, 1 };
	static const bool online[] = { true, true, true, true, true, false };
	for (size_t i = 0; i < 6; i++) {
		json_object *e = json_object_array_get_idx(list, i);
		ck_assert_int_eq(json_object_get_int64(json_object_object_get(e, "id")), want[i]);
		ck_assert_int_eq(json_object_get_boolean(json_object_object_get(e, "online")),
		                 online[i]);
	}
	json_object_put(o);
	free(t);
	msg_unref(m);
	/* the reader before the online members who joined earlier: self 35
	 * ahead of 10 */
	m = members_snapshot(&ms, 35, 39, 4, head, strlen(head), tail, strlen(tail));
	t = text_of(m, 5);
	o = json_tokener_parse(t);
	ck_assert_ptr_nonnull(o);
	list = json_object_object_get(o, "members");
	ck_assert_uint_eq(json_object_array_length(list), 4);
	static const int want35[] = { 30, 20, 35, 10 };
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(json_object_get_int64(json_object_object_get(
		                         json_object_array_get_idx(list, i), "id")),
		                 want35[i]);
	json_object_put(o);
	free(t);
	msg_unref(m);
	/* a cut below the staff: the first of them; a cut of 0 lists one */
	m = members_snapshot(&ms, 7, 39, 0, head, strlen(head), tail, strlen(tail));
	t = text_of(m, 4096);
	ck_assert_str_eq(t, "{\"members\":[{\"id\":30,\"username\":\"u30\",\"avatar_url\":\"\","
	                    "\"role\":\"owner\",\"online\":true}]}");
	free(t);
	msg_unref(m);
	members_free(&ms);
}
END_TEST

/* ---- the index and the online count against a model ---- */

struct model {
	int64_t id;
	enum yq_role role;
	bool online;
	uint64_t order;
};

static int
mrank(enum yq_role r)
{
	return r == YQ_ROLE_OWNER ? 0 : r == YQ_ROLE_MODERATOR ? 1 : 2;
}

/* The model in the list's order: rank, then join order. */
static int
model_cmp(const void *a, const void *b)
{
	const struct model *x = a, *y = b;

	if (mrank(x->role) != mrank(y->role))
		return mrank(x->role) - mrank(y->role);
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The cut as doc/protocol.md says, by brute force over the model: staff,
 * self, other online members, the others, each in list order. */
static size_t
model_cut(const struct model *v, size_t n, int64_t self, size_t max, int64_t *out)
{
	size_t k = 0;

	for (int pass = 0; pass < 4; pass++)
		for (size_t i = 0; i < n && k < max; i++) {
			bool staff = mrank(v[i].role) < 2, me = v[i].id == self;
			bool on = v[i].online || me;
			if ((pass == 0 && staff) || (pass == 1 && !staff && me) ||
			    (pass == 2 && !staff && !me && on) ||
			    (pass == 3 && !staff && !me && !on))
				out[k++] = v[i].id;
		}
	return k;
}

static void
check_against_model(struct members *ms, struct model *v, size_t n, int64_t self)
{
	static const char head[] = "{\"m\":", tail[] = "}";
	size_t online = 0;

	qsort(v, n, sizeof(*v), model_cmp);
	ck_assert_uint_eq(ms->n, n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(ms->v[i].user_id, v[i].id);
		struct member *m = members_find(ms, v[i].id);
		ck_assert_ptr_eq(m, &ms->v[i]);
		ck_assert_int_eq(m->online, v[i].online);
		online += v[i].online;
	}
	for (int64_t id = 1000; id < 1010; id++)
		ck_assert_ptr_null(members_find(ms, id));
	ck_assert_uint_eq(members_online(ms, 0), online);
	struct member *me = members_find(ms, self);
	ck_assert_uint_eq(members_online(ms, self), online + (me && !me->online));

	int64_t want[12];
	size_t k = model_cut(v, n, self, 12, want);
	struct msg *msg = members_snapshot(ms, self, 1, 12, head, strlen(head), tail, strlen(tail));
	ck_assert_ptr_nonnull(msg);
	char *t = text_of(msg, 1 << 16);
	json_object *o = json_tokener_parse(t);
	ck_assert_ptr_nonnull(o);
	json_object *list = json_object_object_get(o, "m");
	ck_assert_uint_eq(json_object_array_length(list), k);
	for (size_t i = 0; i < k; i++)
		ck_assert_int_eq(id_at(list, i), want[i]);
	json_object_put(o);
	free(t);
	msg_unref(msg);
}

START_TEST(test_index_and_online_count_follow_every_change)
{
	struct members ms = { 0 };
	struct model v[300] = { 0 };
	size_t n = 0;
	uint64_t order = 0;
	unsigned seed = 12345;

	for (int step = 0; step < 3000; step++) {
		seed = seed * 1103515245u + 12345u;
		unsigned r = seed >> 8;
		int64_t id = 1 + (int64_t)(r % 400);
		size_t at = n;
		for (size_t i = 0; i < n; i++)
			if (v[i].id == id)
				at = i;
		enum yq_role role = r % 23 == 0  ? YQ_ROLE_OWNER
		                    : r % 7 == 0 ? YQ_ROLE_MODERATOR
		                                 : YQ_ROLE_MEMBER;
		switch ((r >> 12) % 5) {
		case 0: /* add, or refresh a known one (its presence stays) */
		case 1:
			if (at == n && n == 300)
				break;
			ck_assert_int_eq(members_add(&ms, id, "u", NULL, role, r % 2), 0);
			if (at == n)
				v[n++] = (struct model){ id, role, r % 2, ++order };
			else
				v[at].role = role;
			break;
		case 2:
			members_remove(&ms, id);
			if (at < n)
				v[at] = v[--n];
			break;
		case 3:
			members_set_online(&ms, id, r % 3 == 0);
			if (at < n)
				v[at].online = r % 3 == 0;
			break;
		case 4:
			members_set_role(&ms, id, role);
			if (at < n)
				v[at].role = role;
			break;
		}
		if (step % 25 == 0 || step > 2950)
			check_against_model(&ms, v, n, id);
	}
	/* through the member itself, as the hub marks presence */
	if (ms.n) {
		struct member *m = &ms.v[ms.n / 2];
		bool was = m->online;
		size_t before = members_online(&ms, 0);
		members_mark_online(&ms, m, !was);
		ck_assert_uint_eq(members_online(&ms, 0), was ? before - 1 : before + 1);
		members_mark_online(&ms, m, !was);
		ck_assert_uint_eq(members_online(&ms, 0), was ? before - 1 : before + 1);
	}
	members_free(&ms);
	ck_assert_ptr_null(members_find(&ms, 1));
	ck_assert_uint_eq(members_online(&ms, 1), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("members");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_order_roles_and_removal);
	tcase_add_test(tc, test_render_fields_presence_and_refresh);
	tcase_add_test(tc, test_empty_and_many);
	tcase_add_test(tc, test_shared_snapshot);
	tcase_add_test(tc, test_snapshot_of_an_empty_list);
	tcase_add_test(tc, test_capped_snapshot);
	tcase_add_test(tc, test_index_and_online_count_follow_every_change);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
