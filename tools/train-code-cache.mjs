/**
 * `npm run build`'s last step: writes dist/src/cli.bundle.cache, V8's code cache of the bundled
 * CLI (see src/util/code-cache.ts and src/cli-launcher.ts).
 *
 * A training run starts the CLI on a scratch repos root, asks it a question of each kind the API
 * answers (so that the functions each compiles are in the cache), then has it write the cache.
 * With git installed the root holds a generated history (tools/generate-repo.ts: a pack, tags,
 * merges, many authors) with a commit-graph and Bloom filters, so the pack, graph and path-filter
 * code is trained; without git, the bundled fixtures (loose objects). Either way only this
 * build's machine and node are trained for: V8 refuses the cache under another node, and the CLI
 * then compiles from source as it would without one.
 *
 * Last, a second start must report the cache accepted; if it does not, the cache is removed
 * and the build goes on without it. Nothing is written outside dist/ and the scratch directory.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const distSrc = fileURLToPath(new URL('../dist/src/', import.meta.url));
const cli = path.join(distSrc, 'cli.js');
const cacheFile = path.join(distSrc, 'cli.bundle.cache');
const say = (line) => process.stderr.write(`train-code-cache: ${line}\n`);

if (!fs.existsSync(path.join(distSrc, 'cli.bundle.cjs'))) {
  say('no bundled CLI (esbuild not installed): no code cache');
  process.exit(0);
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fakelab-train-'));
const reposDir = path.join(scratch, 'repos');
fs.mkdirSync(reposDir);

function gitWorks() {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A generated history with a commit-graph when git is here; else the fixtures the CLI seeds. */
function prepareRepositories() {
  if (!gitWorks()) return { project: 'demo/hello-world', path: 'README.md' };
  const gitDir = path.join(reposDir, 'train', 'history.git');
  execFileSync(process.execPath, [fileURLToPath(new URL('../dist/tools/generate-repo.js', import.meta.url)), gitDir, '400', '17', '--real'], { stdio: 'ignore' });
  execFileSync('git', ['-C', gitDir, 'commit-graph', 'write', '--reachable', '--changed-paths'], { stdio: 'ignore' });
  const file = execFileSync('git', ['-C', gitDir, 'log', '-1', '--no-merges', '--format=', '--name-only', 'HEAD~7'], { encoding: 'utf8' }).trim().split('\n')[0];
  return { project: 'train/history', path: file };
}

/** Starts the CLI; resolves with it and its URL once it listens. */
function startCli(args, env, withIpc, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, cli, '--repos', reposDir, '--port', '0', '--host', '127.0.0.1', '--token', 'train', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', ...(withIpc ? ['ipc'] : [])],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const listening = /fakelab listening on (\S+)/.exec(out);
      if (listening && !child.url) {
        child.url = listening[1];
        resolve(child);
      }
    });
    child.stderr.on('data', (chunk) => (out += chunk));
    child.on('exit', (code) => reject(new Error(`the CLI exited (${code}) before listening:\n${out}`)));
    child.output = () => out;
  });
}

async function ask(base, pathAndQuery, options = {}) {
  const response = await fetch(base + pathAndQuery, { ...options, headers: { 'PRIVATE-TOKEN': 'train', 'Content-Type': 'application/json', ...options.headers } });
  const body = await response.text();
  return { status: response.status, json: () => JSON.parse(body) };
}

/** What the child prints matching `pattern` (its first group), or null if it has not within `ms`. */
function printed(child, pattern, ms) {
  return new Promise((resolve) => {
    const check = () => {
      const match = pattern.exec(child.output());
      if (!match) return;
      clearTimeout(timer);
      child.stdout.off('data', check);
      resolve(match[1]);
    };
    const timer = setTimeout(() => {
      child.stdout.off('data', check);
      resolve(null);
    }, ms);
    child.stdout.on('data', check);
    check();
  });
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  await exited;
}

