/**
 * Generates src/abi/abi.gen.ts, the one TypeScript description of the kernel ABI, from the BTF of the built
 * object (`bpftool -j btf dump file build/bpf/ktrail.bpf.o`): every enum and struct reachable from
 * `struct kt_abi` (ktrail.bpf.c) with byte offsets and sizes, every map of `.maps` with its type, key size,
 * value size and compiled max_entries, and the global data sections userspace writes (`.rodata.*`,
 * `.data.*`). The file also records a hash of bpf/include/*.h, so a header edited without regenerating is
 * caught even before anything is built.
 *
 * Usage:
 *   node dist/scripts/gen-abi.js                      regenerate src/abi/abi.gen.ts from build/bpf/ktrail.bpf.o
 *   node dist/scripts/gen-abi.js --check [--object F] check: the recorded header hash matches bpf/include/*.h
 *                                                     and, with --object, the file equals a fresh generation
 *   --include DIR, --generated FILE                   other places for the headers and the generated file
 * Exit status: 0 up to date (or written), 1 stale (a message says what to run), 2 bad usage or no bpftool.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The subset of `bpftool -j btf dump` output the generator reads. */
export interface BtfType {
  readonly id: number;
  readonly kind: string;
  readonly name: string;
  readonly size?: number;
  readonly type_id?: number;
  readonly nr_elems?: number;
  readonly members?: readonly {
    readonly name: string;
    readonly type_id: number;
    readonly bits_offset: number;
  }[];
  readonly values?: readonly { readonly name: string; readonly val: number }[];
  readonly vars?: readonly { readonly type_id: number; readonly offset: number; readonly size: number }[];
}

const ANCHOR = 'kt_abi';
const GENERATED = 'src/abi/abi.gen.ts';
const INCLUDE = 'bpf/include';
const OBJECT = 'build/bpf/ktrail.bpf.o';

/** sha256 over the names and contents of DIR/*.h, in name order. */
export function headerHash(includeDir: string): string {
  const h = createHash('sha256');
  for (const name of readdirSync(includeDir)
    .filter((n) => n.endsWith('.h'))
    .sort()) {
    h.update(`${name}\0`);
    h.update(readFileSync(join(includeDir, name)));
    h.update('\0');
  }
  return h.digest('hex');
}

class Btf {
  readonly #byId = new Map<number, BtfType>();
  constructor(types: readonly BtfType[]) {
    for (const t of types) this.#byId.set(t.id, t);
  }
  get(id: number): BtfType {
    const t = this.#byId.get(id);
    if (t === undefined) throw new Error(`reading BTF: no type ${id}`);
    return t;
  }
  all(): IterableIterator<BtfType> {
    return this.#byId.values();
  }
  /** The type behind typedefs and qualifiers. */
  resolve(id: number): BtfType {
    let t = this.get(id);
    while (['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG'].includes(t.kind))
      t = this.get(t.type_id!);
    return t;
  }
  sizeOf(id: number): number {
    const t = this.resolve(id);
    if (t.kind === 'ARRAY') return t.nr_elems! * this.sizeOf(t.type_id!);
    if (t.kind === 'PTR') return 8;
    if (t.size === undefined) throw new Error(`reading BTF: type ${t.id} (${t.kind} ${t.name}) has no size`);
    return t.size;
  }
}

interface StructOut {
  readonly name: string;
  readonly size: number;
  readonly members: readonly { readonly name: string; readonly offset: number }[];
}

interface MapOut {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
}

interface Abi {
  readonly enums: readonly { readonly name: string; readonly values: readonly [string, number][] }[];
  readonly structs: readonly StructOut[];
  readonly maps: readonly MapOut[];
  readonly sections: readonly { readonly name: string; readonly size: number; readonly type: string }[];
}

/** Everything the generated file holds, read from the BTF types of the object. */
export function readAbi(types: readonly BtfType[]): Abi {
  const btf = new Btf(types);
  const anchor = [...btf.all()].find((t) => t.kind === 'STRUCT' && t.name === ANCHOR);
  if (anchor === undefined) throw new Error(`reading BTF: no struct ${ANCHOR} (is this ktrail.bpf.o?)`);
  const enums: Abi['enums'][number][] = [];
  const structs: StructOut[] = [];
  const seen = new Set<number>();
  const visit = (id: number): void => {
    const t = btf.resolve(id);
    if (t.kind === 'ARRAY') {
      visit(t.type_id!);
      return;
    }
    if (seen.has(t.id)) return;
    seen.add(t.id);
    if (t.kind === 'ENUM') enums.push({ name: t.name, values: t.values!.map((v) => [v.name, v.val]) });
    if (t.kind !== 'STRUCT') return;
    for (const m of t.members!) visit(m.type_id);
    if (t.id === anchor.id) return;
    if (t.name === '(anon)') throw new Error(`reading BTF: an anonymous struct is part of the ABI`);
    structs.push({
      name: t.name,
      size: t.size!,
      members: t.members!.map((m) => {
        if (m.bits_offset % 8 !== 0) throw new Error(`reading BTF: ${t.name}.${m.name} is a bit field`);
        return { name: m.name, offset: m.bits_offset / 8 };
      }),
    });
  };
  visit(anchor.id);

  const maps: MapOut[] = [];
  const sections: Abi['sections'][number][] = [];
  for (const sec of btf.all()) {
    if (sec.kind !== 'DATASEC') continue;
    if (sec.name === '.maps') {
      for (const v of sec.vars!) {
        const variable = btf.get(v.type_id);
        const def = btf.resolve(variable.type_id!);
        const field = (name: string): number | undefined => {
          const m = def.members!.find((x) => x.name === name);
          if (m === undefined) return undefined;
          const ptr = btf.resolve(m.type_id);
          const target = btf.resolve(ptr.type_id!);
          // __uint(name, N) is `int (*name)[N]`; __type(name, T) is `T *name`.
          return name === 'key' || name === 'value' ? btf.sizeOf(target.id) : target.nr_elems!;
        };
        maps.push({
          name: variable.name,
          type: field('type')!,
          keySize: field('key') ?? 0,
          valueSize: field('value') ?? 0,
          maxEntries: field('max_entries') ?? 0,
        });
      }
    } else if (sec.name.startsWith('.rodata.') || sec.name.startsWith('.data.')) {
      const vars = sec.vars!;
      if (vars.length !== 1) throw new Error(`reading BTF: ${sec.name} must hold exactly one variable`);
      const variable = btf.get(vars[0]!.type_id);
      const type = btf.resolve(variable.type_id!);
      sections.push({ name: sec.name, size: vars[0]!.size, type: type.name });
    }
  }
  maps.sort((a, b) => (a.name < b.name ? -1 : 1));
  sections.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { enums, structs, maps, sections };
}

