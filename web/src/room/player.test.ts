import { describe, expect, it } from 'vitest';
import { isHlsUrl } from './player';

describe('isHlsUrl', () => {
  it('goes by the path, not the query or the host', () => {
    expect(isHlsUrl('https://cdn.example/live/index.m3u8')).toBe(true);
    expect(isHlsUrl('https://cdn.example/live/INDEX.M3U8?token=1')).toBe(true);
    expect(isHlsUrl('https://cdn.example/a.mp4')).toBe(false);
    expect(isHlsUrl('https://cdn.example/a.mp4?f=x.m3u8')).toBe(false);
    expect(isHlsUrl('https://m3u8.example/a.webm')).toBe(false);
    expect(isHlsUrl('not a url')).toBe(false);
  });
});
