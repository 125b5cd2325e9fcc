/**
 * The request router of the seed, made configurable: ordered rules decide edge or cloud,
 * priority, timeout and retry policy; a kill switch and a sticky canary percentage govern how
 * much of the cloud-bound traffic really goes to the cloud. Web APIs only (no Node), so it runs
 * on the edge runtime as well as on Node.
 */
import { z } from 'zod';

export const BACKOFFS = ['none', 'linear', 'exponential'] as const;
export const STICKY_KEYS = ['chapter', 'course', 'user'] as const;
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export const BATCH_RETRY_DESTINATIONS = ['batch', 'cloud'] as const;

const RetryPolicySchema = z
  .object({
    maxRetries: z.number().int().min(0, 'must be 0 or more').max(10, 'must be at most 10'),
    backoff: z.enum(BACKOFFS, { message: 'must be none, linear or exponential' }),
    baseDelayMs: z.number().int().min(0).max(600_000, 'must be at most 10 minutes'),
    maxDelayMs: z.number().int().min(0).max(3_600_000, 'must be at most an hour'),
    /**
     * Destination batch only: where a retryable errored result is retried. `batch` (the default)
     * waits for a later provider batch at half price; `cloud` streams it after the backoff (ADR 0020).
     */
    batchRetriesTo: z.enum(BATCH_RETRY_DESTINATIONS, { message: 'must be batch or cloud' }).optional(),
  })
  .refine((policy) => policy.maxDelayMs >= policy.baseDelayMs, {
    message: 'maxDelayMs must be at least baseDelayMs',
    path: ['maxDelayMs'],
  });

export const ROUTE_DESTINATIONS = ['edge', 'cloud', 'batch'] as const;

const RouteTargetFields = z.object({
  destination: z.enum(ROUTE_DESTINATIONS, { message: 'must be edge, cloud or batch' }),
  priority: z.enum(['high', 'normal', 'low'], { message: 'must be high, normal or low' }),
  timeoutMs: z.number().int().min(100, 'must be at least 100 ms').max(3_600_000, 'must be at most an hour'),
  retry: RetryPolicySchema,
  /**
   * What the rule's generation runs with, when set (a promoted rollout sets them, ADR 0018);
   * otherwise the request's own model and max tokens.
   */
  model: z.string().min(1).max(100).optional(),
  maxTokens: z.number().int().min(1).max(128_000, 'must be at most 128000').optional(),
});

/**
 * The Message Batches API may take up to 24 hours: a rule that sends `high` priority there
 * contradicts itself, so the config refuses it (ADR 0020).
 */
const noHighPriorityBatch = <T extends { destination: string; priority: string }>(target: T) =>
  !(target.destination === 'batch' && target.priority === 'high');
const HIGH_PRIORITY_BATCH = {
  message:
    'high priority cannot go to batch: the Message Batches API may take up to 24 hours. Use normal or low priority, or destination cloud',
  path: ['priority'],
};

const RouteTargetSchema = RouteTargetFields.refine(noHighPriorityBatch, HIGH_PRIORITY_BATCH);

/** Path patterns: literal segments, `:param` (one segment), `*` inside a segment, `**` (any rest). */
const PATH_PATTERN = /^\/([A-Za-z0-9._~\-*:]+\/?)*(\*\*)?$/;

export const RouteRuleSchema = RouteTargetFields.extend({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes'),
  match: z.object({
    path: z.string().regex(PATH_PATTERN, 'must be a path pattern such as /api/content/generate-* or /api/jobs/:id'),
    methods: z.array(z.enum(HTTP_METHODS)).min(1).optional(),
  }),
}).refine(noHighPriorityBatch, HIGH_PRIORITY_BATCH);

export const RoutingConfigSchema = z
  .object({
    hybridEnabled: z.boolean(),
    canaryPercent: z
      .number()
      .min(0, 'must be between 0 and 100')
      .max(100, 'must be between 0 and 100')
      .refine((value) => Math.abs(value * 10 - Math.round(value * 10)) < 1e-9, 'must be in steps of 0.1'),
    stickyKey: z.enum(STICKY_KEYS, { message: 'must be chapter, course or user' }),
    rules: z.array(RouteRuleSchema).max(200, 'at most 200 rules'),
    defaultRule: RouteTargetSchema,
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.rules.forEach((rule, index) => {
      if (seen.has(rule.id))
        ctx.addIssue({ code: 'custom', path: ['rules', index, 'id'], message: `duplicate rule id "${rule.id}"` });
      seen.add(rule.id);
    });
  });

export type RetryPolicy = z.infer<typeof RetryPolicySchema>;
export type RouteRule = z.infer<typeof RouteRuleSchema>;
export type RoutingConfig = z.infer<typeof RoutingConfigSchema>;

/**
 * The seed's router as configuration: generation and batch routes to the cloud, the rest at the
 * edge. The canary starts at 100% because the seed's router sends all generation to the cloud;
 * ops lower it (e.g. to the migration plan's 10%) to roll out gradually.
 */
