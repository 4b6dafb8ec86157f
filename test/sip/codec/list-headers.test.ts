import { describe, expect, it } from 'vitest';
import { Headers } from '../../../src/sip/message.js';
import { firstListElement, splitList } from '../../../src/sip/syntax.js';

// RFC 3261 §7.3.1: a list header's elements are split at commas outside quoted strings and <…>, each trimmed;
// empty elements are not elements. The first element and shift() must read exactly what splitting the line would.
const LINES = [
  'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport',
  ' , SIP/2.0/UDP a , SIP/2.0/UDP b',
  '"Doe, John" <sip:a,b@x>;p=1, <sip:c@x>',
  '"q\\",x" <sip:z@x>, c',
  ',,, ',
  '   ',
  '<sip:p1.ims.lab;lr>,<sip:s1.ims.lab;lr>',
  '<unterminated, x',
];

describe('list header elements', () => {
  it('firstListElement is the first element splitList gives, undefined when the line holds none', () => {
    for (const v of LINES) expect(firstListElement(v), JSON.stringify(v)).toBe(splitList(v)[0]);
    expect(firstListElement(',,, ')).toBeUndefined();
    expect(firstListElement('"Doe, John" <sip:a,b@x>;p=1, <sip:c@x>')).toBe('"Doe, John" <sip:a,b@x>;p=1');
  });

  it('first() and shift() take the top element; a line with more keeps the rest, one with a single element goes', () => {
    const h = new Headers().append('Route', '<sip:p1.ims.lab;lr>,<sip:s1.ims.lab;lr>').append('Route', ' <sip:i1.ims.lab;lr> ').append('Via', 'SIP/2.0/UDP a;branch=z9hG4bK1');
    expect(h.first('Route')).toBe('<sip:p1.ims.lab;lr>');
    expect(h.shift('Route')).toBe('<sip:p1.ims.lab;lr>');
    expect(h.getAll('Route')).toEqual(['<sip:s1.ims.lab;lr>', ' <sip:i1.ims.lab;lr> ']);
    expect(h.shift('Route')).toBe('<sip:s1.ims.lab;lr>');
    expect(h.shift('Route')).toBe('<sip:i1.ims.lab;lr>');
    expect(h.has('Route')).toBe(false);
    expect(h.shift('Route')).toBeUndefined();
    // Non-list headers are read whole.
    expect(new Headers().append('Subject', 'a, b').first('Subject')).toBe('a, b');
    expect(h.shift('Via')).toBe('SIP/2.0/UDP a;branch=z9hG4bK1');
    expect(h.size).toBe(0);
  });
});
