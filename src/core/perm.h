/*
 * perm.h - the room permission model (SPEC section 3), one table for the
 * REST app and the ws daemon alike.
 *
 *   action                                   owner  moderator  member
 *   chat, custom_event                         x       x         x
 *   control playback                           x       x      guest_control
 *   invite, review applications                x       x
 *   kick (only lower roles)                    x       x
 *   change config, set roles, transfer,        x
 *   dissolve
 */
#ifndef YQ_PERM_H
#define YQ_PERM_H

#include <stdbool.h>

enum yq_role { YQ_ROLE_NONE = 0, YQ_ROLE_MEMBER, YQ_ROLE_MODERATOR, YQ_ROLE_OWNER };

enum yq_action {
	YQ_ACT_NONE = -1, /* sentinel: no permission needed (yq_perm_allowed says no) */
	YQ_ACT_CHAT,
	YQ_ACT_CUSTOM_EVENT,
	YQ_ACT_CONTROL,
	YQ_ACT_INVITE,
	YQ_ACT_REVIEW,
	YQ_ACT_KICK,
	YQ_ACT_CONFIG,
	YQ_ACT_SET_ROLE,
	YQ_ACT_TRANSFER,
	YQ_ACT_DISSOLVE,
	YQ_ACT_COUNT /* the number of actions, not an action */
};

/* May someone with role do act in a room whose guest_control is as given? */
bool yq_perm_allowed(enum yq_role role, enum yq_action act, bool guest_control);
/* Kicking also needs the target's role to be lower than the actor's. */
bool yq_perm_can_kick(enum yq_role actor, enum yq_role target);

enum yq_role yq_role_parse(const char *s); /* NULL or unknown: YQ_ROLE_NONE */
const char *yq_role_name(enum yq_role role);

#endif
