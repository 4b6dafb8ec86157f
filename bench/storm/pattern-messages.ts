/**
 * The messages of one registration as the registration pattern (pattern.ts) passes them: who sends each, to
 * whom, over which kind of socket and how big it is, and what each role sends when a step reaches it. A message
 * carries only its scenario id and step number ahead of filler, so no role keeps state per scenario.
 */
export type PatternRole = 'G' | 'P' | 'I' | 'S' | 'H';
export type RelayRole = Exclude<PatternRole, 'G'>;

/** One message of the scenario: who sends it, to whom, over which socket, and its size on the wire. */
export interface PatternStep {
  from: PatternRole;
  to: PatternRole;
  /** 'udp' for SIP, 'tcp' for Diameter (the Cx peers' connection to the HSS). */
  via: 'udp' | 'tcp';
  bytes: number;
  what: string;
}

// Sizes close to what the storm's core puts on the wire (REGISTER ≈ 900–1,100 B, 401 ≈ 700, NOTIFY ≈ 1,200,
// Cx requests and answers 200–500).
const step = (from: PatternRole, to: PatternRole, via: 'udp' | 'tcp', bytes: number, what: string): PatternStep => ({ from, to, via, bytes, what });
export const PATTERN: readonly PatternStep[] = [
  step('G', 'P', 'udp', 900, 'REGISTER'),
  step('P', 'I', 'udp', 1000, 'REGISTER'),
  step('I', 'H', 'tcp', 300, 'UAR'),
  step('H', 'I', 'tcp', 250, 'UAA'),
  step('I', 'S', 'udp', 1050, 'REGISTER'),
  step('S', 'H', 'tcp', 300, 'MAR'),
  step('H', 'S', 'tcp', 450, 'MAA'),
  step('S', 'I', 'udp', 800, '401'),
  step('I', 'P', 'udp', 750, '401'),
  step('P', 'G', 'udp', 700, '401'),
  step('G', 'P', 'udp', 1100, 'REGISTER'),
  step('P', 'I', 'udp', 1200, 'REGISTER'),
  step('I', 'H', 'tcp', 300, 'UAR'),
  step('H', 'I', 'tcp', 250, 'UAA'),
  step('I', 'S', 'udp', 1250, 'REGISTER'),
  step('S', 'H', 'tcp', 300, 'SAR'),
  step('H', 'S', 'tcp', 500, 'SAA'),
  step('S', 'I', 'udp', 800, '200'),
  step('I', 'P', 'udp', 750, '200'),
  step('P', 'G', 'udp', 700, '200'),
  step('P', 'S', 'udp', 650, 'SUBSCRIBE'),
  step('S', 'P', 'udp', 500, '200'),
  step('S', 'P', 'udp', 1200, 'NOTIFY'),
  step('P', 'S', 'udp', 400, '200'),
];

/** What a role sends when step `s` reaches it (the P-CSCF subscribes as it passes the 200 on; the S-CSCF notifies after its 200). */
export const NEXT: Readonly<Record<number, readonly number[]>> = {
  ...Object.fromEntries(Array.from({ length: 18 }, (_, s) => [s, [s + 1]])),
  18: [19, 20],
  19: [],
  20: [21, 22],
  21: [],
  22: [23],
  23: [],
};

/** The generator's first message, the one that ends an attempt (the 200 to the second REGISTER), and the end of the 401 leg. */
export const FIRST = 0;
export const LAST = 19;
export const CHALLENGE = 9;

/** A message's header: the scenario id and the step, so that every role knows what to send next without state. */
export const HEADER_BYTES = 6;

export function patternMessage(id: number, s: number): Buffer {
  const b = Buffer.alloc(PATTERN[s]!.bytes, 0x41);
  b.writeUInt32BE(id, 0);
  b.writeUInt16BE(s, 4);
  return b;
}

/** Where each role listens: UDP for the SIP roles, the HSS's TCP port for Diameter. */
export type PatternAddresses = Record<PatternRole, { address: string; port: number }>;

/** A relay's report when asked: messages received per step, to check the pattern ran as written. */
export interface RelayCounts {
  role: RelayRole;
  received: Record<number, number>;
}

/** Messages a role receives per scenario (what the test checks the relays against). */
export function receivedPerScenario(role: PatternRole): number {
  return PATTERN.filter((s) => s.to === role).length;
}

/** The socket buffers the core's UDP transport asks for (src/sip/transport/udp.ts), so that bursts queue as they would there. */
export const SOCKET_BUFFER = 4 * 1024 * 1024;
