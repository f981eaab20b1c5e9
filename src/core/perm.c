/*
 * perm.c - see perm.h.  The table holds the lowest role allowed for each
 * action; guest_control is the one cell that depends on the room.
 */
#include "config.h"

#include "core/perm.h"

#include <string.h>

static const enum yq_role lowest[YQ_ACT_COUNT] = {
	[YQ_ACT_CHAT] = YQ_ROLE_MEMBER,       [YQ_ACT_CUSTOM_EVENT] = YQ_ROLE_MEMBER,
	[YQ_ACT_CONTROL] = YQ_ROLE_MODERATOR, /* YQ_ROLE_MEMBER with guest_control */
	[YQ_ACT_INVITE] = YQ_ROLE_MODERATOR,  [YQ_ACT_REVIEW] = YQ_ROLE_MODERATOR,
	[YQ_ACT_KICK] = YQ_ROLE_MODERATOR,    [YQ_ACT_CONFIG] = YQ_ROLE_OWNER,
	[YQ_ACT_SET_ROLE] = YQ_ROLE_OWNER,    [YQ_ACT_TRANSFER] = YQ_ROLE_OWNER,
	[YQ_ACT_DISSOLVE] = YQ_ROLE_OWNER,
};

bool
yq_perm_allowed(enum yq_role role, enum yq_action act, bool guest_control)
{
	if (role == YQ_ROLE_NONE || act < 0 || act >= YQ_ACT_COUNT)
		return false;
	enum yq_role need = lowest[act];
	if (act == YQ_ACT_CONTROL && guest_control)
		need = YQ_ROLE_MEMBER;
	return role >= need;
}

bool
yq_perm_can_kick(enum yq_role actor, enum yq_role target)
{
	return yq_perm_allowed(actor, YQ_ACT_KICK, false) && target != YQ_ROLE_NONE &&
	       target < actor;
}

static const char *const names[] = { "none", "member", "moderator", "owner" };

enum yq_role
yq_role_parse(const char *s)
{
	for (int i = YQ_ROLE_MEMBER; s && i <= YQ_ROLE_OWNER; i++)
		if (strcmp(s, names[i]) == 0)
			return (enum yq_role)i;
	return YQ_ROLE_NONE;
}

const char *
yq_role_name(enum yq_role role)
{
	return role >= YQ_ROLE_NONE && role <= YQ_ROLE_OWNER ? names[role] : "none";
}
