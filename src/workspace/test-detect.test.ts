import { afterEach, describe, expect, it } from 'vitest';
import { detectTestPlan } from './test-detect.js';
import { removeDir, tempDir, writeFiles } from './test-helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

function project(files: Record<string, string>): string {
  const dir = tempDir('slipway-detect-');
  dirs.push(dir);
  writeFiles(dir, files);
  return dir;
}

const pkg = (scripts: Record<string, string>, extra: object = {}) => JSON.stringify({ name: 'x', scripts, ...extra });

describe('detectTestPlan', () => {
  it('prefers the configured command, keeping a detected install', async () => {
    const dir = project({ 'package.json': pkg({ test: 'vitest run' }, { devDependencies: { vitest: '4' } }), 'package-lock.json': '{}' });
    expect(await detectTestPlan(dir, { command: 'npm run test:unit' })).toEqual({ command: 'npm run test:unit', framework: 'unknown', source: 'config', install: 'npm ci' });
    expect(await detectTestPlan(dir, { test: 'npx vitest run', install: 'npm install' })).toEqual({ command: 'npx vitest run', framework: 'vitest', source: 'config', install: 'npm install' });
    expect((await detectTestPlan(dir, { install: 'make deps' }))?.install).toBe('make deps');
  });

  it('reads package.json scripts.test and names the framework', async () => {
    expect(await detectTestPlan(project({ 'package.json': pkg({ test: 'node --test' }) }))).toEqual({
      command: 'npm test',
      framework: 'node-test',
      source: 'package.json scripts.test',
      install: null,
    });
    expect((await detectTestPlan(project({ 'package.json': pkg({ test: 'jest --ci' }), 'package-lock.json': '{}' })))?.framework).toBe('jest');
    const mocha = await detectTestPlan(project({ 'package.json': pkg({ test: './run.sh' }, { devDependencies: { mocha: '10' } }) }));
    expect(mocha).toMatchObject({ framework: 'mocha', install: 'npm install' });
  });

  it("ignores npm's placeholder test script", async () => {
    const dir = project({ 'package.json': pkg({ test: 'echo "Error: no test specified" && exit 1' }) });
    expect(await detectTestPlan(dir)).toBeNull();
  });

  it('finds pytest from its many markers, with a virtualenv install for requirements', async () => {
    for (const [files, source] of [
      [{ 'pytest.ini': '[pytest]\n' }, 'pytest (found pytest.ini)'],
      [{ 'pyproject.toml': '[tool.pytest.ini_options]\n' }, 'pytest (found pyproject.toml [tool.pytest])'],
      [{ 'setup.cfg': '[tool:pytest]\n' }, 'pytest (found setup.cfg [tool:pytest])'],
      [{ 'conftest.py': '' }, 'pytest (found conftest.py)'],
      [{ 'tests/test_a.py': '' }, 'pytest (found tests/)'],
      [{ 'test_top.py': '' }, 'pytest (found test_top.py)'],
    ] as const) {
      expect(await detectTestPlan(project(files))).toEqual({ command: 'python3 -m pytest -rA -p no:cacheprovider', framework: 'pytest', source, install: null });
    }
    const withReqs = await detectTestPlan(project({ 'tests/test_a.py': '', 'requirements.txt': 'requests\n' }));
    expect(withReqs?.install).toBe('python3 -m venv --system-site-packages .venv && .venv/bin/python -m pip install -r requirements.txt');
    expect(withReqs?.command).toBe('PATH="$PWD/.venv/bin:$PATH" python3 -m pytest -rA -p no:cacheprovider');
    expect(await detectTestPlan(project({ 'pyproject.toml': '[project]\nname="x"\n', 'src/x.py': '' }))).toBeNull();
  });

  it('installs a Python package editable, with its test extras, so a src/ layout can be imported by its tests', async () => {
    const venv = 'python3 -m venv --system-site-packages .venv && .venv/bin/python -m pip install';
    const pyproject = [
      '[project]',
      'name = "mathx"',
      '',
      '[project.optional-dependencies]',
      'docs = ["sphinx"]',
      'test = ["pytest>=7", "hypothesis"]',
      '"dev" = [',
      '  "ruff",',
      ']',
      '',
      '[tool.pytest.ini_options]',
      'testpaths = ["tests"]',
    ].join('\n');
    const pkg = await detectTestPlan(project({ 'pyproject.toml': pyproject, 'src/mathx/__init__.py': '', 'tests/test_m.py': '' }));
    expect(pkg).toMatchObject({ framework: 'pytest', install: `${venv} -e '.[test,dev]'`, command: 'PATH="$PWD/.venv/bin:$PATH" python3 -m pytest -rA -p no:cacheprovider' });
    // Poetry's table, setup.py, and requirements beside a package.
    expect((await detectTestPlan(project({ 'pyproject.toml': '[tool.poetry]\nname = "p"\n', 'tests/test_a.py': '' })))?.install).toBe(`${venv} -e '.'`);
    expect((await detectTestPlan(project({ 'setup.py': 'from setuptools import setup\nsetup()\n', 'requirements-dev.txt': 'pytest\n', 'tests/test_a.py': '' })))?.install).toBe(
      `${venv} -r requirements-dev.txt -e '.'`,
    );
    // A pyproject.toml that only configures tools is no package.
    expect((await detectTestPlan(project({ 'pyproject.toml': '[tool.pytest.ini_options]\n[tool.black]\n', 'tests/test_a.py': '' })))?.install).toBeNull();
  });

  it('knows go, cargo, maven, gradle and make', async () => {
    expect(await detectTestPlan(project({ 'go.mod': 'module x\n' }))).toEqual({ command: 'go test -v ./...', framework: 'go', source: 'go.mod', install: null });
    expect((await detectTestPlan(project({ 'go.mod': 'module x\n', 'go.sum': '' })))?.install).toBe('go mod download && go mod verify');
    expect(await detectTestPlan(project({ 'Cargo.toml': '[package]\n' }))).toMatchObject({ command: 'cargo test', framework: 'cargo', install: null });
    expect((await detectTestPlan(project({ 'Cargo.toml': '[package]\n', 'Cargo.lock': '' })))?.install).toBe('cargo fetch');
    expect(await detectTestPlan(project({ 'pom.xml': '<project/>' }))).toMatchObject({
      command: 'mvn -B test -Dsurefire.reportFormat=plain',
      framework: 'maven',
      install: 'mvn -B -q dependency:go-offline test -Dmaven.test.failure.ignore=true',
    });
    expect(await detectTestPlan(project({ 'build.gradle.kts': '', gradlew: '' }))).toMatchObject({ command: './gradlew test', framework: 'gradle' });
    expect(await detectTestPlan(project({ 'build.gradle': '' }))).toMatchObject({ command: 'gradle test' });
    expect(await detectTestPlan(project({ Makefile: 'build:\n\tcc x.c\n\ntest: build\n\t./x\n' }))).toMatchObject({ command: 'make test', framework: 'make', source: 'Makefile test target' });
    expect(await detectTestPlan(project({ Makefile: 'build:\n\tcc x.c\n' }))).toBeNull();
    expect(await detectTestPlan(project({ 'README.md': '# nothing' }))).toBeNull();
  });
});
