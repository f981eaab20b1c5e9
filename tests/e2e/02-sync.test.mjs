// Scenario 2: A loads the test video and plays; B follows.  After settling
// the two currentTimes stay within SYNC_BOUND_MS (a correctness bound: the
// precise figure is ./devstack bench 9's).  Pause, seek and rate reach B.
// B cannot control until A turns on 成员可控制, then can, without a reload.
// Turning 同步播放 off stops following.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, env, screenshot, uniqueName } from './browser.mjs';
import { requireApache, newUser, createRoom, live, memberRow, mediaUrl, pairDiffMs, videoState, until, setFlags } from './ui.mjs';

const SYNC_BOUND_MS = 250;
const PAUSED_BOUND_MS = 100;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Wait until the two videos agree, then require that they keep agreeing. */
async function assertInSync(a, b, what) {
  await until(async () => {
    const { diff, a: sa, b: sb } = await pairDiffMs(a.page, b.page);
    return !sa.paused && !sb.paused && Math.abs(diff) < SYNC_BOUND_MS;
  }, `${what}: both playing within ${SYNC_BOUND_MS} ms`, 30_000);
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const { diff, a: sa, b: sb } = await pairDiffMs(a.page, b.page);
    assert.ok(!sa.paused && !sb.paused, `${what}: both still playing`);
    assert.ok(Math.abs(diff) < SYNC_BOUND_MS, `${what}: drift ${diff.toFixed(0)} ms within ${SYNC_BOUND_MS} ms`);
  }
}

async function scenario(base, tag) {
  const a = await newUser(browser, `a2${tag}`, base);
  const b = await newUser(browser, `b2${tag}`, base);
  const roomName = uniqueName(`电影夜${tag}`);
  const id = await createRoom(a.page, roomName, {});
  await b.page.goto(`/rooms/${id}`);
  await b.page.getByRole('button', { name: '加入房间' }).click();
  await live(b.page);
  await memberRow(a.page, b.name).getByText('在线', { exact: true }).waitFor();

  // B is a plain member: read-only controls that say who is in charge
  await b.page.getByText(`播放由 ${a.name} 控制。`).waitFor();
  assert.equal(await b.page.getByLabel('视频地址（MP4、WebM 或 m3u8）').count(), 0);

  await a.page.getByLabel('视频地址（MP4、WebM 或 m3u8）').fill(mediaUrl(base));
  await a.page.getByRole('button', { name: '加载视频' }).click();
  await until(async () => (await videoState(b.page)).ready >= 1, 'B loads the video');
  assert.ok(await b.page.getByRole('button', { name: '播放', exact: true }).isDisabled());

  await a.page.getByRole('button', { name: '播放', exact: true }).click();
  await assertInSync(a, b, 'play');
  await screenshot(b.page, `player-follower${tag}`);

  // pause: both stop at the same frame
  await a.page.getByRole('button', { name: '暂停', exact: true }).click();
  await until(async () => {
    const { diff, a: sa, b: sb } = await pairDiffMs(a.page, b.page);
    return sa.paused && sb.paused && Math.abs(diff) < PAUSED_BOUND_MS;
  }, 'pause reaches B');

  // seek while paused: both stand at 60 s
  await a.page.getByRole('slider', { name: '播放进度' }).fill('60000');
  await until(async () => {
    const [sa, sb] = await Promise.all([videoState(a.page), videoState(b.page)]);
    return Math.abs(sa.t - 60_000) < PAUSED_BOUND_MS && Math.abs(sb.t - 60_000) < PAUSED_BOUND_MS;
  }, 'seek to 60 s reaches B');

  // rate 1.5, then play: B follows at 1.5×
  await a.page.getByRole('combobox', { name: '播放速度' }).selectOption('1.5');
  await until(async () => (await b.page.getByRole('combobox', { name: '播放速度' }).inputValue()) === '1.5', 'rate reaches B');
  await a.page.getByRole('button', { name: '播放', exact: true }).click();
  await assertInSync(a, b, 'play at 1.5×');
  const sb = await videoState(b.page);
  assert.ok(Math.abs(sb.rate - 1.5) < 0.2, `B plays at about 1.5× (${sb.rate})`);
  assert.ok(sb.t > 60_000, 'B went on from the seek');

  // guest control: off -> B cannot; A turns it on -> B can at once
  assert.ok(await b.page.getByRole('button', { name: '暂停', exact: true }).isDisabled());
  const settings = a.page.getByRole('region', { name: '房间设置' });
  await setFlags(settings, { guest_control: true });
  await settings.getByRole('button', { name: '保存设置' }).click();
  await settings.getByText('设置已保存。').waitFor();
  const bPause = b.page.getByRole('button', { name: '暂停', exact: true });
  await until(async () => !(await bPause.isDisabled()), 'B’s controls enabled live');
  await bPause.click();
  await until(async () => (await videoState(a.page)).paused, 'B’s pause reaches A');
  await b.page.getByRole('combobox', { name: '播放速度' }).selectOption('1');
  await b.page.getByRole('button', { name: '播放', exact: true }).click();
  await assertInSync(a, b, 'B plays, A follows');

  // 同步播放 off: B stops following at once and gets its own controls
  await setFlags(settings, { sync_playback: false });
  await settings.getByRole('button', { name: '保存设置' }).click();
  await b.page.getByText('同步播放已关闭：每个人各自播放。').waitFor();
  await until(async () => b.page.getByLabel('视频', { exact: true }).evaluate((v) => v.controls), 'B’s native controls');
  await b.page.getByLabel('视频', { exact: true }).evaluate((v) => v.pause());
  const held = await videoState(b.page);
  await new Promise((r) => setTimeout(r, 1500));
  const still = await videoState(b.page);
  assert.ok(still.paused && Math.abs(still.t - held.t) < 1, 'nobody restarts B’s video');
  assert.ok(!(await videoState(a.page)).paused, 'B’s pause stayed local');
  await a.context.close();
  await b.context.close();
}

test('playback sync through nginx', async () => {
  await scenario(env.baseUrl, '');
});

test('playback sync through Apache', async () => {
  if (requireApache()) await scenario(env.apacheUrl, 'ap');
});
