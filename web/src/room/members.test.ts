import { describe, expect, it } from 'vitest';
import { applyPresence, mergeSnapshot } from './members';
import type { Member } from '../types';

const m = (id: number, online = false, role: Member['role'] = 'member'): Member => ({ id, username: `u${id}`, avatar_url: '', role, online });

describe('mergeSnapshot', () => {
  it('a whole list replaces what we had', () => {
    expect(mergeSnapshot([m(1), m(2)], [m(1, true)], false)).toEqual([m(1, true)]);
  });
  it('a partial list updates the members it names and keeps the others', () => {
    const got = mergeSnapshot([m(1), m(2), m(3, true)], [m(1, true, 'owner'), m(4, true)], true);
    expect(got).toEqual([m(1, true, 'owner'), m(2), m(3, true), m(4, true)]);
  });
});

describe('applyPresence', () => {
  const list = [m(1, true), m(2), m(3)];
  it('sets online and offline by id', () => {
    expect(applyPresence(list, [2, 3], [1])).toEqual([m(1), m(2, true), m(3, true)]);
  });
  it('reads the older {user_id, username} entries', () => {
    expect(applyPresence(list, [{ user_id: 2, username: 'u2' }], [])).toEqual([m(1, true), m(2, true), m(3)]);
  });
  it('keeps the same list when nothing changes, and ignores junk and strangers', () => {
    expect(applyPresence(list, [1, 'x', null, 99], [2, { id: 3 }])).toBe(list);
    expect(applyPresence(list, undefined, undefined)).toBe(list);
  });
});
