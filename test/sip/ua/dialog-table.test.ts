import { describe, expect, it } from 'vitest';
import { Dialog } from '../../../src/sip/dialog/dialog.js';
import { DialogTable } from '../../../src/sip/ua/dialog-table.js';

function dialog(callId: string, localTag: string, remoteTag: string): Dialog {
  return new Dialog({
    callId,
    localTag,
    remoteTag,
    local: `<sip:a@example.com>;tag=${localTag}`,
    remote: `<sip:b@example.com>;tag=${remoteTag}`,
    remoteTarget: 'sip:b@127.0.0.1',
    routeSet: [],
    localSeq: 1,
    secure: false,
    state: 'confirmed',
    localContact: 'sip:a@127.0.0.1',
  });
}

describe('DialogTable (RFC 3261 §12 dialog ID lookup)', () => {
  it('finds a dialog only by its full ID: Call-ID and both tags', () => {
    const t = new DialogTable();
    const d = dialog('c1', 'L', 'R');
    t.set(d);
    expect(t.get('c1', 'L', 'R')).toBe(d);
    expect(t.get('c1', 'R', 'L')).toBeUndefined();
    expect(t.get('c1', 'L', 'X')).toBeUndefined();
    expect(t.get('c2', 'L', 'R')).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it('keeps the dialogs that share a Call-ID apart (forked early dialogs, §12.1.2) and back to one', () => {
    const t = new DialogTable();
    const a = dialog('c1', 'L', 'R1');
    const b = dialog('c1', 'L', 'R2');
    const c = dialog('c1', 'L', 'R3');
    t.set(a);
    t.set(b);
    t.set(c);
    expect(t.size).toBe(3);
    expect([t.get('c1', 'L', 'R1'), t.get('c1', 'L', 'R2'), t.get('c1', 'L', 'R3')]).toEqual([a, b, c]);
    expect(t.delete(b)).toBe(true);
    expect(t.delete(b)).toBe(false);
    expect(t.get('c1', 'L', 'R2')).toBeUndefined();
    expect(t.delete(a)).toBe(true);
    expect(t.get('c1', 'L', 'R3')).toBe(c);
    expect([...t.values()]).toEqual([c]);
    expect(t.size).toBe(1);
  });

  it('a dialog set again under the same ID replaces the old one, which can then no longer delete it', () => {
    const t = new DialogTable();
    const old = dialog('c1', 'L', 'R');
    const now = dialog('c1', 'L', 'R');
    t.set(old);
    t.set(now);
    expect(t.size).toBe(1);
    expect(t.delete(old)).toBe(false);
    expect(t.get('c1', 'L', 'R')).toBe(now);
    t.set(dialog('c1', 'L', 'R2'));
    const again = dialog('c1', 'L', 'R');
    t.set(again);
    expect(t.size).toBe(2);
    expect(t.delete(now)).toBe(false);
    expect(t.get('c1', 'L', 'R')).toBe(again);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.get('c1', 'L', 'R')).toBeUndefined();
  });
});
