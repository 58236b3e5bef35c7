// Checks Grafana dashboards as Grafana's own packages see them: each file's JSON type-checked by tsc
// against @grafana/schema's Dashboard type (excess properties included, so a misspelt field fails),
// and every PromQL expression, with its variables substituted as Grafana would, parsed by
// @prometheus-io/lezer-promql, the grammar Prometheus' own query editor uses.
//
//   node check-dashboards.mjs DIR     (DIR holds NAME.json files, one dashboard each)
//
// stdout: one line per problem, then a summary line. Exit 0 when there is none, 1 when there are, 2 on
// a bad command line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';

/** Grafana's built-in interval variables, as a one-hour range at a 15 s step would set them. */
const builtIns = {
  __rate_interval: '1m', __interval: '15s', __interval_ms: '15000', __range: '1h', __range_s: '3600', __range_ms: '3600000',
};

const here = dirname(fileURLToPath(import.meta.url));
const directory = process.argv[2];
if (!directory || process.argv.length > 3) {
  console.error('usage: node check-dashboards.mjs DIR');
  process.exit(2);
}

/**
 * The type a dashboard's JSON must satisfy: @grafana/schema's Dashboard, with two things made explicit.
 * JSON has no enums, so an enum-typed field takes the enum's values (ThresholdsMode's "absolute").
 * And an annotation is plugin-extensible (@grafana/data's AnnotationQuery): the Prometheus datasource
 * reads its query and formats from fields of the annotation itself, named here, so a misspelt one
 * still fails.
 */
const dashboardType = `import type { AnnotationContainer, AnnotationQuery, Dashboard } from '@grafana/schema';

type JsonOf<T> = T extends string ? (string extends T ? string : \`\${T}\`)
  : T extends readonly (infer E)[] ? JsonOf<E>[]
  : T extends object ? { [K in keyof T]: JsonOf<T[K]> }
  : T;

interface PrometheusAnnotation extends AnnotationQuery {
  expr?: string;
  step?: string;
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  useValueForTime?: boolean;
}

export type JsonDashboard = JsonOf<Omit<Dashboard, 'annotations'> & {
  annotations?: Omit<AnnotationContainer, 'list'> & { list?: PrometheusAnnotation[] };
}>;
`;

