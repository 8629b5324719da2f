/**
 * The floor for part 5: a bare node:http server that reads each request body and answers a fixed
 * response (the same bytes and headers a segtag server answered to a probe request).
 *   node bench/servers/bare-http.mjs RESPONSE.json
 * RESPONSE.json: { "status": 200, "headers": { ... }, "body": "..." }. Prints its URL when ready.
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const { status, headers, body } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const bytes = Buffer.from(body);
const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(status, { ...headers, 'content-length': bytes.length });
    res.end(bytes);
  });
});
server.listen(0, '127.0.0.1', () =>
  console.log(`bare node:http listening on http://127.0.0.1:${server.address().port}`),
);
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
