/** Find how a repository runs its tests and installs its dependencies. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { TestFramework, TestPlan } from '../protocol/tests.js';
import { normalizeName, PYTHON_LOCKFILES, pythonPins, type PythonPins } from './python-lock.js';

/** What a user configured; `command` is the config file's name for the test command, `test` an alias. */
export interface ConfiguredTests {
  test?: string;
  command?: string;
  install?: string;
}

interface PackageJson {
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  packageManager?: string;
}

const NPM_DEFAULT_TEST = /no test specified/;
const PYTEST = 'python3 -m pytest -rA -p no:cacheprovider';
/**
 * go-offline misses what surefire resolves only when tests run (its JUnit provider), so the install runs
 * the tests once too, quietly, with failures ignored: the test step then works offline.
 */
const MAVEN_INSTALL = 'mvn -B -q dependency:go-offline test -Dmaven.test.failure.ignore=true';
/**
 * Not -q: surefire's summary is INFO output, and without it a passing run shows no counts. The plain report
 * lists every test, passing ones too (the default lists failures only), so a new test that passes is seen.
 */
const MAVEN_TEST = 'mvn -B test -Dsurefire.reportFormat=plain';
/** Dependencies go to a virtualenv in the clone (the toolchain itself is read-only in the sandbox). */
const PY_VENV_PATH = 'PATH="$PWD/.venv/bin:$PATH"';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function read(path: string): Promise<string | null> {
  return readFile(path, 'utf8').catch(() => null);
}

async function readPackageJson(dir: string): Promise<PackageJson | null> {
  const text = await read(join(dir, 'package.json'));
  if (text === null) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as PackageJson) : null;
  } catch {
    return null;
  }
}

export async function detectTestPlan(dir: string, configured?: ConfiguredTests): Promise<TestPlan | null> {
  const command = configured?.command ?? configured?.test;
  const detected = await detect(dir);
  if (command) {
    const install = configured?.install ?? detected?.install ?? null;
    return { command, framework: await frameworkOfCommand(dir, command), source: 'config', install };
  }
  if (detected && configured?.install) return { ...detected, install: configured.install };
  return detected;
}

/** Every name in a repository's top folder that a check below looks at. */
const MARKERS = new Set(['package.json', 'pytest.ini', 'pyproject.toml', 'setup.cfg', 'tox.ini', 'conftest.py', 'tests', 'test', 'go.mod', 'Cargo.toml', 'pom.xml', 'build.gradle', 'build.gradle.kts', 'Makefile', 'makefile', 'GNUmakefile']);
const PY_TEST_FILE = /^test_.*\.py$|_test\.py$/;

async function detect(dir: string): Promise<TestPlan | null> {
  // One listing answers for a repository none of the checks would match (documentation, data, an unknown
  // build): no file is asked about one by one.
  const top = await readdir(dir).catch(() => null);
  if (top && !top.some((name) => MARKERS.has(name) || PY_TEST_FILE.test(name))) return null;
  const pkg = await readPackageJson(dir);
  const script = pkg?.scripts?.test;
  if (pkg && script && !NPM_DEFAULT_TEST.test(script)) {
    return { command: 'npm test', framework: jsFramework(script, pkg), source: 'package.json scripts.test', install: await nodeInstall(dir, pkg) };
  }
  const pytest = await pytestMarker(dir);
  if (pytest) {
    const install = await pythonInstall(dir);
    return { command: install ? `${PY_VENV_PATH} ${PYTEST}` : PYTEST, framework: 'pytest', source: `pytest (found ${pytest})`, install };
  }
  // Tests run without network: modules and crates are downloaded by the install step (into the shared
  // dependency cache), and `go mod verify` checks what an earlier run left there against go.sum.
  if (await exists(join(dir, 'go.mod'))) {
    const install = (await exists(join(dir, 'go.sum'))) ? 'go mod download && go mod verify' : null;
    return { command: 'go test -v ./...', framework: 'go', source: 'go.mod', install };
  }
  if (await exists(join(dir, 'Cargo.toml'))) {
    return { command: 'cargo test', framework: 'cargo', source: 'Cargo.toml', install: (await exists(join(dir, 'Cargo.lock'))) ? 'cargo fetch' : null };
  }
  if (await exists(join(dir, 'pom.xml'))) return { command: MAVEN_TEST, framework: 'maven', source: 'pom.xml', install: MAVEN_INSTALL };
  for (const name of ['build.gradle', 'build.gradle.kts']) {
    if (await exists(join(dir, name))) {
      const wrapper = await exists(join(dir, 'gradlew'));
      return { command: wrapper ? './gradlew test' : 'gradle test', framework: 'gradle', source: name, install: null };
    }
  }
  for (const name of ['Makefile', 'makefile', 'GNUmakefile']) {
    const text = await read(join(dir, name));
    if (text && /^test\s*:/m.test(text)) return { command: 'make test', framework: 'make', source: `${name} test target`, install: null };
  }
  return null;
}

