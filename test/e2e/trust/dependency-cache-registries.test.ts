/**
 * The detected install and test steps of Go and Maven with the shared dependency cache, in the real sandbox,
 * through the real egress proxy, against the real Go module proxy and Maven Central: the first install
 * downloads into the lockfile's cache, the tests then run offline from it (read-only), and a second install
 * of the same lockfile reaches no registry.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDependencyCache, createSandboxRunner, detectTestPlan, installEgressStarter, type DependencyCache } from '../../../src/workspace/index.js';
import { committedRepo, removeDir, tempDir } from '../../support/repos.js';

const GO_FILES = {
  'go.mod': 'module example.com/cachedemo\n\ngo 1.21\n\nrequire github.com/pkg/errors v0.9.1\n',
  'go.sum':
    'github.com/pkg/errors v0.9.1 h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=\n' +
    'github.com/pkg/errors v0.9.1/go.mod h1:bwawxfHBFNV+L2hUp1rHADufV3IMtnDRdf1r5NINEl0=\n',
  'wrap_test.go':
    'package cachedemo\n\nimport (\n\t"testing"\n\n\t"github.com/pkg/errors"\n)\n\n' +
    'func TestWrap(t *testing.T) {\n\tif errors.Wrap(errors.New("a"), "b").Error() != "b: a" {\n\t\tt.Fatal("wrap")\n\t}\n}\n',
};

const MAVEN_FILES = {
  'pom.xml': `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId>
  <artifactId>cachedemo</artifactId>
  <version>1</version>
  <properties>
    <maven.compiler.source>17</maven.compiler.source>
    <maven.compiler.target>17</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version><scope>test</scope></dependency>
  </dependencies>
</project>
`,
  '.gitignore': 'target/\n',
  'src/main/java/example/Two.java': 'package example;\n\npublic class Two {\n  public static int two() { return 2; }\n}\n',
  'src/test/java/example/TwoTest.java':
    'package example;\n\nimport static org.junit.Assert.assertEquals;\nimport org.junit.Test;\n\n' +
    'public class TwoTest {\n  @Test public void two() { assertEquals(2, Two.two()); }\n}\n',
};

/** A fresh repository of `files` committed on main. */
function repoOf(files: Record<string, string>): string {
  return committedRepo('slipway-depcache-repo-', files);
}

describe('the dependency cache with real registries', () => {
  let root = '';
  let home = '';
  let cache: DependencyCache;
  const repos: string[] = [];
  beforeAll(() => {
    root = tempDir('slipway-depcache-e2e-');
    home = path.join(root, 'home');
    cache = createDependencyCache({ root: path.join(root, 'deps') });
  });
  afterAll(() => {
    removeDir(root);
    repos.forEach(removeDir);
  });

  /** The install step as a run takes it, then the test step; returns what the proxy saw and both outputs. */
  async function installAndTest(files: Record<string, string>, extraTest = '') {
    const repo = repoOf(files);
    repos.push(repo);
    const plan = (await detectTestPlan(repo))!;
    expect(plan.install).toBeTruthy();
    const lease = await cache.lease(repo, { proxied: true, waitMs: 60_000 });
    const egress = await installEgressStarter({ home: os.homedir(), env: process.env, socketRoot: os.tmpdir() })(repo);
    // One build cache (GOCACHE) for every step here: compiling Go's standard library once is enough.
    const cacheDir = path.join(root, 'run-cache');
    mkdirSync(cacheDir, { recursive: true });
    const sandbox = { home, env: process.env, cacheDir } as const;
    let install;
    try {
      const installer = createSandboxRunner({ ...sandbox, writableDirs: [repo], egressProxySocket: egress.socketPath, dependencyCache: lease!.mounts });
      install = await installer.run(plan.install!, { cwd: repo, timeoutMs: 240_000 });
    } finally {
      await egress.close();
      await lease?.release();
    }
    const tester = createSandboxRunner({ ...sandbox, writableDirs: [repo], dependencyCache: cache.readOnly(repo) });
    const test = await tester.run(`${plan.command}; echo "exit=$?"${extraTest}`, { cwd: repo, timeoutMs: 240_000 });
    return { reused: lease!.keys.map((k) => k.reused), reached: egress.decisions(), install, test };
  }

  it('Go (network, 40-50 s): go mod download fills the go.sum cache; go test runs offline from it, read-only', async () => {
    const first = await installAndTest(GO_FILES, '; touch "$GOMODCACHE/poison" 2>&1');
    expect(first.install.exitCode, first.install.output).toBe(0);
    expect(first.reached).toContainEqual({ host: 'proxy.golang.org', port: 443, allowed: true });
    expect(first.reused).toEqual([false]);
    expect(first.test.output).toContain('--- PASS: TestWrap');
    expect(first.test.output).toContain('exit=0');
    expect(first.test.output).toContain('Read-only file system');

    const second = await installAndTest(GO_FILES);
    expect(second.install.exitCode, second.install.output).toBe(0);
    expect(second.reused).toEqual([true]);
    expect(second.reached).toEqual([]);
    expect(second.test.output).toContain('--- PASS: TestWrap');
  }, 300_000);

  // Slow: Maven downloads its own plugins from Maven Central on the first install (about 35 s alone, 80 s in the full suite, on 2 cores).
  it('Maven (network, slow): settings.xml sends the install through the proxy; mvn test runs offline from the cache', async () => {
    const first = await installAndTest(MAVEN_FILES);
    expect(first.install.exitCode, first.install.output).toBe(0);
    expect(first.reached).toContainEqual({ host: 'repo.maven.apache.org', port: 443, allowed: true });
    expect(first.reached.filter((d) => !d.allowed)).toEqual([]);
    expect(first.test.output).toMatch(/Tests run: 1, Failures: 0, Errors: 0/);
    expect(first.test.output).toContain('BUILD SUCCESS');

    const second = await installAndTest(MAVEN_FILES);
    expect(second.install.exitCode, second.install.output).toBe(0);
    expect(second.reused).toEqual([true]);
    expect(second.reached).toEqual([]);
    expect(second.test.output).toContain('BUILD SUCCESS');
  }, 300_000);
});
