import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a webhook may not reach unless TRACKMATE_WEBHOOK_ALLOW_PRIVATE is set: loopback, link-local
 * (169.254.169.254, the cloud metadata service), private, shared, unique-local and other special ranges. Without
 * this a subscription would be a scanner of the collector's own network (the deliveries API shows codes and
 * latency).
 */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6');
}

/**
 * Whether an address is in one of the ranges above. An IPv6 address that carries an IPv4 address inside is
 * judged by that IPv4 address too: IPv4-mapped (`::ffff:0:0/96`) and IPv4-compatible (`::/96`), NAT64
 * (`64:ff9b::/96`; the local-use `64:ff9b:1::/48` is refused whole) and 6to4 (`2002::/16`, the IPv4 address in
 * bits 16–47). Teredo (`2001::/32`) tunnels to an address it hides, so it is refused whole.
 */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family !== 6) return false;
  if (PRIVATE.check(address, 'ipv6')) return true;
  const words = ipv6Words(address);
  if (!words) return true; // isIP accepted it, so this cannot happen; refuse rather than guess
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zero = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  if (zero(0, 5) && (words[5] === 0xffff || words[5] === 0)) return PRIVATE.check(v4(words[6]!, words[7]!), 'ipv4');
  if (words[0] === 0x64 && words[1] === 0xff9b) {
    if (words[2] === 1) return true;
    if (zero(2, 6)) return PRIVATE.check(v4(words[6]!, words[7]!), 'ipv4');
  }
  if (words[0] === 0x2002) return PRIVATE.check(v4(words[1]!, words[2]!), 'ipv4');
  if (words[0] === 0x2001 && words[1] === 0) return true;
  return false;
}

/** The eight 16-bit words of an IPv6 address (`::` expanded, a trailing dotted IPv4 part and a zone allowed). */
function ipv6Words(address: string): number[] | null {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail, extra] = text.split('::');
  if (extra !== undefined) return null;
  const part = (s: string | undefined) => (s ? s.split(':').map((w) => Number.parseInt(w, 16)) : []);
  const left = part(head);
  const right = part(tail);
  const words = tail === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : null;
}

/** A delivery refused before any connection: retrying it would be refused again. */
export class PrivateAddressError extends Error {
  constructor(host: string, address: string) {
    super(
      `${host} is ${address === host ? '' : `resolved to ${address}, `}a private address: refused (set TRACKMATE_WEBHOOK_ALLOW_PRIVATE=true to allow)`,
    );
    this.name = 'PrivateAddressError';
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * dns.lookup that refuses private answers. The connection uses the address checked here, so a name that
 * resolves differently a moment later (DNS rebinding) cannot slip through.
 */
function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(new PrivateAddressError(hostname, bad.address), '');
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
    callback(null, first.address, first.family);
  });
}

/**
 * POSTs a body and resolves with the status code (redirects are not followed). Private addresses are refused
 * unless `allowPrivate`, both for literal IPs and for names, at connect time.
 */
export function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; allowPrivate: boolean },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (!options.allowPrivate && isIP(host) && isPrivateAddress(host)) {
      reject(new PrivateAddressError(host, host));
      return;
    }
    const request = (target.protocol === 'https:' ? https : http).request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: options.allowPrivate ? undefined : guardedLookup,
        timeout: options.timeoutMs,
      },
      (res) => {
        res.resume(); // the answer's body is not read
        resolve(res.statusCode ?? 0);
      },
    );
    const deadline = setTimeout(
      () => request.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })),
      options.timeoutMs,
    );
    request.on('close', () => clearTimeout(deadline));
    request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })));
    request.on('error', reject);
    request.end(body);
  });
}
