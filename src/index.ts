/**
 * ktrail's library API: the catalog, the live capture, the decoder and the output formatters. Everything the
 * CLI does is built from these pieces.
 */

export { probeFeatures } from './capture/features.js';
export { Capture, type CaptureSpec, type CaptureStats, openCapture } from './capture/session.js';
export { catalog, eventById, eventByName, eventsInSet, setNames } from './catalog/index.js';
export type { EventSpec, FieldSpec, ValueTable } from './catalog/types.js';
export { errnoName, renderValue, retvalErrno, valueTables } from './catalog/values/index.js';
export { Decoder } from './decode/decode.js';
export type { EventArg, TraceEvent } from './decode/event.js';
export { KtrailError, NativeError } from './errors.js';
export { formatJson, JsonWriter } from './output/json.js';
export { formatTableRow, TABLE_HEADER } from './output/table.js';
