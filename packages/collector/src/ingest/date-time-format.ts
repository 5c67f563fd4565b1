import { Format } from 'typebox/format';

const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** Positions and character codes of the separators of `YYYY-MM-DDTHH:MM:SS.sssZ`, flat (no iterator per call). */
const SEPARATORS = [4, 45, 7, 45, 10, 84, 13, 58, 16, 58, 19, 46, 23, 90]; // - - T : : . Z

/** The digit at `at`, or a negative number large enough to make any sum it is part of negative. */
const digit = (s: string, at: number) => {
  const d = s.charCodeAt(at) - 48;
  return d >= 0 && d <= 9 ? d : -100_000;
};

/**
 * TypeBox's `date-time` format answered without regular expressions for the one shape browsers send
 * (`Date.prototype.toISOString()`: `YYYY-MM-DDTHH:MM:SS.sssZ`), with the same answer as TypeBox's own check
 * (`IsDateTime`: a real month and day, hour ≤ 23, minute ≤ 59, second ≤ 59 or a leap second at 23:59:60 UTC);
 * undefined for any other shape, which TypeBox's check answers. The envelope of every client event has two of
 * them, and TypeBox's split and regular expressions were 5 % of the API's CPU in a 100-event batch profile.
 * Indexed loops and arithmetic only: the first version's `for…of` over arrays of pairs took 120–200 ns a call.
 */
export function isoUtcDateTime(value: string): boolean | undefined {
  if (value.length !== 24) return undefined;
  for (let i = 0; i < SEPARATORS.length; i += 2) {
    if (value.charCodeAt(SEPARATORS[i]!) !== SEPARATORS[i + 1]) return undefined;
  }
  const year = digit(value, 0) * 1000 + digit(value, 1) * 100 + digit(value, 2) * 10 + digit(value, 3);
  const month = digit(value, 5) * 10 + digit(value, 6);
  const day = digit(value, 8) * 10 + digit(value, 9);
  const hour = digit(value, 11) * 10 + digit(value, 12);
  const minute = digit(value, 14) * 10 + digit(value, 15);
  const second = digit(value, 17) * 10 + digit(value, 18);
  const millis = digit(value, 20) + digit(value, 21) + digit(value, 22);
  // a non-digit anywhere made its field negative
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || millis < 0) return undefined;
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
