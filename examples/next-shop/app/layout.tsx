import type { Metadata } from 'next';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { TrackMateInit } from '@/components/trackmate-init';

export const metadata: Metadata = { title: 'Next shop · TrackMate example' };
// the write key and host are read at request time, so one build runs against any collector
export const dynamic = 'force-dynamic';

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 720, margin: '0 auto', padding: 16 }}>
        <TrackMateInit
          writeKey={process.env.TRACKMATE_WRITE_KEY ?? ''}
          host={process.env.TRACKMATE_PUBLIC_HOST ?? process.env.TRACKMATE_HOST ?? 'http://127.0.0.1:8080'}
        />
        <header>
          <nav aria-label="Shop">
            <Link href="/">Shop</Link> · <Link href="/cart">Cart</Link>
          </nav>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
