/*
 * dbworker.c - everything yiqikan-ws asks of MariaDB, off the service
 * thread.
 *
 * Job queues, each a locked FIFO with its own thread(s) and connection(s):
 * authentication (ws.auth_workers threads, connects answered in batches),
 * room traffic (one thread, so a chat message is stored and relayed in the
 * order it was sent) and presence rows (one thread); another thread tails
 * the event queue with the reader of src/core/queue.c.  All hand results
 * back through one locked list and wake the service thread with
 * lws_cancel_service().  Nothing here touches a connection or a room:
 * results carry ids.
 */
#include "config.h"

#include "core/db.h"
#include "core/json.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/token.h"
#include "core/util.h"
#include "core/wake.h"
#include "ws/ws.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A FIFO of jobs with its own thread(s), each with its own connection. */
#define JOBQ_THREADS_MAX 4
struct jobq_state {
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct job *head, *tail;
	unsigned pending; /* read without the lock by dbworker_busy/queued */
	unsigned nthreads;
	pthread_t threads[JOBQ_THREADS_MAX];
};
static struct jobq_state queues[JOBQ_COUNT] = {
	[JOBQ_AUTH] = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER },
	[JOBQ_ROOM] = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER },
	[JOBQ_PRESENCE] = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER },
};
static pthread_mutex_t rlock = PTHREAD_MUTEX_INITIALIZER;
static struct result *results_head, *results_tail;
static bool stopping; /* atomic (is_stopping): set under each queue's lock, then the tail kicked */
/* queue events the tail has handed over, counted after each post (atomic):
 * an auth batch's mark for the user events it may miss (hub.c) */
static uint64_t events_posted;
static pthread_t tail_thread;
static uint64_t tail_wakeups;     /* datagrams that ended an idle wait (metrics) */
static int64_t tail_caught_up_ms; /* atomic: mono ms of the last poll that reached the head */
static struct hub *H;

/* Authentication runs apart from room traffic: its jobs are independent
 * (any order, several at once), room jobs keep the order they were sent
 * in (one thread).  Presence rows have a queue of their own: a join storm
 * writes one per joiner, and a play command must not wait behind them. */
static enum jobq
queue_of(const struct job *j)
{
	switch (j->kind) {
	case JOB_AUTH: return JOBQ_AUTH;
	case JOB_PRESENCE_RELAY:
	case JOB_PRESENCE_UP:
	case JOB_PRESENCE_DOWN:
	case JOB_PRESENCE_REFRESH:
	case JOB_LIVE_NODES: return JOBQ_PRESENCE;
	default: return JOBQ_ROOM;
	}
}

const char *
dbworker_queue_name(int q)
{
	return q == JOBQ_AUTH ? "auth" : q == JOBQ_PRESENCE ? "presence" : "room";
}

unsigned
dbworker_queued(int q)
{
	return __atomic_load_n(&queues[q].pending, __ATOMIC_RELAXED);
}

bool
dbworker_idle(void)
{
	for (int q = 0; q < JOBQ_COUNT; q++)
		if (__atomic_load_n(&queues[q].pending, __ATOMIC_ACQUIRE))
			return false;
	pthread_mutex_lock(&rlock); /* a job posts its result before it stops counting */
	bool none = !results_head;
	pthread_mutex_unlock(&rlock);
	return none;
}

bool
dbworker_busy(int q)
{
	return dbworker_queued(q) > DBWORKER_BUSY;
}

int64_t
dbworker_tail_lag_ms(void)
{
	int64_t at = __atomic_load_n(&tail_caught_up_ms, __ATOMIC_RELAXED);

	return at ? yq_mono_ms() - at : -1;
}

void
dbworker_submit(struct job *j)
{
	struct jobq_state *q = &queues[queue_of(j)];

	j->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	__atomic_add_fetch(&q->pending, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->lock);
}

/* Hand a result to the service thread; wake it only when the list was
 * empty (it takes the whole list at once), one wake-up per batch.  The
 * wake-up is made under rlock, so once dbworker_unwake() has returned no
 * thread touches the lws context again (the service thread destroys it
 * before the database threads are joined). */
static bool unwoken; /* under rlock: the context is going away */

static void
post(struct result *r)
{
	r->next = NULL;
	pthread_mutex_lock(&rlock);
	bool wake = !results_head && !unwoken;
	if (results_tail)
		results_tail->next = r;
	else
		results_head = r;
	results_tail = r;
	if (wake)
		lws_cancel_service(H->ctx);
	pthread_mutex_unlock(&rlock);
}

void
dbworker_unwake(void)
{
	pthread_mutex_lock(&rlock);
	unwoken = true;
	pthread_mutex_unlock(&rlock);
}

struct result *
dbworker_results(void)
{
	pthread_mutex_lock(&rlock);
	struct result *r = results_head;
	results_head = results_tail = NULL;
	pthread_mutex_unlock(&rlock);
	return r;
}

void
result_free(struct result *r)
{
	switch (r->kind) {
	case RES_AUTH:
		free(r->auth.room_json);
		free(r->auth.avatar_url);
		free(r->auth.recent_json);
		for (size_t i = 0; i < r->auth.nreplay; i++)
			free(r->auth.replay[i]);
		free(r->auth.replay);
		break;
	case RES_CHAT_SAVED: free(r->chat.text); break;
	case RES_PLAYBACK: free(r->playback.payload); break;
	case RES_EVENTS: yq_events_free(r->events.v, r->events.n); break;
	case RES_LIVE_NODES: free(r->live_nodes); break;
	case RES_ID_BLOCK: break;
	case RES_ROOM: members_free(&r->room.members); break;
	}
	free(r);
}

static void
job_free(struct job *j)
{
	if (j->kind == JOB_PLAYBACK)
		free(j->playback.change);
	free(j->text);
	free(j);
}

