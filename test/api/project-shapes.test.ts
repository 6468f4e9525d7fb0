import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildNamedFixture, removeDir, tempDir } from '../support/fixtures.js';
import { callUrl } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * Which project entity GitLab answers with (lib/api/projects.rb present_projects and GET :id):
 * ProjectWithAccess (with `permissions`) for a signed-in caller; for lists with simple=true and
 * for anonymous callers' lists, BasicProjectDetails (identity, URLs, counts, namespace: no
 * visibility, empty_repo or permissions); an anonymous caller's single project, Entities::Project
 * (everything but `permissions`).
 */
const BASIC_KEYS = [
  'id', 'description', 'name', 'name_with_namespace', 'path', 'path_with_namespace', 'created_at', 'default_branch', 'tag_list', 'topics',
  'ssh_url_to_repo', 'http_url_to_repo', 'web_url', 'readme_url', 'avatar_url', 'forks_count', 'star_count', 'last_activity_at', 'namespace',
].sort();
const TOKEN = 'glpat-shapes-alice';

describe('project entities: ProjectWithAccess, Project and BasicProjectDetails', function () {
  this.timeout(60_000);
  let reposDir: string;
  let configDir: string;
  let server: TestServer;

  before(async () => {
    reposDir = tempDir('fakelab-shapes-');
    await buildNamedFixture('hello-world', reposDir);
    configDir = tempDir('fakelab-shapes-config-');
    const configFile = path.join(configDir, 'access.yaml');
    writeFileSync(configFile, [
      'users:',
      '  - { id: 2, username: alice, name: Alice, email: alice@example.com }',
      'tokens:',
      `  - { token: ${TOKEN}, user: alice, scopes: [api] }`,
      'projects:',
      '  demo/hello-world: { visibility: public, members: { alice: developer } }',
      '',
    ].join('\n'));
    server = await startTestServer({ reposDir, configFile, token: null });
  });

  after(async () => {
    await server?.stop();
    removeDir(reposDir);
    removeDir(configDir);
  });

  const get = (p: string, token: string | null) => callUrl(server.url, 'GET', `/api/v4${p}`, undefined, { token });

  it('a signed-in caller\'s list: ProjectWithAccess, with the caller\'s permissions', async () => {
    const [project] = (await get('/projects', TOKEN)).json;
    expect(project.permissions).to.deep.equal({ project_access: { access_level: 30, notification_level: 3 }, group_access: null });
    expect(project).to.include({ visibility: 'public', empty_repo: false, archived: false });
  });

  it('simple=true: BasicProjectDetails, exactly its keys', async () => {
    const [project] = (await get('/projects?simple=true', TOKEN)).json;
    expect(Object.keys(project).sort()).to.deep.equal(BASIC_KEYS);
    expect(project.path_with_namespace).to.equal('demo/hello-world');
  });

  it('an anonymous caller\'s list: BasicProjectDetails', async () => {
    const res = await get('/projects', null);
    expect(res.status).to.equal(200);
    expect(res.json).to.have.length(1);
    expect(Object.keys(res.json[0]).sort()).to.deep.equal(BASIC_KEYS);
  });

  it('an anonymous caller\'s single project: Entities::Project, everything but permissions', async () => {
    const anonymous = (await get('/projects/demo%2Fhello-world', null)).json;
    const signedIn = (await get('/projects/demo%2Fhello-world', TOKEN)).json;
    expect(anonymous).to.not.have.property('permissions');
    const { permissions, ...rest } = signedIn;
    expect(permissions).to.be.an('object');
    expect(anonymous).to.deep.equal(rest);
  });
});
