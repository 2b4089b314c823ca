/**
 * Turning a parsed YAML document that a user gave (a policy, a config file) into plain data, with the limits
 * a hostile file needs: alias expansion is bounded (a "billion laughs" file fails at once instead of filling
 * memory), nesting deeper than the JavaScript stack is reported as such, and an alias without its anchor is
 * located. Pure; the callers turn a YamlDataProblem into their own error with the file's name.
 */
import { type Document, isAlias, visit } from 'yaml';

/**
 * The most alias uses a document may expand (the `yaml` package's maxAliasCount: an alias inside an aliased
 * node counts once per use, so nested aliases hit the limit long before memory does).
 */
export const MAX_YAML_ALIASES = 100;

/** Why a document could not become data. `at` is a source offset, for a line:column. */
export type YamlDataProblem =
  | { readonly kind: 'aliases' }
  | { readonly kind: 'deep' }
  | { readonly kind: 'unresolved'; readonly alias: string; readonly at: number }
  | { readonly kind: 'other'; readonly message: string };

/** True for the RangeError of a recursion deeper than the stack. */
export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

/** Words for a problem (without the file), and what to do about it. */
export function describeYamlProblem(p: YamlDataProblem): { cause: string; hint: string } {
  switch (p.kind) {
    case 'aliases':
      return {
        cause: `uses more than ${MAX_YAML_ALIASES} YAML aliases (alias bomb?)`,
        hint: 'write the repeated parts out; an alias inside an aliased node counts once for each use',
      };
    case 'deep':
      return {
        cause: 'the document is nested too deeply',
        hint: 'check that this is the right file',
      };
    case 'unresolved':
      return {
        cause: `YAML alias '*${p.alias}' has no anchor before it`,
        hint: `define '&${p.alias}' on a node before using '*${p.alias}'`,
      };
    case 'other':
      return {
        cause: `cannot read the YAML: ${p.message}`,
        hint: 'check the document near anchors, aliases and tags (&name, *name, !!tag)',
      };
  }
}

/** The first alias used before (or without) its anchor, in document order. */
function unresolvedAlias(doc: Document): { alias: string; at: number } | undefined {
  const anchors = new Set<string>();
  let bad: { alias: string; at: number } | undefined;
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        if (!anchors.has(node.source)) {
          bad = { alias: node.source, at: node.range?.[0] ?? 0 };
          return visit.BREAK;
        }
      } else if (node.anchor !== undefined) anchors.add(node.anchor);
      return undefined;
    },
  });
  return bad;
}

/**
 * `doc` as plain JavaScript data (`doc.toJS()`), with alias expansion bounded by MAX_YAML_ALIASES.
 * Never throws: a document that cannot become data gives its problem instead.
 */
export function yamlToData(doc: Document): { value: unknown } | { problem: YamlDataProblem } {
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) };
  } catch (e) {
    if (isStackOverflow(e)) return { problem: { kind: 'deep' } };
    const msg = e instanceof Error ? e.message : String(e);
    if (/excessive alias count/i.test(msg)) return { problem: { kind: 'aliases' } };
    let bad: { alias: string; at: number } | undefined;
    try {
      bad = unresolvedAlias(doc);
    } catch (e2) {
      return { problem: isStackOverflow(e2) ? { kind: 'deep' } : { kind: 'other', message: msg } };
    }
    if (bad !== undefined) return { problem: { kind: 'unresolved', ...bad } };
    return { problem: { kind: 'other', message: msg } };
  }
}
