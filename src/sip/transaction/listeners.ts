/**
 * The TUs' listeners for a server transaction's end: none, one (a proxy's or a UA's, the usual case) or several.
 * One is kept as itself, since an array with one element costs its growth room too, and a core under load holds
 * tens of thousands of server transactions for Timers J and L.
 */
export type Listeners<T> = ((value: T) => void) | Array<(value: T) => void> | undefined;

export function addListener<T>(listeners: Listeners<T>, listener: (value: T) => void): Listeners<T> {
  if (listeners === undefined) return listener;
  return typeof listeners === 'function' ? [listeners, listener] : [...listeners, listener];
}

export function notify<T>(listeners: Listeners<T>, value: T): void {
  if (typeof listeners === 'function') listeners(value);
  else if (listeners) for (const l of listeners) l(value);
}
