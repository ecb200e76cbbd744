// What every action shares: error toasts, background jobs, the current pipeline.
import { useQuery, type QueryKey, type UseQueryOptions } from "@tanstack/react-query";
import { useEffect } from "react";
import { toast } from "sonner";
import { api, ApiError, call, type FetchResult } from "../api/client";
import { invalidateAll } from "../api/queries";
import type { Job } from "../api/types";
import { ask, type DialogSpec, type Field, type Refusal, type Values } from "../dialogs/dialogs";
import { getApp, flash } from "../store/app";
import { errorToast, summary } from "./errorToast";
import { withHint } from "../api/hints";

/** Run an action; a refusal becomes a toast (never an alert), and a cycle is outlined. */
export async function attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
  try {
    return await action();
  } catch (error) {
    report(error);
    return undefined;
  }
}

export function report(error: unknown): void {
  if (error instanceof ApiError) {
    if (error.cycle) flash(error.cycle);
    const shown = { message: error.reason, hint: error.hint, uv_output: error.uvOutput };
    errorToast(shown, { id: error.kind === "cycle" ? "cycle" : undefined, duration: error.uvOutput ? 20000 : 8000 });
  } else {
    toast.error(String(error));
  }
}

/** What an action refuses in its own words, about one field of its dialog (the server's refusal
 * it stands for said beside another field than the server's words would put it). */
export class Refused extends Error {
  constructor(
    readonly field: string,
    message: string,
    /** What uv said in full, when it refused (shown behind "Details"). */
    readonly details?: string,
  ) {
    super(message);
  }
}

/** An error's words for a dialog: what is wrong and the menu item that fixes it; when uv
 * failed, only nodepipe's first line, uv's full output being the `details`. */
function saying(error: ApiError): { said: string; details?: string } {
  if (!error.uvOutput) return { said: error.message };
  return { said: withHint(summary(error.reason), error.hint), details: error.uvOutput };
}

/** Do ``action``; what the server refuses is returned to be said in the form the user typed in
 * (each field's problem beside it, the rest with the form), never a toast; null once done.
 * ``about``: the field the whole request is about (a dialog asking for one value: a path, a
 * version), where a refusal naming no field is said. */
export async function refusalOf(action: () => Promise<unknown>, about?: string): Promise<Refusal | null> {
  try {
    await action();
    return null;
  } catch (error) {
    if (error instanceof Refused) return { fields: { [error.field]: error.message }, message: "", details: error.details };
    if (!(error instanceof ApiError)) return { fields: {}, message: String(error) };
    if (error.cycle) flash(error.cycle);
    const fields = error.fields;
    if (Object.keys(fields).length) return { fields, message: "" };
    const { said, details } = saying(error);
    return about ? { fields: { [about]: said }, message: "", details } : { fields, message: said, details };
  }
}

/** ``action``'s refusal by the server said beside ``field`` of its dialog (a removal's
 * refusal beside what was chosen to remove), whatever the server names. A refusal of the whole
 * form (a locked pipeline: kind read_only) stays the form's. */
export async function refusedAs<T>(field: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof ApiError) || error.kind === "read_only") throw error;
    const { said, details } = saying(error);
    throw new Refused(field, said, details);
  }
}

/** A dialog's `submit` doing ``action``: what the server refuses stays in the dialog, with what
 * the user typed (each field's problem beside it, the rest above its buttons or, with
 * ``about``, beside that field), never a toast. */
export function submitting(action: (values: Values) => Promise<void>, about?: string): (values: Values) => Promise<Refusal | null> {
  return (values) => refusalOf(() => action(values), about);
}

/** Ask with ``spec`` and do ``action`` with what was typed, the dialog open until the server
 * accepts (see `submitting`; ``about`` too): its result, or null when cancelled. An action
 * still answering when the dialog is cancelled is waited for: what it made is returned all the
 * same. An action that starts a background job answers with the job once the server has
 * checked what was typed; the caller follows it (`followJob`) after the dialog closed; or the
 * action waits for the job's end in the dialog (`endInDialog`, given ``signal``: aborted when
 * the dialog is cancelled meanwhile). */
export async function askAndDo<T>(
  spec: Omit<DialogSpec, "submit">,
  action: (values: Values, signal: AbortSignal) => Promise<T>,
  about?: string,
): Promise<{ result: T } | null> {
  const state: { running?: Promise<T>; done?: { result: T }; cancel?: AbortController } = {};
  const values = await ask({
    ...spec,
    submit: submitting(async (typed) => {
      state.cancel = new AbortController();
      state.running = action(typed, state.cancel.signal);
      state.done = { result: await state.running };
    }, about),
  });
  if (values === null) state.cancel?.abort();
  await state.running?.catch(() => undefined);
  return state.done ?? null;
}

