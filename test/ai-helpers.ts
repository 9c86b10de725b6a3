/**
 * Test support for the AI domain: one local HTTP server that implements the OpenAI chat
 * completions and Anthropic Messages contracts (paths, auth headers, JSON shapes, no streaming),
 * with a behaviour chosen per test, and recording every request it received.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour = 'ok' | 'unauthorized' | 'rate_limited' | 'server_error' | 'slow' | 'malformed' | 'adds_link' | 'echo_pii';

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakeAiServer {
  url: string;
  seen: SeenRequest[];
  /** Answers in order; the last one repeats. */
  behaviours: Behaviour[];
  /** The JSON content the model "writes" for ok answers. */
  content: (request: Record<string, unknown>) => string;
  slowMs: number;
  /** The tokens every ok answer reports having used. */
  usage: { input: number; output: number };
  close(): Promise<void>;
}

export const API_KEY = 'sk-test-key-123456';

export async function startFakeAiServer(): Promise<FakeAiServer> {
  const state: FakeAiServer = {
    url: '',
    seen: [],
    behaviours: ['ok'],
    content: () => JSON.stringify({ subject: 'Hello there', preheader: '', html: '<p>Hello</p>', changes: ['greeting'] }),
    slowMs: 3000,
    usage: { input: 120, output: 40 },
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      state.seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const behaviour = state.behaviours.length > 1 ? state.behaviours.shift()! : state.behaviours[0]!;
      const anthropic = req.url === '/v1/messages';
      const openai = req.url === '/v1/chat/completions';
      const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(json));
      };
      if (req.method !== 'POST' || (!anthropic && !openai)) return send(404, { error: { message: 'not found' } });
      // Anthropic takes the key as x-api-key or (as its SDK 1.x sends it) a Bearer token, with a version header.
      const authorized = anthropic ? (req.headers['x-api-key'] === API_KEY || req.headers.authorization === `Bearer ${API_KEY}`) && typeof req.headers['anthropic-version'] === 'string' : req.headers.authorization === `Bearer ${API_KEY}`;
      if (!authorized || behaviour === 'unauthorized') return send(401, anthropic ? { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } : { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
      if (behaviour === 'rate_limited') return send(429, { error: { message: 'Rate limit reached', type: 'rate_limit_error' } }, { 'retry-after': '1' });
      if (behaviour === 'server_error') return send(500, { error: { message: 'The server had an error', type: 'server_error' } });
      const parsed = JSON.parse(body) as Record<string, unknown>;
      if (parsed.stream === true) return send(400, { error: { message: 'this fake does not stream' } });
      let text = state.content(parsed);
      if (behaviour === 'malformed') text = 'Sure! Here is your email: subject is Hello';
      if (behaviour === 'adds_link') text = JSON.stringify({ subject: 'Hi', preheader: '', html: '<p>Visit <a href="https://evil.example.net/x">us</a></p>', changes: [] });
      const reply = () =>
        anthropic
          ? send(200, { id: 'msg_1', type: 'message', role: 'assistant', model: parsed.model, content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: state.usage.input, output_tokens: state.usage.output } })
          : send(200, { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: parsed.model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage: { prompt_tokens: state.usage.input, completion_tokens: state.usage.output, total_tokens: state.usage.input + state.usage.output } });
      if (behaviour === 'slow') setTimeout(reply, state.slowMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
