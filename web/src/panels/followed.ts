// A field editing a value that may change elsewhere (another tab, another user, the CLI): it
// follows each change while nothing is typed in it; while something is, the typing is kept and
// the change is said (`changedElsewhere`), never overwritten unseen. With `draft`, unsaved
// typing is kept as a draft of that node's field (dialogs/drafts.ts): a reload or a new login
// finds it there again.
import { useEffect, useRef, useState } from "react";
import { dropPanelDraft, keepPanelDraft, panelDraft } from "../dialogs/drafts";

export interface Followed {
  text: string;
  /** The user typed (`typed`), or a save or revert set the field (`reset`). */
  typed: (text: string) => void;
  reset: (text?: string) => void;
  /** The value changed elsewhere since the typing began, and the typing differs from it. */
  changedElsewhere: boolean;
}

export function useFollowed(value: string, draft?: { node: string; field: string }): Followed {
  const [kept] = useState(() => (draft ? panelDraft(draft.node, draft.field) : null));
  const [text, setText] = useState(kept?.text ?? value);
  // the value the unsaved typing began from (null: nothing typed since the last save or revert)
  const [base, setBase] = useState<string | null>(kept?.began ?? null);
  const baseRef = useRef(base);
  baseRef.current = base;
  useEffect(() => {
    if (baseRef.current === null) setText(value);
  }, [value]);
  const node = draft?.node;
  const field = draft?.field;
  useEffect(() => {
    if (node === undefined || field === undefined) return;
    if (base !== null && text !== value) keepPanelDraft({ node, field, text, began: base, version: "" });
    else dropPanelDraft(node, field);
  }, [node, field, base, text, value]);
  return {
    text,
    typed: (typedText) => {
      setBase((began) => began ?? value);
      setText(typedText);
    },
    reset: (to = value) => {
      setBase(null);
      setText(to);
    },
    changedElsewhere: base !== null && value !== base && text !== value,
  };
}
