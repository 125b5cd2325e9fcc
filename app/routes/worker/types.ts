import type { useLoaderData } from '@remix-run/react';

import type { loader } from './route';

export type PageData = ReturnType<typeof useLoaderData<typeof loader>>;
export type ServiceState = NonNullable<Extract<PageData['cloudRun'], { configured: true }>['state']>;
export type Condition = ServiceState['service']['ready'];
