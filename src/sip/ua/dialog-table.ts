import type { Dialog, DialogId } from '../dialog/dialog.js';

/**
 * The dialogs a UA holds, found by dialog ID (RFC 3261 §12: Call-ID, local tag, remote tag). Keyed by the
 * dialog's own Call-ID string, so that a dialog that lasts 600,000 s (a reg-event subscription, TS 24.229
 * §5.2.3) costs the table no key of its own (issue 7: a joined key was a 64-byte rope per dialog). Call-IDs are
 * unique per dialog in practice (§8.1.1.4); the dialogs that share one — the early dialogs of a forked INVITE
 * (§12.1.2), a UA that calls itself — sit in one bucket and are told apart by their tags. Anything that carries
 * a dialog ID can be held so.
 */
export class DialogTable<D extends DialogId = Dialog> {
  private readonly byCallId = new Map<string, D | D[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(callId: string, localTag: string, remoteTag: string): D | undefined {
    const bucket = this.byCallId.get(callId);
    if (bucket === undefined) return undefined;
    if (!Array.isArray(bucket)) return matches(bucket, localTag, remoteTag) ? bucket : undefined;
    return bucket.find((d) => matches(d, localTag, remoteTag));
  }

  /** Holds `dialog`, in place of any other with the same ID. */
  set(dialog: D): void {
    const bucket = this.byCallId.get(dialog.callId);
    if (bucket === undefined) {
      this.byCallId.set(dialog.callId, dialog);
      this.count++;
    } else if (!Array.isArray(bucket)) {
      if (matches(bucket, dialog.localTag, dialog.remoteTag)) this.byCallId.set(dialog.callId, dialog);
      else {
        this.byCallId.set(bucket.callId, [bucket, dialog]);
        this.count++;
      }
    } else {
      const i = bucket.findIndex((d) => matches(d, dialog.localTag, dialog.remoteTag));
      if (i >= 0) bucket[i] = dialog;
      else {
        bucket.push(dialog);
        this.count++;
      }
    }
  }

  /** Forgets `dialog` itself (not another that has since taken its ID); whether it was held. */
  delete(dialog: D): boolean {
    const bucket = this.byCallId.get(dialog.callId);
    if (bucket === dialog) {
      this.byCallId.delete(dialog.callId);
      this.count--;
      return true;
    }
    if (!Array.isArray(bucket)) return false;
    const i = bucket.indexOf(dialog);
    if (i < 0) return false;
    bucket.splice(i, 1);
    // Back to a bucket of one, keyed by that dialog's own Call-ID string.
    if (bucket.length === 1) {
      this.byCallId.delete(dialog.callId);
      this.byCallId.set(bucket[0]!.callId, bucket[0]!);
    }
    this.count--;
    return true;
  }

  *values(): IterableIterator<D> {
    for (const bucket of this.byCallId.values()) {
      if (Array.isArray(bucket)) yield* bucket;
      else yield bucket;
    }
  }

  clear(): void {
    this.byCallId.clear();
    this.count = 0;
  }
}

function matches(d: DialogId, localTag: string, remoteTag: string): boolean {
  return d.localTag === localTag && d.remoteTag === remoteTag;
}
