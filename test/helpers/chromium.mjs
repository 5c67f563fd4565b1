// Chromium for the browser tests and the bench, launched one way everywhere: the machine's Chromium
// (scripts/ensure-chromium.sh installs Debian's), headless, without the background traffic and updates that make
// runs noisy. Plain JavaScript so that bench/ (run by node) and every package's tests share it.
import { chromium } from 'playwright-core';

/** Where Chromium is: CHROMIUM_PATH, else Debian's. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** A headless Chromium browser (playwright-core); close it when done. */
export const launchChromium = () =>
  chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
