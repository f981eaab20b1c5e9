/*
 * routes.c - the route table: every REST endpoint is one row here.
 * Literal segments win over {id} by construction ({id} only matches
 * digits), so the order of rows only matters for readability.
 */
#include "config.h"

#include "api/handlers.h"

const struct yq_route yq_routes[] = {
	/* SPEC section 2: users and tokens */
	{ "POST", "/users", h_users_register, 0 },
	{ "GET", "/users", h_users_search, YQ_ROUTE_AUTH },
	{ "GET", "/users/me", h_users_me, YQ_ROUTE_AUTH },
	{ "PUT", "/users/me", h_users_update_me, YQ_ROUTE_AUTH },
	{ "GET", "/users/{id}", h_users_get, YQ_ROUTE_AUTH },
	{ "POST", "/token", h_token_login, 0 },
	{ "POST", "/token/refresh", h_token_refresh, 0 },
	{ "GET", "/token/check", h_token_check, YQ_ROUTE_AUTH },
	{ "POST", "/token/revoke", h_token_revoke, YQ_ROUTE_AUTH },
	{ "POST", "/token/ws-ticket", h_token_ws_ticket, YQ_ROUTE_AUTH },
	/* SPEC section 4: notifications ("clear" and "read-all" are literals,
	 * which {id} - digits only - can never match) */
	{ "GET", "/notifications", h_notifications_list, YQ_ROUTE_AUTH },
	{ "PUT", "/notifications/read-all", h_notifications_read_all, YQ_ROUTE_AUTH },
	{ "DELETE", "/notifications/clear", h_notifications_clear, YQ_ROUTE_AUTH },
	{ "PUT", "/notifications/{id}/read", h_notifications_read, YQ_ROUTE_AUTH },
	{ "DELETE", "/notifications/{id}", h_notifications_delete, YQ_ROUTE_AUTH },
	/* SPEC section 3: rooms */
	{ "POST", "/rooms", h_rooms_create, YQ_ROUTE_AUTH },
	{ "GET", "/rooms", h_rooms_list, YQ_ROUTE_AUTH },
	{ "POST", "/rooms/join", h_rooms_join, YQ_ROUTE_AUTH },
	{ "POST", "/rooms/leave", h_rooms_leave, YQ_ROUTE_AUTH },
	{ "POST", "/rooms/invite", h_rooms_invite, YQ_ROUTE_AUTH },
	{ "POST", "/rooms/apply", h_rooms_apply, YQ_ROUTE_AUTH },
	{ "GET", "/rooms/invitations", h_rooms_invitations, YQ_ROUTE_AUTH },
	{ "POST", "/rooms/invitations/{id}/decline", h_rooms_decline, YQ_ROUTE_AUTH },
	{ "GET", "/rooms/{id}", h_rooms_get, YQ_ROUTE_AUTH },
	{ "DELETE", "/rooms/{id}", h_rooms_dissolve, YQ_ROUTE_AUTH },
	{ "PUT", "/rooms/{id}/config", h_rooms_config, YQ_ROUTE_AUTH },
	{ "GET", "/rooms/{id}/members", h_rooms_members, YQ_ROUTE_AUTH },
	{ "PUT", "/rooms/{id}/members/{id}", h_rooms_set_role, YQ_ROUTE_AUTH },
	{ "DELETE", "/rooms/{id}/members/{id}", h_rooms_kick, YQ_ROUTE_AUTH },
	{ "POST", "/rooms/{id}/transfer", h_rooms_transfer, YQ_ROUTE_AUTH },
	{ "GET", "/rooms/{id}/applications", h_rooms_applications, YQ_ROUTE_AUTH },
	{ "POST", "/rooms/{id}/applications/{id}/approve", h_rooms_approve, YQ_ROUTE_AUTH },
	{ "POST", "/rooms/{id}/applications/{id}/reject", h_rooms_reject, YQ_ROUTE_AUTH },
	{ "GET", "/rooms/{id}/messages", h_rooms_messages, YQ_ROUTE_AUTH },
};

const size_t yq_nroutes = sizeof(yq_routes) / sizeof(yq_routes[0]);
