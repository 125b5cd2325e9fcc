/**
 * The Routing page's form ↔ routing config. Field names are the config's paths as validation
 * reports them (`rules[2].timeoutMs`), so an error lands next to its input.
 */
import { z } from 'zod';

import type { ConfigChange } from './config-diff';
import type { RouteRule, RoutingConfig } from './routing';

type RuleField =
  | 'id'
  | 'path'
  | 'methods'
  | 'destination'
  | 'priority'
  | 'timeoutMs'
  | 'maxRetries'
  | 'backoff'
  | 'baseDelayMs'
  | 'maxDelayMs'
  | 'batchRetriesTo';

function numberOrNaN(value: FormDataEntryValue | undefined): number {
  return typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
}

function target(get: (name: string) => FormDataEntryValue | undefined, prefix: string) {
  // Set by a promoted rollout and carried through the editor unchanged (hidden inputs).
  const model = String(get(`${prefix}.model`) ?? '').trim();
  const maxTokens = String(get(`${prefix}.maxTokens`) ?? '').trim();
  // `batch` is the default: left out, so saving the editor unchanged changes no config.
  const batchRetriesTo = String(get(`${prefix}.retry.batchRetriesTo`) ?? '');
  return {
    ...(model ? { model } : {}),
    ...(maxTokens ? { maxTokens: Number(maxTokens) } : {}),
    destination: String(get(`${prefix}.destination`) ?? ''),
    priority: String(get(`${prefix}.priority`) ?? ''),
    timeoutMs: numberOrNaN(get(`${prefix}.timeoutMs`)),
    retry: {
      maxRetries: numberOrNaN(get(`${prefix}.retry.maxRetries`)),
      backoff: String(get(`${prefix}.retry.backoff`) ?? ''),
      baseDelayMs: numberOrNaN(get(`${prefix}.retry.baseDelayMs`)),
      maxDelayMs: numberOrNaN(get(`${prefix}.retry.maxDelayMs`)),
      ...(batchRetriesTo && batchRetriesTo !== 'batch' ? { batchRetriesTo } : {}),
    },
  };
}

/** Builds the (unvalidated) config a submitted form describes; the schema then validates it. */
export function configFromForm(form: FormData): unknown {
  const get = (name: string) => form.get(name) ?? undefined;
  const indexes = [
    ...new Set(
      [...form.keys()].map((key) => /^rules\[(\d+)\]\./.exec(key)?.[1]).filter((i): i is string => i !== undefined),
    ),
  ]
    .map(Number)
    .sort((a, b) => a - b);
  return {
    hybridEnabled: form.get('hybridEnabled') === 'on' || form.get('hybridEnabled') === 'true',
    canaryPercent: numberOrNaN(get('canaryPercent')),
    stickyKey: String(get('stickyKey') ?? ''),
    rules: indexes.map((i) => {
      const methods = String(get(`rules[${i}].match.methods`) ?? '')
        .split(/[\s,]+/)
        .map((method) => method.trim().toUpperCase())
        .filter(Boolean);
      return {
        id: String(get(`rules[${i}].id`) ?? '').trim(),
        match: { path: String(get(`rules[${i}].match.path`) ?? '').trim(), ...(methods.length ? { methods } : {}) },
        ...target(get, `rules[${i}]`),
      };
    }),
    defaultRule: target(get, 'defaultRule'),
  };
}

/** Renumbers the form's rule rows after the validator's paths (rules[0] is the first row shown). */
export function ruleFieldName(index: number, field: RuleField): string {
  switch (field) {
    case 'path':
      return `rules[${index}].match.path`;
    case 'methods':
      return `rules[${index}].match.methods`;
    case 'maxRetries':
    case 'backoff':
    case 'baseDelayMs':
    case 'maxDelayMs':
    case 'batchRetriesTo':
      return `rules[${index}].retry.${field}`;
    default:
      return `rules[${index}].${field}`;
  }
}

export function emptyRule(existing: RouteRule[]): RouteRule {
  let n = existing.length + 1;
  while (existing.some((rule) => rule.id === `rule-${n}`)) n += 1;
  return {
    id: `rule-${n}`,
    match: { path: '/api/' },
    destination: 'edge',
    priority: 'normal',
    timeoutMs: 10_000,
    retry: { maxRetries: 1, backoff: 'none', baseDelayMs: 0, maxDelayMs: 0 },
  };
}

const ChangesSchema = z
  .array(
    z.object({
      path: z.string().max(200),
      kind: z.enum(['added', 'removed', 'changed']),
      before: z.unknown().optional(),
      after: z.unknown().optional(),
    }),
  )
  .max(500);

/**
 * The re-apply form of a stale save: `mine` holds the edit's changes (JSON, as the server
 * reported them) and each ticked `apply` box the index of one to re-apply.
 */
export function changesToReapply(form: FormData): ConfigChange[] | { problem: string } {
  let mine: unknown;
  try {
    mine = JSON.parse(String(form.get('mine') ?? ''));
  } catch {
    return { problem: 'The changes to re-apply are missing: reload the page and edit again.' };
  }
  const parsed = ChangesSchema.safeParse(mine);
  if (!parsed.success) return { problem: 'The changes to re-apply are not readable: reload the page and edit again.' };
  const chosen = new Set(form.getAll('apply').map(String));
  const changes = parsed.data.filter((_, i) => chosen.has(String(i)));
  return changes.length > 0 ? changes : { problem: 'Tick at least one change to re-apply, or discard them.' };
}

export type { RoutingConfig };
