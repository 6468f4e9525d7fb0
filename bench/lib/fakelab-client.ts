/** Timed requests to the fakelab server over kept-alive connections (Node's global fetch). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface TimedResponse {
  ms: number;
  body: string;
}

export class FakelabClient {
  /** http://host:port/api/v4/projects/<id> */
  readonly projectUrl: string;
  private readonly repositoryBase: string;

  constructor(
    /** http://host:port */
    readonly serverUrl: string,
    /** URL-encoded project path, e.g. bench%2Fbig */
    project: string,
    private readonly token: string,
    /** Explains a failed request, e.g. "the server exited with ...". */
    private readonly diagnose: () => string | null,
  ) {
    this.projectUrl = `${serverUrl}/api/v4/projects/${project}`;
    this.repositoryBase = `${this.projectUrl}/repository/`;
  }

  /** The headers every request carries (also for autocannon). */
  get headers(): Record<string, string> {
    return { 'PRIVATE-TOKEN': this.token };
  }

  /** A request under /api/v4/projects/:id/repository/. */
  get(request: string): Promise<TimedResponse> {
    return this.timedGet(this.repositoryBase + request);
  }

  /** GET /api/v4/projects/:id: cheap, needs no history; the latency probe. */
  getProject(): Promise<TimedResponse> {
    return this.timedGet(this.projectUrl);
  }

  /**
   * The round trip including the whole body: a client cannot use a page before it has all of
   * it. undici's global dispatcher keeps connections alive between calls, so after the first
   * request (per concurrent caller) no sample pays a TCP handshake.
   */
  private timedGet(url: string): Promise<TimedResponse> {
    return this.send('GET', url, undefined, 200);
  }

  /**
   * A timed request to any URL of the server (e.g. POST /api/v4/projects or
   * /-/fakelab/reset) with the token, `body` sent as JSON. Any status but `expectStatus` throws.
   */
  async send(method: string, url: string, body: unknown, expectStatus: number): Promise<TimedResponse> {
    const headers: Record<string, string> = { ...this.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const start = performance.now();
    let status: number;
    let text: string;
    try {
      const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      status = response.status;
      text = await response.text();
    } catch (err) {
      throw new Error(`${method} ${url} failed: ${(err as Error).message}${this.explanation()}`);
    }
    const ms = performance.now() - start;
    if (status !== expectStatus) throw new Error(`${method} ${url} answered ${status}: ${text.slice(0, 500)}${this.explanation()}`);
    return { ms, body: text };
  }

  private explanation(): string {
    const reason = this.diagnose();
    return reason ? ` (${reason})` : '';
  }
}

/**
 * Node loads undici on the first `fetch` of a process (tens of milliseconds). One fetch to a
 * throwaway in-process server pays that before anything is timed, so that the server's very first
 * request (the cold-start figure) is not charged with the bench's own lazy loading.
 */
export async function warmUpFetch(): Promise<void> {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    await (await fetch(`http://127.0.0.1:${port}/`)).text();
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
