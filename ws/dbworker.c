/*
 * dbworker.c - everything yiqikan-ws asks of MariaDB, off the service
 * thread.
 *
 * One worker thread takes jobs in order from a locked FIFO (so a chat
 * message is stored and relayed in the order it was sent) on its own
 * connection; a second thread tails the event queue with the reader of
 * src/core/queue.c.  Both hand results back through one locked list and
 * wake the service thread with lws_cancel_service().  Nothing here touches
 * a connection or a room: results carry ids.
 */
#include "config.h"

#include "core/db.h"
#include "core/json.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/token.h"
#include "core/util.h"
#include "ws/ws.h"

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
	[JOBQ_AUTH] = { PTHREAD_MUTEX_INITIALIZER,
	                PTHREAD_COND_INITIALIZER,
	                NULL,
	                NULL,
	                0,
	                0,
	                { 0 } },
	[JOBQ_ROOM] = { PTHREAD_MUTEX_INITIALIZER,
	                PTHREAD_COND_INITIALIZER,
	                NULL,
	                NULL,
	                0,
	                0,
	                { 0 } },
};
static pthread_mutex_t rlock = PTHREAD_MUTEX_INITIALIZER;
static struct result *results_head, *results_tail;
static bool stopping; /* under each queue's lock and tail_lock */
static pthread_t tail_thread;
static pthread_mutex_t tail_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tail_wake = PTHREAD_COND_INITIALIZER;
static int64_t tail_caught_up_ms; /* atomic: mono ms of the last poll that reached the head */
static struct hub *H;

/* Authentication runs apart from room traffic: its jobs are independent
 * (any order, several at once), room jobs keep the order they were sent
 * in (one thread). */
static enum jobq
queue_of(const struct job *j)
{
	return j->kind == JOB_AUTH ? JOBQ_AUTH : JOBQ_ROOM;
}

const char *
dbworker_queue_name(int q)
{
	return q == JOBQ_AUTH ? "auth" : "room";
}

