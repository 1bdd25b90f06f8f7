// Tool descriptions live in sibling .md files and are bundled as text (vite/vitest natively, esbuild by plugin).
declare module '*.md?raw' {
  const text: string;
  export default text;
}
