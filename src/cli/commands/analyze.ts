/**
 * `ktrail analyze FILE` (Tracee: `analyze --source FILE`): replays a JSON-lines file of classic events (ktrail's
 * or Tracee's) through every detection rule and prints the findings, as classic JSON lines (default) or a table.
 * Malformed lines (not JSON, not an event, not UTF-8, longer than MAX_LINE_BYTES) are reported on stderr with
 * their line number (the first MAX_REPORTED_LINES of them; the summary counts them all) and skipped; the command fails (exit status 2) when no line at all is a usable event, and
 * a file that cannot be read (missing, a directory, unreadable, empty) is a KtrailError INPUT_FILE.
 */
import { KtrailError } from '../../errors.js';
import { ClassicJsonError, ClassicReader } from '../../input/classic-json.js';
import { formatFindingJson } from '../../output/json.js';
import { formatFindingRow, TABLE_HEADER } from '../../output/table.js';
import { Engine } from '../../signatures/engine.js';
import { allRules, loadRulesFrom } from '../../signatures/registry.js';
import { selectRules } from '../../signatures/select.js';
import type { AnyRule } from '../../signatures/types.js';
import { escapeControls } from '../../util/control-chars.js';
import { type FileRole, MIB, openLines } from '../../util/input-file.js';
import type { Io } from '../main.js';

export interface AnalyzeArgs {
  /** Option values by long name: `source`, `output`, `events`, `signatures-dir`. */
  readonly values: ReadonlyMap<string, readonly string[]>;
}

/** The longest line read; a classic event is a few KiB, and a longer line is reported and skipped. */
export const MAX_LINE_BYTES = 16 * MIB;

/**
 * Malformed lines reported one by one; beyond them only the count (in the summary) grows, so that a binary
 * file or a file of another kind does not print a line of stderr for each of its lines.
 */
export const MAX_REPORTED_LINES = 100;

const INPUT_FILE: FileRole = {
  where: (loc) => `analyze: ${loc}`,
  expect: 'a JSON-lines file of classic events (ktrail -o json, tracee -o json)',
};

interface OutputChoice {
  readonly table: boolean;
  readonly parseArguments: boolean;
}

function outputChoice(specs: readonly string[]): OutputChoice {
  let table = false;
  let parseArguments = false;
  for (const spec of specs) {
    for (const part of spec.split(',')) {
      if (part === 'table') table = true;
      else if (part === 'json') table = false;
      else if (part === 'option:parse-arguments') parseArguments = true;
      else
        throw new KtrailError('USAGE', `analyze: output '${part}' is not supported here`, {
          hint: "analyze prints to stdout: use '-o json' (default), '-o table', '-o option:parse-arguments'",
        });
    }
  }
  return { table, parseArguments };
}

/**
 * `--events` for analyze selects rules only: by finding event name, rule id or threat filter (the live
 * command's rule selection, src/signatures/select.ts). Without it every rule runs.
 */
function enabledRules(rules: readonly AnyRule[], specs: readonly string[]): ReadonlySet<AnyRule> {
  if (specs.length === 0) return new Set(rules);
  const sel = selectRules(specs, rules);
  const unknown = sel.events.flatMap((e) => e.split(',')).find((e) => e !== '');
  if (unknown !== undefined)
    throw new KtrailError('UNKNOWN_EVENT', `analyze: no signature '${unknown}'`, {
      hint: "'ktrail list --signatures' lists the signatures; give an event name (anti_debugging) or an id",
    });
  return sel.rules;
}

export async function runAnalyze(positionals: readonly string[], args: AnalyzeArgs, io: Io): Promise<number> {
  const sources = [...(args.values.get('source') ?? []), ...positionals];
  if (sources.length !== 1)
    throw new KtrailError(
      'USAGE',
      sources.length === 0 ? 'analyze: no input file' : 'analyze: give one input file',
      { hint: 'ktrail analyze FILE (or --source FILE): a JSON-lines file of classic events' },
    );
  const file = sources[0]!;
  const out = outputChoice(args.values.get('output') ?? []);
  const extra: AnyRule[] = [];
  for (const dir of args.values.get('signatures-dir') ?? []) extra.push(...(await loadRulesFrom(dir)));
  const rules = allRules(extra);
  const enabled = enabledRules(rules, args.values.get('events') ?? []);
  // Unselected rules keep their place in `rules`, so finding ids do not move.
  const engine = new Engine(rules, {
    enabled: (r) => enabled.has(r as AnyRule),
    // A rule that throws on an event is reported and skipped; the others still see the event.
    onRuleError: (rule, _ev, e) =>
      io.err(
        `analyze: rule ${rule.id} failed on an event: ${escapeControls(e instanceof Error ? e.message : String(e))}`,
      ),
  });
  const reader = new ClassicReader();
  const jsonOpts = { parseArguments: out.parseArguments, policyNames: reader.policyNames };

  let good = 0;
  let bad = 0;
  let findings = 0;
  const input = await openLines(file, INPUT_FILE, {
    maxLineBytes: MAX_LINE_BYTES,
    emptyHint: `give ${INPUT_FILE.expect}`,
  });
  if (out.table) io.out(TABLE_HEADER);
  const malformed = (lineNo: number, why: string | undefined) => {
    bad++;
    // The reason quotes the line, which may come from anywhere: no raw control character reaches stderr.
    if (bad <= MAX_REPORTED_LINES) io.err(`analyze: ${file}:${lineNo}: ${escapeControls(why ?? '')}`);
    else if (bad === MAX_REPORTED_LINES + 1)
      io.err(
        `analyze: ${file}: more than ${MAX_REPORTED_LINES} malformed lines; the rest are counted, not shown`,
      );
  };
  for await (const { number: lineNo, text: line, problem } of input) {
    if (line === undefined) {
      malformed(lineNo, problem);
      continue;
    }
    if (line.trim() === '') continue;
    let ev: ReturnType<ClassicReader['parseLine']>;
    try {
      ev = reader.parseLine(line);
    } catch (e) {
      if (!(e instanceof ClassicJsonError)) throw e;
      malformed(lineNo, e.message);
      continue;
    }
    good++;
    for (const f of engine.dispatch(ev)) {
      findings++;
      io.out(out.table ? formatFindingRow(f, out.parseArguments) : formatFindingJson(f, jsonOpts));
    }
  }
  const skipped = bad === 0 ? '' : `, ${bad} malformed ${bad === 1 ? 'line' : 'lines'} skipped`;
  io.err(
    `analyze: ${file}: ${good} ${good === 1 ? 'event' : 'events'}, ${findings} ${findings === 1 ? 'finding' : 'findings'}${skipped}`,
  );
  if (good === 0) {
    io.err(
      bad > 0
        ? `analyze: ${file}: no line is a classic JSON event`
        : `analyze: ${file}: no event in the file (only blank lines)`,
    );
    return 2;
  }
  return 0;
}
