/** A tiny typed event emitter. Unlike node:events, an unheard 'error' never throws. */
export class Emitter<Events extends Record<string, unknown>> {
  readonly #listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  on<K extends keyof Events>(name: K, listener: (payload: Events[K]) => void): this {
    const set = this.#listeners.get(name) ?? new Set();
    set.add(listener);
    this.#listeners.set(name, set);
    return this;
  }

  off<K extends keyof Events>(name: K, listener: (payload: Events[K]) => void): this {
    this.#listeners.get(name)?.delete(listener);
    return this;
  }

  /** Calls every listener; returns whether there was one. A throwing listener does not stop the others. */
  protected emit<K extends keyof Events>(name: K, payload: Events[K]): boolean {
    const set = this.#listeners.get(name);
    if (!set || set.size === 0) return false;
    for (const listener of [...set]) {
      try {
        (listener as (payload: Events[K]) => void)(payload);
      } catch {
        // A user's listener must not break delivery.
      }
    }
    return true;
  }
}
