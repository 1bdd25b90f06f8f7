/** Path containment, shared by the sandbox layout and the workspace. */
import { sep } from 'node:path';

/** True when `inner` is `outer` or below it (both absolute and normalized). */
export function isInside(inner: string, outer: string): boolean {
  if (outer === sep) return inner.startsWith(sep);
  const o = outer.endsWith(sep) ? outer : outer + sep;
  return inner === outer || inner.startsWith(o);
}
