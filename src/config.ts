import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Config {
  /** Root of the bare repositories: <root>/group/sub/name.git is project group/sub/name. */
  reposDir: string;
  /** Where fakelab keeps its own state (project ids, comments, statuses). */
  dataDir: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** An admin token with the `api` scope. */
  token?: string;
  /** Users, tokens and project access (YAML or JSON); see src/auth/config-file.ts. */
  configFile?: string;
  /** Base URL clients see (web_url, Link headers); by default derived from each request's Host. */
  externalUrl?: string;
  /** Fixtures to seed an empty repos root from (npm start uses ./fixtures). */
  fixturesDir?: string;
  /** pino level; 'silent' turns request logs off. */
  logLevel?: string;
  /** HTTPS with this certificate (PEM, the chain after the leaf) and key. */
  tlsCert?: string;
  tlsKey?: string;
  /** HTTPS with a generated certificate, signed by a CA kept in <data>/tls/ca.pem. */
  tls?: boolean;
  /** Milliseconds a client has to send a request's headers (and a new connection its first request). */
  headerTimeout: number;
  /** Milliseconds a client has to send a whole request, body included. */
  requestTimeout: number;
  /** Open connections served at once; past it, a new one is answered 503 and closed. */
  maxConnections: number;
  /** Requests the control plane's journal keeps (the last N). */
  journalSize: number;
  /** Whether /-/fakelab/* (journal, faults) is served; health is served either way. */
  controlPlane: boolean;
  /** The git executable that serves clone, fetch and push (a name found on PATH, or a path). */
  gitBinary: string;
  /** Bytes a push may send (its commands and pack); a larger one is refused. */
  maxPushSize: number;
  /** Milliseconds a webhook receiver has to answer (GitLab's webhook_timeout). */
  hookTimeout: number;
}

/** One command-line option: its flag, its environment variable, its default and its documentation. */
export interface OptionSpec<K extends keyof Config = keyof Config> {
  key: K;
  /** Without the leading dashes. */
  flag: string;
  env: string;
  /** The value's placeholder in the usage line; none for a switch (a flag without a value). */
  metavar?: string;
  /** Used when neither the flag nor the variable is set. */
  default?: string;
  /** The default as the README and --help state it (Markdown); by default `default`, or none. */
  shownDefault?: string;
  /** What the option means (Markdown: the README's table cell; --help drops the backticks). */
  help: string;
  /** The Config value for the flag's (else the variable's, else the default's) text. */
  parse(raw: string | undefined): Config[K];
}

const option = <K extends keyof Config>(spec: OptionSpec<K>): OptionSpec<K> => spec;
const positiveInteger = (what: string) => (raw: string | undefined) => {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`invalid ${what}: ${raw}`);
  return n;
};
/** A byte count: digits, optionally followed by k, m or g (powers of 1024). */
const byteSize = (what: string) => (raw: string | undefined) => {
  const m = /^(\d+)([kmg]?)$/i.exec(raw ?? '');
  const n = m ? Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase()) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`invalid ${what}: ${raw} (bytes, or a number with k, m or g)`);
  return n;
};
const resolvedPath = (raw: string | undefined) => path.resolve(raw!);
const optionalPath = (raw: string | undefined) => (raw ? path.resolve(raw) : undefined);
const optionalText = (raw: string | undefined) => raw || undefined;
/** A switch: given as a flag (no value), or its variable set to a true word. */
const switchValue = (raw: string | undefined) => raw !== undefined && /^(?:1|true|yes|on)$/i.test(raw);
const isSwitch = (o: OptionSpec) => o.metavar === undefined;
/** `--flag VALUE`, or `--flag` for a switch. */
const usage = (o: OptionSpec) => (isSwitch(o) ? `--${o.flag}` : `--${o.flag} ${o.metavar}`);

/**
 * Every option of fakelab, in the order of --help and the README. The command-line parser,
 * --help and the README's options table (checked by test/server/options.test.ts) are made from it.
 */
