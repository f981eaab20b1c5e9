// The room page's controller: the room as REST shows it to us (by
// my_role), and, for members, the live state from /ws/rooms/{id}: members
// with presence, chat, playback and sync health.  Views read its signals;
// incoming messages go through the handlers table below.
import { signal, computed, batch } from '@preact/signals';
import { get, me } from '../api';
import { socket, lastClose, clock, localNow, type ServerMessage } from '../ws';
import { onNotification, membershipChanged } from '../notify';
import { PlaybackTimeline, type PlaybackState } from '../sync/playback';
import { applyPresence, mergeSnapshot } from './members';
import type { ChatMessage, Member, MemberHealth, Role, Room, RoomConfig, UserRef } from '../types';

export type Ended = 'kicked' | 'left' | 'dissolved' | 'not_found' | null;
const MAX_CHAT = 500;

export class RoomController {
  readonly id: number;
  readonly room = signal<Room | null>(null);
  readonly loadError = signal<unknown>(null);
  readonly members = signal<Member[]>([]);
  readonly messages = signal<ChatMessage[]>([]);
  readonly health = signal<Map<number, MemberHealth>>(new Map());
  /** Bumped whenever the timeline changes (the player re-evaluates). */
  readonly playbackVersion = signal(0);
  private dueTimer: ReturnType<typeof setTimeout> | undefined;
  readonly timeline = new PlaybackTimeline();
  readonly lastBy = signal<UserRef | null>(null);
  readonly ended = signal<Ended>(null);
  readonly live = signal(false);
  /** Out of a room we may no longer even see (a private room after a kick). */
  readonly hidden = signal(false);

  readonly role = computed<Role>(() => this.room.value?.my_role ?? 'none');
  readonly config = computed<RoomConfig | null>(() => this.room.value?.config ?? null);
  readonly isMember = computed(() => ['owner', 'moderator', 'member'].includes(this.role.value));
  readonly canModerate = computed(() => this.role.value === 'owner' || this.role.value === 'moderator');
  readonly canControl = computed(() => {
    const c = this.config.value;
    if (!c || !c.sync_playback) return false;
    return this.canModerate.value || (this.role.value === 'member' && c.guest_control);
  });

  private offs: (() => void)[] = [];

  constructor(id: number) {
    this.id = id;
  }

  async start(): Promise<void> {
    const h = this.handlers;
    for (const type of Object.keys(h)) this.offs.push(socket.on(type, (m) => h[type].call(this, m)));
    this.offs.push(
      onNotification((n) => {
        if (Number(n.content?.room_id) !== this.id) return;
        // approved, invited, ...: our role may have changed
        if (['application_approved', 'application_rejected', 'room_invite'].includes(n.type)) void this.reload();
      }),
    );
    let first = true;
    this.offs.push(
      membershipChanged.subscribe(() => {
        if (!first) void this.reload();
        first = false;
      }),
    );
    const stopClose = lastClose.subscribe((c) => {
      if (!c || c.path !== this.wsPath()) return;
      lastClose.value = null;
      this.live.value = false;
      if (c.code === 4404) this.end('dissolved');
      else void this.reload(true);
    });
    this.offs.push(stopClose);
    await this.reload();
  }

  stop(): void {
    this.offs.forEach((f) => f());
    this.offs = [];
    if (socket.current === this.wsPath()) socket.open('/ws');
  }

  private wsPath(): string {
    return `/ws/rooms/${this.id}`;
  }

  /** Fetch the room and connect to it if we are a member. afterClose: the socket told us we are out. */
  async reload(afterClose = false): Promise<void> {
    let r: Room;
    try {
      r = await get<Room>(`/rooms/${this.id}`);
    } catch (e) {
      if ((e as { status?: number }).status === 404) {
        // a private room we were kicked from is 404 now too: keep "kicked"
        if (!this.ended.value) this.end(this.room.value ? 'dissolved' : 'not_found');
        else {
          batch(() => {
            this.hidden.value = true;
            if (this.room.value) this.room.value = { ...this.room.value, my_role: 'none' };
          });
          this.end(this.ended.value);
        }
      } else this.loadError.value = e;
      return;
    }
    const wasMember = this.isMember.value;
    batch(() => {
      this.room.value = r;
      this.loadError.value = null;
      if (r.members) this.members.value = r.members;
    });
    if (this.isMember.value) {
      if (r.playback && this.timeline.offer(r.playback, clock.serverNow(localNow()))) this.playbackVersion.value++;
      socket.open(this.wsPath());
    } else {
      if ((wasMember || afterClose) && !this.ended.value) this.ended.value = 'kicked';
      if (socket.current === this.wsPath()) socket.open('/ws');
    }
  }

  end(why: Ended): void {
    batch(() => {
      this.ended.value = why;
      this.live.value = false;
    });
    if (socket.current === this.wsPath()) socket.open('/ws');
  }

  private mine(m: ServerMessage): boolean {
    // room messages carry room_id where the protocol defines one; the
    // socket is ours alone, so anything else on it belongs to this room
    const rid = m.payload?.room_id;
    return socket.current === this.wsPath() && (rid === undefined || Number(rid) === this.id);
  }

  setRole(userId: number, role: Member['role']): void {
    this.members.value = this.members.value.map((x) => (x.id === userId ? { ...x, role } : x));
    if (userId === me.value?.id && this.room.value) this.room.value = { ...this.room.value, my_role: role };
  }

