import type { Queryable } from './db/port.server';

export interface AuditEntry {
  actor: string;
  action: string;
  targetType?: string;
  targetId?: string;
  detail?: Record<string, unknown>;
}

/** Appends to the audit trail; call it inside the transaction of the change it records. */
export async function audit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.query(
    'insert into public.audit_log (actor, action, target_type, target_id, detail) values ($1, $2, $3, $4, $5)',
    [entry.actor, entry.action, entry.targetType ?? null, entry.targetId ?? null, entry.detail ?? {}],
  );
}

/** Appends many entries in one statement (a bulk action records each job it changed). */
export async function auditMany(db: Queryable, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db.query(
    `insert into public.audit_log (actor, action, target_type, target_id, detail)
     select e ->> 'actor', e ->> 'action', e ->> 'targetType', e ->> 'targetId', coalesce(e -> 'detail', '{}')
     from jsonb_array_elements($1::jsonb) with ordinality as t (e, n)
     order by n`,
    [JSON.stringify(entries)],
  );
}
