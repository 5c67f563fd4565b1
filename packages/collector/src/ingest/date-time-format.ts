import { Format } from 'typebox/format';

const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** Positions of the digits of `YYYY-MM-DDTHH:MM:SS.sssZ`. */
const DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
const SEPARATORS: Array<[number, number]> = [
  [4, 45], // -
  [7, 45], // -
  [10, 84], // T
  [13, 58], // :
  [16, 58], // :
  [19, 46], // .
  [23, 90], // Z
];

const two = (s: string, at: number) => (s.charCodeAt(at) - 48) * 10 + s.charCodeAt(at + 1) - 48;

/**
 * TypeBox's `date-time` format answered without regular expressions for the one shape browsers send
 * (`Date.prototype.toISOString()`: `YYYY-MM-DDTHH:MM:SS.sssZ`), with the same answer as TypeBox's own check
 * (`IsDateTime`: a real month and day, hour ≤ 23, minute ≤ 59, second ≤ 59 or a leap second at 23:59:60 UTC);
 * undefined for any other shape, which TypeBox's check answers. The envelope of every client event has two of
 * them, and TypeBox's split and regular expressions were 5 % of the API's CPU in a 100-event batch profile.
 */
export function isoUtcDateTime(value: string): boolean | undefined {
  if (value.length !== 24) return undefined;
  for (const [at, code] of SEPARATORS) if (value.charCodeAt(at) !== code) return undefined;
  for (const at of DIGITS) {
    const c = value.charCodeAt(at);
    if (c < 48 || c > 57) return undefined;
  }
  const year = two(value, 0) * 100 + two(value, 2);
  const month = two(value, 5);
  const day = two(value, 8);
  const hour = two(value, 11);
  const minute = two(value, 14);
  const second = two(value, 17);
  const leapYear = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (month < 1 || month > 12 || day < 1 || day > (month === 2 && leapYear ? 29 : DAYS[month]!)) return false;
  if (hour > 23 || minute > 59) return false;
  return second < 60 || (second === 60 && hour === 23 && minute === 59);
}

let installed = false;

/** Puts `isoUtcDateTime` in front of TypeBox's `date-time` check (before the validators that use it are compiled). */
export function installDateTimeFormat(): void {
  if (installed) return;
  installed = true;
  const typeboxCheck = Format.Get('date-time') ?? Format.IsDateTime;
  Format.Set('date-time', (value: string) => isoUtcDateTime(value) ?? typeboxCheck(value));
}
