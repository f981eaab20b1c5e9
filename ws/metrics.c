/*
 * metrics.c - GET /metrics in the Prometheus text format, on a listener
 * of its own (ws.metrics_listen, host:port; empty: off), a second lws
 * vhost of the same context, so it is served by the service thread that
 * owns what it reports and needs no locks.  Anything else on that
 * listener is 404.  doc/operations.md lists the metrics.
 *
 * Gauges (connections by state, rooms, what the send queues hold) are
 * counted when scraped: a walk over the connections, cheap next to a
 * scrape interval.  Counters live in hub.m.
 */
#include "config.h"

#include "core/log.h"
#include "core/util.h"
#include "ws/ws.h"

#include <stdlib.h>
#include <string.h>

struct metrics_pss {
	unsigned char *body; /* LWS_PRE bytes, then the text */
	size_t len;
};

void
metrics_count_close(int code)
{
	for (unsigned i = 0; i < hub.m.ncloses; i++) {
		if (hub.m.closes[i].code == code) {
			hub.m.closes[i].n++;
			return;
		}
	}
	if (hub.m.ncloses < YQ_ARRAY_LEN(hub.m.closes)) {
		hub.m.closes[hub.m.ncloses].code = code;
		hub.m.closes[hub.m.ncloses++].n = 1;
	}
}

static const char *const drop_names[DROP_COUNT] = {
	[DROP_SLOW_CONSUMER] = "slow_consumer",
	[DROP_RATE_LIMITED] = "rate_limited",
	[DROP_BUSY] = "busy",
	[DROP_BAD_REQUEST] = "bad_request",
	[DROP_UNKNOWN_TYPE] = "unknown_type",
	[DROP_FORBIDDEN] = "forbidden",
};

