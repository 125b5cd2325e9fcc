import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { useMemo, useState, type ChangeEvent } from 'react';

import { formatMicros } from '~/components/format';
import { batchSelection, describeSelection, parseChapterIdsCsv } from '~/domain/csv-ids';
import {
  batchSavingMicros,
  DEFAULT_MODEL,
  estimateMaxCostMicros,
  jobEstimateMicros,
  knownModels,
} from '~/domain/prices';
import { BatchGenerateSchema, DEFAULT_MAX_TOKENS, fieldErrors, GenerateChapterSchema } from '~/domain/submit-schemas';
import { paths } from '~/paths';
import { requirePermission } from '~/server/auth/auth.server';
import { readForm } from '~/server/http.server';
import { presentCatalog } from '~/server/presenters/catalog.server';
import { getRuntime } from '~/server/runtime.server';
import { submitGeneration } from '~/server/services/submit.server';

export const meta: MetaFunction = () => [{ title: 'Queue chapters · Switchyard' }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requirePermission(request, 'jobs.submit');
  const { db } = await getRuntime();
  return json({ courses: await presentCatalog(db), models: knownModels() });
}

type ActionResult = {
  ok: false;
  message: string;
  fields?: Record<string, string[]>;
  csvErrors?: { line: number; text: string; problem: string }[];
};

export async function action({ request }: ActionFunctionArgs) {
  const staff = await requirePermission(request, 'jobs.submit');
  const form = await readForm(request);
  const submitter = { actor: staff.email, scope: `staff:${staff.id}` };
  const options = {
    model: String(form.get('model') || DEFAULT_MODEL),
    max_tokens: Number(form.get('max_tokens') || DEFAULT_MAX_TOKENS),
    ...(form.get('priority') ? { priority: String(form.get('priority')) } : {}),
    ...(form.get('delivery') ? { delivery: String(form.get('delivery')) } : {}),
    idempotency_key: String(form.get('idempotency_key') || '') || undefined,
  };

  if (form.get('mode') === 'single') {
    const parsed = GenerateChapterSchema.safeParse({ chapter_id: String(form.get('chapter_id') ?? ''), ...options });
    if (!parsed.success) return fieldsAnswer(fieldErrors(parsed.error));
    const result = await submitGeneration(await getRuntime(), submitter, { kind: 'chapter', input: parsed.data });
    if (result.kind === 'unknown_chapters')
      return json<ActionResult>(
        { ok: false, message: 'That chapter no longer exists.', fields: result.fields },
        { status: 422 },
      );
    if (result.kind === 'idempotency_key_reused') return keyReusedAnswer(result.message);
    // Queued, or generated here at the edge (whatever its outcome): the job page shows it.
    return redirect(paths.job(result.jobId));
  }

  // Which chapters exist is the use case's check; here only the lines' form is.
  const csvText = String(form.get('csv') ?? '');
  const csv = parseChapterIdsCsv(csvText);
  if (csv.errors.length > 0) return csvAnswer(csv.errors, 400);
  const { ids } = batchSelection(form.getAll('chapter_ids').map(String), csv);
  const cap = String(form.get('max_cost_usd') ?? '').trim();
  const parsed = BatchGenerateSchema.safeParse({
    chapter_ids: ids,
    name: String(form.get('name') || '') || undefined,
    // An empty cap is no cap; anything else must be an amount ("abc" is refused, not dropped).
    ...(cap ? { max_cost_usd: Number(cap) } : {}),
    ...options,
  });
  if (!parsed.success) return fieldsAnswer(fieldErrors(parsed.error));
  const result = await submitGeneration(await getRuntime(), submitter, { kind: 'batch', input: parsed.data });
  if (result.kind === 'unknown_chapters') {
    const unknown = new Set(result.unknownIds);
    // The pasted lines that name a missing chapter, by line number, as the page's own check shows them.
    const lines = parseChapterIdsCsv(csvText, new Set(ids.filter((id) => !unknown.has(id)))).errors;
    return lines.length > 0
      ? csvAnswer(lines, 422)
      : json<ActionResult>({ ok: false, message: result.message, fields: result.fields }, { status: 422 });
  }
  if (result.kind === 'idempotency_key_reused') return keyReusedAnswer(result.message);
  return redirect(paths.batch(result.batchId));
}

const fieldsAnswer = (fields: Record<string, string[]>) =>
  json<ActionResult>({ ok: false, message: 'Check the highlighted fields.', fields }, { status: 400 });

const csvAnswer = (csvErrors: NonNullable<ActionResult['csvErrors']>, status: number) =>
  json<ActionResult>(
    { ok: false, message: `${csvErrors.length} line(s) of the pasted ids are wrong; nothing was queued.`, csvErrors },
    { status },
  );

