/**
 * Amazon SES v2 (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html):
 * POST /v2/email/outbound-emails, signed with AWS Signature Version 4 (node:crypto).
 */
import { createHash, createHmac } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import type { EmailProvider, ProviderMessage } from '../provider.js';
import { callProvider, jsonOf, type HttpClient } from './http.js';

export interface SesCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** AWS SigV4 headers for a request (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html). */
export function signAwsRequest(
  request: { method: string; url: string; headers: Record<string, string>; body: string },
  credentials: { accessKeyId: string; secretAccessKey: string; region: string; service: string },
  now: Date,
): Record<string, string> {
  const url = new URL(request.url);
  const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const date = amzDate.slice(0, 8);
  const payloadHash = sha256(request.body);
  // SES does not need x-amz-content-sha256 (S3 does); the payload hash is signed either way.
  const headers: Record<string, string> = { ...request.headers, host: url.host, 'x-amz-date': amzDate };
  const names = Object.keys(headers).map((h) => h.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v.trim().replace(/\s+/g, ' ')]));
  const canonicalHeaders = names.map((n) => `${n}:${lower[n]}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalQuery = [...url.searchParams.entries()]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join('&');
  const canonicalRequest = [request.method, url.pathname || '/', canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${credentials.region}/${credentials.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), credentials.region), credentials.service), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
  return { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}` };
}

export function createSesProvider(credentials: SesCredentials, http: HttpClient, clock: Clock, options: { baseUrl?: string; timeoutMs?: number } = {}): EmailProvider {
  const baseUrl = options.baseUrl ?? `https://email.${credentials.region}.amazonaws.com`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const signing = { ...credentials, service: 'ses' };
  const describe = (r: { body: string }) => String(jsonOf(r.body).message ?? jsonOf(r.body).Message ?? r.body);
  const signed = (method: 'GET' | 'POST', path: string, body: string) => {
    const url = `${baseUrl}${path}`;
    const headers = signAwsRequest({ method, url, headers: method === 'POST' ? { 'content-type': 'application/json' } : {}, body }, signing, clock.now());
    return { method, url, headers, timeoutMs, ...(method === 'POST' ? { body } : {}) };
  };
  return {
    name: 'ses',
    // SES has no idempotency key; the deterministic Message-ID lets receivers drop a repeat.
    async send(message: ProviderMessage, { handOff }) {
      const headers = Object.entries(message.headers).map(([Name, Value]) => ({ Name, Value }));
      const body = JSON.stringify({
        FromEmailAddress: message.from,
        Destination: { ToAddresses: [message.to] },
        Content: { Simple: { Subject: { Data: message.subject, Charset: 'UTF-8' }, Body: { Html: { Data: message.html, Charset: 'UTF-8' }, Text: { Data: message.text, Charset: 'UTF-8' } }, Headers: headers } },
        EmailTags: [{ Name: 'message_id', Value: message.messageId }],
      });
      const response = await callProvider(http, 'ses', signed('POST', '/v2/email/outbound-emails', body), describe, { to: { provider: 'ses', idempotent: false }, mark: handOff });
      return { providerMessageId: String(jsonOf(response.body).MessageId ?? message.rfcMessageId) };
    },
    async check() {
      try {
        await callProvider(http, 'ses', signed('GET', '/v2/email/account', ''), describe);
        return { ok: true, detail: 'SES accepted the credentials' };
      } catch (error) {
        return { ok: false, detail: (error as Error).message };
      }
    },
  };
}
