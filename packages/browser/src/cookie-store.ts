import { type Store, safely } from './storage.js';

/**
 * A first-party cookie per key: where ids and the consent decision live when localStorage is unusable, if
 * you pass it as the `storage` option (the script-tag build does). Without it they live in memory then.
 * The unsent queue never goes into cookies (too small).
 */
export const cookieStore = (): Store => {
  const set = safely((k: string, v: string, age = 3e7): true => {
    // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is not in Safari or Firefox
    document.cookie = `${k}=${encodeURIComponent(v)};path=/;max-age=${age};SameSite=Lax${
      location.protocol === 'https:' ? ';Secure' : ''
    }`;
    return true;
  });
  return {
    get: safely((k) => {
      const m = document.cookie.match(`(?:^|; )${k}=([^;]*)`);
      return m && decodeURIComponent(m[1]!);
    }),
    set,
    del: (k) => set(k, '', 0),
  };
};
