// Renders a .glb with three.js in headless Chromium and writes the canvas as a PNG (RGBA, alpha = coverage).
//
// Usage: node tests/viewer/render.mjs MODEL.glb OUT.png 'QUERY'
//        node tests/viewer/render.mjs JOBS.json        (JOBS: [{"model": ..., "out": ..., "query": ...}, ...])
//   QUERY: the query string of view.js (width, height, left, right, top, bottom, lighting, radiance, slope).
// Environment: CHROMIUM (default /usr/bin/chromium).
// Serves index.html, view.js, three.js and the models from a throw-away http server on 127.0.0.1 (random port),
// renders every job in one browser, and prints one JSON line per job {ok, materials, webgl, renderer, seconds}.
import { createServer } from 'node:http';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname, normalize, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let jobs;
if (args.length === 1 && args[0].endsWith('.json')) {
  jobs = JSON.parse(await readFile(args[0], 'utf8'));
} else if (args.length >= 2) {
  jobs = [{ model: args[0], out: args[1], query: args[2] || '' }];
} else {
  console.error("usage: node render.mjs MODEL.glb OUT.png 'width=512&height=512&...'  |  node render.mjs JOBS.json");
  process.exit(2);
}
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.glb': 'model/gltf-binary' };
const threeRoot = join(here, 'node_modules', 'three');

function resolvePath(urlPath) {
  if (urlPath === '/' || urlPath === '/index.html') return join(here, 'index.html');
  if (urlPath === '/view.js') return join(here, 'view.js');
  const match = /^\/model\/(\d+)\.glb$/.exec(urlPath);
  if (match && Number(match[1]) < jobs.length) return jobs[Number(match[1])].model;
  if (urlPath.startsWith('/three/')) {
    const path = normalize(join(threeRoot, urlPath.slice('/three/'.length)));
    if (path.startsWith(threeRoot)) return path;
  }
  return null;
}

const server = createServer(async (request, response) => {
  const path = resolvePath(new URL(request.url, 'http://127.0.0.1').pathname);
  try {
    if (!path) throw new Error('not found');
    const body = await readFile(path);
    response.writeHead(200, { 'Content-Type': TYPES[extname(path)] || 'application/octet-stream' });
    response.end(body);
  } catch {
    response.writeHead(404);
    response.end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;

const started = Date.now();
const profile = await mkdtemp(join(tmpdir(), 'svfri-chromium-'));
let browser;
let exitCode = 0;
try {
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
           '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--disable-dev-shm-usage'],
  });
  for (const [index, job] of jobs.entries()) {
    const page = await browser.newPage();
    const params = new URLSearchParams(job.query);
    await page.setViewport({ width: Number(params.get('width') || 512), height: Number(params.get('height') || 512),
                             deviceScaleFactor: 1 });
    const logs = [];
    page.on('console', (message) => logs.push(message.text()));
    page.on('pageerror', (error) => logs.push(String(error)));
    params.set('model', `/model/${index}.glb`);
    await page.goto(`http://127.0.0.1:${port}/index.html?${params}`, { waitUntil: 'load' });
    await page.waitForFunction('window.svfriResult !== undefined', { timeout: 45000 });
    const result = await page.evaluate('window.svfriResult');
    if (result.ok) {
      const dataUrl = await page.evaluate("document.querySelector('canvas').toDataURL('image/png')");
      await writeFile(job.out, Buffer.from(dataUrl.split(',')[1], 'base64'));
    } else {
      exitCode = 1;
    }
    result.seconds = (Date.now() - started) / 1000;
    result.logs = logs;
    process.stdout.write(JSON.stringify(result) + '\n');
    await page.close();
  }
} catch (error) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(error && error.stack || error) }) + '\n');
  exitCode = 1;
} finally {
  if (browser) await browser.close();
  server.close();
  await rm(profile, { recursive: true, force: true });
}
process.exit(exitCode);
