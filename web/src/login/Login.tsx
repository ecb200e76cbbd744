// The screen of a tab without a credential: how to get in. The printed link (`/?token=…`)
// always works; a server with a password also takes it here (POST /login answers a session
// value, which the tab keeps like the token: see api/credential.ts).
import { useEffect, useState, type FormEvent } from "react";
import { keepCredential, sessionWasEnded } from "../api/credential";
import { keptDraft } from "../dialogs/drafts";
import "./login.css";

interface LoginAnswer {
  session?: string;
  message?: string;
}

export function Login() {
  const [takesPassword, setTakesPassword] = useState(false);
  const [password, setPassword] = useState("");
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  const [draft] = useState(keptDraft);

  useEffect(() => {
    document.title = "nodepipe: log in";
    fetch("/login", { headers: { Accept: "application/json" } })
      .then((response) => response.json() as Promise<{ password?: boolean }>)
      .then((how) => setTakesPassword(how.password === true))
      .catch(() => setMessage("nodepipe cannot be reached: is the server running?"));
  }, []);

  async function logIn(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      const response = await fetch("/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ password }),
      });
      const answer = (await response.json().catch(() => ({}))) as LoginAnswer;
      if (response.ok && answer.session) {
        keepCredential(answer.session);
        window.location.reload();
        return;
      }
      setMessage(answer.message ?? `Login failed (HTTP ${response.status}).`);
    } catch (error) {
      setMessage(`nodepipe cannot be reached: ${String(error)}`);
    }
    setBusy(false);
  }

  return (
    <main className="login">
      <h1>This nodepipe server needs its token</h1>
      {sessionWasEnded() && (
        <p role="status" data-testid="session-ended">
          <strong>
            The server no longer takes this tab&apos;s access: it restarted (each start makes a new link), or its
            password changed.
          </strong>
        </p>
      )}
      {draft && (
        <p role="status" data-testid="draft-kept">
          What you typed in the dialog &ldquo;{draft.title}&rdquo; is kept in this tab: once you are in again, open that
          dialog again and it is there.
        </p>
      )}
      {message && (
        <p role="alert">
          <strong>{message}</strong>
        </p>
      )}
      <p>
        Open the link the server printed when it started: it ends with <code>?token=…</code>. Whoever started the
        server can show it again.
      </p>
      <p className="login-note">
        This tab keeps its access until it is closed; a new tab needs the link (or the password) again.
      </p>
      {takesPassword && (
        <form onSubmit={(event) => void logIn(event)}>
          <p>Or log in with the password of this server:</p>
          <label>
            Password{" "}
            <input
              type="password"
              autoComplete="current-password"
              required
              autoFocus
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
          </label>{" "}
          <button className="button" disabled={busy}>
            Log in
          </button>
        </form>
      )}
    </main>
  );
}
