import MarkdownIt from 'markdown-it';

/**
 * Model output is untrusted. Raw HTML in it is never passed through (`html: false` escapes it
 * to text), and markdown-it's link validation drops javascript:, vbscript: and data: URLs
 * (except images), so nothing in a chapter can run: no <script>, no onerror=, no javascript: link.
 */
const markdown = new MarkdownIt({ html: false, linkify: true, typographer: false });

// Links in generated content open safely and tell search engines they are not endorsed.
const defaultLinkOpen =
  markdown.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
markdown.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx].attrSet('rel', 'noopener noreferrer nofollow ugc');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

export function renderMarkdown(source: string): string {
  return markdown.render(source);
}

export function Markdown({ source, label }: { source: string; label: string }) {
  // Safe: renderMarkdown escapes all HTML in the source; see above.
  return (
    <article className="markdown" aria-label={label} dangerouslySetInnerHTML={{ __html: renderMarkdown(source) }} />
  );
}