function jsFramework(script: string, pkg: PackageJson): TestFramework {
  if (/\bnode\b[^|&;]*\s--test\b/.test(script)) return 'node-test';
  if (/\bbun\s+test\b/.test(script)) return 'bun';
  for (const name of ['vitest', 'jest', 'mocha'] as const) if (new RegExp(`\\b${name}\\b`).test(script)) return name;
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  for (const name of ['vitest', 'jest', 'mocha'] as const) if (name in deps) return name;
  return 'unknown';
}

async function nodeInstall(dir: string, pkg: PackageJson): Promise<string | null> {
  if ((await exists(join(dir, 'package-lock.json'))) || (await exists(join(dir, 'npm-shrinkwrap.json')))) return 'npm ci';
  const pnpmLock = await read(join(dir, 'pnpm-lock.yaml'));
  if (pnpmLock !== null) return pnpmInstall(pkg, pnpmLock);
  const yarnLock = await read(join(dir, 'yarn.lock'));
  if (yarnLock !== null) return yarnInstall(pkg, yarnLock, await read(join(dir, '.yarnrc.yml')));
  if ((await exists(join(dir, 'bun.lock'))) || (await exists(join(dir, 'bun.lockb')))) return bunInstall(pkg);
  const deps = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
  return deps.length > 0 ? 'npm install' : null;
}

/**
 * The version package.json's `packageManager` names for `name` (`pnpm@9.12.0+sha512.…` gives `9.12.0`), or null.
 * Only a plain version (or tag) is taken: the value ends up in a shell command.
 */
export function packageManagerVersion(field: unknown, name: 'pnpm' | 'yarn' | 'bun'): string | null {
  if (typeof field !== 'string') return null;
  const m = /^([\w@/.-]+)@([^+\s]+)(?:\+\S*)?$/.exec(field.trim());
  if (!m || m[1] !== name) return null;
  return /^\w[\w.-]*$/.test(m[2]!) ? m[2]! : null;
}

