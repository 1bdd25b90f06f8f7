/**
 * The versions a Python lockfile other than uv's pins (Poetry's, PDM's, Pipenv's), as lines pip reads: so that a
 * plain `pip install` of the project installs what the lock says instead of resolving afresh. uv.lock is synced by
 * uv itself (test-detect.ts).
 */
import { parse as parseToml } from 'smol-toml';

/** Lockfiles read here, in the order they are looked for. */
export const PYTHON_LOCKFILES = ['poetry.lock', 'pdm.lock', 'Pipfile.lock'] as const;
export type PythonLockfile = (typeof PYTHON_LOCKFILES)[number];

export interface PythonPins {
  /** `name==version` lines, with an environment marker where the lock gives one. */
  pins: string[];
  /**
   * Whether the lines are the requirements themselves (Pipenv: the lock lists everything the project installs,
   * and a Pipfile project is rarely a package) or only constraints on what the project's own files ask for.
   */
  install: boolean;
  /** Locked packages left unpinned: from git, a path or a URL, or locked at more than one version. */
  skipped: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+!_-]*$/;

/** The pins of a lockfile's text; null when it cannot be read (not TOML or JSON, or not the expected shape). */
export function pythonPins(file: PythonLockfile, text: string): PythonPins | null {
  return file === 'Pipfile.lock' ? pipenvPins(text) : tomlPins(text);
}

/** Poetry and PDM: `[[package]]` tables with `name` and `version`; git, path and URL packages carry their source. */
function tomlPins(text: string): PythonPins | null {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text);
  } catch {
    return null;
  }
  if (!Array.isArray(doc.package)) return null;
  const versions = new Map<string, { name: string; versions: Set<string>; fromElsewhere: boolean }>();
  for (const entry of doc.package as unknown[]) {
    if (!entry || typeof entry !== 'object') continue;
    const p = entry as Record<string, unknown>;
    if (typeof p.name !== 'string' || typeof p.version !== 'string') continue;
    const key = normalizeName(p.name);
    const seen = versions.get(key) ?? { name: p.name, versions: new Set<string>(), fromElsewhere: false };
    seen.versions.add(p.version);
    // Poetry: [package.source] of type git, directory, file or url (a legacy index is still a registry).
    const source = p.source && typeof p.source === 'object' ? (p.source as Record<string, unknown>) : null;
    const sourceType = typeof source?.type === 'string' ? source.type : null;
    // PDM: git, path or url keys, or an editable package.
    if ((sourceType !== null && sourceType !== 'legacy') || 'git' in p || 'path' in p || 'url' in p || p.editable === true) seen.fromElsewhere = true;
    versions.set(key, seen);
  }
  const pins: string[] = [];
  const skipped: string[] = [];
  for (const { name, versions: vs, fromElsewhere } of versions.values()) {
    const [version] = [...vs];
    if (fromElsewhere || vs.size !== 1 || !NAME.test(name) || !version || !VERSION.test(version)) skipped.push(name);
    else pins.push(`${name}==${version}`);
  }
  return { pins: pins.sort(), install: false, skipped: skipped.sort() };
}

/** Pipenv: JSON, `default` and `develop` maps of name to `{"version": "==1.2.3", "markers": ...}`. */
function pipenvPins(text: string): PythonPins | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (!doc || typeof doc !== 'object') return null;
  const sections = ['default', 'develop'].map((s) => (doc as Record<string, unknown>)[s]).filter((s) => s && typeof s === 'object') as Record<string, unknown>[];
  if (sections.length === 0) return null;
  const byName = new Map<string, string | null>();
  const names = new Map<string, string>();
  for (const section of sections) {
    for (const [name, value] of Object.entries(section)) {
      const entry = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
      const version = typeof entry.version === 'string' ? /^==\s*(\S+)$/.exec(entry.version)?.[1] : undefined;
      const markers = typeof entry.markers === 'string' ? entry.markers : null;
      const key = normalizeName(name);
      names.set(key, name);
      // The same package in both sections at two versions cannot be pinned to one.
      const line = version && NAME.test(name) && VERSION.test(version) && !/[\r\n]/.test(markers ?? '') ? `${name}==${version}${markers ? ` ; ${markers}` : ''}` : null;
      byName.set(key, byName.has(key) && byName.get(key) !== line ? null : line);
    }
  }
  const pins: string[] = [];
  const skipped: string[] = [];
  for (const [key, line] of byName) {
    if (line) pins.push(line);
    else skipped.push(names.get(key)!);
  }
  return { pins: pins.sort(), install: true, skipped: skipped.sort() };
}

/** PEP 503: names that differ only in case, `-`, `_` and `.` are one package (PEP 735 compares group names so too). */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}