/** A question of each kind, on the project's own commits, tags, paths and authors. */
async function train(base, { project, path: filePath }) {
  const p = `/api/v4/projects/${encodeURIComponent(project)}`;
  const r = `${p}/repository`;
  await ask(base, '/api/v4/projects?per_page=20');
  await ask(base, `/api/v4/projects?search=${encodeURIComponent(project.split('/')[1])}&simple=true`);
  await ask(base, p);
  await ask(base, '/api/v3/projects');
  const commits = (await ask(base, `${r}/commits?per_page=50`)).json();
  const tags = (await ask(base, `${r}/tags`)).json();
  await ask(base, `${r}/branches`);
  const [newest, , , older] = commits;
  const old = commits[commits.length - 1] ?? newest;
  const from = tags[1]?.name ?? old.id;
  const to = tags[0]?.name ?? newest.id;
  for (const question of [
    `${r}/commits?per_page=20&page=3`,
    `${r}/commits?per_page=20&order=topo`,
    `${r}/commits?per_page=20&path=${encodeURIComponent(filePath)}`,
    `${r}/commits?per_page=20&path=no/such/path`,
    `${r}/commits?per_page=20&with_stats=true`,
    `${r}/commits?per_page=20&ref_name=${encodeURIComponent(`${from}..${to}`)}`,
    `${r}/commits?per_page=20&author=${encodeURIComponent(newest.author_name)}`,
    `${r}/commits?per_page=20&since=2000-01-01T00:00:00Z&first_parent=true`,
    `${r}/commits/${newest.id}`,
    `${r}/commits/${(older ?? newest).id}?stats=true`,
    `${r}/commits/${(older ?? newest).id}/diff`,
    `${r}/commits/${old.id}/refs?type=all`,
    `${r}/commits/${newest.id}/statuses`,
    `${r}/commits/${newest.id}/comments`,
    `${r}/commits/${newest.id}/sequence`,
    `${r}/compare?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
    `${r}/tree?per_page=100`,
    `${r}/files/${encodeURIComponent(filePath)}/raw?ref=${newest.id}`,
    `${r}/commits/${'0'.repeat(40)}`,
  ]) {
    await ask(base, question);
  }
  await ask(base, `${p}/statuses/${newest.id}`, { method: 'POST', body: JSON.stringify({ state: 'running', name: 'train' }) });
  await ask(base, `${r}/commits/${newest.id}/comments`, { method: 'POST', body: JSON.stringify({ note: 'train' }) });
}

let training;
let checking;
try {
  const repository = prepareRepositories();
  // --heap-growing-percent=0 (V8's default) keeps the CLI from raising it after its start: the
  // cache holds the flags of the moment it is written, which must be those a launch compiles under.
  training = await startCli(['--data', path.join(scratch, 'data-train'), '--log-level', 'silent'], { FAKELAB_TRAIN_CODE_CACHE: '1' }, true, ['--heap-growing-percent=0']);
  await train(training.url, repository);
  const written = await new Promise((resolve, reject) => {
    training.on('message', (message) => {
      if (message?.type === 'code-cache-written') resolve(message.bytes);
      if (message?.type === 'code-cache-failed') reject(new Error(message.message));
    });
    training.once('exit', (code, signal) => reject(new Error(`the training run ended (${signal ?? code}) before writing the cache`)));
    training.send({ type: 'write-code-cache' });
  });
  training.disconnect();
  await stop(training);
  checking = await startCli(['--data', path.join(scratch, 'data-check'), '--log-level', 'debug'], {}, false);
  const state = await printed(checking, /"codeCache":"(\w+)"/, 10_000);
  await stop(checking);
  if (state === 'accepted') say(`${(written / 1024).toFixed(0)} KiB of code cache for dist/src/cli.bundle.cjs (${repository.project})`);
  else {
    fs.rmSync(cacheFile, { force: true });
    say(`a start reported the cache ${state ?? 'not at all'}: removed, the CLI compiles from source`);
  }
} catch (err) {
  fs.rmSync(cacheFile, { force: true });
  say(`training failed, no code cache (the CLI compiles from source): ${err.message}`);
} finally {
  for (const child of [training, checking]) if (child) await stop(child);
  fs.rmSync(scratch, { recursive: true, force: true });
}