/** pnpm's major for a pnpm-lock.yaml `lockfileVersion` (9.0: pnpm 9, 6.0: pnpm 8, 5.x: pnpm 7), else latest. */
export function pnpmForLockfile(lockfile: string): string {
  const version = /^lockfileVersion:\s*['"]?([\d.]+)/m.exec(lockfile)?.[1];
  if (!version) return 'latest';
  const major = Number(version.split('.')[0]);
  if (major >= 9) return '9';
  if (major >= 6) return '8';
  if (major === 5) return '7';
  return 'latest';
}

/**
 * A package manager's command, run with the one on PATH when it works, else fetched from the npm registry with
 * `npm exec` (into npm's cache; the install's egress proxy allows the registry). Not corepack: its bundled
 * signing keys go stale and its downloads then fail, so a corepack shim on PATH (`corepack enable`) that cannot
 * give its version is passed over too. A fetched one is linked into the dependency cache's tool folder
 * ($SLIPWAY_TOOL_BIN, set for the install; first on every command's PATH, and read-only to all but the install),
 * so a test script that calls it finds it too.
 */
export function withPackageManager(bin: 'pnpm' | 'yarn' | 'bun', pkgSpec: string, args: string): string {
  const keep = `{ [ -z "$SLIPWAY_TOOL_BIN" ] || { mkdir -p "$SLIPWAY_TOOL_BIN" && ln -sf "$(command -v ${bin})" "$SLIPWAY_TOOL_BIN/${bin}"; }; }`;
  return `if COREPACK_ENABLE_DOWNLOAD_PROMPT=0 ${bin} --version >/dev/null 2>&1; then ${bin} ${args}; else npm exec --yes --package=${pkgSpec} -- sh -c '${bin} ${args} && ${keep}'; fi`;
}

/**
 * Bun (a `bun.lock`, or the older binary `bun.lockb`): `bun install --frozen-lockfile`, with the bun on PATH or the
 * release packageManager names, else bun 1, fetched from the npm registry (its binary comes in an npm package).
 */
export function bunInstall(pkg: Pick<PackageJson, 'packageManager'>): string {
  return withPackageManager('bun', `bun@${packageManagerVersion(pkg.packageManager, 'bun') ?? '1'}`, 'install --frozen-lockfile');
}

export function pnpmInstall(pkg: Pick<PackageJson, 'packageManager'>, lockfile: string): string {
  const version = packageManagerVersion(pkg.packageManager, 'pnpm') ?? pnpmForLockfile(lockfile);
  return withPackageManager('pnpm', `pnpm@${version}`, 'install --frozen-lockfile');
}

/**
 * Yarn classic (a `# yarn lockfile v1` lockfile) runs as yarn 1. Yarn berry runs from the release the
 * repository commits (`yarnPath` in .yarnrc.yml), else as `@yarnpkg/cli-dist` of packageManager's version.
 */
export function yarnInstall(pkg: Pick<PackageJson, 'packageManager'>, lockfile: string, yarnrc: string | null): string {
  const version = packageManagerVersion(pkg.packageManager, 'yarn');
  const classic = /^# yarn lockfile v1\s*$/m.test(lockfile.split('\n').slice(0, 5).join('\n'));
  if (classic) return withPackageManager('yarn', `yarn@${version && /^1(\.|$)/.test(version) ? version : '1'}`, 'install --frozen-lockfile');
  const yarnPath = yarnrc ? /^yarnPath:\s*["']?([^"'\s#]+)["']?\s*(?:#.*)?$/m.exec(yarnrc)?.[1] : undefined;
  if (yarnPath && /^[\w./-]+$/.test(yarnPath) && !yarnPath.startsWith('-')) return `node ${yarnPath} install --immutable`;
  return withPackageManager('yarn', `@yarnpkg/cli-dist@${version && !/^1(\.|$)/.test(version) ? version : 'latest'}`, 'install --immutable');
}

async function pythonInstall(dir: string): Promise<string | null> {
  const pyproject = await read(join(dir, 'pyproject.toml'));
  // Not TOML: no groups or extras are read (pip or uv then says what is wrong with the file).
  const doc = pyproject === null ? {} : parsePyproject(pyproject);
  if (pyproject !== null && (await exists(join(dir, 'uv.lock')))) return uvInstall(doc);
  const locked = await readPythonLock(dir);
  const parts: string[] = [];
  for (const name of ['requirements.txt', 'requirements-dev.txt', 'requirements-test.txt']) {
    if (await exists(join(dir, name))) parts.push(`-r ${name}`);
  }
  // A package (pyproject.toml with a [project] or Poetry table, or setup.py) is installed editable, with the
  // extras its tests usually need: a src/ layout cannot be imported by its tests otherwise.
  const packaged = (pyproject !== null && /^\[(project|tool\.poetry)\]/m.test(pyproject)) || (await exists(join(dir, 'setup.py')));
  if (packaged) {
    const extras = testExtras(doc);
    parts.push(`-e '.${extras.length ? `[${extras.join(',')}]` : ''}'`);
  }
  // What the tests need beyond the package: a dependency group (uv, PDM, Hatch) or Poetry's dev group.
  parts.push(...devRequirements(doc).map(shellQuote));
  // The versions of the project's lock: the requirements themselves (Pipenv's), or constraints on the above.
  const pins = locked?.pins.length ? locked : null;
  if (pins?.install) parts.unshift(`-r ${PINS_FILE}`);
  if (parts.length === 0) return null;
  if (pins && !pins.install) parts.unshift(`-c ${PINS_FILE}`);
  // --system-site-packages: pytest and friends already installed in the toolchain stay usable.
  const venv = 'python3 -m venv --system-site-packages .venv';
  const pip = `.venv/bin/python -m pip install ${parts.join(' ')}`;
  if (!pins) return `${venv} && ${pip}`;
  // The pins go into the venv's folder (never committed) from a here-document: the command holds what it installs.
  return `${venv} && cat > ${PINS_FILE} <<'${PINS_END}' && ${pip}\n${pins.pins.join('\n')}\n${PINS_END}\n`;
}

/** Where an install writes the pins of a Python lockfile (see python-lock.ts), and the end of its here-document. */
const PINS_FILE = '.venv/slipway-lock.txt';
const PINS_END = 'SLIPWAY_LOCK';

/** The pins of the first Python lockfile (Poetry's, PDM's, Pipenv's) that can be read, or null. */
async function readPythonLock(dir: string): Promise<PythonPins | null> {
  for (const file of PYTHON_LOCKFILES) {
    const text = await read(join(dir, file));
    const pins = text === null ? null : pythonPins(file, text);
    if (pins) return pins;
  }
  return null;
}

/**
 * A uv project (a uv.lock beside its pyproject.toml) is installed the way uv does it: `uv sync --frozen`, the
 * versions the lock pins, into the same .venv (which keeps the toolchain's packages visible: --inexact removes
 * nothing), with its default groups (`dev`) and the test groups and extras that exist. uv comes from the PATH
 * when it runs there, else from PyPI into the .venv; it never downloads a Python (UV_PYTHON_DOWNLOADS=never).
 */
function uvInstall(doc: Record<string, unknown>): string {
  const safe = (name: string) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name);
  const groups = Object.keys(table(doc['dependency-groups'])).filter((g) => safe(g) && TEST_GROUPS.includes(normalizeName(g)));
  const extras = testExtras(doc).filter(safe);
  const flags = [...groups.map((g) => ` --group ${g}`), ...extras.map((e) => ` --extra ${e}`)].join('');
  return (
    'python3 -m venv --system-site-packages .venv && ' +
    'if uv --version >/dev/null 2>&1; then UV=uv; else .venv/bin/python -m pip install uv && UV=.venv/bin/uv; fi && ' +
    `UV_PYTHON_DOWNLOADS=never "$UV" sync --frozen --inexact --python .venv/bin/python${flags}`
  );
}

/** The groups tests usually need, in the order they are looked for. */
const TEST_GROUPS = ['test', 'tests', 'testing', 'dev'];

/**
 * Requirements (PEP 508) of the development groups that tests usually need: PEP 735 `[dependency-groups]`
 * (with `include-group`) and Poetry's `[tool.poetry.group.<name>.dependencies]` or `dev-dependencies`, whose
 * version constraints (`^1.2`, `~1.2`) are written as pip reads them. Entries pip cannot take from a registry
 * (a git, path or url dependency) are left out.
 */
function devRequirements(doc: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const groups = table(doc['dependency-groups']);
  const byName = new Map(Object.entries(groups).map(([name, entries]) => [normalizeName(name), entries]));
  const include = (name: string, seen: Set<string>): void => {
    const key = normalizeName(name);
    if (seen.has(key)) return;
    seen.add(key);
    const entries = byName.get(key);
    if (!Array.isArray(entries)) return;
    for (const entry of entries) {
      if (typeof entry === 'string') out.add(entry.trim());
      else if (typeof table(entry)['include-group'] === 'string') include(table(entry)['include-group'] as string, seen);
    }
  };
  for (const name of TEST_GROUPS) include(name, new Set());
  // A group may name the project itself (`"mathx[test]"`): the editable install already brings it.
  const own = typeof table(doc.project).name === 'string' ? normalizeName(table(doc.project).name as string) : null;
  for (const r of out) if (own && normalizeName(/^[A-Za-z0-9][A-Za-z0-9._-]*/.exec(r)?.[0] ?? '') === own) out.delete(r);

  const poetry = table(table(doc.tool).poetry);
  const poetryGroups = table(poetry.group);
  const poetryDeps = [
    ...TEST_GROUPS.map((name) => table(table(poetryGroups[name]).dependencies)),
    table(poetry['dev-dependencies']),
  ];
  for (const deps of poetryDeps) {
    for (const [name, spec] of Object.entries(deps)) {
      const requirement = poetryRequirement(name, spec);
      if (requirement) out.add(requirement);
    }
  }
  return [...out].filter((r) => r.length > 0);
}

/** A Poetry dependency as a PEP 508 requirement, or null (python itself, or one that is not on a registry). */
function poetryRequirement(name: string, spec: unknown): string | null {
  if (name.toLowerCase() === 'python' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) return null;
  const detail = typeof spec === 'string' ? { version: spec } : table(spec);
  if (typeof spec !== 'string' && ('git' in detail || 'path' in detail || 'url' in detail)) return null;
  const extras = Array.isArray(detail.extras) ? detail.extras.filter((e): e is string => typeof e === 'string' && /^[\w.-]+$/.test(e)) : [];
  const version = typeof detail.version === 'string' ? poetryVersion(detail.version) : '';
  return `${name}${extras.length ? `[${extras.join(',')}]` : ''}${version}`;
}

/** Poetry's constraint syntax as PEP 440: `^1.2.3` is `>=1.2.3,<2.0.0`, `~1.2` is `>=1.2,<1.3`, `1.2` is `==1.2`. */
function poetryVersion(constraint: string): string {
  const c = constraint.trim();
  if (c === '' || c === '*') return '';
  if (c.includes('||')) return ''; // an alternative pip cannot say: any version, and the resolver picks
  const parts = c.split(',').map((p) => p.trim()).filter(Boolean);
  const out: string[] = [];
  for (const p of parts) {
    const m = /^([\^~])\s*(\d+(?:\.\d+)*)$/.exec(p);
    if (m) {
      const nums = m[2]!.split('.').map(Number);
      let upper: number[];
      if (m[1] === '^') {
        const first = nums.findIndex((n) => n !== 0);
        const at = first === -1 ? nums.length - 1 : first;
        upper = [...nums.slice(0, at), nums[at]! + 1];
      } else {
        upper = nums.length === 1 ? [nums[0]! + 1] : [nums[0]!, nums[1]! + 1];
      }
      out.push(`>=${m[2]}`, `<${upper.join('.')}`);
    } else if (/^\d+(?:\.\d+)*(?:\.\*)?$/.test(p)) {
      out.push(`==${p}`);
    } else if (/^(?:==|!=|>=|<=|>|<|~=)\s*[\w.*+!-]+$/.test(p)) {
      out.push(p.replace(/\s+/g, ''));
    } else {
      return ''; // not understood: any version
    }
  }
  return out.join(',');
}

/** A pyproject.toml's tables, or none when it is not TOML. */
function parsePyproject(text: string): Record<string, unknown> {
  try {
    return parseToml(text);
  } catch {
    return {};
  }
}

function table(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The extras of [project.optional-dependencies] that tests usually need, as the file spells them. */
function testExtras(doc: Record<string, unknown>): string[] {
  const names = Object.keys(table(table(doc.project)['optional-dependencies']));
  return TEST_GROUPS.flatMap((wanted) => names.filter((n) => n.toLowerCase() === wanted));
}

/** The first sign of pytest, in the order a person would look. */
async function pytestMarker(dir: string): Promise<string | null> {
  if (await exists(join(dir, 'pytest.ini'))) return 'pytest.ini';
  const pyproject = await read(join(dir, 'pyproject.toml'));
  if (pyproject && /^\[tool\.pytest(\.ini_options)?\]/m.test(pyproject)) return 'pyproject.toml [tool.pytest]';
  const setupCfg = await read(join(dir, 'setup.cfg'));
  if (setupCfg && /^\[tool:pytest\]/m.test(setupCfg)) return 'setup.cfg [tool:pytest]';
  const tox = await read(join(dir, 'tox.ini'));
  if (tox && /^\[pytest\]/m.test(tox)) return 'tox.ini [pytest]';
  if (await exists(join(dir, 'conftest.py'))) return 'conftest.py';
  const isTestFile = (n: string): boolean => PY_TEST_FILE.test(n);
  for (const sub of ['tests', 'test']) {
    const names = await readdir(join(dir, sub)).catch(() => [] as string[]);
    if (names.some((n) => isTestFile(n) || n === 'conftest.py')) return `${sub}/`;
  }
  const top = await readdir(dir).catch(() => [] as string[]);
  const file = top.find(isTestFile);
  return file ?? null;
}

async function frameworkOfCommand(dir: string, command: string): Promise<TestFramework> {
  if (/\bpytest\b/.test(command)) return 'pytest';
  if (/\bgo\s+test\b/.test(command)) return 'go';
  if (/\bcargo\s+(test|nextest)\b/.test(command)) return 'cargo';
  if (/\bmvnw?\b/.test(command)) return 'maven';
  if (/\bgradlew?\b/.test(command)) return 'gradle';
  if (/\bnode\b[^|&;]*\s--test\b/.test(command)) return 'node-test';
  if (/\bbun\s+test\b/.test(command)) return 'bun';
  for (const name of ['vitest', 'jest', 'mocha'] as const) if (new RegExp(`\\b${name}\\b`).test(command)) return name;
  const npmScript = /\b(?:npm|pnpm|yarn|bun)\s+(?:run(?:-script)?\s+)?([\w:.-]+)/.exec(command)?.[1];
  if (npmScript) {
    const pkg = await readPackageJson(dir);
    const script = pkg?.scripts?.[npmScript === 't' ? 'test' : npmScript];
    if (pkg && script) return jsFramework(script, pkg);
  }
  if (/\bmake\b/.test(command)) return 'make';
  return 'unknown';
}
