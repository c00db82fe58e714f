/**
 * A minimal event emitter whose events are a type: `{ name: [arg1, arg2] }`.
 *
 * Unlike Node's EventEmitter (and mediasoup's safeEmit, which wraps the whole
 * emit), every listener runs in its own try/catch: one throwing or rejecting
 * listener is reported and never stops the others or the emitter itself.
 */
export type EventMap<E> = { [K in keyof E]: unknown[] };

type Listener<A extends unknown[]> = (...args: A) => unknown;

// Storage is untyped; `on`/`off`/`safeEmit` keep callers typed per event.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyListener = (...args: any[]) => unknown;

interface Registration {
  readonly listener: AnyListener;
  readonly once: boolean;
}

export type ListenerErrorHandler = (event: string, error: unknown) => void;

export class TypedEmitter<E extends EventMap<E>> {
  readonly #listeners = new Map<keyof E, Registration[]>();
  readonly #onListenerError: ListenerErrorHandler;

  constructor(onListenerError?: ListenerErrorHandler) {
    this.#onListenerError =
      onListenerError ??
      ((event, error) => {
        console.error(`listener for "${event}" failed`, error);
      });
  }

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    return this.#add(event, listener, false);
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    return this.#add(event, listener, true);
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const list = this.#listeners.get(event);
    if (!list) return this;
    const index = list.findIndex((r) => r.listener === listener);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) this.#listeners.delete(event);
    return this;
  }

  removeAllListeners(event?: keyof E): this {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
    return this;
  }

  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** Calls every listener of `event`; returns whether there was any. */
  protected safeEmit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) return false;
    for (const registration of [...list]) {
      if (registration.once) this.off(event, registration.listener);
      try {
        const result = registration.listener(...args);
        if (result instanceof Promise) {
          result.catch((error: unknown) => this.#onListenerError(String(event), error));
        }
      } catch (error) {
        this.#onListenerError(String(event), error);
      }
    }
    return true;
  }

  #add<K extends keyof E>(event: K, listener: Listener<E[K]>, once: boolean): this {
    const list = this.#listeners.get(event) ?? [];
    list.push({ listener, once });
    this.#listeners.set(event, list);
    return this;
  }
}
