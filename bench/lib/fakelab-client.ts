/** Timed requests to the fakelab server over one kept-alive connection (Node's global fetch). */
import { performance } from 'node:perf_hooks';

export interface TimedResponse {
  ms: number;
  body: string;
}

export class FakelabClient {
  private readonly base: string;

  constructor(
    serverUrl: string,
    /** URL-encoded project path, e.g. bench%2Fbig */
    project: string,
    private readonly token: string,
    /** Explains a failed request, e.g. "the server exited with ...". */
    private readonly diagnose: () => string | null,
  ) {
    this.base = `${serverUrl}/api/v4/projects/${project}/repository/`;
  }

  /**
   * The round trip including the whole body: a client cannot use a page before it has all of
   * it. undici's global dispatcher keeps the connection alive between calls, so after the
   * first request no sample pays a TCP handshake.
   */
  async get(request: string): Promise<TimedResponse> {
    const url = this.base + request;
    const start = performance.now();
    let status: number;
    let body: string;
    try {
      const response = await fetch(url, { headers: { 'PRIVATE-TOKEN': this.token } });
      status = response.status;
      body = await response.text();
    } catch (err) {
      throw new Error(`GET ${url} failed: ${(err as Error).message}${this.explanation()}`);
    }
    const ms = performance.now() - start;
    if (status !== 200) throw new Error(`GET ${url} answered ${status}: ${body.slice(0, 500)}${this.explanation()}`);
    return { ms, body };
  }

  private explanation(): string {
    const reason = this.diagnose();
    return reason ? ` (${reason})` : '';
  }
}
