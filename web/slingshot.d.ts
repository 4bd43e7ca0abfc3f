// Types of web/slingshot.js (docs/js-api.md).

/** One parameter of an attack or defense, as a form needs it. */
export interface ParamSpec {
  name: string;
  type: 'number' | 'integer' | 'boolean' | 'choice';
  /** null: chosen at run time (doc says how). Choices default by name. */
  default: number | boolean | string | null;
  min?: number;
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
  /** Infinity is a valid value (eps of minimal-perturbation attacks). */
  allowInfinity?: boolean;
  choices?: string[];
  /** 'input': in input units (show eps as k/255 for images), 'count', 'pixels', 'degrees' or ''. */
  unit: string;
  doc: string;
}

export interface EngineInfo { name: string; integer: boolean; doc: string; }
export interface GradientSourceInfo { name: string; defended: boolean; doc: string; }

export interface AttackInfo {
  name: string;
  family: 'white-box' | 'black-box' | 'patch' | 'quantization';
  doc: string;
  norms: string[];
  blackBox: boolean;
  acceptsUnboundedEps: boolean;
  needsReference: boolean;
  /** Universal attacks that train on a dataset first; runAttack refuses them. */
  trainsOnDataset: boolean;
  defaultMaxIter: number;
  /** The eps each supported norm starts at, by the names of `norms` ('inf': 8/255, '2': 0.5, ...). */
  defaultEps: Record<string, number>;
  params: ParamSpec[];
}

export interface DefenseInfo {
  name: string;
  doc: string;
  randomized: boolean;
  differentiable: boolean;
  params: ParamSpec[];
}

export interface LayerInfo { name: string; type: string; outputShape: number[]; params: number; macs: number; }

export interface ModelInfo {
  id: number;
  name: string;
  /** What inputs are: the image shape, or [16000] waveform samples for keyword models. */
  inputShape: number[];
  /** The network's own input shape (49x10x1 MFCC features for keyword models). */
  modelInputShape: number[];
  outputShape: number[];
  inputKind: 'image' | 'keywords';
  classes: number;
  quantized: boolean;
  weightScheme: 'int8' | 'int4' | 'ternary' | 'binary' | null;
  activationBits: number | null;
  macs: number;
  params: number;
  footprint: { weightCount: number; weightBytes: number; biasBytes: number; scaleBytes: number; floatBytes: number; totalBytes: number; };
  layers: LayerInfo[];
  /** Where the model came from: a Slingshot model file, or a .tflite file imported on load. */
  source: 'slingshot' | 'tflite';
  /** What the page shows as the engine family: 'imported int8 (TFLite)', 'imported float (TFLite)',
   *  'quantized (Slingshot)' or 'float (Slingshot)'. */
  engineLabel: string;
  /** TFLite imports: how pixels in [0, 1] reach the file's input (docs/tflite.md, "Import"), e.g.
   *  {kind: 'pixels', pixel_range: [0, 255], codes, file_input_grid, node}; {kind: 'none', reason}
   *  for inputs that keep the file's domain. null for Slingshot model files. */
  inputMapping: { kind: 'pixels' | 'none'; pixel_range?: [number, number]; reason?: string; [key: string]: unknown } | null;
}

export interface Prediction { engine: string; logits: Float32Array; probabilities: Float32Array; top1: number; }

export interface AttackParams {
  norm?: 'inf' | '2' | '1' | '0' | number;
  /** A number or a fraction string such as '8/255'; 'inf'/Infinity where allowed. */
  eps?: number | string;
  eps_step?: number | string;
  max_iter?: number;
  num_random_init?: number;
  targeted?: boolean;
  target?: number;
  loss?: 'ce' | 'cw' | 'dlr' | 'prob';
  max_queries?: number;
  seed?: number;
  pixel_valid?: boolean;
  /** The attack's own settings (see AttackInfo.params). */
  [setting: string]: number | string | boolean | undefined;
}

export interface AttackRequest {
  modelId: number;
  /** One input of the model's inputShape (on the k/255 or k/32768 grid when pixel_valid). */
  input: Float32Array;
  label: number;
  attack: string;
  engine?: string;
  grad?: string;
  innerGrad?: string;
  /** Pre-processing defense specs, applied in order: 'bit_depth:bits=4'. */
  defenses?: string[];
  eotSamples?: number;
  fdStep?: number;
  params?: AttackParams;
}

