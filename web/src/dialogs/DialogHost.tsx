// The one modal dialog of the app, rendering whatever `ask` asked for.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { flushSync } from "react-dom";
import { trapTab, useReturnFocus } from "../a11y/focus";
import { initialValue, useDialog, type Field, type OpenDialog, type Refusal, type Values } from "./dialogs";
import { draftOf, dropDraft, followDialog, keepDraft } from "./drafts";
import { beforeSessionEnds } from "../api/credential";
import { FieldProblem, focusRefused, refusedField } from "./FieldProblem";
import { isShortcut } from "../canvas/shortcuts";

function initialValues(fields: Field[]): Values {
  return Object.fromEntries(fields.map((field) => [field.name, initialValue(field)]));
}

// a tab that loses its access keeps what the open dialog holds (drafts.ts)
beforeSessionEnds(keepDraft);

export function DialogHost() {
  const open = useDialog((s) => s.open);
  if (!open) return null;
  return <Dialog key={open.id} open={open} />;
}

function Dialog({ open }: { open: OpenDialog }) {
  const { spec, resolve } = open;
  // the fields a refusal added (Refusal.more) follow the dialog's own
  const [added, setAdded] = useState<Field[]>([]);
  const fields = [...(spec.fields ?? []), ...added];
  // what was typed in this dialog before the tab lost its access comes back (drafts.ts)
  const [restored] = useState(() => draftOf(spec));
  const [values, setValues] = useState<Values>(() => ({ ...initialValues(fields), ...restored }));
  const now = useRef(values);
  useEffect(() => {
    now.current = values;
  }, [values]);
  useEffect(() => {
    if (restored) dropDraft();
    followDialog({ spec, values: () => now.current });
    return () => followDialog(null);
  }, [spec, restored]);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement & HTMLTextAreaElement & HTMLSelectElement>(null);
  const box = useRef<HTMLDivElement>(null);
  useReturnFocus();

  useEffect(() => {
    // The first field, else the dialog itself (Enter then confirms nothing by accident).
    if (first.current) {
      first.current.focus();
      first.current.select?.();
    } else box.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (isShortcut(event, "cancel")) resolve(null);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [resolve]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!spec.submit) {
      resolve(values);
      return;
    }
    if (busy) return;
    setBusy(true);
    const refused = await spec.submit(values);
    setBusy(false);
    if (!refused) {
      resolve(values);
      return;
    }
    const known = new Set(fields.map((field) => field.name));
    const more = (refused.more ?? []).filter((field) => !known.has(field.name));
    // rendered at once, so that a field the refusal added can take the focus
    flushSync(() => {
      if (more.length) {
        setAdded((current) => [...current, ...more]);
        setValues((current) => ({ ...initialValues(more), ...current }));
      }
      setRefusal(refused);
    });
    // the first field refused takes the focus, its text selected to be typed over
    const name = [...fields, ...more].find((field) => refused.fields[field.name])?.name;
    focusRefused(name ? box.current?.querySelector<HTMLInputElement>(`[name="dialog-${name}"]`) : null);
  };
  const change = (name: string, value: string | boolean | File) => {
    setValues((current) => ({ ...current, [name]: value }));
    // what was said of a field (and uv's details of it) is about what it held then
    setRefusal((current) =>
      current?.fields[name] ? { ...current, fields: { ...current.fields, [name]: "" }, details: undefined } : current,
    );
  };
  const known = new Set(fields.map((field) => field.name));
  const formProblems = refusal
    ? [refusal.message, ...Object.entries(refusal.fields).filter(([name]) => !known.has(name)).map(([, said]) => said)].filter(Boolean)
    : [];

  return (
    <div className="modal-backdrop" onMouseDown={() => resolve(null)}>
      {/* the dialog holds the form (a form may not take the dialog role) */}
      <div
        ref={box}
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-label={spec.title}
        tabIndex={-1}
        data-testid="dialog"
        onKeyDown={trapTab}
        onMouseDown={(event) => event.stopPropagation()}
        aria-busy={busy}
      >
        <form className="modal-form" onSubmit={(event) => void submit(event)}>
          <h2>{spec.title}</h2>
          {spec.body && <div className="modal-body">{spec.body}</div>}
          {restored && (
            <p className="muted" role="status" data-testid="dialog-restored">
              What you typed here before the server ended this tab&apos;s access is back.
            </p>
          )}
          {fields.map((field, index) => {
            const problem = refusal?.fields[field.name] ?? "";
            return (
              <label key={field.name} className={`field field-${field.kind}${problem ? " field-refused" : ""}`}>
                {field.kind !== "checkbox" && <span>{field.label}</span>}
                <FieldInput
                  field={field}
                  value={values[field.name]}
                  onChange={(value) => change(field.name, value)}
                  inputRef={index === 0 ? first : undefined}
                  problem={problem ? `dialog-${field.name}-problem` : undefined}
                />
                {field.kind === "checkbox" && <span>{field.label}</span>}
                <FieldProblem id={`dialog-${field.name}-problem`} problem={problem} />
              </label>
            );
          })}
          {formProblems.length > 0 && (
            <p className="form-error form-problem" role="alert" data-testid="dialog-problem">
              {formProblems.join("; ")}
            </p>
          )}
          {refusal?.details && (
            <details className="error-details" data-testid="dialog-details">
              <summary>Details</summary>
              <pre tabIndex={0}>{refusal.details}</pre>
            </details>
          )}
          {busy && spec.working && (
            <p className="muted" role="status" data-testid="dialog-working">
              {spec.working}
            </p>
          )}
          <div className="modal-actions">
            <button type="button" className="button" onClick={() => resolve(null)}>
              Cancel
            </button>
            <button
              type="submit"
              className={spec.danger ? "button danger" : "button primary"}
              data-testid="dialog-confirm"
              disabled={busy}
            >
              {spec.confirm}
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}

interface FieldInputProps {
  field: Field;
  value: string | boolean | File | undefined;
  onChange: (value: string | boolean | File) => void;
  inputRef: React.Ref<HTMLInputElement & HTMLTextAreaElement & HTMLSelectElement> | undefined;
  /** The id of what was said against the value (it describes the field), if anything. */
  problem: string | undefined;
}

function FieldInput({ field, value, onChange, inputRef, problem }: FieldInputProps) {
  const name = `dialog-${field.name}`;
  const refused = refusedField(problem);
  if (field.kind === "checkbox") {
    return (
      <input
        ref={inputRef}
        name={name}
        {...refused}
        type="checkbox"
        checked={value === true}
        onChange={(e) => onChange(e.target.checked)}
      />
    );
  }
  if (field.kind === "file") {
    return (
      <input
        ref={inputRef}
        name={name}
        {...refused}
        type="file"
        accept={field.accept}
        data-testid={name}
        onChange={(e) => onChange(e.target.files?.[0] ?? "")}
      />
    );
  }
  if (field.kind === "textarea") {
    return (
      <textarea
        ref={inputRef}
        name={name}
        {...refused}
        rows={5}
        value={String(value ?? "")}
        placeholder={field.placeholder}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  }
  if (field.kind === "select") {
    return (
      <select ref={inputRef} name={name} {...refused} value={String(value ?? "")} onChange={(e) => onChange(e.target.value)}>
        {(field.options ?? []).map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    );
  }
  return (
    <input
      ref={inputRef}
      name={name}
      {...refused}
      type={field.kind === "password" ? "password" : "text"}
      autoComplete="off"
      value={String(value ?? "")}
      placeholder={field.placeholder}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}
