/*
 * wsload.c - yq-wsload, the WebSocket load generator of the benchmarks.
 *
 * It opens many client connections to one yiqikan-ws endpoint (a room,
 * /ws/rooms/{id}, or the user channel, /ws) from one process, makes some
 * of them send room messages, and measures what the others receive:
 *
 *   deliveries      broadcasts received per second over the measurement
 *                   window
 *   latency         now - t for every broadcast received, where t is the
 *                   sender's clock (epoch microseconds) written into the
 *                   message; sender and receivers are this process, so
 *                   there is no clock offset to estimate
 *   sync skew       play_control only: for each broadcast (its "version"),
 *                   the last arrival minus the first across receivers
 *   server memory   with --server-pid: VmRSS before connecting and at the
 *                   end of the window, per authenticated connection
 *
 * How it works.  One lws context, one protocol callback, one service
 * thread, in the shape of lws' minimal-ws-client examples: struct client
 * is the per-session struct (lws_client_connect_via_info() with
 * opaque_user_data), lws_callback_on_writable() asks for a WRITEABLE
 * callback and each one does a single lws_write() from a buffer with
 * LWS_PRE bytes in front.  A timer (lws_sul) every 10 ms drives the run
 * through its phases:
 *
 *   RAMP   open --ramp connections a second, binding each one's local
 *          address round-robin to --sources (lws' .iface, which takes an
 *          IP address) so one source's ~28k ephemeral ports are not the
 *          limit; wait until every connection is authenticated (its first
 *          message arrived: the room snapshot, or the reply to the
 *          heart_beat each connection sends at once) or failed
 *   QUIET  --quiet-ms for the join traffic (user_status) to drain
 *   RUN    --duration seconds: senders send --type messages, at --rate a
 *          second each on their own timer (open loop), or with --rate 0 on
 *          every WRITEABLE; at most --window of a sender's messages may be
 *          unanswered (the sender's own copy, which the server marks with
 *          "ref", or an error answers it)
 *   DRAIN  --drain-ms for messages still in flight (their latency counts,
 *          they do not count as deliveries of the window)
 *   CLOSE  close every connection with 1000 and stop
 *
 * Every connection sends heart_beat every --heartbeat seconds throughout.
 * The loop is lws' libev plugin by default (--evlib): lws' own poll(2)
 * loop walks every descriptor on each turn, which at thousands of mostly
 * idle connections costs the generator more than the messages do.
 *
 * Received messages are scanned, not parsed: only the first HEAD_MAX
 * bytes of a message are kept, and the timestamp, sequence number and
 * sender are read from the text the sender wrote (json-c is used for the
 * rare error messages and to print the --json result).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libwebsockets.h>

#define HEAD_MAX     1024        /* bytes of each received message kept for scanning */
#define TOKEN_MAX    4096        /* longest access token accepted from --tokens */
#define TX_MAX       (64 * 1024) /* the server's ws.max_message */
#define CONNS_MAX    1000000     /* a bound, not a goal */
#define SOURCES_MAX  4096
#define DURATION_MAX 86400
#define SKEW_RING    8192 /* play_control broadcasts tracked at once */
#define CODES_MAX    32   /* distinct close codes / connect errors kept */
#define TICK_US      (10 * 1000)
#define STORM_MIN_US (1000 * 1000) /* the shortest window of --storm */

/* ---- histograms: log-linear buckets in microseconds (HDR-like) ----
 * Values below 128 have a bucket each; above, each power of two is cut
 * into 64 buckets (< 1.6% error) up to 2^40 us (12 days). */
#define H_LINEAR  128
#define H_SUB     64
#define H_EXP_MAX 40
#define H_BUCKETS (H_LINEAR + (H_EXP_MAX - 7) * H_SUB)

struct hist {
	uint64_t b[H_BUCKETS];
	uint64_t n, max;
};

static unsigned
hist_index(uint64_t v)
{
	if (v < H_LINEAR)
		return (unsigned)v;
	if (v >= (1ULL << H_EXP_MAX))
		v = (1ULL << H_EXP_MAX) - 1;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* 7 .. 39 */
	unsigned shift = e - 6;
	return H_LINEAR + (e - 7) * H_SUB + (unsigned)((v >> shift) - H_SUB);
}

/* the middle of bucket i */
static uint64_t
hist_value(unsigned i)
{
	if (i < H_LINEAR)
		return i;
	unsigned e = (i - H_LINEAR) / H_SUB + 7, shift = e - 6;
	uint64_t m = (i - H_LINEAR) % H_SUB + H_SUB;
	return (m << shift) + ((1ULL << shift) >> 1);
}

static void
hist_add(struct hist *h, int64_t v)
{
	uint64_t u = v < 0 ? 0 : (uint64_t)v;

	h->b[hist_index(u)]++;
	h->n++;
	if (u > h->max)
		h->max = u;
}

