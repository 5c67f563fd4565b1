import { publicCollectorUrl } from '../lib/collector';

/** What a new user does next: the script tag, the npm install, and a curl that sends one event. */
export function GettingStarted({ writeKey }: { writeKey: string }) {
  const host = publicCollectorUrl();
  const tag = `<script async src="${host}/sdk.js" data-write-key="${writeKey}"></script>`;
  const npm = `npm i @trackmate/browser

import { init } from '@trackmate/browser';
import { pageView } from '@trackmate/browser/page-view';
init({ writeKey: '${writeKey}', host: '${host}', plugins: [pageView()] });`;
  const curl = `curl -i -X POST ${host}/api/track/event -H 'content-type: text/plain' \\
  -d '{"writeKey":"${writeKey}","messageId":"try-${Date.now().toString(36)}","name":"page_view",
       "timestamp":"${new Date().toISOString()}","anonymousId":"visitor-1",
       "properties":{"url":"https://shop.example/","referrer":"","title":"Home"}}'`;
  return (
    <>
      <p>
        Add this tag to every page of your site (before &lt;/head&gt;); it records page views, visits, scrolls, clicks
        and forms:
      </p>
      <pre data-snippet="tag">{tag}</pre>
      <p>Or, in an app with a bundler:</p>
      <pre data-snippet="npm">{npm}</pre>
      <p>Or send one event from a terminal right now:</p>
      <pre data-snippet="curl">{curl}</pre>
      <p className="hint">
        A page on another origin must be in the site’s allowed origins (Site settings). Events appear in Live events
        within a second or two.
      </p>
    </>
  );
}
