/**
 * The globs of policy rules: `*`, `?` and `**`, nothing else (every other character is literal).
 *
 * For paths (`pathGlob: true`): `*` and `?` stop at `/`, `**` crosses folders, `**\/` is zero or more folders,
 * a pattern without `/` matches a file name at any depth (`.env` is `**\/.env`), and a leading `/` anchors a
 * pattern at the repository root. For other subjects (commands, hosts, branches) `*` matches anything.
 */

type Token =
  | { t: 'char'; c: string }
  | { t: 'one' } // ?
  | { t: 'star' } // *
  | { t: 'any' } // **
  | { t: 'dirs' }; // **/

/** A path as rules see it: `/` separators, no leading `./` or `/`. */
export function normalizeSubject(subject: string, pathGlob: boolean): string {
  if (!pathGlob) return subject;
  let s = subject.replace(/\/{2,}/g, '/');
  while (s.startsWith('./')) s = s.slice(2);
  return s.replace(/^\/+/, '');
}

function normalizePattern(pattern: string, pathGlob: boolean): string {
  if (!pathGlob) return pattern;
  let p = pattern;
  if (p.endsWith('/')) p += '**'; // a folder: everything in it
  if (p.startsWith('/')) return p.replace(/^\/+/, '');
  p = p.replace(/^(\.\/)+/, '');
  return p.includes('/') ? p : `**/${p}`;
}

function tokenize(pattern: string, pathGlob: boolean): Token[] {
  const p = normalizePattern(pattern, pathGlob);
  const tokens: Token[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '?') tokens.push({ t: 'one' });
    else if (c !== '*') tokens.push({ t: 'char', c });
    else if (p[i + 1] !== '*') tokens.push({ t: 'star' });
    else {
      while (p[i + 1] === '*') i++;
      if (pathGlob && p[i + 1] === '/') {
        i++;
        tokens.push({ t: 'dirs' });
      } else tokens.push({ t: 'any' });
    }
  }
  return tokens;
}

const regexCache = new Map<string, RegExp>();

/** Whether a glob matches the whole subject. */
export function matchGlob(pattern: string, subject: string, pathGlob: boolean): boolean {
  const key = `${pathGlob ? 'p' : 's'}:${pattern}`;
  let re = regexCache.get(key);
  if (!re) {
    const one = pathGlob ? '[^/]' : '[\\s\\S]';
    const source = tokenize(pattern, pathGlob)
      .map((tok) => {
        switch (tok.t) {
          case 'char':
            return tok.c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
          case 'one':
            return one;
          case 'star':
            return `${one}*`;
          case 'any':
            return '[\\s\\S]*';
          case 'dirs':
            return '(?:[\\s\\S]*/)?';
        }
      })
      .join('');
    re = new RegExp(`^${source}$`);
    regexCache.set(key, re);
  }
  return re.test(normalizeSubject(subject, pathGlob));
}

/** Whether a pattern matches every subject of its kind. */
export function isCatchAll(pattern: string, pathGlob: boolean): boolean {
  const p = normalizePattern(pattern, pathGlob);
  return pathGlob ? p === '**' || p === '**/*' || p === '**/**' : /^\*+$/.test(p);
}

// A small NFA per glob, to decide whether two globs can match a common subject (an empty product automaton
// means they cannot). Edge labels: one character, "anything but /", or anything.
type Label = { c: string } | 'notSlash' | 'any';
interface Nfa {
  eps: number[][];
  edges: Array<Array<{ on: Label; to: number }>>;
  accept: number;
}

function compile(pattern: string, pathGlob: boolean): Nfa {
  const nfa: Nfa = { eps: [[]], edges: [[]], accept: 0 };
  const add = (): number => {
    nfa.eps.push([]);
    nfa.edges.push([]);
    return nfa.eps.length - 1;
  };
  const oneLabel: Label = pathGlob ? 'notSlash' : 'any';
  let s = 0;
  for (const tok of tokenize(pattern, pathGlob)) {
    if (tok.t === 'dirs') {
      const inner = add();
      const next = add();
      nfa.eps[s]!.push(next, inner);
      nfa.edges[inner]!.push({ on: 'any', to: inner }, { on: { c: '/' }, to: next });
      s = next;
      continue;
    }
    const next = add();
    if (tok.t === 'char') nfa.edges[s]!.push({ on: { c: tok.c }, to: next });
    else if (tok.t === 'one') nfa.edges[s]!.push({ on: oneLabel, to: next });
    else {
      // `*` / `**`: loop on a fresh state, so nothing else can reach the loop.
      const loop = next;
      nfa.eps[s]!.push(loop);
      nfa.edges[loop]!.push({ on: tok.t === 'any' ? 'any' : oneLabel, to: loop });
      s = loop;
      continue;
    }
    s = next;
  }
  nfa.accept = s;
  return nfa;
}

function closure(nfa: Nfa, state: number): number[] {
  const seen = new Set([state]);
  const stack = [state];
  while (stack.length) {
    for (const n of nfa.eps[stack.pop()!]!) {
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(n);
    }
  }
  return [...seen];
}

function intersects(a: Label, b: Label): boolean {
  if (a === 'any' || b === 'any') return true;
  if (a === 'notSlash') return b === 'notSlash' || b.c !== '/';
  if (b === 'notSlash') return a.c !== '/';
  return a.c === b.c;
}

/** Whether some subject matches both globs (exact, by search over the pair of automata). */
export function globsOverlap(a: string, b: string, pathGlob: boolean): boolean {
  const na = compile(a, pathGlob);
  const nb = compile(b, pathGlob);
  const seen = new Set<string>();
  const queue: Array<[number, number]> = [[0, 0]];
  while (queue.length) {
    const [x, y] = queue.pop()!;
    for (const sa of closure(na, x)) {
      for (const sb of closure(nb, y)) {
        if (sa === na.accept && sb === nb.accept) return true;
        for (const ea of na.edges[sa]!) {
          for (const eb of nb.edges[sb]!) {
            const key = `${ea.to},${eb.to}`;
            if (intersects(ea.on, eb.on) && !seen.has(key)) {
              seen.add(key);
              queue.push([ea.to, eb.to]);
            }
          }
        }
      }
    }
  }
  return false;
}