static char *
dup_json(json_object *o)
{
	size_t len;
	const char *s = yq_json_str(o, &len);

	return strndup(s, len);
}

/* ---- authentication and the room snapshot, in batches ----
 *
 * A connect needs the user, its membership and the room, the playback
 * row and the notifications it missed: four statements, each a round trip
 * to MariaDB that waits for two context switches on a busy machine.  The
 * auth threads take every waiting job (up to AUTH_BATCH) at once and ask
 * for all of them together: one statement for the users and which of them
 * have notifications to replay, one per room for the members' relation to
 * it and its playback row (and the member list, chat history when
 * needed).  A join storm of a 1,000-member room then costs two round
 * trips per batch instead of four per connection.  The lists
 * go in as one JSON array parameter read by JSON_TABLE (numbers this file
 * formats itself; still a bound parameter). */
#define AUTH_BATCH     64
#define PRESENCE_BATCH 512

struct auth {
	struct job *j;
	struct result *r;
	int64_t uid;  /* the user, once known */
	int rc;       /* 0 so far, else a close code or a YQ_E* */
	bool in_room; /* the room part is done */
	bool replay;  /* it has notifications to replay */
};

/* "[a,b,...]" of the users of the batch still in the running (with_after:
 * "[[user,last_id],...]") in *out, NULL when there are none: 0, or
 * YQ_ENOMEM (never "none" for want of memory: that would skip a check). */
static int
id_list(const struct auth *v, size_t n, int64_t room_id, bool with_after, char **out)
{
	struct yq_buf b = { 0 };
	bool any = false;
	int rc = yq_buf_puts(&b, "[");

	*out = NULL;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (v[i].rc || (room_id && v[i].j->room_id != room_id))
			continue;
		if (with_after)
			rc = yq_buf_printf(&b, "%s[%lld,%lld]", any ? "," : "", (long long)v[i].uid,
			                   (long long)v[i].j->auth.last_id);
		else
			rc = yq_buf_printf(&b, "%s%lld", any ? "," : "", (long long)v[i].uid);
		any = true;
	}
	if (rc == 0)
		rc = yq_buf_puts(&b, "]");
	if (rc < 0 || !any) {
		yq_buf_free(&b);
		return rc < 0 ? YQ_ENOMEM : 0;
	}
	*out = b.data;
	return 0;
}

/* A ticket is spent by one UPDATE (single use, 30 s), per job.  Which user
 * it names is read first: on Galera db.sync_wait = 1 makes reads wait for
 * what the cluster has committed, not UPDATEs, and REST wrote the ticket
 * on another node a moment ago (doc/scaling.md, causal reads). */
static int
redeem_ticket(struct yq_db *db, struct auth *a)
{
	static const char redeem[] =
	        "UPDATE ws_tickets SET used_at = NOW() "
	        "WHERE ticket_hash = ? AND used_at IS NULL AND expires_at > NOW()";
	static const char ticket_user[] = "SELECT user_id FROM ws_tickets WHERE ticket_hash = ?";
	struct yq_rows *rows;
	long long n;

	if ((n = YQ_DB_EXEC(db, ticket_user, &rows, YQ_PSTR(a->j->auth.ticket_hash))) < 0)
		return (int)n;
	a->uid = n ? yq_rows_int(rows, 0, 0) : 0;
	yq_rows_free(rows);
	if (!a->uid)
		return WS_CLOSE_BAD_TOKEN;
	if ((n = YQ_DB_EXEC(db, redeem, NULL, YQ_PSTR(a->j->auth.ticket_hash))) < 0)
		return (int)n;
	if (n == 0) {
		a->uid = 0;
		return WS_CLOSE_BAD_TOKEN;
	}
	return 0;
}

/* An access token (doc/protocol.md, "Connecting"): 0 and the user it
 * names, or 4401. */
static int
check_token(struct job *j, int64_t *uid)
{
	struct yq_claims cl;
	const char *why;

	if (yq_token_verify(H->cfg, j->text, yq_now_ms() / 1000, &cl, &why) < 0)
		return WS_CLOSE_BAD_TOKEN;
	*uid = j->user_id = cl.sub;
	j->auth.token_version = cl.ver; /* checked against the user's */
	return 0;
}

/* The users: exist, and a token's version is still theirs; and which of
 * them have notifications to replay (auth_replay): every undeleted one
 * after last_notification_id, or without it any unread one.  Scalar
 * subqueries with LIMIT 1: one index probe per user (as EXISTS the
 * optimizer may materialise every unread notification). */
static int
auth_users(struct yq_db *db, struct auth *v, size_t n)
{
	static const char sql[] =
	        "SELECT u.id, u.username, u.token_version, u.avatar_url, j.after, "
	        "IF(j.after < 0, (SELECT 1 FROM notifications n WHERE n.user_id = j.id "
	        "AND n.status = 'unread' AND n.deleted_at IS NULL LIMIT 1), "
	        "(SELECT 1 FROM notifications n WHERE n.user_id = j.id "
	        "AND n.id > j.after AND n.deleted_at IS NULL LIMIT 1)) IS NOT NULL "
	        "FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$[0]', after BIGINT PATH "
	        "'$[1]')) "
	        "AS j JOIN users u ON u.id = j.id";
	struct yq_rows *rows;
	char *ids;

	if (id_list(v, n, 0, true, &ids) < 0)
		return YQ_ENOMEM;
	if (!ids)
		return 0;
	long long rc = YQ_DB_EXEC(db, sql, &rows, YQ_PSTR(ids));
	free(ids);
	if (rc < 0)
		return (int)rc;
	for (size_t i = 0; i < n; i++)
		if (!v[i].rc)
			v[i].rc = WS_CLOSE_BAD_TOKEN; /* until its row says otherwise */
	for (unsigned k = 0; k < rows->nrows; k++) {
		int64_t id = yq_rows_int(rows, k, 0), after = yq_rows_int(rows, k, 4);
		/* a user may be there more than once (two tabs) */
		for (size_t i = 0; i < n; i++) {
			struct auth *a = &v[i];
			if (a->uid != id || a->j->auth.last_id != after ||
			    a->rc != WS_CLOSE_BAD_TOKEN || a->r->user_id)
				continue;
			const struct job_auth *ja = &a->j->auth;
			if (!ja->by_ticket && !ja->recheck &&
			    yq_rows_int(rows, k, 2) != ja->token_version)
				continue;
			struct res_auth *ra = &a->r->auth;
			a->r->user_id = id;
			a->replay = yq_rows_int(rows, k, 5) != 0;
			yq_strlcpy(ra->username, yq_rows_str(rows, k, 1), sizeof(ra->username));
			if (!(ra->avatar_url = strdup(yq_rows_str(rows, k, 3)))) {
				a->rc = YQ_ENOMEM;
				continue;
			}
			a->rc = 0;
		}
	}
	yq_rows_free(rows);
	return 0;
}

