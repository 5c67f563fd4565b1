'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';

/** Re-renders the page's server data every few seconds while switched on (on by default). */
export function AutoRefresh({ seconds = 3 }: { seconds?: number }) {
  const router = useRouter();
  const [on, setOn] = useState(true);
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') router.refresh();
    }, seconds * 1000);
    return () => clearInterval(timer);
  }, [on, seconds, router]);
  return (
    <label className="inline" style={{ fontWeight: 400 }}>
      <input type="checkbox" checked={on} onChange={(e) => setOn(e.target.checked)} /> Refresh every {seconds} s
    </label>
  );
}
