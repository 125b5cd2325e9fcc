// @vitest-environment jsdom
import { json } from '@remix-run/node';
import { createRemixStub } from '@remix-run/testing';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';

import ApiTokensPage from './admin.tokens';
import JobsPage from './jobs._index';
import SubmitPage from './submit';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const catalog = [
  {
    id: 'c1',
    title: 'PostgreSQL for Application Developers',
    chapters: [
      { id: A, position: 1, title: 'How PostgreSQL Stores a Row', version: 0, promptTokens: 150 },
      { id: B, position: 2, title: 'Indexes That Earn Their Keep', version: 2, promptTokens: 170 },
    ],
  },
];

describe('the Queue page', () => {
  function renderSubmit() {
    const Stub = createRemixStub([
      {
        id: 'root',
        path: '/',
        loader: () =>
          json({ staff: null, env: { authMode: 'password', demo: false, supabaseUrl: null, supabaseAnonKey: null } }),
        children: [
          {
            path: 'submit',
            Component: SubmitPage,
            loader: () => json({ courses: catalog, models: ['claude-haiku-5-5', 'claude-sonnet-5-5'] }),
          },
        ],
      },
    ]);
    render(<Stub initialEntries={['/submit']} />);
  }

  it('estimates the most a batch can cost as chapters are picked', async () => {
    renderSubmit();
    await screen.findByRole('button', { name: /Queue/ });
    expect(screen.getByTestId('estimate').textContent).toBe('Choose chapters to see an estimate.');
    fireEvent.click(screen.getByRole('checkbox', { name: 'All chapters of PostgreSQL for Application Developers' }));
    // Sonnet: 2 × (160 prompt tokens × $2/M + 4096 output tokens × $10/M) = 2 × $0.04128
    await waitFor(() =>
      expect(screen.getByTestId('estimate').textContent).toBe(
        '2 chapter(s): at most $0.0826 (every chapter using all its max tokens; prompt caching makes it cheaper).',
      ),
    );
    fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'claude-haiku-5-5' } });
    await waitFor(() => expect(screen.getByTestId('estimate').textContent).toContain('at most $0.0041'));
  });

  it('checks pasted ids line by line and will not queue while a line is wrong', async () => {
    renderSubmit();
    const box = await screen.findByLabelText(/Or paste chapter ids/);
    fireEvent.change(box, { target: { value: `${A}\nnope\n${A}\n33333333-3333-4333-8333-333333333333` } });
    await screen.findAllByText(/^Line \d/);
    const errors = screen.getAllByRole('listitem').filter((item) => item.textContent?.startsWith('Line'));
    expect(errors.map((item) => item.textContent)).toEqual([
      'Line 2: nope is not a chapter id (a UUID)',
      'Line 4: 33333333-3333-4333-8333-333333333333 matches no chapter',
    ]);
    expect((screen.getByRole('button', { name: /Queue/ }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(box, { target: { value: `${A}\n${B}` } });
    await screen.findByText('2 chapters will be queued.');
    expect((screen.getByRole('button', { name: /Queue 2 chapter/ }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('queues repeated ids once and says so, counting ticked and pasted chapters together', async () => {
    renderSubmit();
    fireEvent.click(
      await screen.findByRole('checkbox', { name: 'All chapters of PostgreSQL for Application Developers' }),
    );
    fireEvent.change(screen.getByLabelText(/Or paste chapter ids/), { target: { value: `${A}\n${B}\n${A}` } });
    expect((await screen.findByTestId('selection')).textContent).toBe('5 ids, 3 repeated: 2 chapters will be queued.');
    expect(screen.getByRole('button', { name: 'Queue 2 chapter(s)' })).toBeTruthy();
    expect(screen.getByTestId('estimate').textContent).toMatch(/^2 chapter\(s\)/);
  });
});

describe('the Jobs page filters', () => {
  it('show the active filters and page onward with a keyset cursor that keeps them', async () => {
    const Stub = createRemixStub([
      {
        id: 'root',
        path: '/',
        loader: () =>
          json({
            staff: { id: 's', email: 'f@x', displayName: 'F', role: 'finance' },
            env: { authMode: 'password', demo: false, supabaseUrl: null, supabaseAnonKey: null },
          }),
        children: [
          {
            path: 'jobs',
            Component: JobsPage,
            loader: () =>
              json({
                jobs: [],
                nextCursor: '2026-11-27T10:00:00.000Z|' + A,
                filters: { status: 'failed', destination: 'edge', q: 'Index' },
                options: { configVersions: [3, 2, 1], models: ['claude-haiku-5-5'] },
              }),
          },
        ],
      },
    ]);
    render(<Stub initialEntries={['/jobs?status=failed&destination=edge&q=Index']} />);
    expect(((await screen.findByLabelText('Status')) as HTMLSelectElement).value).toBe('failed');
    expect((screen.getByLabelText('Destination') as HTMLSelectElement).value).toBe('edge');
    expect((screen.getByLabelText('Search chapter') as HTMLInputElement).value).toBe('Index');
    expect(
      within(screen.getByLabelText('Config version'))
        .getAllByRole('option')
        .map((o) => o.textContent),
    ).toEqual(['any', 'defaults', 'v3', 'v2', 'v1']);
    expect(screen.getByText('No job matches these filters')).toBeTruthy();
    const older = screen.getByRole('link', { name: 'Older →' }).getAttribute('href')!;
    expect(new URLSearchParams(older.split('?')[1])).toEqual(
      new URLSearchParams({
        status: 'failed',
        destination: 'edge',
        q: 'Index',
        after: `2026-11-27T10:00:00.000Z|${A}`,
      }),
    );
    // Finance may look but not act: no bulk actions.
    expect(screen.queryByRole('toolbar', { name: 'Bulk actions' })).toBeNull();
  });
});

describe('the API tokens page', () => {
  it('shows a new token once and empties the form, so a second click cannot make a duplicate', async () => {
    const created: string[] = [];
    const Stub = createRemixStub([
      {
        path: '/admin/tokens',
        Component: ApiTokensPage,
        loader: () => json({ tokens: [] }),
        action: async ({ request }) => {
          created.push(String((await request.formData()).get('name')));
          return json({ ok: true, message: 'Token "CMS" created.', token: 'sy_secret_1' });
        },
      },
    ]);
    render(<Stub initialEntries={['/admin/tokens']} />);
    fireEvent.change(await screen.findByLabelText('Name'), { target: { value: 'CMS' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    expect((await screen.findByTestId('new-token')).textContent).toBe('sy_secret_1');
    expect(created).toEqual(['CMS']);
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('');
  });
});

describe('the Jobs page', () => {
  const CURSOR = `2026-11-27T10:00:00.000Z|${A}`;
  function renderJobs(initial: string) {
    const Stub = createRemixStub([
      {
        id: 'root',
        path: '/',
        loader: () =>
          json({
            staff: { id: 's', email: 'f@x', displayName: 'F', role: 'finance' },
            env: { authMode: 'password', demo: false, supabaseUrl: null, supabaseAnonKey: null },
          }),
        children: [
          {
            path: 'jobs',
            Component: JobsPage,
            loader: ({ request }) => {
              const params = new URL(request.url).searchParams;
              const filters = Object.fromEntries(params);
              return json({
                jobs: [],
                nextCursor: CURSOR,
                prevCursor: params.has('after') ? `2026-11-27T11:00:00.000Z|${B}` : null,
                filters,
                options: { configVersions: [], models: ['claude-haiku-5-5'] },
              });
            },
          },
        ],
      },
    ]);
    render(<Stub initialEntries={[initial]} />);
  }

  it('clears the form with the filters, so the next Filter click does not bring them back', async () => {
    renderJobs('/jobs?status=failed&q=Index');
    expect(((await screen.findByLabelText('Status')) as HTMLSelectElement).value).toBe('failed');
    fireEvent.click(screen.getByRole('link', { name: 'Clear' }));
    await waitFor(() => expect((screen.getByLabelText('Status') as HTMLSelectElement).value).toBe(''));
    expect((screen.getByLabelText('Search chapter') as HTMLInputElement).value).toBe('');
  });

  it('pages both ways: newer with a backwards cursor, and back to the newest', async () => {
    renderJobs(`/jobs?status=failed&after=${encodeURIComponent(CURSOR)}`);
    const newer = (await screen.findByRole('link', { name: '← Newer' })).getAttribute('href')!;
    expect(Object.fromEntries(new URLSearchParams(newer.split('?')[1]))).toEqual({
      status: 'failed',
      before: `2026-11-27T11:00:00.000Z|${B}`,
    });
    expect(screen.getByRole('link', { name: '« Newest' }).getAttribute('href')).toBe('/jobs?status=failed');
    expect(screen.getByRole('link', { name: 'Older →' }).getAttribute('href')).toContain('after=');
  });
});
