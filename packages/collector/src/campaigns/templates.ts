/** Values a campaign template may use: `{{profile.firstName}}`, `{{event.properties.productId}}`, … */
export interface TemplateContext {
  profile: Record<string, unknown>;
  event: { name: string; timestamp: string; properties: Record<string, unknown> };
  unsubscribeUrl?: string;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.]+)\s*\}\}/g;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** A small HTML page (the unsubscribe and consent-confirmation pages); `body` is HTML, the title is escaped. */
export const htmlPage = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
  `<title>${escapeHtml(title)}</title></head><body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">` +
  `<h1>${escapeHtml(title)}</h1>${body}</body></html>`;

function lookup(ctx: TemplateContext, path: string): string {
  let value: unknown = ctx;
  for (const part of path.split('.')) {
    if (part === '__proto__' || part === 'constructor' || part === 'prototype') return '';
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return '';
    value = (value as Record<string, unknown>)[part];
  }
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Fills `{{path}}` placeholders; unknown paths become empty. `html` escapes every value. */
export function render(template: string, ctx: TemplateContext, mode: 'text' | 'html'): string {
  return template.replace(PLACEHOLDER, (_, path: string) => {
    const v = lookup(ctx, path);
    return mode === 'html' ? escapeHtml(v) : v;
  });
}

/** The paths a template uses that cannot be filled from any context (for validation on save). */
export function unknownRoots(template: string): string[] {
  const bad: string[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const root = m[1]!.split('.')[0]!;
    if (!['profile', 'event', 'unsubscribeUrl'].includes(root)) bad.push(m[1]!);
  }
  return bad;
}
