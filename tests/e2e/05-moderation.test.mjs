// Scenario 5 (with 6's kick): role change, transfer and dissolve show live
// on the affected page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot, uniqueName } from './browser.mjs';
import { newUser, createRoom, live, memberRow, until } from './ui.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('role change, transfer and dissolve, live', async () => {
  const a = await newUser(browser, 'a5');
  const b = await newUser(browser, 'b5');
  const roomName = uniqueName('管理测试');
  const id = await createRoom(a.page, roomName, {});
  await b.page.goto(`/rooms/${id}`);
  await screenshot(b.page, 'room-visitor');
  await b.page.getByRole('button', { name: '加入房间' }).click();
  await live(b.page);
  const head = (p) => p.getByRole('region', { name: '房间信息' });
  await head(b.page).getByText('成员', { exact: true }).waitFor();
  assert.equal(await b.page.getByRole('searchbox', { name: '按用户名搜索' }).count(), 0);

  // moderator: B's page shows the role and the invite panel at once
  await a.page.getByRole('combobox', { name: `${b.name} 的角色` }).selectOption('moderator');
  await head(b.page).getByText('管理员', { exact: true }).waitFor();
  await b.page.getByRole('searchbox', { name: '按用户名搜索' }).waitFor();
  assert.equal(await b.page.getByRole('region', { name: '房间设置' }).count(), 0);
  // a moderator may not kick the owner
  assert.equal(await b.page.getByRole('button', { name: `移出 ${a.name}` }).count(), 0);

  // transfer: B becomes owner (settings appear), A moderator
  await a.page.getByRole('button', { name: `转让给 ${b.name}` }).click();
  await a.page.getByRole('button', { name: `确认转让给 ${b.name}` }).click();
  await head(b.page).getByText('房主', { exact: true }).waitFor();
  await b.page.getByRole('region', { name: '房间设置' }).waitFor();
  await head(a.page).getByText('管理员', { exact: true }).waitFor();
  await until(async () => (await a.page.getByRole('region', { name: '房间设置' }).count()) === 0, 'A lost the settings');
  await memberRow(a.page, b.name).getByText('房主', { exact: true }).waitFor();

  // dissolve: A's page closes the room
  const settings = b.page.getByRole('region', { name: '房间设置' });
  await settings.getByRole('button', { name: '解散房间' }).click();
  await settings.getByRole('button', { name: '确认解散（不可恢复）' }).click();
  await a.page.getByRole('heading', { name: '这个房间已解散。' }).waitFor();
  await b.page.getByRole('heading', { name: '这个房间已解散。' }).waitFor();
  await a.page.getByRole('button', { name: /^通知（\d+ 条未读）$/ }).click();
  await a.page.getByRole('region', { name: '通知' }).getByText(`房间「${roomName}」已被 ${b.name} 解散`).waitFor();
  await a.context.close();
  await b.context.close();
});