static void
render(struct yq_buf *b)
{
	unsigned long long st[3] = { 0 }, qmsgs = 0, qbytes = 0, qmax = 0;

	MAP_EACH(&hub.conns, id, v, {
		struct conn *c = v;
		(void)id;
		st[c->state]++;
		qmsgs += c->q.count + (c->q.partial ? 1 : 0);
		qbytes += c->q.bytes;
		if (c->q.count > qmax)
			qmax = c->q.count;
	});
	yq_buf_printf(
	        b,
	        "# HELP yiqikan_ws_connections Open WebSocket connections by state.\n"
	        "# TYPE yiqikan_ws_connections gauge\n"
	        "yiqikan_ws_connections{state=\"authenticating\"} %llu\n"
	        "yiqikan_ws_connections{state=\"ready\"} %llu\n"
	        "yiqikan_ws_connections{state=\"closing\"} %llu\n"
	        "# HELP yiqikan_ws_rooms Rooms this node serves.\n"
	        "# TYPE yiqikan_ws_rooms gauge\n"
	        "yiqikan_ws_rooms %llu\n"
	        "# HELP yiqikan_ws_send_queue_messages Messages queued for clients, all "
	        "connections.\n"
	        "# TYPE yiqikan_ws_send_queue_messages gauge\n"
	        "yiqikan_ws_send_queue_messages %llu\n"
	        "# HELP yiqikan_ws_send_queue_bytes Bytes queued for clients, all connections.\n"
	        "# TYPE yiqikan_ws_send_queue_bytes gauge\n"
	        "yiqikan_ws_send_queue_bytes %llu\n"
	        "# HELP yiqikan_ws_send_queue_max_messages The deepest connection queue.\n"
	        "# TYPE yiqikan_ws_send_queue_max_messages gauge\n"
	        "yiqikan_ws_send_queue_max_messages %llu\n",
	        st[CONN_AUTH], st[CONN_READY], st[CONN_CLOSING], (unsigned long long)hub.rooms.n,
	        qmsgs, qbytes, qmax);
	yq_buf_puts(b, "# HELP yiqikan_ws_messages_in_total Client messages received, by type.\n"
	               "# TYPE yiqikan_ws_messages_in_total counter\n");
	protocol_metrics(b);
	yq_buf_printf(
	        b,
	        "# HELP yiqikan_ws_deliveries_total Messages written to clients.\n"
	        "# TYPE yiqikan_ws_deliveries_total counter\n"
	        "yiqikan_ws_deliveries_total %llu\n"
	        "# HELP yiqikan_ws_writeable_callbacks_total WRITEABLE callbacks served.\n"
	        "# TYPE yiqikan_ws_writeable_callbacks_total counter\n"
	        "yiqikan_ws_writeable_callbacks_total %llu\n"
	        "# HELP yiqikan_ws_presence_batches_total Presence batches sent to large rooms.\n"
	        "# TYPE yiqikan_ws_presence_batches_total counter\n"
	        "yiqikan_ws_presence_batches_total %llu\n"
	        "# HELP yiqikan_ws_coalesced_deliveries_total Deliveries written together with "
	        "the next ones queued for the same client in one write.\n"
	        "# TYPE yiqikan_ws_coalesced_deliveries_total counter\n"
	        "yiqikan_ws_coalesced_deliveries_total %llu\n",
	        (unsigned long long)hub.sent, (unsigned long long)hub.writeables,
	        (unsigned long long)hub.presence_batches, (unsigned long long)hub.coalesced);
	yq_buf_puts(b, "# HELP yiqikan_ws_drops_total Messages not handled or not delivered, by "
	               "reason.\n"
	               "# TYPE yiqikan_ws_drops_total counter\n");
	for (int i = 0; i < DROP_COUNT; i++)
		yq_buf_printf(b, "yiqikan_ws_drops_total{reason=\"%s\"} %llu\n", drop_names[i],
		              (unsigned long long)hub.m.drops[i]);
	yq_buf_puts(b, "# HELP yiqikan_ws_closes_total Connections closed, by close code (peer: "
	               "by the client or the network).\n"
	               "# TYPE yiqikan_ws_closes_total counter\n");
	for (unsigned i = 0; i < hub.m.ncloses; i++) {
		if (hub.m.closes[i].code)
			yq_buf_printf(b, "yiqikan_ws_closes_total{code=\"%d\"} %llu\n",
			              hub.m.closes[i].code, (unsigned long long)hub.m.closes[i].n);
		else
			yq_buf_printf(b, "yiqikan_ws_closes_total{code=\"peer\"} %llu\n",
			              (unsigned long long)hub.m.closes[i].n);
	}
	yq_buf_puts(b, "# HELP yiqikan_ws_db_jobs_queued Database jobs waiting, by queue.\n"
	               "# TYPE yiqikan_ws_db_jobs_queued gauge\n");
	for (int q = 0; q < JOBQ_COUNT; q++)
		yq_buf_printf(b, "yiqikan_ws_db_jobs_queued{queue=\"%s\"} %u\n",
		              dbworker_queue_name(q), dbworker_queued(q));
	yq_buf_printf(b,
	              "# HELP yiqikan_ws_queue_tail_lag_ms Since the event-queue tail last read "
	              "up to the head.\n"
	              "# TYPE yiqikan_ws_queue_tail_lag_ms gauge\n"
	              "yiqikan_ws_queue_tail_lag_ms %lld\n",
	              (long long)dbworker_tail_lag_ms());
	yq_buf_printf(b,
	              "# HELP yiqikan_ws_queue_wakeups_total Wake-up datagrams (ws.wake_listen) "
	              "that ended an idle wait of the queue tail.\n"
	              "# TYPE yiqikan_ws_queue_wakeups_total counter\n"
	              "yiqikan_ws_queue_wakeups_total %llu\n",
	              (unsigned long long)dbworker_tail_wakeups());
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct metrics_pss *pss = user;
	unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start,
	                                  *end = hdr + sizeof(hdr) - 1;
	(void)len;

	switch (reason) {
	case LWS_CALLBACK_HTTP: {
		if (strcmp((const char *)in, "/metrics") != 0) {
			lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
			return lws_http_transaction_completed(wsi) ? -1 : 0;
		}
		struct yq_buf b = { 0 };
		static const unsigned char pre[LWS_PRE];
		yq_buf_append(&b, pre, LWS_PRE); /* room for lws in front of the text */
		render(&b);
		if (!b.data)
			return -1;
		free(pss->body);
		pss->body = (unsigned char *)b.data;
		pss->len = b.len - LWS_PRE;
		if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4",
		                                pss->len, &p, end) ||
		    lws_finalize_write_http_header(wsi, start, &p, end))
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_HTTP_WRITEABLE: {
		if (!pss || !pss->body)
			return 0;
		int n = lws_write(wsi, pss->body + LWS_PRE, pss->len, LWS_WRITE_HTTP_FINAL);
		free(pss->body);
		pss->body = NULL;
		if (n < 0)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss) { /* NULL for a connection closed before its request */
			free(pss->body);
			pss->body = NULL;
		}
		return 0;
	default: return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols metrics_protocols[] = {
	{ "http", callback, sizeof(struct metrics_pss), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

int
metrics_listen(struct lws_context *ctx, const char *listen)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	int64_t port;

	if (!colon || (size_t)(colon - listen) >= sizeof(host) ||
	    yq_parse_i64(colon + 1, 1, 65535, &port) < 0) {
		yq_error("ws.metrics_listen: expected host:port, got \"%s\"", listen);
		return -1;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';

	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.vhost_name = "metrics";
	info.port = (int)port;
	info.iface = host[0] ? host : NULL;
	info.protocols = metrics_protocols;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	if (!lws_create_vhost(ctx, &info)) {
		yq_error("cannot listen for metrics on %s", listen);
		return -1;
	}
	yq_info("metrics on http://%s/metrics", listen);
	return 0;
}
