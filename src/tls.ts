import { X509Certificate } from 'node:crypto';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type selfsignedModule from 'selfsigned';
import { writeSyncedThenRename } from './util/atomic-file.js';
import { lazyModule } from './util/lazy-module.js';

const requireSelfsigned = lazyModule<typeof selfsignedModule>('selfsigned');

/** What an HTTPS listener needs, and where a client finds the CA to trust (generated mode). */
export interface TlsMaterial {
  key: string;
  cert: string;
  /** The CA file to hand to clients (NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE, git's http.sslCAInfo). */
  caFile?: string;
}

export interface TlsOptions {
  certFile?: string;
  keyFile?: string;
  /** Generate a local CA (kept in the data dir) and a server certificate it signs. */
  generate: boolean;
  dataDir: string;
  host: string;
  externalUrl?: string;
}

/** The given certificate and key, or a generated pair; null for plain HTTP. */
export async function loadTls(options: TlsOptions): Promise<TlsMaterial | null> {
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) throw new Error('--tls-cert and --tls-key go together');
  if (options.certFile && options.keyFile) {
    const [cert, key] = await Promise.all([fsp.readFile(options.certFile, 'utf8'), fsp.readFile(options.keyFile, 'utf8')]);
    return { cert, key };
  }
  return options.generate ? generated(options) : null;
}

const DAY = 86_400_000;

/**
 * A CA made once per data dir, so a client told to trust it keeps working across restarts,
 * and a server certificate made at every start for the names this server answers to (it
 * costs ~10 ms with P-256 keys).
 */
async function generated(options: TlsOptions): Promise<TlsMaterial> {
  // Loaded only here: it takes longer to load than the rest of a start without --tls.
  const selfsigned = requireSelfsigned();
  const dir = path.join(options.dataDir, 'tls');
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const caFile = path.join(dir, 'ca.pem');
  const caKeyFile = path.join(dir, 'ca-key.pem');
  let ca = await readCa(caFile, caKeyFile);
  if (!ca) {
    const made = await selfsigned.generate([{ name: 'commonName', value: 'fakelab local CA' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 3650 * DAY),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    });
    ca = { cert: made.cert, key: made.private };
    // The key first: a CA file without its key would be replaced at the next start.
    await writeSyncedThenRename(`${caKeyFile}.tmp-${process.pid}`, caKeyFile, ca.key, 0o600);
    await writeSyncedThenRename(`${caFile}.tmp-${process.pid}`, caFile, ca.cert, 0o644);
  }
  const names = serverNames(options);
  const leaf = await selfsigned.generate([{ name: 'commonName', value: names.dns[0] }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.key, cert: ca.cert },
    notBeforeDate: new Date(Date.now() - DAY),
    notAfterDate: new Date(Date.now() + 365 * DAY),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...names.dns.map((value) => ({ type: 2 as const, value })), ...names.ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
  // The chain: clients that trust the CA verify the leaf through it.
  return { key: leaf.private, cert: `${leaf.cert.trimEnd()}\n${ca.cert.trimEnd()}\n`, caFile };
}

async function readCa(caFile: string, caKeyFile: string): Promise<{ cert: string; key: string } | null> {
  try {
    const [cert, key] = await Promise.all([fsp.readFile(caFile, 'utf8'), fsp.readFile(caKeyFile, 'utf8')]);
    const parsed = new X509Certificate(cert);
    if (!parsed.ca || new Date(parsed.validTo).getTime() < Date.now() + 30 * DAY) return null;
    return { cert, key };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // A damaged CA file is not silently replaced: clients trust the old one.
    throw new Error(`cannot read the generated CA in ${path.dirname(caFile)} (remove the directory to make a new one): ${(err as Error).message}`);
  }
}

/** localhost and the loopback addresses, the machine's name, the listen address and the external URL's host. */
function serverNames(options: TlsOptions): { dns: string[]; ips: string[] } {
  const dns = new Set(['localhost']);
  const ips = new Set(['127.0.0.1', '::1']);
  const add = (name: string | undefined) => {
    if (!name) return;
    const bare = name.replace(/^\[|\]$/g, '');
    if (net.isIP(bare)) {
      if (bare !== '0.0.0.0' && bare !== '::') ips.add(bare);
    } else dns.add(bare.toLowerCase());
  };
  add(options.host);
  add(os.hostname());
  if (options.externalUrl) {
    try {
      add(new URL(options.externalUrl).hostname);
    } catch {
      // An unparseable external URL is the caller's to report.
    }
  }
  return { dns: [...dns], ips: [...ips] };
}
