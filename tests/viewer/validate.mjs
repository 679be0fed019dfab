// Runs the Khronos glTF validator (npm gltf-validator) on one .glb and prints its JSON report on stdout.
// Usage: node tests/viewer/validate.mjs FILE.glb
import { readFile } from 'node:fs/promises';
import validator from 'gltf-validator';

const path = process.argv[2];
if (!path) {
  console.error('usage: node validate.mjs FILE.glb');
  process.exit(2);
}
const data = new Uint8Array(await readFile(path));
const report = await validator.validateBytes(data, {
  uri: path,
  maxIssues: 0,          // report every issue
  externalResourceFunction: (uri) => Promise.reject(new Error(`external resource not expected: ${uri}`)),
});
process.stdout.write(JSON.stringify(report, null, 1) + '\n');
