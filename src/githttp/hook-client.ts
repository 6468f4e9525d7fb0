/**
 * fakelab's pre-receive hook, run by `git receive-pack` (never by fakelab itself): it reads the
 * ref updates git hands it and asks the fakelab serving the push, over the socket and with the
 * secret that fakelab put in receive-pack's environment, whether they are allowed. A refusal is
 * printed for git to relay as `remote: GitLab: ...` and declines the whole push, as GitLab's
 * hooks do.
 *
 *   node hook-client.js pre-receive   (stdin: "<old> <new> <ref>" lines)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';

const ZERO = /^0+$/;

function forced(before: string, after: string, ref: string): boolean {
  if (!ref.startsWith('refs/heads/') || ZERO.test(before) || ZERO.test(after)) return false;
  // Run in receive-pack's environment, which lets git see the pushed objects still in quarantine.
  const run = spawnSync(process.env.FAKELAB_GIT ?? 'git', ['merge-base', '--is-ancestor', before, after], { stdio: 'ignore' });
  // 0: fast-forward; 1: not an ancestor; anything else (not commits) counts as a rewrite too.
  return run.status !== 0;
}

function ask(phase: string, body: unknown): Promise<{ allowed: boolean; message?: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath: socketPath(process.env.FAKELAB_HOOK_SOCKET ?? ''), path: `/${phase}`, method: 'POST', headers: { 'Content-Type': 'application/json' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { allowed: boolean; message?: string });
        } catch (err) {
          reject(err as Error);
        }
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

async function main(): Promise<number> {
  const phase = process.argv[2];
  if (phase !== 'pre-receive') return 1;
  const updates = readFileSync(0, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [before, after, ref] = line.split(' ');
      return { ref, before, after, forced: forced(before, after, ref) };
    });
  try {
    const answer = await ask(phase, { secret: process.env.FAKELAB_HOOK_SECRET, updates });
    if (answer.allowed) return 0;
    process.stderr.write(`GitLab: ${answer.message ?? 'The push was refused.'}\n`);
    return 1;
  } catch (err) {
    process.stderr.write(`GitLab: fakelab could not check this push (${(err as Error).message}).\n`);
    return 1;
  }
}

void main().then((code) => process.exit(code));

/** The socket's path; a leading '@' names a Linux abstract socket (an environment variable cannot hold its NUL). */
function socketPath(name: string): string {
  return name.startsWith('@') ? `\0${name.slice(1)}` : name;
}