/* the value at quantile q (0..1) */
static uint64_t
hist_quantile(const struct hist *h, double q)
{
	if (!h->n)
		return 0;
	uint64_t want = (uint64_t)(q * (double)h->n + 0.999999), seen = 0;
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < H_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t v = hist_value(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

/* ---- options ---- */

enum msg_type { T_CHAT, T_CUSTOM, T_PLAY };
static const char *const type_names[] = { "chat_message", "custom_event", "play_control" };

static struct {
	char host[256];
	int port;
	char path[1024];
	const char *tokens_file;
	unsigned conns;
	char (*sources)[INET_ADDRSTRLEN];
	unsigned nsources;
	double ramp;
	unsigned senders;
	double rate;
	unsigned window;
	enum msg_type type;
	unsigned size;
	unsigned duration;
	unsigned heartbeat;
	bool idle;
	bool json;
	bool verbose;
	int evlib; /* index in evlibs[] */
	long server_pid;
	unsigned quiet_ms, drain_ms, settle_s;
	/* --metrics: the daemon's Prometheus listener (yiqikan-ws [ws] metrics_listen) */
	char metrics_host[INET_ADDRSTRLEN];
	int metrics_port;
	unsigned queue_wait_ms;
	bool storm;              /* --storm: senders first, then every other connection at once */
	unsigned storm_inflight; /* --storm-inflight: handshakes under way at most; 0: no cap */
	bool ready_snapshot; /* --ready-on snapshot: authenticated = the room snapshot arrived */
} opt = {
	.port = 0,
	.conns = 100,
	.ramp = 200,
	.senders = 1,
	.rate = 0,
	.window = 64,
	.type = T_CHAT,
	.size = 64,
	.duration = 10,
	.heartbeat = 20,
	.quiet_ms = 1000,
	.drain_ms = 2000,
	.settle_s = 60,
	.evlib = 0,
	.queue_wait_ms = 30000,
};

/* lws' event loop: an event library plugin (epoll underneath) or lws' own
 * poll(2) loop, which walks every descriptor on each turn */
static const struct {
	const char *name;
	uint64_t option;
} evlibs[] = {
	{ "ev", LWS_SERVER_OPTION_LIBEV },
	{ "uv", LWS_SERVER_OPTION_LIBUV },
	{ "poll", 0 },
};
static bool evloop; /* the context runs an event library's loop */

static char **tokens;
static unsigned ntokens;

/* ---- the connections ---- */

enum cstate {
	C_IDLE,       /* not opened yet */
	C_CONNECTING, /* handshake under way */
	C_OPEN,       /* upgraded, waiting for the first message */
	C_READY,      /* authenticated */
	C_GONE,       /* failed or closed */
};

struct client {
	struct lws *wsi;
	unsigned idx;
	enum cstate state;
	bool sender;
	bool closing; /* we are closing it */
	bool hb_due;  /* a heart_beat waits for WRITEABLE */
	bool was_ready;
	bool answered;     /* the first byte of the server's first message came */
	int close_code;    /* from the server's close frame */
	int64_t opened_us; /* monotonic */
	int64_t next_hb_us;
	/* sending */
	uint64_t seq;
	unsigned outstanding; /* sent, not yet answered */
	unsigned due;         /* rate mode: sends whose time has come */
	int64_t next_send_us; /* rate mode: monotonic schedule */
	lws_sorted_usec_list_t sul;
	/* the message being received: its first HEAD_MAX bytes */
	size_t msg_len, head_len;
	char head[HEAD_MAX];
};

static struct client *clients;
static struct lws_context *ctx;

/* ---- the run ---- */

enum phase { P_RAMP, P_QUIET, P_RUN, P_DRAIN, P_CLOSE, P_DONE };
static const char *const phase_names[] = { "ramp", "quiet", "run", "drain", "close", "done" };

static enum phase phase;
static volatile sig_atomic_t interrupted;
static lws_sorted_usec_list_t tick_sul;
static int64_t start_us, ramp_start_us, phase_start_us, run_start_us, run_end_us, last_report_us;
static int64_t next_hb_scan_us;
static double run_len_s, ramp_len_s;

struct tally {
	char key[64];
	uint64_t n;
};

enum err_code {
	E_RATE_LIMITED,
	E_FORBIDDEN,
	E_BAD_REQUEST,
	E_UNKNOWN_TYPE,
	E_TOO_LARGE,
	E_NOT_FOUND,
	E_INTERNAL,
	E_OTHER,
	E_COUNT
};
static const char *const err_names[] = { "rate_limited", "forbidden", "bad_request", "unknown_type",
	                                 "too_large",    "not_found", "internal",    "other" };

static struct {
	unsigned opened, established, ready, failed, dropped, closed_ok, live;
	uint64_t sent, acked, skipped, heartbeats, hb_replies;
	uint64_t received, received_window, other_msgs, rx_bytes, tx_bytes;
	uint64_t errors[E_COUNT];
	uint64_t *per_second; /* deliveries in each second of the window */
	int64_t max_send_lag_us;
	struct tally close_codes[CODES_MAX];
	struct tally connect_errors[CODES_MAX];
	struct hist latency, ack, auth, skew;
	uint64_t skew_receivers, skew_broadcasts;
	uint64_t skew_by_version, skew_by_seq; /* how arrivals were keyed */
	/* --storm: when the storm began, when the last connection was ready */
	int64_t storm_start_us, storm_ready_us, storm_empty_us, last_ready_us, last_established_us;
	/* the first byte of each connection's first message: authenticated */
	unsigned answered;
	int64_t last_answer_us;
	bool storm_done;
	unsigned connecting;                         /* opened, neither established nor gone yet */
	long rss_before_kb, rss_end_kb, rss_peak_kb; /* peak: sampled every 50 ms while connected */
	int64_t rss_sampled_us;
	double srv_cpu_start, srv_cpu_end, cli_cpu_start, cli_cpu_end;
	unsigned senders_active;
	rlim_t nofile;
} st;

/* arrivals of one play_control broadcast */
struct skew_slot {
	uint64_t version;
	unsigned n;
	int64_t first_us, last_us;
};
static struct skew_slot *skew; /* a ring of SKEW_RING, by version */

/* ---- small helpers ---- */

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
epoch_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
tally(struct tally *t, const char *key)
{
	for (unsigned i = 0; i < CODES_MAX; i++) {
		if (!t[i].key[0]) {
			snprintf(t[i].key, sizeof(t[i].key), "%s", key);
			t[i].n = 1;
			return;
		}
		if (strcmp(t[i].key, key) == 0) {
			t[i].n++;
			return;
		}
	}
	t[CODES_MAX - 1].n++; /* the last slot takes the overflow */
}

/* VmRSS of a process in kB, -1 when unreadable */
static long
rss_kb(long pid)
{
	char path[64], line[256];
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

/* user + system CPU seconds of a process, -1 when unreadable */
static double
proc_cpu_s(long pid)
{
	char path[64], buf[1024];

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* fields after the command name, which may hold spaces: "pid (comm) S ..." */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	unsigned long long ut = 0, stm = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stm) != 2)
		return -1;
	return (double)(ut + stm) / (double)sysconf(_SC_CLK_TCK);
}

/* The unsigned number right after key in [p, end), searching forward. */
static bool
scan_u64(const char *p, const char *end, const char *key, uint64_t *out, const char **after)
{
	size_t kl = strlen(key);

	if (p >= end)
		return false;
	const char *k = memmem(p, (size_t)(end - p), key, kl);
	if (!k)
		return false;
	const char *d = k + kl;
	uint64_t v = 0;
	if (d >= end || *d < '0' || *d > '9')
		return false;
	while (d < end && *d >= '0' && *d <= '9' && v < UINT64_MAX / 10)
		v = v * 10 + (uint64_t)(*d++ - '0');
	*out = v;
	if (after)
		*after = d;
	return true;
}

/* ---- the daemon's metrics (--metrics) ----
 *
 * GET /metrics every METRICS_EVERY_US from the 10 ms tick, on a
 * non-blocking socket advanced a step per tick, so a slow or absent
 * listener never stalls the lws loop (which must keep reading, or the
 * daemon's queues cannot drain).  Written by hand because it is ~100 lines
 * against loopback and the alternative, a second lws client connection
 * type, would mix the measuring connections with the measurement. */
#define METRICS_EVERY_US (20 * 1000)
/* Inside a measured window (not a storm's, which ends when the queues are
 * empty) once a second, and every METRICS_EVERY_US again in its last
 * METRICS_END_US (the window's end values are then fresh): a scrape is an
 * HTTP request the daemon serves, and 50 a second were most of its CPU
 * while 1,000 connections idled (the lws baseline, with no metrics, was
 * not asked at all). */
#define METRICS_WINDOW_EVERY_US (1000 * 1000)
#define METRICS_END_US          (100 * 1000)
#define METRICS_TIMEOUT_US      (1000 * 1000)
#define METRICS_BUF             (256 * 1024)

static struct {
	int fd;   /* -1: no request under way */
	int step; /* 1 connecting, 2 reading */
	int64_t started_us, next_us;
	size_t len;
	char *buf;
	/* the last good answer */
	bool have;          /* a value of yiqikan_ws_send_queue_messages was read */
	int64_t at_us;      /* when the answer completed (monotonic) */
	int64_t queue;      /* total queued messages across connections */
	int64_t ready;      /* yiqikan_ws_connections{state="ready"} */
	int64_t deliveries; /* yiqikan_ws_deliveries_total */
	uint64_t ok, failed;
	int64_t queue_peak;
	char last_error[96];
} mx = { .fd = -1, .queue = -1, .ready = -1, .deliveries = -1 };

/* what the window saw of the metrics */
static struct {
	bool waited, emptied;
	int64_t wait_us, queue_at_start, queue_at_end, deliveries_start, deliveries_end;
} mw = { .queue_at_start = -1, .queue_at_end = -1, .deliveries_start = -1, .deliveries_end = -1 };

static void
metrics_fail(const char *why)
{
	if (mx.fd >= 0)
		close(mx.fd);
	mx.fd = -1;
	mx.failed++;
	snprintf(mx.last_error, sizeof(mx.last_error), "%s", why);
}

/* the value of the sample on line [p, e) if its name is name (labels are
 * matched by `labels` when not NULL) */
static bool
metric_line(const char *p, const char *e, const char *name, const char *labels, double *v)
{
	size_t nl = strlen(name);

	if ((size_t)(e - p) <= nl || memcmp(p, name, nl) != 0)
		return false;
	p += nl;
	if (*p == '{') {
		const char *c = memchr(p, '}', (size_t)(e - p));
		if (!c)
			return false;
		if (labels && !memmem(p, (size_t)(c - p), labels, strlen(labels)))
			return false;
		p = c + 1;
	} else if (labels || (*p != ' ' && *p != '\t')) {
		return false;
	}
	char tmp[64];
	size_t n = (size_t)(e - p) < sizeof(tmp) - 1 ? (size_t)(e - p) : sizeof(tmp) - 1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	char *end;
	*v = strtod(tmp, &end);
	return end != tmp;
}

static void
metrics_parse(int64_t now)
{
	char *body = memmem(mx.buf, mx.len, "\r\n\r\n", 4);

	if (mx.len < 12 || memcmp(mx.buf, "HTTP/1.", 7) != 0 || memcmp(mx.buf + 9, "200", 3) != 0) {
		metrics_fail("not a 200 answer");
		return;
	}
	if (!body) {
		metrics_fail("no header end");
		return;
	}
	*body = '\0';
	bool chunked = strcasestr(mx.buf, "transfer-encoding: chunked") != NULL;
	body += 4;
	char *end = mx.buf + mx.len;
	if (chunked) {
		/* de-chunk in place */
		char *r = body, *w = body;
		while (r < end) {
			char *x;
			unsigned long n = strtoul(r, &x, 16);
			char *nl = memmem(r, (size_t)(end - r), "\r\n", 2);
			if (!nl || !n)
				break;
			r = nl + 2;
			if ((size_t)(end - r) < n)
				n = (unsigned long)(end - r);
			memmove(w, r, n);
			w += n;
			r += n + 2;
		}
		end = w;
	}
	double q = 0, v;
	bool seen = false;
	int64_t ready = -1, deliv = -1;
	for (char *p = body; p < end;) {
		char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			e = end;
		if (*p != '#') {
			if (metric_line(p, e, "yiqikan_ws_send_queue_messages", NULL, &v)) {
				q += v; /* every label set, if there are any */
				seen = true;
			} else if (metric_line(p, e, "yiqikan_ws_connections", "state=\"ready\"",
			                       &v)) {
				ready = (int64_t)v;
			} else if (metric_line(p, e, "yiqikan_ws_deliveries_total", NULL, &v)) {
				deliv = (int64_t)v;
			}
		}
		p = e + 1;
	}
	close(mx.fd);
	mx.fd = -1;
	if (!seen) {
		metrics_fail("no yiqikan_ws_send_queue_messages in /metrics");
		return;
	}
	mx.ok++;
	mx.have = true;
	mx.at_us = now;
	mx.queue = (int64_t)q;
	mx.ready = ready;
	mx.deliveries = deliv;
	if (mx.queue > mx.queue_peak)
		mx.queue_peak = mx.queue;
	if (opt.storm && st.storm_ready_us && !st.storm_empty_us && mx.queue == 0 &&
	    mx.at_us > st.storm_ready_us)
		st.storm_empty_us = mx.at_us;
}

static void
metrics_tick(int64_t now)
{
	if (!opt.metrics_port)
		return;
	if (mx.fd < 0) {
		if (now < mx.next_us)
			return;
		mx.next_us = now + METRICS_EVERY_US;
		if (phase == P_RUN && !opt.storm) {
			int64_t tail =
			        run_start_us + (int64_t)opt.duration * 1000000 - METRICS_END_US;
			int64_t slow = now + METRICS_WINDOW_EVERY_US;
			if (now < tail)
				mx.next_us = slow < tail ? slow : tail;
		}
		struct sockaddr_in a = { .sin_family = AF_INET,
			                 .sin_port = htons((uint16_t)opt.metrics_port) };
		inet_pton(AF_INET, opt.metrics_host, &a.sin_addr);
		mx.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (mx.fd < 0) {
			metrics_fail(strerror(errno));
			return;
		}
		if (connect(mx.fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
			metrics_fail(strerror(errno));
			return;
		}
		mx.step = 1;
		mx.len = 0;
		mx.started_us = now;
	}
	if (now - mx.started_us > METRICS_TIMEOUT_US) {
		metrics_fail("timed out");
		return;
	}
	if (mx.step == 1) {
		struct pollfd pf = { .fd = mx.fd, .events = POLLOUT };
		if (poll(&pf, 1, 0) <= 0)
			return; /* still connecting */
		int err = 0;
		socklen_t el = sizeof(err);
		getsockopt(mx.fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			metrics_fail(strerror(err));
			return;
		}
		char req[160];
		int n = snprintf(
		        req, sizeof(req),
		        "GET /metrics HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n",
		        opt.metrics_host, opt.metrics_port);
		if (send(mx.fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
			metrics_fail("send failed");
			return;
		}
		mx.step = 2;
	}
	for (;;) {
		if (mx.len >= METRICS_BUF - 1) {
			metrics_fail("answer too long");
			return;
		}
		ssize_t n = recv(mx.fd, mx.buf + mx.len, METRICS_BUF - 1 - mx.len, 0);
		if (n > 0) {
			mx.len += (size_t)n;
			mx.buf[mx.len] = '\0';
			/* complete by Content-Length, without waiting for the close */
			char *h = memmem(mx.buf, mx.len, "\r\n\r\n", 4);
			const char *cl = h ? strcasestr(mx.buf, "\ncontent-length:") : NULL;
			if (cl && cl < h &&
			    mx.len - (size_t)(h + 4 - mx.buf) >= strtoul(cl + 16, NULL, 10)) {
				metrics_parse(now);
				return;
			}
			continue;
		}
		if (n == 0) {
			metrics_parse(now);
			return;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			metrics_fail(strerror(errno));
		return;
	}
}

/* the metrics are there (an answer came) and were not given up on */
static bool
metrics_live(void)
{
	return opt.metrics_port && mx.have;
}

/* ---- what the senders write ---- */

static unsigned char txbuf[LWS_PRE + TX_MAX];

static size_t
pad(char *p, size_t room, size_t n)
{
	if (n > room)
		n = room;
	memset(p, 'x', n);
	return n;
}

/* One room message of --type into txbuf + LWS_PRE; its length. */
static size_t
build_message(const struct client *c, uint64_t seq, int64_t t)
{
	char *b = (char *)txbuf + LWS_PRE;
	const size_t cap = TX_MAX - 64;
	int n = 0;
	size_t len;

	switch (opt.type) {
	case T_CHAT: {
		/* text: "t=<epoch us>;seq=<n>;s=<sender>;" padded to --size characters */
		n = snprintf(b, cap,
		             "{\"type\":\"chat_message\",\"id\":%" PRIu64
		             ",\"payload\":{\"text\":\"t=%" PRId64 ";seq=%" PRIu64 ";s=%u;",
		             seq, t, seq, c->idx);
		len = (size_t)n;
		size_t text = len - (size_t)(strstr(b, "t=") - b);
		if (text < opt.size)
			len += pad(b + len, cap - len, opt.size - text);
		memcpy(b + len, "\"}}", 3);
		return len + 3;
	}
	case T_CUSTOM: {
		/* data: {"t": <epoch us>, "seq": n, "s": sender, "pad": "x..."}, the
		 * payload about --size bytes */
		n = snprintf(b, cap,
		             "{\"type\":\"custom_event\",\"id\":%" PRIu64
		             ",\"payload\":{\"name\":\"bench\",\"data\":{\"t\":%" PRId64
		             ",\"seq\":%" PRIu64 ",\"s\":%u,\"pad\":\"",
		             seq, t, seq, c->idx);
		len = (size_t)n;
		size_t payload = len - (size_t)(strstr(b, "{\"name\"") - b) + 3; /* + "}} */
		if (payload < opt.size)
			len += pad(b + len, cap - len, opt.size - payload);
		memcpy(b + len, "\"}}}", 4);
		return len + 4;
	}
	case T_PLAY:
		/* "load" is the one action whose broadcast carries what the client
		 * chose: the media_url holds the timestamp */
		n = snprintf(b, cap,
		             "{\"type\":\"play_control\",\"id\":%" PRIu64
		             ",\"payload\":{\"action\":\"load\",\"position_ms\":0,"
		             "\"media_url\":\"https://bench.invalid/v.mp4?t=%" PRId64
		             "&seq=%" PRIu64 "&s=%u\"}}",
		             seq, t, seq, c->idx);
		return (size_t)n;
	}
	return 0;
}

/* The timestamp, sequence number and sender written by build_message(),
 * as they come back in the broadcast. */
static bool
parse_stamp(enum msg_type type, const char *p, const char *end, uint64_t *t, uint64_t *seq,
            uint64_t *sender)
{
	static const char *const anchor[] = { "\"text\":\"", "\"data\":{", "\"media_url\":\"" };
	static const char *const kt[] = { "t=", "\"t\":", "?t=" };
	static const char *const kseq[] = { ";seq=", "\"seq\":", "&seq=" };
	static const char *const ks[] = { ";s=", "\"s\":", "&s=" };
	const char *a = memmem(p, (size_t)(end - p), anchor[type], strlen(anchor[type]));

	return a && scan_u64(a, end, kt[type], t, &a) && scan_u64(a, end, kseq[type], seq, &a) &&
	       scan_u64(a, end, ks[type], sender, NULL);
}

/* ---- receiving ---- */

static void
skew_arrival(uint64_t version, int64_t now)
{
	struct skew_slot *s = &skew[version % SKEW_RING];

	if (s->version != version) {
		if (s->n >= 2) {
			hist_add(&st.skew, s->last_us - s->first_us);
			st.skew_receivers += s->n;
			st.skew_broadcasts++;
		}
		s->version = version;
		s->n = 0;
	}
	if (!s->n || now < s->first_us)
		s->first_us = now;
	if (!s->n || now > s->last_us)
		s->last_us = now;
	s->n++;
}

static void
skew_flush(void)
{
	for (unsigned i = 0; skew && i < SKEW_RING; i++) {
		if (skew[i].n >= 2) {
			hist_add(&st.skew, skew[i].last_us - skew[i].first_us);
			st.skew_receivers += skew[i].n;
			st.skew_broadcasts++;
		}
		skew[i].n = 0;
	}
}

static void
answered(struct client *c)
{
	if (c->outstanding)
		c->outstanding--;
	/* a sender stopped by a full window goes on */
	if (opt.rate == 0 && phase == P_RUN && c->wsi && opt.window &&
	    c->outstanding == opt.window - 1)
		lws_callback_on_writable(c->wsi);
}

static void
on_error(struct client *c)
{
	json_object *o = json_tokener_parse(c->head); /* small: fits in head */
	json_object *pl, *code, *ref;
	int e = E_OTHER;

	if (o && json_object_object_get_ex(o, "payload", &pl) &&
	    json_object_object_get_ex(pl, "code", &code)) {
		for (int i = 0; i < E_OTHER; i++)
			if (strcmp(json_object_get_string(code), err_names[i]) == 0)
				e = i;
	}
	st.errors[e]++;
	if (c->sender && o && json_object_object_get_ex(o, "ref", &ref))
		answered(c);
	if (opt.verbose)
		lwsl_warn("conn %u: %s\n", c->idx, c->head);
	json_object_put(o);
}

/* A whole message has arrived; c->head holds its beginning. */
static void
on_message(struct client *c)
{
	const char *p = c->head, *end = c->head + c->head_len;
	int64_t now = epoch_us();
	static const char tkey[] = "\"type\":\"";
	const char *ty = memmem(p, c->head_len, tkey, sizeof(tkey) - 1);
	const char *tv = ty ? ty + sizeof(tkey) - 1 : end;
	size_t tl = (size_t)(end - tv);
	int type = -1;

	c->head[c->head_len] = '\0'; /* receive() leaves room for it */
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(type_names[i]);
		if (tl > l && memcmp(tv, type_names[i], l) == 0 && tv[l] == '"')
			type = i;
	}
	bool error = tl > 6 && memcmp(tv, "error\"", 6) == 0;

	if (c->state == C_OPEN) {
		if (error) {
			on_error(c);
			return; /* the close follows */
		}
		static const char snap[] = "\"event\":\"snapshot\"";
		if (opt.ready_snapshot && !memmem(p, c->head_len, snap, sizeof(snap) - 1)) {
			/* before the snapshot: a notification, a heart_beat reply */
			if (tl > 11 && memcmp(tv, "heart_beat\"", 11) == 0)
				st.hb_replies++;
			else
				st.other_msgs++;
			return;
		}
		c->state = C_READY;
		c->was_ready = true;
		st.ready++;
		st.last_ready_us = mono_us();
		hist_add(&st.auth, mono_us() - c->opened_us);
		if (c->sender)
			st.senders_active++;
	}
	if (error) {
		on_error(c);
		return;
	}
	if (type < 0) {
		if (tl > 11 && memcmp(tv, "heart_beat\"", 11) == 0)
			st.hb_replies++;
		else
			st.other_msgs++;
		return;
	}
	uint64_t t, seq, sender;
	if ((enum msg_type)type != opt.type || !parse_stamp(opt.type, p, end, &t, &seq, &sender)) {
		st.other_msgs++; /* e.g. someone else's chat */
		return;
	}
	if (sender == c->idx && c->sender) {
		/* our own copy, marked with "ref": the server has fanned it out */
		st.acked++;
		hist_add(&st.ack, now - (int64_t)t);
		answered(c);
		return;
	}
	st.received++;
	hist_add(&st.latency, now - (int64_t)t);
	if (phase == P_RUN) {
		int64_t m = mono_us();
		st.received_window++;
		uint64_t sec = (uint64_t)(m - run_start_us) / 1000000;
		if (sec < opt.duration)
			st.per_second[sec]++;
	}
	if (opt.type == T_PLAY) {
		/* one broadcast = one "version" (yiqikan-ws numbers the playback
		 * state); a server that relays verbatim (the lws ceiling) adds
		 * none, and then the sender's own sequence number is the key */
		uint64_t version;
		if (scan_u64(p, end, "\"version\":", &version, NULL)) {
			st.skew_by_version++;
			skew_arrival(version, now);
		} else {
			st.skew_by_seq++;
			skew_arrival(seq * (opt.senders ? opt.senders : 1) + sender, now);
		}
	}
}

static int
receive(struct client *c, struct lws *wsi, const char *in, size_t len)
{
	if (lws_is_first_fragment(wsi) && c->msg_len == 0)
		c->head_len = 0;
	if (!c->answered && c->state == C_OPEN) {
		/* the server accepted the connection and started its first
		 * message (ours: the snapshot, written in fragments) */
		c->answered = true;
		st.answered++;
		st.last_answer_us = mono_us();
	}
	if (c->head_len < HEAD_MAX - 1) {
		size_t n = len < HEAD_MAX - 1 - c->head_len ? len : HEAD_MAX - 1 - c->head_len;
		memcpy(c->head + c->head_len, in, n);
		c->head_len += n;
	}
	c->msg_len += len;
	st.rx_bytes += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	on_message(c);
	c->msg_len = 0;
	c->head_len = 0;
	return 0;
}

/* ---- sending ---- */

static int
send_text(struct lws *wsi, size_t len)
{
	int n = lws_write(wsi, txbuf + LWS_PRE, len, LWS_WRITE_TEXT);

	if (n < (int)len)
		return -1;
	st.tx_bytes += len;
	return 0;
}

static int64_t
send_interval(void)
{
	int64_t us = (int64_t)(1e6 / opt.rate);

	return us > 0 ? us : 1;
}

static bool
may_send(const struct client *c)
{
	return c->sender && c->state == C_READY && phase == P_RUN &&
	       (!opt.window || c->outstanding < opt.window);
}

static int
writeable(struct client *c, struct lws *wsi)
{
	if (c->closing) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
		return -1;
	}
	if (c->hb_due) {
		c->hb_due = false;
		int n = snprintf((char *)txbuf + LWS_PRE, 128,
		                 "{\"type\":\"heart_beat\",\"payload\":{\"client_ts\":%" PRId64
		                 "}}",
		                 epoch_us() / 1000);
		if (send_text(wsi, (size_t)n) < 0)
			return -1;
		st.heartbeats++;
		if (may_send(c) && (opt.rate == 0 || c->due))
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (!may_send(c) || (opt.rate > 0 && !c->due))
		return 0;
	int64_t t = epoch_us();
	if (opt.rate > 0) {
		/* how far behind its schedule the generator is: the oldest due
		 * send was meant for next_send_us - due intervals */
		int64_t lag = mono_us() - (c->next_send_us - send_interval() * c->due);
		if (lag > st.max_send_lag_us)
			st.max_send_lag_us = lag;
		c->due--;
	}
	size_t len = build_message(c, ++c->seq, t);
	if (send_text(wsi, len) < 0)
		return -1;
	c->outstanding++;
	st.sent++;
	if (may_send(c) && (opt.rate == 0 || c->due))
		lws_callback_on_writable(wsi);
	return 0;
}

/* rate mode: one sender's schedule, open loop */
static void
send_timer(lws_sorted_usec_list_t *sul)
{
	struct client *c = lws_container_of(sul, struct client, sul);
	int64_t now = mono_us(), interval = send_interval();

	if (phase != P_RUN || c->state != C_READY)
		return;
	while (c->next_send_us <= now) {
		c->next_send_us += interval;
		if (opt.window && c->outstanding + c->due >= opt.window)
			st.skipped++; /* the server is that far behind: do not pile on */
		else if (c->due < 100000)
			c->due++;
	}
	if (c->due && c->wsi)
		lws_callback_on_writable(c->wsi);
	lws_sul_schedule(ctx, 0, &c->sul, send_timer, (lws_usec_t)(c->next_send_us - now));
}

/* ---- connecting ---- */

static void storm_open(void);

static void
client_gone(struct client *c, bool failed)
{
	if (c->state == C_GONE)
		return;
	if (c->state == C_READY && st.live)
		st.live--;
	else if (c->state == C_OPEN && st.live)
		st.live--;
	if (failed)
		st.failed++;
	bool was_connecting = c->state == C_CONNECTING;
	if (was_connecting && st.connecting)
		st.connecting--;
	c->state = C_GONE;
	c->wsi = NULL;
	lws_sul_cancel(&c->sul);
	if (was_connecting)
		storm_open();
}

static void
open_client(struct client *c)
{
	struct lws_client_connect_info i;
	char path[sizeof(opt.path) + TOKEN_MAX + 16];

	snprintf(path, sizeof(path), "%s%ctoken=%s", opt.path, strchr(opt.path, '?') ? '&' : '?',
	         tokens[c->idx % ntokens]);
	memset(&i, 0, sizeof(i));
	i.context = ctx;
	i.address = opt.host;
	i.port = opt.port;
	i.path = path;
	i.host = opt.host;
	i.origin = NULL; /* no Origin: not a browser, so no allow-list check */
	i.protocol = NULL;
	i.local_protocol_name = "yq-wsload";
	i.iface = opt.nsources ? opt.sources[c->idx % opt.nsources] : NULL;
	i.opaque_user_data = c;
	i.pwsi = &c->wsi;
	/* no lws validity pings: without a policy lws 4.1.6 gives every
	 * connection a 300 s ping timer in one sorted list an insert walks
	 * from its head, and the pings of thousands of idle connections
	 * would be load neither side asked for */
	static const lws_retry_bo_t no_idle_policy = { .secs_since_valid_hangup = 0 };
	i.retry_and_idle_policy = &no_idle_policy;

	c->state = C_CONNECTING;
	c->opened_us = mono_us();
	st.opened++;
	st.connecting++;
	if (!lws_client_connect_via_info(&i) && c->state == C_CONNECTING) {
		tally(st.connect_errors, "connect failed at once");
		client_gone(c, true);
	}
}

/* The storm's connections: all at once, or --storm-inflight handshakes at
 * a time, the next opened as one is established or fails. */
static void
storm_open(void)
{
	static bool busy; /* open_client() can fail at once and come back here */

	if (!opt.storm || !st.storm_start_us || busy)
		return;
	busy = true;
	while (st.opened < opt.conns && (!opt.storm_inflight || st.connecting < opt.storm_inflight))
		open_client(&clients[st.opened]);
	busy = false;
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct client *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	char key[64];

	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (!c)
			break;
		snprintf(key, sizeof(key), "%.60s", in ? (const char *)in : "(unknown)");
		tally(st.connect_errors, key);
		if (opt.verbose)
			lwsl_warn("conn %u: connection error: %s\n", c->idx, key);
		client_gone(c, true);
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!c)
			break;
		c->wsi = wsi;
		if (c->state == C_CONNECTING && st.connecting)
			st.connecting--;
		c->state = C_OPEN;
		st.established++;
		storm_open();
		st.last_established_us = mono_us();
		st.live++;
		/* something to answer, so /ws, which sends nothing by itself,
		 * tells us when the connection is authenticated */
		c->hb_due = true;
		lws_callback_on_writable(wsi);
		/* then every --heartbeat seconds, counted from now (the server's
		 * heartbeat timeout runs while authentication waits), spread */
		c->next_hb_us = mono_us() + (int64_t)opt.heartbeat * 1000000 *
		                                    (int64_t)((c->idx * 2654435761u) % 1000) / 1000;
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!c)
			return -1;
		return receive(c, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!c || c->state == C_GONE)
			return -1;
		return writeable(c, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c && len >= 2)
			c->close_code = ((const unsigned char *)in)[0] << 8 |
			                ((const unsigned char *)in)[1];
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (!c)
			break;
		if (c->closing) {
			st.closed_ok++;
		} else {
			snprintf(key, sizeof(key), "%d", c->close_code);
			tally(st.close_codes, c->close_code ? key : "none");
			if (opt.verbose)
				lwsl_warn("conn %u: closed by the server (%s)\n", c->idx, key);
			if (c->was_ready)
				st.dropped++;
		}
		client_gone(c, !c->was_ready && !c->closing);
		return 0;
	default: break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "yq-wsload", callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* ---- the phases ---- */

static void
enter(enum phase p, int64_t now)
{
	phase = p;
	phase_start_us = now;
	if (opt.verbose)
		lwsl_user("phase %s\n", phase_names[p]);
}

/* QUIET ends when the daemon's send queues are empty (--metrics): a
 * window that opens on a backlog measures the backlog.  A bounded wait
 * (--queue-wait-ms); without an answer from the metrics, --quiet-ms alone. */
static bool
queues_empty(int64_t now)
{
	static int64_t wait_start;

	if (!opt.metrics_port)
		return true;
	if (!wait_start)
		wait_start = now;
	mw.waited = true;
	mw.wait_us = now - wait_start;
	if (mx.have && mx.at_us > wait_start && mx.queue == 0) {
		mw.emptied = true;
		return true;
	}
	if (!mx.have && mx.failed >= 3 && now - wait_start > 2000 * 1000) {
		fprintf(stderr,
		        "yq-wsload: no metrics from %s:%d (%s): the window opens after "
		        "--quiet-ms alone\n",
		        opt.metrics_host, opt.metrics_port, mx.last_error);
		return true;
	}
	if (now - wait_start > (int64_t)opt.queue_wait_ms * 1000) {
		fprintf(stderr,
		        "yq-wsload: the daemon's send queues did not empty within %u ms "
		        "(%" PRId64 " messages queued): measuring anyway\n",
		        opt.queue_wait_ms, mx.queue);
		return true;
	}
	return false;
}

static void
start_run(int64_t now)
{
	run_start_us = now;
	mw.queue_at_start = mx.have ? mx.queue : -1;
	mw.deliveries_start = mx.have ? mx.deliveries : -1;
	st.cli_cpu_start = self_cpu_s();
	if (opt.server_pid)
		st.srv_cpu_start = proc_cpu_s(opt.server_pid);
	enter(P_RUN, now);
	for (unsigned i = 0; i < opt.conns; i++) {
		struct client *c = &clients[i];
		if (!c->sender || c->state != C_READY)
			continue;
		if (opt.rate > 0) {
			/* senders start spread over one interval */
			int64_t interval = send_interval();
			c->next_send_us = now + interval * i / (opt.senders ? opt.senders : 1);
			lws_sul_schedule(ctx, 0, &c->sul, send_timer,
			                 (lws_usec_t)(c->next_send_us - now));
		} else {
			lws_callback_on_writable(c->wsi);
		}
	}
}

static void
end_run(int64_t now)
{
	run_end_us = now;
	run_len_s = (double)(run_end_us - run_start_us) / 1e6;
	mw.queue_at_end = mx.have ? mx.queue : -1;
	mw.deliveries_end = mx.have ? mx.deliveries : -1;
	st.cli_cpu_end = self_cpu_s();
	if (opt.server_pid) {
		/* while the connections are still open */
		st.rss_end_kb = rss_kb(opt.server_pid);
		st.srv_cpu_end = proc_cpu_s(opt.server_pid);
	}
	enter(P_DRAIN, now);
}

static void
close_all(int64_t now)
{
	enter(P_CLOSE, now);
	for (unsigned i = 0; i < opt.conns; i++) {
		struct client *c = &clients[i];
		lws_sul_cancel(&c->sul);
		if (c->state == C_OPEN || c->state == C_READY) {
			c->closing = true;
			lws_callback_on_writable(c->wsi);
		} else if (c->state == C_CONNECTING && c->wsi) {
			c->closing = true;
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		}
	}
}

static void
heartbeats(int64_t now)
{
	if (now < next_hb_scan_us)
		return;
	next_hb_scan_us = now + 100 * 1000;
	for (unsigned i = 0; i < opt.conns; i++) {
		struct client *c = &clients[i];
		if ((c->state == C_OPEN || c->state == C_READY) && !c->closing &&
		    c->next_hb_us <= now) {
			c->next_hb_us += (int64_t)opt.heartbeat * 1000000;
			c->hb_due = true;
			lws_callback_on_writable(c->wsi);
		}
	}
}

static void
progress(int64_t now)
{
	static uint64_t last_received;

	if (opt.json && !opt.verbose)
		return;
	if (now - last_report_us < 1000000)
		return;
	last_report_us = now;
	fprintf(stderr,
	        "[%5.1fs] %-5s opened %u ready %u failed %u dropped %u live %u | sent %" PRIu64
	        " received %" PRIu64 " (+%" PRIu64 ") p99 %" PRIu64 " us\n",
	        (double)(now - start_us) / 1e6, phase_names[phase], st.opened, st.ready, st.failed,
	        st.dropped, st.live, st.sent, st.received, st.received - last_received,
	        hist_quantile(&st.latency, 0.99));
	last_received = st.received;
}

static void
tick(lws_sorted_usec_list_t *sul)
{
	int64_t now = mono_us();

	(void)sul;
	if (opt.server_pid && phase < P_CLOSE && now - st.rss_sampled_us >= 50000) {
		long kb = rss_kb(opt.server_pid);
		st.rss_sampled_us = now;
		if (kb > st.rss_peak_kb)
			st.rss_peak_kb = kb;
	}
	if (interrupted && phase < P_CLOSE) {
		if (phase == P_RUN)
			end_run(now);
		close_all(now);
	}
	switch (phase) {
	case P_RAMP: {
		/* a storm ramps its senders only; the rest come at once later */
		unsigned upto = opt.storm ? opt.senders : opt.conns;
		double want = opt.ramp * (double)(now - ramp_start_us) / 1e6 + 1;
		while (st.opened < upto && (double)st.opened < want)
			open_client(&clients[st.opened]);
		bool settled = st.opened == upto && st.ready + st.failed >= upto;
		int64_t limit =
		        (int64_t)((double)upto / opt.ramp * 1e6) + (int64_t)opt.settle_s * 1000000;
		if (settled || now - ramp_start_us > limit) {
			ramp_len_s = (double)(now - ramp_start_us) / 1e6;
			if (!settled)
				fprintf(stderr,
				        "yq-wsload: not every connection settled within %us "
				        "of the ramp; measuring the rest\n",
				        opt.settle_s);
			enter(P_QUIET, now);
		}
		break;
	}
	case P_QUIET:
		if (now - phase_start_us >= (int64_t)opt.quiet_ms * 1000 && queues_empty(now)) {
			if (opt.storm) {
				/* every other connection, as fast as lws takes them */
				st.storm_start_us = now;
				storm_open();
			}
			start_run(mono_us());
		}
		break;
	case P_RUN:
		storm_open();
		if (opt.storm && !st.storm_ready_us && st.ready + st.failed >= opt.conns)
			st.storm_ready_us = st.last_ready_us ? st.last_ready_us : now;
		/* the window: the storm until it has settled, at least STORM_MIN_US
		 * so a server that settles at once still gets play_controls */
		if (opt.storm && st.storm_ready_us && (!metrics_live() || st.storm_empty_us) &&
		    now - run_start_us >= STORM_MIN_US) {
			st.storm_done = true;
			end_run(now);
		} else if (now - run_start_us >= (int64_t)opt.duration * 1000000) {
			end_run(now);
		}
		break;
	case P_DRAIN:
		if (now - phase_start_us >= (int64_t)opt.drain_ms * 1000)
			close_all(now);
		break;
	case P_CLOSE:
		if (st.live == 0 || now - phase_start_us > 5 * 1000000)
			enter(P_DONE, now);
		break;
	case P_DONE: break;
	}
	heartbeats(now);
	if (phase < P_CLOSE)
		metrics_tick(now);
	progress(now);
	if (phase != P_DONE)
		lws_sul_schedule(ctx, 0, &tick_sul, tick, TICK_US);
	else if (evloop)
		lws_context_destroy(ctx); /* ends the event library's loop */
	else
		lws_cancel_service(ctx);
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* SIGINT inside an event library's loop */
static void
on_evlib_signal(void *handle, int sig)
{
	(void)handle;
	on_signal(sig);
}

/* ---- the report ---- */

/* µs from the storm's start to at; -1 if it did not happen (or not for
 * every connection: all false) */
static int64_t
storm_since(int64_t at, bool all)
{
	return st.storm_start_us && at && all ? at - st.storm_start_us : -1;
}

static double
storm_ms(int64_t us)
{
	return us < 0 ? -1.0 : (double)us / 1e3;
}

static json_object *
hist_json(const struct hist *h, bool p999)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "n", json_object_new_int64((int64_t)h->n));
	json_object_object_add(o, "p50", json_object_new_int64((int64_t)hist_quantile(h, 0.50)));
	json_object_object_add(o, "p90", json_object_new_int64((int64_t)hist_quantile(h, 0.90)));
	json_object_object_add(o, "p99", json_object_new_int64((int64_t)hist_quantile(h, 0.99)));
	if (p999)
		json_object_object_add(o, "p999",
		                       json_object_new_int64((int64_t)hist_quantile(h, 0.999)));
	json_object_object_add(o, "max", json_object_new_int64((int64_t)h->max));
	return o;
}

static json_object *
tally_json(const struct tally *t)
{
	json_object *o = json_object_new_object();

	for (unsigned i = 0; i < CODES_MAX && t[i].key[0]; i++)
		json_object_object_add(o, t[i].key, json_object_new_int64((int64_t)t[i].n));
	return o;
}

static double
pct(double cpu_start, double cpu_end)
{
	return run_len_s > 0 && cpu_start >= 0 && cpu_end >= cpu_start
	               ? 100.0 * (cpu_end - cpu_start) / run_len_s
	               : -1;
}

static json_object *
result_json(void)
{
	json_object *o = json_object_new_object(), *a;
	double dps = run_len_s > 0 ? (double)st.received_window / run_len_s : 0;

	json_object_object_add(o, "url_path", json_object_new_string(opt.path));
	json_object_object_add(o, "type",
	                       json_object_new_string(opt.idle ? "idle" : type_names[opt.type]));
	json_object_object_add(o, "conns", json_object_new_int64(opt.conns));
	json_object_object_add(o, "conns_ok", json_object_new_int64(st.ready));
	json_object_object_add(o, "conns_failed", json_object_new_int64(st.failed));
	json_object_object_add(o, "conns_dropped", json_object_new_int64(st.dropped));
	json_object_object_add(o, "close_codes", tally_json(st.close_codes));
	json_object_object_add(o, "connect_errors", tally_json(st.connect_errors));
	json_object_object_add(o, "senders", json_object_new_int64(st.senders_active));
	json_object_object_add(o, "rate", json_object_new_double(opt.rate));
	json_object_object_add(o, "window", json_object_new_int64(opt.window));
	json_object_object_add(o, "size", json_object_new_int64(opt.size));
	json_object_object_add(o, "sent", json_object_new_int64((int64_t)st.sent));
	json_object_object_add(o, "acked", json_object_new_int64((int64_t)st.acked));
	json_object_object_add(o, "skipped", json_object_new_int64((int64_t)st.skipped));
	json_object_object_add(o, "received", json_object_new_int64((int64_t)st.received));
	json_object_object_add(o, "received_in_window",
	                       json_object_new_int64((int64_t)st.received_window));
	json_object_object_add(o, "deliveries_per_s", json_object_new_double((double)(int64_t)dps));
	a = json_object_new_array();
	for (unsigned i = 0; i < opt.duration && run_len_s > 0 && i < (unsigned)run_len_s; i++)
		json_object_array_add(a, json_object_new_int64((int64_t)st.per_second[i]));
	json_object_object_add(o, "deliveries_per_second", a);
	json_object_object_add(o, "latency_us", hist_json(&st.latency, true));
	json_object_object_add(o, "ack_us", hist_json(&st.ack, false));
	if (opt.type == T_PLAY && !opt.idle) {
		json_object *s = hist_json(&st.skew, false);
		json_object_object_add(s, "broadcasts",
		                       json_object_new_int64((int64_t)st.skew_broadcasts));
		json_object_object_add(
		        s, "receivers_avg",
		        json_object_new_double(st.skew_broadcasts
		                                       ? (double)st.skew_receivers /
		                                                 (double)st.skew_broadcasts
		                                       : 0));
		json_object_object_add(s, "keyed_by_version",
		                       json_object_new_int64((int64_t)st.skew_by_version));
		json_object_object_add(s, "keyed_by_seq",
		                       json_object_new_int64((int64_t)st.skew_by_seq));
		json_object_object_add(o, "skew_us", s);
	}
	if (opt.storm) {
		json_object *s = json_object_new_object();
		json_object_object_add(s, "done", json_object_new_boolean(st.storm_done));
		json_object_object_add(s, "conns", json_object_new_int64(opt.conns - opt.senders));
		json_object_object_add(s, "all_ready_us",
		                       json_object_new_int64(storm_since(st.storm_ready_us, true)));
		/* the WebSocket handshakes alone: what a server that answers
		 * nothing before its first broadcast is measured by */
		json_object_object_add(
		        s, "all_established_us",
		        json_object_new_int64(
		                storm_since(st.last_established_us, st.established >= opt.conns)));
		json_object_object_add(s, "all_answered_us",
		                       json_object_new_int64(storm_since(
		                               st.last_answer_us, st.answered >= opt.conns)));
		json_object_object_add(s, "queues_empty_us",
		                       json_object_new_int64(storm_since(st.storm_empty_us, true)));
		json_object_object_add(
		        s, "ready_on",
		        json_object_new_string(opt.ready_snapshot ? "snapshot" : "any"));
		json_object_object_add(o, "storm", s);
	}
	if (opt.metrics_port) {
		json_object *m = json_object_new_object();
		json_object_object_add(m, "available", json_object_new_boolean(mx.have));
		json_object_object_add(m, "polls_ok", json_object_new_int64((int64_t)mx.ok));
		json_object_object_add(m, "polls_failed",
		                       json_object_new_int64((int64_t)mx.failed));
		if (mx.last_error[0])
			json_object_object_add(m, "last_error",
			                       json_object_new_string(mx.last_error));
		json_object_object_add(m, "waited_for_empty_queues",
		                       json_object_new_boolean(mw.waited));
		json_object_object_add(m, "queues_emptied", json_object_new_boolean(mw.emptied));
		json_object_object_add(m, "wait_ms", json_object_new_int64(mw.wait_us / 1000));
		json_object_object_add(m, "queue_at_start",
		                       json_object_new_int64(mw.queue_at_start));
		json_object_object_add(m, "queue_at_end", json_object_new_int64(mw.queue_at_end));
		json_object_object_add(m, "queue_peak", json_object_new_int64(mx.queue_peak));
		json_object_object_add(
		        m, "server_deliveries_in_window",
		        json_object_new_int64(mw.deliveries_start >= 0 && mw.deliveries_end >= 0
		                                      ? mw.deliveries_end - mw.deliveries_start
		                                      : -1));
		json_object_object_add(o, "metrics", m);
	}
	json_object_object_add(o, "auth_us", hist_json(&st.auth, false));
	json_object *e = json_object_new_object();
	for (int i = 0; i < E_COUNT; i++)
		if (st.errors[i])
			json_object_object_add(e, err_names[i],
			                       json_object_new_int64((int64_t)st.errors[i]));
	json_object_object_add(o, "errors", e);
	json_object_object_add(o, "other_messages", json_object_new_int64((int64_t)st.other_msgs));
	json_object_object_add(o, "heartbeats", json_object_new_int64((int64_t)st.heartbeats));
	json_object_object_add(o, "heartbeat_replies",
	                       json_object_new_int64((int64_t)st.hb_replies));
	json_object_object_add(o, "rx_bytes", json_object_new_int64((int64_t)st.rx_bytes));
	json_object_object_add(o, "tx_bytes", json_object_new_int64((int64_t)st.tx_bytes));
	json_object_object_add(o, "ramp_s", json_object_new_double(ramp_len_s));
	json_object_object_add(o, "duration_s", json_object_new_double(run_len_s));
	if (opt.rate > 0)
		json_object_object_add(o, "max_send_lag_us",
		                       json_object_new_int64(st.max_send_lag_us));
	json_object_object_add(o, "client_cpu_pct",
	                       json_object_new_double(pct(st.cli_cpu_start, st.cli_cpu_end)));
	json_object_object_add(o, "nofile_limit", json_object_new_int64((int64_t)st.nofile));
	json_object_object_add(o, "evlib", json_object_new_string(evlibs[opt.evlib].name));
	if (opt.server_pid) {
		json_object *s = json_object_new_object();
		json_object_object_add(s, "pid", json_object_new_int64(opt.server_pid));
		json_object_object_add(s, "rss_before_kb", json_object_new_int64(st.rss_before_kb));
		json_object_object_add(s, "rss_end_kb", json_object_new_int64(st.rss_end_kb));
		json_object_object_add(s, "rss_peak_kb", json_object_new_int64(st.rss_peak_kb));
		long per = st.ready && st.rss_end_kb >= 0 && st.rss_before_kb >= 0
		                   ? (st.rss_end_kb - st.rss_before_kb) * 1024 / (long)st.ready
		                   : -1;
		json_object_object_add(s, "rss_per_conn_bytes", json_object_new_int64(per));
		json_object_object_add(
		        s, "cpu_pct",
		        json_object_new_double(pct(st.srv_cpu_start, st.srv_cpu_end)));
		/* utime + stime over the window, per broadcast received in it */
		double cpu = st.srv_cpu_start >= 0 && st.srv_cpu_end >= st.srv_cpu_start
		                     ? st.srv_cpu_end - st.srv_cpu_start
		                     : -1;
		json_object_object_add(s, "cpu_s", json_object_new_double(cpu));
		json_object_object_add(
		        s, "cpu_us_per_delivery",
		        json_object_new_double(cpu >= 0 && st.received_window
		                                       ? cpu * 1e6 / (double)st.received_window
		                                       : -1));
		json_object_object_add(o, "server", s);
	}
	return o;
}

static void
print_human(FILE *f, json_object *r)
{
	json_object *v, *w;

	fprintf(f, "yq-wsload: %u connections to %s:%d%s, %s\n", opt.conns, opt.host, opt.port,
	        opt.path, opt.idle ? "idle" : type_names[opt.type]);
	fprintf(f,
	        "  connections  ok %u  failed %u  dropped %u  (ramp %.1f s, auth p50 %" PRIu64
	        " us p99 %" PRIu64 " us)\n",
	        st.ready, st.failed, st.dropped, ramp_len_s, hist_quantile(&st.auth, 0.5),
	        hist_quantile(&st.auth, 0.99));
	if (json_object_object_get_ex(r, "close_codes", &v) && json_object_object_length(v))
		fprintf(f, "  close codes  %s\n", json_object_to_json_string(v));
	if (json_object_object_get_ex(r, "connect_errors", &v) && json_object_object_length(v))
		fprintf(f, "  connect errors %s\n", json_object_to_json_string(v));
	if (!opt.idle) {
		fprintf(f,
		        "  senders %u at %s%g/s (window %u): sent %" PRIu64 "  acked %" PRIu64
		        "  skipped %" PRIu64 "\n",
		        st.senders_active, opt.rate > 0 ? "" : "max ", opt.rate, opt.window,
		        st.sent, st.acked, st.skipped);
		json_object_object_get_ex(r, "deliveries_per_s", &v);
		fprintf(f, "  deliveries   %" PRIu64 " in %.1f s = %.0f/s  (%" PRIu64 " in all)\n",
		        st.received_window, run_len_s, json_object_get_double(v), st.received);
		fprintf(f,
		        "  latency us   p50 %" PRIu64 "  p90 %" PRIu64 "  p99 %" PRIu64
		        "  p99.9 %" PRIu64 "  max %" PRIu64 "\n",
		        hist_quantile(&st.latency, 0.5), hist_quantile(&st.latency, 0.9),
		        hist_quantile(&st.latency, 0.99), hist_quantile(&st.latency, 0.999),
		        st.latency.max);
		fprintf(f, "  sender rtt   p50 %" PRIu64 "  p99 %" PRIu64 "  max %" PRIu64 " us\n",
		        hist_quantile(&st.ack, 0.5), hist_quantile(&st.ack, 0.99), st.ack.max);
		if (opt.type == T_PLAY)
			fprintf(f,
			        "  sync skew us p50 %" PRIu64 "  p99 %" PRIu64 "  max %" PRIu64
			        "  (%" PRIu64 " broadcasts, %.0f receivers each)\n",
			        hist_quantile(&st.skew, 0.5), hist_quantile(&st.skew, 0.99),
			        st.skew.max, st.skew_broadcasts,
			        st.skew_broadcasts
			                ? (double)st.skew_receivers / (double)st.skew_broadcasts
			                : 0);
	} else {
		fprintf(f, "  idle for %.1f s: %" PRIu64 " heart_beats, %" PRIu64 " replies\n",
		        run_len_s, st.heartbeats, st.hb_replies);
	}
	if (opt.storm)
		fprintf(f,
		        "  storm        %u connections: all upgraded after %.1f ms, all answered "
		        "after %.1f ms, all ready after %.1f ms, queues empty after %.1f ms%s\n",
		        opt.conns - opt.senders,
		        storm_ms(storm_since(st.last_established_us, st.established >= opt.conns)),
		        storm_ms(storm_since(st.last_answer_us, st.answered >= opt.conns)),
		        storm_ms(storm_since(st.storm_ready_us, true)),
		        storm_ms(storm_since(st.storm_empty_us, true)),
		        st.storm_done ? "" : " (not done within --duration)");
	if (opt.metrics_port)
		fprintf(f,
		        "  metrics      %s: queues %s before the window (waited %" PRId64
		        " ms; %" PRId64 " queued at start, peak %" PRId64 ")\n",
		        mx.have ? "read" : "unavailable", mw.emptied ? "empty" : "NOT empty",
		        mw.wait_us / 1000, mw.queue_at_start, mx.queue_peak);
	json_object_object_get_ex(r, "errors", &v);
	if (json_object_object_length(v))
		fprintf(f, "  errors       %s\n", json_object_to_json_string(v));
	json_object_object_get_ex(r, "client_cpu_pct", &v);
	fprintf(f, "  client cpu   %.0f%%\n", json_object_get_double(v));
	if (json_object_object_get_ex(r, "server", &v)) {
		json_object_object_get_ex(v, "rss_per_conn_bytes", &w);
		fprintf(f,
		        "  server %ld    RSS %ld kB -> %ld kB (peak %ld kB), %" PRId64
		        " bytes/connection",
		        opt.server_pid, st.rss_before_kb, st.rss_end_kb, st.rss_peak_kb,
		        json_object_get_int64(w));
		json_object_object_get_ex(v, "cpu_pct", &w);
		fprintf(f, ", cpu %.0f%%\n", json_object_get_double(w));
	}
	if (st.errors[E_FORBIDDEN] && opt.type == T_PLAY)
		fprintf(f, "  (play_control needs the owner or a moderator: put the owner's token "
		           "first, or set guest_control)\n");
}

/* ---- set-up ---- */

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: yq-wsload --url ws://127.0.0.1:PORT/ws/rooms/ID --tokens FILE [options]\n"
	        "  --url URL | --host H --port P --path /ws...   the endpoint (loopback only)\n"
	        "  --tokens FILE          access tokens, one a line; connection i uses i %% n\n"
	        "  --conns N              connections (100)\n"
	        "  --sources A,B,...      local addresses (127.x.y.z), round-robin\n"
	        "  --source-range A-B     the same as a range, e.g. 127.0.0.1-127.0.0.40\n"
	        "  --ramp R               connections opened per second (200)\n"
	        "  --senders K            connections 0..K-1 send (1)\n"
	        "  --rate M               messages a second per sender; 0: on every WRITEABLE (0)\n"
	        "  --window W             unanswered messages per sender at most; 0: no limit "
	        "(64)\n"
	        "  --type T               chat_message | custom_event | play_control "
	        "(chat_message)\n"
	        "  --size BYTES           chat text / custom_event payload size (64)\n"
	        "  --duration SEC         measurement window (10)\n"
	        "  --heartbeat SEC        heart_beat interval on every connection (20)\n"
	        "  --idle                 only connect and heart_beat (memory scenario)\n"
	        "  --server-pid PID       report the server's RSS and CPU\n"
	        "  --metrics HOST:PORT    the daemon's Prometheus listener: open the window only\n"
	        "                         once its send queues are empty\n"
	        "  --queue-wait-ms MS     wait at most this for empty queues (30000)\n"
	        "  --storm                open the senders, then every other connection at once;\n"
	        "                         the window lasts until all are ready and the queues\n"
	        "                         are empty (--duration at most)\n"
	        "  --storm-inflight N     with --storm: at most N handshakes under way at a time\n"
	        "                         (0: every connection at once; default 0)\n"
	        "  --ready-on any|snapshot  authenticated at the first message or the snapshot "
	        "(any)\n"
	        "  --quiet-ms MS          pause between ramp and window (1000)\n"
	        "  --drain-ms MS          wait for messages in flight after the window (2000)\n"
	        "  --settle SEC           give up waiting for the ramp to settle after (60)\n"
	        "  --evlib ev|uv|poll     lws event loop (ev; poll if the plugin is missing)\n"
	        "  --json                 print the result as one JSON object on stdout\n"
	        "  --verbose              log phases, errors and closes to stderr\n");
}

