/** How deep a request body may nest. The invoke request needs 5 levels; 32 leaves room. */
export const MAX_JSON_DEPTH = 32;

/**
 * Scan JSON text for what JSON.parse lets through silently: a key given twice in one object
 * (JSON.parse keeps the last, so two readers could see two different tags) and nesting deep
 * enough to be an attack. Returns a problem, or undefined when the text is fine or is not JSON
 * at all (JSON.parse reports that).
 */
export function jsonShapeProblem(text: string, maxDepth = MAX_JSON_DEPTH): string | undefined {
  // Each open container: the keys seen so far (objects) or undefined (arrays).
  const stack: Array<Set<string> | undefined> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      const end = stringEnd(text, i);
      if (end < 0) return undefined;
      const top = stack.at(-1);
      if (top && expectKey) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, end + 1)) as string;
        } catch {
          return undefined;
        }
        // Never quote the key: it may be anything a client sent.
        if (top.has(key)) return `a key appears twice in one object (at character ${i})`;
        top.add(key);
        expectKey = false;
      }
      i = end;
    } else if (ch === '{' || ch === '[') {
      stack.push(ch === '{' ? new Set() : undefined);
      if (stack.length > maxDepth) return `the body nests deeper than ${maxDepth} levels`;
      expectKey = ch === '{';
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      expectKey = false;
    } else if (ch === ',') {
      expectKey = stack.at(-1) !== undefined;
    }
  }
  return undefined;
}

/** The index of the quote that closes the string opening at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}
