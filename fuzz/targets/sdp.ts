/**
 * SDP offer/answer (RFC 3264 §6 on RFC 4566 bodies): the answerer must read any body without throwing
 * anything but SdpError, and an answer it produces must itself be a readable session description.
 */
import { answerOffer } from '../../src/sdp/answer.js';
import { parseSessionDescription } from '../../src/sdp/description.js';
import { SdpError } from '../../src/sdp/errors.js';
import { SeededRandom } from '../../src/util/random.js';
import { PropertyViolation, type FuzzTarget } from '../types.js';

export const sdpOfferAnswer: FuzzTarget = {
  name: 'sdp',
  description: 'parseSessionDescription and answerOffer on mutated SDP; an accepted offer\'s answer must parse again',
  corpus: 'sdp',
  live: false,
  expected: [SdpError],
  create: ({ seed }) => {
    const random = new SeededRandom(`${seed}/sdp`);
    return {
      execute(input) {
        const text = input.toString('utf8');
        parseSessionDescription(text);
        const result = answerOffer(text, { address: '127.0.48.9', port: 40000 }, random);
        if (!result.ok) return false;
        try {
          parseSessionDescription(result.sdp);
        } catch (e) {
          if (e instanceof SdpError) throw new PropertyViolation(`the answer to an accepted offer does not parse: ${e.reason}`);
          throw e;
        }
        return true;
      },
      close() {},
    };
  },
};
