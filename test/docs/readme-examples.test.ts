import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PYTHON, pythonEnv, requirePythonGitlab } from '../support/python.js';

/**
 * The README's "Testing with fakelab" examples are the files in examples/, shown whole: each is
 * checked to be in the README word for word, and run as its reader would run it (mocha for the
 * gitbeaker one, importing `fakelab` as a package; python's unittest for the python-gitlab one,
 * starting fakelab's command itself). A README example that stops working fails here.
 */

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function shownInReadme(file: string, language: string): void {
  const text = readFileSync(path.join(ROOT, 'examples', file), 'utf8');
  expect(README, `README shows examples/${file} whole, in a ${language} block`).to.include('```' + language + '\n' + text + '```\n');
}

describe('README: Testing with fakelab', function () {
  this.timeout(180_000);

  it('the gitbeaker example is in the README and passes under mocha', async () => {
    shownInReadme('gitbeaker.test.mjs', 'js');
    const mocha = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const { stdout } = await run(process.execPath, [mocha, '--no-config', '--exit', '--reporter', 'dot', 'examples/gitbeaker.test.mjs'], { cwd: ROOT });
    expect(stdout).to.match(/3 passing/);
    expect(stdout).to.not.match(/failing|pending/);
  });

  it('the python-gitlab example is in the README and passes under unittest', async function () {
    shownInReadme('test_python_gitlab.py', 'python');
    await requirePythonGitlab(this);
    const { stderr } = await run(PYTHON, ['-m', 'unittest', '-v', 'examples/test_python_gitlab.py'], {
      cwd: ROOT,
      env: pythonEnv({ FAKELAB: `${process.execPath} ${path.join(ROOT, 'dist', 'src', 'cli.js')}` }),
    });
    expect(stderr).to.match(/Ran 3 tests/);
    expect(stderr).to.match(/\nOK\n/);
  });
});
