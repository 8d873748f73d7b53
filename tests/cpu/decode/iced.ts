/**
 * A thin wrapper around iced-x86 (the npm wasm build), the reference decoder for the decoder
 * agreement test. It decodes a batch of fixed-stride byte strings with one wasm Decoder and one
 * reused Instruction, and returns plain values (length, validity, encoding, opcode map bytes,
 * CPUID features, mnemonic text) so no wasm object escapes.
 *
 * Invariants: iced decodes at most 15 bytes from each string's start even when the batch buffer
 * holds more, so a string's result does not depend on its neighbours; every wasm object this
 * module creates is freed before the function returns (also when it throws).
 * Options: DecoderOptions.None (iced's defaults) unless the caller passes others.
 */
import {
  Code,
  CpuidFeature,
  Decoder,
  DecoderOptions,
  EncodingKind,
  FastFormatter,
  FlowControl,
  Instruction,
  Mnemonic,
} from 'iced-x86';

export { Code, CpuidFeature, DecoderOptions, EncodingKind, FlowControl, Mnemonic };

/**
 * One decoded string: length 0 and code Code.INVALID when iced finds no valid instruction.
 * `features` is shared between results of the same code: read it, do not change it.
 */
export interface IcedResult {
  valid: boolean;
  length: number;
  code: number;
  mnemonic: number;
  flowControl: number;
  encoding: number;
  features: number[];
}

const BY_CODE = new Map<
  number,
  [mnemonic: number, flowControl: number, encoding: number, features: number[]]
>();

/**
 * Decode `count` strings of `stride` bytes each from `bytes` (string k starts at k*stride) in
 * `bitness` (16, 32 or 64). `onEach(k, r)` sees each result; the result object is reused.
 */
export function icedDecodeBatch(
  bitness: number,
  bytes: Uint8Array,
  stride: number,
  count: number,
  onEach: (k: number, r: IcedResult) => void,
  options: number = DecoderOptions.None,
): void {
  const dec = new Decoder(bitness, bytes, options);
  const ins = new Instruction();
  const r: IcedResult = {
    valid: false,
    length: 0,
    code: Code.INVALID,
    mnemonic: Mnemonic.INVALID,
    flowControl: FlowControl.Next,
    encoding: 0,
    features: [],
  };
  try {
    for (let k = 0; k < count; k++) {
      dec.position = k * stride;
      dec.decodeOut(ins);
      const code = ins.code;
      r.code = code;
      r.valid = code !== Code.INVALID;
      r.length = r.valid ? ins.length : 0;
      let info = BY_CODE.get(code);
      if (info === undefined) {
        // Mnemonic, flow control, encoding and CPUID features are functions of the code alone.
        info = r.valid
          ? [ins.mnemonic, ins.flowControl, ins.encoding, Array.from(ins.cpuidFeatures())]
          : [Mnemonic.INVALID, FlowControl.Next, 0, []];
        BY_CODE.set(code, info);
      }
      [r.mnemonic, r.flowControl, r.encoding, r.features] = info;
      onEach(k, r);
    }
  } finally {
    ins.free();
    dec.free();
  }
}

/** Decode one byte string; convenience for diagnostics and unit tests. */
export function icedDecodeOne(bitness: number, bytes: Uint8Array, options = DecoderOptions.None): IcedResult {
  let out: IcedResult | undefined;
  icedDecodeBatch(
    bitness,
    bytes,
    bytes.length,
    1,
    (_, r) => (out = { ...r, features: [...r.features] }),
    options,
  );
  return out!;
}

/** iced's text for one byte string (Intel syntax), or '(invalid)'. For messages only. */
export function icedText(bitness: number, bytes: Uint8Array): string {
  const dec = new Decoder(bitness, bytes, DecoderOptions.None);
  const ins = new Instruction();
  const fmt = new FastFormatter();
  try {
    dec.decodeOut(ins);
    return ins.code === Code.INVALID ? '(invalid)' : fmt.format(ins);
  } finally {
    fmt.free();
    ins.free();
    dec.free();
  }
}

/** The CpuidFeature names of a feature list, for messages. */
export function featureNames(features: readonly number[]): string {
  return features.map((f) => CpuidFeature[f]).join(',');
}
