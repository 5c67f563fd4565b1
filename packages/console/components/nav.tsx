'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';

const LINKS = [
  { href: '/', label: 'Overview' },
  { href: '/events', label: 'Live events' },
  { href: '/profiles', label: 'Profiles' },
  { href: '/campaigns', label: 'Campaigns' },
  { href: '/webhooks', label: 'Webhooks' },
  { href: '/dead-letters', label: 'Dead letters' },
  { href: '/settings', label: 'Site settings' },
];

export function Nav() {
  const path = usePathname();
  const current = (href: string) => (href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`));
  return (
    <nav aria-label="Console">
      <ul>
        {LINKS.map((l) => (
          <li key={l.href}>
            <Link href={l.href} aria-current={current(l.href) ? 'page' : undefined}>
              {l.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
