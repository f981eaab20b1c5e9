/*
 * handlers.h - every REST handler, grouped by resource, and the helpers
 * they share.  routes.c binds them to (method, path).
 */
#ifndef YQ_HANDLERS_H
#define YQ_HANDLERS_H

#include "api/http.h"
#include "api/router.h"

extern const struct yq_route yq_routes[];
extern const size_t yq_nroutes;

/* auth.c: bearer authentication for YQ_ROUTE_AUTH routes. */
int yq_auth_require(struct yq_req *r);

/* users.c: the user row shared by auth and the users endpoints. */
int yq_user_load(struct yq_req *r, long long id, struct yq_user *u);
int yq_user_find_login(struct yq_req *r, const char *name, struct yq_user *u);
json_object *yq_user_json(const struct yq_user *u, bool with_email);

/* auth.c: the bucket of the per-account login throttle (login and the
 * current-password check of PUT /users/me share it).  With u, the account
 * ("user:<id>"), so every spelling that reaches it - any case, trailing
 * spaces, its email - counts against one bucket.  Without (no such account),
 * the name as the ascii_general_ci columns compare it: ASCII case folded,
 * trailing spaces dropped ("name:<folded>"), so unknown names are throttled
 * exactly like known ones and a 429 tells nothing about existence. */
void yq_login_key(struct yq_buf *out, const struct yq_user *u, const char *name);

/* Answer 429 with Retry-After when a rate-limit check said wait > 0. */
int yq_http_too_many(struct yq_req *r, long wait);

int h_token_login(struct yq_req *r);
int h_token_refresh(struct yq_req *r);
int h_token_check(struct yq_req *r);
int h_token_revoke(struct yq_req *r);
int h_token_ws_ticket(struct yq_req *r);

int h_users_register(struct yq_req *r);
int h_users_me(struct yq_req *r);
int h_users_update_me(struct yq_req *r);
int h_users_get(struct yq_req *r);
int h_users_search(struct yq_req *r);

int h_notifications_list(struct yq_req *r);
int h_notifications_read(struct yq_req *r);
int h_notifications_read_all(struct yq_req *r);
int h_notifications_delete(struct yq_req *r);
int h_notifications_clear(struct yq_req *r);

int h_rooms_create(struct yq_req *r);
int h_rooms_list(struct yq_req *r);
int h_rooms_get(struct yq_req *r);
int h_rooms_dissolve(struct yq_req *r);
int h_rooms_join(struct yq_req *r);
int h_rooms_leave(struct yq_req *r);
int h_rooms_invite(struct yq_req *r);
int h_rooms_apply(struct yq_req *r);
int h_rooms_config(struct yq_req *r);
int h_rooms_members(struct yq_req *r);
int h_rooms_set_role(struct yq_req *r);
int h_rooms_kick(struct yq_req *r);
int h_rooms_transfer(struct yq_req *r);
int h_rooms_applications(struct yq_req *r);
int h_rooms_approve(struct yq_req *r);
int h_rooms_reject(struct yq_req *r);
int h_rooms_invitations(struct yq_req *r);
int h_rooms_decline(struct yq_req *r);
int h_rooms_messages(struct yq_req *r);

#endif