static bool
loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static int
parse_url(const char *url)
{
	const char *p = url, *e;

	if (strncasecmp(p, "ws://", 5) != 0) {
		fprintf(stderr, "yq-wsload: only ws:// URLs (loopback, no TLS)\n");
		return -1;
	}
	p += 5;
	size_t hl = strcspn(p, ":/?");
	if (!hl || hl >= sizeof(opt.host))
		return -1;
	memcpy(opt.host, p, hl);
	opt.host[hl] = '\0';
	p += hl;
	opt.port = 80;
	if (*p == ':') {
		long port = strtol(p + 1, (char **)&e, 10);
		if (e == p + 1 || port < 1 || port > 65535)
			return -1;
		opt.port = (int)port;
		p = e;
	}
	if (strlen(p) >= sizeof(opt.path))
		return -1;
	snprintf(opt.path, sizeof(opt.path), "%s", *p ? p : "/");
	return 0;
}

static int
add_source(const char *s, size_t len)
{
	char a[INET_ADDRSTRLEN];
	struct in_addr in;

	if (len >= sizeof(a) || opt.nsources >= SOURCES_MAX)
		return -1;
	memcpy(a, s, len);
	a[len] = '\0';
	if (inet_pton(AF_INET, a, &in) != 1 || !loopback(a))
		return -1;
	if (!opt.sources && !(opt.sources = calloc(SOURCES_MAX, sizeof(*opt.sources))))
		return -1;
	memcpy(opt.sources[opt.nsources++], a, len + 1);
	return 0;
}