/* The room once, each user's relation to it, and what every snapshot of
 * it needs: playback, the member list (when asked for), chat history. */
static int
auth_room(struct yq_db *db, const struct yq_config *cfg, unsigned nrecent, struct auth *v, size_t n,
          int64_t room_id)
{
	/* the playback row comes with every row (the same each time): one
	 * statement less a batch */
	static const char room[] = "SELECT " YQ_ROOM_COLUMNS_FOR_NONMEMBER(
	        "j.id") ", j.id, " YQ_PLAYBACK_COLUMNS
	                " FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$')) AS j "
	                "JOIN rooms r ON r.id = ? JOIN users o ON o.id = r.owner_id "
	                "LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = j.id "
	                "LEFT JOIN room_playback p ON p.room_id = r.id";
	static const char members[] = YQ_ROOM_MEMBERS_SELECT;
	/* the newest messages by ix_chat_room first, then their authors */
	static const char history[] =
	        "SELECT t.id, t.room_id, t.user_id, u.username, t.text, t.created_at_ms FROM ("
	        "SELECT c.id, c.room_id, c.user_id, c.text, "
	        "CAST(UNIX_TIMESTAMP(c.created_at) * 1000 AS INTEGER) AS created_at_ms "
	        "FROM chat_messages c WHERE c.room_id = ? ORDER BY c.id DESC LIMIT ?) t "
	        "STRAIGHT_JOIN users u ON u.id = t.user_id ORDER BY t.id";
	struct yq_rows *rows;
	struct yq_room rm = { 0 };
	char *ids;
	bool any = false, want_members = false, history_on = false;

	if (id_list(v, n, room_id, false, &ids) < 0)
		return YQ_ENOMEM;
	if (!ids)
		return 0;
	long long rc = YQ_DB_EXEC(db, room, &rows, YQ_PSTR(ids), YQ_PINT(room_id));
	free(ids);
	if (rc < 0)
		return (int)rc;
	for (size_t i = 0; i < n; i++)
		if (!v[i].rc && v[i].j->room_id == room_id)
			v[i].rc = WS_CLOSE_NOT_FOUND; /* no row: no such room */
	struct yq_playback pb;
	yq_playback_from_cols(rows, 0, YQ_ROOM_COLUMNS + 1, &pb);
	playback_sanitize(&pb, yq_now_ms()); /* a stored row may hold anything */
	for (unsigned k = 0; k < rows->nrows; k++) {
		int64_t uid = yq_rows_int(rows, k, YQ_ROOM_COLUMNS);
		yq_room_from_row(rows, k, &rm);
		for (size_t i = 0; i < n; i++) {
			struct auth *a = &v[i];
			if (a->uid != uid || a->j->room_id != room_id || a->in_room ||
			    a->rc != WS_CLOSE_NOT_FOUND)
				continue;
			a->in_room = true;
			/* not visible: the room does not exist for this user; visible
			 * (public, or invited/applied to) but not a member: 4403 */
			if (!yq_room_visible(&rm))
				continue;
			if (rm.role == YQ_ROLE_NONE) {
				a->rc = WS_CLOSE_FORBIDDEN;
				continue;
			}
			struct res_auth *ra = &a->r->auth;
			a->r->room_id = room_id;
			ra->role = rm.role;
			ra->keep_chat_history = rm.keep_chat_history;
			ra->sync_playback = rm.sync_playback;
			ra->guest_control = rm.guest_control;
			json_object *o = yq_room_summary_json(&rm);
			ra->room_json = dup_json(o);
			json_object_put(o);
			a->rc = ra->room_json ? 0 : YQ_ENOMEM;
			any = any || !a->rc;
			want_members = want_members || (!a->rc && !a->j->auth.skip_members);
			history_on = rm.keep_chat_history;
		}
	}
	yq_rows_free(rows);
	if (!any)
		return 0;

	/* the member list only when this node does not keep it already: to
	 * the room, before the answers that rely on it */
	if (want_members) {
		struct result *rr = calloc(1, sizeof(*rr));
		if (!rr)
			return YQ_ENOMEM;
		rr->kind = RES_ROOM;
		rr->room_id = room_id;
		if ((rc = YQ_DB_EXEC(db, members, &rows, YQ_PINT(cfg->presence_ttl),
		                     YQ_PINT(room_id))) < 0) {
			free(rr);
			return (int)rc;
		}
		struct res_room *ro = &rr->room;
		for (unsigned i = 0; i < rows->nrows; i++)
			if (members_add(&ro->members, yq_rows_int(rows, i, 0),
			                yq_rows_str(rows, i, 1), yq_rows_str(rows, i, 2),
			                yq_role_parse(yq_rows_str(rows, i, 3)),
			                yq_rows_int(rows, i, 5)) < 0) {
				yq_rows_free(rows);
				result_free(rr);
				return YQ_ENOMEM;
			}
		yq_rows_free(rows);
		ro->pb = pb;
		ro->sync_playback = rm.sync_playback;
		ro->guest_control = rm.guest_control;
		ro->keep_chat_history = rm.keep_chat_history;
		/* jobs come in order: the newest epoch is the last job's */
		for (size_t i = 0; i < n; i++)
			if (!v[i].rc && v[i].j->room_id == room_id)
				ro->epoch = v[i].j->auth.epoch;
		post(rr);
	}

	char *recent = NULL;
	json_object *arr = json_object_new_array();
	if (history_on && nrecent) {
		if ((rc = YQ_DB_EXEC(db, history, &rows, YQ_PINT(room_id), YQ_PINT(nrecent))) < 0) {
			json_object_put(arr);
			return (int)rc;
		}
		for (unsigned i = 0; i < rows->nrows; i++)
			json_object_array_add(arr, yq_chat_json_row(rows, i, 0));
		yq_rows_free(rows);
	}
	recent = dup_json(arr);
	json_object_put(arr);

	for (size_t i = 0; i < n; i++) {
		struct auth *a = &v[i];
		if (a->rc || a->j->room_id != room_id)
			continue;
		struct res_auth *ra = &a->r->auth;
		ra->pb = pb;
		if (!(ra->recent_json = recent ? strdup(recent) : NULL))
			a->rc = YQ_ENOMEM;
	}
	free(recent);
	return 0;
}
/* The notifications a (re)connecting client missed, read for those
 * auth_users found to have any, each with its own limit; two tabs of a
 * user with the same last_notification_id share one read. */
