// @vitest-environment jsdom
import { render } from '@testing-library/react';

import { Markdown, renderMarkdown } from './markdown';

const PAYLOADS = [
  '<script>window.__pwned = true</script>',
  '<img src=x onerror="window.__pwned = true">',
  '[click me](javascript:window.__pwned=true)',
  '<a href="javascript:alert(1)">x</a>',
  '<iframe src="https://evil.example"></iframe>',
  '![x](x" onerror="alert(1))',
];

describe('Markdown (generated chapter content)', () => {
  it('renders ordinary Markdown', () => {
    const html = renderMarkdown('# Title\n\nSome **bold** text and a [link](https://example.com).');
    expect(html).toContain('<h1>Title</h1>');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('<a href="https://example.com" rel="noopener noreferrer nofollow ugc">link</a>');
  });

  it.each(PAYLOADS)('renders %s inert', (payload) => {
    const { container } = render(<Markdown source={`# Chapter\n\n${payload}\n`} label="chapter" />);
    expect(container.querySelector('script, iframe, [onerror], [onclick]')).toBeNull();
    for (const link of container.querySelectorAll('a'))
      expect(link.getAttribute('href') ?? '').not.toMatch(/^javascript:/i);
    for (const image of container.querySelectorAll('img')) expect(image.getAttribute('onerror')).toBeNull();
    expect((window as unknown as { __pwned?: boolean }).__pwned).toBeUndefined();
  });
});
