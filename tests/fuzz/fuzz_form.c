/*
 * fuzz_form.c - libFuzzer target: urlencoded forms and the query string
 * readers (yq_form_parse for login bodies, yq_query_parse and the shared
 * limit/cursor/page readers for every list).
 *
 * Oracles: every decoded key and value is NUL-terminated at its length
 * with no NUL inside (an encoded NUL is refused); after yq_query_parse
 * every value the handlers will see is well-formed UTF-8 or the request
 * already carries a 422; limit and cursor are in range when accepted.
 */
#include "config.h"

#include "api/http.h"
#include "core/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_form(const struct yq_form *f)
{
	if (f->n > YQ_MAX_PARAMS)
		abort();
	for (unsigned i = 0; i < f->n; i++)
		if (strlen(f->kv[i].value) != f->kv[i].value_len)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yq_form f;

	if (yq_form_parse(&f, (const char *)data, size) == 0) {
		check_form(&f);
		(void)yq_form_get(&f, "username");
	}
	yq_form_free(&f);

	struct yq_config cfg = { .api_retry_after = 1 };
	struct yq_req r = { .cfg = &cfg };
	if (yq_query_parse(&r, (const char *)data, size) == 0) {
		check_form(&r.query);
		if (!r.errors)
			for (unsigned i = 0; i < r.query.n; i++)
				if (!yq_utf8_valid(r.query.kv[i].value, r.query.kv[i].value_len))
					abort();
		long long limit, bound;
		bool had_errors = r.errors != NULL;
		yq_query_page(&r, data[0] & 1, &limit, &bound);
		if (limit < 1 || limit > 100 || bound < 0)
			abort();
		if (!had_errors && !r.errors && bound == 0 && (data[0] & 1))
			abort(); /* newest-first without a cursor is INT64_MAX */
		yq_http_invalid_done(&r);
	}
	json_object_put(r.resp);
	json_object_put(r.errors);
	yq_buf_free(&r.headers);
	yq_form_free(&r.query);
	return 0;
}
