/**
 * Makes protobufjs decode 64-bit integers to plain numbers (exact up to 2^53) instead of Long
 * objects, matching the `--force-number` generated types (research/stack.md §3).
 *
 * This must run before the generated module is evaluated, not only before the first decode: the
 * generated code sets the prototype default of every int64 field (`$util.Long ? Long.fromBits(0)
 * : 0`) at load time, so with Long still set an absent int64 field would read as a Long zero.
 * messages.ts imports this module before the generated one; ESM evaluates imports in order.
 * Nothing else may import src/protocol/generated/ directly.
 */
import protobuf from 'protobufjs/minimal.js';

(protobuf.util as { Long: unknown }).Long = null;
protobuf.configure();
