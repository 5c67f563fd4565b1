/** String key-value stores: the seam through which identity, consent and the unsent queue persist. */
export interface Store {
  get(key: string): string | null;
  /** Throws when the browser refuses (quota). */
  set(key: string, value: string): void;
  del(key: string): void;
}

export const memoryStore = (): Store => {
  const m: Record<string, string> = {};
  return {
    get: (k) => m[k] ?? null,
    set: (k, v) => {
      m[k] = v;
    },
    del: (k) => {
      delete m[k];
    },
  };
};

/** localStorage when it exists and takes a write (it throws when disabled, in sandboxed frames, …). */
export const localStore = (): Store | undefined => {
  try {
    const ls = localStorage;
    ls.setItem('tm_', '');
    ls.removeItem('tm_');
    return { get: (k) => ls.getItem(k), set: (k, v) => ls.setItem(k, v), del: (k) => ls.removeItem(k) };
  } catch {
    return undefined;
  }
};

/** A first-party cookie per key, for ids when localStorage is unavailable. */
export const cookieStore = (): Store => {
  const set = (k: string, v: string, age = 3e7) => {
    // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is not in Safari or Firefox
    document.cookie = `${k}=${encodeURIComponent(v)};path=/;max-age=${age};SameSite=Lax${
      location.protocol === 'https:' ? ';Secure' : ''
    }`;
  };
  return {
    get: (k) => {
      const m = document.cookie.match(`(?:^|; )${k}=([^;]*)`);
      return m ? decodeURIComponent(m[1]!) : null;
    },
    set,
    del: (k) => set(k, '', 0),
  };
};
