/**
 * A request a UAS has received (RFC 3261 §8.2), with the one way to answer it: `respond`, which builds the
 * response per §8.2.6 (To tag added once and kept for every response to this request, §8.2.6.2).
 */
import type { Dialog } from '../dialog/dialog.js';
import type { SipRequest, SipResponse } from '../message.js';
import { createResponse, hasTag } from '../transaction/response.js';
import type { ServerTransaction } from '../transaction/types.js';
import type { ReceivedMessage } from '../transport/types.js';

export interface ResponseOptions {
  reason?: string;
  headers?: ReadonlyArray<readonly [string, string]>;
  body?: Buffer | string;
  contentType?: string;
}

export class IncomingRequest {
  /** The tag this UAS puts in To when the request had none (§8.2.6.2); stable across responses. */
  readonly localTag: string;
  /** The dialog the request arrived in, when it carried a To tag that matched one. */
  dialog: Dialog | undefined;
  private answered: SipResponse | undefined;

  constructor(
    readonly transaction: ServerTransaction,
    readonly request: SipRequest,
    readonly received: ReceivedMessage,
    newTag: () => string,
    /** Headers every response of this UA carries (Server, Allow …). */
    private readonly decorate: (response: SipResponse) => void = () => {},
  ) {
    const to = request.headers.get('To');
    this.localTag = to !== undefined && hasTag(to) ? '' : newTag();
  }

  get method(): string {
    return this.request.method;
  }

  /** The final response sent, if any. */
  get finalResponse(): SipResponse | undefined {
    return this.answered;
  }

  /** Sends a response through the server transaction. A second final response is not sent (§17.2). */
  respond(status: number, options: ResponseOptions = {}): SipResponse {
    if (this.answered) return this.answered;
    const response = createResponse(this.request, status, options.reason, status > 100 && this.localTag ? this.localTag : undefined);
    for (const [n, v] of options.headers ?? []) response.headers.append(n, v);
    this.decorate(response);
    const body = options.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body, 'utf8');
    if (body.length > 0 && options.contentType !== undefined) response.headers.set('Content-Type', options.contentType);
    response.body = body;
    response.headers.set('Content-Length', String(body.length));
    if (status >= 200) this.answered = response;
    this.transaction.respond(response);
    return response;
  }
}
