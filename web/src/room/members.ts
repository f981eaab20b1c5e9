// The member list as the room socket keeps it current: what a snapshot
// says (all of it, or in a large room only the first ws.snapshot_members,
// doc/protocol.md "Large rooms") and what presence batches change.
import type { Member } from '../types';

/** The list after a snapshot: a whole list replaces ours; a partial one
 * (members_partial) updates the members it names and keeps the others we
 * have (from GET /rooms/{id}), whose online flags the batches keep. */
export function mergeSnapshot(have: Member[], listed: Member[], partial: boolean): Member[] {
  if (!partial) return listed;
  const byId = new Map<number, Member>();
  for (const m of have) byId.set(m.id, m);
  for (const m of listed) byId.set(m.id, m);
  return [...byId.values()];
}

const idOf = (e: unknown): number | null =>
  typeof e === 'number' ? e : typeof (e as { user_id?: unknown })?.user_id === 'number' ? (e as { user_id: number }).user_id : null;

/** A large room's presence batch: {online: [user_id], offline: [user_id]}
 * (entries of the older {user_id, username} form are read too). */
export function applyPresence(have: Member[], online: unknown, offline: unknown): Member[] {
  const state = new Map<number, boolean>();
  for (const e of Array.isArray(online) ? online : []) {
    const id = idOf(e);
    if (id !== null) state.set(id, true);
  }
  for (const e of Array.isArray(offline) ? offline : []) {
    const id = idOf(e);
    if (id !== null) state.set(id, false);
  }
  if (!state.size || !have.some((m) => state.has(m.id) && state.get(m.id) !== m.online)) return have;
  return have.map((m) => (state.has(m.id) && state.get(m.id) !== m.online ? { ...m, online: state.get(m.id)! } : m));
}
