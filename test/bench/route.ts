/**
 * npm run bench:route — routing decisions per second for a config of 100 rules, on one core.
 * Target: ≥ 1,000,000 decisions per second.
 */
import { DEFAULT_ROUTING_CONFIG, routeRequest, type RouteRule, type RoutingConfig } from '../../app/domain/routing';

const RULES = 100;
const rules: RouteRule[] = Array.from({ length: RULES }, (_, i) => ({
  id: `rule-${i}`,
  match: {
    path: i % 10 === 0 ? `/api/svc-${i}/**` : `/api/svc-${i}/items/:id`,
    methods: i % 3 === 0 ? ['POST'] : undefined,
  },
  destination: i % 2 === 0 ? 'cloud' : 'edge',
  priority: 'normal',
  timeoutMs: 30_000,
  retry: { maxRetries: 1, backoff: 'none', baseDelayMs: 0, maxDelayMs: 0 },
}));
const config: RoutingConfig = {
  ...DEFAULT_ROUTING_CONFIG,
  canaryPercent: 50,
  rules: [...rules, ...DEFAULT_ROUTING_CONFIG.rules],
};

// A mix: rules early and late in the list, wildcards, misses that fall to the default rule.
const requests = Array.from({ length: 1024 }, (_, i) => {
  const rule = (i * 37) % (RULES + 20);
  const path = rule < RULES ? `/api/svc-${rule}/items/${i}` : `/api/other-${i}/x`;
  return new Request(`https://switchyard.example${path}?q=${i}`, { method: i % 4 === 0 ? 'POST' : 'GET' });
});
const keys = requests.map((_, i) => ({ chapter: `chapter-${i}` }));

function run(iterations: number): number {
  let cloud = 0;
  for (let i = 0; i < iterations; i += 1) {
    const index = i & 1023;
    if (routeRequest(requests[index], config, keys[index], 7).destination === 'cloud') cloud += 1;
  }
  return cloud;
}

run(200_000); // warm up the JIT and compile the config once
const iterations = 3_000_000;
const started = process.hrtime.bigint();
const cloud = run(iterations);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`bench:route  rules=${config.rules.length} iterations=${iterations}`);
console.log(`  decisions/s   ${Math.round(iterations / seconds).toLocaleString('en-US')}  (target ≥ 1,000,000)`);
console.log(`  per decision  ${((seconds / iterations) * 1e9).toFixed(0)} ns`);
console.log(`  sent to cloud ${((cloud / iterations) * 100).toFixed(1)}%`);
