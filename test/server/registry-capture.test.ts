import { expect } from 'chai';
import { cpSync } from 'node:fs';
import path from 'node:path';
import { ProjectRegistry } from '../../src/projects/registry.js';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';

/**
 * The state a reset goes back to (ProjectRegistry.captureState) shares the registry's id records
 * instead of copying 10,000 of them at start (issue 17): every later change of the registry must
 * leave it as it was, and its folders are those of the registry at capture.
 */
describe('registry: the captured state stays as captured', function () {
  this.timeout(60_000);
  let root: string;
  let reposDir: string;
  let registry: ProjectRegistry;

  before(async () => {
    root = tempDir('fakelab-capture-');
    reposDir = path.join(root, 'repos');
    const built = await buildNamedFixture('hello-world', reposDir);
    for (const name of ['demo/second', 'other/third']) cpSync(built.gitdir, path.join(reposDir, `${name}.git`), { recursive: true });
  });

  afterEach(async () => {
    await registry?.close();
  });

  after(() => removeDir(root));

  it('creations, deletions and repositories found later change the registry, not the captured state', async () => {
    registry = new ProjectRegistry(reposDir, path.join(root, 'data-1'));
    await registry.open();
    const captured = await registry.captureState();
    const asCaptured = structuredClone(captured);
    expect(Object.keys(captured.ids.projects).sort()).to.deep.equal(['demo/hello-world', 'demo/second', 'other/third']);
    expect(captured.folders).to.deep.equal(['demo', 'other']);

    const made = await registry.create('made/new', { defaultBranch: 'main' }, { name: 'New' });
    await registry.remove((await registry.findByPath('demo/second'))!);
    cpSync(path.join(reposDir, 'demo/hello-world.git'), path.join(reposDir, 'late/found.git'), { recursive: true });
    await new Promise((r) => setTimeout(r, 1100)); // rescans are rate-limited to one a second
    expect((await registry.findByPath('late/found'))?.id).to.equal(made.id + 1);

    expect((await registry.list()).map((p) => p.path)).to.deep.equal(['demo/hello-world', 'other/third', 'made/new', 'late/found']);
    expect(captured).to.deep.equal(asCaptured);
    // And a reset to it puts the registry back.
    await registry.restoreState(captured);
    expect((await registry.list()).map((p) => [p.id, p.path])).to.deep.equal(asCaptured.projects.map((p) => [p.id, p.path]));
    expect(captured).to.deep.equal(asCaptured);
  });

  it('a namespace folder a creation made before the capture is among its folders', async () => {
    registry = new ProjectRegistry(reposDir, path.join(root, 'data-2'));
    await registry.open();
    await registry.create('fresh-group/made', { defaultBranch: 'main' }, {});
    const captured = await registry.captureState();
    expect(captured.folders).to.include('fresh-group');
    expect(captured.projects.map((p) => p.path)).to.include('fresh-group/made');
  });
});
