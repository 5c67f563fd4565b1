'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';

/** The console's pages, by path. */
const LINKS: Record<string, string> = {
  '/': 'Overview',
  '/events': 'Live events',
  '/profiles': 'Profiles',
  '/funnels': 'Funnels',
  '/segments': 'Segments',
  '/campaigns': 'Campaigns',
  '/flows': 'Flows',
  '/webhooks': 'Webhooks',
  '/dead-letters': 'Dead letters',
  '/settings': 'Site settings',
};

export function Nav() {
  const path = usePathname();
  const current = (href: string) => (href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`));
  return (
    <nav aria-label="Console">
      <ul>
        {Object.entries(LINKS).map(([href, label]) => (
          <li key={href}>
            <Link href={href} aria-current={current(href) ? 'page' : undefined}>
              {label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
