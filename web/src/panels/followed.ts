// A field editing a value that may change elsewhere (another tab, another user, the CLI): it
// follows each change while nothing is typed in it; while something is, the typing is kept and
// the change is said (`changedElsewhere`), never overwritten unseen.
import { useEffect, useRef, useState } from "react";

export interface Followed {
  text: string;
  /** The user typed (`typed`), or a save or revert set the field (`reset`). */
  typed: (text: string) => void;
  reset: (text?: string) => void;
  /** The value changed elsewhere since the typing began, and the typing differs from it. */
  changedElsewhere: boolean;
}

export function useFollowed(value: string): Followed {
  const [text, setText] = useState(value);
  // the value the unsaved typing began from (null: nothing typed since the last save or revert)
  const [base, setBase] = useState<string | null>(null);
  const baseRef = useRef(base);
  baseRef.current = base;
  useEffect(() => {
    if (baseRef.current === null) setText(value);
  }, [value]);
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
