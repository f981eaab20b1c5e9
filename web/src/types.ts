// The server's objects, as doc/api.md and doc/protocol.md describe them.
import type { PlaybackState } from './sync/playback';

export interface Me { id: number; username: string; email: string; avatar_url: string; created_at: string; updated_at: string }
export interface UserRef { id: number; username: string }
export interface PublicUser { id: number; username: string; avatar_url: string; created_at: string; online: boolean }
export interface Tokens { access_token: string; refresh_token: string; token_type: string; expires_in: number }
export interface Page<T> { items: T[]; next_cursor: string | null }

export interface RoomConfig {
  is_public: boolean; require_approval: boolean; keep_chat_history: boolean;
  sync_playback: boolean; guest_control: boolean; max_members: number;
}
export type Role = 'owner' | 'moderator' | 'member' | 'invited' | 'applied' | 'none';
export interface Member { id: number; username: string; avatar_url: string; role: 'owner' | 'moderator' | 'member'; joined_at?: string; online: boolean }
export interface Application { id: number; room_id: number; user: UserRef; message: string; status: string; created_at: string }
export interface Invitation { id: number; room_id: number; room_name: string; inviter: UserRef; invitee: UserRef; status: string; created_at: string }
export interface Room {
  id: number; name: string; description: string; owner: UserRef; member_count: number; online_count?: number;
  config: RoomConfig; created_at: string; my_role: Role; members?: Member[]; playback?: PlaybackState | null;
  pending_applications?: Application[]; pending_invitations?: Invitation[];
}
export interface ChatMessage { id: number; room_id: number; user_id: number; username: string; text: string; created_at_ms: number }
export interface Notification {
  id: number; type: string; content: Record<string, unknown>; status: 'unread' | 'read'; created_at: string; read_at: string | null;
}
export interface NotificationPage extends Page<Notification> { unread_count: number }
export interface MemberHealth { user_id: number; position_ms?: number; drift_ms?: number; rtt_ms?: number; buffering?: boolean }
