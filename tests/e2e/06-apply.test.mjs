// Scenario 6: C applies to an approval room; the owner approves from the
// bell; C gets in without a reload.  Then the owner kicks C: C's page
// shows it live.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot, uniqueName } from './browser.mjs';
import { newUser, createRoom, live, memberRow, openBell, until } from './ui.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('apply, approve from the bell, then kick', async () => {
  const a = await newUser(browser, 'a6');
  const c = await newUser(browser, 'c6');
  const roomName = uniqueName('审核房间');
  const id = await createRoom(a.page, roomName, { require_approval: true });

  await c.page.goto(`/rooms/${id}`);
  assert.equal(await c.page.getByRole('button', { name: '加入房间' }).count(), 0);
  await c.page.getByLabel('申请留言（可选）').fill('请让我加入');
  await c.page.getByRole('button', { name: '申请加入' }).click();
  await c.page.getByText('已提交申请，等待房主或管理员批准。').waitFor();
  await screenshot(c.page, 'room-applied');

  // the owner is on the lobby; the bell shows the application live
  await a.page.goto('/');
  await live(a.page);
  const panel = await openBell(a.page);
  const item = panel.getByRole('listitem').filter({ hasText: `${c.name} 申请加入房间「${roomName}」：请让我加入` });
  await item.waitFor();
  await item.getByRole('button', { name: '批准申请' }).click();
  await item.getByText('已处理').waitFor();

  // C's page learns it from application_approved and opens the room
  await live(c.page);
  await c.page.getByRole('region', { name: '播放器' }).waitFor();
  await c.page.getByRole('heading', { name: '聊天' }).waitFor();
  await a.page.goto(`/rooms/${id}`);
  await memberRow(a.page, c.name).getByText('在线', { exact: true }).waitFor();

  // kick: C's page says so at once, and the room is gone from C's view
  await a.page.getByRole('button', { name: `移出 ${c.name}` }).click();
  await c.page.getByText('你已被移出这个房间。').waitFor();
  await until(async () => (await c.page.getByRole('region', { name: '播放器' }).count()) === 0, 'C’s player closed');
  await until(async () => (await memberRow(a.page, c.name).count()) === 0, 'C gone from A’s list');
  await screenshot(c.page, 'room-kicked');
  await a.context.close();
  await c.context.close();
});