static int
auth_replay(struct yq_db *db, struct auth *v, size_t n)
{
	static const char after[] = "SELECT " YQ_NOTIFICATION_COLUMNS
	                            " FROM notifications WHERE user_id = ? AND id > ? "
	                            "AND deleted_at IS NULL ORDER BY id LIMIT 1000";
	static const char unread[] = "SELECT " YQ_NOTIFICATION_COLUMNS
	                             " FROM notifications WHERE user_id = ? AND status = 'unread' "
	                             "AND deleted_at IS NULL ORDER BY id LIMIT 1000";

	for (size_t i = 0; i < n; i++)
		if (v[i].r)
			v[i].r->auth.replay_after = v[i].j->auth.last_id >= 0;
	for (size_t k = 0; k < n; k++) {
		if (v[k].rc || !v[k].replay || v[k].r->auth.replay)
			continue;
		int64_t uid = v[k].uid, last = v[k].j->auth.last_id;
		struct yq_rows *rows;
		long long rc = last >= 0 ? YQ_DB_EXEC(db, after, &rows, YQ_PINT(uid), YQ_PINT(last))
		                         : YQ_DB_EXEC(db, unread, &rows, YQ_PINT(uid));
		if (rc < 0)
			return (int)rc;
		for (size_t i = k; i < n; i++) {
			struct auth *a = &v[i];
			if (a->rc || !a->replay || a->uid != uid || a->j->auth.last_id != last ||
			    a->r->auth.replay)
				continue;
			struct res_auth *ra = &a->r->auth;
			if (!(ra->replay =
			              calloc(rows->nrows ? rows->nrows : 1, sizeof(*ra->replay)))) {
				a->rc = YQ_ENOMEM;
				continue;
			}
			int64_t now = yq_now_ms();
			for (unsigned r = 0; r < rows->nrows; r++) {
				json_object *m = json_object_new_object();
				json_object *p = yq_notification_json(rows, r);
				bool invite = strcmp(yq_rows_str(rows, r, 1), "room_invite") == 0;
				yq_json_add_str(m, "type",
				                invite ? "invite_notification" : "notification");
				json_object_object_add(m, "payload", p);
				yq_json_add_int(m, "ts", now);
				if ((ra->replay[ra->nreplay] = dup_json(m)))
					ra->nreplay++;
				json_object_put(m);
			}
		}
		yq_rows_free(rows);
	}
	return 0;
}

/* Answer a batch of authentications: each gets its own result, in the
 * order the jobs came.  A database error fails every job still in the
 * running with 1011. */
static void
do_auth_batch(struct yq_db *db, struct job **jobs, size_t n)
{
	struct auth v[AUTH_BATCH] = { 0 };
	int rc = 0;
	/* before anything is read: see hub_send_missed() */
	uint64_t seen = __atomic_load_n(&events_posted, __ATOMIC_SEQ_CST);

	for (size_t i = 0; i < n; i++) {
		struct job *j = jobs[i];
		struct result *r = calloc(1, sizeof(*r));
		v[i] = (struct auth){ .j = j, .r = r, .uid = j->user_id, .rc = r ? 0 : YQ_ENOMEM };
		if (!r)
			continue;
		r->kind = RES_AUTH;
		r->uid = j->uid;
		r->auth.held_room = j->auth.hold_room ? j->room_id : 0;
		r->auth.epoch = j->auth.epoch;
		r->auth.events_seen = seen;
		if (j->text) /* a token: its signature and claims, then its version below */
			v[i].rc = check_token(j, &v[i].uid);
		else if (rc >= 0 && j->auth.by_ticket && (v[i].rc = redeem_ticket(db, &v[i])) < 0)
			rc = v[i].rc;
	}
	if (rc >= 0)
		rc = auth_users(db, v, n);
	for (size_t i = 0; i < n && rc >= 0; i++) {
		int64_t room = v[i].j->room_id;
		bool first = true;
		for (size_t k = 0; k < i && first; k++)
			first = v[k].j->room_id != room;
		if (room && first)
			rc = auth_room(db, H->cfg, H->wc.recent_messages, v, n, room);
	}
	if (rc >= 0)
		rc = auth_replay(db, v, n);
	for (size_t i = 0; i < n; i++) {
		if (!v[i].r)
			continue;
		int s = rc < 0 && !v[i].rc ? rc : v[i].rc;
		v[i].r->auth.status = s < 0 ? WS_CLOSE_INTERNAL : s; /* the database failed */
		post(v[i].r);
	}
}

