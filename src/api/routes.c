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
};

const size_t yq_nroutes = sizeof(yq_routes) / sizeof(yq_routes[0]);