/** Ask for one ``field`` (a name, notes; prefilled with what it is) and ``send`` it as the body
 * of its change, unless it is unchanged, the dialog open until the server accepts (askAndDo);
 * then ``refetch`` what shows it. */
export async function editField(
  spec: Omit<DialogSpec, "submit" | "fields">,
  field: Field,
  send: (body: Record<string, string>) => Promise<unknown>,
  refetch: () => Promise<void>,
): Promise<void> {
  const done = await askAndDo({ ...spec, fields: [field] }, async (typed) => {
    const value = field.kind === "textarea" ? String(typed[field.name] ?? "") : typedText(typed, field.name);
    if (value === field.value) return false;
    await send({ [field.name]: value });
    return true;
  });
  if (done?.result) await attempt(refetch);
}

/** What a dialog's text field holds, trimmed (a tag, a name). */
export function typedText(values: Values, field: string): string {
  return String(values[field] ?? "").trim();
}

export function currentPipeline(): string {
  const { pipelineId } = getApp();
  if (!pipelineId) throw new Error("open a pipeline first");
  return pipelineId;
}

/** A node of the open pipeline, as the path of the API's node routes names it. */
export function nodePath(node: string) {
  return { pipeline: currentPipeline(), node };
}

/** Refetch what is on screen after a change this page made (other pages refetch on the
 * change event). */
export async function refresh(): Promise<void> {
  await invalidateAll();
}

/** A query whose failure is said in a toast, like a failed action. */
export function useReportedQuery<T, K extends QueryKey>(options: UseQueryOptions<T, Error, T, K>) {
  const result = useQuery(options);
  useEffect(() => {
    if (result.error) report(result.error);
  }, [result.error]);
  return result;
}

export type JobDone = (job: Job) => void | Promise<void>;
const pending = new Map<string, JobDone>();

/** Start a background job on the server (``request`` sends it) and follow it: a toast, and
 * ``done`` once it succeeded; a refusal becomes a toast, like any action's. */
export async function startJob(request: () => Promise<FetchResult<Job>>, done?: JobDone): Promise<void> {
  await attempt(async () => followJob(await call(request()), done));
}

/** Call ``done`` once ``job`` has ended: its end arrives as `job_finished` on the event stream
 * (or had come before this page listened). */
async function whenEnded(job: Job, done: JobDone): Promise<void> {
  pending.set(job.id, done);
  // The job may have ended before this page started listening for it.
  const now = await call(api.GET("/api/jobs/{job}", { params: { path: { job: job.id } } }));
  if (now.status !== "running") await jobFinished(job.id, now);
}

/** Wait for ``job`` to end in the dialog that started it (the dialog says it works meanwhile,
 * `DialogSpec.working`): its success is a toast (and what is on screen is refetched); its
 * failure is thrown as a refusal said beside ``field`` (uv's output behind "Details"), so the
 * dialog keeps what was typed. The dialog cancelled (``signal`` aborted) before the end: the
 * job goes on, followed in a toast (`followJob`), and this rejects. */
export function endInDialog(job: Job, signal: AbortSignal, field: string): Promise<Job> {
  const handOver = () => void attempt(() => followJob(job));
  return new Promise<Job>((resolve, reject) => {
    if (signal.aborted) {
      handOver();
      reject(signal.reason);
      return;
    }
    const ended: JobDone = (done) => {
      signal.removeEventListener("abort", cancelled);
      resolve(done);
    };
    const cancelled = () => {
      if (pending.get(job.id) === ended) handOver();
      reject(signal.reason);
    };
    signal.addEventListener("abort", cancelled, { once: true });
    whenEnded(job, ended).catch(reject);
  }).then(async (done) => {
    if (done.status !== "succeeded") {
      const error = new ApiError(0, done.error ?? { message: `${job.description} failed` });
      const { said, details } = saying(error);
      throw error.kind === "read_only" ? error : new Refused(field, said, details);
    }
    toast.success(done.message || job.description, { id: `job-${job.id}` });
    await invalidateAll();
    return done;
  });
}

/** Follow a background job: its end arrives as `job_finished` on the event stream. */
export async function followJob(job: Job, onSuccess?: JobDone): Promise<void> {
  const id = toast.loading(job.description + "…", { id: `job-${job.id}` });
  await whenEnded(job, async (done) => {
    if (done.status === "succeeded") {
      toast.success(done.message || job.description, { id });
      await invalidateAll();
      await onSuccess?.(done);
    } else {
      const error = done.error ?? { message: `${job.description} failed`, uv_output: null };
      errorToast(error, { id, duration: error.uv_output ? 20000 : 10000 });
    }
  });
}

export async function jobFinished(jobId: string, known?: Job): Promise<void> {
  const done = pending.get(jobId);
  if (!done) return;
  pending.delete(jobId);
  const job = known ?? (await call(api.GET("/api/jobs/{job}", { params: { path: { job: jobId } } })));
  await done(job);
}
