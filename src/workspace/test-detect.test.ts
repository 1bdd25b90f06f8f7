import { execFileSync } from 'node:child_process';
import { chmodSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { detectTestPlan, packageManagerVersion, pnpmForLockfile, withPackageManager } from './test-detect.js';
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
      [{ 'tox.ini': '[pytest]\n' }, 'pytest (found tox.ini [pytest])'],
      [{ 'tests/test_a.py': '' }, 'pytest (found tests/)'],
      [{ 'test/conftest.py': '' }, 'pytest (found test/)'],
      [{ 'test_top.py': '' }, 'pytest (found test_top.py)'],
      [{ 'top_test.py': '' }, 'pytest (found top_test.py)'],
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

  it('installs the development groups tests need: PEP 735 dependency groups and Poetry\'s, with their versions', async () => {
    const venv = 'python3 -m venv --system-site-packages .venv && .venv/bin/python -m pip install';
    const uv = [
      '[project]',
      'name = "Slugs_Kit"',
      '[dependency-groups]',
      'lint = ["ruff"]',
      'Dev = ["pytest>=8", { include-group = "Test-Utils" }, { include-group = "dev" }, "slugs-kit[fast]"]',
      'test_utils = ["inflection==0.5.1", "pytest-cov; python_version >= \'3.9\'"]',
      '[tool.pytest.ini_options]',
    ].join('\n');
    expect((await detectTestPlan(project({ 'pyproject.toml': uv, 'tests/test_a.py': '' })))?.install).toBe(
      `${venv} -e '.' 'pytest>=8' 'inflection==0.5.1' 'pytest-cov; python_version >= '\\''3.9'\\''' `.trim(),
    );
    const poetry = [
      '[tool.poetry]',
      'name = "p"',
      '[tool.poetry.dependencies]',
      'python = "^3.9"',
      'requests = "^2.31"',
      '[tool.poetry.group.dev.dependencies]',
      'pytest = "^8.1.2"',
      'freezegun = "~1.4"',
      'zero = "^0.3.1"',
      'pinned = "2.0"',
      'ranged = ">=1.0, <3"',
      'either = "^1 || ^2"',
      'extras = { version = "*", extras = ["socks"] }',
      'local = { path = "../local" }',
      '[tool.poetry.dev-dependencies]',
      'black = "*"',
    ].join('\n');
    expect((await detectTestPlan(project({ 'pyproject.toml': poetry, 'tests/test_a.py': '' })))?.install).toBe(
      `${venv} -e '.' 'pytest>=8.1.2,<9' 'freezegun>=1.4,<1.5' 'zero>=0.3.1,<0.4' 'pinned==2.0' 'ranged>=1.0,<3' 'either' 'extras[socks]' 'black'`,
    );
    // Not TOML: no groups (pip then says what is wrong with the file).
    expect((await detectTestPlan(project({ 'pyproject.toml': '[project\nname = "x"\n', 'tests/test_a.py': '' })))?.install).toBeNull();
  });

  it('syncs a uv project from its lock, with the test groups and extras it has', async () => {
    const pyproject = [
      '[project]',
      'name = "mathx"',
      '[project.optional-dependencies]',
      'test = ["hypothesis"]',
      'docs = ["sphinx"]',
      '[dependency-groups]',
      'dev = ["pytest"]',
      'Testing = ["inflection"]',
      'lint = ["ruff"]',
    ].join('\n');
    const plan = await detectTestPlan(project({ 'pyproject.toml': pyproject, 'uv.lock': 'version = 1\n', 'tests/test_a.py': '' }));
    expect(plan?.install).toBe(
      'python3 -m venv --system-site-packages .venv && if uv --version >/dev/null 2>&1; then UV=uv; else .venv/bin/python -m pip install uv && UV=.venv/bin/uv; fi && ' +
        'UV_PYTHON_DOWNLOADS=never "$UV" sync --frozen --inexact --python .venv/bin/python --group dev --group Testing --extra test',
    );
    expect(plan?.command).toBe('PATH="$PWD/.venv/bin:$PATH" python3 -m pytest -rA -p no:cacheprovider');
    // Without the lock, pip resolves the groups as before.
    expect((await detectTestPlan(project({ 'pyproject.toml': pyproject, 'tests/test_a.py': '' })))?.install).toMatch(/pip install -e '\.\[test\]' 'inflection' 'pytest'$/);
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
    expect(await detectTestPlan(project({ GNUmakefile: 'test:\n\t./x\n' }))).toMatchObject({ command: 'make test', source: 'GNUmakefile test target' });
    expect(await detectTestPlan(project({ Makefile: 'build:\n\tcc x.c\n' }))).toBeNull();
    expect(await detectTestPlan(project({ 'README.md': '# nothing' }))).toBeNull();
  });

  it('passes over a pnpm on PATH that does not run (a corepack shim that cannot download), and keeps the one it fetched for later commands', async () => {
    const bin = tempDir('slipway-fake-bin-');
    const npx = tempDir('slipway-fake-npx-');
    const tools = join(tempDir('slipway-fake-run-cache-'), 'bin');
    const fake = (dir: string, name: string, body: string) => {
      writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(dir, name), 0o755);
    };
    // npm exec --yes --package=X -- CMD...: runs CMD with the package's bin folder first on PATH, as npm does.
    fake(bin, 'npm', 'shift 4; PATH="' + npx + ':$PATH" exec "$@"');
    fake(npx, 'pnpm', 'echo "fetched pnpm $*"');
    const command = withPackageManager('pnpm', 'pnpm@9', 'install --frozen-lockfile');
    const run = () => execFileSync('/bin/sh', ['-c', command], { env: { PATH: `${bin}:/usr/bin:/bin`, SLIPWAY_TOOL_BIN: tools }, encoding: 'utf8' }).trim();
    fake(bin, 'pnpm', 'echo "Internal Error: Cannot find matching keyid" >&2; exit 1');
    expect(run()).toBe('fetched pnpm install --frozen-lockfile');
    expect(readlinkSync(join(tools, 'pnpm'))).toBe(join(npx, 'pnpm'));
    fake(bin, 'pnpm', '[ "$1" = --version ] && echo 9.15.9 || echo "pnpm $*"');
    expect(run()).toBe('pnpm install --frozen-lockfile');
    for (const d of [bin, npx, join(tools, '..')]) removeDir(d);
  });

  it('runs pnpm from PATH, else fetched through npm at the version packageManager or the lockfile names', async () => {
    const lock9 = "lockfileVersion: '9.0'\n\nimporters: {}\n";
    const install = async (files: Record<string, string>) => (await detectTestPlan(project({ 'package.json': pkg({ test: 'vitest run' }), ...files })))?.install;
    expect(await install({ 'pnpm-lock.yaml': lock9 })).toBe(
      'if COREPACK_ENABLE_DOWNLOAD_PROMPT=0 pnpm --version >/dev/null 2>&1; then pnpm install --frozen-lockfile; else npm exec --yes --package=pnpm@9 -- sh -c \'pnpm install --frozen-lockfile && { [ -z "$SLIPWAY_TOOL_BIN" ] || { mkdir -p "$SLIPWAY_TOOL_BIN" && ln -sf "$(command -v pnpm)" "$SLIPWAY_TOOL_BIN/pnpm"; }; }\'; fi',
    );
    expect(await install({ 'pnpm-lock.yaml': "lockfileVersion: '6.0'\n" })).toContain('--package=pnpm@8 --');
    expect(await install({ 'pnpm-lock.yaml': 'lockfileVersion: 5.4\n' })).toContain('--package=pnpm@7 --');
    expect(await install({ 'pnpm-lock.yaml': '' })).toContain('--package=pnpm@latest --');
    // packageManager wins, its +hash dropped; a value that is no plain version is ignored.
    const withField = (packageManager: string) => ({ 'package.json': pkg({ test: 'vitest run' }, { packageManager }), 'pnpm-lock.yaml': lock9 });
    expect(await install(withField('pnpm@9.12.0+sha512.4abf725084d7bcbafbd728bfc7bee61f2f791f977fd87542b3579dcb23504d170d46337945e4c66485cd12d588a0c0e570ed9c477e7ccdd8507cf05f3f92eaca'))).toBe(
      'if COREPACK_ENABLE_DOWNLOAD_PROMPT=0 pnpm --version >/dev/null 2>&1; then pnpm install --frozen-lockfile; else npm exec --yes --package=pnpm@9.12.0 -- sh -c \'pnpm install --frozen-lockfile && { [ -z "$SLIPWAY_TOOL_BIN" ] || { mkdir -p "$SLIPWAY_TOOL_BIN" && ln -sf "$(command -v pnpm)" "$SLIPWAY_TOOL_BIN/pnpm"; }; }\'; fi',
    );
    expect(await install(withField('pnpm@9; curl evil.example'))).toContain('--package=pnpm@9 --');
    expect(await install(withField('yarn@1.22.22'))).toContain('--package=pnpm@9 --');
  });

  it('runs yarn classic for a v1 lockfile, and yarn berry from its yarnPath or through npm', async () => {
    const v1 = '# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\nis-number@7.0.0:\n  version "7.0.0"\n';
    const berry = '# This file is generated by running "yarn install" inside your project.\n# Manual changes might be lost - proceed with caution!\n\n__metadata:\n  version: 8\n';
    const install = async (files: Record<string, string>, extra: object = {}) =>
      (await detectTestPlan(project({ 'package.json': pkg({ test: 'jest' }, extra), ...files })))?.install;
    expect(await install({ 'yarn.lock': v1 })).toBe(
      'if COREPACK_ENABLE_DOWNLOAD_PROMPT=0 yarn --version >/dev/null 2>&1; then yarn install --frozen-lockfile; else npm exec --yes --package=yarn@1 -- sh -c \'yarn install --frozen-lockfile && { [ -z "$SLIPWAY_TOOL_BIN" ] || { mkdir -p "$SLIPWAY_TOOL_BIN" && ln -sf "$(command -v yarn)" "$SLIPWAY_TOOL_BIN/yarn"; }; }\'; fi',
    );
    expect(await install({ 'yarn.lock': v1 }, { packageManager: 'yarn@1.22.22+sha256.c17d3797fb9a9115bf375e31bfd30058cac6bc9c3b8807a3d8cb2094794b51ca' })).toContain(
      '--package=yarn@1.22.22 --',
    );
    expect(await install({ 'yarn.lock': berry, '.yarnrc.yml': 'nodeLinker: node-modules\nyarnPath: .yarn/releases/yarn-4.5.0.cjs\n' })).toBe(
      'node .yarn/releases/yarn-4.5.0.cjs install --immutable',
    );
    expect(await install({ 'yarn.lock': berry }, { packageManager: 'yarn@4.5.0+sha512.abc' })).toBe(
      'if COREPACK_ENABLE_DOWNLOAD_PROMPT=0 yarn --version >/dev/null 2>&1; then yarn install --immutable; else npm exec --yes --package=@yarnpkg/cli-dist@4.5.0 -- sh -c \'yarn install --immutable && { [ -z "$SLIPWAY_TOOL_BIN" ] || { mkdir -p "$SLIPWAY_TOOL_BIN" && ln -sf "$(command -v yarn)" "$SLIPWAY_TOOL_BIN/yarn"; }; }\'; fi',
    );
    expect(await install({ 'yarn.lock': berry })).toContain('--package=@yarnpkg/cli-dist@latest --');
    // A yarnPath that is no plain relative path is not put into the command.
    expect(await install({ 'yarn.lock': berry, '.yarnrc.yml': 'yarnPath: "$(curl x)"\n' })).toContain('--package=@yarnpkg/cli-dist@latest --');
  });

  it('reads packageManager and lockfileVersion', () => {
    expect(packageManagerVersion('pnpm@10.0.0', 'pnpm')).toBe('10.0.0');
    expect(packageManagerVersion('pnpm@10.0.0', 'yarn')).toBeNull();
    expect(packageManagerVersion('pnpm@-rf', 'pnpm')).toBeNull();
    expect(packageManagerVersion(42, 'pnpm')).toBeNull();
    expect(pnpmForLockfile("lockfileVersion: '9.0'\n")).toBe('9');
    expect(pnpmForLockfile('lockfileVersion: "6.1"\n')).toBe('8');
    expect(pnpmForLockfile('lockfileVersion: 5.3\n')).toBe('7');
    expect(pnpmForLockfile('lockfileVersion: 4\n')).toBe('latest');
  });
});
