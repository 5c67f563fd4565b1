'use client';

import { type ReactNode, useRef } from 'react';

/** A button that opens a modal dialog (focus kept inside, Escape closes) holding the confirming form. */
export function ConfirmDialog({ open, title, children }: { open: string; title: string; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  return (
    <>
      <button type="button" className="danger" onClick={() => ref.current?.showModal()}>
        {open}
      </button>
      <dialog ref={ref} aria-label={title}>
        <h2 style={{ marginTop: 0 }}>{title}</h2>
        {children}
        <button type="button" className="secondary" style={{ marginTop: 8 }} onClick={() => ref.current?.close()}>
          Cancel
        </button>
      </dialog>
    </>
  );
}
