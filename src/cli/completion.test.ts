import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { catalog } from '../catalog/index.js';
import { KtrailError } from '../errors.js';
import { OPTIONS } from './args.js';
import { completionModel, completionScript } from './completion.js';
import { main } from './main.js';

const model = completionModel('0.1.0');
const dir = mkdtempSync(join(tmpdir(), 'ktrail-completion-'));
const script = (shell: string) => {
  const file = join(dir, `ktrail.${shell}`);
  writeFileSync(file, completionScript(shell, model));
  return file;
};
const bashFile = script('bash');
const zshFile = script('zsh');
const fishFile = script('fish');
after(() => rmSync(dir, { recursive: true, force: true }));

const has = (shell: string) => spawnSync(shell, ['-c', 'exit 0']).status === 0;

/** What bash's completion function offers for `line` (the cursor at its end), as readline would insert. */
function bashComplete(line: string): string[] {
  const r = spawnSync(
    'bash',
    [
      '-c',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansions, not a template
      'source "$1"; COMP_LINE=$2; COMP_POINT=${#COMP_LINE}; read -r -a COMP_WORDS <<< "$2"; ' +
        // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansions, not a template
        'COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _ktrail ktrail; printf "%s\\n" "${COMPREPLY[@]}"',
      'bash',
      bashFile,
      line,
    ],
    { encoding: 'utf8', cwd: dir },
  );
  assert.equal(r.stderr, '');
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('completion scripts', () => {
  it('come from the option table and the catalog', () => {
    for (const shell of ['bash', 'zsh', 'fish']) {
      const text = completionScript(shell, model);
      for (const o of OPTIONS)
        assert.ok(text.includes(`--${o.long}`) || text.includes(`-l ${o.long}`), o.long);
      for (const e of catalog)
        assert.ok(new RegExp(`(^|[ (])${e.name}([ )']|$)`, 'm').test(text), `${shell}: ${e.name}`);
      assert.ok(text.includes('system_module'));
    }
  });

  it('an unknown shell is a usage error', () => {
    assert.throws(
      () => completionScript('tcsh', model),
      (e: unknown) => e instanceof KtrailError && e.code === 'USAGE' && /'tcsh'/.test(e.message),
    );
  });

  it('ktrail completion bash prints the script; without a shell it says which exist', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    assert.equal(await main(['completion', 'bash'], io, {}), 0);
    assert.match(out.join('\n'), /^# bash completion for ktrail \d/);
    assert.match(out.join('\n'), /\ncomplete -F _ktrail ktrail$/);
    assert.equal(await main(['completion'], io, {}), 2);
    assert.deepEqual(err, [
      'ktrail: completion needs a shell',
      '  hint: ktrail completion bash|zsh|fish, e.g. source <(ktrail completion bash)',
    ]);
  });
});

describe('bash completion, run by bash', { skip: has('bash') ? undefined : 'bash is not installed' }, () => {
  it('-e del<TAB> completes delete_module', () => {
    assert.deepEqual(bashComplete('ktrail -e del'), ['delete_module']);
    assert.deepEqual(bashComplete('ktrail --events del'), ['delete_module']);
  });

  it('completes every form of an event expression', () => {
    assert.deepEqual(bashComplete('ktrail -e read,del'), ['read,delete_module']);
    assert.deepEqual(bashComplete('ktrail -e -delete_m'), ['-delete_module']);
    // '=' breaks words for readline: the candidate is what follows it.
    assert.deepEqual(bashComplete('ktrail --events=del'), ['delete_module']);
    assert.deepEqual(bashComplete('ktrail -e tag=system_m'), ['system_module']);
    assert.deepEqual(bashComplete('ktrail -e system_m'), ['system_module']);
    assert.deepEqual(bashComplete('ktrail list init_m'), ['init_module']);
  });

  it('completes commands, flags, scopes, outputs, man topics and shells', () => {
    assert.deepEqual(bashComplete('ktrail '), model.commands);
    assert.deepEqual(bashComplete('ktrail -e delete_module co'), ['completion']);
    assert.deepEqual(bashComplete('ktrail --sig'), ['--signatures-dir', '--signatures']);
    assert.deepEqual(bashComplete('ktrail -s fol'), ['follow']);
    assert.deepEqual(bashComplete('ktrail -o option:p'), ['parse-arguments']);
    assert.deepEqual(bashComplete('ktrail man delete_mod'), ['delete_module', 'delete_module_flags']);
    assert.deepEqual(bashComplete('ktrail completion z'), ['zsh']);
  });

  it('completes file names after -p and json:', () => {
    writeFileSync(join(dir, 'policy-one.yaml'), '');
    assert.deepEqual(bashComplete('ktrail -p policy-'), ['policy-one.yaml']);
    assert.deepEqual(bashComplete('ktrail -o json:policy-'), ['policy-one.yaml']);
  });
});

describe('fish completion, run by fish', { skip: has('fish') ? undefined : 'fish is not installed' }, () => {
  const fish = (line: string) => {
    const r = spawnSync('fish', ['--no-config', '-c', `source ${fishFile}; complete -C '${line}'`], {
      encoding: 'utf8',
      cwd: dir,
    });
    assert.equal(r.stderr, '');
    return r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t')[0]);
  };
  it('-e del<TAB> completes delete_module, and the other forms', () => {
    assert.deepEqual(fish('ktrail -e del'), ['delete_module']);
    assert.deepEqual(fish('ktrail -e read,del'), ['read,delete_module']);
    assert.deepEqual(fish('ktrail -e tag=system_m'), ['tag=system_module']);
    assert.deepEqual(fish('ktrail li'), ['list']);
    assert.deepEqual(fish('ktrail completion z'), ['zsh']);
  });
});

describe('zsh completion, run by zsh', { skip: has('zsh') ? undefined : 'zsh is not installed' }, () => {
  /**
   * Types `line` and TAB into an interactive zsh on a pseudo-terminal (zsh/zpty), then Ctrl-X, bound to a
   * widget that writes the edited line to a file, and returns that line. zle handles its input in order, so
   * the line is read after the completion finished; the typing waits until the set-up has run.
   */
  let n = 0;
  const zsh = (line: string) => {
    const out = join(dir, `zsh-line-${n++}`);
    const setup =
      `PS1="%% "; autoload -Uz compinit; compinit -u -D; source ${zshFile}; ktrail() {}; ` +
      `_kt_dump() { print -r -- "$BUFFER" > ${out}; }; zle -N _kt_dump; bindkey "^X" _kt_dump; ` +
      'print READY-$((6*7))';
    const driver = [
      'zmodload zsh/zpty',
      "zpty -b z 'zsh -f -i'",
      `zpty -w z ${JSON.stringify(setup).replace(/\$/g, '\\$')}`,
      "seen=''",
      'for i in {1..200}; do while zpty -rt z c 2>/dev/null; do seen+=$c; done; [[ $seen == *READY-42* ]] && break; sleep 0.05; done',
      `zpty -w -n z ${JSON.stringify(line)}$'\t\x18'`,
      `for i in {1..200}; do [[ -s ${out} ]] && break; sleep 0.05; done`,
      'zpty -d z',
    ].join('\n');
    spawnSync('zsh', ['-f', '-c', driver], { encoding: 'utf8', cwd: dir, timeout: 30_000 });
    try {
      return readFileSync(out, 'utf8').trimEnd();
    } catch {
      return '';
    }
  };
  it('-e del<TAB> completes delete_module', () => {
    assert.equal(zsh('ktrail -e del'), 'ktrail -e delete_module');
    assert.equal(zsh('ktrail -e tag=system_m'), 'ktrail -e tag=system_module');
    assert.equal(zsh('ktrail comp'), 'ktrail completion');
  });
});