/** Writes each dashboard as a TypeScript module whose value must satisfy Dashboard, and runs tsc over them all at once. */
function typeCheck(dashboards) {
  const work = mkdtempSync(join(tmpdir(), 'check-dashboards-'));
  try {
    // tsc resolves @grafana/schema from the work folder, so it sees this folder's node_modules.
    symlinkSync(join(here, 'node_modules'), join(work, 'node_modules'), 'dir');
    writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, skipLibCheck: true, target: 'es2022', module: 'esnext',
        moduleResolution: 'bundler', types: [],
      },
      include: ['*.ts'],
    }));
    for (const { name, json } of dashboards) {
      // The JSON is pretty-printed so that tsc's line number points at the offending field.
      let pretty;
      try { pretty = JSON.stringify(JSON.parse(json), null, 2); } catch { continue; }
      writeFileSync(join(work, `${name}.ts`), `import type { JsonDashboard } from './dashboard';\n\nexport const dashboard = ${pretty} satisfies JsonDashboard;\n`);
    }
    writeFileSync(join(work, 'dashboard.ts'), dashboardType);
    const tsc = spawnSync(process.execPath, [join(here, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work, '--pretty', 'false'],
      { encoding: 'utf8' });
    if (tsc.error) return [`tsc could not run: ${tsc.error.message}`];
    if (tsc.status === 0) return [];
    const sources = new Map(dashboards.map((d) => [d.name, safePretty(d.json)]));
    const lines = (tsc.stdout + tsc.stderr).split('\n').filter((l) => l.trim() !== '');
    return lines.map((line) => {
      // name.ts(line,col): error TSnnnn: message; the line of the JSON is shown beside it.
      const m = /^(?<file>[^(]+)\.ts\((?<line>\d+),\d+\): (?<message>.*)$/.exec(line);
      if (!m) return `tsc: ${line}`;
      const name = basename(m.groups.file);
      const source = sources.get(name)?.split('\n')[Number(m.groups.line) - 3]?.trim() ?? '';
      // tsc spells out the whole expected type; its first 200 characters say enough beside the JSON line.
      const message = m.groups.message.length > 200 ? `${m.groups.message.slice(0, 200)}…` : m.groups.message;
      return `${name}: schema: ${message}${source ? ` (at ${source})` : ''}`;
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function safePretty(json) {
  try { return JSON.stringify(JSON.parse(json), null, 2); } catch { return ''; }
}

/** Every PromQL expression of a dashboard with where it sits: panel targets (rows' panels too) and annotations. */
function* queries(dashboard) {
  const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  for (const panel of panels) {
    for (const target of panel.targets ?? []) {
      if (typeof target.expr === 'string') yield { where: `panel "${panel.title}" ${target.refId}`, expr: target.expr };
    }
  }
  for (const annotation of dashboard.annotations?.list ?? []) {
    const expr = annotation.target?.expr ?? annotation.expr;
    if (typeof expr === 'string') yield { where: `annotation "${annotation.name}"`, expr };
  }
}

/**
 * What Grafana puts in place of $name, ${name} and [[name]]: a built-in's value, "All" as the
 * variable's allValue (Prometheus formats a multi-value variable as a regex), else its current value
 * or, with none, a plain label value. A variable the dashboard does not define stays, and fails to parse.
 */
function substitute(expr, dashboard) {
  const values = { ...builtIns };
  for (const v of dashboard.templating?.list ?? []) {
    if (v.includeAll && v.allValue) values[v.name] = v.allValue;
    else if (typeof v.current?.value === 'string' && v.current.value !== '' && v.current.value !== '$__all') values[v.name] = v.current.value;
    else values[v.name] = `value-of-${v.name}`;
  }
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a, b, c) => values[a ?? b ?? c] ?? whole);
}

/** The first syntax error lezer finds, as "parse error at N (near …)", or null when the expression parses. */
function parseError(expr) {
  // $1 and the like are label_replace's capture references, not variables.
  const unknown = /\$\{?[A-Za-z_]\w*/.exec(expr);
  if (unknown) return `undefined variable ${unknown[0]}`;
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.type.isError) {
      const near = expr.slice(Math.max(0, cursor.from - 10), cursor.from + 10);
      return `PromQL parse error at character ${cursor.from} (near "${near}")`;
    }
  } while (cursor.next());
  return null;
}

function main() {
  if (!existsSync(directory)) {
    console.error(`check-dashboards: ${directory} does not exist`);
    process.exit(2);
  }
  const dashboards = readdirSync(directory).filter((f) => f.endsWith('.json')).sort()
    .map((f) => ({ name: basename(f, '.json'), json: readFileSync(join(directory, f), 'utf8') }));
  if (dashboards.length === 0) {
    console.error(`check-dashboards: no .json file in ${directory}`);
    process.exit(2);
  }

  const problems = [...typeCheck(dashboards)];
  let expressions = 0;
  for (const { name, json } of dashboards) {
    let dashboard;
    try {
      dashboard = JSON.parse(json);
    } catch (e) {
      problems.push(`${name}: not JSON: ${e.message}`);
      continue;
    }
    for (const { where, expr } of queries(dashboard)) {
      expressions++;
      const error = parseError(substitute(expr, dashboard));
      if (error) problems.push(`${name}: ${where}: ${error}: ${expr}`);
    }
  }

  for (const p of problems) console.log(p);
  console.log(`checked ${dashboards.length} dashboards and ${expressions} expressions: ${problems.length} problems`);
  process.exit(problems.length === 0 ? 0 : 1);
}

main();
