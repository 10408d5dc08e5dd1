#!/usr/bin/env node
// The download scenario's baseline: a plain Node static-file server (node:http + fs.createReadStream,
// no framework) sending one file, REEL_BENCH_STATIC_FILE, the exact bytes of a session's raw download.
import fs from 'node:fs';
import http from 'node:http';

const file = process.env.REEL_BENCH_STATIC_FILE;
if (!file) throw new Error('REEL_BENCH_STATIC_FILE is not set');

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('ok');
    return;
  }
  if (req.method !== 'GET' || req.url !== '/file') {
    res.statusCode = 404;
    res.end();
    return;
  }
  const { size } = fs.statSync(file);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
  const stream = fs.createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
});
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