static int
parse_sources(const char *list)
{
	while (*list) {
		size_t l = strcspn(list, ",");
		if (l && add_source(list, l) < 0)
			return -1;
		list += l;
		if (*list == ',')
			list++;
	}
	return opt.nsources ? 0 : -1;
}

static int
parse_range(const char *r)
{
	char lo[INET_ADDRSTRLEN], hi[INET_ADDRSTRLEN];
	struct in_addr a, b;
	const char *dash = strchr(r, '-');

	if (!dash || (size_t)(dash - r) >= sizeof(lo) || strlen(dash + 1) >= sizeof(hi))
		return -1;
	memcpy(lo, r, (size_t)(dash - r));
	lo[dash - r] = '\0';
	snprintf(hi, sizeof(hi), "%s", dash + 1);
	if (inet_pton(AF_INET, lo, &a) != 1 || inet_pton(AF_INET, hi, &b) != 1)
		return -1;
	uint32_t x = ntohl(a.s_addr), y = ntohl(b.s_addr);
	if (y < x || y - x >= SOURCES_MAX)
		return -1;
	for (uint32_t v = x; v <= y; v++) {
		struct in_addr n = { .s_addr = htonl(v) };
		char s[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &n, s, sizeof(s));
		if (add_source(s, strlen(s)) < 0)
			return -1;
	}
	return 0;
}

