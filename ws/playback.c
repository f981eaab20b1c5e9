/*
 * playback.c - the authoritative playback state and its arithmetic.
 *
 * The state is {media_url, playing, position_ms, rate, version,
 * updated_at_ms}; the position now is position_ms + (now - updated_at_ms)
 * * rate while playing.  Every change takes version + 1.  Play, pause,
 * seek and rate are scheduled a short lead ahead (execute_at_ms, the
 * server time every client applies them at): the stored state's
 * updated_at_ms is that time.  Changes are
 * applied by the database worker under the room's playback row lock, so
 * all nodes agree on one sequence of versions; this file is the pure part,
 * shared by the worker and the unit tests.
 */
#include "config.h"

#include "core/json.h"
#include "core/util.h"
#include "ws/ws.h"

static int64_t
clamp_i64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static double
clamp_rate(double r)
{
	if (!(r == r)) /* NaN */
		return 1.0;
	return r < PB_RATE_MIN ? PB_RATE_MIN : r > PB_RATE_MAX ? PB_RATE_MAX : r;
}

void
playback_sanitize(struct yq_playback *p, int64_t now)
{
	p->position_ms = clamp_i64(p->position_ms, 0, PB_POSITION_MAX_MS);
	p->rate = clamp_rate(p->rate);
	int64_t ahead = now > INT64_MAX - PB_AHEAD_MAX_MS ? INT64_MAX : now + PB_AHEAD_MAX_MS;
	if (p->updated_at_ms < 0)
		p->updated_at_ms = 0;
	else if (p->updated_at_ms > ahead)
		p->updated_at_ms = now > 0 ? now : 0;
}

int64_t
playback_position(const struct yq_playback *p, int64_t now)
{
	int64_t pos = clamp_i64(p->position_ms, 0, PB_POSITION_MAX_MS);

	/* before updated_at_ms (a command scheduled ahead, or a clock that
	 * went back) the state has not started to move */
	if (!p->playing || p->updated_at_ms == 0 || now <= p->updated_at_ms)
		return pos;
	/* in double, so neither the difference nor the product can overflow;
	 * the result is clamped before it becomes an integer again */
	double d = (double)pos + ((double)now - (double)p->updated_at_ms) * clamp_rate(p->rate);
	if (!(d > 0))
		return 0;
	return d >= (double)PB_POSITION_MAX_MS ? PB_POSITION_MAX_MS : (int64_t)d;
}

static const char *const actions[] = { "play", "pause", "seek", "load", "rate", "sync" };

const char *
playback_action_name(enum pb_action a)
{
	return a <= PB_SYNC ? actions[a] : "?";
}

bool
playback_scheduled(enum pb_action a)
{
	return a == PB_PLAY || a == PB_PAUSE || a == PB_SEEK || a == PB_RATE;
}

void
playback_apply(struct yq_playback *p, const struct pb_change *c, int64_t now, int64_t at)
{
	playback_sanitize(p, now);
	/* play, pause, seek and rate take effect at `at` (execute_at_ms), and
	 * never before a change already scheduled; the others at once */
	if (!playback_scheduled(c->action) || at < now || at - now > PB_AHEAD_MAX_MS)
		at = now;
	if (at < p->updated_at_ms)
		at = p->updated_at_ms;
	/* where the media is then, unless the change says where */
	int64_t pos = c->has_position ? clamp_i64(c->position_ms, 0, PB_POSITION_MAX_MS)
	                              : playback_position(p, at);

	switch (c->action) {
	case PB_PLAY: p->playing = true; break;
	case PB_PAUSE: p->playing = false; break;
	case PB_SEEK: break;
	case PB_LOAD:
		yq_strlcpy(p->media_url, c->media_url, sizeof(p->media_url));
		p->playing = false;
		if (!c->has_position)
			pos = 0;
		break;
	case PB_RATE: p->rate = clamp_rate(c->rate); break;
	case PB_SYNC: p->playing = c->playing; break;
	}
	p->position_ms = pos;
	p->version++;
	p->updated_at_ms = at;
}

json_object *
playback_event(const struct yq_playback *p, const struct pb_change *c, int64_t by_id,
               const char *by_name)
{
	json_object *o = json_object_new_object();

	if (c->action != PB_SYNC)
		yq_json_add_str(o, "action", playback_action_name(c->action));
	yq_json_add_int(o, "position_ms", p->position_ms);
	yq_json_add_str(o, "state", p->playing ? "playing" : "paused");
	json_object_object_add(o, "rate", json_object_new_double(p->rate));
	yq_json_add_str(o, "media_url", p->media_url);
	yq_json_add_int(o, "version", (long long)p->version);
	if (c->action != PB_SYNC) {
		json_object *by = json_object_new_object();
		yq_json_add_int(by, "id", by_id);
		yq_json_add_str(by, "username", by_name);
		json_object_object_add(o, "by", by);
	}
	yq_json_add_int(o, "server_ts", p->updated_at_ms);
	if (playback_scheduled(c->action))
		yq_json_add_int(o, "execute_at_ms", p->updated_at_ms);
	return o;
}
