// JSON shown pretty and collapsible: objects and arrays fold with <details> (open to a depth).
const OPEN_DEPTH = 2;
const MAX_ITEMS = 500;

export function JsonTree({ value }: { value: unknown }) {
  return (
    <div className="json-tree" data-testid="output-json">
      <Value value={value} depth={0} />
    </div>
  );
}

function Value({ value, depth }: { value: unknown; depth: number }) {
  if (value === null || typeof value !== "object") {
    return <span className={`json-${value === null ? "null" : typeof value}`}>{JSON.stringify(value)}</span>;
  }
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((item, i): [string, unknown] => [String(i), item])
    : Object.entries(value as Record<string, unknown>);
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0) return <span>{open + close}</span>;
  return (
    <details open={depth < OPEN_DEPTH}>
      <summary>
        {open} <span className="muted">{entries.length} {Array.isArray(value) ? "items" : "keys"}</span>
      </summary>
      <ul>
        {entries.slice(0, MAX_ITEMS).map(([key, item]) => (
          <li key={key}>
            <span className="json-key">{Array.isArray(value) ? key : JSON.stringify(key)}</span>:{" "}
            <Value value={item} depth={depth + 1} />
          </li>
        ))}
        {entries.length > MAX_ITEMS && <li className="muted">… {entries.length - MAX_ITEMS} more</li>}
      </ul>
      {close}
    </details>
  );
}
