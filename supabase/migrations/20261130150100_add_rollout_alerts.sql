-- An automatic rollout rollback raises an alert through the same table and webhook as the spend
-- alerts (ADR 0013, ADR 0018): one row per rolled-back rollout, posted once to ALERT_WEBHOOK_URL.
alter table public.spend_alerts drop constraint spend_alerts_kind_check;
alter table public.spend_alerts add constraint spend_alerts_kind_check
  check (kind in ('budget_50', 'budget_80', 'budget_100', 'batch_paused', 'rollout_rolled_back'));

comment on table public.spend_alerts is
  'Alerts: spend (budget at 50/80/100 %, a batch paused at its cap) and automatic rollout rollbacks. Shown to finance and admin on every page, and posted once to the alert webhook.';
