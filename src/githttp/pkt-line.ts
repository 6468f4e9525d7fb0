/**
 * Just enough of git's pkt-line framing for fakelab to speak to a client itself: the
 * `# service=` line before an advertisement, and a push's own refusal (its report-status, inside
 * side-band when the client asked for it). Everything else is git's to read and write.
 */

export const FLUSH = Buffer.from('0000');
/** A side-band packet carries at most this much (pkt-line's 65520 bytes, less its header and band byte). */
const SIDE_BAND_PAYLOAD = 65515;

export function pktLine(payload: string | Buffer): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([Buffer.from((data.length + 4).toString(16).padStart(4, '0'), 'ascii'), data]);
}

/** A push's command list as sent before its pack: each ref's update, and the client's capabilities. */
export interface PushCommands {
  updates: { before: string; after: string; ref: string }[];
  capabilities: Set<string>;
}

/**
 * Reads the command list at the head of a receive-pack request as it streams by (it stops at the
 * first flush; malformed input just ends the reading: git itself refuses it).
 */
export class PushCommandReader {
  readonly commands: PushCommands = { updates: [], capabilities: new Set() };
  private pending: Buffer = Buffer.alloc(0);
  private done = false;

  feed(chunk: Buffer): void {
    if (this.done) return;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (!this.done && this.pending.length >= 4) {
      const length = Number.parseInt(this.pending.subarray(0, 4).toString('ascii'), 16);
      if (!Number.isInteger(length) || length === 0 || length < 4) {
        this.done = true;
        break;
      }
      if (this.pending.length < length) break;
      this.parse(this.pending.subarray(4, length).toString('utf8'));
      this.pending = this.pending.subarray(length);
    }
    // A command list is small; far more than any is not one.
    if (this.pending.length > 1 << 20) this.done = true;
  }

  private parse(line: string): void {
    const [command, caps] = line.replace(/\n$/, '').split('\0');
    if (caps !== undefined) for (const cap of caps.split(' ').filter(Boolean)) this.commands.capabilities.add(cap);
    const m = /^([0-9a-f]{40,64}) ([0-9a-f]{40,64}) (\S+)$/.exec(command);
    if (m) this.commands.updates.push({ before: m[1], after: m[2], ref: m[3] });
    // A push certificate or shallow line is none of fakelab's business.
  }
}

/**
 * receive-pack's report refusing every update of a push with `reason`, as git prints it ("remote
 * unpack failed", each ref "remote rejected"), with `message` on the progress band for the user.
 */
export function pushRefusal(commands: PushCommands, reason: string, message: string): Buffer {
  const caps = commands.capabilities;
  const report =
    caps.has('report-status') || caps.has('report-status-v2')
      ? Buffer.concat([pktLine(`unpack ${reason}\n`), ...commands.updates.map((u) => pktLine(`ng ${u.ref} ${reason}\n`)), FLUSH])
      : Buffer.alloc(0);
  if (!caps.has('side-band-64k') && !caps.has('side-band')) return report;
  const packets = [pktLine(Buffer.concat([Buffer.from([2]), Buffer.from(`${message}\n`, 'utf8')]))];
  const size = caps.has('side-band-64k') ? SIDE_BAND_PAYLOAD : 995;
  for (let at = 0; at < report.length; at += size) packets.push(pktLine(Buffer.concat([Buffer.from([1]), report.subarray(at, at + size)])));
  return Buffer.concat([...packets, FLUSH]);
}

/**
 * Reads receive-pack's answer as it streams to the client, for the refs it reports `ok`: the
 * report-status, inside side-band packets (band 1) when the client asked for side-band.
 */
export class PushReportReader {
  /** Refs receive-pack updated, in the order it reported them. */
  readonly updated: string[] = [];
  private outer: Buffer = Buffer.alloc(0);
  private inner: Buffer = Buffer.alloc(0);

  constructor(private readonly sideBand: boolean) {}

  feed(chunk: Buffer): void {
    if (!this.sideBand) return this.readReport(chunk);
    this.outer = Buffer.concat([this.outer, chunk]);
    for (let packet = takePacket(this.outer); packet; packet = takePacket(this.outer)) {
      this.outer = this.outer.subarray(packet.length);
      if (packet.payload && packet.payload[0] === 1) this.readReport(packet.payload.subarray(1));
    }
  }

  private readReport(bytes: Buffer): void {
    this.inner = Buffer.concat([this.inner, bytes]);
    for (let packet = takePacket(this.inner); packet; packet = takePacket(this.inner)) {
      this.inner = this.inner.subarray(packet.length);
      const m = packet.payload ? /^ok (\S+)\n?$/.exec(packet.payload.toString('utf8')) : null;
      if (m) this.updated.push(m[1]);
    }
  }
}

/** The pkt-line at the head of `buffer` (its payload; null for a flush or delimiter), or null when it is not all there. */
function takePacket(buffer: Buffer): { length: number; payload: Buffer | null } | null {
  if (buffer.length < 4) return null;
  const length = Number.parseInt(buffer.subarray(0, 4).toString('ascii'), 16);
  if (!Number.isInteger(length)) return null;
  if (length < 4) return { length: 4, payload: null };
  if (buffer.length < length) return null;
  return { length, payload: buffer.subarray(4, length) };
}
