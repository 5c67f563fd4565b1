/**
 * RFC 4122 version 4 UUID from `crypto.getRandomValues`, which (unlike `crypto.randomUUID`) also exists on
 * plain-http pages that are not a secure context.
 */
export const uuid = (): string =>
  '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) =>
    (+c ^ (crypto.getRandomValues(new Uint8Array(1))[0]! & (15 >> (+c / 4)))).toString(16),
  );
