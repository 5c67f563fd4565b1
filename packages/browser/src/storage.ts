/**
 * String key-value stores: the seam through which identity, consent and the unsent queue persist. No method
 * throws: storage that refuses (quota, a sandboxed frame where `document.cookie` throws, a disabled or
 * corrupt localStorage) reads as empty and `set` answers undefined instead of true.
 */
export interface Store {
  get(key: string): string | null | undefined;
  /** True when stored; undefined when the browser refused (quota, …). */
  set(key: string, value: string): true | undefined;
  del(key: string): void;
  /** Every key held (localStorage: the origin's, other tabs' and scripts' included); only the queue needs it. */
  keys?(): string[];
}

/** `f` that gives undefined instead of throwing. */
export const safely =
  <A extends unknown[], R>(f: (...a: A) => R) =>
  (...a: A): R | undefined => {
    try {
      return f(...a);
    } catch {
      return undefined;
    }
  };

export const memoryStore = (): Store => {
  const m = new Map<string, string>();
  return { get: (k) => m.get(k), set: (k, v) => !!m.set(k, v) as true, del: (k) => m.delete(k) };
};

/** localStorage when it exists and takes a write (it throws when disabled, in sandboxed frames, …). */
export const localStore = (): Store | undefined => {
  try {
    const ls = localStorage;
    ls.setItem('tm_', '');
    ls.removeItem('tm_');
    return {
      // Once a write went through, only a write can throw (quota).
      get: (k) => ls.getItem(k),
      set(k, v) {
        try {
          ls.setItem(k, v);
          return true;
        } catch {
          return undefined;
        }
      },
      del: (k) => ls.removeItem(k),
      keys: () => Object.keys(ls),
    };
  } catch {
    return undefined;
  }
};
