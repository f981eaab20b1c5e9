/*
 * lws-broadcast.c - the WebSocket ceiling of the benchmarks: libwebsockets
 * broadcasting with no application logic.
 *
 *   cc -O2 -o lws-broadcast lws-broadcast.c $(pkg-config --cflags --libs libwebsockets)
 *   lws-broadcast PORT [PIDFILE]
 *
 * Every text message a connection sends is sent, byte for byte, to every
 * connection open at that moment (the sender included, which is how
 * yq-wsload's sender sees that its message went out).  The one exception
 * is the keep-alive: a message that starts with {"type":"heart_beat" goes
 * back to its sender only, as any server answers its clients' pings.  No
 * authentication, no JSON, no rooms, no storage.
 *
 * The shape is that of lws' minimal ws-server-ring example, with what
 * makes it fit a broadcast to thousands: one shared ring of messages, each
 * stored once with LWS_PRE bytes in front and a reference count (the
 * connections that still have to send it), a cursor per connection, and one
 * lws_write() per WRITEABLE callback.  A connection that falls a whole ring
 * behind is closed as a slow consumer.  The same lws build, event loop
 * (lws' own poll loop), rx buffer (1 KiB) and options (UTF-8 validation) as
 * yiqikan-ws.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#define RING   4096        /* messages in flight at most */
#define RX_MAX (64 * 1024) /* the longest message accepted, as yiqikan-ws */

struct msg {
	unsigned char *buf; /* LWS_PRE + len */
	size_t len;
	unsigned refs; /* connections that still have to send it */
};

struct pss {
	struct pss *prev, *next; /* every open connection */
	struct lws *wsi;
	uint64_t cursor; /* the next message of the ring this one sends */
	bool culled;
	unsigned char *rx; /* the message being received */
	size_t rx_len;
	unsigned char *echo; /* a heart_beat to send back; LWS_PRE + echo_len */
	size_t echo_len;
};

static struct msg ring[RING];
static uint64_t head; /* the ring's next sequence number */
static struct pss *conns;
static unsigned nconns;
static struct lws_context *context;
static volatile sig_atomic_t stop;
static unsigned long long delivered, culled;

static void
unref(uint64_t seq)
{
	struct msg *m = &ring[seq % RING];

	if (m->refs && --m->refs == 0) {
		free(m->buf);
		m->buf = NULL;
	}
}

/* drop what a connection still had to send */
static void
detach(struct pss *p)
{
	for (; p->cursor < head; p->cursor++)
		unref(p->cursor);
	if (p->prev)
		p->prev->next = p->next;
	else if (conns == p)
		conns = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
	nconns--;
}

/* the slot for the next message is still held: whoever is a ring behind
 * goes */
static void
cull(void)
{
	struct pss *p = conns, *n;

	while (p) {
		n = p->next;
		if (p->cursor + RING <= head) {
			p->culled = true;
			detach(p);
			culled++;
			lws_set_timeout(p->wsi, PENDING_TIMEOUT_LAGGING, LWS_TO_KILL_ASYNC);
		}
		p = n;
	}
}

static void
broadcast(const void *in, size_t len)
{
	struct msg *m = &ring[head % RING];

	if (!nconns)
		return;
	if (m->refs)
		cull();
	if (!nconns)
		return;
	if (!(m->buf = malloc(LWS_PRE + len)))
		return;
	memcpy(m->buf + LWS_PRE, in, len);
	m->len = len;
	m->refs = nconns;
	head++;
	lws_callback_on_writable_all_protocol(context, lws_get_protocol(conns->wsi));
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct pss *p = user;
	static const char hb[] = "{\"type\":\"heart_beat\"";

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		memset(p, 0, sizeof(*p));
		p->wsi = wsi;
		p->cursor = head;
		p->next = conns;
		if (conns)
			conns->prev = p;
		conns = p;
		nconns++;
		break;
	case LWS_CALLBACK_CLOSED:
		if (!p->culled && p->wsi)
			detach(p);
		free(p->rx);
		free(p->echo);
		p->rx = p->echo = NULL;
		break;
	case LWS_CALLBACK_RECEIVE: {
		if (p->culled)
			break;
		if (lws_frame_is_binary(wsi))
			return -1;
		if (p->rx_len + len > RX_MAX)
			return -1;
		bool whole = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
		const unsigned char *msg = in;
		size_t mlen = len;
		if (p->rx_len || !whole) {
			unsigned char *b = realloc(p->rx, p->rx_len + len);
			if (!b)
				return -1;
			memcpy(b + p->rx_len, in, len);
			p->rx = b;
			p->rx_len += len;
			if (!whole)
				break;
			msg = p->rx;
			mlen = p->rx_len;
		}
		if (mlen >= sizeof(hb) - 1 && memcmp(msg, hb, sizeof(hb) - 1) == 0) {
			unsigned char *e = realloc(p->echo, LWS_PRE + mlen);
			if (e) {
				memcpy(e + LWS_PRE, msg, mlen);
				p->echo = e;
				p->echo_len = mlen;
				lws_callback_on_writable(wsi);
			}
		} else {
			broadcast(msg, mlen);
		}
		free(p->rx);
		p->rx = NULL;
		p->rx_len = 0;
		break;
	}
	case LWS_CALLBACK_SERVER_WRITEABLE: {
		if (p->culled)
			break;
		if (p->echo_len) {
			size_t l = p->echo_len;
			p->echo_len = 0;
			if (lws_write(wsi, p->echo + LWS_PRE, l, LWS_WRITE_TEXT) < (int)l)
				return -1;
		} else if (p->cursor < head) {
			struct msg *m = &ring[p->cursor % RING];
			if (lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len)
				return -1;
			unref(p->cursor++);
			delivered++;
		}
		if (p->echo_len || p->cursor < head)
			lws_callback_on_writable(wsi);
		break;
	}
	default: break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "broadcast", callback, sizeof(struct pss), 1024, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
	if (context)
		lws_cancel_service(context);
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	int port = argc > 1 ? atoi(argv[1]) : 0;

	if (port <= 0 || port > 65535 || argc > 3) {
		fprintf(stderr, "usage: lws-broadcast PORT [PIDFILE]\n");
		return 2;
	}
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
	info.count_threads = 1;
	/* configured as yiqikan-ws is: no lws validity pings (their timers
	 * sit in one sorted list an insert walks from its head) */
	static const lws_retry_bo_t no_idle_policy = { .secs_since_valid_hangup = 0 };
	info.retry_and_idle_policy = &no_idle_policy;
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "lws-broadcast: cannot listen on 127.0.0.1:%d\n", port);
		return 1;
	}
	if (argc > 2) {
		FILE *f = fopen(argv[2], "w");
		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (!stop && lws_service(context, 0) >= 0)
		;
	lws_context_destroy(context);
	for (unsigned i = 0; i < RING; i++)
		free(ring[i].buf);
	fprintf(stderr, "lws-broadcast: %llu messages sent, %llu slow consumers dropped\n",
	        delivered, culled);
	if (argc > 2)
		unlink(argv[2]);
	return 0;
}
