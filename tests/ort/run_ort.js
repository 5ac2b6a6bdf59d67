// Runs an ONNX model with ONNX Runtime's CPU kernels (graph optimizations off) on .npy inputs
// and writes .npy outputs: an oracle independent of xpusim.
// usage: node run_ort.js MODEL.onnx IN_DIR OUT_DIR   (IN_DIR holds <input name>.npy)
const fs = require('fs'), path = require('path');
const ort = require('onnxruntime-node');
const TYPES = {'<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array], '<i8': ['int64', BigInt64Array],
               '<i4': ['int32', Int32Array], '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array], '|b1': ['bool', Uint8Array]};
const DESCR = {float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', uint8: '|u1', int8: '|i1', bool: '|b1'};
const safe = (n) => n.replace(/[^A-Za-z0-9_.-]/g, '_');
function readNpy(file) {
  const b = fs.readFileSync(file), len = b.readUInt16LE(8), header = b.slice(10, 10 + len).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').filter((s) => s.trim()).map(Number);
  const [type, Arr] = TYPES[descr];
  let data = new Arr(b.buffer.slice(b.byteOffset + 10 + len, b.byteOffset + b.length));
  if (type === 'bool') data = Array.from(data, (v) => !!v);
  return new ort.Tensor(type, data, shape);
}
function writeNpy(file, t) {
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let h = `{'descr': '${DESCR[t.type]}', 'fortran_order': False, 'shape': ${shape}, }`;
  while ((10 + h.length + 1) % 64) h += ' ';
  h += '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1'); head[6] = 1; head[7] = 0; head.writeUInt16LE(h.length, 8);
  const data = t.type === 'bool' ? Uint8Array.from(t.data, (v) => (v ? 1 : 0)) : t.data;
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(h, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}
(async () => {
  const [model, inDir, outDir] = process.argv.slice(2);
  const s = await ort.InferenceSession.create(model, {logSeverityLevel: 3, graphOptimizationLevel: 'disabled'});
  const feeds = {};
  for (const n of s.inputNames) feeds[n] = readNpy(path.join(inDir, safe(n) + '.npy'));
  const out = await s.run(feeds);
  fs.mkdirSync(outDir, {recursive: true});
  for (const n of s.outputNames) writeNpy(path.join(outDir, safe(n) + '.npy'), out[n]);
})().catch((e) => { console.error(String(e)); process.exit(1); });
