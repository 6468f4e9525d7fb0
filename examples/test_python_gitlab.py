# A test suite using fakelab through python-gitlab (run it with python3 -m unittest).
import os
import re
import shlex
import subprocess
import tempfile
import unittest

import gitlab

TOKEN = "test-token"
# How to run fakelab: installed with npm, `npx fakelab` does.
FAKELAB = shlex.split(os.environ.get("FAKELAB", "npx fakelab"))


def report_build(gl, project_id, sha, passed):
    """The code under test: reports a build result on a commit."""
    project = gl.projects.get(project_id, lazy=True)
    project.commits.get(sha, lazy=True).statuses.create({"state": "success" if passed else "failed", "name": "build"})


class ReportBuildTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dirs = [tempfile.TemporaryDirectory() for _ in range(3)]
        repos, data, no_fixtures = (d.name for d in cls.dirs)
        cls.server = subprocess.Popen(
            FAKELAB + ["--repos", repos, "--data", data, "--fixtures", no_fixtures, "--port", "0", "--token", TOKEN, "--log-level", "silent"],
            stdout=subprocess.PIPE, text=True,
        )
        cls.url = re.search(r"fakelab listening on (\S+)", cls.server.stdout.readline()).group(1)
        cls.gl = gitlab.Gitlab(cls.url, private_token=TOKEN)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait()
        for d in cls.dirs:
            d.cleanup()

    def control(self, method, path, **kwargs):
        """fakelab's control plane (/-/fakelab/...), with the admin token."""
        res = self.gl.session.request(method, self.url + path, headers={"PRIVATE-TOKEN": TOKEN}, **kwargs)
        res.raise_for_status()
        return res

    def tearDown(self):
        # Every test starts from the server as it started.
        self.control("POST", "/-/fakelab/reset")

    def test_posts_the_status_of_the_commit_it_built(self):
        # 1. Set up through GitLab's own API: a project, and a commit on it.
        project = self.gl.projects.create({"name": "app", "initialize_with_readme": True})
        commit = project.commits.create({
            "branch": "main",
            "commit_message": "Add the CI config",
            "actions": [{"action": "create", "file_path": ".ci.yml", "content": "build: true\n"}],
        })
        # 2. Run the code under test.
        report_build(self.gl, project.id, commit.id, passed=True)
        # 3. Assert on what it sent (credentials are redacted) and on what GitLab now says.
        sent = self.control("GET", "/-/fakelab/requests", params={"method": "POST", "path": "/api/v4/projects/*/statuses/*"}).json()
        self.assertEqual(sent[-1]["body"], {"state": "success", "name": "build"})
        self.assertEqual(sent[-1]["headers"]["private-token"], "[REDACTED]")
        self.assertEqual([(s.name, s.status) for s in commit.statuses.list()], [("build", "success")])

    def test_seeds_a_project_from_a_fixture(self):
        fixture = {
            "path": "team/service",
            "people": {"ann": {"name": "Ann", "email": "ann@example.com"}},
            "commits": [{"branch": "main", "author": "ann", "date": "2024-01-01T10:00:00Z", "message": "Start\n", "files": {"README.md": "# Service\n"}}],
        }
        project = self.control("POST", "/-/fakelab/projects", json=fixture).json()
        self.assertEqual(self.gl.projects.get(project["id"]).default_branch, "main")

    def test_starts_again_from_a_clean_server_after_reset(self):
        self.assertEqual(self.gl.projects.list(), [])


if __name__ == "__main__":
    unittest.main()
