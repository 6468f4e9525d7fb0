import { expect } from 'chai';
import { cpSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ProjectRegistry } from '../../src/projects/registry.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';

/** Lookups and lists rescan the root at most once a second. */
const afterRescanInterval = () => new Promise((r) => setTimeout(r, 1100));

/** Every folder of the root (not inside repositories) as if last changed an hour ago: a rescan then reuses their listings (see scanRoot). */
function ageFolders(reposDir: string): void {
  const past = new Date(Date.now() - 3_600_000);
  const age = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const child = path.join(dir, entry.name);
      if (!entry.name.endsWith('.git') || !readdirSync(child).includes('HEAD')) age(child);
      utimesSync(child, past, past);
    }
  };
  age(reposDir);
  utimesSync(reposDir, past, past);
}

/**
 * A rescan of a root where nothing changed keeps the registry's projects as they are, so that
 * what is kept for list() (its sorted copy, and the orders and search tables GET /projects keeps
 * for that copy) outlives it: with 10,000 projects, every GET /projects after a second idle had
 * been rebuilding them (issue 17). A root that changed is still seen at the next rescan.
 */
describe('registry: a rescan of an unchanged root', function () {
  this.timeout(60_000);
  let root: string;
  let reposDir: string;
  let source: string;
  let registry: ProjectRegistry;

  before(async () => {
    root = tempDir('fakelab-rescan-');
    source = (await buildNamedFixture('hello-world', path.join(root, 'source'))).gitdir;
  });

  beforeEach(() => {
    reposDir = path.join(root, `repos-${Math.random().toString(36).slice(2)}`);
    for (const group of ['alpha', 'beta', 'gamma']) for (const name of ['one', 'two', 'three']) cpSync(source, path.join(reposDir, group, `${name}.git`), { recursive: true });
  });

  afterEach(async () => {
    await registry?.close();
  });

  after(() => removeDir(root));

  const open = async () => {
    registry = new ProjectRegistry(reposDir, path.join(reposDir, '..', `data-${path.basename(reposDir)}`));
    await registry.open();
    return registry;
  };
  const paths = async () => (await registry.list()).map((p) => p.path);

  it('keeps the projects and the very list it answered', async () => {
    ageFolders(reposDir);
    await open();
    const before = await registry.list();
    expect(before).to.have.length(9);
    await afterRescanInterval();
    // A lookup that misses rescans; so does a list once a second has passed.
    expect(await registry.findByPath('alpha/missing')).to.equal(undefined);
    expect(await registry.list()).to.equal(before);
    await afterRescanInterval();
    expect(await registry.list()).to.equal(before);
  });

  it('still sees a repository added and one removed by hand', async () => {
    ageFolders(reposDir);
    await open();
    const before = await registry.list();
    cpSync(source, path.join(reposDir, 'beta', 'added.git'), { recursive: true });
    rmSync(path.join(reposDir, 'gamma', 'two.git'), { recursive: true });
    await afterRescanInterval();
    const after = await registry.list();
    expect(after).to.not.equal(before);
    expect(after.map((p) => p.path)).to.include('beta/added').and.not.include('gamma/two');
    expect(after).to.have.length(9);
    // The ids of those that stayed are theirs still.
    for (const project of before.filter((p) => p.path !== 'gamma/two')) expect(after.find((p) => p.path === project.path)?.id).to.equal(project.id);
  });

  it('finds a folder named *.git that became a repository, in a folder unchanged for long', async () => {
    const later = path.join(reposDir, 'alpha', 'later.git');
    mkdirSync(later);
    writeFileSync(path.join(later, 'notes.txt'), 'not a repository yet\n');
    ageFolders(reposDir);
    await open();
    expect(await paths()).to.not.include('alpha/later');
    // Its contents change, not the folder that lists it.
    cpSync(source, later, { recursive: true });
    utimesSync(path.join(reposDir, 'alpha'), new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    await afterRescanInterval();
    expect(await paths()).to.include('alpha/later');
  });

  it('brings back a known repository a lookup dropped, once it is servable again', async () => {
    ageFolders(reposDir);
    await open();
    const gone = path.join(reposDir, 'beta', 'one.git', 'refs');
    rmSync(gone, { recursive: true });
    // Its refs folder is gone: no longer servable, and dropped (the folder listing it is unchanged).
    expect(await registry.findByPath('beta/one')).to.equal(undefined);
    expect(await paths()).to.not.include('beta/one');
    mkdirSync(gone);
    cpSync(path.join(source, 'refs'), gone, { recursive: true });
    await afterRescanInterval();
    expect((await registry.findByPath('beta/one'))?.path).to.equal('beta/one');
  });
});