static void
do_chat(struct yq_db *db, struct job *j)
{
	static const char ins[] =
	        "INSERT INTO chat_messages (room_id, user_id, text) VALUES (?, ?, ?)";
	static const char when[] = "SELECT CAST(UNIX_TIMESTAMP(created_at) * 1000 AS INTEGER) FROM "
	                           "chat_messages WHERE id = ?";
	struct result *r = calloc(1, sizeof(*r));
	struct yq_rows *rows;

	if (!r)
		return;
	r->kind = RES_CHAT_SAVED;
	r->uid = j->uid;
	r->room_id = j->room_id;
	r->user_id = j->user_id;
	yq_strlcpy(r->chat.username, j->chat.username, sizeof(r->chat.username));
	long long n = YQ_DB_EXEC(db, ins, NULL, YQ_PINT(j->room_id), YQ_PINT(j->user_id),
	                         YQ_PSTRN(j->text, j->text_len));
	if (n < 0) {
		yq_warn("chat message in room %lld not stored", (long long)j->room_id);
		r->chat.msg_id = 0;
		r->chat.created_at_ms = yq_now_ms();
	} else {
		r->chat.msg_id = (int64_t)yq_db_insert_id(db);
		n = YQ_DB_EXEC(db, when, &rows, YQ_PINT(r->chat.msg_id));
		r->chat.created_at_ms = n > 0 ? yq_rows_int(rows, 0, 0) : yq_now_ms();
		if (n >= 0)
			yq_rows_free(rows);
	}
	r->chat.text = j->text;
	j->text = NULL;
	memcpy(r->chat.ref, j->chat.ref, sizeof(r->chat.ref));
	post(r);
}

struct pb_tx {
	struct job *j;
	struct yq_playback pb;
	char *payload;
	const char *type;
};

static int
playback_tx(struct yq_db *db, void *arg)
{
	static const char ensure[] = "INSERT IGNORE INTO room_playback (room_id) VALUES (?)";
	static const char current[] = YQ_PLAYBACK_SELECT " FOR UPDATE";
	static const char store[] =
	        "UPDATE room_playback SET media_url = ?, state = ?, position_ms = ?, rate = ?, "
	        "version = ?, updated_at_ms = ? WHERE room_id = ?";
	struct pb_tx *x = arg;
	struct job *j = x->j;
	struct yq_rows *rows;
	long long n = YQ_DB_EXEC(db, ensure, NULL, YQ_PINT(j->room_id));

	if (n < 0 || (n = YQ_DB_EXEC(db, current, &rows, YQ_PINT(j->room_id))) < 0)
		return (int)n;
	if (n == 0) {
		yq_rows_free(rows);
		return YQ_ENOTFOUND;
	}
	yq_playback_from_row(rows, 0, &x->pb);
	yq_rows_free(rows);

	int64_t now = yq_now_ms();
	playback_apply(&x->pb, j->playback.change, now, now + j->playback.lead_ms);
	char rate[32];
	snprintf(rate, sizeof(rate), "%.6f", x->pb.rate);
	n = YQ_DB_EXEC(db, store, NULL, YQ_PSTR(x->pb.media_url),
	               YQ_PSTR(x->pb.playing ? "playing" : "paused"), YQ_PINT(x->pb.position_ms),
	               YQ_PSTR(rate), YQ_PINT(x->pb.version), YQ_PINT(x->pb.updated_at_ms),
	               YQ_PINT(j->room_id));
	if (n < 0)
		return (int)n;
	json_object *ev =
	        playback_event(&x->pb, j->playback.change, j->user_id, j->playback.username);
	free(x->payload);
	x->payload = dup_json(ev);
	json_object_put(ev);
	x->type = j->playback.change->action == PB_SYNC ? "progress_sync" : "play_control";
	/* the other nodes learn it from the queue, in the same transaction */
	return yq_queue_room_text(db, j->room_id, x->type, x->payload, strlen(x->payload),
	                          H->wc.node_id);
}

static void
do_playback(struct yq_db *db, struct job *j)
{
	struct pb_tx x = { .j = j };
	int rc = yq_db_tx(db, playback_tx, &x);
	struct result *r = calloc(1, sizeof(*r));

	if (rc < 0 || !r) {
		yq_warn("playback change in room %lld failed (%d)", (long long)j->room_id, rc);
		free(x.payload);
	}
	if (!r)
		return;
	r->kind = RES_PLAYBACK;
	r->uid = j->uid;
	r->room_id = j->room_id;
	memcpy(r->playback.ref, j->playback.ref, sizeof(r->playback.ref));
	if (rc < 0) { /* nothing changed: its sender is told (playback_done) */
		r->playback.status = rc;
		post(r);
		return;
	}
	r->playback.submitted_ms = j->playback.submitted_ms;
	r->playback.pb = x.pb;
	r->playback.payload = x.payload;
	yq_strlcpy(r->playback.type, x.type, sizeof(r->playback.type));
	post(r);
}

static void
live_nodes(struct yq_db *db)
{
	static const char sql[] = "SELECT DISTINCT node_id FROM presence "
	                          "WHERE seen_at > NOW() - INTERVAL ? SECOND";
	struct yq_rows *rows;
	struct yq_buf b = { 0 };

	if (YQ_DB_EXEC(db, sql, &rows, YQ_PINT(H->cfg->presence_ttl)) < 0)
		return; /* no verdict: nobody is declared dead */
	for (unsigned i = 0; i < rows->nrows; i++)
		yq_buf_printf(&b, "%s\n", yq_rows_str(rows, i, 0));
	yq_rows_free(rows);
	struct result *r = calloc(1, sizeof(*r));
	if (!r) {
		yq_buf_free(&b);
		return;
	}
	r->kind = RES_LIVE_NODES;
	r->live_nodes = b.data ? b.data : strdup("");
	post(r);
}

