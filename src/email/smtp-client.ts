/**
 * A small pooled SMTP client that sends a prebuilt message (mime.ts) per transaction, with
 * PIPELINING (RFC 2920) when the server offers it: MAIL FROM, RCPT TO and DATA go out in one
 * write and their replies are read in order, then the message and its terminating dot — followed,
 * in the same write, by the next waiting message's MAIL FROM, RCPT TO and DATA (RFC 2920 allows a
 * group to start with the end of a message's data). On a busy connection that is one round trip
 * and one socket write per message; nodemailer's pool spent most of a send in its stream pipeline.
 *
 * Outcomes are exact: a send resolves only on the 250 that follows the message data. Any other
 * reply rejects with that reply's code (5xx permanent, 4xx transient, see smtp.ts); a failed
 * MAIL or RCPT aborts the transaction and the connection is reset (RSET) before it is reused. A
 * connection that fails or times out rejects its transaction with a connection error and is
 * discarded. A transaction that failed on a reused connection before the message data was
 * written, or was answered 421, was certainly not accepted, so it is tried once more on a new
 * connection (servers close idle connections, with or without a 421).
 *
 * One session on one socket (TLS, AUTH, the pipelined transaction) is smtp-connection.ts; this
 * file is the pool: the queue of messages, connections opened on demand up to `maxConnections`,
 * each running its messages back to back, hand-off hooks started ahead, and the one retry on a
 * fresh connection (a message whose envelope rode behind another one's data goes back to the queue
 * when the connection goes, without using up its retry: its data never left).
 */
import { dotStuff, openConnection, SmtpConnectionError, SmtpReplyError, startHandOff, type Connection, type Job, type Reply, type SmtpClientOptions } from './smtp-connection.js';

export { dotStuff, SmtpConnectionError, SmtpReplyError, type SmtpClientOptions } from './smtp-connection.js';

/** Waiting messages per open connection whose hand-off hook is started ahead of their turn. */
const HAND_OFF_AHEAD = 1;

export class SmtpClient {
  private readonly idle: Connection[] = [];
  private readonly queue: Job[] = [];
  /** Connections open or being opened. */
  private open = 0;
  private connecting = 0;
  /** Connections holding a next message whose envelope went out behind the current data. */
  private reserved = 0;
  private closed = false;

  constructor(private readonly options: SmtpClientOptions) {}

  /**
   * Sends one prebuilt message; resolves with the server's reply once it accepted it.
   * `beforeData` starts with the transaction (once the message has a connection) and must have
   * resolved before the data is written, after the server's 354.
   */
  send(envelope: { from: string; to: string[] }, data: Buffer, beforeData?: () => Promise<void>): Promise<string> {
    if (this.closed) return Promise.reject(new SmtpConnectionError('ECONNECTION', 'the SMTP client is closed'));
    const stuffed = dotStuff(data);
    return new Promise((resolve, reject) => {
      this.queue.push({ from: envelope.from, to: envelope.to, data: stuffed, beforeData, retried: false, resolve, reject });
      this.pump();
    });
  }

  /** Connects, greets and authenticates once, then quits. */
  async verify(): Promise<void> {
    const connection = await openConnection(this.options);
    connection.quit();
  }

  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.quit();
    for (const job of this.queue.splice(0)) job.reject(new SmtpConnectionError('ECONNECTION', 'the SMTP client was closed'));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const connection = this.idle.pop();
      if (connection) {
        if (connection.closed) continue;
        void this.run(connection, this.queue.shift()!);
        continue;
      }
      // One new connection per waiting message, up to the pool size.
      if (this.open >= this.options.maxConnections || this.connecting >= this.queue.length) return;
      this.open += 1;
      this.connecting += 1;
      openConnection(this.options).then(
        (fresh) => {
          this.connecting -= 1;
          fresh.onClose = () => {
            this.open -= 1;
            const at = this.idle.indexOf(fresh);
            if (at >= 0) this.idle.splice(at, 1);
            this.pump();
          };
          this.release(fresh);
        },
        (error: Error) => {
          this.open -= 1;
          this.connecting -= 1;
          // The connection this job was waiting for failed: so does the job.
          this.queue.shift()?.reject(error);
          this.pump();
        },
      );
    }
  }

  private release(connection: Connection): void {
    if (this.closed) connection.quit();
    else if (!connection.closed) this.idle.push(connection);
    this.pump();
  }

  /**
   * Runs transactions on one connection until the queue has nothing for it: the job it was given,
   * then each job whose envelope went out behind the previous one's data (Connection.takePipelined).
   */
  private async run(connection: Connection, first: Job): Promise<void> {
    let job: Job | undefined = first;
    let envelopeReplies: Array<Promise<Reply>> | undefined;
    let reused = connection.used > 0;
    while (job) {
      // The hand-offs of the next waiting messages start now, so that they are mostly done by the
      // time a connection is free for them: a connection seldom waits for a hand-off. Each
      // connection has at most one message marked ahead of the one whose data is out — the one
      // whose envelope rides behind that data, or else one of these — so at most two messages per
      // connection are past their hand-off without an outcome (each marked one that has not left
      // yet counts as uncertain if the process dies).
      const ahead = this.open * HAND_OFF_AHEAD - this.reserved;
      if (ahead > 0) for (const waiting of this.queue.slice(0, ahead)) startHandOff(waiting);
      try {
        const result = await connection.transaction(job, envelopeReplies, () => this.takeNext());
        job.resolve(result.response);
      } catch (error) {
        const dataWritten = (error as { dataWritten?: boolean }).dataWritten === true;
        // The connection went away before the message was complete, or the server said it is
        // closing (421, which it may send unasked on an idle connection): the message was not
        // accepted, so it is tried once more on a new connection.
        const closing = (error instanceof SmtpConnectionError && !dataWritten) || (error instanceof SmtpReplyError && error.responseCode === 421);
        // A message whose envelope rode behind another one's data shares that message's fate when
        // the connection goes: it goes back to the queue without using up its own retry.
        const behindAnother = envelopeReplies !== undefined;
        if (closing && (behindAnother || (reused && !job.retried))) {
          if (!behindAnother) job.retried = true;
          connection.fail(error as Error);
          this.queue.unshift(job);
        } else {
          job.reject(error as Error);
        }
      }
      const next = connection.takePipelined();
      if (next) this.reserved -= 1;
      job = next?.job;
      envelopeReplies = next?.replies;
      // A pipelined job runs on a connection that already carried a transaction.
      reused = true;
    }
    this.release(connection);
  }

  /** The next waiting message, for a connection to pipeline behind its current message's data. */
  private takeNext(): Job | undefined {
    const job = this.queue.shift();
    if (job) this.reserved += 1;
    return job;
  }
}