const keyReusedAnswer = (message: string) =>
  json<ActionResult>({ ok: false, message, fields: { idempotency_key: [message] } }, { status: 422 });

export default function SubmitPage() {
  const { courses, models } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state !== 'idle';
  const [mode, setMode] = useState<'single' | 'batch'>('batch');
  const [model, setModel] = useState(DEFAULT_MODEL);
  const [maxTokens, setMaxTokens] = useState(DEFAULT_MAX_TOKENS);
  const [chapterId, setChapterId] = useState('');
  const [delivery, setDelivery] = useState<'asap' | 'economy'>('asap');
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [csv, setCsv] = useState('');
  const chapters = useMemo(
    () => new Map(courses.flatMap((course) => course.chapters.map((chapter) => [chapter.id, chapter] as const))),
    [courses],
  );
  const csvCheck = useMemo(() => parseChapterIdsCsv(csv, new Set(chapters.keys())), [csv, chapters]);
  const batch = batchSelection(picked, csvCheck);
  const selection = mode === 'single' ? (chapterId ? [chapterId] : []) : batch.ids;
  const promptTokens =
    selection.reduce((sum, id) => sum + (chapters.get(id)?.promptTokens ?? 0), 0) / Math.max(1, selection.length);
  const estimate =
    selection.length > 0 && Number.isFinite(maxTokens) && maxTokens > 0
      ? estimateMaxCostMicros(model, promptTokens, maxTokens, selection.length)
      : 0;
  // The cap defaults to what the batch reserves at most: every chapter's upper bound.
  const defaultCap =
    selection.length > 0 && Number.isFinite(maxTokens) && maxTokens > 0 && knownModels().includes(model)
      ? (Math.ceil((jobEstimateMicros(model, maxTokens) * selection.length) / 10_000) / 100).toFixed(2)
      : '';
  const [capEdited, setCapEdited] = useState<string | null>(null);
  const saving =
    delivery === 'economy' && selection.length > 0 && Number.isFinite(maxTokens) && maxTokens > 0
      ? batchSavingMicros(model, maxTokens, selection.length)
      : 0;
  const fields = result?.fields ?? {};
  const toggle = (id: string) =>
    setPicked((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const onFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file) setCsv(await file.text());
  };

  return (
    <>
      <header className="page-header">
        <h1>Queue chapters</h1>
        <p className="lede">Generate one chapter, or many at once as a batch. Each is routed by the published rules.</p>
      </header>
      {result ? (
        <div className="toast toast-error" role="alert">
          <p>{result.message}</p>
          {result.csvErrors ? (
            <ul>
              {result.csvErrors.map((error) => (
                <li key={error.line}>
                  Line {error.line}: <code>{error.text}</code> {error.problem}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      <div className="tabs" role="tablist" aria-label="What to queue">
        <button
          type="button"
          role="tab"
          aria-selected={mode === 'batch'}
          className={mode === 'batch' ? 'tab active' : 'tab'}
          onClick={() => setMode('batch')}
        >
          A batch
        </button>
        <button
          type="button"
          role="tab"
          aria-selected={mode === 'single'}
          className={mode === 'single' ? 'tab active' : 'tab'}
          onClick={() => setMode('single')}
        >
          One chapter
        </button>
      </div>
      <Form
        method="post"
        className="panel submit-form"
        aria-label={mode === 'single' ? 'Queue one chapter' : 'Queue a batch'}
      >
        <input type="hidden" name="mode" value={mode} />
        {mode === 'single' ? (
          <label>
            Chapter
            <select
              name="chapter_id"
              value={chapterId}
              onChange={(event) => setChapterId(event.target.value)}
              required
              aria-invalid={Boolean(fields.chapter_id)}
            >
              <option value="">Choose a chapter…</option>
              {courses.map((course) => (
                <optgroup key={course.id} label={course.title}>
                  {course.chapters.map((chapter) => (
                    <option key={chapter.id} value={chapter.id}>
                      {chapter.position}. {chapter.title}
                      {chapter.version > 0 ? ` (v${chapter.version})` : ''}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
            {fields.chapter_id ? <span className="field-error">{fields.chapter_id[0]}</span> : null}
          </label>
        ) : (
          <>
            <label>
              Batch name
              <input name="name" placeholder="e.g. PostgreSQL course, first draft" />
            </label>
            <fieldset className="chapter-picker">
              <legend>Chapters</legend>
              {courses.map((course) => {
                const all = course.chapters.every((chapter) => picked.has(chapter.id));
                return (
                  <div key={course.id} className="course-group">
                    <label className="inline-check course-title">
                      <input
                        type="checkbox"
                        checked={all}
                        onChange={() =>
                          setPicked((current) => {
                            const next = new Set(current);
                            for (const chapter of course.chapters) {
                              if (all) next.delete(chapter.id);
                              else next.add(chapter.id);
                            }
                            return next;
                          })
                        }
                        aria-label={`All chapters of ${course.title}`}
                      />
                      {course.title}
                    </label>
                    {course.chapters.map((chapter) => (
                      <label key={chapter.id} className="inline-check">
                        <input
                          type="checkbox"
                          name="chapter_ids"
                          value={chapter.id}
                          checked={picked.has(chapter.id)}
                          onChange={() => toggle(chapter.id)}
                        />
                        {chapter.position}. {chapter.title}
                      </label>
                    ))}
                  </div>
                );
              })}
            </fieldset>
            <label>
              Or paste chapter ids (one per line, or a CSV whose first column is the id)
              <textarea
                name="csv"
                rows={4}
                value={csv}
                onChange={(event) => setCsv(event.target.value)}
                spellCheck={false}
                aria-describedby="csv-check"
              />
            </label>
            <label>
              …or upload a CSV file
              <input type="file" accept=".csv,text/csv,text/plain" onChange={onFile} />
            </label>
            <div id="csv-check" aria-live="polite">
              {csvCheck.errors.length > 0 ? (
                <ul className="csv-errors">
                  {csvCheck.errors.map((error) => (
                    <li key={error.line} className="field-error">
                      Line {error.line}: <code>{error.text}</code> {error.problem}
                    </li>
                  ))}
                </ul>
              ) : batch.given > 0 ? (
                <p className="hint" data-testid="selection">
                  {describeSelection(batch)}
                </p>
              ) : null}
            </div>
            {fields.chapter_ids ? <span className="field-error">{fields.chapter_ids[0]}</span> : null}
          </>
        )}
        <div className="form-grid">
          <label>
            Model
            <select name="model" value={model} onChange={(event) => setModel(event.target.value)}>
              {models.map((name) => (
                <option key={name}>{name}</option>
              ))}
            </select>
          </label>
          <label>
            Max tokens per chapter
            <input
              name="max_tokens"
              type="number"
              min={1}
              max={64000}
              value={maxTokens}
              onChange={(event) => setMaxTokens(Number(event.target.value))}
              aria-invalid={Boolean(fields.max_tokens)}
            />
            {fields.max_tokens ? <span className="field-error">{fields.max_tokens[0]}</span> : null}
          </label>
          <label>
            Priority
            <select name="priority" defaultValue="">
              <option value="">as the route says</option>
              <option value="high">high</option>
              <option value="normal">normal</option>
              <option value="low">low</option>
            </select>
          </label>
          <label>
            Delivery
            <select
              name="delivery"
              value={delivery}
              onChange={(event) => setDelivery(event.target.value === 'economy' ? 'economy' : 'asap')}
              aria-describedby="delivery-hint"
            >
              <option value="asap">as soon as possible</option>
              <option value="economy">economy (batch, within 24 h)</option>
            </select>
            {fields.delivery ? <span className="field-error">{fields.delivery[0]}</span> : null}
          </label>
        </div>
        {delivery === 'economy' ? (
          <p className="hint" id="delivery-hint" aria-live="polite" data-testid="expected-saving">
            {selection.length === 0
              ? 'Economy: where a rule sends it to batch, the Message Batches API bills half price.'
              : `Economy: where a rule sends it to batch, it saves up to ${formatMicros(saving)} against streaming (half price; most batches finish within an hour, all within 24 h).`}
          </p>
        ) : null}
        {mode === 'batch' ? (
          <label className="cap-field">
            Spend cap (USD)
            <input
              name="max_cost_usd"
              type="number"
              min={0.01}
              max={1000000}
              step="0.01"
              value={capEdited ?? defaultCap}
              onChange={(event) => setCapEdited(event.target.value)}
              aria-invalid={Boolean(fields.max_cost_usd)}
              aria-describedby="cap-hint"
            />
            <span className="hint" id="cap-hint">
              Defaults to the estimate. At the cap the batch pauses (its jobs wait) until finance resumes it; empty: no
              cap.
            </span>
            {fields.max_cost_usd ? <span className="field-error">{fields.max_cost_usd[0]}</span> : null}
          </label>
        ) : null}
        <p className="estimate" aria-live="polite" data-testid="estimate">
          {selection.length === 0
            ? 'Choose chapters to see an estimate.'
            : `${selection.length} chapter(s): at most ${formatMicros(estimate)} (every chapter using all its max tokens; prompt caching makes it cheaper).`}
        </p>
        <button type="submit" className="button" disabled={busy || (mode === 'batch' && csvCheck.errors.length > 0)}>
          {busy ? 'Queuing…' : mode === 'single' ? 'Queue chapter' : `Queue ${selection.length || ''} chapter(s)`}
        </button>
      </Form>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from '~/components/route-error-boundary';