/* One insert reserves a block; its AUTO_INCREMENT id is unique among
 * every node's (on Galera too, where ids interleave). */
static void
id_block(struct yq_db *db)
{
	static const char sql[] = "INSERT INTO ws_id_blocks (node_id) VALUES (?)";

	struct result *r = calloc(1, sizeof(*r));

	if (!r)
		return;
	r->kind = RES_ID_BLOCK;
	/* 0 on failure: the service thread asks again on its next tick */
	if (YQ_DB_EXEC(db, sql, NULL, YQ_PSTR(H->wc.node_id)) >= 0)
		r->id_block = (uint64_t)yq_db_insert_id(db);
	post(r);
}

static void
run_job(struct yq_db *db, struct job *j)
{
	static const char up[] =
	        "INSERT INTO presence (user_id, node_id, connections) VALUES (?, ?, ?) "
	        "ON DUPLICATE KEY UPDATE connections = VALUES(connections), seen_at = NOW()";
	static const char down[] = "DELETE FROM presence WHERE user_id = ? AND node_id = ?";
	static const char refresh[] = "UPDATE presence SET seen_at = NOW() WHERE node_id = ?";
	const char *node = H->wc.node_id;
	long long n = 0;

	switch (j->kind) {
	case JOB_AUTH: do_auth_batch(db, &j, 1); break;
	case JOB_CHAT: do_chat(db, j); break;
	case JOB_RELAY:
	case JOB_PRESENCE_RELAY: /* do_presence_batch writes those in runs */
		n = yq_queue_room_text(db, j->room_id, j->relay.type, j->text, j->text_len, node);
		break;
	case JOB_PLAYBACK: do_playback(db, j); break;
	case JOB_PRESENCE_UP:
		n = YQ_DB_EXEC(db, up, NULL, YQ_PINT(j->user_id), YQ_PSTR(node),
		               YQ_PINT(j->presence.connections));
		break;
	case JOB_PRESENCE_DOWN:
		n = YQ_DB_EXEC(db, down, NULL, YQ_PINT(j->user_id), YQ_PSTR(node));
		break;
	case JOB_PRESENCE_REFRESH: n = YQ_DB_EXEC(db, refresh, NULL, YQ_PSTR(node)); break;
	case JOB_LIVE_NODES: live_nodes(db); break;
	case JOB_ID_BLOCK: id_block(db); break;
	}
	if (n < 0)
		yq_warn("database job %d failed (%lld)", (int)j->kind, n);
}

/* The presence changes of a batch for the other nodes: one queue row per
 * room, {"changes": [change, ...]} in the order they happened (a join
 * storm's thousand changes were a thousand rows, written eight to a
 * statement: a third of the statements MariaDB ran in the storm, each
 * also read back by every node's tail).  The rooms of a batch go in the
 * order their first change came; only a room's own order matters. */
static void
relay_presence_rows(struct yq_db *db, struct job **jobs, size_t n)
{
	bool done[PRESENCE_BATCH] = { false };
	size_t lost = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (jobs[i]->kind != JOB_PRESENCE_RELAY || done[i])
			continue;
		struct yq_buf b = { 0 };
		size_t k = 0;
		int brc = yq_buf_puts(&b, "{\"changes\":[");
		for (size_t j = i; j < n && brc == 0; j++) {
			if (jobs[j]->kind != JOB_PRESENCE_RELAY || done[j] ||
			    jobs[j]->room_id != jobs[i]->room_id)
				continue;
			done[j] = true;
			k++;
			if (k > 1)
				brc = yq_buf_append(&b, ",", 1);
			if (brc == 0)
				brc = yq_buf_append(&b, jobs[j]->text, jobs[j]->text_len);
		}
		if (brc == 0)
			brc = yq_buf_puts(&b, "]}");
		rc = brc < 0 ? YQ_ENOMEM
		             : yq_queue_room_text(db, jobs[i]->room_id, "presence", b.data, b.len,
		                                  H->wc.node_id);
		if (rc < 0)
			lost += k;
		yq_buf_free(&b);
	}
	if (lost)
		yq_warn("%zu presence changes for the other nodes not queued (%d)", lost, rc);
}

/* Presence jobs in order, the upserts of a run of them (no other job in
 * between) in one statement: a join storm writes one row per joiner.
 * Within a run the last upsert of a user stands, as it would in turn.
 * The rows that tell the other nodes go in first (relay_presence_rows). */
