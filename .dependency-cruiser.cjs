/**
 * The walls between the folders of src/, checked by `npm run lint:imports` (part of `npm test`, so CI fails
 * when one is broken). The folders' roles are in docs/architecture.md ("Where things live").
 */

/** The composition root: the app module wires every folder in, app.ts starts the Nest application. */
const compositionRoot = ['^src/app\\.module\\.ts$', '^src/app\\.ts$'];

/** A folder at the edge of the process (a transport or a role's loop) that only the composition root imports. */
const edge = (folder, { pathNot } = {}) => ({
  name: `only-the-app-imports-${folder}`,
  comment: `src/${folder} is wired in by the app module and imported by nothing else`,
  severity: 'error',
  from: { path: '^src/', pathNot: [...compositionRoot, `^src/${folder}/`, ...(pathNot ? [pathNot] : [])] },
  to: { path: `^src/${folder}/` },
});

module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'the domain (deciders, schedules) imports only itself, cron-parser and node:*, so its specs need nothing else',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: ['^src/domain/', '(^|/)node_modules/cron-parser/'], dependencyTypesNot: ['core'] },
    },
    edge('http', { pathNot: '^src/cli/' }),
    // The CLI is a client of the API: it may name the types of its answers (src/http/dto; type-only imports carry no code).
    {
      name: 'the-cli-imports-only-answer-types-from-http',
      comment: 'the CLI talks to the API over HTTP: from src/http it may import the types of the answers, nothing that runs',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/http/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'the-cli-imports-only-dto-types-from-http',
      comment: 'the types the CLI may import from src/http are those of src/http/dto',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/http/', pathNot: '^src/http/dto/' },
    },
    edge('worker'),
    edge('scheduler'),
    {
      name: 'events-do-not-import-infra',
      comment: 'src/events is the catalogue of what travels (shapes and ports); src/infra implements it, not the other way round',
      severity: 'error',
      from: { path: '^src/events/' },
      to: { path: '^src/infra/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
