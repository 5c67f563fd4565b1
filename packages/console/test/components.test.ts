import type { StoredEvent } from '@trackmate/schema';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { DataTable } from '../components/data-table.js';
import { DeliveryTable } from '../components/delivery-table.js';
import { EmptyState } from '../components/empty-state.js';
import { EventList } from '../components/event-list.js';

const event = (over: Partial<StoredEvent>): StoredEvent => ({
  id: '6b112dbcde3674634acff8ff',
  messageId: 'm-1',
  name: 'page_view',
  timestamp: '2026-12-03T08:52:12.000Z',
  receivedAt: '2026-12-03T08:52:12.100Z',
  profileId: null,
  anonymousId: 'visitor-1',
  sessionId: 's-1',
  source: 'client',
  properties: { url: 'https://shop.test/a', referrer: '', title: 'A' },
  userAgent: null,
  ip: null,
  ...over,
});

describe('console components (server-rendered markup)', () => {
  it('EventList: one row per event, the key property as the summary, the stored JSON escaped inside', () => {
    const html = renderToStaticMarkup(
      createElement(EventList, {
        events: [
          event({ name: 'add_to_cart', properties: { productId: '<b>sku</b>', quantity: 1, price: 5 } }),
          event({ profileId: '6b112dbcde3674634acff800' }),
        ],
      }),
    );
    expect(html.match(/<tr data-event=/g)).toHaveLength(2);
    expect(html).toContain('productId: &lt;b&gt;sku&lt;/b&gt;');
    expect(html).not.toContain('<b>sku</b>');
    expect(html).toContain('url: https://shop.test/a');
    expect(html).toContain('href="/profiles/6b112dbcde3674634acff800"');
    expect(html).toContain('2026-12-03 08:52:12 UTC');
  });

  it('DeliveryTable: status badges, the receiver’s answer or the error, and an action cell only when asked', () => {
    const d = {
      id: 'd1',
      status: 'failed',
      attempt: 2,
      target: 'https://hooks.example/x',
      responseCode: 500,
      latencyMs: 12,
      error: 'receiver answered 500',
      at: '2026-12-03T08:00:00.000Z',
    };
    const plain = renderToStaticMarkup(createElement(DeliveryTable, { deliveries: [d] }));
    expect(plain).toContain('class="badge failed"');
    expect(plain).toContain('receiver answered 500');
    expect(plain).not.toContain('>Action<');
    const withAction = renderToStaticMarkup(
      createElement(DeliveryTable, {
        deliveries: [d],
        actions: () => createElement('button', { type: 'button' }, 'Retry'),
      }),
    );
    expect(withAction).toContain('<button type="button">Retry</button>');
  });

  it('DataTable: a header per shown column, a row per item with its data- attributes; left-out columns leave no cell', () => {
    const rows = [
      { id: 'a', name: 'Ada', n: 1 },
      { id: 'b', name: '<Bob>', n: 2 },
    ];
    const html = renderToStaticMarkup(
      createElement(DataTable<(typeof rows)[number]>, {
        panel: true,
        rows,
        rowKey: (r) => r.id,
        rowData: (r) => ({ 'data-row': r.id }),
        columns: [
          { header: 'Name', cellClassName: 'break', cell: (r) => r.name },
          false,
          { header: 'Count', className: 'num', cell: (r) => r.n },
        ],
      }),
    );
    expect(html.startsWith('<div class="panel table-wrap"><table>')).toBe(true);
    expect(html.match(/<th /g)).toHaveLength(2);
    expect(html).toContain('<th scope="col" class="num">Count</th>');
    expect(html).toContain('<tr data-row="b"><td class="break">&lt;Bob&gt;</td><td class="num">2</td></tr>');
  });

  it('EmptyState: its title as a heading, then what to do', () => {
    const html = renderToStaticMarkup(
      createElement(EmptyState, { title: 'Nothing yet' }, createElement('p', null, 'Send an event')),
    );
    expect(html).toBe('<div class="empty"><h2 style="margin-top:0">Nothing yet</h2><p>Send an event</p></div>');
  });
});
