// @vitest-environment jsdom
import { createRemixStub } from '@remix-run/testing';
import { fireEvent, render, screen, within } from '@testing-library/react';

import type { ChartData } from '~/domain/chart-data';

import { ChartPanel } from './chart-panel';
import { JobsTable, type JobsTableRow } from './jobs-table';

const job = (id: string, status: JobsTableRow['status'], title: string): JobsTableRow => ({
  id,
  status,
  chapterTitle: title,
  courseTitle: 'Course',
  destination: 'cloud',
  model: 'claude-haiku-5-5',
  generator: status === 'succeeded' ? 'offline' : null,
  attempts: 1,
  maxAttempts: 3,
  progressOutputTokens: 120,
  maxTokens: 1000,
  costMicros: 1_234_500,
  createdAt: new Date('2026-11-28T10:00:00Z').toISOString(),
  cancelRequested: status === 'running',
});

function inRouter(element: JSX.Element) {
  const Stub = createRemixStub([{ path: '/', Component: () => element }]);
  return render(<Stub />);
}

describe('JobsTable', () => {
  it('shows each job with its status, link, progress, cost and the offline and stopping tags', () => {
    inRouter(
      <JobsTable
        jobs={[job('a', 'running', 'Intro'), job('b', 'succeeded', 'Outro')]}
        caption="Jobs"
        empty={<p>none</p>}
        now={new Date('2026-11-28T10:05:00Z')}
      />,
    );
    const table = screen.getByRole('table', { name: 'Jobs' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(within(rows[0]).getByRole('link', { name: 'Intro' }).getAttribute('href')).toBe('/jobs/a');
    expect(within(rows[0]).getByText('stopping')).toBeTruthy();
    expect(within(rows[0]).getByRole('progressbar', { name: 'Progress of Intro' }).getAttribute('aria-valuenow')).toBe(
      '120',
    );
    expect(within(rows[1]).getByText('offline')).toBeTruthy();
    expect(within(rows[1]).getByText('$1.2345')).toBeTruthy();
    expect(within(rows[1]).getByText('5 min ago')).toBeTruthy();
  });

  it('selects rows one by one and all at once', () => {
    const toggled: string[] = [];
    let all: boolean | undefined;
    inRouter(
      <JobsTable
        jobs={[job('a', 'pending', 'Intro'), job('b', 'pending', 'Outro')]}
        caption="Jobs"
        selected={new Set(['b'])}
        onToggle={(id) => toggled.push(id)}
        onToggleAll={(select) => (all = select)}
        empty={<p>none</p>}
      />,
    );
    expect((screen.getByRole('checkbox', { name: 'Select Outro' }) as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByRole('checkbox', { name: 'Select Intro' }));
    fireEvent.click(screen.getByRole('checkbox', { name: 'Select all jobs on this page' }));
    expect(toggled).toEqual(['a']);
    expect(all).toBe(true);
  });

  it('shows the empty state when there are no jobs', () => {
    inRouter(<JobsTable jobs={[]} caption="Jobs" empty={<p>No jobs yet</p>} />);
    expect(screen.getByText('No jobs yet')).toBeTruthy();
  });
});

describe('ChartPanel', () => {
  const chart: ChartData = {
    id: 'model',
    title: 'Cost by model',
    columns: [
      { key: 'model', label: 'Model' },
      { key: 'jobs', label: 'Jobs finished', unit: 'count' },
      { key: 'total', label: 'Cost', unit: 'usd' },
    ],
    rows: [
      { model: 'claude-haiku-5-5', jobs: 1200, total: 2_500_000 },
      { model: 'claude-opus-5-5', jobs: 3, total: 90_000 },
    ],
  };

  it('labels its chart region, links its CSV, and switches to a table of the same rows', () => {
    render(
      <ChartPanel
        chart={chart}
        kind="bar"
        xKey="model"
        series={['total']}
        csvHref="/costs/csv?chart=model"
        jobs={1203}
      />,
    );
    expect(screen.getByRole('img', { name: /Cost by model \(USD\), 2 points/ })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'CSV' }).getAttribute('href')).toBe('/costs/csv?chart=model');
    fireEvent.click(screen.getByRole('button', { name: 'Table' }));
    const table = screen.getByRole('table', { name: 'Cost by model' });
    const cells = within(table)
      .getAllByRole('cell')
      .map((cell) => cell.textContent);
    expect(cells).toEqual(['claude-haiku-5-5', '1,200', '$2.50', 'claude-opus-5-5', '3', '$0.09']);
  });

  it('says so when the range has no jobs', () => {
    render(<ChartPanel chart={{ ...chart, rows: [] }} kind="bar" csvHref="/x" jobs={0} />);
    expect(screen.getByText('No jobs finished in this range.')).toBeTruthy();
  });

  const daily: ChartData = {
    id: 'daily',
    title: 'Daily cost',
    columns: [
      { key: 'bucket', label: 'Day (UTC)' },
      { key: 'total', label: 'Total', unit: 'usd' },
    ],
    rows: [
      { bucket: '2026-11-27', total: 0 },
      { bucket: '2026-11-28', total: 0 },
    ],
  };

  it('draws jobs that cost $0 (offline) as a chart with a note, not as "no jobs"', () => {
    render(
      <ChartPanel
        chart={daily}
        kind="bar"
        series={['total']}
        csvHref="/x"
        jobs={73}
        unit="day"
        zeroNote="The 73 jobs finished in this range cost $0."
      />,
    );
    expect(screen.queryByText(/No jobs finished/)).toBeNull();
    expect(screen.getByRole('img', { name: /Daily cost \(USD\)/ })).toBeTruthy();
    expect(screen.getByText('The 73 jobs finished in this range cost $0.')).toBeTruthy();
  });

  it('lists config changes once per bucket and labels buckets in UTC in its table', () => {
    render(
      <ChartPanel
        chart={daily}
        kind="bar"
        series={['total']}
        csvHref="/x"
        jobs={2}
        unit="day"
        markers={[{ bucket: '2026-11-28', label: 'v3–v4 (2)', detail: 'v3: canary 50%; v4: canary 100%' }]}
      />,
    );
    expect(screen.getByText(/v3: canary 50%; v4: canary 100%/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Table' }));
    expect(within(screen.getByRole('table')).getByText('Nov 28 (UTC)')).toBeTruthy();
  });
});
