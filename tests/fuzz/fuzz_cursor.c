/*
 * fuzz_cursor.c - libFuzzer target: id cursors (?cursor=, yq_query_cursor)
 * and the base64url decoder under them.
 *
 * Oracles: an accepted cursor is a positive id, and the cursor that
 * yq_page_json() would print for that id is accepted back as the same id;
 * the decoder never writes past the size it is given.
 */
#include "config.h"

#include "api/http.h"
#include "core/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
cursor_of(const char *value, size_t len, long long *id)
{
	struct yq_config cfg = { 0 };
	struct yq_req r = { .cfg = &cfg };
	char *v = malloc(len + 1);

	memcpy(v, value, len);
	v[len] = '\0';
	r.query.n = 1;
	r.query.kv[0] = (struct yq_kv){ .key = "cursor", .value = v, .value_len = len };
	bool ok = yq_query_cursor(&r, id);
	if (ok != (r.errors == NULL))
		abort();
	json_object_put(r.errors);
	free(v);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char out[64];
	long long id;

	long n = yq_b64url_decode(out, 16, (const char *)data, size);
	if (n > 16)
		abort();
	if (memchr(data, '\0', size))
		return 0; /* a query value never holds a NUL */
	if (!cursor_of((const char *)data, size, &id) || id == 0)
		return 0;
	if (id < 0)
		abort();
	char num[24], c[40];
	snprintf(num, sizeof(num), "%lld", id);
	yq_b64url_encode(c, sizeof(c), (const unsigned char *)num, strlen(num));
	long long again;
	if (!cursor_of(c, strlen(c), &again) || again != id)
		abort();
	return 0;
}
