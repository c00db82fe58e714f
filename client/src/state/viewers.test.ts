import { describe, expect, it } from 'vitest';
import { createViewerListState } from './viewers.ts';

const entry = (id: number, username: string, role: 'moderator' | 'vip' | 'viewer' = 'viewer') => ({ id, username, role, since: 0 });

describe('viewer list state', () => {
  it('applies joins and leaves to the page it holds, staff first then by name', () => {
    const list = createViewerListState();
    list.replace([entry(1, 'zed'), entry(2, 'amy')], 2, 1);
    list.joined([entry(3, 'mo', 'moderator'), entry(2, 'amy')], 2);
    expect(list.people.value.map((p) => p.username)).toEqual(['mo', 'amy', 'zed']);
    expect(list.count.value).toBe(6);
    list.left([{ id: 1, username: 'zed', role: 'viewer' }], 1);
    expect(list.people.value.map((p) => p.username)).toEqual(['mo', 'amy']);
    expect(list.count.value).toBe(4);
  });

  it('moves a person when their role changes', () => {
    const list = createViewerListState();
    list.replace([entry(1, 'amy'), entry(2, 'bob')], 2, 0);
    list.setRole(2, 'vip');
    expect(list.people.value.map((p) => `${p.username}:${p.role}`)).toEqual(['bob:vip', 'amy:viewer']);
  });
});