export const OPTIONS: readonly OptionSpec[] = [
  option({
    key: 'reposDir',
    flag: 'repos',
    env: 'FAKELAB_REPOS',
    metavar: 'DIR',
    default: './repos',
    help: 'root of the bare repositories: `group/sub/name.git` is project `group/sub/name`',
    parse: resolvedPath,
  }),
  option({ key: 'dataDir', flag: 'data', env: 'FAKELAB_DATA', metavar: 'DIR', default: './data', help: "fakelab's own state (project ids, comments, statuses) and its push hooks", parse: resolvedPath }),
  option({ key: 'host', flag: 'host', env: 'FAKELAB_HOST', metavar: 'HOST', default: '127.0.0.1', help: 'listen address', parse: (raw) => raw! }),
  option({
    key: 'port',
    flag: 'port',
    env: 'FAKELAB_PORT',
    metavar: 'N',
    default: '8080',
    help: 'listen port; `0` picks a free one',
    parse: (raw) => {
      const port = Number(raw);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${raw}`);
      return port;
    },
  }),
  option({ key: 'token', flag: 'token', env: 'FAKELAB_TOKEN', metavar: 'TOKEN', help: 'an admin token with the `api` scope', parse: optionalText }),
  option({
    key: 'configFile',
    flag: 'config',
    env: 'FAKELAB_CONFIG',
    metavar: 'FILE',
    shownDefault: 'none (`npm start`: `config/demo.yaml`)',
    help: 'users, tokens (scopes, expiry, revocation), job tokens, per-project visibility, members and protected branches',
    parse: optionalPath,
  }),
  option({
    key: 'externalUrl',
    flag: 'external-url',
    env: 'FAKELAB_EXTERNAL_URL',
    metavar: 'URL',
    shownDefault: "the request's Host",
    help: 'base URL used in `web_url` and `Link` headers',
    parse: optionalText,
  }),
  option({
    key: 'fixturesDir',
    flag: 'fixtures',
    env: 'FAKELAB_FIXTURES',
    metavar: 'DIR',
    // The CLI's default (bundledFixtures); the library seeds nothing unless asked.
    shownDefault: 'bundled `fixtures/`',
    help: 'fixtures to seed an empty repos root from',
    parse: optionalPath,
  }),
  option({ key: 'logLevel', flag: 'log-level', env: 'FAKELAB_LOG_LEVEL', metavar: 'LEVEL', default: 'info', help: 'pino level (`silent` turns request logs off)', parse: (raw) => raw! }),
  option({ key: 'headerTimeout', flag: 'header-timeout', env: 'FAKELAB_HEADER_TIMEOUT', metavar: 'MS', default: '10000', help: 'time a client has to send its headers (a silent or byte-at-a-time client is cut off)', parse: positiveInteger('header timeout') }),
  option({ key: 'requestTimeout', flag: 'request-timeout', env: 'FAKELAB_REQUEST_TIMEOUT', metavar: 'MS', default: '60000', help: 'time a client has to send a whole request, body included', parse: positiveInteger('request timeout') }),
  option({ key: 'maxConnections', flag: 'max-connections', env: 'FAKELAB_MAX_CONNECTIONS', metavar: 'N', default: '512', help: 'connections served at once; past it a new one gets `503` and is closed', parse: positiveInteger('connection limit') }),
  option({ key: 'tlsCert', flag: 'tls-cert', env: 'FAKELAB_TLS_CERT', metavar: 'FILE', help: 'serve HTTPS with this PEM certificate (chain after the leaf); needs `--tls-key`', parse: optionalPath }),
  option({ key: 'tlsKey', flag: 'tls-key', env: 'FAKELAB_TLS_KEY', metavar: 'FILE', help: 'the PEM private key of `--tls-cert`', parse: optionalPath }),
  option({
    key: 'tls',
    flag: 'tls',
    env: 'FAKELAB_TLS',
    shownDefault: 'off',
    help: 'serve HTTPS with a certificate made at start, signed by a local CA kept in `<data>/tls/ca.pem` (printed at start: give it to clients to trust)',
    parse: switchValue,
  }),
  option({ key: 'journalSize', flag: 'journal-size', env: 'FAKELAB_JOURNAL_SIZE', metavar: 'N', default: '1000', help: 'requests the control plane\'s journal keeps, events its event list and webhook deliveries its delivery list (the last N of each; see "Control plane")', parse: positiveInteger('journal size') }),
  option({
    key: 'hookTimeout',
    flag: 'hook-timeout',
    env: 'FAKELAB_HOOK_TIMEOUT',
    metavar: 'MS',
    default: '10000',
    help: 'milliseconds a webhook receiver has to answer before the delivery counts as failed (GitLab\'s 10 s; see "Webhooks")',
    parse: positiveInteger('hook timeout'),
  }),
  option({
    key: 'controlPlane',
    flag: 'control-plane',
    env: 'FAKELAB_CONTROL_PLANE',
    metavar: 'on|off',
    default: 'on',
    help: '`off`: `/-/fakelab/*` (journal, faults) answers 404; the health checks stay',
    parse: (raw) => {
      if (raw === 'on' || raw === 'off') return raw === 'on';
      throw new Error(`invalid control plane switch: ${raw} (on or off)`);
    },
  }),
  option({
    key: 'gitBinary',
    flag: 'git',
    env: 'FAKELAB_GIT',
    metavar: 'FILE',
    default: 'git',
    help: 'the git executable that serves clone, fetch and push over HTTP (see "Cloning and pushing"); when none is found there, the git URLs answer `503` and the API works as ever',
    parse: (raw) => raw!,
  }),
  option({
    key: 'maxPushSize',
    flag: 'max-push-size',
    env: 'FAKELAB_MAX_PUSH_SIZE',
    metavar: 'BYTES',
    default: '1g',
    help: 'the most a `git push` may send (`k`, `m`, `g`: KiB, MiB, GiB); a larger push is refused, nothing written',
    parse: byteSize('push size limit'),
  }),
];

/** What a command line asks for: the usage text, or a server with this configuration. */
export type CommandLine = { help: true } | { help: false; config: Config };

const HELP_FLAG = { flag: 'help', short: 'h' } as const;

const parserOptions: NonNullable<ParseArgsConfig['options']> = {
  ...Object.fromEntries(OPTIONS.map((o) => [o.flag, { type: isSwitch(o) ? ('boolean' as const) : ('string' as const) }])),
  [HELP_FLAG.flag]: { type: 'boolean', short: HELP_FLAG.short },
};

/**
 * Parses a command line: flags over FAKELAB_* variables over defaults. --help (or -h) anywhere
 * wins over everything else, as it always has.
 */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): CommandLine {
  // Not strict: strict mode calls `--port -1` ambiguous before the port check can say what is
  // wrong, and words its errors its own way. The tokens are checked here instead.
  const { tokens } = parseArgs({ args: argv, options: parserOptions, strict: false, allowPositionals: true, tokens: true });
  if (tokens.some((t) => t.kind === 'option' && t.name === HELP_FLAG.flag)) return { help: true };
  const flags = new Map<string, string>();
  for (const token of tokens) {
    if (token.kind === 'positional') throw new Error(`unexpected argument: ${token.value}`);
    if (token.kind !== 'option') continue;
    if (!Object.hasOwn(parserOptions, token.name)) {
      throw new Error(`unknown option ${token.rawName} (known: ${[...OPTIONS.map((o) => `--${o.flag}`), `--${HELP_FLAG.flag}`].join(', ')})`);
    }
    if (isSwitch(OPTIONS.find((o) => o.flag === token.name)!)) {
      if (token.inlineValue) throw new Error(`${token.rawName} takes no value`);
      flags.set(token.name, 'true');
      continue;
    }
    // A separate value that looks like a flag is the next flag: this one's value is missing.
    // (A value starting with "--" can still be given as --flag=--value.)
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) throw new Error(`${token.rawName} needs a value`);
    flags.set(token.name, token.value);
  }
  return { help: false, config: resolveConfig((o) => flags.get(o.flag) ?? env[o.env]) };
}

/** The configuration with every option at its default (the library's starting point). */
export function defaultConfig(): Config {
  return resolveConfig(() => undefined);
}

function resolveConfig(given: (o: OptionSpec) => string | undefined): Config {
  const config: Partial<Record<keyof Config, unknown>> = {};
  for (const o of OPTIONS) config[o.key] = o.parse(given(o) ?? o.default);
  return config as Config;
}

// ---- documentation, generated from OPTIONS --------------------------------------------------

const WIDTH = 100;

function shownDefault(o: OptionSpec): string {
  return o.shownDefault ?? (o.default !== undefined ? `\`${o.default}\`` : 'none');
}

const plain = (markdown: string) => markdown.replaceAll('`', '');

/** `fakelab [--repos DIR] ...`, wrapped under its first option. */
export function synopsis(lead = 'fakelab'): string {
  const parts = OPTIONS.map((o) => `[${usage(o)}]`);
  const indent = ' '.repeat(lead.length + 1);
  const lines: string[] = [];
  let line = lead;
  for (const part of parts) {
    if (line.length + 1 + part.length > WIDTH && line !== lead) {
      lines.push(line);
      line = indent + part;
    } else line += ` ${part}`;
  }
  lines.push(line);
  return lines.join('\n') + '\n';
}

/** What `fakelab --help` prints. */
export function helpText(): string {
  const rows = OPTIONS.map((o) => [usage(o), o.env, `${plain(o.help)} [default: ${plain(shownDefault(o))}]`]);
  rows.push([`-${HELP_FLAG.short}, --${HELP_FLAG.flag}`, '', 'print this and exit']);
  const flagWidth = Math.max(...rows.map((r) => r[0].length));
  const envWidth = Math.max(...rows.map((r) => r[1].length));
  const textAt = 2 + flagWidth + 2 + envWidth + 2;
  return (
    synopsis('usage: fakelab') +
    '\nEach option can also be set by its environment variable; a flag wins over the variable.\n\n' +
    rows.map(([flag, env, text]) => `  ${flag.padEnd(flagWidth)}  ${env.padEnd(envWidth)}  ${wrap(text, WIDTH - textAt).join('\n' + ' '.repeat(textAt))}`.trimEnd() + '\n').join('')
  );
}

/** `text` in lines of at most `width` characters, broken at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** The README's options table (Markdown). */
export function optionsTable(): string {
  const rows = OPTIONS.map((o) => `| \`--${o.flag}\` | \`${o.env}\` | ${shownDefault(o)} | ${o.help} |`);
  return ['| option | variable | default | meaning |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}
