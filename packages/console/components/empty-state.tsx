import type { ReactNode } from 'react';

/** What a list shows before it has anything: what will appear here, and how to make it appear. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <h2 style={{ marginTop: 0 }}>{title}</h2>
      {children}
    </div>
  );
}
