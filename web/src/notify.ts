// The notification centre: what GET /notifications/ said at login plus
// what arrives live (invite_notification / notification on the socket),
// one entry per id (delivery is at least once), newest first, and the
// unread count.  The socket asks it for last_notification_id.
import { signal, computed } from '@preact/signals';
import { get, put, del, post, onSession } from './api';
import { socket, type ServerMessage } from './ws';
import type { Notification, NotificationPage } from './types';

export const notifications = signal<Notification[]>([]);
export const unreadCount = computed(() => notifications.value.filter((n) => n.status === 'unread').length + hiddenUnread.value);
/** Unread notifications beyond the first page (counted by the server). */
const hiddenUnread = signal(0);
/** Notifications that arrived live, for pages that react to them (the room page). */
type Listener = (n: Notification) => void;
const listeners = new Set<Listener>();
export function onNotification(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** Bumped when an action here changed our memberships (the room page reloads). */
export const membershipChanged = signal(0);

let maxId = 0;
socket.lastNotificationId = () => maxId;

const PAGE = 50;

export async function loadNotifications(): Promise<void> {
  const p = await get<NotificationPage>(`/notifications/?limit=${PAGE}`);
  for (const n of p.items) maxId = Math.max(maxId, n.id);
  notifications.value = p.items;
  const shownUnread = p.items.filter((n) => n.status === 'unread').length;
  hiddenUnread.value = Math.max(0, p.unread_count - shownUnread);
}

function arrived(m: ServerMessage): void {
  const n = m.payload as Notification;
  if (!n || typeof n.id !== 'number') return;
  maxId = Math.max(maxId, n.id);
  const list = notifications.value;
  if (list.some((x) => x.id === n.id)) return; // a redelivery after reconnect
  notifications.value = [n, ...list].sort((a, b) => b.id - a.id);
  listeners.forEach((l) => l(n));
}
socket.on('invite_notification', arrived);
socket.on('notification', arrived);

function replace(n: Notification): void {
  notifications.value = notifications.value.map((x) => (x.id === n.id ? n : x));
}

export async function markRead(id: number): Promise<void> {
  const n = notifications.value.find((x) => x.id === id);
  if (!n || n.status === 'read') return;
  replace(await put<Notification>(`/notifications/${id}/read`));
}

export async function readAll(): Promise<void> {
  await put('/notifications/read-all');
  hiddenUnread.value = 0;
  notifications.value = notifications.value.map((n) => (n.status === 'unread' ? { ...n, status: 'read' as const } : n));
}

export async function removeNotification(id: number): Promise<void> {
  await del(`/notifications/${id}`);
  notifications.value = notifications.value.filter((n) => n.id !== id);
}

export async function clearNotifications(): Promise<void> {
  await del('/notifications/clear');
  hiddenUnread.value = 0;
  notifications.value = [];
}

/** The action in place: accept an invitation (join), approve or reject an application. */
export async function acceptInvite(n: Notification): Promise<number> {
  const roomId = Number(n.content.room_id);
  await post('/rooms/join', { room_id: roomId });
  membershipChanged.value++;
  await markRead(n.id);
  return roomId;
}

export async function decideApplication(n: Notification, approve: boolean): Promise<void> {
  const roomId = Number(n.content.room_id);
  const appId = Number(n.content.application_id);
  await post(`/rooms/${roomId}/applications/${appId}/${approve ? 'approve' : 'reject'}`);
  await markRead(n.id);
}

onSession((inn) => {
  if (!inn) {
    notifications.value = [];
    hiddenUnread.value = 0;
    maxId = 0;
  }
});
