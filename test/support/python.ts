import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { removeDir } from './fixtures.js';

/**
 * python-gitlab as a real client in the tests: Debian's python3-gitlab (the library, imported by
 * Debian's own python) and gitlab-cli (its command line, which Debian names python-gitlab, not
 * gitlab). requirePythonGitlab skips a suite that cannot have them, saying so, except under CI,
 * where a missing package is a failure. runPythonGitlab runs a script against a server in one
 * python process; PythonGitlabCli runs the command line with a configuration file of its own.
 * Both run in an environment without the caller's GITLAB_* and PYTHON_GITLAB_CFG variables and
 * with HOME in a temporary directory, so no configuration of the machine's leaks in.
 */

/** Debian's python, the one python3-gitlab is installed for (the first python3 on PATH may be another). */
export const PYTHON = '/usr/bin/python3';
/** Debian's gitlab-cli. */
export const PYTHON_GITLAB_CLI = '/usr/bin/python-gitlab';

const run = promisify(execFile);
const INSTALL_HINT = 'apt-get install -y python3-gitlab gitlab-cli';

let libraryCheck: Promise<string | null> | undefined;
let cliCheck: Promise<string | null> | undefined;

/** Why the python-gitlab library cannot be used here, or null (and then its version is in pythonGitlabVersion). */
function libraryMissing(): Promise<string | null> {
  libraryCheck ??= (async () => {
    if (!existsSync(PYTHON)) return `${PYTHON} does not exist`;
    try {
      const { stdout } = await run(PYTHON, ['-c', 'import gitlab; print(gitlab.__version__)'], { env: pythonEnv() });
      pythonGitlabVersion = stdout.trim();
      return null;
    } catch {
      return `python3-gitlab is not installed (${PYTHON} cannot import gitlab)`;
    }
  })();
  return libraryCheck;
}

function cliMissing(): Promise<string | null> {
  cliCheck ??= (async () => {
    if (!existsSync(PYTHON_GITLAB_CLI)) return `gitlab-cli is not installed (no ${PYTHON_GITLAB_CLI})`;
    try {
      await run(PYTHON_GITLAB_CLI, ['--version'], { env: pythonEnv() });
      return null;
    } catch (err) {
      return `${PYTHON_GITLAB_CLI} --version fails: ${(err as Error).message}`;
    }
  })();
  return cliCheck;
}

/** The installed python-gitlab's version, once requirePythonGitlab has passed. */
export let pythonGitlabVersion: string | undefined;

/**
 * In a mocha hook or test: returns when python-gitlab (and with `cli`, its command line) can be
 * run; otherwise says why on the console and skips the test or the hook's suite, or under CI
 * (process.env.CI set) throws, so that a missing package fails the run instead.
 */
export async function requirePythonGitlab(ctx: Mocha.Context, options: { cli?: boolean } = {}): Promise<void> {
  const why = (await libraryMissing()) ?? (options.cli ? await cliMissing() : null);
  if (why === null) return;
  if (process.env.CI) throw new Error(`${why}, and CI must not skip (${INSTALL_HINT})`);
  console.warn(`    skipped: ${why} (${INSTALL_HINT})`);
  ctx.skip();
}

/** The environment python-gitlab runs in: the caller's without GITLAB_*, PYTHON_GITLAB_CFG and CI_* settings, HOME in `home`, then `extra`. */
export function pythonEnv(extra: Record<string, string> = {}, home?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(GITLAB_|PYTHON_GITLAB_|CI_|REQUESTS_CA_BUNDLE$|CURL_CA_BUNDLE$|PYTHON)/.test(k)) continue;
    env[k] = v;
  }
  if (home) env.HOME = home;
  return { ...env, PYTHONIOENCODING: 'utf-8', PYTHONDONTWRITEBYTECODE: '1', ...extra };
}

/** Where a python-gitlab client connects: the server's base URL, a token (null for none) and a CA file for https. */
export interface PythonGitlabTarget {
  url: string;
  token: string | null;
  ca?: string;
}

/** What a python-gitlab exception said: its class, HTTP status and GitLab's message. */
export interface PythonError {
  error: string;
  code: number | null;
  message: string;
}

/**
 * Runs `body` in one python process, after a prelude that gives it:
 * - `gl`: a gitlab.Gitlab for the target (private_token, ssl_verify=<ca>);
 * - `gitlab`, `json`, `os`;
 * - `V`: the `vars` given here (JSON), so values reach the script without being spliced into it;
 * - `err(f)`: calls f() and returns {error, code, message} of the GitlabError it raises, or
 *   raises an AssertionError when it raises none.
 * The script sets `result`, which comes back parsed from JSON (RESTObjects as the attributes the server sent,
 * GitlabLists as lists), together with the warnings python-gitlab issued (their messages).
 * A script that fails (any other exception) rejects with python's traceback.
 */
