// Scenario 9: a large room (more members than ws.presence_batch_above, 50)
// gets presence as batches of user ids (doc/protocol.md, "Presence"): the
// member list of a page in it shows a newcomer online, then offline again
// once it has gone, and its count of who is online stays right.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, env, uniqueName } from './browser.mjs';
import { newUser, live, memberRow, PASSWORD, T, until } from './ui.mjs';

const EXTRA = 52; // members besides the two pages: the room is above 50

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function api(method, path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(`${env.baseUrl}/api${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A member made over REST (never connected: offline). */
async function restUser(prefix) {
  const username = uniqueName(prefix);
  await api('POST', '/users/', { username, email: `${username}@example.com`, password: PASSWORD });
  const t = await api('POST', '/token', { username, password: PASSWORD });
  return t.access_token;
}

async function joinByPage(page, id) {
  await page.goto(`/rooms/${id}`);
  await page.getByRole('button', { name: '加入房间' }).click();
  await live(page);
}

test('a large room: presence batches keep the member list and its count right', async () => {
  const owner = await restUser('o9');
  const room = await api('POST', '/rooms/', { name: uniqueName('大房间'), config: { max_members: 100 } }, owner);
  for (let i = 0; i < EXTRA - 1; i += 8) {
    const n = Math.min(8, EXTRA - 1 - i);
    await Promise.all(Array.from({ length: n }, async () => api('POST', '/rooms/join', { room_id: room.id }, await restUser('m9'))));
  }
  const a = await newUser(browser, 'a9');
  await joinByPage(a.page, room.id);
  const heading = (online, n) => a.page.getByRole('heading', { name: `成员 (${online}/${n})`, exact: true });
  const total = EXTRA + 1; // the owner, EXTRA - 1 REST members, A
  await heading(1, total).waitFor();

  // B comes: A's list has B, online, from a presence batch
  const b = await newUser(browser, 'b9');
  await joinByPage(b.page, room.id);
  await memberRow(a.page, b.name).getByText('在线', { exact: true }).waitFor({ timeout: T });
  await heading(2, total + 1).waitFor();
  // and B's own page sees A online (its snapshot said so)
  await memberRow(b.page, a.name).getByText('在线', { exact: true }).waitFor();

  // B goes: offline after the grace, in a batch
  await b.context.close();
  await memberRow(a.page, b.name).getByText('离线', { exact: true }).waitFor({ timeout: T });
  await heading(1, total + 1).waitFor();
  await until(async () => (await memberRow(a.page, a.name).getByText('在线', { exact: true }).count()) === 1, 'A still online in its own list');
});
