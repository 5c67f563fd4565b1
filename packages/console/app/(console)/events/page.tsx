import type { Metadata } from 'next';
import Link from 'next/link';
import { AutoRefresh } from '@/components/auto-refresh';
import { EventList } from '@/components/event-list';
import { GettingStarted } from '@/components/snippet';
import { getEvents, getSite } from '@/lib/data';
import { param } from '@/lib/format';

export const metadata: Metadata = { title: 'Live events' };

const COMMON = [
  'page_view',
  'active_site',
  'add_to_cart',
  'order_placed',
  'form_submit',
  'identify',
  'button_click',
  'deep_scroll',
];

export default async function EventsPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const sp = await searchParams;
  const name = param(sp.name)?.trim() || undefined;
  const cursor = param(sp.cursor);
  const validName = name === undefined || /^[a-z][a-z0-9_]{0,63}$/.test(name);
  const [page, site] = await Promise.all([getEvents(50, validName ? name : undefined, cursor), getSite()]);
  const filtered = name ? `?name=${encodeURIComponent(name)}` : '';

  return (
    <>
      <h1>Live events</h1>
      <div className="panel row" style={{ justifyContent: 'space-between' }}>
        <form method="get" className="row" aria-label="Filter events">
          <div>
            <label htmlFor="name">Event name</label>
            <input id="name" name="name" list="names" defaultValue={name} placeholder="any" />
            <datalist id="names">
              {COMMON.map((n) => (
                <option key={n} value={n} />
              ))}
            </datalist>
          </div>
          <button type="submit">Filter</button>
          {name ? (
            <Link href="/events" className="button secondary">
              All events
            </Link>
          ) : null}
        </form>
        {cursor ? <Link href={`/events${filtered}`}>Back to the newest</Link> : <AutoRefresh />}
      </div>
      {!validName ? <p className="error">Event names are lower-case letters, digits and _ (e.g. page_view).</p> : null}
      <section aria-live="polite" aria-label="Newest events">
        {page.events.length ? (
          <EventList events={page.events} />
        ) : name ? (
          <p className="empty">No {name} events yet.</p>
        ) : (
          <div className="empty">
            <h2 style={{ marginTop: 0 }}>Waiting for the first event</h2>
            <GettingStarted writeKey={site.writeKey} />
          </div>
        )}
      </section>
      {page.nextCursor ? (
        <p>
          <Link href={`/events?${new URLSearchParams({ ...(name ? { name } : {}), cursor: page.nextCursor })}`}>
            Older events
          </Link>
        </p>
      ) : null}
    </>
  );
}