export async function runPythonGitlab<T = any>( // eslint-disable-line @typescript-eslint/no-explicit-any
  target: PythonGitlabTarget,
  body: string,
  vars: Record<string, unknown> = {},
): Promise<{ result: T; warnings: string[] }> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'fakelab-python-'));
  try {
    const env = pythonEnv(
      {
        FAKELAB_PY_URL: target.url,
        FAKELAB_PY_TOKEN: target.token ?? '',
        FAKELAB_PY_CA: target.ca ?? '',
        FAKELAB_PY_VARS: JSON.stringify(vars),
      },
      home,
    );
    const script = path.join(home, 'script.py');
    writeFileSync(script, PRELUDE + body + EPILOGUE);
    const { stdout } = await run(PYTHON, [script], { env, maxBuffer: 64 * 1024 * 1024 }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`python-gitlab script failed: ${err.stderr || err.message}\n--- script ---\n${body}`);
    });
    const lines = stdout.trimEnd().split('\n');
    return JSON.parse(lines[lines.length - 1]);
  } finally {
    removeDir(home);
  }
}

const PRELUDE = `import gitlab, json, os, sys, warnings
warnings.simplefilter('always')
_caught = warnings.catch_warnings(record=True)
_warnings = _caught.__enter__()
gl = gitlab.Gitlab(os.environ['FAKELAB_PY_URL'], private_token=os.environ['FAKELAB_PY_TOKEN'] or None,
                   ssl_verify=os.environ['FAKELAB_PY_CA'] or True)
V = json.loads(os.environ['FAKELAB_PY_VARS'])
def err(f):
    try:
        f()
    except gitlab.exceptions.GitlabError as e:
        return {'error': type(e).__name__, 'code': e.response_code, 'message': e.error_message}
    raise AssertionError('no GitlabError was raised')
result = None
# --- the test's script
`;

const EPILOGUE = `
# --- end of the test's script
def _plain(o):
    if isinstance(o, gitlab.base.RESTObject):
        # What the server sent (and local edits), without python-gitlab's parent attributes
        # (project_id, commit_id taken from the URL).
        d = dict(o.__dict__['_attrs'])
        d.update(o.__dict__['_updated_attrs'])
        return d
    if isinstance(o, (gitlab.GitlabList, gitlab.base.RESTObjectList)):
        return list(o)
    raise TypeError(f'cannot send {type(o).__name__} back')
_caught.__exit__(None, None, None)
_own = [str(w.message) for w in _warnings if not issubclass(w.category, ResourceWarning)]
sys.stdout.write('\\n' + json.dumps({'result': result, 'warnings': _own}, default=_plain) + '\\n')
`;

/** One command line run: its exit code, output, and stdout parsed as JSON when it is JSON. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * Debian's python-gitlab command line against a server, through a configuration file written
 * in a temporary directory: a section per named target (`-g <name>`), the first one the
 * default. close() removes the directory.
 */
export class PythonGitlabCli {
  readonly dir: string;
  readonly configFile: string;

  constructor(targets: Record<string, PythonGitlabTarget>) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'fakelab-python-gitlab-cli-'));
    this.configFile = path.join(this.dir, 'python-gitlab.cfg');
    const names = Object.keys(targets);
    const sections = [`[global]\ndefault = ${names[0]}\nssl_verify = true\ntimeout = 30\n`];
    for (const [name, t] of Object.entries(targets)) {
      const lines = [`[${name}]`, `url = ${t.url}`, 'api_version = 4'];
      if (t.token !== null) lines.push(`private_token = ${t.token}`);
      if (t.ca) lines.push(`ssl_verify = ${t.ca}`);
      sections.push(lines.join('\n') + '\n');
    }
    writeFileSync(this.configFile, sections.join('\n'));
  }

  /** `python-gitlab --config-file <cfg> [-g section] -o json <args>`; never rejects on a failing exit code. */
  async run(args: string[], options: { section?: string; output?: 'json' | 'legacy' | 'yaml' } = {}): Promise<CliRun> {
    const argv = ['--config-file', this.configFile];
    if (options.section) argv.push('-g', options.section);
    argv.push('-o', options.output ?? 'json', ...args);
    const r = await run(PYTHON_GITLAB_CLI, argv, { env: pythonEnv({}, this.dir), maxBuffer: 64 * 1024 * 1024 }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: Error & { code?: number | string; stdout?: string; stderr?: string }) => {
        if (typeof err.code !== 'number') throw err;
        return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
      },
    );
    let json: unknown;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
    return { ...r, json };
  }

  close(): void {
    removeDir(this.dir);
  }
}