export interface AttackProgress {
  /** Share of the budget spent (an estimate; early stops end sooner). */
  fraction: number;
  iteration: number;
  queries: number;
  gradients: number;
  loss: number | null;
  bestMargin: number | null;
}

export interface Distortion { l0: number; l1: number; l2: number; linf: number; }

export interface AttackResult {
  adversarial: Float32Array;
  perturbation: Float32Array;
  cleanPrediction: number;
  adversarialPrediction: number;
  success: boolean;
  attacked: boolean;
  distortion: Distortion;
  queries: { predictions: number; gradients: number; fdEvaluations: number; };
  seconds: number;
  notes: string[];
  /** The CLI report's fields for this one example. */
  report: Record<string, unknown>;
}

/** One line of a robustness curve: a model (default: the request's) on an engine. */
export interface CurveLineSpec {
  name?: string;
  modelId?: number;
  engine?: string;
  grad?: string;
}

export interface CurveRequest {
  modelId: number;
  attack: string;
  /** The attack's parameters; eps is replaced point by point. */
  params?: AttackParams;
  lines: CurveLineSpec[];
  /** n inputs of the model's inputShape, one after another. */
  inputs: Float32Array;
  labels: ArrayLike<number>;
  /** Up to 64 eps values (numbers or strings such as '4/255'). */
  eps: Array<number | string>;
  /** Applied to every line, as in AttackRequest. */
  defenses?: string[];
  innerGrad?: string;
  eotSamples?: number;
  fdStep?: number;
}

export interface CurvePoint {
  eps: number;
  robustAccuracy: number;
  successRate: number;
  /** Mean distortion of the successes. */
  meanDistortion: Distortion;
  seconds: number;
}

export interface CurveLine { name: string; cleanAccuracy: number | null; points: CurvePoint[]; }

export interface CurveProgress {
  fraction: number;
  /** Set when a point has just finished: the line and point, and every line so far. */
  line?: number;
  point?: number;
  lines?: CurveLine[];
}

export interface CurveResult {
  attack: string;
  norm: string;
  samples: number;
  eps: number[];
  lines: CurveLine[];
  params: Record<string, unknown>;
  seconds: number;
}

export interface AudioFeatures {
  frames: number;
  coefficients: number;
  melBins: number;
  /** [frames * coefficients], frame-major: what the keyword model reads. */
  mfcc: Float32Array;
  /** [frames * melBins], frame-major: log(mel energy + 1e-6). */
  logMel: Float32Array;
}

export interface CHeader {
  text: string;
  inputCodes: Int8Array;
  outputCodes: Int8Array;
  expectedClass: number;
}

export interface Slingshot {
  readonly version: string;
  readonly engines: EngineInfo[];
  readonly gradientSources: GradientSourceInfo[];
  readonly attacks: AttackInfo[];
  readonly defenses: DefenseInfo[];
  readonly cancelMode: 'flag' | 'terminate';
  loadModel(bytes: Uint8Array | ArrayBuffer, name?: string): Promise<ModelInfo>;
  unloadModel(id: number): Promise<true>;
  modelCount(): Promise<number>;
  /** The wasm heap's size and the bytes malloc has handed out. */
  memoryStats(): Promise<{ heapBytes: number; allocatedBytes: number; }>;
  decodeImage(bytes: Uint8Array | ArrayBuffer, height: number, width: number, channels: 1 | 3): Promise<Float32Array>;
  decodeWav(bytes: Uint8Array | ArrayBuffer): Promise<Float32Array>;
  predict(modelId: number, input: Float32Array, engine?: string): Promise<Prediction>;
  runAttack(request: AttackRequest, options?: { onProgress?: (p: AttackProgress) => void; signal?: AbortSignal; }): Promise<AttackResult>;
  robustnessCurve(request: CurveRequest, options?: { onProgress?: (p: CurveProgress) => void; signal?: AbortSignal; }): Promise<CurveResult>;
  audioFeatures(waveform: Float32Array): Promise<AudioFeatures>;
  /** Quantized models only; `name` prefixes every C symbol. */
  cHeader(modelId: number, input: Float32Array, name?: string, comment?: string): Promise<CHeader>;
  terminate(): void;
}

export function createSlingshot(options?: { baseUrl?: string | URL; cancelMode?: 'flag' | 'terminate'; }): Promise<Slingshot>;