/* --metrics 127.0.0.1:PORT (loopback, IPv4) */
static int
parse_metrics(const char *hp)
{
	const char *colon = strrchr(hp, ':');
	struct in_addr a;
	char *e;

	if (!colon || (size_t)(colon - hp) >= sizeof(opt.metrics_host))
		return -1;
	memcpy(opt.metrics_host, hp, (size_t)(colon - hp));
	opt.metrics_host[colon - hp] = '\0';
	long port = strtol(colon + 1, &e, 10);
	if (*e || port < 1 || port > 65535 || inet_pton(AF_INET, opt.metrics_host, &a) != 1 ||
	    !loopback(opt.metrics_host))
		return -1;
	opt.metrics_port = (int)port;
	return 0;
}

static int
load_tokens(const char *file)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned tcap = 0;

	if (!f) {
		fprintf(stderr, "yq-wsload: %s: %s\n", file, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		if (n > TOKEN_MAX ||
		    strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                 "0123456789-_.~") != (size_t)n) {
			fprintf(stderr, "yq-wsload: %s: a token that is too long or not URL-safe\n",
			        file);
			break;
		}
		if (ntokens == tcap) {
			tcap = tcap ? tcap * 2 : 1024;
			char **t = realloc(tokens, tcap * sizeof(*t));
			if (!t)
				break;
			tokens = t;
		}
		if (!(tokens[ntokens] = strdup(line)))
			break;
		ntokens++;
	}
	free(line);
	fclose(f);
	if (!ntokens)
		fprintf(stderr, "yq-wsload: no tokens in %s\n", file);
	return ntokens ? 0 : -1;
}