export const DEFAULT_ROUTING_CONFIG: RoutingConfig = {
  hybridEnabled: true,
  canaryPercent: 100,
  stickyKey: 'chapter',
  rules: [
    {
      id: 'generate',
      match: { path: '/api/content/generate-*', methods: ['POST'] },
      destination: 'cloud',
      priority: 'normal',
      timeoutMs: 300_000,
      retry: { maxRetries: 2, backoff: 'exponential', baseDelayMs: 1000, maxDelayMs: 60_000 },
    },
    {
      id: 'batch',
      match: { path: '/api/content/batch-*', methods: ['POST'] },
      destination: 'cloud',
      priority: 'normal',
      timeoutMs: 300_000,
      retry: { maxRetries: 2, backoff: 'exponential', baseDelayMs: 1000, maxDelayMs: 60_000 },
    },
  ],
  defaultRule: {
    destination: 'edge',
    priority: 'high',
    timeoutMs: 10_000,
    retry: { maxRetries: 1, backoff: 'none', baseDelayMs: 0, maxDelayMs: 0 },
  },
};

/** How soon the caller needs the result: `economy` lets a rule's `batch` destination apply. */
export const DELIVERIES = ['asap', 'economy'] as const;
export type Delivery = (typeof DELIVERIES)[number];

export interface RouteDecision {
  destination: 'edge' | 'cloud' | 'batch';
  priority: 'high' | 'normal' | 'low';
  timeoutMs: number;
  retryPolicy: RetryPolicy;
  /** The rule's model and max tokens, when it sets them (they replace the request's). */
  model?: string;
  maxTokens?: number;
  reason: {
    ruleId: string;
    configVersion: number;
    /** 0–9,999; null when the rule does not send to the cloud (the canary is not consulted). */
    bucket: number | null;
    /** Why the destination differs from the rule's, if it does. */
    override: 'kill-switch' | 'outside-canary' | 'batch-always-queued' | 'asap-delivery' | null;
  };
}

export interface StickyKeys {
  chapter?: string | null;
  course?: string | null;
  user?: string | null;
}

export const BUCKETS = 10_000;

/**
 * A stable bucket in [0, 10000) for a sticky key: FNV-1a over the UTF-16 code units, then
 * MurmurHash3's finaliser so that similar keys (sequential ids) spread evenly.
 */
export function stickyBucket(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) % BUCKETS;
}

interface CompiledRule {
  rule: RouteRule;
  pattern: RegExp;
  methods: ReadonlySet<string> | null;
}

/**
 * Rules indexed by the literal segments their pattern starts with (a trie): a request only tests
 * the rules that could match its path, in rule order. Measured by `npm run bench:route` with 100
 * rules that all start with /api: a linear scan tested ~50 patterns per request, this one or two.
 */
interface TrieNode {
  children: Map<string, TrieNode>;
  /** Rules that can match a path ending here or continuing past here, in rule order. */
  candidates: CompiledRule[];
}

type CompiledConfig = TrieNode;

/** The literal segments a pattern starts with, before any wildcard or parameter. */
function literalPrefix(path: string): string[] {
  const prefix: string[] = [];
  for (const segment of path.split('/').slice(1)) {
    if (segment === '' || segment.includes('*') || segment.startsWith(':')) break;
    prefix.push(segment);
  }
  return prefix;
}

function compilePattern(path: string): RegExp {
  const body = path
    .split('/')
    .slice(1)
    .map((segment) => {
      if (segment === '**') return '(?:/.*)?';
      if (segment.startsWith(':')) return '/[^/]+';
      return '/' + segment.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
    })
    .join('');
  return new RegExp(`^${body}/?$`);
}

// Compiled once per config version. The object cache is the hot path; a config re-read from
// its store (a new object, same version) is matched by version and content, so two stores that
// reuse a version number for different configs (two databases in one process) never mix.
const compiledByVersion = new Map<number, { json: string; compiled: CompiledConfig }>();
const compiledByObject = new WeakMap<RoutingConfig, CompiledConfig>();

function compile(config: RoutingConfig, version: number): CompiledConfig {
  const cached = compiledByObject.get(config);
  if (cached) return cached;
  const json = JSON.stringify(config);
  const byVersion = version > 0 ? compiledByVersion.get(version) : undefined;
  if (byVersion && byVersion.json === json) {
    compiledByObject.set(config, byVersion.compiled);
    return byVersion.compiled;
  }
  const rules = config.rules.map((rule) => ({
    rule,
    pattern: compilePattern(rule.match.path),
    methods: rule.match.methods ? new Set<string>(rule.match.methods) : null,
    prefix: literalPrefix(rule.match.path),
  }));
  // A node's candidates: every rule whose literal prefix is a prefix of the node's path (it may
  // match below here through a wildcard) — rules with longer prefixes live in the children.
  const build = (path: string[]): TrieNode => {
    const candidates = rules.filter(
      (compiled) => compiled.prefix.length <= path.length && compiled.prefix.every((segment, i) => segment === path[i]),
    );
    const children = new Map<string, TrieNode>();
    for (const compiled of rules) {
      if (compiled.prefix.length > path.length && path.every((segment, i) => segment === compiled.prefix[i])) {
        const next = compiled.prefix[path.length];
        if (!children.has(next)) children.set(next, build([...path, next]));
      }
    }
    return { children, candidates };
  };
  const result = build([]);
  compiledByObject.set(config, result);
  if (version > 0) {
    if (compiledByVersion.size > 32) compiledByVersion.clear();
    compiledByVersion.set(version, { json, compiled: result });
  }
  return result;
}

