import type { FormFields, Plugin } from '../types.js';

type Field = HTMLInputElement;

/** Never read: these types, and names or autocomplete tokens that smell of secrets or payment data. */
const SKIP_TYPE = /^(password|hidden|file)$/;
const SKIP_NAME = /pass|card|cc-|cvc|cvv|iban|secret|token|ssn/;

/**
 * Which of the five fields an input holds, judged by type, autocomplete and name/id (lower-cased), or
 * undefined for every other input, whose value is then never read. A `type=tel` input is a phone only when
 * its name or autocomplete says so (one-time codes and card numbers are typed into tel inputs too).
 */
const fieldOf = (type: string, hint: string): keyof FormFields | undefined =>
  type === 'checkbox'
    ? /terms|accept|agree|consent/.test(hint)
      ? 'accept_terms'
      : undefined
    : type === 'email' || /mail/.test(hint)
      ? 'email'
      : /(^|[^a-z])tel|phone|mobile/.test(hint)
        ? 'phone'
        : /given|first.?name|fname/.test(hint)
          ? 'firstName'
          : /family|last.?name|lname|surname/.test(hint)
            ? 'lastName'
            : undefined;

/**
 * A value that looks like payment data whatever the field claims: 3 or 4 digits (a CVV), or 13 to 19 digits
 * (spaces and dashes aside) that pass the Luhn check (a card number).
 */
export const looksLikeCard = (value: string): boolean => {
  const d = value.replace(/[\s-]/g, '');
  if (/^\d{3,4}$/.test(d)) return true;
  if (!/^\d{13,19}$/.test(d)) return false;
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    const n = +d[d.length - 1 - i]! * (i % 2 ? 2 : 1);
    sum += n > 9 ? n - 9 : n;
  }
  return sum % 10 === 0;
};

/** Reads the five mapped fields of a form; everything else, and any `[data-track-ignore]`, stays unread. */
export const readForm = (form: HTMLFormElement): FormFields => {
  const fields: FormFields = {};
  for (const el of form.elements as unknown as Field[]) {
    const hint = `${el.getAttribute('autocomplete')} ${el.name} ${el.id}`.toLowerCase();
    const key = fieldOf(el.type, hint);
    if (!key || key in fields || SKIP_TYPE.test(el.type) || SKIP_NAME.test(hint)) continue;
    if (el.closest('[data-track-ignore]')) continue;
    if (key === 'accept_terms') fields[key] = el.checked;
    // Cut to the collector's limits, so one over-long entry does not cost the whole event.
    else if (el.value.trim() && !looksLikeCard(el.value))
      fields[key] = el.value.trim().slice(0, key === 'email' ? 254 : key === 'phone' ? 64 : 200);
  }
  return fields;
};

/**
 * form_submit with formId (id, else name) and the fields email, firstName, lastName, phone and accept_terms,
 * mapped from input type, autocomplete and name. Password, card, hidden and file inputs are never read;
 * neither is anything inside `[data-track-ignore]`, and a value that looks like a card number or CVV is never
 * sent, whatever its field.
 */
export const formSubmit = (): Plugin => {
  let onSubmit: (e: Event) => void;
  return {
    setup(t) {
      onSubmit = (e) => {
        const form = e.target as HTMLFormElement;
        if (form.tagName !== 'FORM' || form.closest('[data-track-ignore]')) return;
        t.track('form_submit', {
          // getAttribute: form.id would be an input named "id" if the form has one.
          formId: form.getAttribute('id') || form.getAttribute('name') || '',
          fields: readForm(form),
        });
      };
      document.addEventListener('submit', onSubmit, true);
    },
    teardown: () => document.removeEventListener('submit', onSubmit, true),
  };
};
