// The layering gate (issue 14; docs/architecture.md): each folder of src/ sits on one tier and
// may import only its own tier and the tiers below. `npm run lint` (first step of `npm test`)
// fails on an upward import, a cycle, a folder placed on no tier, a driver imported outside its
// adapter folder, or shipped code importing tools/. Tests are exempt from the tier rules (they
// assemble layers on purpose). dependency-cruiser 17.4 runs on Node ^20.12; 18.x needs Node 22.
/** Tiers from the bottom up; a file may import its own tier and any tier below it. */
const TIERS = [
  ['errors\\.ts', 'domain', 'runtime'],
  ['journeys', 'corrections'],
  ['config'],
  ['stores', 'sources'],
  ['pipeline', 'checks', 'render', 'dashboards'],
  ['services'],
  ['commands'],
  ['cli\\.ts'],
];
const folder = (names) => `^src/(${names.join('|')})(/|$)`;
const TESTS = '\\.test\\.tsx?$|\\.conformance\\.ts$';
const upward = TIERS.slice(0, -1).map((tier, index) => ({
  name: `upward-from-${tier.map((name) => name.replace('\\.ts', '')).join('-')}`,
  comment: `${tier.join(', ')} may not import a higher tier (${TIERS.slice(index + 1).flat().join(', ')})`,
  severity: 'error',
  from: { path: folder(tier), pathNot: TESTS },
  to: { path: folder(TIERS.slice(index + 1).flat()) },
}));
const DRIVERS = {
  mongodb: 'src/stores/mongo/',
  'better-sqlite3': 'src/stores/sqlite/',
  chdb: 'src/stores/clickhouse/',
  '@clickhouse/client': 'src/stores/clickhouse/',
  kafkajs: 'src/sources/',
  '@google-cloud/pubsub': 'src/sources/',
  '@google-cloud/bigquery': 'src/stores/bigquery/',
};
const drivers = Object.entries(DRIVERS).map(([driver, home]) => ({
  name: `driver-${driver.replace(/[@/]/g, '')}-outside-${home.split('/').slice(-2, -1)[0]}`,
  comment: `only ${home} imports ${driver}`,
  severity: 'error',
  from: { path: '^src/', pathNot: `^${home}|\\.test\\.tsx?$` },
  to: { path: `node_modules/${driver.replace('/', '\\/')}/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'modules may not import each other in a circle',
      severity: 'error',
      from: { path: '^(src|tools)/' },
      to: { circular: true },
    },
    {
      name: 'not-in-a-tier',
      comment: 'every folder of src/ sits on a tier: add a new one to TIERS in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: '^src/', pathNot: folder(TIERS.flat()) },
      to: {},
    },
    {
      name: 'product-imports-tool',
      comment: 'shipped code may not import the generator or the benchmarks (tools/)',
      severity: 'error',
      from: { path: '^src/', pathNot: TESTS },
      to: { path: '^(tools|dist-tools)/' },
    },
    ...upward,
    ...drivers,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.tsx', '.js', '.mjs'] },
  },
};