/** The deepest trie node along the path's segments: its candidates are all that can match. */
function candidatesFor(root: TrieNode, pathname: string): CompiledRule[] {
  let node = root;
  let start = 1;
  while (start <= pathname.length) {
    const end = pathname.indexOf('/', start);
    const segment = pathname.slice(start, end === -1 ? pathname.length : end);
    const child = node.children.get(segment);
    if (!child) break;
    node = child;
    if (end === -1) break;
    start = end + 1;
  }
  return node.candidates;
}

/** The path of a request URL without building a URL object (this runs on every request). */
function pathnameOf(url: string): string {
  const schemeEnd = url.indexOf('://');
  const start = url.indexOf('/', schemeEnd === -1 ? 0 : schemeEnd + 3);
  if (start === -1) return '/';
  let end = url.length;
  const query = url.indexOf('?', start);
  const hash = url.indexOf('#', start);
  if (query !== -1) end = query;
  if (hash !== -1 && hash < end) end = hash;
  return url.slice(start, end);
}

/**
 * Decides where a request goes. The first matching rule (or the default rule) gives the
 * destination, priority, timeout and retry policy. A cloud-bound request really goes to the
 * cloud only when the kill switch is off (hybridEnabled) and its sticky bucket is below the
 * canary percentage, so one chapter stays on one side while the percentage holds, and raising
 * the percentage only ever moves edge → cloud.
 */
export function routeRequest(
  request: Request,
  config: RoutingConfig,
  keys: StickyKeys = {},
  version = 0,
  delivery: Delivery = 'asap',
): RouteDecision {
  const pathname = pathnameOf(request.url);
  const method = request.method;
  const candidates = candidatesFor(compile(config, version), pathname);
  let match: CompiledRule | undefined;
  for (const candidate of candidates) {
    if ((!candidate.methods || candidate.methods.has(method)) && candidate.pattern.test(pathname)) {
      match = candidate;
      break;
    }
  }
  const target = match?.rule ?? config.defaultRule;
  const ruleId = match?.rule.id ?? 'default';
  const decision: RouteDecision = {
    destination: target.destination,
    priority: target.priority,
    timeoutMs: target.timeoutMs,
    retryPolicy: target.retry,
    ...(target.model ? { model: target.model } : {}),
    ...(target.maxTokens ? { maxTokens: target.maxTokens } : {}),
    reason: { ruleId, configVersion: version, bucket: null, override: null },
  };
  if (target.destination === 'edge') return decision;
  const stickyValue = keys[config.stickyKey] ?? keys.chapter ?? keys.course ?? keys.user ?? pathname;
  const bucket = stickyBucket(`${config.stickyKey}:${stickyValue}`);
  decision.reason.bucket = bucket;
  if (target.destination === 'batch') {
    // Batch is the cloud at half price and hours later: the kill switch and the canary govern it
    // as they govern the cloud, but what they take away goes to the cloud (streamed), never to the
    // edge; and only a caller who asked for economy delivery waits for it.
    if (!config.hybridEnabled) decision.reason.override = 'kill-switch';
    else if (bucket >= Math.round(config.canaryPercent * 100)) decision.reason.override = 'outside-canary';
    else if (delivery !== 'economy') decision.reason.override = 'asap-delivery';
    if (decision.reason.override) decision.destination = 'cloud';
    return decision;
  }
  if (!config.hybridEnabled) {
    decision.destination = 'edge';
    decision.reason.override = 'kill-switch';
  } else if (bucket >= Math.round(config.canaryPercent * 100)) {
    decision.destination = 'edge';
    decision.reason.override = 'outside-canary';
  }
  return decision;
}

/**
 * A batch is always queued for the worker, whatever its rule, the canary or the kill switch say:
 * generating a whole batch inside one request would hold that request (and its function) for
 * minutes and lose every chapter not finished when it times out. The rule still gives priority,
 * timeout and retries; `x-route-override: batch-always-queued` tells the caller why.
 */
export function batchDecision(decision: RouteDecision): RouteDecision {
  if (decision.destination !== 'edge') return decision;
  return { ...decision, destination: 'cloud', reason: { ...decision.reason, override: 'batch-always-queued' } };
}

/** The `x-route-*` headers an API answer carries, so callers can see why it went where it went. */
export function routeHeaders(decision: RouteDecision): Record<string, string> {
  return {
    'x-route-destination': decision.destination,
    'x-route-rule': decision.reason.ruleId,
    'x-route-config-version': String(decision.reason.configVersion),
    ...(decision.reason.bucket === null ? {} : { 'x-route-bucket': String(decision.reason.bucket) }),
    ...(decision.reason.override ? { 'x-route-override': decision.reason.override } : {}),
  };
}
