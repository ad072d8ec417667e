/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: any line that is
 * not a well-formed HELP, TYPE, comment or sample, a sample outside its declared family, a family
 * declared twice, or a histogram whose buckets are not cumulative ending in `+Inf` = `_count`,
 * throws with the line number.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SUFFIXES: Record<Family['type'], string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new Error('the exposition must end with a newline');
  lines.forEach((line, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, keyword, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) fail('bad metric name');
      let family = families.get(name);
      if (family && current !== family) fail('family declared again after others');
      if (!family) {
        family = { name, type: 'untyped', help: '', samples: [] };
        families.set(name, family);
      }
      if (family.samples.length) fail(`${keyword} after samples`);
      current = family;
      if (keyword === 'HELP') {
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) fail('bad escape in HELP');
        family.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      } else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) fail('bad type');
        family.type = rest as Family['type'];
      }
      return;
    }
    const sample = parseSample(line, fail);
    if (!current || !SUFFIXES[current.type].some((s) => sample.name === current!.name + s)) fail(`sample outside its family (${current?.name})`);
    current!.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

function parseSample(line: string, fail: (why: string) => never): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?\d+)?$/.exec(line);
  if (!m) fail('not a sample');
  const [, name, rawLabels, rawValue] = m!;
  const labels: Record<string, string> = {};
  if (rawLabels) {
    let rest = rawLabels.slice(1, -1);
    while (rest.length) {
      const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
      if (!lm || !LABEL.test(lm[1]!)) fail('bad label');
      if (lm![1]! in labels) fail('label repeated');
      labels[lm![1]!] = lm![2]!.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(lm![0].length);
    }
  }
  let value: number;
  if (rawValue === '+Inf') value = Infinity;
  else if (rawValue === '-Inf') value = -Infinity;
  else if (rawValue === 'NaN') value = NaN;
  else if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(rawValue!)) value = Number(rawValue);
  else fail('bad value');
  return { name: name!, labels, value: value! };
}

function checkHistogram(family: Family): void {
  const series = new Map<string, Sample[]>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    if (s.name.endsWith('_bucket') && le === undefined) throw new Error(`${family.name}: bucket without le`);
    const key = JSON.stringify(Object.entries(rest).sort());
    series.set(key, [...(series.get(key) ?? []), s]);
  }
  for (const [key, samples] of series) {
    const buckets = samples.filter((s) => s.name.endsWith('_bucket'));
    const count = samples.find((s) => s.name.endsWith('_count'));
    if (!count || !samples.some((s) => s.name.endsWith('_sum'))) throw new Error(`${family.name}${key}: _sum or _count missing`);
    const last = buckets[buckets.length - 1];
    if (!last || last.labels.le !== '+Inf' || last.value !== count.value) throw new Error(`${family.name}${key}: no +Inf bucket equal to _count`);
    for (let i = 1; i < buckets.length; i++) {
      const [a, b] = [buckets[i - 1]!, buckets[i]!];
      if (Number(b.labels.le) <= Number(a.labels.le) && b.labels.le !== '+Inf') throw new Error(`${family.name}${key}: le not increasing`);
      if (b.value < a.value) throw new Error(`${family.name}${key}: buckets not cumulative`);
    }
  }
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there is none). */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
    }
  }
  return sum;
}
