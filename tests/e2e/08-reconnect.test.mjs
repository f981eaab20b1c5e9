// The connection drops (the browser goes offline): the indicator says so;
// what happens meanwhile (a notification, chat, a role change) is there
// after the automatic reconnect, once, and the reconnect asks for what it
// missed with a fresh ticket and last_notification_id.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, uniqueName } from './browser.mjs';
import { newUser, createRoom, live, unread, until, openBell } from './ui.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('offline and back: nothing missed, nothing twice', async () => {
  const a = await newUser(browser, 'a8');
  const b = await newUser(browser, 'b8');
  const id = await createRoom(a.page, uniqueName('断线重连'), {});
  await b.page.goto(`/rooms/${id}`);
  await b.page.getByRole('button', { name: '加入房间' }).click();
  await live(b.page);
  const role = a.page.getByRole('combobox', { name: `${b.name} 的角色` });
  await role.selectOption('moderator');
  await until(async () => (await unread(b.page)) === 1, 'the first notification');

  const urls = [];
  b.page.on('websocket', (ws) => urls.push(new URL(ws.url())));
  await b.context.setOffline(true);
  await b.page.getByRole('status', { name: '实时连接状态：已断开，正在重连' }).waitFor();

  // meanwhile: a second notification and a chat message
  await role.selectOption('member');
  await a.page.getByRole('textbox', { name: '消息' }).fill('你掉线的时候我说了这句');
  await a.page.getByRole('button', { name: '发送' }).click();
  await a.page.getByRole('list', { name: '聊天记录' }).getByText('你掉线的时候我说了这句').waitFor();

  await b.context.setOffline(false);
  await live(b.page);
  await until(async () => (await unread(b.page)) === 2, 'the missed notification');
  await b.page.getByRole('list', { name: '聊天记录' }).getByText('你掉线的时候我说了这句', { exact: true }).waitFor();
  await b.page.getByRole('region', { name: '房间信息' }).getByText('成员', { exact: true }).waitFor();
  const panel = await openBell(b.page);
  assert.equal(await panel.getByRole('listitem').count(), 2);
  assert.equal(await b.page.getByRole('list', { name: '聊天记录' }).getByText('你掉线的时候我说了这句').count(), 1);

  // every reconnect used a new single-use ticket and said what it had seen
  const last = urls.at(-1);
  assert.ok(last, 'B reconnected');
  assert.match(last.pathname, new RegExp(`/ws/rooms/${id}$`));
  assert.ok(Number(last.searchParams.get('last_notification_id')) > 0);
  const tickets = urls.map((u) => u.searchParams.get('ticket'));
  assert.equal(new Set(tickets).size, tickets.length);
  assert.equal(last.searchParams.get('token'), null);
  await a.context.close();
  await b.context.close();
});