static void
do_presence_batch(struct yq_db *db, struct job **all, size_t nall)
{
	static const char ups[] =
	        "INSERT INTO presence (user_id, node_id, connections) SELECT j.u, ?, j.c "
	        "FROM JSON_TABLE(?, '$[*]' COLUMNS (u BIGINT PATH '$[0]', c INT PATH '$[1]')) AS j "
	        "ON DUPLICATE KEY UPDATE connections = VALUES(connections), seen_at = NOW()";
	struct job *jobs[PRESENCE_BATCH];
	size_t n = 0;

	/* the other nodes' rows and this node's presence table are apart:
	 * each keeps its own order */
	relay_presence_rows(db, all, nall);
	for (size_t i = 0; i < nall; i++)
		if (all[i]->kind != JOB_PRESENCE_RELAY)
			jobs[n++] = all[i];
	for (size_t i = 0; i < n;) {
		if (jobs[i]->kind != JOB_PRESENCE_UP || i + 1 == n ||
		    jobs[i + 1]->kind != JOB_PRESENCE_UP) {
			run_job(db, jobs[i++]);
			continue;
		}
		size_t end = i;
		while (end < n && jobs[end]->kind == JOB_PRESENCE_UP)
			end++;
		struct yq_buf b = { 0 };
		bool any = false;
		yq_buf_puts(&b, "[");
		for (size_t k = i; k < end; k++) {
			bool later = false; /* superseded by a later upsert of the user */
			for (size_t l = k + 1; l < end && !later; l++)
				later = jobs[l]->user_id == jobs[k]->user_id;
			if (!later)
				yq_buf_printf(&b, "%s[%lld,%d]", any ? "," : "",
				              (long long)jobs[k]->user_id,
				              jobs[k]->presence.connections);
			any = any || !later;
		}
		long long rc = yq_buf_puts(&b, "]") < 0
		                       ? YQ_ENOMEM
		                       : YQ_DB_EXEC(db, ups, NULL, YQ_PSTR(H->wc.node_id),
		                                    YQ_PSTR(b.data));
		if (rc < 0)
			yq_warn("presence of %zu users not stored (%lld)", end - i, rc);
		yq_buf_free(&b);
		i = end;
	}
}

static bool
is_stopping(void)
{
	return __atomic_load_n(&stopping, __ATOMIC_ACQUIRE);
}

/* Move jobs from q's head to batch[n..max) (q locked): the new n. */
static size_t
take(struct jobq_state *q, struct job **batch, size_t n, size_t max)
{
	while (q->head && n < max) {
		struct job *j = q->head;
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
		batch[n++] = j;
	}
	return n;
}

/* Room jobs one at a time, in order; authentications and presence rows as
 * many as are waiting (up to AUTH_BATCH, PRESENCE_BATCH) in one batch.  An
 * auth thread that finds more than one connect waiting (a burst) waits
 * AUTH_GATHER_US for more before it asks: a lone connect never waits, and
 * in a storm of 1,000 the batches grow from ~7 to dozens, each statement
 * of a batch costing MariaDB about what it costs for one (parse,
 * optimise).  The presence thread, finding PRESENCE_BURST jobs or more,
 * waits PRESENCE_GATHER_US: a storm of 1,000 joins took 147 upserts and
 * 144 queue rows for the other nodes (most of one change each), two thirds
 * of MariaDB's statements in it (doc/benchmarks.md, session 14).  A lone
 * join (two jobs) is written at once: the other nodes' snapshots read it. */
#define AUTH_GATHER_US     1000
#define PRESENCE_BURST     8
#define PRESENCE_GATHER_US 20000
static void *
worker_main(void *arg)
{
	struct jobq_state *q = arg;
	struct yq_db *db = yq_db_new(H->cfg);
	bool auth = q == &queues[JOBQ_AUTH], presence = q == &queues[JOBQ_PRESENCE];
	struct job *batch[PRESENCE_BATCH];

	yq_log_set_reqid(auth ? "dbauth" : presence ? "dbpresence" : "dbworker");
	for (;;) {
		size_t n = 0;
		pthread_mutex_lock(&q->lock);
		while (!q->head && !is_stopping())
			pthread_cond_wait(&q->more, &q->lock);
		size_t max = auth ? AUTH_BATCH : presence ? PRESENCE_BATCH : 1;
		n = take(q, batch, n, max);
		long gather_us = auth && n > 1                     ? AUTH_GATHER_US
		                 : presence && n >= PRESENCE_BURST ? PRESENCE_GATHER_US
		                                                   : 0;
		if (gather_us && n < max && !is_stopping()) {
			/* a burst: let it gather a moment, each statement
			 * then answers more of it */
			pthread_mutex_unlock(&q->lock);
			struct timespec ts = { 0, gather_us * 1000 };
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&q->lock);
			n = take(q, batch, n, max);
		}
		pthread_mutex_unlock(&q->lock);
		if (!n)
			break; /* stopping, and nothing left */
		if (auth)
			do_auth_batch(db, batch, n);
		else if (presence)
			do_presence_batch(db, batch, n);
		else
			run_job(db, batch[0]);
		yq_wake_after(H->cfg, db); /* the other nodes read what we queued */
		for (size_t i = 0; i < n; i++)
			job_free(batch[i]);
		__atomic_sub_fetch(&q->pending, (unsigned)n, __ATOMIC_RELAXED);
	}
	yq_db_free(db);
	return NULL;
}

/* ---- the queue tail ---- */

/* Quiet when idle: the first empty polls wait queue.poll_ms, then the
 * wait doubles up to ws.queue_poll_idle_ms while this node has
 * connections (an event then waits at most that long), and up to a
 * second while it has none.  With ws.wake_listen the writers say when
 * there is something to read (wake.h): the wait then ends at once on a
 * datagram and backs off to TAIL_WOKEN_IDLE_MS (100 ms) instead of
 * ws.queue_poll_idle_ms.  dbworker_tail_kick() (a first
 * connection, the stop) ends a wait at once. */
static int tail_kick_fd[2] = { -1, -1 }; /* a pipe: a kick is never lost */
/* Woken, the tail still polls this often while idle: nobody wakes it when
 * a queue gap's grace runs out (a rolled-back transaction's id), and a
 * datagram may be lost. */
#define TAIL_WOKEN_IDLE_MS 100
static int tail_wake_fd = -1;

