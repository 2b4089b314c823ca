import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../signatures/engine.js';
import { allRules } from '../signatures/registry.js';
import { makeEvent } from '../signatures/test-events.js';
import { formatFindingJson } from './json.js';
import { formatFindingRow } from './table.js';

process.env['TZ'] = 'UTC';

const engine = new Engine(allRules());
const trigger = makeEvent('ptrace', { request: 0 }, { processName: 'evil', durationNs: 900n });
const [finding] = engine.dispatch(trigger);
const opts = { parseArguments: false, policyNames: [''] };

const HEAD =
  '{"timestamp":1764412200123456789,"threadStartTime":1764412200120004511,"processorId":1,"processId":100,' +
  '"cgroupId":8412,"threadId":100,"parentProcessId":1,"hostProcessId":100,"hostThreadId":100,' +
  '"hostParentProcessId":1,"userId":0,"mountNamespace":4026531841,"pidNamespace":4026531836,"processName":"evil",' +
  '"executable":{"path":""},"hostName":"node-1","containerId":"","container":{},"kubernetes":{},"eventId":"6008",' +
  '"eventName":"anti_debugging","matchedPolicies":[""],"argsNum":2,"returnValue":0,"syscall":"ptrace",' +
  '"stackAddresses":null,"contextFlags":{"containerStarted":false,"isCompat":false},"threadEntityId":161793354,' +
  '"processEntityId":161793354,"parentEntityId":0,';
const META =
  '"metadata":{"Version":"1","Description":"A process called ptrace(PTRACE_TRACEME): a process can be traced by ' +
  'one tracer only, so this blocks a debugger from attaching. Malware does it to resist analysis.","Tags":null,' +
  '"Properties":{"Category":"defense-evasion","Kubernetes_Technique":"","Severity":1,"Technique":"Debugger Evasion",' +
  '"external_id":"T1622","id":"attack-pattern--e4dc8c01-417f-458d-9ee0-bb0617c1b391","signatureID":"TRC-102",' +
  '"signatureName":"Anti-Debugging detected"}},"seq":1,"durationNs":900}';
const TRIGGER_ARGS =
  '{"name":"pid","type":"int32","value":0},{"name":"addr","type":"trace.Pointer","value":0},' +
  '{"name":"data","type":"trace.Pointer","value":0}],"id":101,"name":"ptrace","returnValue":0}}],';

describe('formatFindingJson', () => {
  it("writes the classic key order with the trigger's context, data, detectedFrom, then metadata", () => {
    assert.equal(
      formatFindingJson(finding!, opts),
      `${HEAD}"args":[{"name":"request","type":"const char *","value":"PTRACE_TRACEME"},{"name":"detectedFrom",` +
        `"type":"unknown","value":{"args":[{"name":"request","type":"int64","value":0},${TRIGGER_ARGS}${META}`,
    );
  });
  it('applies parse-arguments to the trigger arguments inside detectedFrom', () => {
    assert.equal(
      formatFindingJson(finding!, { ...opts, parseArguments: true }),
      `${HEAD}"args":[{"name":"request","type":"const char *","value":"PTRACE_TRACEME"},{"name":"detectedFrom",` +
        `"type":"unknown","value":{"args":[{"name":"request","type":"string","value":"PTRACE_TRACEME"},` +
        `${TRIGGER_ARGS}${META}`,
    );
  });
  it('takes matchedPolicies from the policies the pipeline passes', () => {
    const line = formatFindingJson(finding!, { ...opts, policyNames: ['a', 'b', 'c'] }, 0b101n);
    assert.match(line, /"eventName":"anti_debugging","matchedPolicies":\["a","c"\],"argsNum":2,/);
  });
  it('leaves detectedFrom out when the trigger has no arguments', () => {
    const bare = { ...finding!, event: { ...finding!.event, args: [] } };
    assert.match(
      formatFindingJson(bare, opts),
      /"argsNum":1,"returnValue":0,.*"args":\[\{"name":"request","type":"const char \*","value":"PTRACE_TRACEME"\}\],"metadata":/,
    );
  });
  it('is not confused by key-like text or $ patterns in values', () => {
    const ev = makeEvent('delete_module', { name: '$&"args":[],' }, { processName: '"argsNum":0,' });
    const [f] = new Engine(allRules()).dispatch(ev);
    const parsed = JSON.parse(formatFindingJson(f!, opts)) as {
      processName: string;
      argsNum: number;
      args: { value: unknown }[];
    };
    assert.equal(parsed.processName, '"argsNum":0,');
    assert.equal(parsed.argsNum, 3);
    assert.equal(parsed.args[0]!.value, '$&"args":[],');
  });
});

describe('formatFindingRow', () => {
  it("marks the event with '!' and names the trigger", () => {
    assert.equal(
      formatFindingRow(finding!, false),
      '10:30:00:123456  0      evil             100     100     0                !anti_debugging           ' +
        'request: PTRACE_TRACEME, detectedFrom: ptrace',
    );
  });
});
