import type { Plugin } from '../types.js';

const CLICKABLE = 'button,[role=button],[data-track],input[type=button],input[type=submit]';

/**
 * button_click for buttons, `[role=button]` and elements marked `data-track`, with elementId (the
 * `data-track` value, else the id) and the trimmed visible text (else aria-label), e-mail addresses taken
 * out. Nothing inside `[data-track-ignore]` is reported. Listens in the capture phase, so stopPropagation() cannot hide a click.
 */
export const buttonClick = (): Plugin => {
  let onClick: (e: Event) => void;
  return {
    setup(t) {
      onClick = (e) => {
        const el = (e.target as Element).closest?.(CLICKABLE) as HTMLElement | null;
        if (!el || el.closest('[data-track-ignore]')) return;
        // An input's value is its label only on button-type inputs; a [data-track] text field's is what was typed.
        const text =
          el.tagName === 'INPUT'
            ? /^(button|submit|reset)$/.test((el as HTMLInputElement).type)
              ? (el as HTMLInputElement).value
              : ''
            : el.textContent!.trim() || el.getAttribute('aria-label') || '';
        t.track('button_click', {
          elementId: (el.getAttribute('data-track') || el.id).slice(0, 256),
          // "Log out ada@example.com": the address stays on the page.
          text: text
            .replace(/[^\s@]+@[^\s@]+/g, '')
            .replace(/\s+/g, ' ')
            .trim()
            .slice(0, 1024),
        });
      };
      document.addEventListener('click', onClick, true);
    },
    teardown: () => document.removeEventListener('click', onClick, true),
  };
};