static void
tail_wait(unsigned *idle_ms, unsigned *last)
{
	unsigned lo = H->cfg->queue_poll_ms ? H->cfg->queue_poll_ms : 1;
	bool conns = __atomic_load_n(&H->live_conns, __ATOMIC_RELAXED) != 0;
	unsigned hi = !conns              ? 1000
	              : tail_wake_fd >= 0 ? TAIL_WOKEN_IDLE_MS
	                                  : H->wc.queue_poll_idle_ms;
	/* a second at the floor before backing off: a conversation's next
	 * message usually comes soon (with wake-ups there is no need) */
	unsigned ms = tail_wake_fd < 0 && *idle_ms < 1000 ? lo : *last ? *last * 2 : lo;

	if (hi < lo)
		hi = lo;
	if (ms > hi)
		ms = hi;
	*last = ms;
	struct pollfd p[2] = { { .fd = tail_kick_fd[0], .events = POLLIN },
		               { .fd = tail_wake_fd, .events = POLLIN } };
	int64_t t0 = yq_mono_ms();
	if (!is_stopping() && poll(p, tail_wake_fd >= 0 ? 2 : 1, (int)ms) > 0) {
		if (p[0].revents & POLLIN) {
			char buf[64];
			while (read(tail_kick_fd[0], buf, sizeof(buf)) > 0) {
			}
		}
		if (tail_wake_fd >= 0 && (p[1].revents & POLLIN) && yq_wake_drain(tail_wake_fd)) {
			*last = 0; /* something came: poll at the floor again */
			__atomic_add_fetch(&tail_wakeups, 1, __ATOMIC_RELAXED);
			/* but not more often than that, whoever sends datagrams */
			int64_t since = yq_mono_ms() - t0;
			if (since < (int64_t)lo && !is_stopping())
				usleep((useconds_t)(lo - since) * 1000);
		}
	}
	*idle_ms += (unsigned)(yq_mono_ms() - t0);
}

void
dbworker_tail_kick(void)
{
	if (tail_kick_fd[1] >= 0)
		(void)!write(tail_kick_fd[1], "k", 1);
}

static void *
tail_main(void *arg)
{
	unsigned idle_ms = 0, last_wait = 0; /* ms idle so far, the last wait */
	struct yq_db *db = yq_db_new(H->cfg);
	struct yq_queue_reader rd;
	unsigned long long head = 0;
	(void)arg;

	yq_log_set_reqid("queue");
	while (!is_stopping() && yq_queue_head(db, &head) < 0)
		sleep(1);
	yq_queue_reader_init(&rd, head, H->cfg->queue_grace_ms, H->cfg->queue_batch);
	yq_info("tailing the event queue after id %llu", head);
	while (!is_stopping()) {
		struct yq_event *ev;
		int n = yq_queue_poll(db, &rd, &ev);
		if (n < 0) {
			usleep(200000);
			continue;
		}
		if (n < (int)H->cfg->queue_batch)
			__atomic_store_n(&tail_caught_up_ms, yq_mono_ms(), __ATOMIC_RELAXED);
		if (n == 0) {
			tail_wait(&idle_ms, &last_wait);
			continue;
		}
		idle_ms = last_wait = 0;
		struct result *r = calloc(1, sizeof(*r));
		if (!r) {
			yq_events_free(ev, (unsigned)n);
			continue;
		}
		r->kind = RES_EVENTS;
		r->events.v = ev;
		r->events.n = (unsigned)n;
		post(r);
		__atomic_add_fetch(&events_posted, (uint64_t)n, __ATOMIC_SEQ_CST);
	}
	yq_queue_reader_free(&rd);
	yq_db_free(db);
	return NULL;
}

static void
cleanup_presence(void)
{
	static const char sql[] = "DELETE FROM presence WHERE node_id = ?";
	struct yq_db *db = yq_db_new(H->cfg);

	if (YQ_DB_EXEC(db, sql, NULL, YQ_PSTR(H->wc.node_id)) < 0)
		yq_warn("could not clear this node's old presence rows");
	yq_db_free(db);
}

int
dbworker_start(struct hub *h)
{
	H = h;
	cleanup_presence();
	queues[JOBQ_AUTH].nthreads = h->wc.auth_workers;
	queues[JOBQ_ROOM].nthreads = 1;     /* room jobs keep their order */
	queues[JOBQ_PRESENCE].nthreads = 1; /* and so do presence rows */
	for (int q = 0; q < JOBQ_COUNT; q++)
		for (unsigned i = 0; i < queues[q].nthreads; i++)
			if (pthread_create(&queues[q].threads[i], NULL, worker_main, &queues[q]) !=
			    0) {
				queues[q].nthreads = i;
				return -1;
			}
	if (pipe2(tail_kick_fd, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	if (h->cfg->ws_wake_listen[0]) {
		if ((tail_wake_fd = yq_wake_listen(h->cfg->ws_wake_listen)) < 0)
			return -1;
		yq_info("the queue tail is woken on udp %s", h->cfg->ws_wake_listen);
	}
	if (pthread_create(&tail_thread, NULL, tail_main, NULL) != 0)
		return -1;
	return 0;
}

uint64_t
dbworker_tail_wakeups(void)
{
	return __atomic_load_n(&tail_wakeups, __ATOMIC_RELAXED);
}

void
dbworker_stop(void)
{
	for (int q = 0; q < JOBQ_COUNT; q++) {
		pthread_mutex_lock(&queues[q].lock);
		__atomic_store_n(&stopping, true, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&queues[q].more);
		pthread_mutex_unlock(&queues[q].lock);
	}
	dbworker_tail_kick();
	for (int q = 0; q < JOBQ_COUNT; q++)
		for (unsigned i = 0; i < queues[q].nthreads; i++)
			pthread_join(queues[q].threads[i], NULL);
	pthread_join(tail_thread, NULL);
	for (int i = 0; i < 2; i++)
		if (tail_kick_fd[i] >= 0)
			close(tail_kick_fd[i]);
	if (tail_wake_fd >= 0)
		close(tail_wake_fd);
	tail_kick_fd[0] = tail_kick_fd[1] = tail_wake_fd = -1;
	cleanup_presence();
	struct result *r = dbworker_results();
	while (r) {
		struct result *nx = r->next;
		result_free(r);
		r = nx;
	}
}
