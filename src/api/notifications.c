/*
 * notifications.c - SPEC section 4: the caller's notifications.
 *
 * Every statement carries "AND user_id = ?" with the caller's id, so
 * someone else's notification is indistinguishable from a missing one
 * (404) and is never touched.  Listing pages by id (keyset), newest first.
 */
#include "config.h"

#include "api/handlers.h"
#include "core/json.h"
#include "core/notify.h"

#include <stdio.h>
#include <string.h>

/* ?status=unread|read|all, default all; NULL after recording a 422. */
static const char *
status_param(struct yq_req *r)
{
	const struct yq_kv *kv = yq_form_get(&r->query, "status");

	if (!kv)
		return "all";
	if (strcmp(kv->value, "unread") == 0 || strcmp(kv->value, "read") == 0 ||
	    strcmp(kv->value, "all") == 0)
		return kv->value;
	yq_http_invalid(r, "query", "status", "enum", "Input should be 'unread', 'read' or 'all'");
	return NULL;
}

/* GET /notifications/: the page and the unread count in one round trip
 * (the count joined to the page, so it comes even with an empty page). */
int
h_notifications_list(struct yq_req *r)
{
	/* two statements, so that each reads its own index in id order:
	 * (user_id, deleted_at, id) for all, (user_id, status, deleted_at, id)
	 * for one status */
#define COUNT_AND_PAGE(filter)                                                     \
	"SELECT n.*, c.unread FROM (SELECT COUNT(*) AS unread FROM notifications " \
	"WHERE user_id = ? AND status = 'unread' AND deleted_at IS NULL) c "       \
	"LEFT JOIN (SELECT " YQ_NOTIFICATION_COLUMNS " FROM notifications "        \
	"WHERE user_id = ? AND deleted_at IS NULL AND id < ? " filter              \
	" ORDER BY id DESC LIMIT ?) n ON 1 ORDER BY n.id DESC"
	static const char all[] = COUNT_AND_PAGE("AND ? = 'all'");
	static const char one[] = COUNT_AND_PAGE("AND status = ?");
#undef COUNT_AND_PAGE
	long long limit, before;
	const char *status = status_param(r);

	yq_query_page(r, true, &limit, &before);
	if (yq_http_invalid_done(r) < 0)
		return -1;

	struct yq_rows *rows;
	long long n = YQ_DB_EXEC(r->db, strcmp(status, "all") == 0 ? all : one, &rows,
	                         YQ_PINT(r->user->id), YQ_PINT(r->user->id), YQ_PINT(before),
	                         YQ_PSTR(status), YQ_PINT(limit + 1));
	if (n < 0)
		return yq_http_fail(r, (int)n);
	long long unread = rows->nrows ? yq_rows_int(rows, 0, rows->ncols - 1) : 0;
	if (rows->nrows && !yq_rows_str(rows, 0, 0))
		rows->nrows = 0; /* an empty page: only the count came back */
	json_object *o = yq_page_json(rows, limit, yq_notification_json);
	yq_json_add_int(o, "unread_count", unread);
	rows->nrows = (unsigned)n; /* so yq_rows_free sees every cell */
	yq_rows_free(rows);
	return yq_http_json(r, 200, o);
}

/* PUT /notifications/{id}/read */
int
h_notifications_read(struct yq_req *r)
{
	static const char upd[] =
	        "UPDATE notifications SET status = 'read', read_at = COALESCE(read_at, NOW()) "
	        "WHERE id = ? AND user_id = ? AND deleted_at IS NULL";
	static const char get[] = "SELECT " YQ_NOTIFICATION_COLUMNS " FROM notifications "
	                          "WHERE id = ? AND user_id = ? AND deleted_at IS NULL";
	struct yq_rows *rows;

	long long n = YQ_DB_EXEC(r->db, upd, NULL, YQ_PINT(r->ids[0]), YQ_PINT(r->user->id));
	if (n == 0)
		return yq_http_error(r, 404, "Notification not found");
	if (n < 0 ||
	    (n = YQ_DB_EXEC(r->db, get, &rows, YQ_PINT(r->ids[0]), YQ_PINT(r->user->id))) < 0)
		return yq_http_fail(r, (int)n);
	if (n == 0) { /* deleted between the two statements */
		yq_rows_free(rows);
		return yq_http_error(r, 404, "Notification not found");
	}
	json_object *o = yq_notification_json(rows, 0);
	yq_rows_free(rows);
	return yq_http_json(r, 200, o);
}

/* PUT /notifications/read-all */
int
h_notifications_read_all(struct yq_req *r)
{
	static const char upd[] = "UPDATE notifications SET status = 'read', read_at = NOW() "
	                          "WHERE user_id = ? AND status = 'unread' AND deleted_at IS NULL";
	long long n = YQ_DB_EXEC(r->db, upd, NULL, YQ_PINT(r->user->id));

	if (n < 0)
		return yq_http_fail(r, (int)n);
	json_object *o = json_object_new_object();
	yq_json_add_int(o, "updated", n);
	return yq_http_json(r, 200, o);
}

/* DELETE /notifications/{id} (soft) */
int
h_notifications_delete(struct yq_req *r)
{
	static const char del[] = "UPDATE notifications SET deleted_at = NOW() "
	                          "WHERE id = ? AND user_id = ? AND deleted_at IS NULL";
	long long n = YQ_DB_EXEC(r->db, del, NULL, YQ_PINT(r->ids[0]), YQ_PINT(r->user->id));

	if (n < 0)
		return yq_http_fail(r, (int)n);
	if (n == 0)
		return yq_http_error(r, 404, "Notification not found");
	return yq_http_empty(r, 204);
}

/* DELETE /notifications/clear[?status=read|unread|all] */
int
h_notifications_clear(struct yq_req *r)
{
	static const char del[] =
	        "UPDATE notifications SET deleted_at = NOW() "
	        "WHERE user_id = ? AND deleted_at IS NULL AND (? = 'all' OR status = ?)";
	const char *status = status_param(r);

	if (yq_http_invalid_done(r) < 0)
		return -1;
	long long n = YQ_DB_EXEC(r->db, del, NULL, YQ_PINT(r->user->id), YQ_PSTR(status),
	                         YQ_PSTR(status));
	if (n < 0)
		return yq_http_fail(r, (int)n);
	return yq_http_empty(r, 204);
}
