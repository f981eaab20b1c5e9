/*
 * router.h - dispatch by a table of (method, pattern, handler, flags).
 *
 * A pattern is a path of literal segments and "{id}" segments; "{id}"
 * matches a positive decimal integer (no sign, no leading zero) and its
 * value lands in ids[] in order.  A trailing slash on the request path is
 * ignored.  When some route matches the path but none the method, the
 * result is YQ_ROUTE_BAD_METHOD with the allowed methods listed.
 */
#ifndef YQ_ROUTER_H
#define YQ_ROUTER_H

#include <stddef.h>

struct yq_req;
typedef int (*yq_handler)(struct yq_req *r);

enum { YQ_ROUTE_AUTH = 1 << 0 };

struct yq_route {
	const char *method;
	const char *pattern;
	yq_handler handler;
	unsigned flags;
};

enum yq_route_result { YQ_ROUTE_OK, YQ_ROUTE_NOT_FOUND, YQ_ROUTE_BAD_METHOD };

enum yq_route_result yq_route_match(const struct yq_route *table, size_t n, const char *method,
                                    const char *path, const struct yq_route **found, long long *ids,
                                    unsigned maxids, unsigned *nids, char *allow, size_t allowsz);

#endif
