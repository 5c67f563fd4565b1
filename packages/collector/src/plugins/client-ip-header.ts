import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';

/** The visitor's address as the console forwards it, and its signature (docs/security.md, The console). */
export const CLIENT_IP_HEADER = 'x-trackmate-client-ip';
export const CLIENT_IP_SIGNATURE_HEADER = 'x-trackmate-client-ip-signature';
/** How old a signature may be (the console signs each call as it makes it). */
const MAX_AGE_S = 300;

const mac = (secret: string, t: string, ip: string) => createHmac('sha256', secret).update(`${t}.${ip}`).digest();

/** `t=<unix seconds>,v1=<base64url HMAC-SHA256(secret, "<t>.<ip>")>`: what the console sends beside the address. */
export function signClientIp(secret: string, ip: string, now = Date.now()): string {
  const t = String(Math.floor(now / 1000));
  return `t=${t},v1=${mac(secret, t, ip).toString('base64url')}`;
}

/**
 * The client an unknown key is counted against: the request's address, unless the request comes from the console
 * and carries the visitor's address signed with TRACKMATE_CONSOLE_SECRET (every console sign-in comes from the
 * console's one address; without this, anyone's bad sign-ins would hold every administrator's up). An unsigned,
 * stale or wrongly signed header is ignored: the request counts against its own address.
 */
export function authClientIp(request: FastifyRequest, secret: string | undefined, now = Date.now()): string {
  if (!secret) return request.ip;
  const ip = request.headers[CLIENT_IP_HEADER];
  const signature = request.headers[CLIENT_IP_SIGNATURE_HEADER];
  if (typeof ip !== 'string' || typeof signature !== 'string' || !isIP(ip)) return request.ip;
  const m = /^t=(\d{1,12}),v1=([A-Za-z0-9_-]{43})$/.exec(signature);
  if (!m || Math.abs(now / 1000 - Number(m[1])) > MAX_AGE_S) return request.ip;
  const expected = mac(secret, m[1]!, ip);
  const given = Buffer.from(m[2]!, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected) ? `console:${ip}` : request.ip;
}
