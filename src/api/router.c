/*
 * router.c - see router.h.  Matching walks both strings segment by
 * segment without copying; the table is small (tens of rows), so a linear
 * scan costs less than building anything cleverer.
 */
#include "config.h"

#include "api/router.h"
#include "core/util.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool
parse_id(const char *s, size_t len, long long *out)
{
	long long v = 0;

	if (len == 0 || len > 18 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static bool
match(const char *pat, const char *path, size_t pathlen, long long *ids, unsigned maxids,
      unsigned *nids)
{
	const char *pe = path + pathlen;

	*nids = 0;
	while (*pat) {
		if (*pat != '/' || path >= pe || *path != '/')
			return false;
		pat++;
		path++;
		const char *ps = strchr(pat, '/');
		size_t plen = ps ? (size_t)(ps - pat) : strlen(pat);
		const char *qs = memchr(path, '/', (size_t)(pe - path));
		size_t qlen = qs ? (size_t)(qs - path) : (size_t)(pe - path);
		if (plen == 4 && memcmp(pat, "{id}", 4) == 0) {
			if (*nids >= maxids || !parse_id(path, qlen, &ids[*nids]))
				return false;
			(*nids)++;
		} else if (plen != qlen || memcmp(pat, path, plen) != 0) {
			return false;
		}
		pat += plen;
		path += qlen;
	}
	return path == pe;
}

enum yq_route_result
yq_route_match(const struct yq_route *table, size_t n, const char *method, const char *path,
               const struct yq_route **found, long long *ids, unsigned maxids, unsigned *nids,
               char *allow, size_t allowsz)
{
	size_t len = strlen(path);
	bool path_known = false;
	long long tmp[8];
	unsigned ntmp;

	if (allowsz)
		allow[0] = '\0';
	while (len > 1 && path[len - 1] == '/')
		len--;
	for (size_t i = 0; i < n; i++) {
		if (!match(table[i].pattern, path, len, tmp, maxids < 8 ? maxids : 8, &ntmp))
			continue;
		if (strcmp(table[i].method, method) == 0) {
			memcpy(ids, tmp, ntmp * sizeof(*ids));
			*nids = ntmp;
			*found = &table[i];
			return YQ_ROUTE_OK;
		}
		if (!strstr(allow, table[i].method)) {
			size_t al = strlen(allow);
			if (al + strlen(table[i].method) + 3 < allowsz)
				snprintf(allow + al, allowsz - al, "%s%s", al ? ", " : "",
				         table[i].method);
		}
		path_known = true;
	}
	return path_known ? YQ_ROUTE_BAD_METHOD : YQ_ROUTE_NOT_FOUND;
}
