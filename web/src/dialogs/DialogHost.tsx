// The one modal dialog of the app, rendering whatever `ask` asked for.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { trapTab, useReturnFocus } from "../a11y/focus";
import { useDialog, type Field, type OpenDialog, type Values } from "./dialogs";
import { isShortcut } from "../canvas/shortcuts";

function initialValues(fields: Field[]): Values {
  const values: Values = {};
  for (const field of fields) {
    values[field.name] =
      field.value ?? (field.kind === "checkbox" ? false : (field.options?.[0]?.value ?? ""));
  }
  return values;
}

export function DialogHost() {
  const open = useDialog((s) => s.open);
  if (!open) return null;
  return <Dialog key={open.id} open={open} />;
}

function Dialog({ open }: { open: OpenDialog }) {
  const { spec, resolve } = open;
  const fields = spec.fields ?? [];
  const [values, setValues] = useState<Values>(() => initialValues(fields));
  const first = useRef<HTMLInputElement & HTMLTextAreaElement & HTMLSelectElement>(null);
  const form = useRef<HTMLFormElement>(null);
  useReturnFocus();

  useEffect(() => {
    // The first field, else the dialog itself (Enter then confirms nothing by accident).
    if (first.current) {
      first.current.focus();
      first.current.select?.();
    } else form.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (isShortcut(event, "cancel")) resolve(null);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [resolve]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    resolve(values);
  };
  const change = (name: string, value: string | boolean | File) =>
    setValues((current) => ({ ...current, [name]: value }));

  return (
    <div className="modal-backdrop" onMouseDown={() => resolve(null)}>
      <form
        ref={form}
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-label={spec.title}
        tabIndex={-1}
        data-testid="dialog"
        onKeyDown={trapTab}
        onMouseDown={(event) => event.stopPropagation()}
        onSubmit={submit}
      >
        <h2>{spec.title}</h2>
        {spec.body && <div className="modal-body">{spec.body}</div>}
        {fields.map((field, index) => (
          <label key={field.name} className={`field field-${field.kind}`}>
            {field.kind !== "checkbox" && <span>{field.label}</span>}
            <FieldInput
              field={field}
              value={values[field.name]}
              onChange={(value) => change(field.name, value)}
              inputRef={index === 0 ? first : undefined}
            />
            {field.kind === "checkbox" && <span>{field.label}</span>}
          </label>
        ))}
        <div className="modal-actions">
          <button type="button" className="button" onClick={() => resolve(null)}>
            Cancel
          </button>
          <button
            type="submit"
            className={spec.danger ? "button danger" : "button primary"}
            data-testid="dialog-confirm"
          >
            {spec.confirm}
          </button>
        </div>
      </form>
    </div>
  );
}

interface FieldInputProps {
  field: Field;
  value: string | boolean | File | undefined;
  onChange: (value: string | boolean | File) => void;
  inputRef: React.Ref<HTMLInputElement & HTMLTextAreaElement & HTMLSelectElement> | undefined;
}

function FieldInput({ field, value, onChange, inputRef }: FieldInputProps) {
  const name = `dialog-${field.name}`;
  if (field.kind === "checkbox") {
    return (
      <input
        ref={inputRef}
        name={name}
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
        rows={5}
        value={String(value ?? "")}
        placeholder={field.placeholder}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  }
  if (field.kind === "select") {
    return (
      <select ref={inputRef} name={name} value={String(value ?? "")} onChange={(e) => onChange(e.target.value)}>
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
      type={field.kind === "password" ? "password" : "text"}
      autoComplete="off"
      value={String(value ?? "")}
      placeholder={field.placeholder}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}
