import { isIPv4, isIPv6 } from 'node:net';

/** The client IP as TRACKMATE_IP_MODE wants it stored: full, anonymized (last octet / last 80 bits zeroed) or none. */
export function storedIp(ip: string | undefined, mode: 'full' | 'anonymize' | 'none'): string | null {
  if (!ip || mode === 'none') return null;
  const v4 = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (mode === 'full') return v4;
  if (isIPv4(v4)) return v4.replace(/\.\d+$/, '.0');
  if (isIPv6(v4)) return anonymizeV6(v4);
  return null;
}

function anonymizeV6(ip: string): string {
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  // keep the first 48 bits (3 groups), zero the last 80
  return `${groups
    .slice(0, 3)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::`;
}
