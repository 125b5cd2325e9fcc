import { RemixBrowser } from '@remix-run/react';
import { startTransition, StrictMode } from 'react';
import { hydrateRoot } from 'react-dom/client';

declare global {
  interface Window {
    __clientHintReload?: boolean;
  }
}

// The client-hint script (components/clock.tsx) has just stored this browser's time zone and
// is reloading the page: hydrating this copy, rendered for another zone, would only mismatch.
if (!window.__clientHintReload) {
  startTransition(() => {
    hydrateRoot(
      document,
      <StrictMode>
        <RemixBrowser />
      </StrictMode>,
    );
  });
}
