// CodeMirror 6 on one file: syntax highlighting by the file's name (Python, YAML, TOML, JSON,
// Markdown, shell), line numbers, search, undo; Ctrl-S (Cmd-S) saves. The editor is made once
// per opened text: the parent gives it a new `key` to load another text.
import { json } from "@codemirror/lang-json";
import { markdown } from "@codemirror/lang-markdown";
import { python } from "@codemirror/lang-python";
import { yaml } from "@codemirror/lang-yaml";
import { HighlightStyle, StreamLanguage, syntaxHighlighting } from "@codemirror/language";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { toml } from "@codemirror/legacy-modes/mode/toml";
import { EditorState, type Extension } from "@codemirror/state";
import { oneDarkHighlightStyle } from "@codemirror/theme-one-dark";
import { keymap } from "@codemirror/view";
import { editorKey } from "../canvas/shortcuts";
import { tags as t } from "@lezer/highlight";
import { basicSetup, EditorView } from "codemirror";
import { useEffect, useRef } from "react";

export function languageFor(path: string): Extension {
  const name = path.toLowerCase();
  if (name.endsWith(".py") || name.endsWith(".pyi")) return python();
  if (name.endsWith(".yaml") || name.endsWith(".yml")) return yaml();
  if (name.endsWith(".toml") || name.endsWith(".lock")) return StreamLanguage.define(toml);
  if (name.endsWith(".json") || name.endsWith(".ipynb")) return json();
  if (name.endsWith(".md")) return markdown();
  if (name.endsWith(".sh")) return StreamLanguage.define(shell);
  return [];
}

const theme = EditorView.theme({
  "&": { height: "100%", fontSize: "12px", backgroundColor: "var(--bg)", color: "var(--text)" },
  ".cm-scroller": { fontFamily: '"JetBrains Mono", ui-monospace, monospace' },
  ".cm-gutters": { backgroundColor: "var(--bg-raised)", color: "var(--text-muted)", borderRight: "1px solid var(--border)" },
  ".cm-activeLine, .cm-activeLineGutter": { backgroundColor: "color-mix(in srgb, var(--text) 6%, transparent)" },
  "&.cm-focused": { outline: "2px solid var(--accent)" },
  ".cm-content": { caretColor: "var(--text)" },
});

/** The light theme's colours: each at least 4.5:1 on the editor's background (axe-core's rule;
 * CodeMirror's default style has a 3.6:1 orange). */
const lightHighlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.moduleKeyword, t.operatorKeyword], color: "#7a2bb0" },
  { tag: [t.string, t.special(t.string), t.regexp], color: "#116329" },
  { tag: [t.comment, t.meta, t.docComment], color: "#57606a", fontStyle: "italic" },
  { tag: [t.number, t.bool, t.null, t.atom], color: "#0a57a6" },
  { tag: [t.function(t.variableName), t.definition(t.variableName), t.className], color: "#8a3b00" },
  { tag: [t.propertyName, t.attributeName], color: "#0a57a6" },
  { tag: [t.typeName, t.namespace, t.labelName], color: "#8a3b00" },
  { tag: t.heading, fontWeight: "bold" },
  { tag: t.emphasis, fontStyle: "italic" },
  { tag: t.strong, fontWeight: "bold" },
  { tag: t.invalid, color: "#b00020" },
]);

interface Props {
  path: string;
  text: string;
  readOnly: boolean;
  dark: boolean;
  onChange: (text: string) => void;
  onSave: () => void;
}

export function CodeEditor({ path, text, readOnly, dark, onChange, onSave }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const handlers = useRef({ onChange, onSave });
  handlers.current = { onChange, onSave };

  useEffect(() => {
    if (!host.current) return;
    const view = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: text,
        extensions: [
          keymap.of([{ key: editorKey("save"), preventDefault: true, run: () => (handlers.current.onSave(), true) }]),
          basicSetup,
          languageFor(path),
          theme,
          syntaxHighlighting(dark ? oneDarkHighlightStyle : lightHighlight),
          EditorState.readOnly.of(readOnly),
          EditorView.editable.of(!readOnly),
          // Focusable also when read-only, so its text can be scrolled and selected by keyboard.
          EditorView.contentAttributes.of({ "aria-label": `${path} (code)`, tabindex: "0" }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) handlers.current.onChange(update.state.doc.toString());
          }),
        ],
      }),
    });
    return () => view.destroy();
    // A new text or file comes with a new key (the parent remounts this component).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [readOnly, dark]);

  return <div className="cm-host" ref={host} data-testid="code-editor" />;
}
