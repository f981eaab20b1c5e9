import { describe, expect, it } from 'vitest';
import { match } from './router';

describe('match', () => {
  it('knows the five routes, with or without a trailing slash', () => {
    expect(match('/')).toEqual({ name: 'lobby' });
    expect(match('/login')).toEqual({ name: 'login' });
    expect(match('/register/')).toEqual({ name: 'register' });
    expect(match('/profile')).toEqual({ name: 'profile' });
    expect(match('/rooms/42')).toEqual({ name: 'room', id: 42 });
    expect(match('/rooms/42/')).toEqual({ name: 'room', id: 42 });
  });
  it('anything else is not found', () => {
    for (const p of ['/rooms', '/rooms/abc', '/rooms/-1', '/rooms/1/x', '/api/', '/rooms/1234567890123456', '//evil.example'])
      expect(match(p)).toEqual({ name: 'notfound' });
  });
});
