// Turn zod issues into one line naming every problem by its path: "certificates[0].ports[1]: ...".

interface Issue {
  path: PropertyKey[];
  message: string;
  code?: string;
  keys?: string[];
}

export function formatIssuePath(path: PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(top level)';
}

export function formatZodIssues(issues: readonly Issue[]): string {
  return issues
    .map((i) => {
      if (i.code === 'unrecognized_keys' && i.keys) {
        return i.keys.map((k) => `${formatIssuePath([...i.path, k])}: unknown key`).join('; ');
      }
      return `${formatIssuePath(i.path)}: ${i.message}`;
    })
    .join('; ');
}