static bool
num(const char *s, double lo, double hi, double *out)
{
	char *e;
	double v = strtod(s, &e);

	if (e == s || *e || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

static int
parse_args(int argc, char **argv)
{
	enum {
		O_URL = 256,
		O_HOST,
		O_PORT,
		O_PATH,
		O_TOKENS,
		O_CONNS,
		O_SOURCES,
		O_RANGE,
		O_RAMP,
		O_SENDERS,
		O_RATE,
		O_WINDOW,
		O_TYPE,
		O_SIZE,
		O_DURATION,
		O_HEARTBEAT,
		O_IDLE,
		O_JSON,
		O_PID,
		O_QUIET,
		O_DRAIN,
		O_SETTLE,
		O_EVLIB,
		O_VERBOSE,
		O_METRICS,
		O_QWAIT,
		O_STORM,
		O_STORM_INFLIGHT,
		O_READY_ON,
		O_HELP
	};
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, O_URL },
		{ "host", required_argument, NULL, O_HOST },
		{ "port", required_argument, NULL, O_PORT },
		{ "path", required_argument, NULL, O_PATH },
		{ "tokens", required_argument, NULL, O_TOKENS },
		{ "conns", required_argument, NULL, O_CONNS },
		{ "sources", required_argument, NULL, O_SOURCES },
		{ "source-range", required_argument, NULL, O_RANGE },
		{ "ramp", required_argument, NULL, O_RAMP },
		{ "senders", required_argument, NULL, O_SENDERS },
		{ "rate", required_argument, NULL, O_RATE },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "type", required_argument, NULL, O_TYPE },
		{ "size", required_argument, NULL, O_SIZE },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "heartbeat", required_argument, NULL, O_HEARTBEAT },
		{ "idle", no_argument, NULL, O_IDLE },
		{ "json", no_argument, NULL, O_JSON },
		{ "server-pid", required_argument, NULL, O_PID },
		{ "quiet-ms", required_argument, NULL, O_QUIET },
		{ "drain-ms", required_argument, NULL, O_DRAIN },
		{ "settle", required_argument, NULL, O_SETTLE },
		{ "evlib", required_argument, NULL, O_EVLIB },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "queue-wait-ms", required_argument, NULL, O_QWAIT },
		{ "storm", no_argument, NULL, O_STORM },
		{ "storm-inflight", required_argument, NULL, O_STORM_INFLIGHT },
		{ "ready-on", required_argument, NULL, O_READY_ON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	double v;
	int o;

	while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		bool ok = true;
		switch (o) {
		case O_URL: ok = parse_url(optarg) == 0; break;
		case O_HOST:
			ok = strlen(optarg) < sizeof(opt.host);
			if (ok)
				snprintf(opt.host, sizeof(opt.host), "%s", optarg);
			break;
		case O_PORT:
			if ((ok = num(optarg, 1, 65535, &v)))
				opt.port = (int)v;
			break;
		case O_PATH:
			ok = optarg[0] == '/' && strlen(optarg) < sizeof(opt.path);
			if (ok)
				snprintf(opt.path, sizeof(opt.path), "%s", optarg);
			break;
		case O_TOKENS: opt.tokens_file = optarg; break;
		case O_CONNS:
			if ((ok = num(optarg, 1, CONNS_MAX, &v)))
				opt.conns = (unsigned)v;
			break;
		case O_SOURCES: ok = parse_sources(optarg) == 0; break;
		case O_RANGE: ok = parse_range(optarg) == 0; break;
		case O_RAMP: ok = num(optarg, 0.1, 1e6, &opt.ramp); break;
		case O_SENDERS:
			if ((ok = num(optarg, 0, CONNS_MAX, &v)))
				opt.senders = (unsigned)v;
			break;
		case O_RATE: ok = num(optarg, 0, 1e6, &opt.rate); break;
		case O_WINDOW:
			if ((ok = num(optarg, 0, 1e6, &v)))
				opt.window = (unsigned)v;
			break;
		case O_TYPE:
			ok = false;
			for (int i = 0; i < 3; i++)
				if (strcmp(optarg, type_names[i]) == 0) {
					opt.type = (enum msg_type)i;
					ok = true;
				}
			break;
		case O_SIZE:
			if ((ok = num(optarg, 0, 60000, &v)))
				opt.size = (unsigned)v;
			break;
		case O_DURATION:
			if ((ok = num(optarg, 1, DURATION_MAX, &v)))
				opt.duration = (unsigned)v;
			break;
		case O_HEARTBEAT:
			if ((ok = num(optarg, 1, 3600, &v)))
				opt.heartbeat = (unsigned)v;
			break;
		case O_IDLE: opt.idle = true; break;
		case O_JSON: opt.json = true; break;
		case O_PID:
			if ((ok = num(optarg, 1, 4194304, &v)))
				opt.server_pid = (long)v;
			break;
		case O_QUIET:
			if ((ok = num(optarg, 0, 600000, &v)))
				opt.quiet_ms = (unsigned)v;
			break;
		case O_DRAIN:
			if ((ok = num(optarg, 0, 600000, &v)))
				opt.drain_ms = (unsigned)v;
			break;
		case O_SETTLE:
			if ((ok = num(optarg, 1, 3600, &v)))
				opt.settle_s = (unsigned)v;
			break;
		case O_EVLIB:
			ok = false;
			for (int i = 0; i < (int)(sizeof(evlibs) / sizeof(evlibs[0])); i++)
				if (strcmp(optarg, evlibs[i].name) == 0) {
					opt.evlib = i;
					ok = true;
				}
			break;
		case O_VERBOSE: opt.verbose = true; break;
		case O_METRICS: ok = parse_metrics(optarg) == 0; break;
		case O_QWAIT:
			if ((ok = num(optarg, 0, 3600000, &v)))
				opt.queue_wait_ms = (unsigned)v;
			break;
		case O_STORM: opt.storm = true; break;
		case O_STORM_INFLIGHT:
			if ((ok = num(optarg, 0, 1000000, &v)))
				opt.storm_inflight = (unsigned)v;
			break;
		case O_READY_ON:
			ok = strcmp(optarg, "any") == 0 || strcmp(optarg, "snapshot") == 0;
			opt.ready_snapshot = ok && optarg[0] == 's';
			break;
		case O_HELP: usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
		if (!ok) {
			fprintf(stderr, "yq-wsload: bad value for --%s: %s\n",
			        longopts[o - O_URL].name, optarg ? optarg : "");
			return -1;
		}
	}
	if (optind < argc || !opt.host[0] || !opt.port || !opt.path[0] || !opt.tokens_file) {
		usage(stderr);
		return -1;
	}
	if (!loopback(opt.host)) {
		fprintf(stderr, "yq-wsload: %s is not a loopback address; refusing\n", opt.host);
		return -1;
	}
	if (opt.idle)
		opt.senders = 0;
	if (opt.storm && (opt.idle || opt.senders == 0 || opt.rate <= 0)) {
		fprintf(stderr, "yq-wsload: --storm needs senders sending at a --rate\n");
		return -1;
	}
	if (opt.senders > opt.conns)
		opt.senders = opt.conns;
	if (opt.type == T_CHAT && opt.size > 2000) {
		fprintf(stderr, "yq-wsload: chat text is at most 2000 characters (--size)\n");
		return -1;
	}
	return 0;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	/* lws sizes its fd table by this limit; a smaller table it was told of
	 * (fd_limit_per_thread) it searches from end to end for every event
	 * (wsi_from_fd: 7% of the generator in a join storm of 1,000), so the
	 * limit itself is made what the run needs */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t want = (rlim_t)opt.conns + 256;
		rl.rlim_cur =
		        rl.rlim_max == RLIM_INFINITY || want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
		st.nofile = rl.rlim_cur;
	}
	if (st.nofile < (rlim_t)opt.conns + 100)
		fprintf(stderr,
		        "yq-wsload: open file limit %llu is below --conns + 100 (%u): "
		        "connections beyond it will fail\n",
		        (unsigned long long)st.nofile, opt.conns + 100);
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	int rc = 0;

	int pa = parse_args(argc, argv);
	if (pa != 0)
		return pa < 0 ? 2 : 0; /* a mistake, or --help */
	if (load_tokens(opt.tokens_file) < 0)
		return 2;
	raise_nofile();
	clients = calloc(opt.conns, sizeof(*clients));
	st.per_second = calloc(opt.duration, sizeof(*st.per_second));
	skew = opt.type == T_PLAY ? calloc(SKEW_RING, sizeof(*skew)) : NULL;
	mx.buf = opt.metrics_port ? malloc(METRICS_BUF) : NULL;
	if (!clients || !st.per_second || (opt.type == T_PLAY && !skew) ||
	    (opt.metrics_port && !mx.buf)) {
		fprintf(stderr, "yq-wsload: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < opt.conns; i++) {
		clients[i].idx = i;
		clients[i].sender = i < opt.senders;
	}

	lws_set_log_level(opt.verbose ? LLL_ERR | LLL_WARN | LLL_USER : LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | evlibs[opt.evlib].option;
	info.signal_cb = on_evlib_signal;
	/* the fd table: as big as the open file limit (raise_nofile) */
	info.count_threads = 1;
	info.timeout_secs = 30;
	info.connect_timeout_secs = 30;
	ctx = lws_create_context(&info);
	if (!ctx && evlibs[opt.evlib].option) {
		fprintf(stderr, "yq-wsload: no lws event library \"%s\"; using poll(2)\n",
		        evlibs[opt.evlib].name);
		opt.evlib = (int)(sizeof(evlibs) / sizeof(evlibs[0])) - 1;
		info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
		ctx = lws_create_context(&info);
	}
	if (!ctx) {
		fprintf(stderr, "yq-wsload: lws_create_context failed\n");
		return 1;
	}
	evloop = evlibs[opt.evlib].option != 0;
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (opt.server_pid && (st.rss_before_kb = rss_kb(opt.server_pid)) < 0)
		fprintf(stderr, "yq-wsload: cannot read /proc/%ld/status\n", opt.server_pid);
	start_us = ramp_start_us = last_report_us = mono_us();
	enter(P_RAMP, start_us);
	lws_sul_schedule(ctx, 0, &tick_sul, tick, 1);
	if (evloop) {
		/* the event library's loop runs until tick() destroys the context */
		while (!lws_service(ctx, 0))
			;
	} else {
		while (phase != P_DONE && lws_service(ctx, 0) >= 0)
			;
		lws_sul_cancel(&tick_sul);
	}
	lws_context_destroy(ctx);
	skew_flush();

	json_object *r = result_json();
	if (opt.json) {
		print_human(stderr, r);
		printf("%s\n", json_object_to_json_string_ext(
		                       r, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		print_human(stdout, r);
	}
	json_object_put(r);
	if (st.ready == 0)
		rc = 1;
	for (unsigned i = 0; i < ntokens; i++)
		free(tokens[i]);
	free(tokens);
	free(clients);
	free(st.per_second);
	free(skew);
	free(mx.buf);
	if (mx.fd >= 0)
		close(mx.fd);
	free(opt.sources);
	return rc;
}
