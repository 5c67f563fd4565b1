import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../config.js';
import { TrackMateError } from '../errors.js';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
  unsubscribeUrl: string;
}

export interface Mailer {
  send(mail: Mail): Promise<{ messageId: string; response: string }>;
  close(): void;
}

/** SMTP_URL with a pool of open connections (broadcasts: many messages in a row), unless the URL sets its own. */
function pooled(smtpUrl: string): string {
  const url = new URL(smtpUrl);
  if (!url.searchParams.has('pool')) url.searchParams.set('pool', 'true');
  if (!url.searchParams.has('maxConnections')) url.searchParams.set('maxConnections', '8');
  return url.toString();
}

/**
 * SMTP through nodemailer (SMTP_URL). Without SMTP_URL every send fails loudly, as docs/configuration.md says.
 * `pool`: keep connections open between messages (broadcasts).
 */
export function createMailer(config: Config, options: { pool?: boolean } = {}): Mailer {
  let transport: Transporter | undefined;
  return {
    async send(mail) {
      if (!config.smtpUrl) throw new TrackMateError('TM_ERR_SMTP_NOT_CONFIGURED');
      transport ??= nodemailer.createTransport(options.pool ? pooled(config.smtpUrl) : config.smtpUrl);
      const from = config.mailFrom ?? `TrackMate <no-reply@${new URL(config.publicUrl).hostname}>`;
      const info = await transport.sendMail({
        from,
        to: mail.to,
        subject: mail.subject.replace(/[\r\n]+/g, ' '),
        text: mail.text,
        html: mail.html,
        headers: {
          'List-Unsubscribe': `<${mail.unsubscribeUrl}>`,
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        },
      });
      return { messageId: String(info.messageId), response: String(info.response ?? '') };
    },
    close() {
      transport?.close();
    },
  };
}