/** The text of src/abi/abi.gen.ts. */
export function renderAbi(abi: Abi, hash: string): string {
  const out: string[] = [
    '// Generated by scripts/gen-abi.ts from the BTF of build/bpf/ktrail.bpf.o; do not edit. Run `npm run gen`.',
    `// bpf/include/*.h sha256: ${hash}`,
    '// The kernel ABI of ktrail.bpf.o: enum values, struct sizes (SIZE) and member byte offsets, map sizes.',
    '',
  ];
  for (const e of abi.enums) {
    out.push(`/** enum ${e.name} */`, `export const ${e.name} = {`);
    for (const [n, v] of e.values) out.push(`  ${n}: ${v},`);
    out.push('} as const;', '');
  }
  for (const s of abi.structs) {
    out.push(`/** struct ${s.name}: SIZE is its sizeof, every other key a member's byte offset. */`);
    out.push(`export const ${s.name} = {`, `  SIZE: ${s.size},`);
    for (const m of s.members) out.push(`  ${m.name}: ${m.offset},`);
    out.push('} as const;', '');
  }
  out.push(
    '/** A map as compiled: BPF_MAP_TYPE_* number, key and value sizes in bytes, max_entries before any resize. */',
    'export interface MapAbi {',
    '  readonly type: number;',
    '  readonly keySize: number;',
    '  readonly valueSize: number;',
    '  readonly maxEntries: number;',
    '}',
    '',
    '/** Every map of ktrail.bpf.o by name. */',
    'export const maps: Readonly<Record<string, MapAbi>> = {',
  );
  for (const m of abi.maps)
    out.push(
      `  ${m.name}: { type: ${m.type}, keySize: ${m.keySize}, valueSize: ${m.valueSize}, maxEntries: ${m.maxEntries} },`,
    );
  out.push(
    '};',
    '',
    '/** Global data sections userspace writes (`.rodata.*` before load, `.data.*` any time): size and struct. */',
  );
  out.push('export const sections = {');
  for (const s of abi.sections) out.push(`  '${s.name}': { size: ${s.size}, type: '${s.type}' },`);
  out.push('} as const;', '');
  return out.join('\n');
}

/** Runs bpftool on the object and returns its BTF types. */
export function dumpBtf(object: string): BtfType[] {
  const json = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', object], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  return (JSON.parse(json) as { types: BtfType[] }).types;
}

/** The header hash a generated file records, or undefined. */
export function recordedHash(generated: string): string | undefined {
  return /^\/\/ bpf\/include\/\*\.h sha256: ([0-9a-f]{64})$/m.exec(generated)?.[1];
}

/** Why the generated file is stale, or undefined when it is current. `fresh` is a new generation, if any. */
export function staleReason(generated: string, hash: string, fresh?: string): string | undefined {
  const recorded = recordedHash(generated);
  if (recorded === undefined) return 'it records no header hash';
  if (recorded !== hash) return 'bpf/include/*.h changed since it was generated';
  if (fresh !== undefined && fresh !== generated) return 'it differs from the BTF of the built object';
  return undefined;
}

function main(argv: readonly string[]): number {
  const root = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
  let check = false;
  let include = join(root, INCLUDE);
  let generated = join(root, GENERATED);
  let object: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return resolve(v);
    };
    if (a === '--check') check = true;
    else if (a === '--include') include = next();
    else if (a === '--generated') generated = next();
    else if (a === '--object') object = next();
    else {
      process.stderr.write(`gen-abi: unknown argument '${a}'\n`);
      return 2;
    }
  }
  const hash = headerHash(include);
  if (!check) {
    const obj = object ?? join(root, OBJECT);
    if (!existsSync(obj)) {
      process.stderr.write(`gen-abi: ${obj} does not exist: run 'make -C bpf' first\n`);
      return 2;
    }
    writeFileSync(generated, renderAbi(readAbi(dumpBtf(obj)), hash));
    process.stdout.write(`gen-abi: wrote ${generated}\n`);
    return 0;
  }
  if (!existsSync(generated)) {
    process.stderr.write(`gen-abi: ${generated} is missing: run 'npm run gen'\n`);
    return 1;
  }
  const text = readFileSync(generated, 'utf8');
  const fresh = object === undefined ? undefined : renderAbi(readAbi(dumpBtf(object)), hash);
  const why = staleReason(text, hash, fresh);
  if (why !== undefined) {
    process.stderr.write(`gen-abi: ${generated} is out of date: ${why}; run 'npm run gen' and commit it\n`);
    return 1;
  }
  process.stdout.write(`gen-abi: ${generated} is up to date\n`);
  return 0;
}

const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`gen-abi: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  }
}