unsigned
dbworker_queued(int q)
{
	return __atomic_load_n(&queues[q].pending, __ATOMIC_RELAXED);
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
 * empty (it takes the whole list at once), one wake-up per batch. */
static void
post(struct result *r)
{
	r->next = NULL;
	pthread_mutex_lock(&rlock);
	bool wake = !results_head;
	if (results_tail)
		results_tail->next = r;
	else
		results_head = r;
	results_tail = r;
	pthread_mutex_unlock(&rlock);
	if (wake)
		lws_cancel_service(H->ctx);
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
	free(r->room_json);
	members_free(&r->members);
	free(r->avatar_url);
	free(r->recent_json);
	for (size_t i = 0; i < r->nreplay; i++)
		free(r->replay[i]);
	free(r->replay);
	free(r->text);
	yq_events_free(r->events, r->nevents);
	free(r);
}

static void
job_free(struct job *j)
{
	free(j->change);
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

/* ---- authentication and the room snapshot ---- */

static int
auth_user(struct yq_db *db, struct job *j, struct result *r)
{
	static const char redeem[] =
	        "UPDATE ws_tickets SET used_at = NOW() "
	        "WHERE ticket_hash = ? AND used_at IS NULL AND expires_at > NOW()";
	static const char ticket_user[] = "SELECT user_id FROM ws_tickets WHERE ticket_hash = ?";
	static const char user[] =
	        "SELECT id, username, token_version, avatar_url FROM users WHERE id = ?";
	struct yq_rows *rows;
	long long n;
	int64_t uid = j->user_id;

	if (j->flag) { /* a ticket: single use, 30 s */
		/* read before spending it: on Galera db.sync_wait = 1 makes
		 * reads wait for what the cluster has committed, not UPDATEs,
		 * and the ticket was written by REST on another node a moment
		 * ago (doc/scaling.md, causal reads) */
		if ((n = YQ_DB_EXEC(db, ticket_user, &rows, YQ_PSTR(j->secret))) < 0)
			return (int)n;
		uid = n ? yq_rows_int(rows, 0, 0) : 0;
		yq_rows_free(rows);
		if (uid == 0)
			return WS_CLOSE_BAD_TOKEN;
		if ((n = YQ_DB_EXEC(db, redeem, NULL, YQ_PSTR(j->secret))) < 0)
			return (int)n;
		if (n == 0)
			return WS_CLOSE_BAD_TOKEN;
	}
	if ((n = YQ_DB_EXEC(db, user, &rows, YQ_PINT(uid))) < 0)
		return (int)n;
	bool ok = n == 1 && (j->flag || j->recheck || yq_rows_int(rows, 0, 2) == j->num);
	if (ok) {
		r->user_id = yq_rows_int(rows, 0, 0);
		yq_strlcpy(r->username, yq_rows_str(rows, 0, 1), sizeof(r->username));
		r->avatar_url = strdup(yq_rows_str(rows, 0, 3));
	}
	yq_rows_free(rows);
	return ok ? 0 : WS_CLOSE_BAD_TOKEN;
}

static int
auth_room(struct yq_db *db, const struct yq_config *cfg, unsigned recent, struct job *j,
          struct result *r)
{
	static const char room[] = YQ_ROOM_SELECT("") "WHERE r.id = ?";
	static const char playback[] = YQ_PLAYBACK_SELECT;
	static const char members[] = YQ_ROOM_MEMBERS_SELECT;
	/* the newest messages by ix_chat_room first, then their authors */
	static const char history[] =
	        "SELECT t.id, t.room_id, t.user_id, u.username, t.text, t.created_at_ms FROM ("
	        "SELECT c.id, c.room_id, c.user_id, c.text, "
	        "CAST(UNIX_TIMESTAMP(c.created_at) * 1000 AS INTEGER) AS created_at_ms "
	        "FROM chat_messages c WHERE c.room_id = ? ORDER BY c.id DESC LIMIT ?) t "
	        "STRAIGHT_JOIN users u ON u.id = t.user_id ORDER BY t.id";
	struct yq_rows *rows;
	struct yq_room rm;
	long long n = YQ_DB_EXEC(db, room, &rows, YQ_PINT(r->user_id), YQ_PINT(r->user_id),
	                         YQ_PINT(r->user_id), YQ_PINT(j->room_id));

	if (n < 0)
		return (int)n;
	if (n == 0) {
		yq_rows_free(rows);
		return WS_CLOSE_NOT_FOUND;
	}
	yq_room_from_row(rows, 0, &rm);
	yq_rows_free(rows);
	/* not visible: the room does not exist for this user; visible
	 * (public, or invited/applied to) but not a member: 4403 */
	if (!yq_room_visible(&rm))
		return WS_CLOSE_NOT_FOUND;
	if (rm.role == YQ_ROLE_NONE)
		return WS_CLOSE_FORBIDDEN;
	r->role = rm.role;
	r->room_id = j->room_id;
	r->keep_chat_history = rm.keep_chat_history;
	r->sync_playback = rm.sync_playback;
	r->guest_control = rm.guest_control;
	json_object *o = yq_room_summary_json(&rm);
	r->room_json = dup_json(o);
	json_object_put(o);

	if ((n = YQ_DB_EXEC(db, playback, &rows, YQ_PINT(j->room_id))) < 0)
		return (int)n;
	yq_playback_from_row(rows, 0, &r->pb);
	yq_rows_free(rows);
	playback_sanitize(&r->pb, yq_now_ms()); /* a stored row may hold anything */

	/* the member list only when this node does not keep it already */
	if (!j->skip_members) {
		if ((n = YQ_DB_EXEC(db, members, &rows, YQ_PINT(cfg->presence_ttl),
		                    YQ_PINT(j->room_id))) < 0)
			return (int)n;
		for (unsigned i = 0; i < rows->nrows; i++)
			if (members_add(&r->members, yq_rows_int(rows, i, 0),
			                yq_rows_str(rows, i, 1), yq_rows_str(rows, i, 2),
			                yq_role_parse(yq_rows_str(rows, i, 3)),
			                yq_rows_int(rows, i, 5)) < 0) {
				yq_rows_free(rows);
				return YQ_ENOMEM;
			}
		yq_rows_free(rows);
		r->has_members = true;
	}

	json_object *a = json_object_new_array();
	if (r->keep_chat_history && recent) {
		if ((n = YQ_DB_EXEC(db, history, &rows, YQ_PINT(j->room_id), YQ_PINT(recent))) <
		    0) {
			json_object_put(a);
			return (int)n;
		}
		for (unsigned i = 0; i < rows->nrows; i++)
			json_object_array_add(a, yq_chat_json_row(rows, i, 0));
		yq_rows_free(rows);
	}
	r->recent_json = dup_json(a);
	json_object_put(a);
	return 0;
}

/* The notifications a (re)connecting client missed: every undeleted one
 * after last_notification_id, or without it all unread ones. */
static int
auth_replay(struct yq_db *db, struct job *j, struct result *r)
{
	static const char after[] = "SELECT " YQ_NOTIFICATION_COLUMNS
	                            " FROM notifications WHERE user_id = ? AND id > ? "
	                            "AND deleted_at IS NULL ORDER BY id LIMIT 1000";
	static const char unread[] = "SELECT " YQ_NOTIFICATION_COLUMNS
	                             " FROM notifications WHERE user_id = ? AND status = 'unread' "
	                             "AND deleted_at IS NULL ORDER BY id LIMIT 1000";
	struct yq_rows *rows;
	long long n = j->last_id >= 0 ? YQ_DB_EXEC(db, after, &rows, YQ_PINT(r->user_id),
	                                           YQ_PINT(j->last_id))
	                              : YQ_DB_EXEC(db, unread, &rows, YQ_PINT(r->user_id));

	if (n < 0)
		return (int)n;
	r->replay_after = j->last_id >= 0;
	r->replay = calloc(rows->nrows ? rows->nrows : 1, sizeof(*r->replay));
	int64_t now = yq_now_ms();
	for (unsigned i = 0; r->replay && i < rows->nrows; i++) {
		json_object *m = json_object_new_object();
		json_object *p = yq_notification_json(rows, i);
		bool invite = strcmp(yq_rows_str(rows, i, 1), "room_invite") == 0;
		yq_json_add_str(m, "type", invite ? "invite_notification" : "notification");
		json_object_object_add(m, "payload", p);
		yq_json_add_int(m, "ts", now);
		r->replay[r->nreplay++] = dup_json(m);
		json_object_put(m);
	}
	yq_rows_free(rows);
	return 0;
}

static void
do_auth(struct yq_db *db, struct job *j)
{
	struct result *r = calloc(1, sizeof(*r));

	if (!r)
		return;
	r->kind = RES_AUTH;
	r->uid = j->uid;
	r->held_room = j->hold_room ? j->room_id : 0;
	int rc = auth_user(db, j, r);
	if (rc == 0 && j->room_id)
		rc = auth_room(db, H->cfg, H->wc.recent_messages, j, r);
	if (rc == 0)
		rc = auth_replay(db, j, r);
	r->status = rc < 0 ? 1011 : rc; /* 1011: internal error (database) */
	post(r);
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
	yq_strlcpy(r->username, j->username, sizeof(r->username));
	long long n = YQ_DB_EXEC(db, ins, NULL, YQ_PINT(j->room_id), YQ_PINT(j->user_id),
	                         YQ_PSTRN(j->text, j->text_len));
	if (n < 0) {
		yq_warn("chat message in room %lld not stored", (long long)j->room_id);
		r->msg_id = 0;
		r->created_at_ms = yq_now_ms();
	} else {
		r->msg_id = (int64_t)yq_db_insert_id(db);
		n = YQ_DB_EXEC(db, when, &rows, YQ_PINT(r->msg_id));
		r->created_at_ms = n > 0 ? yq_rows_int(rows, 0, 0) : yq_now_ms();
		if (n >= 0)
			yq_rows_free(rows);
	}
	r->text = j->text;
	j->text = NULL;
	memcpy(r->ref, j->ref, sizeof(r->ref));
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
	playback_apply(&x->pb, j->change, now, now + j->lead_ms);
	char rate[32];
	snprintf(rate, sizeof(rate), "%.6f", x->pb.rate);
	n = YQ_DB_EXEC(db, store, NULL, YQ_PSTR(x->pb.media_url),
	               YQ_PSTR(x->pb.playing ? "playing" : "paused"), YQ_PINT(x->pb.position_ms),
	               YQ_PSTR(rate), YQ_PINT(x->pb.version), YQ_PINT(x->pb.updated_at_ms),
	               YQ_PINT(j->room_id));
	if (n < 0)
		return (int)n;
	json_object *ev = playback_event(&x->pb, j->change, j->user_id, j->username);
	free(x->payload);
	x->payload = dup_json(ev);
	json_object_put(ev);
	x->type = j->change->action == PB_SYNC ? "progress_sync" : "play_control";
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
	memcpy(r->ref, j->ref, sizeof(r->ref));
	if (rc < 0) { /* nothing changed: its sender is told (playback_done) */
		r->status = rc;
		post(r);
		return;
	}
	r->submitted_ms = j->submitted_ms;
	r->pb = x.pb;
	r->text = x.payload;
	yq_strlcpy(r->type, x.type, sizeof(r->type));
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
	r->text = b.data ? b.data : strdup("");
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
		r->msg_id = (int64_t)yq_db_insert_id(db);
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
	case JOB_AUTH: do_auth(db, j); break;
	case JOB_CHAT: do_chat(db, j); break;
	case JOB_RELAY:
		n = yq_queue_room_text(db, j->room_id, j->type, j->text, j->text_len, node);
		break;
	case JOB_PLAYBACK: do_playback(db, j); break;
	case JOB_PRESENCE_UP:
		n = YQ_DB_EXEC(db, up, NULL, YQ_PINT(j->user_id), YQ_PSTR(node), YQ_PINT(j->num));
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

static void *
worker_main(void *arg)
{
	struct jobq_state *q = arg;
	struct yq_db *db = yq_db_new(H->cfg);

	yq_log_set_reqid(q == &queues[JOBQ_AUTH] ? "dbauth" : "dbworker");
	for (;;) {
		pthread_mutex_lock(&q->lock);
		while (!q->head && !stopping)
			pthread_cond_wait(&q->more, &q->lock);
		struct job *j = q->head;
		if (j) {
			q->head = j->next;
			if (!q->head)
				q->tail = NULL;
		}
		bool stop = stopping && !j;
		pthread_mutex_unlock(&q->lock);
		if (stop)
			break;
		run_job(db, j);
		job_free(j);
		__atomic_sub_fetch(&q->pending, 1, __ATOMIC_RELAXED);
	}
	yq_db_free(db);
	return NULL;
}

/* ---- the queue tail ---- */

/* Quiet when idle: the first empty polls wait queue.poll_ms, then the
 * wait doubles up to ws.queue_poll_idle_ms while this node has
 * connections (an event then waits at most that long), and up to a
 * second while it has none; dbworker_tail_kick() (a first connection)
 * ends a wait at once. */
static void
tail_wait(unsigned *idle_ms, unsigned *last)
{
	unsigned lo = H->cfg->queue_poll_ms ? H->cfg->queue_poll_ms : 1;
	unsigned hi =
	        __atomic_load_n(&H->live_conns, __ATOMIC_RELAXED) ? H->wc.queue_poll_idle_ms : 1000;
	/* a second at the floor before backing off: a conversation's next
	 * message usually comes soon */
	unsigned ms = *idle_ms < 1000 ? lo : *last * 2;

	if (hi < lo)
		hi = lo;
	if (ms > hi)
		ms = hi;
	*last = ms;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&tail_lock);
	if (!stopping)
		pthread_cond_timedwait(&tail_wake, &tail_lock, &ts);
	pthread_mutex_unlock(&tail_lock);
	*idle_ms += ms;
}

void
dbworker_tail_kick(void)
{
	pthread_mutex_lock(&tail_lock);
	pthread_cond_signal(&tail_wake);
	pthread_mutex_unlock(&tail_lock);
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
	while (!stopping && yq_queue_head(db, &head) < 0)
		sleep(1);
	yq_queue_reader_init(&rd, head, H->cfg->queue_grace_ms, H->cfg->queue_batch);
	yq_info("tailing the event queue after id %llu", head);
	while (!stopping) {
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
		idle_ms = 0;
		struct result *r = calloc(1, sizeof(*r));
		if (!r) {
			yq_events_free(ev, (unsigned)n);
			continue;
		}
		r->kind = RES_EVENTS;
		r->events = ev;
		r->nevents = (unsigned)n;
		post(r);
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
	queues[JOBQ_ROOM].nthreads = 1; /* room jobs keep their order */
	for (int q = 0; q < JOBQ_COUNT; q++)
		for (unsigned i = 0; i < queues[q].nthreads; i++)
			if (pthread_create(&queues[q].threads[i], NULL, worker_main, &queues[q]) !=
			    0) {
				queues[q].nthreads = i;
				return -1;
			}
	if (pthread_create(&tail_thread, NULL, tail_main, NULL) != 0)
		return -1;
	return 0;
}

void
dbworker_stop(void)
{
	for (int q = 0; q < JOBQ_COUNT; q++) {
		pthread_mutex_lock(&queues[q].lock);
		stopping = true;
		pthread_cond_broadcast(&queues[q].more);
		pthread_mutex_unlock(&queues[q].lock);
	}
	dbworker_tail_kick();
	for (int q = 0; q < JOBQ_COUNT; q++)
		for (unsigned i = 0; i < queues[q].nthreads; i++)
			pthread_join(queues[q].threads[i], NULL);
	pthread_join(tail_thread, NULL);
	cleanup_presence();
	struct result *r = dbworker_results();
	while (r) {
		struct result *nx = r->next;
		result_free(r);
		r = nx;
	}
}