  adoptPlayback(p: PlaybackState | null | undefined, by?: UserRef): void {
    if (!p || typeof p.version !== 'number') return;
    if (this.timeline.offer(p, clock.serverNow(localNow()))) {
      if (by) this.lastBy.value = by;
      this.playbackVersion.value++;
      this.whenDue();
    }
  }

  /** A command scheduled for later (execute_at_ms) changes what the page
   * shows when it takes effect, not when it arrives: tell the views then. */
  private whenDue(): void {
    const due = this.timeline.msUntilPending(clock.serverNow(localNow()));
    if (due === null) return;
    clearTimeout(this.dueTimer);
    this.dueTimer = setTimeout(() => {
      this.timeline.at(clock.serverNow(localNow()));
      this.playbackVersion.value++;
      this.whenDue(); // still early (the clock estimate moved): once more
    }, due + 1);
  }

  /** type -> handler (cf. ws/protocol.c on the server). */
  private handlers: Record<string, (this: RoomController, m: ServerMessage) => void> = {
    room_event(m) {
      if (!this.mine(m)) return;
      const p = m.payload;
      const ev = roomEvents[p.event as string];
      if (ev) ev.call(this, p, m);
    },
    presence(m) {
      if (!this.mine(m)) return;
      this.members.value = applyPresence(this.members.value, m.payload?.online, m.payload?.offline);
    },
    user_status(m) {
      if (!this.mine(m)) return;
      const { user_id, online } = m.payload;
      this.members.value = this.members.value.map((x) => (x.id === user_id ? { ...x, online: !!online } : x));
    },
    chat_message(m) {
      if (!this.mine(m)) return;
      const c = m.payload as ChatMessage;
      if (this.messages.value.some((x) => x.id === c.id)) return;
      this.messages.value = [...this.messages.value, c].slice(-MAX_CHAT);
    },
    play_control(m) {
      if (!this.mine(m)) return;
      const p = m.payload;
      this.adoptPlayback(
        {
          media_url: p.media_url ?? null,
          state: p.state,
          position_ms: p.position_ms,
          rate: p.rate ?? 1,
          version: p.version,
          updated_at_ms: p.execute_at_ms ?? p.updated_at_ms ?? p.server_ts ?? m.ts,
        },
        p.by,
      );
    },
    progress_sync(m) {
      if (!this.mine(m)) return;
      const p = m.payload;
      this.adoptPlayback({
        media_url: p.media_url ?? null, state: p.state, position_ms: p.position_ms, rate: p.rate ?? 1,
        version: p.version, updated_at_ms: p.execute_at_ms ?? p.updated_at_ms ?? p.server_ts ?? m.ts,
      });
    },
    sync_health(m) {
      if (!this.mine(m)) return;
      const next = new Map(this.health.value);
      for (const h of (m.payload?.members ?? []) as MemberHealth[]) if (typeof h.user_id === 'number') next.set(h.user_id, h);
      this.health.value = next;
    },
  };
}

type RoomEventHandler = (this: RoomController, p: any, m: ServerMessage) => void;

const roomEvents: Record<string, RoomEventHandler> = {
  snapshot(p) {
    const r = this.room.value;
    batch(() => {
      if (r) this.room.value = { ...r, ...p.room, my_role: p.my_role ?? r.my_role };
      this.members.value = mergeSnapshot(this.members.value, p.members ?? [], p.members_partial === true);
      const msgs = (p.recent_messages ?? []) as ChatMessage[];
      // keep what we had (a reconnect), add what is new, in id order
      const byId = new Map<number, ChatMessage>();
      for (const x of this.messages.value) byId.set(x.id, x);
      for (const x of msgs) byId.set(x.id, x);
      this.messages.value = [...byId.values()].sort((a, b) => a.id - b.id).slice(-MAX_CHAT);
      this.live.value = true;
    });
    if (p.playback) this.adoptPlayback(p.playback);
  },
  member_joined(p) {
    const u = p.user as UserRef;
    if (this.members.value.some((x) => x.id === u.id)) return;
    this.members.value = [...this.members.value, { id: u.id, username: u.username, avatar_url: '', role: p.role ?? 'member', online: false }];
    if (this.room.value) this.room.value = { ...this.room.value, member_count: this.room.value.member_count + 1 };
  },
  member_left(p) {
    this.members.value = this.members.value.filter((x) => x.id !== p.user?.id);
    if (p.user?.id === me.value?.id) this.ended.value = 'left';
  },
  member_kicked(p) {
    this.members.value = this.members.value.filter((x) => x.id !== p.user?.id);
    if (p.user?.id === me.value?.id) {
      batch(() => {
        this.ended.value = 'kicked';
        if (this.room.value) this.room.value = { ...this.room.value, my_role: 'none' };
      });
    }
  },
  role_changed(p) {
    this.setRole(p.user?.id, p.role);
  },
  config_updated(p) {
    const r = this.room.value;
    if (!r) return;
    this.room.value = { ...r, name: p.name ?? r.name, description: p.description ?? r.description, config: { ...r.config, ...(p.config ?? {}) } };
  },
  owner_changed(p) {
    const oldId = p.old_owner?.id;
    const newId = p.new_owner?.id;
    batch(() => {
      this.setRole(oldId, 'moderator');
      this.setRole(newId, 'owner');
      const r = this.room.value;
      if (r && p.new_owner) this.room.value = { ...r, owner: p.new_owner };
      this.members.value = [...this.members.value].sort(roleOrder);
    });
  },
  dissolved() {
    this.end('dissolved');
  },
};

const RANK = { owner: 0, moderator: 1, member: 2 } as const;
function roleOrder(a: Member, b: Member): number {
  return RANK[a.role] - RANK[b.role];
}
