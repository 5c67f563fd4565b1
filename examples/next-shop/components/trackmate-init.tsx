'use client';

import { init } from '@trackmate/browser';
import { activeSite } from '@trackmate/browser/active-site';
import { pageView } from '@trackmate/browser/page-view';
import { useEffect } from 'react';

let started = false;

/**
 * Starts the browser SDK once per page load (React may run effects twice in development). The pageView plugin
 * records the first page and every client-side navigation of the App Router (history.pushState).
 */
export function TrackMateInit({ writeKey, host }: { writeKey: string; host: string }) {
  useEffect(() => {
    if (started || !writeKey) return;
    started = true;
    init({ writeKey, host, plugins: [pageView(), activeSite()] });
  }, [writeKey, host]);
  return null;
}
