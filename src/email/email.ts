/** The email domain's services, built once by the composition root. */
import type { AppDeps } from '../app.js';
import type { WorkHolder } from '../db/holder.js';
import { createDevInboxProvider } from './dev-inbox.js';
import { EngagementRecorder } from './engagement.js';
import { LinkSigner } from './links.js';
import type { EmailProvider } from './provider.js';
import { ProviderSettings } from './provider-settings.js';
import { fetchHttp, type HttpClient } from './providers/http.js';
import { EmailSender, type EmailSenderOptions } from './sender.js';
import { createSmtpProvider } from './smtp.js';

export interface EmailServices {
  signer: LinkSigner;
  sender: EmailSender;
  providers: ProviderSettings;
  /** Outbound HTTP for provider APIs and SNS certificates. */
  http: HttpClient;
  /** SNS signing certificates already fetched, by URL. */
  snsCertificates: Map<string, string>;
  /** Opens and clicks from recipients, group-committed (engagement.ts). */
  engagement: EngagementRecorder;
}

export interface EmailServiceOptions {
  appSecret: string;
  /** The process's holder of claimed work (db/holder.ts). */
  holder: WorkHolder;
  /** Replaces the configured provider (tests). */
  provider?: EmailProvider;
  /** Outbound HTTP for the provider APIs (tests point it at local servers). */
  http?: HttpClient;
  /** Campaign email personalization at send time (src/ai/variants.ts). */
  personalize?: EmailSenderOptions['personalize'];
}

/** SMTP when SMTP_URL is set, otherwise the dev inbox. */
export function configuredProvider(deps: Pick<AppDeps, 'config' | 'db'>): EmailProvider {
  return deps.config.smtpUrl ? createSmtpProvider(deps.config.smtpUrl) : createDevInboxProvider(deps.db);
}

export function createEmailServices(deps: Omit<AppDeps, 'email'>, options: EmailServiceOptions): EmailServices {
  const signer = new LinkSigner(options.appSecret);
  const http = options.http ?? fetchHttp;
  const providers = new ProviderSettings(deps.db, deps.clock, options.appSecret, http, { smtpHosts: { dns: deps.dns, allowPrivate: deps.config.smtpAllowPrivateHosts } });
  const sender = new EmailSender({
    db: deps.db,
    clock: deps.clock,
    logger: deps.logger,
    eventSink: () => deps.eventSink,
    holder: options.holder,
    provider: options.provider ?? configuredProvider(deps),
    providerFor: (workspaceId) => providers.routerFor(workspaceId),
    onStop: () => providers.close(),
    signer,
    publicUrl: deps.config.publicUrl,
    pollMs: deps.config.workerPollMs,
    ...(options.personalize ? { personalize: options.personalize } : {}),
  });
  return { signer, sender, providers, http, snsCertificates: new Map(), engagement: new EngagementRecorder(deps.db, () => deps.eventSink) };
}
