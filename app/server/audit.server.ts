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
